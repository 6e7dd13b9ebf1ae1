/*
 * The other attacker of tests/root_safety.rs: swaps two names in a loop with renameat2(RENAME_EXCHANGE), run
 * as an unprivileged account, for a given number of seconds (a directory root works in and a link to a
 * root-only directory, say). Prints how many exchanges it made; exits non-zero when it made none.
 *
 *   exchanger A B SECONDS
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: exchanger A B SECONDS\n");
        return 2;
    }
    time_t end = time(NULL) + atoi(argv[3]);
    long made = 0;
    while (time(NULL) < end) {
        if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) == 0) {
            made++;
        }
    }
    printf("%ld exchanges\n", made);
    return made > 0 ? 0 : 1;
}
