#!/bin/bash
# TLS, the production path: the simulator serves HTTPS with certificates
# from a throw-away CA made here with openssl. The bridge, history, doctor
# and masterlist verify the server against a CA they are told to trust
# (--cacert). A certificate from a CA they do not trust and one for another
# host name are each a one-line error naming certificate verification,
# retried with backoff, with nothing lost and the cursor kept; a run at
# --dt 10 keeps one connection (one TLS handshake) with gzip.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
source "$FIXTURES/history/histlib.sh"
cd "$TMP" || exit 1

# --- a throw-away CA, a rogue one, and the server's certificates ------------
ca() { # NAME : a self-signed CA certificate NAME.pem with its key NAME.key
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=$1" -keyout "$1.key" -out "$1.pem" 2> "$1.err"
}
leaf() { # NAME CA SUBJECT-ALT-NAMES : a server certificate NAME.pem signed by CA
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
        -keyout "$1.key" -out "$1.csr" 2> "$1.err" &&
        printf 'subjectAltName=%s\n' "$3" > "$1.ext" &&
        openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
            -extfile "$1.ext" -out "$1.pem" 2>> "$1.err"
}
ok "openssl makes a CA" ca ca
ok "and a rogue one" ca rogue
ok "a certificate for 127.0.0.1 signed by the CA" leaf good ca "IP:127.0.0.1,DNS:localhost"
ok "one for 127.0.0.1 signed by the rogue CA" leaf untrusted rogue "IP:127.0.0.1,DNS:localhost"
ok "one for another host name signed by the CA" leaf elsewhere ca "DNS:vlbimon.example.org"
# The test's own curl calls (simlib's stat, compare_served, truth) trust the CA.
export CURL_CA_BUNDLE=$TMP/ca.pem

# bridge_tls NAME URL DB CAFILE [bridge options...] : the bridge at -v -v in the
# background, trusting CAFILE, with its own datadir $TMP/NAME.data; sets BPID.
# Without backfill, as bridgelib's start_bridge: the database is held to the served log.
bridge_tls() {
    local name=$1 url=$2 db=$3 ca=$4
    shift 4
    "$BRIDGE" -v -v --server "$url" --secrets "$SECRETS" --cacert "$ca" --masterlist "$MASTERLIST" \
        --datadir "$TMP/$name.data" bridge --sqlitedb "$db" --no-backfill "$@" \
        >> "$TMP/$name.out" 2>> "$TMP/$name.log" &
    BPID=$!
    track_pid "$BPID"
}

db_cursor() { sqlite3 "$1" "SELECT value FROM bridge_state WHERE key = 'snap_recvTime'"; }

# --- the simulator's side ------------------------------------------------------
err=$("$SIM" --users "$USERS" --tls-cert good.pem 2>&1)
is "$?" 2 "--tls-cert without --tls-key is a usage error"
like "$err" "--tls-cert and --tls-key go together" "saying so"
err=$("$SIM" --listen 127.0.0.1:0 --users "$USERS" --tls-cert good.pem --tls-key good.pem 2>&1)
is "$?" 1 "a key file that holds no key fails"
like "$err" "not a PEM certificate and its key" "naming the files' options"

# --- one connection, one TLS handshake, for a run at --dt 10, with gzip --------
# It runs in the background while the certificate failures are tried below.
start_sim ten --tls-cert good.pem --tls-key good.key --served "$TMP/ten.csv" --speed 60
like "$URL_ten" '^https://127\.0\.0\.1:[0-9]+$' "the simulator says it listens on https"
c0=$(stat "$URL_ten" connections)
"$BRIDGE" --masterlist "$MASTERLIST" initdb --sqlitedb ten.db
bridge_tls ten "$URL_ten" ten.db ca.pem --dt 10
TEN_PID=$BPID

# --- the bridge over a certificate failure in mid-run ----------------------------
# The simulator is restarted on the same port with a certificate from the
# rogue CA, then with one for another host name, then with the good one again.
# Its clock runs in real time from the same instant, so each one goes on where
# the last left off, and all of them append to one served log.
now=$(date +%s)
: > swap.csv
start_sim a --tls-cert good.pem --tls-key good.key --served "$TMP/swap.csv" --speed 1 --start-time "$now"
PORT=${URL_a##*:}
"$BRIDGE" --masterlist "$MASTERLIST" initdb --sqlitedb swap.db
bridge_tls m "$URL_a" swap.db ca.pem --dt 0.3
SWAP_PID=$BPID
wait_answers m 5
# Stopped, it prints its stats: the cursors of the answers no request acknowledged.
stop_sim a
start_sim u --listen "127.0.0.1:$PORT" --tls-cert untrusted.pem --tls-key untrusted.key \
    --speed 1 --start-time "$now"
wait_lines m.log 'certificate verification failed' 2
kept=$(db_cursor swap.db)
stop_sim u
start_sim e --listen "127.0.0.1:$PORT" --tls-cert elsewhere.pem --tls-key elsewhere.key \
    --speed 1 --start-time "$now"
wait_lines m.log 'certificate verification failed.*no alternative certificate subject name' 2
is "$(db_cursor swap.db)" "$kept" "the cursor stays where it was while the certificate fails"
stop_sim e
n=$(grep -c 'info: snapshot:' m.log)
start_sim c --listen "127.0.0.1:$PORT" --tls-cert good.pem --tls-key good.key \
    --served "$TMP/swap.csv" --speed 1 --start-time "$now"
wait_answers m $((n + 5))
touch m.data/PLEASE-EXIT
ok "the bridge goes on once the certificate is good again, and exits on PLEASE-EXIT" wait_exit $SWAP_PID 10
is "$WAIT_RC" 0 "with status 0"
log=$(cat m.log)
like "$log" "warning: snapshot: GET https://127\.0\.0\.1:$PORT/data/snapshot: certificate verification failed \(SSL certificate problem: [^)]*\); backing off [0-9.]+ s \(cursor kept\)" \
    "a certificate from an untrusted CA: one line naming certificate verification"
like "$log" "warning: snapshot: GET https://127\.0\.0\.1:$PORT/data/snapshot: certificate verification failed \(SSL: no alternative certificate subject name matches target host name '127\.0\.0\.1'\); backing off [0-9.]+ s \(cursor kept\)" \
    "a certificate for another host name: one line naming certificate verification"
waits=$(printf '%s\n' "$log" | sed -n 's/.*certificate verification failed.*; backing off \([0-9.]*\) s.*/\1/p' | tr '\n' ' ')
ok "retried with a growing backoff ($waits)" perl -e 'exit !(@ARGV >= 4 && $ARGV[-1] > $ARGV[0])' $waits
after=$(printf '%s\n' "$log" | sed -n '/certificate verification failed/,$p' | grep -m 1 'GET /data/snapshot from cursor' |
    sed 's/.*from cursor //')
is "$after" "$kept" "the first request after the failures presents the kept cursor"
curl -s "$URL_c/sim/stats" > c-stats.json
# Acknowledged: what a later request presented, and the cursor the bridge held while it failed.
perl -MJSON::PP -e '
    my ($aerr, $kept, $cstats) = @ARGV;
    open my $fh, "<", $aerr or die; my ($a) = map { /vlbimon_sim: stats (\{.*\})/ ? $1 : () } <$fh>;
    open $fh, "<", $cstats or die; my $c = decode_json(do { local $/; <$fh> });
    my @u = grep { $_ ne $kept } @{ decode_json($a)->{unacknowledged_cursors} };
    print encode_json({ unacknowledged_cursors => [@u, @{ $c->{unacknowledged_cursors} }] });' \
    a.err "$kept" c-stats.json > swap-stats.json
res=$(perl "$FIXTURES/bridge/compare_served.pl" swap.db swap.csv swap-stats.json)
diag "$res"
like "$res" "missing 0, extra 0$" "nothing lost, nothing stored twice across the certificate failures"
is "$(stat "$URL_c" credentials.snapshot)" 0 "snapshots over TLS carry no credentials either"

# --- start-up: a certificate the bridge cannot verify ---------------------------
err=$("$BRIDGE" --server "$URL_c" --secrets "$SECRETS" --cacert nope.pem --masterlist "$MASTERLIST" \
    --datadir nope.data bridge --sqlitedb swap.db 2>&1)
is "$?" 1 "a --cacert file that is not there fails"
like "$err" "error: bridge: CA file nope.pem: No such file or directory" "naming the file"
bridge_tls r "$URL_c" swap.db rogue.pem --dt 0.3
wait_lines r.log 'cannot open a session \(POST .*: certificate verification failed' 3
kill -TERM $BPID
ok "SIGTERM stops a bridge that cannot verify the server at start-up" wait_exit $BPID 5
is "$WAIT_RC" 0 "with status 0"
waits=$(sed -n 's/.*cannot open a session (.*certificate verification failed.*); backing off \([0-9.]*\) s$/\1/p' r.log | tr '\n' ' ')
ok "start-up retries with a growing backoff too ($waits)" perl -e 'exit !(@ARGV >= 3 && $ARGV[-1] > $ARGV[0])' $waits
is "$(db_cursor swap.db)" "$(sed -n 's/.*bridge stopping: .*cursor \([0-9.]*\),.*/\1/p' m.log)" \
    "and the database keeps its cursor"

# --- history over TLS ---------------------------------------------------------------
start_sim h --tls-cert good.pem --tls-key good.key
S0=$((T0 - 3600))
HIST=(history --start "$S0" --end "$T0" --all --param weather_tau225 --param telescope_onSource --sleep 0)
hist() { # CAFILE DATADIR : one station, two parameters, an hour
    "$BRIDGE" --server "$URL_h" --secrets "$SECRETS" --cacert "$1" --masterlist "$MASTERLIST" \
        --datadir "$2" --stations ALMA "${HIST[@]}"
}
hist ca.pem hd 2> hd.log
is "$?" 0 "history downloads over TLS from a server whose CA it trusts"
like "$(cat hd.log)" "over 1 connection\(s\)" "over one connection"
is "$(csv_points hd/ALMA/weather_tau225.csv)" "$(truth "$URL_h" ALMA weather_tau225 "$S0" "$T0")" \
    "every point is the simulator's"
"$BRIDGE" --server "$URL_h" --secrets "$SECRETS" --cacert rogue.pem --masterlist "$MASTERLIST" \
    --datadir hr --stations ALMA "${HIST[@]}" 2> hr.log &
hpid=$!
track_pid $hpid
wait_lines hr.log 'certificate verification failed.*asking for the same window again' 3
kill -TERM $hpid
ok "SIGTERM stops history that cannot verify the server" wait_exit $hpid 5
is "$WAIT_RC" 1 "with status 1: the range is not complete"
like "$(cat hr.log)" "warning: history: .*GET https://127\.0\.0\.1:[0-9]+/data/history: certificate verification failed \(SSL certificate problem: [^)]*\); asking for the same window again in [0-9.]+ s" \
    "a certificate history cannot verify: one line naming certificate verification, retried"
is "$(cat hr/ALMA/*.csv 2> /dev/null)" "" "and nothing is written"

# --- masterlist and doctor honour --cacert -----------------------------------------
"$BRIDGE" --server "$URL_h" --cacert ca.pem masterlist -o ml.json > /dev/null
is "$?" 0 "masterlist downloads over TLS with --cacert"
ok "the catalogue as the server has it" cmp -s ml.json "$MASTERLIST"
err=$("$BRIDGE" --server "$URL_h" masterlist -o ml2.json 2>&1)
is "$?" 1 "without it, a private CA's certificate fails"
like "$err" "error: masterlist: GET https://127\.0\.0\.1:[0-9]+/static/masterlist\.json: certificate verification failed" \
    "naming certificate verification"
doctor() { # CAFILE... : doctor's server line
    "$BRIDGE" --server "$URL_h" --secrets "$SECRETS" "$@" --masterlist "$MASTERLIST" doctor \
        --sqlitedb swap.db --group "$(id -gn)" | grep '^[A-Z]* *server:'
}
like "$(doctor --cacert ca.pem)" "^OK   server: https://127\.0\.0\.1:[0-9]+ accepts user 'Test User' \(basic auth\)" \
    "doctor verifies the server with --cacert"
like "$(doctor)" "^FAIL server: POST https://127\.0\.0\.1:[0-9]+/session: certificate verification failed \(.*\); fix: .*--cacert FILE" \
    "and without it says the certificate failed verification, with the fix"

# --- the --dt 10 run, started above -------------------------------------------------
wait_answers ten 3
kill -TERM $TEN_PID
ok "the --dt 10 run stops on SIGTERM" wait_exit $TEN_PID 5
is "$WAIT_RC" 0 "with status 0"
c1=$(stat "$URL_ten" connections)
stop=$(grep 'bridge stopping' ten.log)
like "$stop" "bridge stopping on SIGTERM: [0-9]+ cycles, [0-9]+ answers stored .*, 1 connection\(s\) used" \
    "the run at --dt 10 used one connection"
ok "for three or more answers 10 s apart" test "$(grep -c 'info: snapshot:' ten.log)" -ge 3
is "$((c1 - c0 - 1))" 1 "the simulator saw one connection from it: one TLS handshake"
like "$(grep 'debug: snapshot: ' ten.log | head -n 1)" "debug: snapshot: [0-9]+ bytes \([0-9]+ on the wire\)" \
    "the bridge logs the bytes of each answer"
biggest=$(sed -n 's/.*debug: snapshot: \([0-9]*\) bytes (\([0-9]*\) on the wire).*/\1 \2/p' ten.log | sort -n | tail -n 1)
ok "gzip over TLS: the biggest answer ($biggest) is much smaller on the wire" \
    perl -e 'exit !($ARGV[0] > 100000 && $ARGV[1] * 3 < $ARGV[0])' $biggest
is "$(compare_served ten.db "$TMP/ten.csv" "$URL_ten" | sed 's/.*missing/missing/')" \
    "missing 0, extra 0" "every served point stored exactly once"

done_testing
