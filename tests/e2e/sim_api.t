#!/bin/bash
# vlbimon_sim speaks the vlbimon API (docs/simulator.md): every endpoint, Basic and
# Digest auth, the snapshot cursor cookie, session expiry, gzip, the
# served-points log, connection counting, speed and a clean exit on SIGTERM.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
cd "$TMP" || exit 1

out=$("$SIM" --help)
ok "--help exits 0" test $? -eq 0
for opt in listen users digest masterlist seed start-time speed session-ttl served stall-seconds \
    fault-500 fault-503 fault-429 fault-401 fault-truncate fault-badjson fault-stall fault-drop \
    fault-future fault-badname fault-nan fault-nonutf8 history-quirks; do
    like "$out" "--$opt( [A-Z:]+)?( +[a-z]| *$)" "--help documents --$opt"
done
err=$("$SIM" --listen 127.0.0.1:0 2>&1)
is "$?" 2 "--users is required (usage error)"
like "$err" "required: --users" "and the message says so"
"$SIM" --users "$USERS" --fault-500 1.5 2> /dev/null
is "$?" 2 "a fault rate above 1 is a usage error"

start_sim a --speed 60 --served "$TMP/served.csv"
A=$URL_a
like "$(head -n 1 "$TMP/a.out")" '^listening on http://127\.0\.0\.1:[0-9]+$' "first stdout line names the port"

# --- masterlist: no auth, the catalogue as it is on disk
curl -s -o ml.json -w '%{http_code}' "$A/static/masterlist.json" > code
is "$(cat code)" 200 "masterlist needs no account"
ok "masterlist is the --masterlist file byte for byte" cmp -s ml.json "$MASTERLIST"

# --- auth
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$A/session")
is "$code" 401 "POST /session without credentials: 401"
code=$(curl -s -o /dev/null -w '%{http_code}' -u 'Test User:wrong' -X POST "$A/session")
is "$code" 401 "wrong Basic password: 401"
code=$(curl -s -D h -o /dev/null -w '%{http_code}' -u 'Nobody:s3cret pw' -X POST "$A/session")
is "$code" 401 "unknown user: 401"
like "$(cat h)" 'WWW-Authenticate: Basic realm="vlbimon"' "401 asks for Basic auth"
is "$(stat "$A" auth_failures)" 2 "stats count wrong credentials"
sid=$(new_session "$A" -u "$BASIC_USER")
like "$sid" '^[0-9a-f]{32}$' "POST /session with Basic auth opens a session"
sid2=$(new_session "$A" -u "$DIGEST_USER")
like "$sid2" '^[0-9a-f]{32}$' "any user of the users file is valid (Basic server, digestauth entry)"

# --- PATCH /session
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$BASIC_USER" -X PATCH "$A/session/$sid")
is "$code" 200 "PATCH of a live session: 200"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$BASIC_USER" -X PATCH "$A/session/deadbeef")
is "$code" 404 "PATCH of an unknown session: 404"

# --- snapshot and its cursor
code=$(curl -s -D h0 -o /dev/null -w '%{http_code}' -u "$BASIC_USER" "$A/data/snapshot")
is "$code" 401 "snapshot without a session: 401"
is "$(cookie_of h0)" "" "and no cursor cookie"
curl -s -D h1 -o s1.json -w '%{http_code} %{time_total}' -u "$BASIC_USER" -b "sessionid=$sid" \
    "$A/data/snapshot" > res
read -r code secs < res
is "$code" 200 "first snapshot: 200"
ok "a full snapshot takes well under a second (${secs}s)" perl -e "exit !($secs < 0.5)"
ok "it is valid JSON" json_ok s1.json
c1=$(cookie_of h1)
like "$c1" '^17128[0-9]{5}\.[0-9]{3}$' "it sets snap_recvTime to the simulated now"
stations=$(perl -MJSON::PP -0777 -ne 'print join ",", sort grep { $_ ne "vexfiles" } keys %{decode_json($_)}' s1.json)
is "$stations" "ALMA,APEX,GLT,JCMT,KP,LMT,NOEMA,PICO,SMA,SMTO,SPT" "all 11 stations are in it"
ok "a top-level vexfiles key" grep -q '"vexfiles": {' s1.json
ok "clients per station with recvTime and version" \
    perl -MJSON::PP -0777 -ne 'my $d = decode_json($_); for (grep { $_ ne "vexfiles" } keys %$d) { my @c = values %{$d->{$_}{clients}}; exit 1 unless @c && $c[0]{recvTime} && $c[0]{version} } exit 0' s1.json
n1=$(snapshot_points s1.json | wc -l)
ok "the first snapshot holds thousands of points ($n1)" test "$n1" -gt 4000
ok "every point is no newer than the cursor and at most 10 minutes old" \
    perl -MJSON::PP -0777 -ne 'my $d = decode_json($_); for my $s (grep { $_ ne "vexfiles" } keys %$d) { for (values %{$d->{$s}{data}}) { exit 1 if $_->[0] > '"$c1"' || $_->[0] <= '"$c1"' - 600 } } exit 0' s1.json
ok "recvTime values are floats" grep -q '": \[17128[0-9]*\.[0-9]*, ' s1.json
ok "observer messages carry commas, quotes and newlines" grep -q '"clear, \\"dry\\"\\nwind' s1.json
ok "coordinates are glued signed numbers" grep -Eq '"telescope_azimuthElevation": \[[0-9.]+, "[0-9]+\.[0-9]{5}[+-][0-9]+\.[0-9]{5}"\]' s1.json
ok "some stations send booleans as strings" grep -Eq '"telescope_onSource": \[[0-9.]+, "(true|True|false|False)"\]' s1.json

snapshot_points s1.json > sent1
served_points served.csv "$c1" > logged1
ok "the served log holds exactly the points of that answer" cmp -s sent1 logged1
sleep 1.2
curl -s -D h2 -o s2.json -u "$BASIC_USER" -b "sessionid=$sid; snap_recvTime=$c1" "$A/data/snapshot"
c2=$(cookie_of h2)
ok "the next answer moves the cursor forward ($c1 -> $c2)" perl -e "exit !($c2 > $c1 + 60)"
ok "and holds only points received after the old cursor, up to the new one" \
    perl -MJSON::PP -0777 -ne 'my $d = decode_json($_); my $n = 0; for my $s (grep { $_ ne "vexfiles" } keys %$d) { for (values %{$d->{$s}{data}}) { $n++; exit 1 if $_->[0] <= '"$c1"' || $_->[0] > '"$c2"' } } exit !$n' s2.json
n2=$(snapshot_points s2.json | wc -l)
ok "fewer points than the first answer ($n2 < $n1)" test "$n2" -lt "$n1"
snapshot_points s2.json > sent2
served_points served.csv "$c2" > logged2
ok "the served log matches the second answer too" cmp -s sent2 logged2
cat sent1 sent2 | sort > sent_all
served_points served.csv > logged_all
ok "the served log is exactly what was sent" cmp -s sent_all logged_all
is "$(stat "$A" acknowledged)" 1 "presenting a cursor acknowledges its answer"
is "$(stat "$A" unacknowledged_cursors.0)" "$c2" "the newest answer is not yet acknowledged"
curl -s -o s3.json -u "$BASIC_USER" -b "sessionid=$sid; snap_recvTime=$c2" "$A/data/snapshot"
is "$(stat "$A" unacknowledged)" 1 "only the newest answer is left unacknowledged"

# --- gzip
curl -s -D hz -o z.json --compressed -w '%{size_download}' -u "$BASIC_USER" -b "sessionid=$sid" \
    "$A/data/snapshot" > zsize
like "$(cat hz)" 'Content-Encoding: gzip' "Accept-Encoding: gzip gets a gzip answer"
ok "which decodes to valid JSON" json_ok z.json
ok "and is much smaller on the wire ($(cat zsize) bytes)" test "$(cat zsize)" -lt $(($(wc -c < z.json) / 2))

# --- vlbimon's session model: the session cookie alone authenticates a snapshot
n0=$(stat "$A" credentials.snapshot)
code=$(curl -s -D hc -o c.json -w '%{http_code}' -b "sessionid=$sid" "$A/data/snapshot")
is "$code" 200 "a snapshot with a valid session cookie and no credentials: 200"
ok "with a snapshot in it" grep -q '"vexfiles": {' c.json
like "$(cookie_of hc)" '^17128[0-9]{5}\.[0-9]{3}$' "and a new cursor"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "sessionid=0123456789abcdef0123456789abcdef" "$A/data/snapshot")
is "$code" 401 "an unknown session cookie: 401"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$BASIC_USER" -b "sessionid=$sid" "$A/data/snapshot")
is "$code" 200 "credentials on a snapshot are not needed, nor refused"
is "$(($(stat "$A" credentials.snapshot) - n0))" 1 "/sim/stats counts the snapshots that carried credentials"
is "$(stat "$A" credentials.session)" 4 "and the POST /session calls that did (2 refused, 2 opened)"
is "$(stat "$A" credentials.session_patch)" 2 "and the PATCHes"
is "$(stat "$A" credentials.masterlist)" 0 "the masterlist was asked for without"

# --- history
H="$A/data/history?observatory=ALMA&observatory=SMA&field=weather_tau225&field=telescope_sourceName&field=no_such&startTime=$((T0 - 600))&endTime=$((T0 - 300))"
curl -s -o h.json -u "$BASIC_USER" "$H"
ok "history is valid JSON" json_ok h.json
is "$(perl -MJSON::PP -0777 -ne 'my $d = decode_json($_); print join ",", map { my $s = $_; map { "$s.$_" } sort keys %{$d->{$s}} } sort keys %$d' h.json)" \
    "ALMA.telescope_sourceName,ALMA.weather_tau225,SMA.telescope_sourceName,SMA.weather_tau225" \
    "history answers each repeated observatory and field; unknown ones are left out"
ok "every point lies in [startTime, endTime] with an integer time" \
    perl -MJSON::PP -0777 -ne 'my $d = decode_json($_); for my $s (values %$d) { for my $pts (values %$s) { for (@$pts) { exit 1 if $_->[0] != int($_->[0]) || $_->[0] < '"$((T0 - 600))"' || $_->[0] > '"$((T0 - 300))"' } } } exit 0' h.json
n=$(perl -MJSON::PP -0777 -ne 'print scalar @{decode_json($_)->{ALMA}{weather_tau225}}' h.json)
ok "weather_tau225 reports at its 10 s private cadence ($n points in 300 s)" test "$n" -ge 29 -a "$n" -le 31
curl -s -o hist_snap.json -u "$BASIC_USER" "$A/data/history?observatory=ALMA&field=weather_tau225&startTime=$((T0 - 700))&endTime=$(printf '%.0f' "$c2")"
ok "history agrees with the snapshots: every served ALMA tau225 point is in it" \
    perl -MJSON::PP -e 'open my $h, "<", $ARGV[0]; local $/; my $d = decode_json(<$h>); my %in = map { ("$_->[0]|" . (0 + $_->[1])) => 1 } @{$d->{ALMA}{weather_tau225}}; open my $s, "<", $ARGV[1]; local $/ = "\n"; my $n = 0; while (<$s>) { chomp; my ($st, $p, $t, $v) = split /\|/; next unless $st eq "ALMA" && $p eq "weather_tau225"; $n++; exit 1 unless $in{"$t|$v"} } exit !$n' hist_snap.json logged_all
curl -s -o empty.json -u "$BASIC_USER" "$A/data/history?observatory=ALMA&field=weather_tau225&startTime=$T0&endTime=$((T0 - 1))"
is "$(tr -d '\n' < empty.json)" "{}" "no points: {}"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$BASIC_USER" "$A/data/history?observatory=ALMA&field=weather_tau225")
is "$code" 400 "history without a time range: 400"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "sessionid=$sid" "$A/data/history?observatory=ALMA&field=weather_tau225&startTime=$T0&endTime=$T0")
is "$code" 401 "history needs an account, session cookie or not"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$BASIC_USER" "$A/nowhere")
is "$code" 404 "unknown path: 404"

# --- connection counting: two URLs in one curl run share one keep-alive connection
c0=$(stat "$A" connections)
r0=$(stat "$A" requests)
curl -s -o /dev/null -o /dev/null "$A/static/masterlist.json" "$A/static/masterlist.json"
is "$(($(stat "$A" connections) - c0))" 3 "two requests on one connection count 1 (+2 for the stats calls)"
is "$(($(stat "$A" requests) - r0))" 4 "and 2 requests (+2 for the stats calls)"

# --- clean exit
stop_sim a
is "$?" 0 "SIGTERM: exit status 0"
like "$(cat "$TMP/a.err")" 'vlbimon_sim: stats \{"now": [0-9.]+, "connections": [0-9]+, "requests": [0-9]+' "prints its counters at exit"

# --- Digest
start_sim d --digest --session-ttl 1
D=$URL_d
code=$(curl -s -D h -o /dev/null -w '%{http_code}' -u "$BASIC_USER" -X POST "$D/session")
is "$code" 401 "--digest: Basic credentials are refused"
like "$(cat h)" 'WWW-Authenticate: Digest realm="vlbimon"' "and the 401 asks for Digest"
code=$(curl -s -o /dev/null -w '%{http_code}' --digest -u 'Digest User:wrong' -X POST "$D/session")
is "$code" 401 "--digest: wrong password: 401"
sid=$(new_session "$D" --digest -u "$DIGEST_USER")
like "$sid" '^[0-9a-f]{32}$' "--digest: right password opens a session"
code=$(curl -s -o /dev/null -w '%{http_code}' --digest -u "$BASIC_USER" -X PATCH "$D/session/$sid")
is "$code" 200 "--digest: every user in the file may use Digest"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "sessionid=$sid" "$D/data/snapshot")
is "$code" 200 "--digest: a session opened with Digest serves cookie-only snapshots"
# --- session expiry (--session-ttl 1): idle sessions die, live ones are refreshed
sleep 1.3
code=$(curl -s -o /dev/null -w '%{http_code}' -b "sessionid=$sid" "$D/data/snapshot")
is "$code" 401 "an expired session cookie gets 401"
code=$(curl -s -o /dev/null -w '%{http_code}' --digest -u "$DIGEST_USER" -b "sessionid=$sid" "$D/data/snapshot")
is "$code" 401 "credentials do not revive it"
code=$(curl -s -o /dev/null -w '%{http_code}' --digest -u "$DIGEST_USER" -X PATCH "$D/session/$sid")
is "$code" 404 "and PATCH says 404"
sid=$(new_session "$D" --digest -u "$DIGEST_USER")
code=$(curl -s -o /dev/null -w '%{http_code}' --digest -u "$DIGEST_USER" -b "sessionid=$sid; snap_recvTime=$c2" "$D/data/snapshot")
is "$code" 200 "a new session works again, with the old cursor"

stop_sim d
is "$?" 0 "SIGINT/SIGTERM exit is clean with --digest too"

# --- SIGINT
start_sim i
kill -INT "$PID_i"
wait "$PID_i"
is "$?" 0 "SIGINT: exit status 0"

done_testing
