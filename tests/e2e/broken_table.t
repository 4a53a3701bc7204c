#!/bin/bash
# Series tables nobody can insert into as docs/schema.md says (here one lacks
# its station column, one its value column). The live bridge logs it once as an error, skips its
# values and goes on storing every other series: one broken table must not
# hold back the rest. insert and transform --sqlitedb, loads that are all or
# nothing, fail naming the table and store nothing. Before, the failed
# insert left the Lua stack one value short and all three aborted with a
# Lua panic.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1

BROKEN="table ts_param_weather_tau225 has no column named station"
"$BRIDGE" initdb --sqlitedb template.db
sqlite3 template.db "DROP TABLE ts_param_weather_tau225;
    CREATE TABLE ts_param_weather_tau225 (time INTEGER NOT NULL, value REAL);
    DROP TABLE ts_param_if_1_systemTemp;
    CREATE TABLE ts_param_if_1_systemTemp (time INTEGER NOT NULL, station TEXT NOT NULL)"

# --- the live bridge ---------------------------------------------------------
start_sim live --speed 120 --seed 3
cp template.db live.db
start_bridge live "$URL_live" live.db --dt 0.2
wait_answers live 4
touch live.data/PLEASE-EXIT
ok "the bridge runs on and stops on PLEASE-EXIT" wait_exit "$BPID" 10
is "$WAIT_RC" 0 "exit status 0"
log=$(cat live.log)
like "$log" "error: ts_param_weather_tau225 cannot be written \($BROKEN\); its points are skipped" \
    "the broken table is named, with SQLite's reason, as an error"
like "$log" "error: ts_param_if_1_systemTemp cannot be written \(table ts_param_if_1_systemTemp has no column named value\)" \
    "so is one without its value column (not created again on top of itself)"
is "$(grep -c 'cannot be written' live.log)" 2 "each once, not once per snapshot"
unlike "$log" "PANIC|kept in memory" "no crash, and no answer held back for it"
ok "the other series are stored" \
    test "$(sqlite3 live.db 'SELECT count(*) FROM ts_param_weather_windSpeed')" -gt 0
is "$(sqlite3 live.db 'SELECT (SELECT count(*) FROM ts_param_weather_tau225) +
    (SELECT count(*) FROM ts_param_if_1_systemTemp)')" 0 "nothing goes into the broken tables"
like "$(grep 'info: snapshot:' live.log | tail -n 1)" ", [1-9][0-9]* skipped;" \
    "each snapshot's summary counts its values as skipped"

# --- insert and transform: all or nothing --------------------------------------
mkdir -p tree/ALMA
printf '1712836800,0.5\n1712836810,0.25\n' > tree/ALMA/weather_tau225.csv
printf '1712836800,3\n' > tree/ALMA/weather_windSpeed.csv
cp template.db ins.db
out=$("$BRIDGE" --datadir tree insert --sqlitedb ins.db 2>&1)
is "$?" 1 "insert into a database with a broken table fails"
like "$out" "error: insert: ts_param_weather_tau225: $BROKEN" "naming the table and why"
is "$(sqlite3 ins.db 'SELECT count(*) FROM ts_param_weather_windSpeed')" 0 \
    "and stores nothing, not even the series that could be written"
"$BRIDGE" initdb --sqlitedb novalue.db
sqlite3 novalue.db "DROP TABLE ts_param_weather_windSpeed;
    CREATE TABLE ts_param_weather_windSpeed (time INTEGER NOT NULL, station TEXT NOT NULL)"
out=$("$BRIDGE" --datadir tree insert --sqlitedb novalue.db 2>&1)
is "$?" 1 "insert into a table without its value column fails"
is "$out" "$(printf '%s' "$out" | head -n 1)" "with a one-line error"
like "$out" "error: insert: ts_param_weather_windSpeed has no value column \(docs/schema.md\); repair the table" \
    "that says so, rather than trying to create the table again"
cp template.db tr.db
out=$("$BRIDGE" transform --snapshot "$FIXTURES/snapshots/small.json" --sqlitedb tr.db 2>&1)
is "$?" 1 "transform --sqlitedb fails the same way"
like "$out" "error: transform: ts_param_weather_tau225: $BROKEN" "naming the table"
unlike "$out" "PANIC" "without a crash"
done_testing
