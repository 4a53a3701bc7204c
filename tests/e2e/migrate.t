#!/bin/bash
# migrate: databases as the original left them, and as this bridge left them
# before the v2 layout (tests/fixtures/migrations), end with exactly initdb's
# schema and every row; refusals and an injected failure change nothing; fix
# works while other processes read; 04 goes on after a failure or a kill -9
# where it stopped, losing nothing.
source "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
FIX=$FIXTURES/migrations
mig() { "$BRIDGE" --masterlist "$MASTERLIST" migrate "$@"; }

# Tables with their columns (type, NOT NULL, default, key) and whether they
# are WITHOUT ROWID, and indexes with their columns, as SQLite reports them;
# the bookkeeping table is left out.
shape() {
    sqlite3 "$1" "SELECT m.name, p.cid, p.name, p.type, p.\"notnull\", quote(p.dflt_value), p.pk, l.wr
        FROM sqlite_schema m JOIN pragma_table_info(m.name) p JOIN pragma_table_list(m.name) l
        WHERE m.type = 'table' AND m.name != 'bridge_migrations' ORDER BY 1, 2;
      SELECT m.name, l.name, l.\"unique\", l.origin, l.partial, i.seqno, i.name
        FROM sqlite_schema m JOIN pragma_index_list(m.name) l JOIN pragma_index_info(l.name) i
        WHERE m.type = 'table' AND m.name != 'bridge_migrations' ORDER BY 1, 2, 6"
}
rows() { sqlite3 "$1" "SELECT count(*) FROM $2"; }

mkdir gen
"$FIX/generate.sh" "$TMP/gen" >/dev/null 2>&1
STAGES="before-00 before-01 before-02 after-02 after-03"
for s in $STAGES; do
    ok "fixture $s.sql is what generate.sh makes" cmp -s "gen/$s.sql" "$FIX/$s.sql"
done

"$BRIDGE" --masterlist "$MASTERLIST" initdb --sqlitedb fresh.db
want=$(shape fresh.db)

for s in $STAGES; do
    sqlite3 "$s.db" < "$FIX/$s.sql"
    before=$(sqlite3 "$s.db" .dump)
    out=$(mig --sqlitedb "$s.db" fix 2>&1)
    is "$?" 0 "$s: fix all succeeds"
    first=$(sqlite3 "$s.db" "SELECT name FROM bridge_migrations ORDER BY name LIMIT 1")
    like "$out" "backup in $s.db.pre-$first" "$s: one backup, named after the first migration applied"
    is "$(sqlite3 "$s.db.pre-$first" .dump)" "$before" "$s: the backup is the database as it was"
    is "$(shape "$s.db")" "$want" "$s: tables, columns, types and indexes are initdb's"
    like "$(mig --sqlitedb "$s.db" check)" "nothing to do" "$s: check then has nothing to do"
done
is "$(rows before-00.db ts_param_bridge_totalLag)" 14 "rows of the old lag series are in bridge_totalLag"
is "$(sqlite3 before-00.db "SELECT group_concat(seq || ':' || value, ' ') FROM (SELECT seq, value
    FROM ts_param_bridge_totalLag WHERE time = 1681171800 AND station = 'ALMA' ORDER BY seq)")" \
   "0:1.25 1:5.25 2:1.25" "points of one second and station are all kept, numbered in the order they were stored"
is "$(sqlite3 before-00.db "SELECT station, source, recording, quote(tsys), scan FROM bridge_stationStatus ORDER BY station")" \
   "ALMA|M87|1.3.|NULL|
SMA|M87|1.3.|NULL|" "station rows keep their values; the new columns are empty"
is "$(sqlite3 after-02.db "SELECT stations, scan FROM ts_param_schedule ORDER BY time")" \
   "ALMA SMA|e23a11_001
SMA|e23a11_002" "schedule rows keep their scan names"
is "$(sqlite3 before-00.db "SELECT group_concat(name) FROM (SELECT name FROM bridge_migrations ORDER BY name)")" \
   "00-fix-bug-azelalt,01-create-remo,02-fix-bridges,03-match-initdb,04-series-v2,05-backfill-series" "applied migrations are recorded"

# Every series row, value and type, in the order it was stored (rowid in
# v1, seq in v2), one line per row.
series_rows() {
    local sql
    sql=$(sqlite3 "$1" "SELECT group_concat('SELECT ''' || m.name || ''', time, station, quote(value),
        typeof(value) FROM (SELECT * FROM ' || m.name || ' ORDER BY time, station, $2)', ';')
        FROM (SELECT t.name FROM sqlite_schema t WHERE t.type = 'table' AND t.name LIKE 'ts\_param\_%' ESCAPE '\'
        AND EXISTS (SELECT 1 FROM pragma_table_info(t.name) p WHERE p.name = 'station') ORDER BY t.name) m")
    sqlite3 "$1" "$sql"
}
sqlite3 v1.db < "$FIX/after-03.sql"
series_rows v1.db rowid > v1.rows
is "$(series_rows after-03.db seq | diff v1.rows - && wc -l < v1.rows)" 84 \
    "04 keeps every row of every series, its value and type, in the order it was stored"

out=$(mig --sqlitedb fresh.db check)
like "$out" "nothing to do: the database has the current schema" "check on a fresh database: nothing to do"
unlike "$out" "old|partial" "no migration is old or partial on a fresh database"
sum=$(sha256sum fresh.db)
err=$(mig --sqlitedb fresh.db fix 2>&1)
is "$?" 1 "fix on a fresh database fails"
like "$err" "refusing to fix: nothing to do" "with a clear refusal"
err=$(mig --sqlitedb fresh.db fix 01 2>&1)
like "$err" "refusing to fix 01-create-remo: the database is new, not old" "fix NAME on a fresh database refuses"
is "$(sha256sum fresh.db)" "$sum" "the fresh database is untouched"
ok "and no backup is made" test ! -e fresh.db.pre-01-create-remo

sqlite3 old.db < "$FIX/before-00.sql"
like "$(mig --sqlitedb old.db status)" "01-create-remo +waiting" "status: later migrations wait for earlier ones"
sum=$(sha256sum old.db)
err=$(mig --sqlitedb old.db fix 02 2>&1)
like "$err" "refusing to fix 02-fix-bridges: apply 00-fix-bug-azelalt \(old\) first" "fix out of order refuses"
touch old.db.pre-00-fix-bug-azelalt
err=$(mig --sqlitedb old.db fix 00 2>&1)
like "$err" "old.db.pre-00-fix-bug-azelalt exists; move it away or use --no-backup" "an existing backup is never overwritten"
is "$(sha256sum old.db)" "$sum" "refusals leave the database untouched"
mig --sqlitedb old.db --no-backup fix 00 >/dev/null
is "$?" 0 "fix 00 --no-backup succeeds"
is "$(stat -c %s old.db.pre-00-fix-bug-azelalt)" 0 "and writes no backup"
like "$(mig --sqlitedb old.db check 01)" "^01-create-remo: old" "then 01 is old"

# A database half-way between two stages is partial: fix refuses.
sqlite3 part.db < "$FIX/before-01.sql"
sqlite3 part.db "CREATE TABLE ts_param_bridgeLag (time INTEGER NOT NULL, station TEXT NOT NULL, value REAL)"
sum=$(sha256sum part.db)
err=$(mig --sqlitedb part.db fix 2>&1)
is "$?" 1 "fix on a partly migrated database fails"
like "$err" "refusing to fix 01-create-remo: the database is partial" "saying which migration is partial"
like "$err" "new: ts_param_bridgeLag exists" "and what it found"
is "$(sha256sum part.db)" "$sum" "without changing anything"

# An injected failure half-way through a migration changes nothing.
mkdir broken
cp "$ROOT/migrations/00-fix-bug-azelalt.lua" "$ROOT/migrations/01-create-remo.lua" broken/
cat > broken/02-broken.lua <<'LUA'
local migrate = require "vlbimon.migrate"
return migrate.define {
    description = "renames, then fails",
    steps = {
        migrate.rename_series("points", "bridge_points"),
        migrate.rename_table("station_status", "bridge_stationStatus"),
        { state = function() return "old", "fails when applied" end, apply = function() error("injected failure") end },
    },
}
LUA
sqlite3 b2.db < "$FIX/before-02.sql"
dump=$(sqlite3 b2.db .dump)
sum=$(sha256sum b2.db)
err=$(mig --sqlitedb b2.db --migrations broken fix 02-broken 2>&1)
is "$?" 1 "a migration failing half-way fails"
like "$err" "injected failure" "with its error"
is "$(sqlite3 b2.db .dump)" "$dump" "the database content is exactly as before"
is "$(sha256sum b2.db)" "$sum" "byte for byte"
ok "and the useless backup is removed" test ! -e b2.db.pre-02-broken
sqlite3 b1.db < "$FIX/before-01.sql"
mig --sqlitedb b1.db --migrations broken --no-backup fix >/dev/null 2>&1
is "$?" 1 "fix all stops at the failing migration"
out=$(mig --sqlitedb b1.db --migrations broken check)
like "$out" "01-create-remo: new" "the migrations before it stay applied"
like "$out" "02-broken: old" "the failing one is still to do"

# --- 04 is resumable: a table per transaction -----------------------------------
# The series tables of a database, each with its layout (v1, v2) and a
# fingerprint of its rows.
series() {
    local sql
    sql=$(sqlite3 "$1" "SELECT group_concat('SELECT ''' || m.name || ''', '
        || CASE WHEN m.seq THEN '''v2''' ELSE '''v1''' END || ', count(*), sum(time),
        count(DISTINCT station), total(value) FROM ' || m.name, ';')
        FROM (SELECT t.name, EXISTS (SELECT 1 FROM pragma_table_info(t.name) p WHERE p.name = 'seq') AS seq
        FROM sqlite_schema t WHERE t.type = 'table' AND t.name LIKE 'ts\_param\_%' ESCAPE '\'
        AND EXISTS (SELECT 1 FROM pragma_table_info(t.name) p WHERE p.name = 'station') ORDER BY t.name) m")
    sqlite3 "$1" "$sql"
}
# The fingerprints alone, leaving out the two series 05 adds empty.
rows_of() { series "$1" | grep -v '^ts_param_bridge_backfill' | cut -d'|' -f 1,3-; }

# A table 04 cannot rebuild stops it there, the tables before it rebuilt.
sqlite3 f.db < "$FIX/after-03.sql"
sqlite3 f.db "DROP TABLE ts_param_maser_lock;
    CREATE TABLE ts_param_maser_lock (time INTEGER NOT NULL, station TEXT NOT NULL, value FLOAT);
    INSERT INTO ts_param_maser_lock VALUES (1681171200, 'SMA', 1), (1681171200, 'SMA', 1)"
f_rows=$(rows_of f.db)
out=$(mig --sqlitedb f.db fix 2>&1)
is "$?" 1 "04 stops at a table it cannot rebuild"
like "$out" "04-series-v2: ts_param_maser_lock: its value column is FLOAT, none of TEXT, REAL, INTEGER and BOOLEAN" \
    "naming it and why"
like "$out" "[1-9][0-9]* of 561 table\(s\) done; fix again to go on" "saying how far it got"
is "$(series f.db | cut -d'|' -f 2 | sort | uniq | tr '\n' ' ')" "v1 v2 " \
    "the tables before it are rebuilt, the others not yet"
is "$(rows_of f.db)" "$f_rows" "and every table holds its rows"
like "$(mig --sqlitedb f.db check)" "04-series-v2: old" "such a database is old, not partial"
ok "the backup made when 04 began is kept" test -s f.db.pre-04-series-v2
sqlite3 f.db "ALTER TABLE ts_param_maser_lock RENAME TO x;
    CREATE TABLE ts_param_maser_lock (time INTEGER NOT NULL, station TEXT NOT NULL, value BOOLEAN);
    INSERT INTO ts_param_maser_lock SELECT * FROM x; DROP TABLE x"
out=$(mig --sqlitedb f.db fix 2>&1)
is "$?" 0 "once repaired, fix goes on"
like "$out" "04-series-v2: continuing; f.db.pre-04-series-v2, from before it began, is kept" \
    "keeping the backup from before 04 began"
is "$(shape f.db)" "$want" "and ends with initdb's schema"
is "$(rows_of f.db)" "$f_rows" "every table still holds its rows"
is "$(sqlite3 f.db "SELECT group_concat(seq) FROM ts_param_maser_lock")" "0,1" "the two points of one second both"

# kill -9 at any instant leaves every table whole in one layout or the
# other, and the next fix goes on. Twenty tables of 50,000 rows make 04
# take a while; half have two points in some seconds.
sqlite3 k.db < "$FIX/after-03.sql"
sqlite3 k.db "PRAGMA journal_mode=WAL" > /dev/null
n=0
for t in $(sqlite3 k.db "SELECT name FROM sqlite_schema WHERE name LIKE 'ts\_param\_maser\_%' ESCAPE '\'
    AND type = 'table' ORDER BY name LIMIT 20"); do
    n=$((n + 1))
    echo "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 49999)
        INSERT INTO $t SELECT 1681171200 + i / $((n % 2 + 3)), CASE i % 3 WHEN 0 THEN 'ALMA'
        WHEN 1 THEN 'SMA' ELSE 'KP' END, i * 0.5 FROM c;"
done | sqlite3 k.db
k_rows=$(rows_of k.db)
states=
for i in 1 2 3 4 5 6; do
    "$BRIDGE" --masterlist "$MASTERLIST" migrate --sqlitedb k.db fix > "k$i.out" 2>&1 &
    pid=$!
    sleep "0.$((RANDOM % 9 + 1))"
    kill -9 $pid 2> /dev/null
    wait $pid 2> /dev/null
    [ "$(sqlite3 k.db "PRAGMA integrity_check")" = ok ] || states="$states corrupt"
    [ "$(rows_of k.db)" = "$k_rows" ] || states="$states rows-changed"
    states="$states $(mig --sqlitedb k.db check 04 | head -n 1 | sed 's/.*: //')"
done
unlike "$states" "corrupt|rows-changed|partial" "after each kill -9: a whole database, every row in place, old or new ($states )"
[ "$(mig --sqlitedb k.db check 04 | head -n 1)" = "04-series-v2: old" ] && mig --sqlitedb k.db fix > k.out 2>&1
like "$(mig --sqlitedb k.db check)" "nothing to do" "then fix completes 04"
is "$(shape k.db)" "$want" "with initdb's schema"
is "$(rows_of k.db)" "$k_rows" "and every row"
is "$(series k.db | cut -d'|' -f 2 | sort -u)" v2 "in the v2 layout"
is "$(rows_of k.db.pre-04-series-v2)" "$k_rows" "the backup is the database before 04 began"
ok "and no piece of a backup cut short is left" test ! -e k.db.pre-04-series-v2.part

# Readers during fix: a WAL reader keeps its snapshot and fix does not wait;
# in rollback-journal mode fix waits for the reader's lock. The reader holds
# its transaction until the test releases it (at most 4 s, well inside the
# 60 s a one-shot command waits), so the checks are about order, not time.
cat > reader.lua <<'LUA'
local vlbimon = require "vlbimon"
local path, release, flag = ...
local db = vlbimon.open(path, { readonly = true })
db:exec("BEGIN")
local n1 = db:first("SELECT count(*) AS n FROM ts_param_weather_tau225").n
local t1 = #db:tables()
io.open(flag, "w"):close()
local t0 = vlbimon.now()
while vlbimon.now() - t0 < 4 do
    local f = io.open(release)
    if f then f:close() break end
end
local n2 = db:first("SELECT count(*) AS n FROM ts_param_weather_tau225").n
local t2 = #db:tables()
db:exec("COMMIT")
print(n1, n2, t1 == t2 and "same snapshot" or "snapshot changed", db:first("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'ts_param_bridge_windGust'").n)
LUA
for mode in wal delete; do
    sqlite3 r-$mode.db < "$FIX/after-02.sql"
    sqlite3 r-$mode.db "PRAGMA journal_mode=$mode" >/dev/null
    "$BRIDGE" run reader.lua r-$mode.db r-$mode.release r-$mode.flag > r-$mode.out 2>&1 &
    pid=$!
    track_pid $pid
    for _ in $(seq 100); do [ -e r-$mode.flag ] && break; sleep 0.05; done
    if [ $mode = wal ]; then
        out=$(mig --sqlitedb r-$mode.db --no-backup fix 2>&1)
        rc=$?
        ok "wal: fix finished while the reader still held its transaction" kill -0 $pid
    else
        mig --sqlitedb r-$mode.db --no-backup fix > r-$mode.fix 2>&1 &
        fpid=$!
        sleep 1
        ok "delete: fix waits for the reader's lock" kill -0 $fpid
        touch r-$mode.release
        wait $fpid
        rc=$?
    fi
    touch r-$mode.release
    wait $pid
    is "$rc" 0 "$mode: fix succeeds while a reader holds a read transaction"
    # (In rollback-journal mode the reader's last query waits for fix, saying so.)
    is "$(grep -v ' notice: ' r-$mode.out | cut -f 1-3)" "14	14	same snapshot" "$mode: the reader reads undisturbed"
    # Only WAL orders this: fix committed before the reader ended its transaction.
    [ $mode = wal ] && is "$(cut -f 4 r-$mode.out)" 1 "wal: the reader's next transaction sees the new schema"
    is "$(shape r-$mode.db)" "$want" "$mode: the schema is initdb's"
done

done_testing
