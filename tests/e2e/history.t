#!/bin/bash
# history: downloading a range from the simulator into CSV files - exact
# values, --stations/--param/--public/--private, static parameters, one
# connection, retries that lose no window, resuming after kill -9 and Ctrl-C
# without refetching or duplicating, and the progress line; many series per
# request giving the very files of one series per request, with every fault
# on, in far fewer requests; servers that do not answer lists, caught; and
# answers far bigger than the masterlist's cadences promise.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/history/histlib.sh"
cd "$TMP" || exit 1

H() { # H URL ARGS... : the bridge against a simulator
    local url=$1
    shift
    "$BRIDGE" --server "$url" --secrets "$USERS" --masterlist "$MASTERLIST" "$@"
}
Hbg() { # the same in the background; $! is the bridge itself
    local url=$1
    shift
    "$BRIDGE" --server "$url" --secrets "$USERS" --masterlist "$MASTERLIST" "$@" &
}
PARAMS=(weather_tau225 observerMessages_weather telescope_sourceName telescope_onSource
    telescope_azimuthElevation recorder_1_shouldRecord observatory_name)
PARGS=()
for p in "${PARAMS[@]}"; do PARGS+=(--param "$p"); done
S0=$((T0 - 3 * 3600))
TWO=(--stations ALMA --stations SMA)

# same_tree A B : every CSV of A is byte for byte the one in B, and B has no others.
same_tree() {
    [ "$(cd "$1" && ls */*.csv)" == "$(cd "$2" && ls */*.csv)" ] || return 1
    local f
    for f in $(cd "$1" && ls */*.csv); do cmp -s "$1/$f" "$2/$f" || { diag "$f differs"; return 1; }; done
}

# same_meta A B : every metadata.json of A is byte for byte the one in B.
same_meta() {
    [ "$(cd "$1" && ls */metadata.json)" == "$(cd "$2" && ls */metadata.json)" ] || return 1
    local f
    for f in $(cd "$1" && ls */metadata.json); do cmp -s "$1/$f" "$2/$f" || { diag "$f differs"; return 1; }; done
}

# consistent DIR [behind] : every parameter in each metadata.json has bytes equal to its file's
# size (0 for a file not yet written); with "behind", at most the size (the files of a window
# appended before the process died, and cut back when the download resumes).
consistent() {
    local m p
    for m in "$1"/*/metadata.json; do
        for p in $(perl -MJSON::PP -e 'print join " ", sort keys %{decode_json(do { local $/; <STDIN> })}' < "$m"); do
            local f=$(dirname "$m")/$p.csv size=0
            [ -e "$f" ] && size=$(wc -c < "$f")
            local bytes=$(meta_field "$m" "$p" bytes)
            [ "$bytes" == "$size" ] || { [ "${2:-}" == behind ] && [ "$bytes" -le "$size" ]; } ||
                { diag "$m: $p"; return 1; }
        done
    done
}

# fallbacks LOG : how many times the log says the run went on one series per request.
fallbacks() { grep -c 'going on with one series per request' "$1"; }

# --- command line ----------------------------------------------------------
out=$("$BRIDGE" history -h)
like "$(printf '%s' "$out" | tr '\n' ' ')" "usage: vlbimon_bridge history .*--start START.*--end END.*--all.*--public.*--private.*--param PARAM.*--sleep" \
    "history -h shows the original's options and --sleep"
for bad in "--start $S0" "--start $S0 --all --public" "--all --start yesterday" \
    "--all --start $T0 --end $S0" "--all --start $S0 --param no_such_param" "--all --sleep -1" \
    "--all --start $S0 --batch-points -1"; do
    err=$(H http://127.0.0.1:9 history $bad 2>&1)
    is "$?" 2 "history $bad is a usage error"
    is "$(printf '%s\n' "$err" | wc -l)" 1 "history $bad: one line ($err)"
done

start_sim h
c0=$(stat "$URL_h" connections)
H "$URL_h" --datadir d1 "${TWO[@]}" history --start "$S0" --end "$T0" --all "${PARGS[@]}" \
    --sleep 0 2> d1.log
is "$?" 0 "a three-hour download for two stations and six parameters"
c1=$(stat "$URL_h" connections)
is "$((c1 - c0 - 1))" 1 "over one connection, kept alive for every request"
is "$(ls d1 | tr '\n' ' ')" "ALMA SMA " "--stations: only those stations"
is "$(ls d1/SMA | tr '\n' ' ')" "metadata.json $(printf '%s.csv ' $(printf '%s\n' "${PARAMS[@]}" | sort))" \
    "--param: only those parameters, and the metadata"
good=0
for s in ALMA SMA; do
    for p in "${PARAMS[@]}"; do
        diff <(truth "$URL_h" "$s" "$p" "$S0" "$T0") <(csv_points "d1/$s/$p.csv") > /dev/null ||
            { diag "$s $p differs from the simulator"; good=1; }
    done
done
is "$good" 0 "every point is the simulator's, exactly"
ok "values with commas, quotes and line breaks are quoted (RFC 4180)" \
    grep -q '^[0-9]*,"clear, ""dry""$' d1/SMA/observerMessages_weather.csv
ok "the source name of one space is kept as it is" grep -q '^[0-9]*, $' d1/SMA/telescope_sourceName.csv
is "$(meta_field d1/SMA/metadata.json weather_tau225 last_tried)" "$T0" "metadata.json: last_tried is --end"
last=$(tail -n 1 d1/SMA/weather_tau225.csv | cut -d, -f1)
is "$(meta_field d1/SMA/metadata.json weather_tau225 last_seen)" "$last" "metadata.json: last_seen is the newest point"
ok "metadata.json: bytes is each file's length" consistent d1
like "$(cat d1.log)" "notice: history: SMA weather_tau225 done: [0-9]+ point\(s\)" "without a terminal: a line per parameter"
is "$(fallbacks d1.log)" 0 "a server that answers lists is asked for many series at a time"

# --- parameters without a cadence: a window of a day -------------------------
H "$URL_h" --datadir ds --stations ALMA -v -v history --start "$S0" --end "$((S0 + 100000))" \
    --private --param observatory_name --sleep 0 2> ds.log
like "$(grep -m1 'ALMA observatory_name \[' ds.log)" "\[$S0, $((S0 + 86399))\]" \
    "a static parameter (no cadence) is downloaded, in windows of a day"
diff <(truth "$URL_h" ALMA observatory_name "$S0" "$((S0 + 100000))") <(csv_points ds/ALMA/observatory_name.csv) > /dev/null
is "$?" 0 "all its points, exactly"

# --- public and private cadences: the window is cadence x 100 ---------------
H "$URL_h" --datadir dp --stations ALMA -v -v history --start "$S0" --end "$T0" --public \
    --param weather_tau225 --param recorder_1_shouldRecord --sleep 0 2> dp.log
like "$(grep -m1 'ALMA weather_tau225 \[' dp.log)" "\[$S0, $((S0 + 5999))\]" "--public: weather_tau225 in windows of 60 x 100 s"
ok "--public: a parameter with only a private cadence is skipped" test ! -e dp/ALMA/recorder_1_shouldRecord.csv
H "$URL_h" --datadir dq --stations ALMA -v -v history --start "$S0" --end "$T0" --private \
    --param weather_tau225 --sleep 0 2> dq.log
like "$(grep -m1 'ALMA weather_tau225 \[' dq.log)" "\[$S0, $((S0 + 999))\]" "--private: in windows of 10 x 100 s"
ok "either way the same points" cmp -s dp/ALMA/weather_tau225.csv dq/ALMA/weather_tau225.csv

# --- faults: every failed window is asked again, quirks are dropped ----------
start_sim f --fault-500 0.15 --fault-truncate 0.1 --fault-badjson 0.1 --fault-drop 0.1 \
    --history-quirks 0.5
H "$URL_f" --datadir d2 "${TWO[@]}" history --start "$S0" --end "$T0" --all "${PARGS[@]}" \
    --sleep 0 2> d2.log
is "$?" 0 "with 500s, cut and broken answers, dropped connections and quirks"
like "$(cat d2.log)" "asking for the same window again" "failures are retried"
ok "and the files are exactly those of the clean run" same_tree d1 d2

# --- resume after kill -9, with a torn write ---------------------------------
Hbg "$URL_h" --datadir d3 "${TWO[@]}" history --start "$S0" --end "$T0" --private "${PARGS[@]}" \
    --sleep 0.05 --batch-points 3000 2> /dev/null
pid=$!
for _ in $(seq 100); do [ -s d3/ALMA/metadata.json ] && break; sleep 0.05; done
sleep 0.5
kill -KILL $pid
wait $pid 2> /dev/null
ok "killed mid-download, no file is shorter than its metadata says" consistent d3 behind
f=$(ls d3/*/*.csv | head -n 1)
printf '1712999999,torn li' >> "$f"
cp -r d3 d3.before
H "$URL_h" --datadir d3 "${TWO[@]}" -v -v history --end "$T0" --private "${PARGS[@]}" --sleep 0 2> d3.log
is "$?" 0 "a rerun without --start resumes"
ok "the torn line is gone and nothing is missing or doubled" same_tree d1 d3
refetched=$(perl -e '
    use JSON::PP;
    my %tried;
    for my $m (glob "d3.before/*/metadata.json") {
        my ($s) = $m =~ m{d3.before/([^/]+)/};
        open my $fh, "<", $m; local $/; my $d = decode_json(<$fh>);
        $tried{"$s $_"} = $d->{$_}{last_tried} for keys %$d;
    }
    open my $log, "<", "d3.log";
    while (<$log>) {
        next unless /history: (\S+ \S+) \[(\d+), (\d+)\]/;
        print "$1 [$2, $3]\n" if defined $tried{$1} && $2 <= $tried{$1};
    }')
is "$refetched" "" "no window up to a parameter's last_tried is asked for again"

# --- kill -9 at random instants, many series per request ----------------------
for _ in 1 2 3 4 5 6; do
    Hbg "$URL_h" --datadir d6 "${TWO[@]}" history --start "$S0" --end "$T0" --all "${PARGS[@]}" \
        --sleep 0.02 --batch-points 2000 2> /dev/null
    pid=$!
    sleep "0.$((RANDOM % 8 + 1))"
    kill -KILL $pid 2> /dev/null
    wait $pid 2> /dev/null
done
H "$URL_h" --datadir d6 "${TWO[@]}" history --end "$T0" --all "${PARGS[@]}" --sleep 0 2> /dev/null
ok "six kill -9s at random instants, then a rerun: exactly the files of one clean run" \
    same_tree d1 d6
ok "and the same metadata.json" same_meta d1 d6

# --- Ctrl-C: stops between windows, metadata consistent ----------------------
Hbg "$URL_h" --datadir d4 "${TWO[@]}" history --start "$S0" --end "$T0" --private "${PARGS[@]}" \
    --sleep 0.2 2> d4.log
pid=$!
for _ in $(seq 100); do [ -s d4/ALMA/metadata.json ] && break; sleep 0.05; done
kill -INT $pid
wait $pid
is "$?" 1 "SIGINT stops the download (status 1: not finished)"
like "$(cat d4.log)" "stopped by SIGINT; every finished window is saved" "and says so"
ok "with the metadata consistent" consistent d4
H "$URL_h" --datadir d4 "${TWO[@]}" history --end "$T0" --private "${PARGS[@]}" --sleep 0 2> /dev/null
ok "a rerun finishes it exactly" same_tree d1 d4

# --- a terminal gets a progress line -----------------------------------------
script -qec "$BRIDGE --server $URL_h --secrets $USERS --masterlist $MASTERLIST --datadir d5 --stations ALMA history --start $S0 --end $T0 --all --param weather_tau225 --param telescope_onSource --sleep 0" /dev/null > tty.out
like "$(tr '\r' '\n' < tty.out)" "history: 2/2 series of 1 station\(s\) done, [0-9]+ points, [0-9]+ requests, ETA 00:00:00" \
    "on a terminal: series, stations, points and an ETA"
is "$(grep -c $'\r' tty.out)" 1 "updated in place with carriage returns"

# --- many series per request: the files of one series per request ------------
# A parameter of each kind (every cadence pair of the masterlist, ALMA's own, irregular,
# static; quirky values) at two stations over three hours: one series per request from a clean
# simulator, then many per request (a small --batch-points, for many requests) from one with
# every history fault on. Seed 6 makes each fault happen at least once; 503 and 429 ask to wait
# 5 and 10 s, so they are rare.
KINDS=("${PARAMS[@]}" rx_1_antTemp maser_lock weatherMap_waterVapor_url phasing_status bdc_1_band
    cc_clientglobalMaxrss array_correlation_phase)
KARGS=()
for p in "${KINDS[@]}"; do KARGS+=(--param "$p"); done
FAULTS=(500 503 429 truncate badjson stall drop history_quirks)
start_sim c --seed 6
start_sim x --seed 6 --stall-seconds 0.3 --fault-500 0.08 --fault-503 0.02 --fault-429 0.02 \
    --fault-truncate 0.08 --fault-badjson 0.08 --fault-stall 0.15 --fault-drop 0.08 \
    --history-quirks 0.5
# windows LOG : the series windows a -v -v log says were fetched.
windows() { grep -c 'history: [A-Z]* [a-zA-Z0-9_]* \[[0-9]*, [0-9]*\]: [0-9]* point(s)$' "$1"; }
H "$URL_c" --datadir e1 "${TWO[@]}" -v -v history --start "$S0" --end "$T0" --all "${KARGS[@]}" \
    --sleep 0 --batch-points 0 2> e1.log
is "$?" 0 "a parameter of each kind, one series per request"
is "$(stat "$URL_c" history)" "$(windows e1.log)" "--batch-points 0: one request per series and window"
H "$URL_x" --datadir e2 "${TWO[@]}" history --start "$S0" --end "$T0" --all "${KARGS[@]}" \
    --sleep 0 --batch-points 2000 2> e2.log
is "$?" 0 "the same, many series per request, with every fault on"
for f in "${FAULTS[@]}"; do
    ok "fault $f happened" test "$(stat "$URL_x" "faults.$f")" -gt 0
done
ok "the same files, byte for byte" same_tree e1 e2
ok "and the same metadata.json" same_meta e1 e2
like "$(cat e2.log)" "series \(2 station\(s\) x [0-9]+ parameter\(s\)\) .*asking for the same window again" \
    "a failed request for many series is asked again whole"
is "$(fallbacks e2.log)" 0 "faults do not make it fall back to one series per request"

# Every parameter of two stations: the windows of one series per request (logged with -v -v)
# in at least 20 times fewer requests.
r0=$(stat "$URL_h" history)
H "$URL_h" --datadir e3 "${TWO[@]}" -v -v history --start "$S0" --end "$T0" --all --sleep 0 \
    2> e3.log
is "$?" 0 "every parameter of two stations, many series per request"
batched=$(($(stat "$URL_h" history) - r0))
ok "$(windows e3.log) series windows in $batched requests: at least 20 times fewer" \
    test $((batched * 20)) -le "$(windows e3.log)"
ok "every parameter of the masterlist, static ones too" \
    test "$(ls e3/SMA/*.csv | wc -l)" -eq "$(perl -MJSON::PP -e 'print scalar keys %{decode_json(do { local $/; <STDIN> })->{default}}' < "$MASTERLIST")"

# --- servers that do not take lists: caught, and nothing lost -----------------
for mode in first 400 500; do
    start_sim "m$mode" --history-multi "$mode"
    url=URL_m$mode
    H "${!url}" --datadir "m$mode" "${TWO[@]}" history --start "$S0" --end "$T0" --all "${PARGS[@]}" \
        --sleep 0 2> "m$mode.log"
    is "$?" 0 "--history-multi $mode: the download finishes"
    is "$(fallbacks "m$mode.log")" 1 "--history-multi $mode: caught, with one line"
    ok "--history-multi $mode: every file is that of a good server" same_tree d1 "m$mode"
done
like "$(grep 'going on' mfirst.log)" "left [A-Z]+ [a-zA-Z0-9_]+ \[[0-9]+, [0-9]+\] out of an answer for many series" \
    "first: a series left out that has points alone"
like "$(grep 'going on' m500.log)" "requests for many series failed in a row while one series asked alone was answered" \
    "500: requests for many series fail, one alone does not"

# --- answers far bigger than the masterlist's cadences promise -----------------
perl "$ROOT/tools/dense-masterlist.pl" < "$MASTERLIST" > fast.json
start_sim big --masterlist fast.json
H "$URL_big" --datadir b0 --stations ALMA history --start "$S0" --end "$T0" --all "${PARGS[@]}" \
    --sleep 0 --batch-points 0 2> b0.log
H "$URL_big" --datadir b1 --stations ALMA history --start "$S0" --end "$T0" --all "${PARGS[@]}" \
    --sleep 0 --batch-points 2000 2> b1.log
is "$?" 0 "a simulator ten times faster than the masterlist, with a small --batch-points"
like "$(cat b1.log)" "answer larger than 128000 bytes; asking for fewer series at a time" \
    "an answer over the limit is refused, and fewer series asked for"
like "$(cat b1.log)" "answer larger than 128000 bytes; asking for a shorter window" \
    "one series over the limit: a shorter window"
ok "the files are those of one series per request" same_tree b0 b1

# --- nothing to resume from ----------------------------------------------------
err=$(H "$URL_h" --datadir empty --stations ALMA history --all --param weather_tau225 2>&1)
is "$?" 2 "without --start and without metadata: a usage error"
like "$err" "ALMA/weather_tau225: nothing to resume from .*give --start" "that says what to do"
err=$(H "$URL_h" --datadir empty --stations NOWHERE history --all --start "$S0" 2>&1)
is "$?" 2 "an unknown station is a usage error"

done_testing
