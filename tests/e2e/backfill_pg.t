#!/bin/bash
# backfill into PostgreSQL (bridge --postgres): as tests/e2e/backfill.t on
# SQLite, with the simulator's faults on, a series faster than the bridge's
# answers, a kill -9 outage and more kill -9s while it catches up. Once the
# bridge has run on for one backfill budget, the live database equals
# history + insert --postgres of the same period, table by table and row for
# row (derived series included, as many times as history has each point),
# and the station status never went back.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pglib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
source "$FIXTURES/backfill/bflib.sh"
cd "$TMP" || exit 1

ML=$TMP/small.json
small_masterlist "$ML"
TWO=(--stations ALMA --stations SMA)
B() { "$BRIDGE" --masterlist "$ML" "${TWO[@]}" "$@"; }
pg_start main
conn() { echo "host=$PG_main_SOCK port=$PG_main_PORT user=postgres dbname=$1"; }
sql() { local db=$1; shift; "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$(conn "$db")" "$@"; }
for db in live hist; do
    pg_psql main -c "CREATE DATABASE $db"
    B initdb --postgres "$(conn $db)" 2> /dev/null
done

# rows DATABASE FROM TO : every row of every series table in [FROM, TO] (the
# bridge's own series left out) as table|time|station|value, sorted.
rows() {
    local q
    q=$(sql "$1" -c "SELECT string_agg(format('SELECT %L, time, station, value::text FROM %I
        WHERE time BETWEEN $2 AND $3', c.relname, c.relname), ' UNION ALL ')
        FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
        AND c.relname LIKE 'ts\_param\_%' AND c.relname NOT IN ($(printf '%s' "$BF_OWN" | tr 'A-Z' 'a-z'))")
    sql "$1" -F '|' -c "$q" | LC_ALL=C sort
}
backfill_from_pg() { sql live -c "SELECT split_part(value, ' ', 1) FROM bridge_state WHERE key = 'backfill'"; }
cursor_pg() { sql live -c "SELECT value FROM bridge_state WHERE key = 'snap_recvTime'"; }
# wait_from SECOND : waits (at most 90 s) until the backfill is complete up to SECOND.
wait_from() {
    local i
    for i in $(seq 900); do
        [ "$(backfill_from_pg)" -gt "$1" ] 2> /dev/null && return 0
        sleep 0.1
    done
    diag "backfill still at $(backfill_from_pg), not past $1"
    return 1
}
start_run() {
    "$BRIDGE" -v --server "$URL_f" --secrets "$SECRETS" --masterlist "$ML" "${TWO[@]}" \
        --datadir "$TMP/live.data" bridge --postgres "$(conn live)" --dt 0.5 --backfill-every 10 \
        >> "$TMP/live.out" 2>> "$TMP/live.log" &
    BPID=$!
    track_pid "$BPID"
}
status_watch() {
    while :; do
        sql live -F '|' -c "SELECT station, time FROM bridge_stationStatus WHERE time > 0" >> "$1" 2> /dev/null
        sleep 0.1
    done
}

start_sim f --masterlist "$ML" --speed 20 --seed 23 --fault-500 0.05 --fault-503 0.01 \
    --fault-429 0.01 --fault-401 0.03 --fault-truncate 0.03 --fault-badjson 0.03 \
    --fault-drop 0.03 --fault-stall 0.02 --stall-seconds 2 --history-quirks 0.3
status_watch status.txt &
WATCH=$!
track_pid $WATCH
start_run
wait_answers live 14
P0=$(($(sed -n 's/.*notice: cursor \([0-9]*\).*no saved cursor.*/\1/p' live.log) + 1))
{
    kill -KILL "$BPID"
    wait "$BPID"
} 2> /dev/null
sleep 6 # 120 simulated seconds pass with no bridge
RANDOM=23
for i in 1 2; do
    start_run
    sleep "$((1 + RANDOM % 3)).$((RANDOM % 10))"
    kill -KILL "$BPID" 2> /dev/null
    wait "$BPID" 2> /dev/null
done
start_run
back=$(cursor_pg)
ok "the outage is backfilled" wait_from "${back%.*}"
ok "and the bridge runs on for one budget" wait_from "$(cursor_pg | cut -d. -f1)"
touch live.data/PLEASE-EXIT
ok "PLEASE-EXIT stops it" wait_exit "$BPID" 10
is "$WAIT_RC" 0 "with status 0"
kill "$WATCH"
wait "$WATCH" 2> /dev/null
P1=$(($(backfill_from_pg) - 1))
diag "period $P0..$P1 ($((P1 - P0 + 1)) s simulated)"
like "$(cat live.log)" "backfill: complete before [-0-9T:]+Z, going on from there" \
    "a restart goes on from the committed backfill cursor"
like "$(cat live.log)" "info: backfill: .* [1-9][0-9]* row\(s\) stored" "stretches stored rows"
ok "bridge_backfillRequests counts history requests" \
    test "$(sql live -c 'SELECT sum(value) FROM ts_param_bridge_backfillRequests')" -gt 0

"$BRIDGE" --server "$URL_f" --secrets "$SECRETS" --masterlist "$ML" "${TWO[@]}" --datadir h \
    history --start "$P0" --end "$P1" --all --sleep 0 2> h.log
is "$?" 0 "history of the period"
B insert --postgres "$(conn hist)" h > /dev/null 2> i.log
is "$?" 0 "insert --postgres of it"
rows live "$P0" "$P1" > live.rows
rows hist "$P0" "$P1" > hist.rows
is "$(diff live.rows hist.rows | head -n 10)" "" \
    "the live database equals history + insert, table by table, row for row ($(wc -l < hist.rows) rows)"
ok "(events and split coordinates among them)" \
    test "$(grep -c '^ts_param_bridge_events|' hist.rows)" -gt 10 -a \
    "$(grep -c '^ts_param_telescope_azimuthelevation_az|' hist.rows)" -gt 100
back_in_time=$(sort -s -t'|' -k1,1 status.txt | awk -F'|' '$1 == s && $2 < t { n++ } { s = $1; t = $2 } END { print n + 0 }')
is "$back_in_time" 0 "no station's status time ever moved back ($(wc -l < status.txt) samples)"

done_testing
