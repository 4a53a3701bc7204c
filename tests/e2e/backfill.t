#!/bin/bash
# backfill: the live bridge asks history for what its snapshots could not
# carry. Against the simulator with faults on, series faster than the
# bridge's answers and slower ones, an outage after a kill -9 and more kill
# -9s while it catches up: once the bridge has run on for one backfill
# budget, its database equals history + insert of the same period, table by
# table and row for row, derived series included, and the station status
# never went back. Without backfill the same comparison finds points
# missing. And the budget: history requests paced by the snapshots, with
# credentials (snapshots carry none), counted in bridge_backfill*.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
source "$FIXTURES/backfill/bflib.sh"
cd "$TMP" || exit 1

ML=$TMP/small.json
small_masterlist "$ML"
TWO=(--stations ALMA --stations SMA)
B() { "$BRIDGE" --masterlist "$ML" "${TWO[@]}" "$@"; }

# --- command line ----------------------------------------------------------------
out=$("$BRIDGE" bridge -h)
like "$(printf '%s' "$out" | tr '\n' ' ')" "--no-backfill .*--backfill-every N .*--backfill-burst N" \
    "bridge -h lists the backfill options"
for bad in "--backfill-every 0" "--backfill-burst 0.5" "--backfill-every x"; do
    err=$("$BRIDGE" bridge $bad 2>&1)
    is "$?" 2 "bridge $bad: a usage error"
done

# start_run NAME DB [options] : the bridge of this test, in the background (BPID).
start_run() {
    local name=$1 db=$2
    shift 2
    "$BRIDGE" -v --server "$URL_f" --secrets "$SECRETS" --masterlist "$ML" "${TWO[@]}" \
        --datadir "$TMP/$name.data" bridge --sqlitedb "$db" --dt 0.5 "$@" \
        >> "$TMP/$name.out" 2>> "$TMP/$name.log" &
    BPID=$!
    track_pid "$BPID"
}

# wait_from DB SECOND : waits (at most 90 s) until the backfill is complete up to SECOND.
wait_from() {
    local i
    for i in $(seq 900); do
        [ "$(backfill_from "$1")" -gt "$2" ] 2> /dev/null && return 0
        sleep 0.1
    done
    diag "$1: backfill still at $(backfill_from "$1"), not past $2"
    return 1
}

# A reader waits out the bridge's recovery of the WAL after a kill -9 (SQLITE_BUSY otherwise).
cursor_of() { sqlite3 -cmd ".timeout 10000" "$1" "SELECT value FROM bridge_state WHERE key = 'snap_recvTime'"; }

# status_watch DB OUT : every 0.1 s, each station's status time, until killed.
status_watch() {
    while :; do
        sqlite3 "$1" "SELECT station, time FROM bridge_stationStatus WHERE time > 0" >> "$2" 2> /dev/null
        sleep 0.1
    done
}

# --- with backfill: faults, an outage after kill -9, kill -9s while catching up --------
start_sim f --masterlist "$ML" --speed 20 --seed 21 --fault-500 0.05 --fault-503 0.01 \
    --fault-429 0.01 --fault-401 0.03 --fault-truncate 0.03 --fault-badjson 0.03 \
    --fault-drop 0.03 --fault-stall 0.02 --stall-seconds 2 --history-quirks 0.3
B initdb --sqlitedb live.db
B initdb --sqlitedb nb.db
status_watch live.db status.txt &
WATCH=$!
track_pid $WATCH
# Beside it, the same without backfill, for the comparison at the end.
start_run nb nb.db --no-backfill
NBPID=$BPID
start_run live live.db --backfill-every 10
wait_answers live 14
first=$(sed -n 's/.*notice: cursor \([0-9]*\).*no saved cursor.*/\1/p' live.log)
P0=$((first + 1))
like "$(cat live.log)" "info: backfill: starting at $(date -u -d "@$P0" +%Y-%m-%dT%H:%M:%SZ)" \
    "the backfill starts at the second after the first cursor"
{
    kill -KILL "$BPID"
    wait "$BPID"
} 2> /dev/null
down=$(cursor_of live.db)
sleep 6 # 120 simulated seconds, twelve answers' worth, pass with no bridge
RANDOM=21
kills=1
for i in 1 2 3; do
    start_run live live.db --backfill-every 10
    sleep "$((1 + RANDOM % 3)).$((RANDOM % 10))"
    { kill -KILL "$BPID" && kills=$((kills + 1)); } 2> /dev/null
    wait "$BPID" 2> /dev/null
done
is "$kills" 4 "the bridge was killed with SIGKILL 4 times"
start_run live live.db --backfill-every 10
back=$(cursor_of live.db)
ok "the outage is backfilled" wait_from live.db "${back%.*}"
# One budget more: every answer since, through its backfill.
ok "and the bridge runs on for one budget" wait_from live.db "$(cursor_of live.db | cut -d. -f1)"
touch live.data/PLEASE-EXIT
ok "PLEASE-EXIT stops it" wait_exit "$BPID" 10
is "$WAIT_RC" 0 "with status 0"
kill "$WATCH"
wait "$WATCH" 2> /dev/null
P1=$(($(backfill_from live.db) - 1))
diag "period $P0..$P1 ($((P1 - P0 + 1)) s simulated), outage from ${down%.*} to ${back%.*}"
like "$(cat live.log)" "backfill: complete before [-0-9T:]+Z, going on from there" \
    "a restart goes on from the committed backfill cursor"
history_requests=$(stat "$URL_f" history)
snapshots=$(stat "$URL_f" snapshots)
is "$(stat "$URL_f" credentials.snapshot)" 0 "snapshots carry no credentials"
is "$(stat "$URL_f" credentials.history)" "$history_requests" "every history request does"
counted=$(sqlite3 live.db 'SELECT sum(value) FROM ts_param_bridge_backfillRequests')
ok "bridge_backfillRequests counts them, failed ones included ($counted of $history_requests; a kill -9 loses those since the last commit, one at most)" \
    test "$counted" -le "$history_requests" -a "$counted" -ge $((history_requests - kills))
ok "bridge_backfillPoints counts the rows stored" \
    test "$(sqlite3 live.db 'SELECT sum(value) FROM ts_param_bridge_backfillPoints')" -gt 0
# 1 per 10 snapshots, plus a burst of 30 per start (five starts).
ok "$history_requests history requests for $snapshots snapshots: within the budget" \
    test "$history_requests" -le $((snapshots / 10 + 5 * 30))

# history + insert of the same period, into a fresh database.
"$BRIDGE" --server "$URL_f" --secrets "$SECRETS" --masterlist "$ML" "${TWO[@]}" --datadir hist \
    history --start "$P0" --end "$P1" --all --sleep 0 2> h.log
is "$?" 0 "history of the period"
B initdb --sqlitedb h.db
B insert --sqlitedb h.db hist > /dev/null 2> i.log
is "$?" 0 "insert of it"
diff=$(compare_period live.db h.db "$P0" "$P1")
is "$diff" "" "the live database equals history + insert, table by table, row for row"
ok "(and the comparison saw the rows: $(sqlite3 h.db 'SELECT count(*) FROM ts_param_telescope_onSource') onSource points)" \
    test "$(sqlite3 h.db 'SELECT count(*) FROM ts_param_telescope_onSource')" -gt 100
ok "events and split coordinates are among them" \
    test "$(sqlite3 h.db 'SELECT count(*) FROM ts_param_bridge_events')" -gt 10 -a \
    "$(sqlite3 h.db 'SELECT count(*) FROM ts_param_telescope_azimuthElevation_az')" -gt 100

# The station status never went back, and is no older than what history makes.
back_in_time=$(sort -s -t'|' -k1,1 status.txt | awk -F'|' '$1 == s && $2 < t { n++ } { s = $1; t = $2 } END { print n + 0 }')
is "$back_in_time" 0 "no station's status time ever moved back ($(wc -l < status.txt) samples)"
older=$(sqlite3 live.db "ATTACH 'h.db' AS h; SELECT count(*) FROM bridge_stationStatus l
    JOIN h.bridge_stationStatus s USING (station) WHERE l.time < s.time")
is "$older" 0 "and each row is at least as new as the one history + insert makes"

# --- without backfill: the same kind of run loses points ----------------------------
touch nb.data/PLEASE-EXIT
ok "--no-backfill: the bridge runs and stops" wait_exit "$NBPID" 10
N0=$(($(sed -n 's/.*notice: cursor \([0-9]*\).*no saved cursor.*/\1/p' nb.log) + 1))
N1=$(($(cursor_of nb.db | cut -d. -f1) - 1))
"$BRIDGE" --server "$URL_f" --secrets "$SECRETS" --masterlist "$ML" "${TWO[@]}" --datadir nbhist \
    history --start "$N0" --end "$N1" --all --sleep 0 2> /dev/null
B initdb --sqlitedb nbh.db
B insert --sqlitedb nbh.db nbhist > /dev/null 2>&1
nbdiff=$(compare_period nb.db nbh.db "$N0" "$N1")
like "$nbdiff" "ts_param_telescope_onSource\|0\|[1-9]" \
    "without backfill the 5 s series miss points the snapshots could not carry"
is "$(sqlite3 nb.db "SELECT count(*) FROM bridge_state WHERE key LIKE 'backfill%'")" 0 \
    "and no backfill state is kept"
unlike "$(cat nb.log)" "backfill" "nor anything said about it"

# --- a history answer that stalls never holds up the next snapshot ------------------
start_sim st --masterlist "$ML" --speed 10 --seed 22 --fault-stall 0.5 --stall-seconds 5
B initdb --sqlitedb st.db
"$BRIDGE" -v --server "$URL_st" --secrets "$SECRETS" --masterlist "$ML" "${TWO[@]}" \
    --datadir st.data bridge --sqlitedb st.db --dt 1 --backfill-every 1 > st.out 2> st.log &
BPID=$!
track_pid $BPID
wait_lines st.log "backfill: history .*timed out after" 4
touch st.data/PLEASE-EXIT
ok "stalled history answers: the bridge runs on and stops" wait_exit "$BPID" 10
# Each history request that timed out, with the snapshot request before it in its cycle: the two
# together stay within the cycle's second (a snapshot that stalls leaves less for history).
late=$(awk '/warning: snapshot: .*timed out after/ { match($0, /after [0-9]+/); s = substr($0, RSTART + 6, RLENGTH - 6) }
    /info: snapshot: .*fetch/ { match($0, /fetch [0-9]+/); s = substr($0, RSTART + 6, RLENGTH - 6) }
    /backfill: history .*timed out after/ { match($0, /after [0-9]+/); h = substr($0, RSTART + 6, RLENGTH - 6)
        n++; if (s + h >= 1000) bad++; if (s >= 700) slow++ }
    END { printf "%d %d %d", n, bad, slow }' st.log)
read -r n bad slow <<< "$late"
is "$bad" 0 "a stalled history request is given up before the next snapshot is due ($n timed out, $slow after a stalled snapshot)"
like "$(cat st.log)" "info: snapshot:" "and the snapshots go on"

done_testing
