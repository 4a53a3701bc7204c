#!/bin/bash
# The bad-input corpus: the live bridge against the simulator sending, one
# kind per run, every shape of bad input docs/reliability.md's "Bad input" lists.
# For each: a clear log line (one per snapshot, not one per point, and no
# line longer than the logger's 4 kB), no crash (the bridge runs on and
# exits 0 on PLEASE-EXIT), the valid rest of every answer stored exactly
# once (compare_served.pl: the simulator leaves the points it spoilt out
# of its served log, so storing one of them shows up as "extra"), and no
# SQL built from it (no table created, none with an odd name).
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1

"$BRIDGE" initdb --sqlitedb template.db
TABLES=$(sqlite3 template.db "SELECT count(*) FROM sqlite_schema")

# corpus NAME FAULT RATE REGEX : one run of the bridge with one fault.
corpus() {
    local name=$1 fault=$2 rate=$3 regex=$4
    start_sim "$name" --served "$TMP/$name.csv" --speed 120 --seed 3 "--fault-$fault" "$rate"
    local url=URL_$name
    cp template.db "$name.db"
    start_bridge "$name" "${!url}" "$name.db" --dt 0.2
    wait_answers "$name" 4
    touch "$name.data/PLEASE-EXIT"
    ok "$fault: the bridge runs on and stops on PLEASE-EXIT" wait_exit "$BPID" 10
    is "$WAIT_RC" 0 "$fault: exit status 0"
    local log answers lines
    log=$(cat "$name.log")
    answers=$(grep -c 'info: snapshot:' "$name.log")
    lines=$(grep -Ec -- "$regex" "$name.log")
    ok "$fault: logged ($lines line(s) for $answers answer(s)): $regex" \
        test "$lines" -ge 1 -a "$lines" -le $((answers + $(stat "${!url}" "faults.$(key "$fault")")))
    unlike "$log" "error:" "$fault: no error-level line"
    ok "$fault: no log line longer than 4 kB" test "$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$name.log")" -le 4200
    local res
    res=$(compare_served "$name.db" "$TMP/$name.csv" "${!url}")
    like "$res" "points [1-9][0-9]*, missing 0, extra 0$" "$fault: the valid rest stored exactly once ($res)"
    is "$(stat "${!url}" broken_acknowledged)" 0 "$fault: no broken answer's cursor used"
    is "$(sqlite3 "$name.db" "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE '%bridge_state%'")" "$TABLES" \
        "$fault: no table created"
    is "$(sqlite3 "$name.db" "SELECT count(*) FROM sqlite_schema WHERE name GLOB '*[^A-Za-z0-9_]*'")" 0 \
        "$fault: no SQL name built from it"
    stop_sim "$name"
}
key() { printf '%s' "$1" | tr - _; }

D='snapshot: [0-9]+ point\(s\) dropped'
corpus trunc truncate 0.5 'snapshot: .*not used \(cursor kept\)'
corpus badjson badjson 0.5 'snapshot: .*not used \(cursor kept\)'
corpus array array 0.5 'not a snapshot: the JSON is not an object at byte 0'
corpus starr station-array 1 'snapshot: ignoring station [A-Z]+ \(not an object\)'
corpus darr data-array 1 'snapshot: 1 station\(s\) ignored: its data is not an object \(e.g. [A-Z]+\)'
corpus nodata no-data 1 'snapshot: 1 station\(s\) ignored: it has no data \(e.g. [A-Z]+\)'
corpus eobj entry-object 1 "$D: entry is not a \[recvTime, value\] array \(e.g. [A-Z]+ [a-zA-Z_0-9]+\)"
corpus tstr time-string 1 "$D: time is not a finite number"
corpus tnull time-null 1 "$D: time is not a finite number"
corpus thuge time-huge 1 "$D: time is not a finite number"
corpus tneg time-negative 1 "$D: time is before 1970"
corpus future future 1 'snapshot: 1 point\(s\) stored as sent, with a warning: time is more than an hour ahead'
corpus badname badname 1 "$D: parameter name is not an SQL identifier"
corpus lname long-name 1 "$D: parameter name is not an SQL identifier \(e.g. [A-Z]+ p{60}\)"
corpus lvalue long-value 1 "$D: value is longer than 65536 bytes"
corpus nan nan 1 "$D: value is not a finite number"
corpus utf8 nonutf8 1 'snapshot: 1 point\(s\) stored as sent, with a warning: value is not UTF-8'
corpus bst bridge-station 1 "snapshot: ignoring data from a station named 'bridge'"
is "$(sqlite3 bst.db "SELECT count(*) FROM ts_param_bridge_points WHERE value = 999999")" 0 \
    "a station named bridge forged no bridge metric"
is "$(sqlite3 tneg.db "SELECT count(*) FROM ts_param_bridge_points WHERE time < 0")" 0 \
    "nothing before 1970 was stored"

done_testing
