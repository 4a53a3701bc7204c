#!/bin/bash
# The live bridge under valgrind's memcheck: a short run against the
# simulator with bad input in most answers (broken bodies, bad names, NaN,
# non-UTF-8, wrong shapes, a 1 MB value), then PLEASE-EXIT. No memory
# error, no definite or indirect leak, and still every point stored exactly
# once. Then a run with backfill, its history answers broken now and then.
# Skipped without valgrind, and for an AddressSanitizer build (make test
# SANITIZE=1), which valgrind cannot run; plain `make test` runs it.
source "$(dirname "$0")/lib.sh"
if ! command -v valgrind > /dev/null; then
    echo "1..0 # SKIP valgrind is not installed"
    exit 0
fi
if ldd "$BRIDGE" | grep -q libasan; then
    echo "1..0 # SKIP $BRIDGE is an AddressSanitizer build; plain make test runs this"
    exit 0
fi
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1

start_sim v --served "$TMP/v.csv" --speed 60 --seed 5 --fault-truncate 0.2 --fault-badname 0.5 \
    --fault-nan 0.5 --fault-nonutf8 0.5 --fault-data-array 0.3 --fault-entry-object 0.3 \
    --fault-long-value 0.3 --fault-time-null 0.3 --fault-bridge-station 0.3
"$BRIDGE" initdb --sqlitedb v.db
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --log-file="$TMP/vg.log" "$BRIDGE" -v --server "$URL_v" --secrets "$SECRETS" --datadir v.data \
    bridge --sqlitedb v.db --dt 2 --no-backfill > v.out 2> v.log &
BPID=$!
track_pid $BPID
wait_answers v 4
touch v.data/PLEASE-EXIT
ok "under valgrind the bridge stops on PLEASE-EXIT" wait_exit $BPID 60
is "$WAIT_RC" 0 "with status 0: no memory error and no leak (--error-exitcode=99)"
[ "$WAIT_RC" -eq 0 ] || diag "$(head -n 60 "$TMP/vg.log")"
is "$(grep -c '==[0-9]*==' "$TMP/vg.log")" 0 "valgrind reported nothing"
res=$(compare_served v.db "$TMP/v.csv" "$URL_v")
like "$res" "points [1-9][0-9]*, missing 0, extra 0$" "every point stored exactly once ($res)"
like "$(cat v.log)" "point\(s\) dropped" "the bad input was there and dropped"

# The backfill under memcheck: stretches asked for, some answers broken or
# quirky, and committed; a small catalogue of two stations keeps it short.
source "$FIXTURES/backfill/bflib.sh"
small_masterlist small.json
start_sim w --masterlist small.json --speed 20 --seed 6 --fault-truncate 0.2 --fault-500 0.1 \
    --history-quirks 0.5
"$BRIDGE" --masterlist small.json initdb --sqlitedb w.db
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --log-file="$TMP/vgw.log" "$BRIDGE" -v --server "$URL_w" --secrets "$SECRETS" \
    --masterlist small.json --stations ALMA --stations SMA --datadir w.data \
    bridge --sqlitedb w.db --dt 1 --backfill-every 2 > w.out 2> w.log &
BPID=$!
track_pid $BPID
wait_lines w.log "info: backfill: .* row\(s\) stored" 3
touch w.data/PLEASE-EXIT
ok "with backfill, under valgrind the bridge stops on PLEASE-EXIT" wait_exit $BPID 60
is "$WAIT_RC" 0 "with status 0: no memory error and no leak"
[ "$WAIT_RC" -eq 0 ] || diag "$(head -n 60 "$TMP/vgw.log")"
is "$(grep -c '==[0-9]*==' "$TMP/vgw.log")" 0 "valgrind reported nothing"
ok "and history requests were made" test "$(stat "$URL_w" history)" -gt 0

done_testing
