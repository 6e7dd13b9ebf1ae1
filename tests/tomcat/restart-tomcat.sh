#!/bin/sh
# restart-tomcat.sh BASE
#
# Restarts the private Apache Tomcat instance in BASE (a CATALINA_BASE made by tomcat10-instance-create)
# the way `systemctl restart` restarts the ICG: stops the running instance (catalina.sh stop, forced after
# 10 s), starts it again (catalina.sh start, output to BASE/logs/catalina.out) and returns at once, without
# waiting until the connector listens. icg-renew's Tomcat tests pass it as --restart-command.
#
# BASE may hold:
#   run-as     an account name: Tomcat runs as that account (runuser), as the ICG runs as its service account
#   fail-next  if present: removed, a message on stderr, exit 1 (a restart that fails once)
set -eu

if [ "$#" -ne 1 ]; then
    echo "usage: $0 BASE" >&2
    exit 2
fi
base=$(cd "$1" && pwd)

if [ -e "$base/fail-next" ]; then
    rm -f "$base/fail-next"
    echo "restart-tomcat: simulated restart failure (fail-next was set)" >&2
    exit 1
fi

home=/usr/share/tomcat10
pid_file="$base/temp/tomcat.pid"

# catalina ARGS...: catalina.sh for this instance, as the run-as account when one is named.
catalina() {
    if [ -s "$base/run-as" ]; then
        runuser -u "$(cat "$base/run-as")" -- env CATALINA_HOME="$home" CATALINA_BASE="$base" \
            CATALINA_PID="$pid_file" "$home/bin/catalina.sh" "$@"
    else
        env CATALINA_HOME="$home" CATALINA_BASE="$base" CATALINA_PID="$pid_file" "$home/bin/catalina.sh" "$@"
    fi
}

if [ -s "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    catalina stop 10 -force
fi
rm -f "$pid_file"
catalina start
