#!/bin/bash
# vlbimon_sim's fault injection: each fault at rate 1 does exactly what it
# says, a failed answer never hands out a new cursor nor enters the served
# log, and the same seed gives the same answers and the same faults.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
cd "$TMP" || exit 1

# fault_sim NAME ARGS... : a simulator with a session; sets URL and SID.
fault_sim() {
    start_sim "$@"
    local v=URL_$1
    URL=${!v}
    SID=$(new_session "$URL" -u "$BASIC_USER")
}
snap() { # OUT-PREFIX [curl args...] : prints the status code
    local o=$1
    shift
    curl -s -D "$o.h" -o "$o.json" -w '%{http_code}' -u "$BASIC_USER" -b "sessionid=$SID" "$@" \
        "$URL/data/snapshot"
}

for f in 500 503 429; do
    fault_sim f$f --fault-$f 1 --served "$TMP/served$f.csv"
    is "$(snap s$f)" "$f" "--fault-$f: snapshot answers $f"
    is "$(cookie_of s$f.h)" "" "--fault-$f: no new cursor"
    ok "--fault-$f: nothing enters the served log" test ! -s "$TMP/served$f.csv"
    code=$(curl -s -o /dev/null -w '%{http_code}' -u "$BASIC_USER" \
        "$URL/data/history?observatory=ALMA&field=weather_tau225&startTime=$T0&endTime=$((T0 + 60))")
    is "$code" "$f" "--fault-$f: history answers $f too"
    is "$(stat "$URL" faults.$f)" 2 "--fault-$f: counted in /sim/stats"
    stop_sim f$f
done
like "$(cat s503.h)" 'Retry-After: [0-9]+' "503 carries Retry-After"
like "$(cat s429.h)" 'Retry-After: [0-9]+' "429 carries Retry-After"

fault_sim f401 --fault-401 1
is "$(snap s401)" 401 "--fault-401: snapshot answers 401"
is "$(cookie_of s401.h)" "" "--fault-401: no new cursor"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$BASIC_USER" -X PATCH "$URL/session/$SID")
is "$code" 404 "--fault-401: the session really expired (PATCH 404)"
stop_sim f401

fault_sim trunc --fault-truncate 1 --served "$TMP/served_trunc.csv"
is "$(snap st)" 200 "--fault-truncate: a 200"
fails "--fault-truncate: whose body is not valid JSON" json_ok st.json
len=$(sed -n 's/^Content-Length: \([0-9]*\).*/\1/ip' st.h | tr -d '\r')
is "$(wc -c < st.json)" "$len" "--fault-truncate: Content-Length matches the short body"
ok "--fault-truncate: the broken answer is not in the served log" test ! -s "$TMP/served_trunc.csv"
cur=$(cookie_of st.h)
snap st2 -b "snap_recvTime=$cur" > /dev/null
is "$(stat "$URL" broken_acknowledged)" 1 "a client that keeps a broken answer's cursor is counted"
is "$(stat "$URL" acknowledged)" 0 "and not as an acknowledgement"
stop_sim trunc

fault_sim bad --fault-badjson 1 --seed 1
is "$(snap sb)" 200 "--fault-badjson: a 200"
fails "--fault-badjson: whose body is not JSON" json_ok sb.json
snap sb2 > /dev/null
fails "--fault-badjson: nor is the next one" json_ok sb2.json
stop_sim bad

fault_sim drop --fault-drop 1
curl -s -o sd.json -u "$BASIC_USER" -b "sessionid=$SID" "$URL/data/snapshot"
is "$?" 18 "--fault-drop: the connection closes mid-body (curl: partial file)"
ok "--fault-drop: some of the body did arrive" test -s sd.json
stop_sim drop

fault_sim stall --fault-stall 1 --stall-seconds 4
start=$(date +%s.%N)
curl -s -o /dev/null --max-time 1 -u "$BASIC_USER" -b "sessionid=$SID" "$URL/data/snapshot"
is "$?" 28 "--fault-stall: a client with a 1 s timeout gives up"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/static/masterlist.json")
is "$code" 200 "--fault-stall: other connections are served meanwhile"
curl -s -o /dev/null -u "$BASIC_USER" -b "sessionid=$SID" "$URL/data/snapshot" &
sleep 0.3
t1=$(date +%s.%N)
stop_sim stall
ok "SIGTERM cuts a stall short: exit 0 within 2 s" perl -e "exit !($? == 0 && $(date +%s.%N) - $t1 < 2)"
wait

fault_sim future --fault-future 1 --served "$TMP/served_future.csv"
snap sf > /dev/null
ok "--fault-future: one point lies ~9 years ahead" \
    perl -MJSON::PP -0777 -ne 'my $d = decode_json($_); my $n = 0; for my $s (grep { $_ ne "vexfiles" } keys %$d) { for (values %{$d->{$s}{data}}) { $n++ if $_->[0] > '"$T0"' + 8 * 365 * 86400 } } exit !($n == 1)' sf.json
snapshot_points sf.json > sent_future
served_points "$TMP/served_future.csv" > logged_future
ok "--fault-future: the served log holds the point with its future time" cmp -s sent_future logged_future
stop_sim future

fault_sim badname --fault-badname 1 --served "$TMP/served_badname.csv"
snap sn > /dev/null
bad=$(perl -MJSON::PP -0777 -ne 'my $d = decode_json($_); for my $s (grep { $_ ne "vexfiles" } keys %$d) { print grep { !/^[A-Za-z_][A-Za-z0-9_]*$/ } keys %{$d->{$s}{data}} }' sn.json)
ok "--fault-badname: a parameter name that is not an identifier ($bad)" test -n "$bad"
ok "--fault-badname: logged as served, quoted" grep -qF "$bad" "$TMP/served_badname.csv"
stop_sim badname

fault_sim nan --fault-nan 1 --seed 3
snap sx > /dev/null
ok "--fault-nan: a NaN, Infinity or huge number" grep -Eq '": \[[0-9.]+, (NaN|-?Infinity|-?[0-9.]+e308)\]' sx.json
stop_sim nan

fault_sim utf --fault-nonutf8 1
snap su > /dev/null
ok "--fault-nonutf8: a string that is not UTF-8" perl -0777 -ne 'utf8::decode(my $x = $_) ? exit 1 : exit 0' su.json
stop_sim utf

fault_sim quirks --history-quirks 1
curl -s -o q.json -u "$BASIC_USER" \
    "$URL/data/history?observatory=ALMA&field=weather_tau225&startTime=$T0&endTime=$((T0 + 120))"
first=$(perl -MJSON::PP -0777 -ne 'print decode_json($_)->{ALMA}{weather_tau225}[0][0]' q.json)
last=$(perl -MJSON::PP -0777 -ne 'print decode_json($_)->{ALMA}{weather_tau225}[-1][0]' q.json)
ok "--history-quirks: the first point is from before startTime ($first)" test "$first" -lt "$T0"
is "$last" 946684800 "--history-quirks: the last point is the bogus 946684800"
stop_sim quirks

# --- a mix of faults at a rate, and determinism
mix="--fault-500 0.2 --fault-503 0.2 --fault-truncate 0.2 --fault-nan 0.3 --history-quirks 0.5"
for n in 1 2; do
    # shellcheck disable=SC2086
    fault_sim det$n --seed 42 --speed 0 $mix
    for i in 1 2 3 4 5 6; do
        code=$(snap det$n.$i)
        echo "$code $(cookie_of det$n.$i.h)" >> det$n.codes
        cat det$n.$i.json >> det$n.snaps
        curl -s -u "$BASIC_USER" "$URL/data/history?observatory=SMA&observatory=LMT&field=telescope_sourceName&field=weather_windSpeed&startTime=$((T0 - 900))&endTime=$T0" >> det$n.hist
    done
    stop_sim det$n
done
ok "same seed: the same history answers" cmp -s det1.hist det2.hist
ok "same seed: the same snapshots" cmp -s det1.snaps det2.snaps
ok "same seed: the same faults at the same requests" cmp -s det1.codes det2.codes
like "$(sort -u det1.codes | cut -d' ' -f1 | tr '\n' ' ')" '200 .*500|500 .*200|503' "a rate mixes good and failed answers"
H="data/history?observatory=SMA&observatory=LMT&field=telescope_sourceName&field=weather_windSpeed&startTime=$((T0 - 900))&endTime=$T0"
for seed in 42 43; do
    fault_sim seed$seed --seed "$seed" --speed 0
    curl -s -u "$BASIC_USER" "$URL/$H" > seed$seed.hist
    stop_sim seed$seed
done
ok "seed 42 without faults: a non-empty history answer" grep -q '"SMA": {"telescope_sourceName": \[\[' seed42.hist
fails "another seed: other data" cmp -s seed42.hist seed43.hist

done_testing
