#!/bin/bash
# The cursor is vlbimon's receive time: the server's clock, not ours. With
# the simulator's clock ahead of the bridge's (an hour ahead, and running
# at 20x), kill -9 at 12 random instants and a restart after each leave
# every point of every acknowledged answer in the database exactly once:
# our clock never moves a saved cursor back. A cursor far ahead of the
# server's clock (a database filled from a fast simulator, a state file's
# value, a --start) is refused with one error line and nothing stored, and
# --start 0 is the way out.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1
SPAN='[0-9]+ s( \([0-9.]+ (min|h|days)\))?' # how the bridge writes a span of seconds

# crash_run NAME SIM-OPTIONS... : a fresh database bridged from a simulator
# with those options, killed 12 times, then stopped by PLEASE-EXIT.
crash_run() {
    local name=$1
    shift
    start_sim "$name" --served "$TMP/$name.csv" --seed 23 "$@"
    local url_var=URL_$name
    local url=${!url_var}
    "$BRIDGE" initdb --sqlitedb "$name.db"
    kill_randomly 12 start_bridge "$name" "$url" "$name.db" --dt 0.2
    is "$KILLS" 12 "$name: the bridge was killed 12 times"
    local before
    before=$(grep -c 'info: snapshot:' "$name.log")
    start_bridge "$name" "$url" "$name.db" --dt 0.2
    wait_answers "$name" $((before + 3))
    touch "$name.data/PLEASE-EXIT"
    ok "$name: the last run ends on PLEASE-EXIT" wait_exit "$BPID" 5
    is "$WAIT_RC" 0 "$name: with status 0"
    ok "$name: answers were stored across the kills ($before)" test "$before" -ge 12
    local res
    res=$(compare_served "$name.db" "$TMP/$name.csv" "$url")
    diag "$name: $res"
    like "$res" "missing 0, extra 0$" "$name: every point of every acknowledged answer is in the database exactly once"
    is "$(stat "$url" broken_acknowledged)" 0 "$name: no broken answer's cursor was ever used"
    log=$(cat "$name.log")
    like "$log" "notice: cursor [0-9.]+ \(from the database\)" "$name: restarts continue from the database's cursor"
    like "$log" "warning: the server's clock is $SPAN ahead of ours \([-0-9T:]+Z by its Date header\); cursor [0-9.]+ from the database, $SPAN ahead of our clock, is kept" \
        "$name: and keep it, saying how far the server's clock is ahead of ours"
    # One line a start: "bridge starting" opens each one.
    most=$(awk '/^bridge starting/ { n = 0 } /the server.s clock is/ { if (++n > m) m = n } END { print m + 0 }' "$name.log")
    is "$most" 1 "$name: the skew is said once a start"
    unlike "$log" "error:|in the future" "$name: no error, and no cursor replaced by our clock"
}

now=$(date +%s)
RANDOM=20250614
crash_run ahead --start-time $((now + 3600))
date=$(curl -s -D - -o /dev/null "$URL_ahead/sim/stats" | sed -n 's/^Date: //ip' | tr -d '\r')
ok "the simulator's Date header tells its clock, an hour ahead ($date)" \
    test $(($(date -d "$date" +%s) - $(date +%s))) -ge 3500
crash_run fast --start-time "$now" --speed 20

# --- a cursor far ahead of the server's clock --------------------------------
# (Under `timeout`: a bridge that does not refuse would run on.)
# A database filled from a simulator an hour a second fast, then bridged from
# one whose clock is right.
start_sim hi --start-time "$now" --speed 3600
"$BRIDGE" initdb --sqlitedb hi.db
start_bridge hi "$URL_hi" hi.db --dt 0.2
wait_answers hi 3
touch hi.data/PLEASE-EXIT
wait_exit "$BPID" 5
cursor=$(sqlite3 hi.db "SELECT value FROM bridge_state WHERE key = 'snap_recvTime'")
rows=$(sqlite3 hi.db "SELECT count(*) FROM ts_param_bridge_points")
start_sim lo --start-time "$(date +%s)"
out=$(timeout 30 "$BRIDGE" --server "$URL_lo" --secrets "$SECRETS" --datadir hi.data bridge --sqlitedb hi.db --dt 0.2 2>&1)
is "$?" 1 "a database cursor far ahead of the server's clock: exit status 1"
like "$out" "error: bridge: cursor $cursor \([-0-9T:]+Z\) from the database is $SPAN ahead of the server's clock \([-0-9T:]+Z by its Date header\): the server would send nothing until its clock passes it\. .*simulator.* Start with --start TIME \(--start 0: from now\), then fill the time in between with history and insert$" \
    "one error line: the cursor, its source, how far ahead, the likely causes and the way out"
is "$(printf '%s\n' "$out" | grep -c 'error')" 1 "one error line only"
is "$(sqlite3 hi.db "SELECT count(*) FROM ts_param_bridge_points")" "$rows" "nothing was stored"
is "$(sqlite3 hi.db "SELECT value FROM bridge_state WHERE key = 'snap_recvTime'")" "$cursor" "the cursor is unchanged"
is "$(stat "$URL_lo" snapshots)" 0 "no snapshot was asked for"

: > lo.log
start_bridge lo "$URL_lo" hi.db --dt 0.2 --start 0
wait_answers lo 3
touch lo.data/PLEASE-EXIT
ok "--start 0 is the way out" wait_exit "$BPID" 5
is "$WAIT_RC" 0 "it exits 0 on PLEASE-EXIT"
like "$(cat lo.log)" "notice: cursor [0-9]+ \(now by the server's clock; --start 0\)" "from now by the server's clock"
ok "and stores" test "$(sqlite3 hi.db "SELECT count(*) FROM ts_param_bridge_points")" -gt "$rows"
start_bridge lo "$URL_lo" hi.db --dt 0.2
n=$(grep -c 'info: snapshot:' lo.log)
wait_answers lo $((n + 2))
touch lo.data/PLEASE-EXIT
wait_exit "$BPID" 5
is "$WAIT_RC" 0 "a restart after it continues from the database's cursor"

# The state file's cursor is judged the same way (no database: debug mode).
mkdir sf.data
printf '{"last_snap": "%s.000", "sessionid": null}\n' $((now + 400 * 86400)) > sf.data/127.0.0.1.json
out=$(timeout 30 "$BRIDGE" --server "$URL_lo" --secrets "$SECRETS" --datadir sf.data bridge --dt 0.2 2>&1 > /dev/null)
is "$?" 1 "a state file's cursor far ahead of the server's clock: exit status 1"
like "$out" "error: bridge: cursor [0-9.]+ \(.*\) from sf.data/127.0.0.1.json is $SPAN ahead of the server's clock" \
    "naming the state file"
out=$(timeout 30 "$BRIDGE" --server "$URL_lo" --secrets "$SECRETS" --datadir sf.data bridge --dt 0.2 --start $((now + 86400)) 2>&1 > /dev/null)
is "$?" 1 "so is a --start a day ahead of the server's clock"
like "$out" "from --start is $SPAN ahead of the server's clock .*--start counts in the server's clock\." "saying that --start is in the server's clock"

# A little ahead of the server's clock (a step back of its clock) is kept, with a warning.
printf '{"last_snap": "%s.000", "sessionid": null}\n' $(($(date +%s) + 100)) > sf.data/127.0.0.1.json
"$BRIDGE" -v --server "$URL_lo" --secrets "$SECRETS" --datadir sf.data bridge --dt 0.2 > sf.out 2> sf.log &
pid=$!
track_pid $pid
for _ in $(seq 100); do grep -q 'info: snapshot:' sf.log && break; sleep 0.1; done
touch sf.data/PLEASE-EXIT
ok "a cursor 100 s ahead of the server's clock is bridged from" wait_exit "$pid" 5
is "$WAIT_RC" 0 "and the bridge exits 0 on PLEASE-EXIT"
like "$(cat sf.log)" "warning: cursor [0-9.]+ from sf.data/127.0.0.1.json is $SPAN ahead of the server's clock \([-0-9T:]+Z by its Date header\); kept: up to 300 s is taken for a step of the server's clock" \
    "with a warning saying how far ahead it is"
like "$(cat sf.log)" "notice: cursor [0-9.]+ \(from sf.data/127.0.0.1.json\)" "the state file's cursor is used"

done_testing
