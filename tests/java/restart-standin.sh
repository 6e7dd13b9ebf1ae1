#!/bin/sh
# restart-standin.sh STATE_DIR
#
# Stand-in for `systemctl restart icg-server.service` in icg-renew's
# end-to-end tests: stops the IcgStandIn server recorded in STATE_DIR/pid (if
# it is still running), starts a new one fully detached, records its pid and
# returns at once, without waiting for the server to be ready (like
# systemctl for a Type=simple unit).
#
# STATE_DIR contents:
#   args       server arguments, one per line (read by this script; empty lines skipped)
#   classes/   compiled IcgStandIn classes (javac -d STATE_DIR/classes IcgStandIn.java)
#   pid        written: pid of the running server
#   server.log written: server stdout+stderr, appended across restarts
#   fail-next  if present: removed, message on stderr, exit 1 (a restart that fails once)
#   hang       if present: never returns (a hanging restart command)
#
# Environment: ICG_STANDIN_JAVA overrides the java binary (default: java on PATH).
set -eu

prog=restart-standin

if [ "$#" -ne 1 ]; then
    echo "usage: $0 STATE_DIR" >&2
    exit 2
fi
state=$(cd "$1" 2>/dev/null && pwd) || { echo "$prog: no such state directory: $1" >&2; exit 2; }

if [ -e "$state/fail-next" ]; then
    rm -f "$state/fail-next"
    echo "$prog: simulated restart failure (fail-next was set)" >&2
    exit 1
fi

if [ -e "$state/hang" ]; then
    echo "$prog: simulating a hanging restart (hang is set)" >&2
    # exec: the pid the caller sees (and kills) is the sleeping process itself.
    exec sleep 2147483647
fi

if [ ! -f "$state/args" ]; then
    echo "$prog: missing $state/args" >&2
    exit 1
fi
if [ ! -f "$state/classes/IcgStandIn.class" ]; then
    echo "$prog: missing $state/classes/IcgStandIn.class" >&2
    exit 1
fi

# Sub-second polling where sleep supports it (GNU, busybox), else whole seconds.
if sleep 0.01 2>/dev/null; then
    tick=0.1
    ticks_per_s=10
else
    tick=1
    ticks_per_s=1
fi

# alive PID: true if PID is a running (non-zombie) IcgStandIn process.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    if [ -r "/proc/$1/stat" ]; then
        # Field 3 of /proc/PID/stat is the state; Z = zombie (exited, unreaped).
        st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || st=
        [ "$st" != Z ] || return 1
    fi
    if [ -r "/proc/$1/cmdline" ]; then
        # Do not kill an unrelated process that reused a stale pid.
        tr '\000' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q IcgStandIn || return 1
    fi
    return 0
}

# wait_gone PID SECONDS: true once PID is gone, false on timeout.
wait_gone() {
    n=$(( $2 * ticks_per_s ))
    while [ "$n" -gt 0 ]; do
        alive "$1" || return 0
        sleep "$tick"
        n=$((n - 1))
    done
    ! alive "$1"
}

if [ -s "$state/pid" ]; then
    old=$(head -n 1 "$state/pid" | tr -cd '0-9')
    if [ -n "$old" ] && alive "$old"; then
        kill -TERM "$old" 2>/dev/null || true
        if ! wait_gone "$old" 10; then
            echo "$prog: pid $old ignored SIGTERM for 10 s, sending SIGKILL" >&2
            kill -KILL "$old" 2>/dev/null || true
            wait_gone "$old" 5 || { echo "$prog: pid $old survived SIGKILL" >&2; exit 1; }
        fi
    fi
    rm -f "$state/pid"
fi

# Server arguments, one per line (values may contain spaces).
set --
while IFS= read -r line || [ -n "$line" ]; do
    if [ -n "$line" ]; then
        set -- "$@" "$line"
    fi
done <"$state/args"

java=${ICG_STANDIN_JAVA:-java}
echo "=== $prog: starting at $(date '+%Y-%m-%dT%H:%M:%S%z') ===" >>"$state/server.log"

# Fully detached: new session (no controlling terminal, own process group so
# the caller's signals and pipes do not reach it), stdin from /dev/null,
# stdout+stderr appended to server.log so the caller's pipes are not held open.
# setsid execs in place here (a background child is not a group leader), so
# $! is the JVM's pid.
if command -v setsid >/dev/null 2>&1; then
    setsid "$java" -cp "$state/classes" IcgStandIn "$@" </dev/null >>"$state/server.log" 2>&1 &
else
    nohup "$java" -cp "$state/classes" IcgStandIn "$@" </dev/null >>"$state/server.log" 2>&1 &
fi
pid=$!
echo "$pid" >"$state/pid.tmp"
mv -f "$state/pid.tmp" "$state/pid"
exit 0
