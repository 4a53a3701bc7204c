#!/bin/bash
# initdb creates the docs/schema.md schema in WAL mode, refuses to overwrite,
# and its stdout SQL makes the same database through the sqlite3 CLI.
source "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

"$BRIDGE" --masterlist "$MASTERLIST" initdb --sqlitedb x.db
ok "initdb --sqlitedb succeeds" test $? -eq 0
is "$(sqlite3 x.db "SELECT count(*) FROM sqlite_schema WHERE type='table'")" 565 "565 tables for the fixture catalogue"
is "$(sqlite3 x.db "SELECT count(*) FROM sqlite_schema WHERE type='index' AND sql IS NOT NULL")" 0 "no index: each series is clustered on its key"
is "$(sqlite3 x.db "SELECT sql FROM sqlite_schema WHERE name='ts_param_weather_tau225'")" \
   "CREATE TABLE ts_param_weather_tau225 (time INTEGER NOT NULL, station TEXT NOT NULL, value REAL, seq INTEGER NOT NULL, PRIMARY KEY (time, station, seq)) WITHOUT ROWID" \
   "a float series, in the v2 layout"
like "$(sqlite3 x.db .schema)" "CREATE TABLE ts_param_telescope_onSource \(time INTEGER NOT NULL, station TEXT NOT NULL, value BOOLEAN, seq INTEGER NOT NULL, PRIMARY KEY \(time, station, seq\)\) WITHOUT ROWID;" ".schema shows the key"
is "$(sqlite3 x.db 'PRAGMA journal_mode')" "wal" "in WAL mode, so that a reader never holds up the bridge's start"
ok "with no -wal or -shm file left behind" test ! -e x.db-wal -a ! -e x.db-shm

before=$(sha256sum x.db)
err=$("$BRIDGE" --masterlist "$MASTERLIST" initdb --sqlitedb x.db 2>&1)
is "$?" 1 "a second initdb fails"
like "$err" "x.db already exists; refusing to overwrite it" "with a clear message"
is "$(sha256sum x.db)" "$before" "and leaves the file untouched"

"$BRIDGE" --masterlist "$MASTERLIST" initdb > schema.sql
ok "initdb without --sqlitedb prints SQL" test -s schema.sql
sqlite3 y.db < schema.sql
ok "sqlite3 accepts the SQL" test $? -eq 0
dump() { sqlite3 "$1" "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name"; }
is "$(dump y.db | sha256sum)" "$(dump x.db | sha256sum)" "the stdout SQL makes the same schema"
is "$(sqlite3 y.db 'PRAGMA journal_mode')" "wal" "in WAL mode too"

printf '{"default": {"ok_param": {"datatype": "float"}, "bad name; DROP TABLE x": {"datatype": "int"}}, "SMA": {}}' > bad.json
err=$("$BRIDGE" --masterlist bad.json initdb --sqlitedb bad.db 2>&1)
is "$?" 1 "a non-identifier parameter fails initdb"
like "$err" "parameter name 'bad name; DROP TABLE x' is not an SQL identifier" "naming the parameter"
ok "and creates no file" test ! -e bad.db

printf '{"default": ' > trunc.json
err=$("$BRIDGE" --masterlist trunc.json initdb 2>&1)
is "$?" 1 "a malformed masterlist fails"
like "$err" "trunc.json: malformed JSON" "with a message naming the file"

mkdir ro && chmod 555 ro
if [ "$(id -u)" -ne 0 ]; then
    err=$("$BRIDGE" --masterlist "$MASTERLIST" initdb --sqlitedb ro/z.db 2>&1)
    like "$err" "ro/z.db: cannot create" "an unwritable directory is reported"
else
    ok "unwritable directories cannot be tested as root" true
fi

done_testing
