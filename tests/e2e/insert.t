#!/bin/bash
# insert: a history tree into a database - the rows the bridge stores for the
# same period, typed as it types them, through the same transformers;
# idempotent and incremental re-runs; a database of v1 tables; points that
# share a second; bad lines, the original's unquoted files, missing tables,
# indexes, --stations, and transformers' wants().
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/history/histlib.sh"
cd "$TMP" || exit 1

B() { "$BRIDGE" --masterlist "$MASTERLIST" "$@"; }
S() { sqlite3 "$@"; }
PARAMS=(weather_tau225 weather_windSpeed if_1_systemTemp telescope_sourceName telescope_onSource
    telescope_azimuthElevation observerMessages_weather recorder_1_shouldRecord rx_3_nrIFs)
PARGS=()
for p in "${PARAMS[@]}"; do PARGS+=(--param "$p"); done
TWO=(--stations ALMA --stations SMA)

# --- command line ------------------------------------------------------------
out=$(B insert -h)
like "$(printf '%s' "$out" | tr '\n' ' ')" "usage: vlbimon_bridge insert .*--sqlitedb SQLITEDB.*\[DATADIR\]" "insert -h"
err=$(B insert data 2>&1)
is "$?" 2 "without a database: a usage error"
like "$err" "one of the arguments --sqlitedb --postgres is required" "that names the options"
is "$(B insert --sqlitedb x.db a b 2>&1 | wc -l; echo "${PIPESTATUS[0]}")" "1
2" "two data directories: a usage error in one line"
err=$(B insert --sqlitedb missing.db data 2>&1)
is "$?" 1 "a missing database is a runtime error"
like "$err" "database missing.db does not exist" "naming it"
B initdb --sqlitedb fresh.db
cp fresh.db nodir.db
err=$(B insert --sqlitedb nodir.db no/such/dir 2>&1)
is "$?" 1 "a missing data directory is a runtime error"
like "$err" "no/such/dir: No such file or directory" "naming it"

# --- the bridge and history over the same period ------------------------------
start_sim s --speed 120
cp fresh.db live.db
"$BRIDGE" --server "$URL_s" --secrets "$USERS" --masterlist "$MASTERLIST" --datadir live.data \
    "${TWO[@]}" bridge --sqlitedb live.db --dt 0.25 2> live.log &
bpid=$!
track_pid $bpid
# Until the bridge has stored enough of a slow series to compare; a loaded
# machine polls less often, so the wait is for rows, not for a time.
for _ in $(seq 600); do
    [ "$(S live.db 'SELECT count(*) FROM ts_param_bridge_points' 2> /dev/null || echo 0)" -ge 8 ] &&
        [ "$(S live.db 'SELECT count(*) FROM ts_param_weather_tau225' 2> /dev/null || echo 0)" -gt 4 ] && break
    sleep 0.1
done
touch live.data/PLEASE-EXIT
wait $bpid
is "$?" 0 "the bridge ran for a few simulated minutes"
# History reaches past the bridge's last row, however long the wait above took.
last=$(S live.db 'SELECT CAST(max(time) AS INTEGER) FROM ts_param_weather_tau225')
H0=$((T0 - 1200))
HE=$((last > T0 + 570 ? last + 30 : T0 + 600))
H1=$((HE + 1200))
"$BRIDGE" --server "$URL_s" --secrets "$USERS" --masterlist "$MASTERLIST" --datadir d "${TWO[@]}" \
    history --start "$H0" --end "$HE" --private "${PARGS[@]}" --sleep 0 2> h.log
is "$?" 0 "history of the same period (and more)"

cp fresh.db h.db
out=$(B insert --sqlitedb h.db d 2> i.log)
is "$?" 0 "insert the tree"
like "$out" "^h.db: [0-9]+ rows written \([0-9]+ straight from [0-9]+ file\(s\), [0-9]+ through the transformers" \
    "and say what went where"
good=0
for s in ALMA SMA; do
    for p in "${PARAMS[@]}"; do
        n=$(csv_points "d/$s/$p.csv" | wc -l)
        got=$(S h.db "SELECT count(*) FROM ts_param_$p WHERE station = '$s'")
        [ "$n" == "$got" ] || { diag "$s $p: $got rows for $n points"; good=1; }
    done
done
is "$good" 0 "every point of every file is a row"
is "$(S h.db "SELECT DISTINCT typeof(value) FROM ts_param_weather_tau225")" "real" "float: REAL"
is "$(S h.db "SELECT group_concat(DISTINCT value) FROM (SELECT value FROM ts_param_telescope_onSource ORDER BY value)")" "0,1" \
    "boolean: 0 and 1, from true/false and True/False alike"
is "$(S h.db "SELECT DISTINCT typeof(value) FROM ts_param_rx_3_nrIFs")" "integer" "int: INTEGER"
is "$(S h.db "SELECT count(*) FROM ts_param_telescope_sourceName WHERE value = ' '")" \
    "$(grep -c '^[0-9]*, $' d/SMA/telescope_sourceName.csv)" "text as it was, a lone space included"
ok "line breaks in text survive" test "$(S h.db "SELECT count(*) FROM ts_param_observerMessages_weather WHERE value LIKE '%' || char(10) || '%'")" -gt 0
is "$(S h.db 'SELECT count(*) FROM ts_param_telescope_azimuthElevation_az')" \
    "$(S h.db 'SELECT count(*) FROM ts_param_telescope_azimuthElevation')" "coordinates are split, through the transformers"
ok "events are made" test "$(S h.db 'SELECT count(*) FROM ts_param_bridge_events')" -gt 0
is "$(S h.db "SELECT station, onsource <> '', tau225 > 0 FROM bridge_stationStatus WHERE time > 0 ORDER BY station" | tr '\n' ' ')" \
    "ALMA|1|1 SMA|1|1 " "and each station's status row"
is "$(S h.db "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name" | md5sum)" \
    "$(S fresh.db "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name" | md5sum)" \
    "the indexes taken off for the load are all back, as initdb made them"

# Every row the bridge stored of these series is in the inserted database, typed alike.
missing=0
for p in "${PARAMS[@]}" telescope_azimuthElevation_az telescope_azimuthElevation_el; do
    n=$(S h.db "ATTACH 'live.db' AS live;
        SELECT count(*) FROM (SELECT time, station, value, typeof(value) FROM live.ts_param_$p
        EXCEPT SELECT time, station, value, typeof(value) FROM main.ts_param_$p)")
    [ "$n" == 0 ] || { diag "$p: $n bridge rows missing"; missing=1; }
done
is "$missing" 0 "every row the bridge stored for these series, the same in the inserted database"
ok "(and the bridge did store some)" test "$(S live.db 'SELECT count(*) FROM ts_param_weather_tau225')" -gt 4

# --- idempotent, and incremental as the tree grows -------------------------------
count_all() {
    local p n=0
    for p in "${PARAMS[@]}" telescope_azimuthElevation_az bridge_events; do
        n=$((n + $(S "$1" "SELECT count(*) FROM ts_param_$p")))
    done
    echo $n
}
before=$(count_all h.db)
out=$(B insert --sqlitedb h.db d 2>&1)
is "$?" 0 "inserting the same tree again"
like "$out" "h.db: 0 rows written" "writes nothing"
is "$(count_all h.db)" "$before" "no row is doubled"
"$BRIDGE" --server "$URL_s" --secrets "$USERS" --masterlist "$MASTERLIST" --datadir d "${TWO[@]}" \
    history --end "$H1" --private "${PARGS[@]}" --sleep 0 2> /dev/null
B insert --sqlitedb h.db d > /dev/null 2>&1
cp fresh.db whole.db
B insert --sqlitedb whole.db d > /dev/null 2>&1
diff=0
for p in "${PARAMS[@]}" telescope_azimuthElevation_el; do
    n=$(S h.db "ATTACH 'whole.db' AS w;
        SELECT (SELECT count(*) FROM (SELECT time, station, value FROM ts_param_$p
                EXCEPT SELECT time, station, value FROM w.ts_param_$p))
            + (SELECT count(*) FROM (SELECT time, station, value FROM w.ts_param_$p
                EXCEPT SELECT time, station, value FROM ts_param_$p))
            + (SELECT count(*) FROM ts_param_$p) - (SELECT count(*) FROM w.ts_param_$p)")
    [ "$n" == 0 ] || { diag "$p differs by $n"; diff=1; }
done
is "$diff" 0 "after history resumed, a second insert adds exactly the new rows"

# --- a database not migrated to v2 yet: its v1 tables, their indexes back ---------
S v1.db < "$FIXTURES/migrations/after-03.sql"
S v1.db "SELECT 'DELETE FROM ' || name || ';' FROM sqlite_schema WHERE type = 'table'
    AND name LIKE 'ts\_param\_%' ESCAPE '\'" | S v1.db
S v1.db "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name" > v1.indexes
B insert --sqlitedb v1.db d > /dev/null 2>&1
is "$?" 0 "insert into a database of v1 tables"
diff=0
for p in "${PARAMS[@]}" telescope_azimuthElevation_el; do
    n=$(S h.db "ATTACH 'v1.db' AS v;
        SELECT (SELECT count(*) FROM (SELECT time, station, value, typeof(value) FROM ts_param_$p
                EXCEPT SELECT time, station, value, typeof(value) FROM v.ts_param_$p))
            + (SELECT count(*) FROM ts_param_$p) - (SELECT count(*) FROM v.ts_param_$p)")
    [ "$n" == 0 ] || { diag "$p differs by $n"; diff=1; }
done
is "$diff" 0 "the same rows as in the v2 database"
is "$(S v1.db "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")" "$(cat v1.indexes)" \
    "and the v1 indexes taken off for the load are all back"
is "$(S v1.db "SELECT count(*) FROM pragma_table_info('ts_param_weather_tau225')")" 3 "the tables stay v1"

# --- points of one second and station: all kept, also beside rows already there ---
mkdir -p dup/SMA dup/KP
printf '1712836000,1.5
1712836000,1.5
1712836000,2.5
1712836010,3
' > dup/SMA/maser_acDc1.csv
printf '1712836000,4
1712836000,4
' > dup/KP/maser_acDc1.csv
printf '1712836000,0.5
1712836000,0.5
' > dup/SMA/weather_tau225.csv
cp fresh.db dup.db
B insert --sqlitedb dup.db dup > /dev/null 2>&1
is "$?" 0 "insert a tree with two points in one second"
is "$(S dup.db "SELECT group_concat(station || ' ' || time || ' ' || value || ' ' || seq, ', ')
    FROM (SELECT * FROM ts_param_maser_acDc1 ORDER BY time, station, seq)")" \
    "KP 1712836000 4.0 0, KP 1712836000 4.0 1, SMA 1712836000 1.5 0, SMA 1712836000 1.5 1, SMA 1712836000 2.5 2, SMA 1712836010 3.0 0" \
    "straight into the table: every point, numbered in the file's order"
is "$(S dup.db "SELECT group_concat(seq) FROM ts_param_weather_tau225")" "0,1" "through the transformers too"
S dup.db "DELETE FROM bridge_inserted"
B insert --sqlitedb dup.db dup > /dev/null 2>&1
is "$?" 0 "the same tree again, as if never inserted"
is "$(S dup.db "SELECT count(*), max(seq) FROM ts_param_maser_acDc1 WHERE time = 1712836000 AND station = 'SMA'")" "6|5" \
    "every point kept beside those already there"
is "$(S dup.db "SELECT count(*) FROM ts_param_maser_acDc1")" 12 "and every other"

# --- --stations ----------------------------------------------------------------
cp fresh.db sma.db
B --stations SMA insert --sqlitedb sma.db d > /dev/null 2>&1
is "$(S sma.db 'SELECT DISTINCT station FROM ts_param_weather_tau225')" "SMA" "--stations: only those stations"

# --- the original's files, bad lines, partial lines, missing tables ---------------
mkdir -p o/KP o/SMA o/bridge
printf '1712836000,clear, windy\n1712836100,"rain, ""heavy""\nlater"\nnot a line\n1712836200,"stray quote\n1712836300,fine\n' \
    > o/KP/observerMessages_weather.csv
printf '1712836000,3.5\n1712836010,abc\n1712836020,4.5\n1712836030,5' > o/KP/weather_windSpeed.csv
seq -f '17128%05g,2.5' 0 399 > o/KP/foo_bar.csv
printf '1712836000,1\n' > o/KP/bad-name.csv
printf '1712836000,1\n' > o/bridge/bridge_points.csv
cp fresh.db o.db
S o.db 'DROP TABLE ts_param_weather_windSpeed'
out=$(B insert --sqlitedb o.db o 2> o.log)
is "$?" 0 "a tree in the original's unquoted format, with bad lines"
is "$(S o.db 'SELECT time, value FROM ts_param_observerMessages_weather ORDER BY time' | tr '\n' '~')" \
    "1712836000|clear, windy~1712836100|rain, \"heavy\"~later~1712836300|fine~" \
    "unquoted commas and quoted line breaks both read back"
like "$(cat o.log)" "o/KP/observerMessages_weather.csv:4: not a time,value record; skipped" "a bad line is reported as file:line"
like "$(cat o.log)" "o/KP/observerMessages_weather.csv:5: unterminated quoted field; skipped" "a stray quote costs its line only"
like "$(cat o.log)" "o/KP/weather_windSpeed.csv:4: the last line has no line end" "a last line without its end waits"
is "$(S o.db 'SELECT group_concat(value) FROM ts_param_weather_windSpeed')" "3.5,4.5" \
    "a value that is not a number is skipped from a REAL series"
like "$(S o.db "SELECT sql FROM sqlite_master WHERE name = 'ts_param_weather_windSpeed'")" "value REAL" \
    "a dropped table is made again with the masterlist's type"
like "$(S o.db "SELECT sql FROM sqlite_master WHERE name = 'ts_param_weather_windSpeed'")" \
    "seq INTEGER NOT NULL, PRIMARY KEY \(time, station, seq\)\) WITHOUT ROWID$" "in the v2 layout"
like "$(S o.db "SELECT sql FROM sqlite_master WHERE name = 'ts_param_foo_bar'")" "value REAL" \
    "a parameter the masterlist lacks gets a table that fits its values"
like "$(cat o.log)" "bad-name.csv: 'bad-name' is not an SQL identifier.*skipped" "a file name that is not an identifier is skipped"
like "$(cat o.log)" "station named 'bridge'" "and so is a station called bridge"
printf '\n' >> o/KP/weather_windSpeed.csv
B insert --sqlitedb o.db o > /dev/null 2>&1
is "$(S o.db 'SELECT group_concat(value) FROM ts_param_weather_windSpeed')" "3.5,4.5,5.0" \
    "once the line is complete, the next insert takes it, and only it"
sed -i '$ s/,2.5$/,9.5/' o/KP/foo_bar.csv
err=$(B insert --sqlitedb o.db o 2>&1)
is "$?" 1 "a file rewritten since it was inserted is an error"
like "$err" "o/KP/foo_bar.csv changed since it was inserted" "naming the file"

# --- transformers: without wants they see every point; with it only theirs --------
T=$TMP/transformers
mkdir -p "$T"
cp "$ROOT"/transformers/*.lua "$T"/
cat > "$T/40-calm.lua" << 'LUA'
return { name = "calm", transform = function(points)
    for i = 1, points.n do
        if points.param[i] == "weather_windSpeed" and points.value[i] < 5 then points:drop(i) end
    end
end }
LUA
cat > "$T/50-avg.lua" << 'LUA'
local M = { name = "avg" }
function M.wants(param) return param == "weather_windSpeed" end
function M.transform(points)
    for i = 1, points.n do
        if points.param[i] == "weather_windSpeed" then
            points:add(points.station[i], "bridge_avgWindSpeed", points.time[i], points.value[i])
        end
    end
end
return M
LUA
cp fresh.db t.db
B insert --transformers "$T" --sqlitedb t.db d > /dev/null 2>&1
is "$(S t.db 'SELECT count(*) FROM ts_param_weather_windSpeed WHERE value < 5')" 0 \
    "a transformer without wants() sees every point (and numbers as numbers)"
ok "(and it left some)" test "$(S t.db 'SELECT count(*) FROM ts_param_weather_windSpeed')" -gt 0
is "$(S t.db 'SELECT count(*) FROM ts_param_bridge_avgWindSpeed')" \
    "$(S t.db 'SELECT count(*) FROM ts_param_weather_windSpeed')" "one with wants() gets the points it asks for"

done_testing
