#!/bin/bash
# history: downloading a range from the simulator into CSV files - exact
# values, --stations/--param/--public/--private, one connection, retries
# that lose no window, resuming after kill -9 and Ctrl-C without refetching
# or duplicating, and the progress line.
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
    telescope_azimuthElevation recorder_1_shouldRecord)
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

# consistent DIR : every parameter in each metadata.json has bytes equal to its file's size
# (0 for a file not yet written).
consistent() {
    local m p
    for m in "$1"/*/metadata.json; do
        for p in $(perl -MJSON::PP -e 'print join " ", sort keys %{decode_json(do { local $/; <STDIN> })}' < "$m"); do
            local f=$(dirname "$m")/$p.csv size=0
            [ -e "$f" ] && size=$(wc -c < "$f")
            [ "$(meta_field "$m" "$p" bytes)" == "$size" ] ||
                { diag "$m: $p"; return 1; }
        done
    done
}

# --- command line ----------------------------------------------------------
out=$("$BRIDGE" history -h)
like "$(printf '%s' "$out" | tr '\n' ' ')" "usage: vlbimon_bridge history .*--start START.*--end END.*--all.*--public.*--private.*--param PARAM.*--sleep" \
    "history -h shows the original's options and --sleep"
for bad in "--start $S0" "--start $S0 --all --public" "--all --start yesterday" \
    "--all --start $T0 --end $S0" "--all --start $S0 --param no_such_param" "--all --sleep -1"; do
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
    --sleep 0.05 2> /dev/null
pid=$!
for _ in $(seq 100); do [ -s d3/ALMA/metadata.json ] && break; sleep 0.05; done
sleep 0.5
kill -KILL $pid
wait $pid 2> /dev/null
ok "killed mid-download, the metadata is consistent" consistent d3
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
like "$(tr '\r' '\n' < tty.out)" "history: station 1/1 ALMA, parameters 2/2 done, [0-9]+ points, [0-9]+ requests, ETA 00:00:00" \
    "on a terminal: stations, parameters, points and an ETA"
is "$(grep -c $'\r' tty.out)" 1 "updated in place with carriage returns"

# --- nothing to resume from ----------------------------------------------------
err=$(H "$URL_h" --datadir empty --stations ALMA history --all --param weather_tau225 2>&1)
is "$?" 2 "without --start and without metadata: a usage error"
like "$err" "ALMA/weather_tau225: nothing to resume from .*give --start" "that says what to do"
err=$(H "$URL_h" --datadir empty --stations NOWHERE history --all --start "$S0" 2>&1)
is "$?" 2 "an unknown station is a usage error"

done_testing
