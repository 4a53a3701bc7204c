#!/bin/bash
# transform: the pipeline offline on snapshot files and history CSV - rows,
# status, bug fixes, isolation, start-up errors and --sqlitedb.
source "$(dirname "$0")/lib.sh"
SNAP=$FIXTURES/snapshots
B() { "$BRIDGE" --masterlist "$MASTERLIST" "$@"; }

out=$(B transform --now 1712836800 --snapshot "$SNAP/small.json" 2>"$TMP/err")
ok "transform a small snapshot" test $? -eq 0
expected='station,param,time,value
bridge,bridge_bridgeLag,1712836800,0
SMA,bridge_events,1712836790,SMA source name is Sgr A*
SMA,bridge_events,1712836791,SMA is on source
SMA,bridge_events,1712836792,"SMA weather is windy, ""cold""
snow later"
LMT,bridge_points,1712836800,2
SMA,bridge_points,1712836800,6
bridge,bridge_points,1712836800,8
bridge,bridge_totalLag,1712836800,-287163200
SMA,observerMessages_weather,1712836792,"windy, ""cold""
snow later"
SMA,recorder_2_shouldRecord,1712836792,true
SMA,telescope_azimuthElevation,1712836791,123.45678+45.67890
SMA,telescope_azimuthElevation_az,1712836791,123.45678
SMA,telescope_azimuthElevation_el,1712836791,45.6789
SMA,telescope_onSource,1712836791,True
LMT,telescope_raDecTargetJ2000,1712836780,garbage
SMA,telescope_sourceName,1712836790,Sgr A*
SMA,weather_tau225,1712836793,0.125
LMT,weather_tau225,2000000000,0.5

time,station,source,onsource,mode,recording,tsys,tau225,scan
0,LMT,,,,....,0,0.5,
1712836793,SMA,Sgr A*,on,,.2..,0,0.125,'
is "$out" "$expected" "rows by table, time, station; RFC 4180 quoting; then the status rows"
err=$(cat "$TMP/err")
like "$err" "station named 'bridge'" "a station named bridge cannot forge bridge metrics"
like "$err" "1 point\(s\) dropped: parameter name is not an SQL identifier" "a bad name is dropped and logged"
like "$err" "1 point\(s\) dropped: time is not a finite number" "a bad time is dropped and logged"
like "$err" "LMT sent time 2033-05-18T03:33:20Z, more than an hour ahead" "the far-future guard is logged"
like "$err" "could not be split, e.g. LMT telescope_raDecTargetJ2000" "an unsplittable coordinate is reported"

out=$(B transform --now 1712836800 --snapshot "$SNAP/small.json" "$SNAP/small.json" 2>/dev/null)
is "$(printf '%s\n' "$out" | grep -c bridge_events)" 3 "a second identical snapshot makes no events (dedup)"

full=$(B transform --now 1712836800 --snapshot "$SNAP/full.json" 2>/dev/null)
like "$full" "bridge,bridge_points,1712836800,5754" "the full fixture snapshot: 5754 points, 11 stations"
is "$(printf '%s\n' "$full" | sed -n '/^time,station/,$p' | wc -l)" 12 "and a status row for each of its 11 stations"

# Isolation: a raising, a looping and a garbage-returning transformer.
T=$TMP/transformers
mkdir -p "$T"
cp "$ROOT"/transformers/*.lua "$T"/
cat >"$T/05-raise.lua" <<'LUA'
return { name = "raise", transform = function(points) points:add("SMA", "bridge_events", 1, "x"); error("kaput") end }
LUA
cat >"$T/06-loop.lua" <<'LUA'
return { name = "loop", transform = function() while true do end end }
LUA
cat >"$T/07-garbage.lua" <<'LUA'
return { name = "garbage", transform = function() return 42 end }
LUA
out=$(B transform --transformers "$T" --now 1712836800 --snapshot "$SNAP/small.json" 2>"$TMP/err")
ok "a snapshot survives broken transformers" test $? -eq 0
is "$out" "$expected" "and the output is exactly that of the standard set"
err=$(cat "$TMP/err")
like "$err" "transformer raise \(.*05-raise.lua\) failed.*05-raise.lua:1: kaput" "a raise is logged with name and error"
like "$err" "transformer loop \(.*06-loop.lua\) failed.*instruction limit" "an endless loop is stopped"
like "$err" "transformer garbage \(.*07-garbage.lua\) failed.*returned a number" "a garbage return is logged"

echo 'return { name = "broken", transform = function( end }' >"$T/08-broken.lua"
err=$(B transform --transformers "$T" --snapshot "$SNAP/small.json" 2>&1 >/dev/null)
is "$?" 1 "a transformer that fails to load stops start-up"
like "$err" "cannot load transformer .*08-broken.lua" "naming the file"
rm "$T/08-broken.lua"

echo '[1, 2]' >"$TMP/array.json"
err=$(B transform --snapshot "$TMP/array.json" 2>&1 >/dev/null)
like "$err" "array.json: not a snapshot" "JSON that is not a snapshot is an error"

quiet() { "$@" 2>/dev/null; }
fails "no input is a usage error" quiet B transform
is "$(B transform --csv "$TMP" --snapshot x.json 2>&1; echo $?)" \
    "vlbimon_bridge transform: error: give snapshot files or --csv DATADIR (one of them)
2" "snapshots and --csv together are a usage error"

# History CSV: the original's unquoted files and RFC 4180 ones.
D=$TMP/data
mkdir -p "$D/SMA" "$D/KP"
printf '1712836000,True\n1712836100,True\n1712836200,False\n' >"$D/SMA/telescope_onSource.csv"
printf '1712836000,clear, windy\n1712836100,"rain, ""heavy""\nlater"\nnot a line\n' >"$D/KP/observerMessages_weather.csv"
printf '{"last_seen": 1}\n' >"$D/KP/metadata.json"
out=$(B transform --now 1712836800 --csv "$D" 2>"$TMP/err")
expected='station,param,time,value
KP,bridge_events,1712836000,"KP weather is clear, windy"
KP,bridge_events,1712836100,"KP weather is rain, ""heavy""
later"
KP,observerMessages_weather,1712836000,"clear, windy"
KP,observerMessages_weather,1712836100,"rain, ""heavy""
later"
SMA,bridge_events,1712836000,SMA is on source
SMA,bridge_events,1712836200,SMA is off source
SMA,telescope_onSource,1712836000,True
SMA,telescope_onSource,1712836100,True
SMA,telescope_onSource,1712836200,False

time,station,source,onsource,mode,recording,tsys,tau225,scan
1712836200,SMA,,off,,....,0,0,'
is "$out" "$expected" "--csv: unquoted and quoted history, events deduped, no bridge metrics"
like "$(cat "$TMP/err")" "1 line\(s\) without a time,value pair skipped \(first: line 4\)" "a broken line is reported"

# --sqlitedb: rows and status go in; status is restored from the database.
B initdb --sqlitedb "$TMP/t.db"
out=$(B transform --now 1712836800 --snapshot "$SNAP/small.json" --sqlitedb "$TMP/t.db" 2>/dev/null)
like "$out" "t.db: 18 rows and 2 station status rows written, 0 skipped" "--sqlitedb reports what it wrote"
is "$(sqlite3 "$TMP/t.db" "SELECT value FROM ts_param_telescope_azimuthElevation_el")" "45.6789" "split rows are stored"
is "$(sqlite3 "$TMP/t.db" "SELECT time, recording FROM bridge_stationStatus WHERE station = 'SMA'")" "1712836793|.2.." "status rows are stored"
sqlite3 "$TMP/t.db" "UPDATE bridge_stationStatus SET recording = '1...' WHERE station = 'SMA'"
echo '{"SMA": {"data": {"recorder_4_shouldRecord": [1712836795, true]}}}' >"$TMP/rec.json"
B transform --now 1712836800 --snapshot "$TMP/rec.json" --sqlitedb "$TMP/t.db" >/dev/null 2>&1
is "$(sqlite3 "$TMP/t.db" "SELECT recording FROM bridge_stationStatus WHERE station = 'SMA'")" "1..4" "status is restored from the database first"

done_testing
