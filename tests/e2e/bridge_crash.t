#!/bin/bash
# kill -9 of the bridge at 20 random instants (starting up, fetching,
# transforming, committing, sleeping), each followed by a restart: the
# database still ends with every point of every acknowledged answer exactly
# once, and nothing that was not served.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1

start_sim k --served "$TMP/k.csv" --speed 120 --seed 11
"$BRIDGE" initdb --sqlitedb crash.db
RANDOM=20241111
kill_randomly 20 start_bridge k "$URL_k" crash.db --dt 0.2
is "$KILLS" 20 "the bridge was killed 20 times"
before=$(grep -c 'info: snapshot:' k.log)
start_bridge k "$URL_k" crash.db --dt 0.2
wait_answers k $((before + 3))
touch k.data/PLEASE-EXIT
ok "the last run ends on PLEASE-EXIT" wait_exit "$BPID" 5
is "$WAIT_RC" 0 "with status 0"
ok "answers were stored across the kills ($before)" test "$before" -ge 20
res=$(compare_served crash.db "$TMP/k.csv" "$URL_k")
diag "$res"
like "$res" "missing 0, extra 0$" "every point of every acknowledged answer is in the database exactly once"
like "$(cat k.log)" "cursor [0-9.]+ \(from the database\)" "restarts continue from the database's cursor"
is "$(stat "$URL_k" broken_acknowledged)" 0 "no broken answer's cursor was ever used"
is "$(sqlite3 crash.db 'PRAGMA integrity_check')" ok "the database is intact"

done_testing
