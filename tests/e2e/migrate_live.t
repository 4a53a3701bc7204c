#!/bin/bash
# Migration 04 while the live bridge writes: the bridge goes on storing
# answers between the migration's table transactions, notices each table's
# new layout, and every served point ends up stored exactly once.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1

answers() { grep -c 'info: snapshot:' live.log; }

# A database as this bridge made it before the v2 layout, its series empty,
# with twenty more v1 tables of 100,000 rows no one serves, so that 04 takes
# a while.
sqlite3 live.db < "$FIXTURES/migrations/after-03.sql"
sqlite3 live.db "SELECT 'DELETE FROM ' || name || ';' FROM sqlite_schema WHERE type = 'table'
    AND name LIKE 'ts\_param\_%' ESCAPE '\'" | sqlite3 live.db
for n in $(seq 20); do
    echo "CREATE TABLE ts_param_filler_$n (time INTEGER NOT NULL, station TEXT NOT NULL, value REAL);
        CREATE INDEX idx_ts_param_filler_${n}_time ON ts_param_filler_$n(time);
        CREATE INDEX idx_ts_param_filler_${n}_station ON ts_param_filler_$n(station);
        WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 99999)
        INSERT INTO ts_param_filler_$n SELECT 1681171200 + i / 3, 'SMA', i FROM c;"
done | sqlite3 live.db
filler=$(sqlite3 live.db "SELECT sum(time) FROM ts_param_filler_7")

start_sim s --served "$TMP/s.csv" --speed 120
start_bridge live "$URL_s" live.db --dt 0.2
wait_answers live 5
before=$(answers)
out=$("$BRIDGE" migrate --sqlitedb live.db fix 2>&1)
is "$?" 0 "04 succeeds while the bridge writes"
like "$out" "04-series-v2: 581/581 tables, 2[0-9]{6} rows in" "every table rebuilt"
during=$(answers)
ok "the bridge stored answers while 04 ran ($before before it, $during after)" test "$during" -gt "$before"
wait_answers live $((during + 5))
touch live.data/PLEASE-EXIT
ok "the bridge stops on PLEASE-EXIT" wait_exit "$BPID" 30
is "$WAIT_RC" 0 "with status 0"
is "$(compare_served live.db "$TMP/s.csv" "$URL_s" | sed 's/.*missing/missing/')" "missing 0, extra 0" \
    "every served point of every acknowledged answer is stored exactly once"
# A cycle that cannot have the lock in time, as 04 holds it for a table or a
# checkpoint, keeps its answer for the next (docs/commands.md); nothing else.
unlike "$(grep -Ev 'database is locked: .*the answer is (still )?kept' live.log)" "error|warn.*skipped" \
    "the bridge logged no error but waiting for 04's lock, and skipped nothing"
like "$("$BRIDGE" migrate --sqlitedb live.db check)" "nothing to do" "the database has the current schema"
is "$(sqlite3 live.db "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'idx\_%' ESCAPE '\'")" 0 \
    "no v1 index is left"
is "$(sqlite3 live.db "SELECT sum(time) FROM ts_param_filler_7")" "$filler" "the rows no one served are intact"
done_testing
