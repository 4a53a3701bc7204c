#!/bin/bash
# summarize, backup, extract and add-series on a database with known
# contents: exact output, a consistent backup while a writer writes, exact
# CSV, and the schema add-series makes.
source "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
vb() { "$BRIDGE" --masterlist "$MASTERLIST" "$@"; }

T0=1681171200 # 2023-04-11T00:00:00Z
vb initdb --sqlitedb k.db
sqlite3 k.db "INSERT INTO ts_param_weather_tau225 VALUES ($T0+10, 'ALMA', 0.5, 0), ($T0+3610, 'ALMA', 1.0, 0), ($T0+20, 'SMA', 0.1, 0);
  INSERT INTO ts_param_telescope_sourceName VALUES ($T0+30, 'ALMA', 'M87, core', 0), ($T0+40, 'SMA', 'say \"hi\"', 0),
    ($T0+50, 'ALMA', 'two' || char(10) || 'lines', 0);
  INSERT INTO ts_param_bridge_points VALUES ($T0+7200, 'bridge', 3, 0);"

# summarize
out=$(vb summarize --sqlitedb k.db)
is "$?" 0 "summarize succeeds"
is "$out" "database: k.db
series: 563, 3 with rows; 7 rows
stations: ALMA, SMA, bridge
other tables: bridge_stationStatus, ts_param_schedule

bridge_ (stations: bridge)
  bridge_points: bridge 1; 1681178400 (2023-04-11T02:00:00Z) .. 1681178400 (2023-04-11T02:00:00Z)

telescope_ (stations: ALMA, SMA)
  telescope_sourceName: ALMA 2, SMA 1; 1681171230 (2023-04-11T00:00:30Z) .. 1681171250 (2023-04-11T00:00:50Z)

weather_ (stations: ALMA, SMA)
  weather_tau225: ALMA 2, SMA 1; 1681171210 (2023-04-11T00:00:10Z) .. 1681174810 (2023-04-11T01:00:10Z)

points per hour, 2023-04-10T03:00:00Z to 2023-04-11T03:00:00Z:
  ALMA   .....................█▃.  4 in all, at most 3 in an hour
  SMA    .....................█..  2 in all, at most 2 in an hour
  bridge .......................█  1 in all, at most 1 in an hour" "summarize: every line as expected"
out=$(vb summarize --sqlitedb k.db SMA)
is "$out" "database: k.db (station SMA)
series: 563, 2 with rows; 2 rows
stations: SMA
other tables: bridge_stationStatus, ts_param_schedule

telescope_ (stations: SMA)
  telescope_sourceName: SMA 1; 1681171240 (2023-04-11T00:00:40Z) .. 1681171240 (2023-04-11T00:00:40Z)

weather_ (stations: SMA)
  weather_tau225: SMA 1; 1681171220 (2023-04-11T00:00:20Z) .. 1681171220 (2023-04-11T00:00:20Z)

points per hour, 2023-04-10T01:00:00Z to 2023-04-11T01:00:00Z:
  SMA .......................█  2 in all, at most 2 in an hour" "summarize STATION counts only that station"
vb summarize k.db >/dev/null 2>&1
is "$?" 2 "summarize without --sqlitedb is a usage error"
err=$(vb summarize --sqlitedb missing.db 2>&1)
like "$err" "missing.db: no such database file" "a missing database is reported"

# extract
mkdir out
out=$(vb extract --sqlitedb k.db --outdir out sourceName)
is "$out" "out/ts_param_telescope_sourceName.csv: 3 rows" "extract names the file it wrote"
is "$(od -c out/ts_param_telescope_sourceName.csv | sed 's/  */ /g')" \
   "$(printf 'time,timestamp,station,value\r\n1681171230,20230411000030,ALMA,"M87, core"\r\n1681171240,20230411000040,SMA,"say ""hi"""\r\n1681171250,20230411000050,ALMA,"two\nlines"\r\n' | od -c | sed 's/  */ /g')" \
   "text CSV is exact: RFC 4180 quoting, CRLF"
vb extract --sqlitedb k.db --outdir out weather_tau >/dev/null
is "$(tr -d '\r' < out/ts_param_weather_tau225.csv)" "time,timestamp,station,value
1681171210,20230411000010,ALMA,0.5
1681171220,20230411000020,SMA,0.1
1681174810,20230411010010,ALMA,1.0" "REAL values keep their digits, rows are ordered by time"
ok "no other file is written" test "$(ls out | wc -l)" -eq 2
err=$(vb extract --sqlitedb k.db --outdir out "no such thing" 2>&1)
is "$?" 1 "a pattern matching nothing fails"
like "$err" "no series in k.db has \"no such thing\" in its name" "saying so"
ok "a LIKE wildcard is not a wildcard" test "$(vb extract --sqlitedb k.db --outdir out 'tau%' 2>/dev/null | wc -l)" -eq 0
# Points of one second, from a database before and after 04 (docs/schema.md).
sqlite3 v1.db < "$FIXTURES/migrations/after-03.sql"
mkdir v1 v2
vb extract --sqlitedb v1.db --outdir v1 weather_tau225 > /dev/null
vb migrate --sqlitedb v1.db --no-backup fix > /dev/null
vb extract --sqlitedb v1.db --outdir v2 weather_tau225 > /dev/null
is "$(sed -n 2,4p v2/ts_param_weather_tau225.csv | tr -d '\r')" "1681171800,20230411001000,ALMA,1.25
1681171800,20230411001000,ALMA,5.25
1681171800,20230411001000,ALMA,1.25" "points of one second and station in the order they were stored"
ok "the same file from the database before and after 04" cmp -s v1/ts_param_weather_tau225.csv v2/ts_param_weather_tau225.csv

# add-series
sum=$(sha256sum k.db)
out=$(vb add-series --sqlitedb k.db my_param real)
like "$out" "created ts_param_my_param \(REAL\)" "add-series succeeds"
is "$(sqlite3 k.db "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE tbl_name = 'ts_param_my_param' ORDER BY type DESC, name DESC")" \
   "table|ts_param_my_param|ts_param_my_param|CREATE TABLE ts_param_my_param (time INTEGER NOT NULL, station TEXT NOT NULL, value REAL, seq INTEGER NOT NULL, PRIMARY KEY (time, station, seq)) WITHOUT ROWID" \
   "the table, as initdb makes it"
sum=$(sha256sum k.db)
err=$(vb add-series --sqlitedb k.db my_param TEXT 2>&1)
like "$err" "ts_param_my_param already exists" "an existing series is refused"
err=$(vb add-series --sqlitedb k.db "x; DROP TABLE y" TEXT 2>&1)
like "$err" "is not an SQL identifier" "a name that is not an identifier is refused"
err=$(vb add-series --sqlitedb k.db ok_name "TEXT); DROP TABLE y; --" 2>&1)
like "$err" "unknown type" "an unknown type is refused"
is "$(sha256sum k.db)" "$sum" "refusals leave the database untouched"
vb add-series --sqlitedb k.db only_name >/dev/null 2>&1
is "$?" 2 "add-series without TYPE is a usage error"

# backup while a writer commits every few milliseconds (WAL, as the bridge runs)
cat > writer.lua <<'LUA'
local vlbimon = require "vlbimon"
local path, stop = ...
local db = vlbimon.open(path)
db:exec("PRAGMA journal_mode=WAL")
local n = 0
while not io.open(stop) do
    n = n + 1
    db:exec("INSERT INTO ts_param_bridge_points VALUES (?, 'bridge', ?, 0)", 1681171200 + n, n)
    local t = vlbimon.now()
    while vlbimon.now() - t < 0.005 do end
end
db:close()
LUA
vb initdb --sqlitedb live.db
sqlite3 live.db "INSERT INTO ts_param_weather_tau225 VALUES (1, 'SMA', 0.25, 0)"
vb run writer.lua live.db stop > writer.log 2>&1 &
wpid=$!
track_pid $wpid
for _ in $(seq 100); do
    [ "$(sqlite3 live.db 'SELECT count(*) FROM ts_param_bridge_points' 2>/dev/null)" -gt 20 ] 2>/dev/null && break
    sleep 0.05
done
out=$(timeout 60 "$BRIDGE" backup live.db copy.db 2>&1)
is "$?" 0 "backup succeeds while the writer writes"
like "$out" "backed up live.db to copy.db" "and says so"
touch stop
wait $wpid
is "$(sqlite3 copy.db 'PRAGMA integrity_check')" "ok" "the copy passes integrity_check"
n=$(sqlite3 copy.db "SELECT count(*) FROM ts_param_bridge_points")
ok "the copy has the writer's rows ($n)" test "$n" -gt 20
is "$(sqlite3 copy.db "SELECT time, value FROM ts_param_bridge_points ORDER BY value")" \
   "$(sqlite3 live.db "SELECT time, value FROM ts_param_bridge_points WHERE value <= $n ORDER BY value")" \
   "it equals the source as of one commit: rows 1..$n, no gaps"
dump_but_points() { sqlite3 "$1" .dump | grep -v '^INSERT INTO ts_param_bridge_points '; }
is "$(dump_but_points copy.db | sha256sum)" "$(dump_but_points live.db | sha256sum)" "and everything else equals the source"
err=$(vb backup live.db copy.db 2>&1)
like "$err" "copy.db exists; refusing to overwrite it" "backup never overwrites"
vb backup live.db >/dev/null 2>&1
is "$?" 2 "backup without DEST is a usage error"

# the -h texts
like "$(vb migrate -h)" "usage: vlbimon_bridge migrate \[-h\] \[--sqlitedb SQLITEDB\] \[--postgres CONNINFO\] \[--no-backup\]" "migrate -h"
like "$(vb summarize -h)" "usage: vlbimon_bridge summarize \[-h\] \[--sqlitedb SQLITEDB\] \[--postgres CONNINFO\] \[STATION\]" "summarize -h"
like "$(vb backup -h)" "usage: vlbimon_bridge backup \[-h\] SRC DEST" "backup -h"
like "$(vb extract -h)" "usage: vlbimon_bridge extract \[-h\] \[--sqlitedb SQLITEDB\] \[--outdir DIR\] PATTERN" "extract -h"
like "$(vb add-series -h)" "usage: vlbimon_bridge add-series \[-h\] \[--sqlitedb SQLITEDB\] NAME TYPE" "add-series -h"
vb migrate --sqlitedb k.db frobnicate >/dev/null 2>&1
is "$?" 2 "an unknown migrate command is a usage error"

done_testing
