#!/bin/bash
# soak.sh - what `make soak` runs (outside CI: minutes, not seconds): the
# live bridge against the simulator for SOAK_DAYS (7) simulated days at
# SOAK_SPEED (3000) simulated seconds per second, --dt 0.2, with every fault
# the simulator has switched on at once and a SIGHUP (transformer reload)
# every 20 s. Then it checks what docs/reliability.md promises:
#   - database == served points (compare_served.pl: every point of every
#     acknowledged answer exactly once, nothing else, no broken cursor used);
#   - resident memory flat: after the first tenth of the run (warm-up:
#     SQLite's page cache, Lua's tables) RSS grows by at most 10 % + 4 MB;
#   - open file descriptors flat: never more than after warm-up plus the one
#     connection a sample may catch being replaced (after a dropped one);
#   - the bridge ran to the end and exited 0 on PLEASE-EXIT, no error line;
#   - beside a reader like a busy Grafana (the part marked "reader" below):
#     read transactions of SOAK_READ_HOLD (5) s, SOAK_READ_PAUSE (1) s apart,
#     from before the bridge's first start to its end; the bridge never
#     waits for it, and the WAL stays within SOAK_WAL_MAX_MB (256) MiB: it
#     is reset in the reader's pauses (with SOAK_READ_PAUSE=0 it never is,
#     and at the soak's write rate it passes that in about a minute).
# and prints the figures.
# Everything stays in build/soak/.
set -u
cd "$(dirname "$0")/.." || exit 1
. tools/simlib.sh
DAYS=${SOAK_DAYS:-7}
SPEED=${SOAK_SPEED:-3000}
D=build/soak
rm -rf "$D"
mkdir -p "$D"
real=$((DAYS * 86400 / SPEED))
fail() { echo "soak: FAIL: $*" >&2; exit 1; }

printf '127.0.0.1:\n  basicauth:\n  - Soak User\n  - soak pw\n' > "$D/secrets.yaml"
chmod 600 "$D/secrets.yaml"
# Four stations and the parameters the standard transformers read (telescope,
# weather, first IF and recorder, observer messages): the kinds of data the
# bridge handles, small enough for compare_served.pl to hold in memory.
perl -MJSON::PP -0777 -e '
    my $d = decode_json(<STDIN>);
    my %out = map { $_ => $d->{$_} } qw(ALMA LMT SMA SPT);
    my $def = $d->{default};
    $out{default} = { map { $_ => $def->{$_} }
        grep { /^(telescope_|weather_|if_1_|recorder_1_|observerMessages_)/ } keys %$def };
    print JSON::PP->new->canonical->encode(\%out);
' < share/masterlist.json > "$D/masterlist.json" || fail "cannot make the soak catalogue"

FAULTS="--fault-500 0.02 --fault-503 0.005 --fault-429 0.005 --fault-401 0.02 --fault-truncate 0.02
 --fault-badjson 0.02 --fault-stall 0.01 --fault-drop 0.02 --fault-future 0.05 --fault-badname 0.05
 --fault-nan 0.05 --fault-nonutf8 0.05 --fault-array 0.02 --fault-station-array 0.03
 --fault-data-array 0.03 --fault-no-data 0.03 --fault-entry-object 0.05 --fault-time-string 0.05
 --fault-time-null 0.05 --fault-time-negative 0.05 --fault-time-huge 0.05 --fault-long-name 0.03
 --fault-long-value 0.03 --fault-bridge-station 0.03"
start=$(($(date +%s) - DAYS * 86400 - 600))
# shellcheck disable=SC2086
"${VB_BIN_DIR:-.}"/vlbimon_sim --listen 127.0.0.1:0 --users "$D/secrets.yaml" --masterlist "$D/masterlist.json" \
    --speed "$SPEED" --start-time "$start" --seed 17 --stall-seconds 1 --served "$D/served.csv" \
    $FAULTS > "$D/sim.out" 2> "$D/sim.log" &
sim=$!
bridge=
trap 'kill $sim $bridge 2> /dev/null; wait 2> /dev/null' EXIT
url=$(sim_url "$D/sim.out")
[ -n "$url" ] || fail "the simulator did not start: $(cat "$D/sim.log")"

./vlbimon_bridge initdb --sqlitedb "$D/soak.db" || fail "initdb"

# --- reader: a busy Grafana from before the first start to the end ----------
READ_HOLD=${SOAK_READ_HOLD:-5}
READ_PAUSE=${SOAK_READ_PAUSE:-1}
WAL_MAX_MB=${SOAK_WAL_MAX_MB:-256}
tests/fixtures/bridge/hold_reads.sh "$D/soak.db" "$READ_HOLD" "$READ_PAUSE" "$D/reader.flag" \
    > "$D/reader.out" 2> "$D/reader.log" &
reader=$!
# The WAL's size every second, in bytes.
while :; do stat -c %s "$D/soak.db-wal" 2> /dev/null || echo 0; sleep 1; done > "$D/wal.samples" &
walwatch=$!
trap 'kill $sim $bridge $reader $walwatch 2> /dev/null; wait 2> /dev/null' EXIT
for _ in $(seq 100); do [ -e "$D/reader.flag" ] && break; sleep 0.05; done
[ -e "$D/reader.flag" ] || fail "the reader did not start: $(cat "$D/reader.log")"
# --- end of reader ---------------------------------------------------------
# Without backfill: the database is held to the served log, the snapshots' points only.
./vlbimon_bridge -v --server "$url" --secrets "$D/secrets.yaml" --datadir "$D/data" \
    bridge --sqlitedb "$D/soak.db" --dt 0.2 --no-backfill > "$D/bridge.out" 2> "$D/bridge.log" &
bridge=$!
echo "soak: $DAYS simulated days at ${SPEED}x (about ${real} s), every fault on; figures in $D/"

# rss KiB and open fds of the bridge, one line per sample
sample() {
    local rss fds
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$bridge/status" 2> /dev/null) || return 1
    fds=$(ls "/proc/$bridge/fd" 2> /dev/null | wc -l)
    [ -n "$rss" ] && echo "$1 $rss $fds" >> "$D/samples"
}
t0=$(date +%s)
next_hup=20
while :; do
    now=$(($(date +%s) - t0))
    [ "$now" -ge "$real" ] && break
    kill -0 "$bridge" 2> /dev/null || fail "the bridge died after $now s: $(tail -n 5 "$D/bridge.log")"
    sample "$now"
    if [ "$now" -ge "$next_hup" ]; then
        kill -HUP "$bridge"
        next_hup=$((next_hup + 20))
    fi
    sleep 2
done
touch "$D/data/PLEASE-EXIT"
for _ in $(seq 200); do kill -0 "$bridge" 2> /dev/null || break; sleep 0.1; done
kill -0 "$bridge" 2> /dev/null && fail "the bridge did not stop on PLEASE-EXIT"
wait "$bridge"
rc=$?
bridge=
[ "$rc" -eq 0 ] || fail "the bridge exited with status $rc"

curl -s "$url/sim/stats" > "$D/stats.json"
res=$(perl tests/fixtures/bridge/compare_served.pl "$D/soak.db" "$D/served.csv" "$D/stats.json") ||
    fail "database != served: $res"
broken=$(perl -MJSON::PP -0777 -ne 'print decode_json($_)->{broken_acknowledged}' "$D/stats.json")
[ "$broken" = 0 ] || fail "$broken broken answer(s) acknowledged"
grep -q ' error: ' "$D/bridge.log" && fail "error lines in the log: $(grep -m 3 ' error: ' "$D/bridge.log")"

# Warm-up is the first tenth; then RSS and fds must stay where they were.
read -r warm_t warm_rss warm_fds < <(awk -v w=$((real / 10)) '$1 >= w { print; exit }' "$D/samples")
read -r end_t end_rss end_fds < <(tail -n 1 "$D/samples")
max_rss=$(awk -v w="$warm_t" '$1 >= w && $2 > m { m = $2 } END { print m }' "$D/samples")
max_fds=$(awk -v w="$warm_t" '$1 >= w && $3 > m { m = $3 } END { print m }' "$D/samples")
answers=$(grep -c 'info: snapshot:' "$D/bridge.log")
faults=$(perl -MJSON::PP -0777 -ne 'my $f = decode_json($_)->{faults}; my $n = 0; $n += $_ for values %$f; print $n' "$D/stats.json")
echo "soak: $(($(date +%s) - t0)) s, $answers answers stored, $faults faults injected, $(grep -c 'transformers reloaded' "$D/bridge.log") transformer reloads"
echo "soak: $res"
echo "soak: RSS $((warm_rss / 1024)) MiB after warm-up (${warm_t} s), at most $((max_rss / 1024)) MiB after, $((end_rss / 1024)) MiB at the end"
echo "soak: open fds $warm_fds after warm-up, at most $max_fds after, $end_fds at the end"
echo "soak: database $(($(stat -c %s "$D/soak.db") / 1048576)) MiB"
[ "$max_rss" -le $((warm_rss * 11 / 10 + 4096)) ] || fail "RSS grew from $warm_rss KiB to $max_rss KiB"
[ "$max_fds" -le $((warm_fds + 1)) ] || fail "open fds went from $warm_fds to $max_fds"

# --- reader: it ran throughout, the bridge never waited, the WAL stayed small
kill -0 "$reader" 2> /dev/null || fail "the reader died: $(cat "$D/reader.log")"
kill "$reader" "$walwatch"
wal_max=$(sort -n "$D/wal.samples" | tail -n 1)
echo "soak: reader: $(wc -l < "$D/reader.out") read transactions of $READ_HOLD s, $READ_PAUSE s apart; WAL at most $((wal_max / 1048576)) MiB"
grep -q 'waiting for a lock' "$D/bridge.log" && fail "the bridge waited for the reader: $(grep -m 1 'waiting for a lock' "$D/bridge.log")"
[ "$wal_max" -le $((WAL_MAX_MB * 1048576)) ] || fail "the WAL grew to $((wal_max / 1048576)) MiB"
# --- end of reader ---------------------------------------------------------

# --- clock ahead -------------------------------------------------------------
# vlbimon's cursor is its receive time, its own clock. A simulator whose clock
# is a day ahead of ours and runs at 60x, every fault on; the bridge killed
# (kill -9) at a random instant every 1 to 6 s for SOAK_CLOCK_SECONDS (120),
# restarted each time, then stopped by PLEASE-EXIT. Our clock must never
# move the saved cursor back, so the database still equals the served
# points exactly once; the figures count the restarts that kept a cursor
# ahead of our clock.
clock_ahead() {
    local C=$D/clock secs=${SOAK_CLOCK_SECONDS:-120} kills=0 t1 before url_c
    mkdir -p "$C"
    kill "$sim" 2> /dev/null
    wait "$sim" 2> /dev/null
    : > "$C/sim.out"
    # shellcheck disable=SC2086
    "${VB_BIN_DIR:-.}"/vlbimon_sim --listen 127.0.0.1:0 --users "$D/secrets.yaml" --masterlist "$D/masterlist.json" \
        --speed 60 --start-time $(($(date +%s) + 86400)) --seed 19 --stall-seconds 1 --served "$C/served.csv" \
        $FAULTS > "$C/sim.out" 2> "$C/sim.log" &
    sim=$!
    url_c=$(sim_url "$C/sim.out")
    [ -n "$url_c" ] || fail "clock ahead: the simulator did not start: $(cat "$C/sim.log")"
    ./vlbimon_bridge initdb --sqlitedb "$C/clock.db" || fail "clock ahead: initdb"
    run_bridge() {
        ./vlbimon_bridge -v --server "$url_c" --secrets "$D/secrets.yaml" --datadir "$C/data" \
            bridge --sqlitedb "$C/clock.db" --dt 0.2 --no-backfill > /dev/null 2>> "$C/bridge.log" &
        bridge=$!
    }
    echo "soak: clock ahead: the simulator a day ahead at 60x, kill -9 every 1-6 s for $secs s"
    t1=$(date +%s)
    while [ $(($(date +%s) - t1)) -lt "$secs" ]; do
        run_bridge
        sleep "$((1 + RANDOM % 5)).$((RANDOM % 10))"
        kill -KILL "$bridge" 2> /dev/null || fail "clock ahead: the bridge died by itself: $(tail -n 3 "$C/bridge.log")"
        wait "$bridge" 2> /dev/null
        kills=$((kills + 1))
    done
    before=$(grep -c 'info: snapshot:' "$C/bridge.log")
    run_bridge
    for _ in $(seq 300); do [ "$(grep -c 'info: snapshot:' "$C/bridge.log")" -ge $((before + 5)) ] && break; sleep 0.1; done
    touch "$C/data/PLEASE-EXIT"
    for _ in $(seq 200); do kill -0 "$bridge" 2> /dev/null || break; sleep 0.1; done
    kill -0 "$bridge" 2> /dev/null && fail "clock ahead: the bridge did not stop on PLEASE-EXIT"
    wait "$bridge" || fail "clock ahead: the bridge exited with status $?"
    bridge=
    curl -s "$url_c/sim/stats" > "$C/stats.json"
    kill "$sim" 2> /dev/null
    wait "$sim" 2> /dev/null
    local res
    res=$(perl tests/fixtures/bridge/compare_served.pl "$C/clock.db" "$C/served.csv" "$C/stats.json") ||
        fail "clock ahead: database != served: $res"
    [ "$(perl -MJSON::PP -0777 -ne 'print decode_json($_)->{broken_acknowledged}' "$C/stats.json")" = 0 ] ||
        fail "clock ahead: a broken answer was acknowledged"
    grep -q ' error: ' "$C/bridge.log" && fail "clock ahead: error lines in the log: $(grep -m 3 ' error: ' "$C/bridge.log")"
    local kept skew
    kept=$(grep -c "from the database, .* ahead of our clock, is kept" "$C/bridge.log")
    skew=$(grep -m 1 -o "the server's clock is [^;]* ahead of ours" "$C/bridge.log" | tail -n 1)
    echo "soak: clock ahead: $kills kills, $(grep -c 'info: snapshot:' "$C/bridge.log") answers stored, $kept restarts kept a cursor ahead of our clock ($skew)"
    echo "soak: clock ahead: $res"
}
clock_ahead
# --- end of clock ahead ------------------------------------------------------

echo "soak: PASS"
