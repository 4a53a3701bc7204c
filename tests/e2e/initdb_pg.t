#!/bin/bash
# initdb --postgres on a real server: the tables, columns and indexes of the
# SQLite schema with the PostgreSQL types of docs/schema.md, the schema
# version recorded, all in one transaction (a failure leaves nothing, a
# second initdb is refused); the printed SQL makes the same schema; the
# password of a connection string never shows; migrate --postgres reports
# the version.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pglib.sh"
cd "$TMP" || exit 1

pg_start main
for db in vb printed tx pw noperm env; do pg_psql main -c "CREATE DATABASE $db"; done
conn() { echo "host=$PG_main_SOCK port=$PG_main_PORT user=postgres dbname=$1"; }
sql() { local db=$1; shift; "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$(conn "$db")" -At "$@"; }
init() { "$BRIDGE" -v --masterlist "$MASTERLIST" initdb "$@"; }

# --- command line
err=$(init --sqlitedb x.db --postgres "$(conn vb)" 2>&1)
is "$?" 2 "--sqlitedb and --postgres together: a usage error"
like "$err" "argument --postgres: not allowed with argument --sqlitedb" "saying so"
ok "and nothing is created" test ! -e x.db
like "$(init -h)" "--postgres CONNINFO" "initdb -h shows --postgres"

# --- a fresh schema
out=$(init --postgres "$(conn vb)" 2>&1)
is "$?" 0 "initdb --postgres succeeds"
like "$out" "created 568 tables in postgres host=$PG_main_SOCK .*dbname=vb from $MASTERLIST" \
    "and says where: 565 tables of the contract and three for bookkeeping"
is "$(sql vb -c "SELECT version FROM bridge_schema")" 05-backfill-series "the schema version is recorded"
applied=$(sql vb -c "SELECT applied FROM bridge_schema")
now=$(date +%s)
ok "with the time it was reached ($applied)" test "$applied" -le "$now" -a "$applied" -gt $((now - 600))
is "$(sql vb -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx\_%'")" \
    1126 "1,126 indexes, two per series"

# The same tables and columns as SQLite's, names lower-cased, types mapped,
# but SQLite's seq; a time and a station index on every series where SQLite
# clusters it on its key (docs/schema.md, "PostgreSQL").
init --sqlitedb lite.db 2> /dev/null
sqlite3 lite.db "SELECT lower(m.name), p.cid + 1, p.name, p.type, p.\"notnull\" OR p.pk
    FROM sqlite_schema m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.name <> 'seq'" |
    sed 's/|REAL|/|double precision|/; s/|INTEGER|/|bigint|/; s/|BOOLEAN|/|smallint|/; s/|TEXT|/|text|/' |
    LC_ALL=C sort > lite.columns
sql vb -c "SELECT table_name, ordinal_position, column_name, data_type, CASE is_nullable WHEN 'NO' THEN 1 ELSE 0 END
    FROM information_schema.columns WHERE table_schema = 'public'
    AND table_name NOT IN ('bridge_state', 'bridge_schema', 'bridge_inserted')" | LC_ALL=C sort > pg.columns
is "$(wc -l < pg.columns)" "$(wc -l < lite.columns)" "as many columns as on SQLite ($(wc -l < lite.columns))"
is "$(diff lite.columns pg.columns)" "" "the same tables and columns, with the PostgreSQL types"
sqlite3 lite.db "SELECT 'idx_' || lower(m.name) || '_' || c.name, lower(m.name), c.name
    FROM sqlite_schema m, (SELECT 'time' AS name UNION ALL SELECT 'station') c
    WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'seq')" |
    LC_ALL=C sort > lite.indexes
sql vb -c "SELECT i.relname, t.relname, a.attname FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
    WHERE t.relnamespace = 'public'::regnamespace AND NOT x.indisprimary" | LC_ALL=C sort > pg.indexes
is "$(diff lite.indexes pg.indexes)" "" "an index on time and one on station for every series"
is "$(sql vb -c "SELECT a.attname FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid
    AND a.attnum = x.indkey[0] WHERE x.indisprimary AND x.indrelid = 'bridge_stationStatus'::regclass")" \
    station "bridge_stationStatus keeps its primary key on station"
is "$(sql vb -c "SELECT column_name || ' ' || data_type FROM information_schema.columns
    WHERE table_name = 'bridge_state' ORDER BY ordinal_position" | tr '\n' ,)" "key text,value text," \
    "bridge_state is there for the cursor"

# What the dashboards rely on: unquoted names in any case, integer division, 0/1 booleans.
sql vb -c "INSERT INTO ts_param_telescope_onSource VALUES (1700000000, 'SMA', 1), (1700000001, 'SMA', 0)"
is "$(sql vb -c "SELECT count(*) FROM TS_PARAM_telescope_ONSOURCE WHERE time >= 1700000000999 / 1000")" 2 \
    "a name as on SQLite finds its table in any case, and ms / 1000 is integer division"
like "$(sql vb -c 'SELECT count(*) FROM "ts_param_telescope_onSource"' 2>&1)" "does not exist" \
    "quoted with its capitals it does not (PostgreSQL folds unquoted names)"
is "$(sql vb -c "SELECT sum(value), count(*) FILTER (WHERE value = 1) FROM ts_param_telescope_onSource")" "1|1" \
    "a boolean series is 0/1 as on SQLite: sums and = 1 work"
sql vb -c "INSERT INTO ts_param_weather_tau225 VALUES (1, 'SMA', 0.1234567890123456789)"
is "$(sql vb -c "SELECT value = 0.1234567890123456789::double precision FROM ts_param_weather_tau225")" t \
    "REAL is a double, as in SQLite"
sql vb -c "DELETE FROM ts_param_telescope_onSource; DELETE FROM ts_param_weather_tau225"

# --- a second initdb is refused and changes nothing
# pg_dump's \restrict lines hold a new random key each time.
dump() { "$PG_BIN/pg_dump" "$@" | grep -Ev '^(--|\\(un)?restrict )'; }
before=$(dump -d "$(conn vb)" | sha256sum)
err=$(init --postgres "$(conn vb)" 2>&1)
is "$?" 1 "a second initdb fails"
like "$err" "error: initdb: postgres host=.*dbname=vb: schema public already holds 568 vlbimon tables \(bridge_inserted, ...\); refusing to change it" \
    "saying what it found"
is "$(printf '%s\n' "$err" | wc -l)" 1 "in one line"
is "$(dump -d "$(conn vb)" | sha256sum)" "$before" "the database is untouched"

# --- one transaction: a failure near the end leaves nothing behind
sql tx -c "CREATE TABLE other (x int); CREATE INDEX idx_ts_param_bridge_windgust_time ON other (x)"
err=$(init --postgres "$(conn tx)" 2>&1)
is "$?" 1 "initdb fails when the last series' index name is taken"
like "$err" 'relation "idx_ts_param_bridge_windgust_time" already exists' "with the server's reason"
is "$(sql tx -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 1 \
    "and none of the tables it made before stays"

# --- the printed SQL makes the same schema
init --postgres - > pg.sql 2> /dev/null
is "$?" 0 "initdb --postgres - prints the SQL"
is "$(head -n 1 pg.sql)|$(tail -n 1 pg.sql)" "BEGIN;|COMMIT;" "as one transaction"
ok "psql runs it" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$(conn printed)" -f pg.sql
is "$(dump --schema-only -d "$(conn printed)" | sha256sum)" "$(dump --schema-only -d "$(conn vb)" | sha256sum)" \
    "the same schema as initdb --postgres makes"
like "$(init 2> /dev/null | head -n 3 | tr '\n' ' ')" "^PRAGMA journal_mode=WAL; BEGIN TRANSACTION; CREATE TABLE ts_param_\w+ \(time INTEGER NOT NULL" \
    "initdb alone still prints SQLite's"

# --- passwords: from libpq's own places, and never printed
pg_psql main -c "CREATE ROLE bridge LOGIN PASSWORD 's3cret-pw'; ALTER DATABASE pw OWNER TO bridge;
    CREATE ROLE reader LOGIN PASSWORD 'r3ader-pw'"
tcp="host=127.0.0.1 port=$PG_main_PORT user=bridge dbname=pw"
err=$(init --postgres "postgresql://bridge:wr0ng-pw@127.0.0.1:$PG_main_PORT/pw" 2>&1)
is "$?" 1 "a wrong password in a URI fails"
like "$err" "postgres postgresql://bridge:\*\*\*\*\*\*\*\*@127.0.0.1:$PG_main_PORT/pw: connection to server at \"127.0.0.1\", port $PG_main_PORT failed: FATAL: +password authentication failed for user \"bridge\"" \
    "naming the server with the password masked, and libpq's reason"
unlike "$err" "wr0ng-pw" "the password is not in the message"
is "$(printf '%s\n' "$err" | wc -l)" 1 "which is one line"
err=$(init --postgres "$tcp password='wr0ng pw'" 2>&1)
like "$err" "user=bridge dbname=pw password=\*\*\*\*\*\*\*\*: connection to server" "a key=value string is masked too"
unlike "$err" "wr0ng" "without the password"
err=$(init --postgres "$tcp password=wr0ng pw" 2>&1)
like "$err" "password=\*\*\*\*\*\*\*\* \*\*\*\*\*\*\*\*: not a connection string or URI libpq accepts \(its reason is not shown: it may quote the password\)" \
    "a malformed string with a password: masked, and libpq's reason left out"
unlike "$err" "wr0ng| pw[ :]" "no piece of the password shows"
err=$(init --postgres "host=127.0.0.1 bogus=1" 2>&1)
like "$err" 'host=127.0.0.1 bogus=1: not a connection string or URI libpq accepts: invalid connection option "bogus"' \
    "one without a password gets libpq's reason"
err=$(PGPASSWORD=s3cret-pw init --postgres "$tcp" 2>&1)
is "$?" 0 "PGPASSWORD supplies the password"
unlike "$err" "s3cret" "and does not show"
printf '127.0.0.1:%s:*:bridge:s3cret-pw\n' "$PG_main_PORT" > pgpass
chmod 600 pgpass
err=$(PGPASSFILE=$TMP/pgpass init --postgres "$tcp" 2>&1)
like "$err" "refusing to change it" "so does a pgpass file (and the database holds the schema now)"
err=$(PGPASSWORD=r3ader-pw init --postgres "host=127.0.0.1 port=$PG_main_PORT user=reader dbname=noperm" 2>&1)
is "$?" 1 "a role that may not create tables fails"
like "$err" "user=reader dbname=noperm: permission denied for schema public" "with the server's reason"
is "$(sql noperm -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0 "and leaves nothing"

# An empty CONNINFO is libpq's defaults, from the environment.
PGHOST=$PG_main_SOCK PGPORT=$PG_main_PORT PGUSER=postgres PGDATABASE=env init --postgres '' 2> /dev/null
is "$?" 0 "--postgres '' connects with PGHOST, PGPORT, PGUSER, PGDATABASE"
is "$(sql env -c "SELECT version FROM bridge_schema")" 05-backfill-series "and creates the schema there"

err=$(init --postgres "host=$PG_main_SOCK port=1 dbname=vb" 2>&1)
like "$err" "postgres host=$PG_main_SOCK port=1 dbname=vb: connection to server on socket .* failed: No such file or directory; Is the server running locally" \
    "no server: libpq's reason in one line"

# --- migrate on PostgreSQL
mig() { "$BRIDGE" migrate "$@" 2>&1; }
out=$(mig --postgres "$(conn vb)" status)
is "$?" 0 "migrate --postgres status succeeds"
like "$out" "^schema version 05-backfill-series, reached [0-9-]+T[0-9:]+Z" "showing the recorded version"
like "$out" "00-fix-bug-azelalt +n/a +SQLite history: a PostgreSQL schema starts at 05-backfill-series" \
    "the SQLite history does not apply"
is "$(printf '%s\n' "$out" | grep -c ' n/a ')" 6 "none of 00 to 05"
like "$out" "04-series-v2 +n/a +SQLite only: nothing to do on PostgreSQL" "04 is SQLite's alone"
like "$out" "05-backfill-series +n/a +SQLite only: nothing to do on PostgreSQL" \
    "and so is 05, whose series the bridge creates as it writes them"
like "$(mig --postgres "$(conn vb)" check)" "nothing to do: the database has the current schema" \
    "check: nothing to do"
sql vb -c "UPDATE bridge_schema SET version = '03-match-initdb'"
out=$(mig --postgres "$(conn vb)" status)
like "$out" "^schema version 03-match-initdb, reached" "a schema made before 04"
like "$out" "04-series-v2 +n/a +SQLite only" "is one where 04 is n/a too"
like "$(mig --postgres "$(conn vb)" check)" "nothing to do: the database has the current schema" \
    "and nothing is to do"
sql vb -c "UPDATE bridge_schema SET version = '04-series-v2'"
err=$(mig --postgres "$(conn vb)" fix)
is "$?" 1 "fix has nothing to do"
like "$err" "refusing to fix: nothing to do, every migration is already applied" "as on SQLite"
like "$(mig --postgres "$(conn vb)" fix all)" "refusing to fix: nothing to do" "so has fix all"
like "$(mig --postgres "$(conn vb)" fix 02)" "refusing to fix 02-fix-bridges: it is n/a on PostgreSQL, not old" \
    "fix NAME refuses a history migration"
mkdir later
cp "$ROOT"/migrations/*.lua later/
cp later/03-match-initdb.lua later/06-later.lua
out=$(mig --postgres "$(conn vb)" --migrations later check)
like "$out" "06-later: old" "a later migration is old"
like "$out" "1 to apply, but migrations run on SQLite only so far" "and check says it cannot run here yet"
sql vb -c "INSERT INTO bridge_schema VALUES ('06-later', 2000000000)"
like "$(mig --postgres "$(conn vb)" --migrations later status)" "06-later +new$" \
    "once the schema records it, it is new"
sql vb -c "DELETE FROM bridge_schema WHERE version = '06-later'"
err=$(mig --postgres "$(conn tx)" status)
is "$?" 1 "a database without the schema fails"
like "$err" "no table bridge_schema: not a database made by initdb --postgres" "saying so"
err=$(mig --postgres "$(conn vb)" --sqlitedb x.db status)
is "$?" 2 "migrate: --postgres and --sqlitedb together: a usage error"
like "$(mig status)" "one of the arguments --sqlitedb --postgres is required" "migrate needs one of them"

done_testing
