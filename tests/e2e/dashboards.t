#!/bin/bash
# The provisioned Grafana files (deploy/grafana): every SQL query of every
# dashboard and alert rule runs against a database filled by a short
# simulator run of the real bridge, returns rows, keeps to the dashboard's
# time range and searches each series by time (its key, or on a v1 table not
# migrated yet its time index); a query the schema cannot answer is caught;
# the datasource, dashboards and alert rules point at each other.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
source "$FIXTURES/deploy/dashlib.sh"
cd "$TMP" || exit 1

FILES=("$PROV"/dashboards/vlbimon/*.json "$PROV"/alerting/vlbimon-bridge.json)

# --- a database as a short live run leaves it
live_run live.db
from=$((NOW - 3600))
to=$((NOW + 3600))
check_all "live" live.db "$from" "$to" "${FILES[@]}"
is "$(grep -c '' check.out)" 15 "15 queries: 13 panels and 2 alert rules"
check_all "before the data" --empty live.db $((from - 86400)) "$from" "${FILES[@]}"

# --- a database of v1 tables, which the queries read through their time
# index until 04 rebuilds them; one the original bridge made, after its
# migrations
sqlite3 v1.db < "$FIXTURES/migrations/after-03.sql"
check_all "v1" --empty v1.db 1000 2000 "${FILES[@]}"
sqlite3 old.db < "$FIXTURES/migrations/before-00.sql"
"$BRIDGE" migrate --sqlitedb old.db --no-backup fix > /dev/null 2>&1
ok "the original's database migrates" test $? -eq 0
check_all "migrated" --empty old.db 1000 2000 "${FILES[@]}"

# --- a query that cannot work is caught, each for its own reason
perl "$CHECK" live.db "$from" "$to" "$FIXTURES/deploy/broken.json" > broken.out
is "$?" 1 "the checker fails on a broken dashboard"
out=$(cat broken.out)
is "$(grep -c '^not ok' broken.out)" 7 "every broken query is reported"
like "$out" "missing table A: sqlite3: .*no such table: ts_param_no_such_series" "a table the schema lacks"
like "$out" "no time range A: reads a series without the dashboard time range" "a series read without \$__from/\$__to"
like "$out" "time in an expression A: does not search ts_param_weather_tau225 by time" \
    "a time filter SQLite cannot search the key with"
like "$out" 'unknown macro A: macro left over: \$__interval_ms' "a macro the plugin does not know"
like "$out" "no rows A: no rows" "a query that returns nothing"
like "$out" "column typo A: sqlite3: .*no such column: tme" "a misspelt column"
like "$out" "texts differ A: rawQueryText and queryText differ" "rawQueryText and queryText that differ"
cp "$PROV/alerting/vlbimon-bridge.json" rules.json
sed -i 's/ts_param_bridge_totalLag/ts_param_bridge_totalLagg/g' rules.json
perl "$CHECK" live.db "$from" "$to" rules.json > rules.out
is "$?" 1 "a misspelt table in an alert rule fails the check"
like "$(cat rules.out)" "lags behind A: sqlite3: .*no such table: ts_param_bridge_totalLagg" "naming the rule and the table"

# --- the files point at each other
ds=$PROV/datasources/vlbimon.yaml
like "$(cat "$ds")" "type: frser-sqlite-datasource" "the datasource uses the SQLite plugin"
like "$(cat "$ds")" "path: /var/lib/grafana/live.db" "on /var/lib/grafana/live.db"
like "$(cat "$ds")" "pathOptions: mode=ro" "read-only"
uid=$(sed -n 's/^ *uid: *//p' "$ds")
is "$uid" vlbimon-sqlite "the datasource has a fixed uid"
like "$(cat "$PROV/dashboards/vlbimon.yaml")" "path: /etc/grafana/provisioning/dashboards/vlbimon$" \
    "the dashboard provider loads the folder the dashboards are in"
refs=$(refs "${FILES[@]}")
is "$refs" 'frser-sqlite-datasource ${datasource}
uid __expr__
uid vlbimon-sqlite
variable frser-sqlite-datasource vlbimon-sqlite' \
    "panels use the datasource variable (default vlbimon-sqlite); alert rules the datasource itself"
is "$(uids "$PROV"/dashboards/vlbimon/*.json)" "vlbimon-array vlbimon-bridge vlbimon-events vlbimon-tsys vlbimon-weather" \
    "five dashboards with fixed uids"
panels=$(perl -MJSON::PP -e 'open my $f, "<", $ARGV[0] or die; local $/; my $d = decode_json(<$f>);
    print join ",", map { "$_->{id}=$_->{title}" } @{$d->{panels}}' "$PROV/dashboards/vlbimon/bridge.json")
like "$panels" "^1=Total lag,.*3=Points per cycle," "the alert rules' panel ids are the panels they watch"

done_testing
