#!/bin/sh
# Checkmk datasource program for checkd: prints checkd's agent output on stdout.
#
# Checkmk runs a datasource program on the Checkmk server instead of contacting an agent and
# discards everything it printed when it exits non-zero (the host's "Check_MK" service then
# goes CRIT with the message on stderr). So this script exits 0 only after printing usable
# output, and otherwise says on stderr why there is none.
#
# Two ways to use it, in Setup > Agents > Other integrations > "Individual program call
# instead of agent access", for a Checkmk host that stands for checkd (its piggybacked hosts
# then receive the environments' services):
#
#   1. checkd runs on another machine and listens on an address the Checkmk server reaches
#      (`server.listen` in its config): give the URL of its endpoint, e.g.
#        /omd/sites/SITE/local/bin/checkd_datasource_program.sh http://$HOSTADDRESS$:6559/
#      If the endpoint wants a bearer token (`server.bearer_token`), give a file that holds
#      it as the second argument (readable by the site user only).
#
#   2. checkd runs on the Checkmk server itself: no argument. The script runs `checkd output`,
#      which asks the local daemon and, if none answers, reads the persistent layers:
#        /omd/sites/SITE/local/bin/checkd_datasource_program.sh
#      CHECKD_BIN and CHECKD_CONFIG override the binary (/usr/local/bin/checkd) and the
#      config (/etc/checkd/checkd.yaml); the site user must be able to read that config.

url=${1:-}
token_file=${2:-}
bin=${CHECKD_BIN:-/usr/local/bin/checkd}
config=${CHECKD_CONFIG:-/etc/checkd/checkd.yaml}

fail() {
    echo "checkd: $*" >&2
    exit 1
}

if [ -n "$url" ]; then
    command -v curl >/dev/null 2>&1 || fail "curl is not installed"
    if [ -n "$token_file" ]; then
        [ -r "$token_file" ] || fail "cannot read the token file $token_file"
        # The header comes from a file (-H @file) so the token never shows in `ps`.
        header="Authorization: Bearer $(cat "$token_file")"
        out=$(printf '%s\n' "$header" | curl -fsS --max-time 10 -H @- "$url" 2>&1) ||
            fail "no answer from $url: $out"
    else
        out=$(curl -fsS --max-time 10 "$url" 2>&1) || fail "no answer from $url: $out"
    fi
else
    [ -x "$bin" ] || fail "$bin is not an executable (set CHECKD_BIN)"
    out=$("$bin" output --config "$config") || fail "checkd output failed (see above)"
fi

case $out in
    '<<<'*) printf '%s\n' "$out" ;;
    *) fail "the answer is not agent output" ;;
esac
