#!/bin/bash
# Secrets: a secrets file its group or others can read is refused, with the
# file and the fix, by every command that uses the account (bridge, history),
# unless --insecure-secrets-ok, which warns once per start; no password and
# no Authorization header ever reaches the output, even at -v -v, with Basic
# and Digest accounts, expired sessions and a wrong password; TLS
# verification has no switch, and plain http is refused off loopback.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1

start_sim s --speed 120 --served "$TMP/s.csv" --fault-401 0.2
start_sim d --speed 120 --digest
"$BRIDGE" initdb --sqlitedb live.db

# --- the mode of the secrets file --------------------------------------------
cp "$USERS" open.yaml
for mode in 644 640 604; do
    chmod $mode open.yaml
    err=$("$BRIDGE" --server "$URL_s" --secrets open.yaml --datadir m$mode bridge --sqlitedb live.db 2>&1)
    is "$?" 1 "bridge refuses a secrets file of mode $mode"
    like "$err" "secrets file open.yaml is readable by .*\(mode 0$mode\).*fix: chmod 600 open.yaml" \
        "mode $mode: the message names the file and the fix"
    err=$("$BRIDGE" --server "$URL_s" --secrets open.yaml --datadir h$mode --stations ALMA history \
        --start $T0 --end $((T0 + 60)) --all --param weather_tau225 --sleep 0 2>&1)
    is "$?" 1 "history refuses a secrets file of mode $mode"
    like "$err" "secrets file open.yaml is readable by .*chmod 600 open.yaml" "history says how to fix it"
done
like "$("$BRIDGE" -h)" "--insecure-secrets-ok" "the override is a documented global option"

chmod 644 open.yaml
"$BRIDGE" -v --insecure-secrets-ok --server "$URL_s" --secrets open.yaml --datadir ok.data bridge \
    --sqlitedb live.db --dt 0.2 > ok.out 2> ok.log &
BPID=$!
track_pid $BPID
wait_answers ok 2
touch ok.data/PLEASE-EXIT
ok "--insecure-secrets-ok: the bridge runs" wait_exit $BPID 5
is "$WAIT_RC" 0 "and exits 0"
is "$(grep -c 'warning: secrets file open.yaml is readable by .*--insecure-secrets-ok' ok.log)" 1 \
    "with exactly one warning naming the file"
chmod 600 open.yaml
"$BRIDGE" --insecure-secrets-ok --server "$URL_s" --secrets open.yaml --datadir ok2.data bridge \
    --sqlitedb live.db --dt 0.2 > ok2.out 2> ok2.log &
BPID=$!
track_pid $BPID
for _ in $(seq 100); do grep -q 'cursor ' ok2.log && break; sleep 0.1; done
touch ok2.data/PLEASE-EXIT
wait_exit $BPID 5
unlike "$(cat ok2.log)" "warning: secrets" "a private file gives no warning, flag or not"

# --- no password in any output, even at -v -v -------------------------------
printf '127.0.0.1:\n  digestauth:\n  - Digest User\n  - d1gest\n' > digest.yaml
sed 's/s3cret pw/wr0ng pw/' "$SECRETS" > wrong.yaml
chmod 600 digest.yaml wrong.yaml
vv_bridge() { # NAME URL SECRETS : a -v -v bridge for a few answers
    "$BRIDGE" -v -v --server "$2" --secrets "$3" --datadir "$1.data" bridge --sqlitedb "$1.db" \
        --dt 0.2 > "$1.out" 2> "$1.log" &
    local pid=$!
    track_pid $pid
    for _ in $(seq 100); do [ "$(grep -c 'info: snapshot:' "$1.log")" -ge 8 ] && break; sleep 0.1; done
    touch "$1.data/PLEASE-EXIT"
    wait_exit $pid 5
}
cp live.db basic.db
cp live.db digest.db
vv_bridge basic "$URL_s" "$SECRETS"
ok "-v -v Basic: answers were stored, sessions expired and were re-opened" \
    grep -q "HTTP 401, the session expired; opening a new one" basic.log
vv_bridge digest "$URL_d" digest.yaml
ok "-v -v Digest: answers were stored" test "$(grep -c 'info: snapshot:' digest.log)" -ge 8
cp live.db wrong.db
"$BRIDGE" -v -v --server "$URL_s" --secrets wrong.yaml --datadir wrong.data bridge \
    --sqlitedb wrong.db --dt 0.2 > wrong.out 2> wrong.log &
pid=$!
track_pid $pid
sleep 1.5
kill -TERM $pid
wait_exit $pid 15
"$BRIDGE" -v -v --server "$URL_s" --secrets "$SECRETS" --datadir hist.data --stations ALMA \
    history --start $T0 --end $((T0 + 600)) --all --param weather_tau225 --sleep 0 > hist.out 2> hist.log
is "$?" 0 "-v -v history ran"
"$BRIDGE" -v -v --server "$URL_s" --secrets "$SECRETS" doctor --group "$(id -gn)" > doc.out 2> doc.log
all=$(cat basic.out basic.log digest.out digest.log wrong.out wrong.log hist.out hist.log doc.out doc.log \
    basic.data/*.json digest.data/*.json)
ok "the verbose runs logged every request" test "$(grep -c 'debug: ' basic.log)" -ge 8
basic64=$(printf 'Test User:s3cret pw' | base64)
wrong64=$(printf 'Test User:wr0ng pw' | base64)
for secret in "s3cret pw" "wr0ng pw" "d1gest" "$basic64" "$wrong64" "Authorization" "authorization:"; do
    unlike "$all" "$secret" "no output of bridge, history or doctor at -v -v holds '$secret'"
done

# --- TLS and plain http --------------------------------------------------------
err=$("$BRIDGE" --insecure-tls initdb 2>&1)
is "$?" 2 "there is no option to turn TLS verification off"
err=$("$BRIDGE" --server http://vlbimon2.example.org --secrets "$SECRETS" bridge --sqlitedb live.db 2>&1)
is "$?" 2 "plain http to a host that is not loopback is refused"
like "$err" "https" "saying https is needed"

done_testing
