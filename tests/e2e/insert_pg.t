#!/bin/bash
# insert --postgres: a history tree loaded into PostgreSQL is the same rows as
# in SQLite, table by table (the simulator's history, the original's files
# with bad lines, a missing table, a parameter the masterlist lacks), its
# indexes are back after the load, and loading again adds nothing or only
# what is new; transform --postgres; summarize --postgres reports the same;
# vlbimon.open gives scripts a PostgreSQL handle with the SQLite handle's
# methods, and transformers none; the password never shows.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pglib.sh"
source "$FIXTURES/sim/simlib.sh"
cd "$TMP" || exit 1

B() { "$BRIDGE" --masterlist "$MASTERLIST" "$@"; }
S() { sqlite3 "$@"; }
pg_start main
conn() { echo "host=$PG_main_SOCK port=$PG_main_PORT user=postgres dbname=$1"; }
sql() { local db=$1; shift; "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$(conn "$db")" "$@"; }
fresh_pg() { pg_psql main -c "CREATE DATABASE $1" && B initdb --postgres "$(conn "$1")" 2> /dev/null; }
B initdb --sqlitedb fresh.db 2> /dev/null

# rows_lite DB, rows_pg DATABASE : every row of every series table as
# table|time|station|value, the value's type and bits kept (text as hex, a
# real in a form that reads back exactly, then to 17 digits by perl, since
# SQLite's own printf is not exact that far), names lower-cased as PostgreSQL
# has them; sorted.
canon() { perl -pe 's/\|r([^|\n]*)$/sprintf("|r%.17e", $1)/e' | LC_ALL=C sort; }
rows_lite() {
    S "$1" "SELECT group_concat('SELECT ''' || lower(m.name) || ''', time, station,
        CASE typeof(value) WHEN ''text'' THEN ''x'' || hex(value) WHEN ''real'' THEN ''r'' || quote(value)
        ELSE ''i'' || value END FROM ' || m.name || ';', char(10)) FROM sqlite_schema m, pragma_table_info(m.name) p
        WHERE m.type = 'table' AND m.name LIKE 'ts\_param\_%' ESCAPE '\' AND p.name = 'value'" > "$1.rows.sql"
    S -separator '|' "$1" < "$1.rows.sql" | canon
}
rows_pg() {
    sql "$1" -F '|' -c "$(sql "$1" -c "SELECT string_agg(format('SELECT %L, time, station, %s FROM %I', c.relname,
        CASE format_type(a.atttypid, a.atttypmod) WHEN 'text' THEN '''x'' || upper(encode(convert_to(value, ''UTF8''), ''hex''))'
        WHEN 'double precision' THEN '''r'' || value::text' ELSE '''i'' || value' END, c.relname), ' UNION ALL ')
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'value'
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'ts\_param\_%'")" | canon
}
STATUS="SELECT lower(station), time, source, onsource, mode, recording, tsys, tau225, scan FROM bridge_stationStatus"
reals() { perl -F'\|' -lane 'for (6, 7) { $F[$_] = sprintf("%.17e", $F[$_]) if length $F[$_] } print join "|", @F'; }
status_lite() { S -separator '|' "$1" "$STATUS ORDER BY 1" | reals; }
status_pg() { sql "$1" -F '|' -c "$STATUS ORDER BY 1" | reals; }
# same LABEL SQLITEDB DATABASE : the two hold the same series rows and station status rows.
same() {
    rows_lite "$2" > "$1.lite"
    rows_pg "$3" > "$1.pg"
    is "$(diff "$1.lite" "$1.pg" | head -n 5)" "" "$1: the same $(wc -l < "$1.lite") rows in PostgreSQL as in SQLite, table by table"
    is "$(status_pg "$3")" "$(status_lite "$2")" "$1: and the same station status rows"
}

# --- command line
err=$(B insert --sqlitedb x.db --postgres "$(conn x)" d 2>&1)
is "$?" 2 "insert with --sqlitedb and --postgres: a usage error"
like "$err" "argument --postgres: not allowed with argument --sqlitedb" "saying so"
err=$(B insert d 2>&1)
is "$?" 2 "insert with neither: a usage error"
like "$err" "one of the arguments --sqlitedb --postgres is required" "naming both"
like "$(B insert -h)" "--postgres CONNINFO" "insert -h shows --postgres"
err=$(B transform --sqlitedb x.db --postgres "$(conn x)" --snapshot "$FIXTURES/snapshots/small.json" 2>&1)
is "$?" 2 "transform with --sqlitedb and --postgres: a usage error"
err=$(B insert --postgres "host=$PG_main_SOCK port=$PG_main_PORT user=postgres dbname=nosuch password=s3cr3t-pw" d 2>&1)
is "$?" 1 "a database that does not exist: a runtime error"
like "$err" "error: insert: postgres .*dbname=nosuch password=\*\*\*\*\*\*\*\*:.*nosuch" "naming it, the password masked"
unlike "$err" "s3cr3t-pw" "the password itself never shows"

# --- the simulator's history of a few parameters, into both databases
PARAMS=(weather_tau225 weather_windSpeed if_1_systemTemp telescope_sourceName telescope_onSource
    telescope_azimuthElevation observerMessages_weather recorder_1_shouldRecord rx_3_nrIFs)
PARGS=()
for p in "${PARAMS[@]}"; do PARGS+=(--param "$p"); done
start_sim s --speed 0
"$BRIDGE" --server "$URL_s" --secrets "$USERS" --masterlist "$MASTERLIST" --datadir d \
    --stations ALMA --stations SMA history --start $((T0 - 1800)) --end "$T0" --private "${PARGS[@]}" \
    --sleep 0 2> h.log
is "$?" 0 "history of two stations"
cp fresh.db h.db
B insert --sqlitedb h.db d > h.out 2> h.err
is "$?" 0 "insert into SQLite"
fresh_pg h
out=$(B insert --postgres "$(conn h)" d 2> hpg.err)
is "$?" 0 "insert --postgres"
like "$out" "^host=.*dbname=h: [0-9]+ rows written \([0-9]+ straight from [0-9]+ file\(s\), [0-9]+ through the transformers" \
    "says what went where"
is "${out#*: }" "$(sed 's/^[^:]*: //; s/ in [0-9.]* s ([0-9]* records\/s)$//' h.out) in ${out##* in }" \
    "the same counts as into SQLite"
same "history" h.db h
is "$(sql h -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx\_%'")" 1126 \
    "the indexes taken off for the load are all back"
is "$(sql h -c "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_ts_param_weather_tau225_time'")" \
    "CREATE INDEX idx_ts_param_weather_tau225_time ON public.ts_param_weather_tau225 USING btree (\"time\")" \
    "as initdb made them"
is "$(sql h -c "SELECT count(*) FROM bridge_inserted")" "$(S h.db "SELECT count(*) FROM bridge_inserted")" \
    "bridge_inserted records every file, as on SQLite"

# --- idempotent, and incremental as the tree grows
before=$(sql h -c "SELECT count(*) FROM ts_param_weather_tau225")
out=$(B insert --postgres "$(conn h)" d 2>&1)
like "$out" "dbname=h: 0 rows written" "inserting the same tree again writes nothing"
is "$(sql h -c "SELECT count(*) FROM ts_param_weather_tau225")" "$before" "no row is doubled"
"$BRIDGE" --server "$URL_s" --secrets "$USERS" --masterlist "$MASTERLIST" --datadir d \
    --stations ALMA --stations SMA history --end $((T0 + 900)) --private "${PARGS[@]}" --sleep 0 2> /dev/null
B insert --sqlitedb h.db d > /dev/null 2>&1
B insert --postgres "$(conn h)" d > /dev/null 2>&1
is "$?" 0 "after history resumed, insert --postgres again"
same "resumed" h.db h

# --- the original's files with bad lines, a missing table, a parameter the masterlist lacks
mkdir -p o/KP o/SMA
printf '1712836000,clear, windy\n1712836100,"rain, ""heavy""\nlater"\nnot a line\n1712836200,"stray quote\n1712836300,fine\n' \
    > o/KP/observerMessages_weather.csv
printf '1712836000,3.5\n1712836010,abc\n1712836020,4.5\n1712836030,5\n' > o/KP/weather_windSpeed.csv
seq -f '17128%05g,2.5' 0 399 > o/KP/foo_bar.csv
printf '1712836000,tab\there\n1712836001,back\\\\slash\n1712836002,\\.\n' > o/SMA/telescope_sourceName.csv
cp fresh.db o.db
S o.db 'DROP TABLE ts_param_weather_windSpeed'
B insert --sqlitedb o.db o > /dev/null 2>&1
fresh_pg o
sql o -c 'DROP TABLE ts_param_weather_windSpeed'
B insert --postgres "$(conn o)" o > o.out 2> o.log
is "$?" 0 "the original's unquoted files, with bad lines"
same "original" o.db o
is "$(sql o -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'ts_param_weather_windSpeed'::regclass AND attname = 'value'")" \
    "double precision" "a dropped table is made again with the masterlist's type"
is "$(sql o -c "SELECT count(*) FROM pg_indexes WHERE tablename = 'ts_param_weather_windspeed'")" 2 "with its two indexes"
is "$(sql o -c "SELECT value FROM ts_param_telescope_sourceName ORDER BY time" | tr '\n' '~')" 'tab	here~back\\slash~\.~' \
    "tabs, backslashes and a lone \\. go through COPY as they are"

# --- transform --postgres: the live path into the same rows
fresh_pg t
cp fresh.db t.db
snap=$FIXTURES/snapshots/full.json
B transform --now 1712836800 --sqlitedb t.db --snapshot "$snap" > /dev/null 2>&1
out=$(B transform --now 1712836800 --postgres "$(conn t)" --snapshot "$snap" 2>&1)
is "$?" 0 "transform --postgres stores a full snapshot"
like "$out" "dbname=t: [0-9]+ rows and 11 station status rows written, 0 skipped" "and says so"
same "transform" t.db t

# Two names that fold to one table, first met together with a table the
# database lacks: each table is judged by its own row of the catalog.
fresh_pg c
sql c -c 'DROP TABLE ts_param_weather_windSpeed'
cat > fold.json << 'JSON'
{"ALMA":{"data":{"weather_tau225":[1712836793.975,0.1],"WEATHER_tau225":[1712836794.975,0.2],"weather_windSpeed":[1712836797.433,3.5]},"clients":{"ALMA-client":{"recvTime":1712836800,"version":"1.0"}}}}
JSON
out=$(B transform --now 1712836800 --postgres "$(conn c)" --snapshot fold.json 2>&1)
is "$?" 0 "transform --postgres: two names of one table and a missing table in one snapshot"
is "$(sql c -c 'SELECT count(*) FROM ts_param_weather_tau225')" 2 "both names' points are in their one table"
is "$(sql c -c 'SELECT value FROM ts_param_weather_windspeed')" 3.5 "and the missing table is made and written"

# --- summarize --postgres: the same report, names in PostgreSQL's case
report() { sed '1d; /^other tables:/d' | tr 'A-Z' 'a-z' | LC_ALL=C sort; }
lite=$(B summarize --sqlitedb h.db)
pg=$(B summarize --postgres "$(conn h) password=s3cr3t-pw")
is "$?" 0 "summarize --postgres"
is "$(report <<< "$pg")" "$(report <<< "$lite")" "reports what summarize --sqlitedb reports"
like "$(head -n 1 <<< "$pg")" "^database: host=.*dbname=h password=\*\*\*\*\*\*\*\*$" "naming the database, its password masked"
is "$(B summarize --postgres "$(conn h)" SMA | sed -n 3p)" "stations: SMA" "and takes a station"
err=$(B summarize --sqlitedb h.db --postgres "$(conn h)" 2>&1)
is "$?" 2 "summarize with --sqlitedb and --postgres: a usage error"

# --- vlbimon.open(CONNINFO, {postgres = true}) in a script
cat > pg.lua << 'LUA'
local vlbimon = require "vlbimon"
local conninfo = ...
local db = vlbimon.open(conninfo, { postgres = true })
local function say(...)
    local t = table.pack(...)
    for i = 1, t.n do t[i] = tostring(t[i]) end
    print(table.concat(t, " ", 1, t.n))
end
say("path", db:path())
say("columns", table.concat(db:columns("TS_PARAM_weather_TAU225"), ","), #db:columns("ts_param_nosuch"))
local tables = db:tables()
say("tables", #tables, tables[1])
db:exec("CREATE TABLE t (i BIGINT, r DOUBLE PRECISION, s TEXT, b BOOLEAN)")
say("insert", db:exec("INSERT INTO t VALUES (?, ?, ?, ?), (?, ?, ?, ?)", 7, 0.1, "it's ?", true, -1, 1e300, "", false))
for row, i, r in db:rows("SELECT i, r, s, b FROM t WHERE s <> ? ORDER BY i -- a ? in a comment", "x") do
    say("row", math.type(row.i), row.i, math.type(row.r), row.r == (i == 7 and 0.1 or 1e300), row.s, tostring(row.b), i, r == row.r)
end
say("first", db:first("SELECT count(*) AS n, $$a ? b$$ AS q, '?' AS p FROM t WHERE i > ?", -5).n)
say("none", tostring(db:first("SELECT 1 FROM t WHERE i > ?", 100)))
say("nil", db:first("SELECT ?::text IS NULL AS yes", nil).yes)
local ok, err = pcall(db.transaction, db, function(d) d:exec("DELETE FROM t") error("undo") end)
say("rollback", tostring(ok), err:match("undo") or err, db:first("SELECT count(*) AS n FROM t").n)
say("count", select(2, pcall(db.exec, db, "SELECT ?", 1, 2)))
say("error", select(2, pcall(db.exec, db, "SELECT nosuch FROM t")))
db:exec("DROP TABLE t")
db:close()
local ro = vlbimon.open(conninfo, { postgres = true, readonly = true })
say("readonly", select(2, pcall(ro.exec, ro, "CREATE TABLE u (i INT)")))
say("bad", select(2, pcall(vlbimon.open, conninfo .. " password=s3cr3t-pw dbname=nosuch", { postgres = true })))
LUA
out=$(B run pg.lua "$(conn h)" 2>&1)
is "$?" 0 "a script opens PostgreSQL with vlbimon.open"
like "$out" "path host=$PG_main_SOCK port=$PG_main_PORT user=postgres dbname=h" "db:path() is the connection"
like "$out" "columns time,station,value 0" "db:columns finds a table in any case, and nothing for no table"
like "$out" "tables 568 bridge_inserted" "db:tables lists the schema's tables"
like "$out" "insert 2" "db:exec binds ? as \$1, \$2, ... and returns the rows changed"
like "$out" "row integer -1 float true  false -1 true" "db:rows: integers, numbers, booleans, text; columns also in order"
like "$out" "row integer 7 float true it's \? true 7 true" "with ? inside a string kept as it is"
like "$out" "first 2" "db:first, ? in dollar quotes and strings left alone"
like "$out" "none nil" "db:first without a row is nil"
like "$out" "nil true" "nil binds as NULL"
like "$out" "rollback false undo 2" "db:transaction rolls back on an error and re-raises it"
like "$out" "count statement takes 1 parameters, got 2" "a wrong number of values is an error"
like "$out" 'error SELECT nosuch FROM t: column "nosuch" does not exist' "a server error names the SQL"
like "$out" "readonly .*read-only transaction" "readonly = true refuses writes"
like "$out" "bad postgres .*password=\*\*\*\*\*\*\*\* dbname=nosuch:" "a failed connection names it, password masked"
unlike "$out" "s3cr3t-pw" "and never shows the password"
mkdir tf
cat > tf/evil.lua << LUA
local vlbimon = require "vlbimon"
return { name = "evil", transform = function()
    vlbimon.open("$(conn h)", { postgres = true })
end }
LUA
B transform --transformers tf --now 1712836800 --snapshot "$FIXTURES/snapshots/small.json" > tf.out 2> tf.log
like "$(cat tf.log)" "not allowed: this Lua code may not connect to a database server" \
    "a transformer may not connect to a database server"

done_testing
