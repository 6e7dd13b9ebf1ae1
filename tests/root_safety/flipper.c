/*
 * The attacker of tests/root_safety.rs: a link flipper driven by inotify, run as the ICG's (unprivileged)
 * service account. It watches one directory and, at each event whose file name contains a rule's text,
 * re-points a symbolic link (atomically: a new link renamed over the old one), one rule after another.
 *
 *   flipper READY_FILE WATCH_DIR RULE...
 *   RULE = create:TEXT:LINK:TARGET | moved:TEXT:LINK:TARGET
 *
 * It creates READY_FILE once the watch is in place, prints each flip it made to stdout, and exits when every
 * rule has fired or after 120 seconds.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/inotify.h>

struct rule { uint32_t mask; char *text; char *link; char *target; };

static void flip(const char *link, const char *target) {
    char temp[4096];
    snprintf(temp, sizeof temp, "%s.flip", link);
    unlink(temp);
    if (symlink(target, temp) != 0 || rename(temp, link) != 0) {
        perror("flip");
        exit(2);
    }
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: flipper READY_FILE WATCH_DIR RULE...\n");
        return 2;
    }
    int count = argc - 3;
    struct rule *rules = calloc(count, sizeof *rules);
    for (int i = 0; i < count; i++) {
        char *spec = strdup(argv[3 + i]);
        char *kind = strtok(spec, ":");
        rules[i].text = strtok(NULL, ":");
        rules[i].link = strtok(NULL, ":");
        rules[i].target = strtok(NULL, "");
        if (!kind || !rules[i].text || !rules[i].link || !rules[i].target) {
            fprintf(stderr, "bad rule %s\n", argv[3 + i]);
            return 2;
        }
        rules[i].mask = strcmp(kind, "moved") == 0 ? IN_MOVED_TO : IN_CREATE;
    }
    int fd = inotify_init1(0);
    if (fd < 0 || inotify_add_watch(fd, argv[2], IN_CREATE | IN_MOVED_TO) < 0) {
        perror("inotify");
        return 2;
    }
    int ready = open(argv[1], O_CREAT | O_WRONLY, 0644);
    if (ready < 0) {
        perror("ready");
        return 2;
    }
    close(ready);
    alarm(120);
    int next = 0;
    char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (next < count) {
        ssize_t len = read(fd, buf, sizeof buf);
        if (len <= 0) {
            perror("read");
            return 2;
        }
        for (char *p = buf; p < buf + len && next < count;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->len && (ev->mask & rules[next].mask) && strstr(ev->name, rules[next].text)) {
                flip(rules[next].link, rules[next].target);
                printf("flipped %s -> %s at %s\n", rules[next].link, rules[next].target, ev->name);
                fflush(stdout);
                next++;
            }
        }
    }
    return 0;
}
