#!/bin/bash
# The Grafana files for the PostgreSQL sink (deploy/grafana/provisioning,
# *-postgres*): every SQL query of every dashboard and alert rule, with the
# macros expanded as Grafana's backend expands them, runs on a real
# PostgreSQL server as the read-only role grafana of docs/deployment.md,
# against the rows the real bridge writes (bridge --postgres, into the
# schema initdb --postgres makes) from the simulator; each returns rows,
# keeps to the time range and lets PostgreSQL use the series' time index.
# They run first on a streaming hot standby of the server while the bridge
# writes the primary, as a remote Grafana reads it, then on the primary.
# Queries that cannot work are caught; the files are what
# tools/pg-dashboards.pl makes of the SQLite ones, and point at each other.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pglib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
source "$FIXTURES/deploy/dashlib.sh"
cd "$TMP" || exit 1

DASH=("$PROV"/dashboards/vlbimon-postgres/*.json)
FILES=("${DASH[@]}" "$PROV/alerting/vlbimon-bridge-postgres.json")

# --- made from the SQLite files, so the panels are the same
cp -r "$PROV" gen
rm -r gen/dashboards/vlbimon-postgres gen/alerting/vlbimon-bridge-postgres.json
perl "$ROOT/tools/pg-dashboards.pl" gen
is "$?" 0 "tools/pg-dashboards.pl runs"
is "$(diff -r "$PROV" gen)" "" "the PostgreSQL files are what it makes of the SQLite ones"
titles() {
    perl -MJSON::PP -e 'for (@ARGV) { open my $f, "<", $_ or die; local $/; my $d = decode_json(<$f>);
        print join(",", map { "$_->{id}=$_->{title}" } @{ $d->{panels} }), "\n" }' "$@"
}
is "$(titles "${DASH[@]}")" "$(titles "$PROV"/dashboards/vlbimon/*.json)" "the same panels as on SQLite"
sed 's/ts_param_bridge_totalLag/ts_param_x/; s/time >= \$__from \/ 1000/time > \$__from \/ 1000/' \
    "$PROV/dashboards/vlbimon/bridge.json" > gen/dashboards/vlbimon/bridge.json
err=$(perl "$ROOT/tools/pg-dashboards.pl" gen 2>&1)
is "$?" 255 "SQL it has no rule for stops it"
like "$err" "Total lag: no rule to translate this SQL to PostgreSQL" "naming the panel"

# --- the server, its roles exactly as docs/deployment.md grants them, the schema
pg_start main
pg_deployment main
BRIDGE_PG=$PG_main_BRIDGE
GRAFANA_PG=$PG_main_GRAFANA
"$BRIDGE" --masterlist "$MASTERLIST" initdb --postgres "$BRIDGE_PG"
ok "initdb --postgres as the bridge's role" test $? -eq 0
pg_start_standby main standby
STANDBY_PG="host=$PG_standby_SOCK port=$PG_standby_PORT dbname=vlbimon user=grafana"
count() { "$PG_BIN/psql" -X -At -d "$1" -c "SELECT count(*) FROM ts_param_bridge_points"; }

# --- the bridge writes the primary, from the simulator at the real time (so a
# dashboard range around now shows everything), while Grafana reads the standby
NOW=$(date +%s)
start_sim g --speed 60 --start-time "$NOW"
start_bridge_pg g "$URL_g" "$BRIDGE_PG" --dt 0.5
ok "the bridge stored 6 answers into the primary" wait_answers g 6
# The statistics autovacuum would gather, now: the checker's index test reads the plans.
"$PG_BIN/psql" -X -q -d "$BRIDGE_PG" -c "SET client_min_messages = error" -c ANALYZE
ok "the standby has replayed them" pg_wait_replay main standby
ok "and sees the bridge's rows ($(count "$STANDBY_PG"))" test "$(count "$STANDBY_PG")" -ge 6
from=$((NOW - 3600))
to=$((NOW + 3600))
check_all "standby, while the bridge writes" --postgres "$STANDBY_PG" "$from" "$to" "${FILES[@]}"
is "$(grep -c '' check.out)" 15 "15 queries: 13 panels and 2 alert rules"
ok "the bridge was writing all along" kill -0 "$BPID"
touch g.data/PLEASE-EXIT
ok "and stops on PLEASE-EXIT" wait_exit "$BPID" 10
ok "the standby replays the last rows" pg_wait_replay main standby
is "$(count "$STANDBY_PG")" "$(count "$GRAFANA_PG")" "and has every row the primary has"

# --- the same on the primary
check_all "primary" --postgres "$GRAFANA_PG" "$from" "$to" "${FILES[@]}"
check_all "before the data" --empty --postgres "$GRAFANA_PG" $((from - 86400)) "$from" "${FILES[@]}"

# --- a query that cannot work is caught, each for its own reason
perl "$CHECK" --postgres "$GRAFANA_PG" "$from" "$to" "$FIXTURES/deploy/broken_pg.json" > broken.out
is "$?" 1 "the checker fails on a broken dashboard"
out=$(cat broken.out)
is "$(grep -c '^not ok' broken.out)" 8 "every broken query is reported"
like "$out" 'missing table A: postgres: ERROR: +relation "ts_param_no_such_series" does not exist' "a table the schema lacks"
like "$out" "no time range A: reads a series without the dashboard time range" "a series read without a time macro"
like "$out" 'browser macros A: macro left over: \$__from' "\$__from, which Grafana's backend (and so an alert rule) leaves as it is"
like "$out" 'unknown macro A: postgres: unknown macro "__nosuchMacro"' "a macro Grafana does not know"
like "$out" "no time index A: does not use the time index idx_ts_param_weather_tau225_time for a narrow time range" \
    "a time filter PostgreSQL cannot use the index for"
like "$out" "sqlite plus A: postgres: ERROR: +operator does not exist: \+ text" "SQLite's unary plus"
like "$out" "no rows A: no rows" "a query that returns nothing"
like "$out" 'column typo A: postgres: ERROR: +column "tme" does not exist' "a misspelt column"
sed 's/ts_param_bridge_totalLag/ts_param_bridge_totalLagg/g' "$PROV/alerting/vlbimon-bridge-postgres.json" > rules.json
perl "$CHECK" --postgres "$GRAFANA_PG" "$from" "$to" rules.json > rules.out
is "$?" 1 "a misspelt table in an alert rule fails the check"
like "$(cat rules.out)" 'lags behind A: postgres: ERROR: +relation "ts_param_bridge_totallagg" does not exist' \
    "naming the rule and the table"

# --- the files point at each other
ds=$PROV/datasources/vlbimon-postgres.yaml
y() { sed -n "s/^ *$1: *//p" "$ds"; }
is "$(y type)" grafana-postgresql-datasource "the datasource is Grafana's built-in PostgreSQL one"
is "$(y uid)" vlbimon-postgres "with a fixed uid"
is "$(y user)|$(y database)" "grafana|vlbimon" "as role grafana on database vlbimon, as docs/deployment.md makes them"
is "$(y password)" '$VLBIMON_PG_PASSWORD' "the password comes from Grafana's environment"
is "$(y isDefault)" false "not the default, so that it may sit beside the SQLite one"
like "$(cat "$PROV/dashboards/vlbimon-postgres.yaml")" "path: /etc/grafana/provisioning/dashboards/vlbimon-postgres$" \
    "the dashboard provider loads the folder the dashboards are in"
is "$(refs "${FILES[@]}")" 'grafana-postgresql-datasource ${datasource}
uid __expr__
uid vlbimon-postgres
variable grafana-postgresql-datasource vlbimon-postgres' \
    "panels use the datasource variable (default vlbimon-postgres); alert rules the datasource itself"
is "$(uids "${DASH[@]}")" "vlbimon-pg-array vlbimon-pg-bridge vlbimon-pg-events vlbimon-pg-tsys vlbimon-pg-weather" \
    "five dashboards with uids of their own"
watched=$(perl -MJSON::PP -e 'open my $f, "<", $ARGV[0] or die; local $/; my $d = decode_json(<$f>);
    print join(",", map { "$_->{annotations}{__dashboardUid__}/$_->{annotations}{__panelId__}" }
        map { @{ $_->{rules} } } @{ $d->{groups} })' "$PROV/alerting/vlbimon-bridge-postgres.json")
is "$watched" "vlbimon-pg-bridge/1,vlbimon-pg-bridge/3" "the alert rules point at the PostgreSQL bridge dashboard's panels"

done_testing
