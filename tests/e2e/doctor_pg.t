#!/bin/bash
# vlbimon_bridge doctor --postgres on a real server set up as
# docs/deployment.md says: every check passes; breaking each rule (the
# server, the schema version, the bridge role's writes, the grafana role's
# reads-only) fails exactly that check with its fix and exit status 1; a
# password in CONNINFO never shows.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pglib.sh"
source "$FIXTURES/sim/simlib.sh"
cd "$TMP" || exit 1

CHECKS="postgres schema bridge role grafana role secrets server masterlist"
start_sim d
cp "$USERS" secrets.yaml
chmod 600 secrets.yaml
pg_start main
pg_deployment main
"$BRIDGE" --masterlist "$MASTERLIST" initdb --postgres "$PG_main_BRIDGE" 2> /dev/null
# as_super SQL : runs SQL as the superuser, in the bridge's database.
as_super() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -c "$1" \
        -d "host=$PG_main_SOCK port=$PG_main_PORT dbname=vlbimon user=postgres"
}

# doctor [ARGS...] : doctor on the set-up (PG overrides CONNINFO); output in OUT, status in RC.
doctor() {
    OUT=$("$BRIDGE" --server "$URL_d" --secrets secrets.yaml --masterlist "$MASTERLIST" doctor \
        --postgres "${PG:-$PG_main_BRIDGE}" "$@" 2>&1)
    RC=$?
}

# broken CHECK PATTERN WHAT : doctor failed exactly CHECK, with a line matching PATTERN.
broken() {
    is "$RC" 1 "$3: exit status 1"
    is "$(printf '%s\n' "$OUT" | grep '^FAIL' | sed 's/^FAIL \([^:]*\):.*/\1/')" "$1" \
        "$3: only the $1 check fails"
    like "$(printf '%s\n' "$OUT" | grep "^FAIL $1: ")" "$2" "$3: says what is wrong and the fix"
}

# --- command line
like "$("$BRIDGE" doctor -h)" "--grafana-role ROLE +with --postgres: the role Grafana reads as" "doctor -h shows the options"
err=$("$BRIDGE" doctor --sqlitedb x.db --postgres "$PG_main_BRIDGE" 2>&1)
is "$?" 2 "--sqlitedb with --postgres: a usage error"
like "$err" "argument --postgres: not allowed with argument --sqlitedb" "saying so"
err=$("$BRIDGE" doctor --postgres "$PG_main_BRIDGE" --grafana-role= 2>&1)
is "$?" 2 "an empty --grafana-role: a usage error"

# --- the set-up of docs/deployment.md
doctor
is "$RC" 0 "a good set-up: exit status 0"
is "$(printf '%s\n' "$OUT" | sed 's/^OK   \([^:]*\):.*/\1/' | tr '\n' ' ')" "$CHECKS " \
    "one OK line per check, in docs/deployment.md's order"
like "$OUT" "OK   postgres: host=$PG_main_SOCK port=$PG_main_PORT dbname=vlbimon user=vlbimon answers: PostgreSQL [0-9.]+.*, database vlbimon, role vlbimon" \
    "the server answers"
like "$OUT" "OK   schema: version 05-backfill-series, reached [0-9-]+T" "the schema version"
like "$OUT" "OK   bridge role: vlbimon may write all 568 tables and create more in schema public" \
    "the bridge's role may write"
like "$OUT" "OK   grafana role: grafana may read all 568 tables and the ones vlbimon makes later, and change nothing" \
    "Grafana's role may only read"
like "$OUT" "OK   server: http://127.0.0.1:[0-9]+ accepts user 'Test User'" "and the vlbimon checks follow"

# --- the server
PG="host=$PG_main_SOCK port=1 dbname=vlbimon user=vlbimon" doctor
is "$RC" 1 "no server: exit status 1"
like "$OUT" "FAIL postgres: postgres host=$PG_main_SOCK port=1 dbname=vlbimon user=vlbimon: connection to server on socket .*; fix: check CONNINFO" \
    "no server: says so, with libpq's reason and the fix"
is "$(printf '%s\n' "$OUT" | grep -c 'cannot check: no connection to the server')" 3 \
    "and the checks that need it cannot run"
as_super "ALTER ROLE vlbimon PASSWORD 'bridge-pw'"
PG="postgresql://vlbimon:wr0ng@127.0.0.1:$PG_main_PORT/vlbimon" doctor
like "$OUT" "FAIL postgres: postgres postgresql://vlbimon:\*\*\*\*\*\*\*\*@127.0.0.1:$PG_main_PORT/vlbimon: .*password authentication failed" \
    "a wrong password: the connection named with it masked"
unlike "$OUT" "wr0ng" "the password shows nowhere"
PG="postgresql://vlbimon:bridge-pw@127.0.0.1:$PG_main_PORT/vlbimon" doctor
is "$RC" 0 "the right password in a URI works"
unlike "$OUT" "bridge-pw" "and shows nowhere either"

# --- the schema
pg_psql main -c "CREATE DATABASE empty OWNER vlbimon"
PG="host=$PG_main_SOCK port=$PG_main_PORT dbname=empty user=vlbimon" doctor
is "$(printf '%s\n' "$OUT" | grep '^FAIL schema')" \
    "FAIL schema: postgres host=$PG_main_SOCK port=$PG_main_PORT dbname=empty user=vlbimon: no table bridge_schema: not a database made by initdb --postgres; fix: vlbimon_bridge initdb --postgres 'host=$PG_main_SOCK port=$PG_main_PORT dbname=empty user=vlbimon'" \
    "no schema: says so, with the initdb that makes it"
as_super "INSERT INTO bridge_schema VALUES ('99-future', 2000000000)"
doctor
broken schema "version 99-future is newer than this bridge's 05-backfill-series; fix: install the bridge that migrated it" \
    "a schema from a newer bridge"
as_super "DELETE FROM bridge_schema WHERE version = '99-future'"
as_super "UPDATE bridge_schema SET version = '03-match-initdb'"
doctor
is "$RC" 0 "a schema made before 04, which changed SQLite's layout only, passes"
like "$OUT" "OK   schema: version 03-match-initdb, reached [0-9-]+T[0-9:]+Z: the same schema as 05-backfill-series" \
    "saying it is the current schema"
as_super "UPDATE bridge_schema SET version = '04-series-v2'"

# --- the bridge's role
PG="host=$PG_main_SOCK port=$PG_main_PORT dbname=vlbimon user=grafana" doctor
like "$(printf '%s\n' "$OUT" | grep '^FAIL bridge role')" \
    "FAIL bridge role: grafana may not create tables in schema public, which a new parameter needs; fix:" \
    "connected as Grafana's role, the bridge could not write"
as_super "REVOKE INSERT ON ts_param_weather_tau225 FROM vlbimon"
doctor
broken "bridge role" "vlbimon cannot write 1 of the 568 tables \(ts_param_weather_tau225, ...\); fix:" \
    "a table the bridge's role may not insert into"
as_super "GRANT INSERT ON ts_param_weather_tau225 TO vlbimon"
as_super "REVOKE UPDATE ON bridge_stationStatus FROM vlbimon"
doctor
broken "bridge role" "vlbimon cannot write 1 of the 568 tables \(bridge_stationstatus, ...\)" \
    "the status table, which the bridge updates"
as_super "GRANT UPDATE ON bridge_stationStatus TO vlbimon"
as_super "REVOKE UPDATE ON bridge_inserted FROM vlbimon"
doctor
broken "bridge role" "vlbimon cannot write 1 of the 568 tables \(bridge_inserted, ...\)" \
    "the table of what insert loaded, which insert updates"
as_super "GRANT UPDATE ON bridge_inserted TO vlbimon"
as_super "ALTER ROLE vlbimon SET default_transaction_read_only = on"
doctor
broken "bridge role" "vlbimon's transactions are read-only \(default_transaction_read_only\); fix: ALTER ROLE vlbimon SET default_transaction_read_only = off" \
    "a read-only bridge role"
as_super "ALTER ROLE vlbimon RESET default_transaction_read_only"
pg_start_standby main standby
pg_wait_replay main standby
PG="host=$PG_standby_SOCK port=$PG_standby_PORT dbname=vlbimon user=vlbimon" doctor
broken "bridge role" "the server is a standby, which nobody can write; fix: point CONNINFO at the primary" \
    "a standby"

# --- Grafana's role
doctor --grafana-role nobody_here
broken "grafana role" "role nobody_here does not exist; fix: CREATE ROLE nobody_here LOGIN" "no such role"
doctor --grafana-role postgres
broken "grafana role" "postgres is a superuser, so it may write everything" "a superuser"
doctor --grafana-role vlbimon
broken "grafana role" "vlbimon is the bridge's role or a member of it" "the bridge's own role"
as_super "GRANT INSERT ON ts_param_weather_tau225 TO grafana"
doctor
broken "grafana role" "grafana may change 1 tables \(ts_param_weather_tau225, ...\), where it must only read; fix: REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public FROM grafana" \
    "a table Grafana could write"
as_super "REVOKE INSERT ON ts_param_weather_tau225 FROM grafana"
as_super "GRANT CREATE ON SCHEMA public TO grafana"
doctor
broken "grafana role" "grafana may create tables in schema public, where it must only read; fix: REVOKE CREATE ON SCHEMA public FROM PUBLIC, grafana" \
    "a schema Grafana could create tables in"
as_super "REVOKE CREATE ON SCHEMA public FROM grafana"
as_super "REVOKE SELECT ON ts_param_if_1_systemTemp FROM grafana"
doctor
broken "grafana role" "grafana cannot read 1 of the 568 tables \(ts_param_if_1_systemtemp, ...\); fix: GRANT SELECT ON ALL TABLES IN SCHEMA public TO grafana" \
    "a table Grafana cannot read"
as_super "GRANT SELECT ON ts_param_if_1_systemTemp TO grafana"
as_super "ALTER DEFAULT PRIVILEGES FOR ROLE vlbimon IN SCHEMA public REVOKE SELECT ON TABLES FROM grafana"
doctor
broken "grafana role" "grafana could not read the tables vlbimon makes for new parameters; fix: ALTER DEFAULT PRIVILEGES FOR ROLE vlbimon IN SCHEMA public GRANT SELECT ON TABLES TO grafana" \
    "no default privileges for the tables of new parameters"
as_super "ALTER DEFAULT PRIVILEGES FOR ROLE vlbimon IN SCHEMA public GRANT SELECT ON TABLES TO grafana"
as_super "REVOKE CONNECT ON DATABASE vlbimon FROM grafana"
doctor
broken "grafana role" "grafana may not connect to database vlbimon; fix: GRANT CONNECT ON DATABASE vlbimon TO grafana" \
    "Grafana's role may not connect"
as_super "GRANT CONNECT ON DATABASE vlbimon TO grafana"
as_super "REVOKE USAGE ON SCHEMA public FROM PUBLIC, grafana"
doctor
broken "grafana role" "grafana cannot use schema public; fix: GRANT USAGE ON SCHEMA public TO grafana" \
    "Grafana's role may not use the schema"
as_super "GRANT USAGE ON SCHEMA public TO PUBLIC, grafana"
as_super "ALTER ROLE grafana NOLOGIN"
doctor
broken "grafana role" "grafana cannot log in; fix: ALTER ROLE grafana LOGIN" "Grafana's role cannot log in"
as_super "ALTER ROLE grafana LOGIN"

doctor
is "$RC" 0 "repaired, everything passes again"

done_testing
