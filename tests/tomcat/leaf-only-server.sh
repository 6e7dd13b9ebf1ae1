#!/bin/sh
# leaf-only-server.sh STATE KEYSTORE PASSWORD_FILE PORT
#
# A misconfigured gateway for icg-renew's tests, restarted as --restart-command: it serves the server entry
# (alias icg) of KEYSTORE with `openssl s_server` on 127.0.0.1:PORT, but only its leaf, without the
# intermediate certificates (as a server whose keystore entry lost its chain). /usg/check-status answers 200.
# Devices that verify the chain refuse it when the leaf comes from an intermediate. STATE is a directory for
# its files; STATE/pid holds the running server's pid.
set -eu
state=$1 keystore=$2 password_file=$3 port=$4

if [ -s "$state/pid" ]; then
    kill "$(cat "$state/pid")" 2>/dev/null || true
    rm -f "$state/pid"
    sleep 0.2
fi
rm -f "$state/served.p12"
keytool -importkeystore -noprompt -srckeystore "$keystore" -srcstorepass:file "$password_file" \
    -srcalias icg -destkeystore "$state/served.p12" -deststoretype PKCS12 \
    -deststorepass:file "$password_file" >/dev/null
openssl pkcs12 -in "$state/served.p12" -passin "file:$password_file" -nokeys -clcerts -out "$state/leaf.pem"
openssl pkcs12 -in "$state/served.p12" -passin "file:$password_file" -nocerts -nodes -out "$state/key.pem"
mkdir -p "$state/www/usg"
echo '{"status":"ok"}' >"$state/www/usg/check-status"
cd "$state/www"
setsid openssl s_server -quiet -WWW -accept "127.0.0.1:$port" -cert ../leaf.pem -key ../key.pem \
    </dev/null >/dev/null 2>&1 &
echo $! >"$state/pid"
