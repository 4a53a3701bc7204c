#!/bin/bash
# The live bridge against the simulator: the command line, debug mode, every
# way of stopping it, a concurrent reader, one connection for many polls,
# and exactly-once storage with every fault the simulator can inject.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1

# --- command line ---------------------------------------------------------
out=$("$BRIDGE" bridge -h)
is "$?" 0 "bridge -h exits 0"
like "$(printf "%s" "$out" | tr "\n" " ")" "usage: vlbimon_bridge bridge .*--start START.*--dt DT.*--sqlitedb SQLITEDB.*--wal WAL" \
    "bridge -h shows the original's options"
for bad in "--dt 0" "--dt -1" "--dt soon" "--wal -5" "--wal" "--bogus"; do
    err=$("$BRIDGE" bridge $bad 2>&1)
    is "$?" 2 "bridge $bad is a usage error"
    is "$(printf '%s\n' "$err" | wc -l)" 1 "bridge $bad: one line ($err)"
done

start_sim s --served "$TMP/s.csv" --speed 120
"$BRIDGE" initdb --sqlitedb live.db
err=$("$BRIDGE" --server "$URL_s" --secrets "$SECRETS" bridge --sqlitedb missing.db 2>&1)
is "$?" 1 "a missing database is a runtime error"
like "$err" "database missing.db does not exist; create it with" "that names the file and the fix"
like "$err" "^bridge starting [0-9]{4}-[0-9]{2}-[0-9]{2}T" "after the original's start line"
printf 'elsewhere.example.org:\n  basicauth: [a, b]\n' > other.yaml
chmod 600 other.yaml
err=$("$BRIDGE" --server "$URL_s" --secrets other.yaml bridge --sqlitedb live.db 2>&1)
is "$?" 1 "no credentials for the server's host is a runtime error"
like "$err" "other.yaml.*127.0.0.1|127.0.0.1.*other.yaml" "naming the secrets file and the host"
err=$("$BRIDGE" --server "$URL_s" --secrets "$SECRETS" bridge --sqlitedb live.db --start yesterday 2>&1)
is "$?" 1 "a bad --start is refused"
like "$err" "argument --start" "naming the option"

# --- debug mode: no database, rows on stdout, PLEASE-EXIT ends it ----------
# Its own simulator: s's served log is what live.db must hold.
start_sim d --speed 120
"$BRIDGE" --server "$URL_d" --secrets "$SECRETS" --datadir dbg bridge --dt 0.3 \
    > dbg.out 2> dbg.log &
pid=$!
track_pid $pid
for _ in $(seq 100); do grep -q '^ts_param_' dbg.out 2> /dev/null && break; sleep 0.1; done
touch dbg/PLEASE-EXIT
ok "debug mode: PLEASE-EXIT ends the bridge" wait_exit $pid 5
is "$WAIT_RC" 0 "debug mode: with status 0"
ok "debug mode: PLEASE-EXIT is removed" test ! -e dbg/PLEASE-EXIT
like "$(cat dbg.out)" '^ts_param_[A-Za-z0-9_]+,[A-Z]+,[0-9]+,' "debug mode prints table,station,time,value rows"
like "$(cat dbg.out)" '^bridge_stationStatus,[0-9]+,[A-Z]+,' "and station status rows"
like "$(cat dbg/127.0.0.1.json)" '^\{"last_snap": "[0-9.]+", "sessionid": "[0-9a-f]+"\}$' \
    "debug mode writes the original's state file"

# --- a reader holding a read transaction for 5 s loses no cycle; one connection
cat > reader.lua << 'LUA'
local vlbimon = require "vlbimon"
local path, flag, done = ...
local db = vlbimon.open(path, { readonly = true })
db:exec("BEGIN")
local n = db:first("SELECT count(*) AS n FROM ts_param_weather_tau225").n
io.open(flag, "w"):close()
local t0 = vlbimon.now()
while vlbimon.now() - t0 < 5 do end
local again = db:first("SELECT count(*) AS n FROM ts_param_weather_tau225").n
db:exec("COMMIT")
io.open(done, "w"):close()
print(n == again and "stable" or "moved")
LUA
start_bridge r "$URL_s" live.db --dt 0.2
wait_answers r 5
"$BRIDGE" run reader.lua live.db reader.flag reader.done > reader.out 2>&1 &
rpid=$!
track_pid $rpid
for _ in $(seq 100); do [ -e reader.flag ] && break; sleep 0.05; done
before=$(grep -c 'info: snapshot:' r.log)
wait $rpid
after=$(grep -c 'info: snapshot:' r.log)
is "$(cat reader.out)" "stable" "the reader kept its snapshot for 5 s"
ok "the bridge stored answers while the reader held its transaction ($before -> $after)" \
    test "$after" -gt "$before"
wait_answers r 105
touch r.data/PLEASE-EXIT
ok "PLEASE-EXIT stops the bridge within 2 s" wait_exit $BPID 2
is "$WAIT_RC" 0 "with status 0"
stop=$(grep 'bridge stopping' r.log)
cycles=$(printf '%s' "$stop" | sed -n 's/.*: \([0-9]*\) cycles, \([0-9]*\) answers stored.*/\1 \2/p')
read -r ncyc nans <<< "$cycles"
# A fetch may time out on a loaded machine (the timeout is below --dt); what
# must never happen is a cycle lost to the database.
failed=$(grep -c 'warning: snapshot: GET' r.log)
is "$nans" "$((ncyc - failed))" "every answer fetched was stored, reader or not ($cycles, $failed fetches failed)"
unlike "$(cat r.log)" "error|database:" "no database error during the run"
if [ "$failed" -eq 0 ]; then
    like "$stop" "1 connection\(s\) used" "one TCP connection served $nans polls"
    ok "at least 100 polls" test "${nans:-0}" -ge 100
else
    ok "# SKIP a fetch timed out (the machine is loaded), which costs the connection" true
    ok "# SKIP connection reuse not measurable in this run" true
fi
conns=$(stat "$URL_s" connections)
sessions=$(stat "$URL_s" sessions)
diag "simulator: $conns connections (incl. this test's), $sessions sessions"
# vlbimon's session model: the session cookie authenticates snapshots.
is "$(stat "$URL_s" credentials.snapshot)" 0 \
    "no snapshot request carried an Authorization header ($(stat "$URL_s" snapshots) snapshots)"
is "$(stat "$URL_s" credentials.session)" "$sessions" \
    "the password went with each POST /session only, once per session ($sessions)"
dbcur=$(sqlite3 live.db "SELECT value FROM bridge_state WHERE key = 'snap_recvTime'")
like "$stop" "cursor $dbcur," "the last cycle is committed: the database holds the final cursor"
like "$(cat r.data/127.0.0.1.json)" "\"last_snap\": \"$dbcur\"" "and the state file agrees"
is "$(compare_served live.db "$TMP/s.csv" "$URL_s" | sed 's/answers .*, points/points/;s/points [0-9]*/points N/')" \
    "points N, missing 0, extra 0" "every served point of every acknowledged answer is stored exactly once"

# --- restart: the saved cursor continues without a gap or a duplicate -----
start_bridge r "$URL_s" live.db --dt 0.2
wait_answers r 110
like "$(cat r.log)" "notice: cursor $dbcur \(from the database\)" "a restart continues from the database's cursor"
like "$(cat r.log)" "session restored" "and reuses the saved session"
kill -TERM $BPID
ok "SIGTERM stops the bridge" wait_exit $BPID 2
is "$WAIT_RC" 0 "with status 0"
like "$(tail -n 1 r.log)" "bridge stopping on SIGTERM" "and says so"
is "$(compare_served live.db "$TMP/s.csv" "$URL_s" | sed 's/.*missing/missing/')" \
    "missing 0, extra 0" "still exactly once after the restart"

start_bridge r "$URL_s" live.db --dt 0.2
wait_answers r 113
kill -INT $BPID
ok "SIGINT stops the bridge" wait_exit $BPID 2
is "$WAIT_RC" 0 "with status 0"
last=$(grep 'bridge stopping on SIGINT' r.log | sed 's/.*cursor \([0-9.]*\),.*/\1/')
is "$(sqlite3 live.db "SELECT value FROM bridge_state")" "$last" "SIGINT: the last cycle is committed"

# --- a corrupt state file is reported and ignored; the database's cursor wins
echo '{"last_snap": ' > r.data/127.0.0.1.json
start_bridge r "$URL_s" live.db --dt 0.2
wait_answers r 116
kill -TERM $BPID
wait_exit $BPID 2
like "$(cat r.log)" "state file .*127.0.0.1.json is corrupt" "a corrupt state file is reported"
like "$(cat r.log)" "notice: cursor $last \(from the database\)" "and ignored"

# --- values from the state file never forge cookies or headers --------------
printf '{"last_snap": "1; admin=1", "sessionid": "abc\\r\\nX-Evil: 1"}' > r.data/127.0.0.1.json
start_bridge r "$URL_s" live.db --dt 0.2
wait_answers r 119
kill -TERM $BPID
wait_exit $BPID 2
log=$(sed -n '/state file .*is corrupt/,$p' r.log)
like "$log" "last_snap is not a cursor; ignored" "a cursor that is not cookie-safe is ignored"
like "$log" "session opened" "a session id that is not cookie-safe is not sent; a new session is opened"

# --- rollback-journal mode: a reader's lock outlasts the busy timeout --------
# The commit cannot get its exclusive lock while the reader holds its shared
# one; the answer must wait in memory, not be lost, and the cursor not move.
"$BRIDGE" initdb --sqlitedb rb.db
: > rb-served.csv
start_sim rb --served "$TMP/rb-served.csv" --speed 120
start_bridge rb "$URL_rb" rb.db --dt 0.2 --wal 0
wait_answers rb 3
"$BRIDGE" run reader.lua rb.db rb.flag rb.done > rb-reader.out 2>&1 &
rpid=$!
track_pid $rpid
wait $rpid
n=$(grep -c 'info: snapshot:' rb.log)
wait_answers rb $((n + 3))
touch rb.data/PLEASE-EXIT
wait_exit $BPID 5
is "$(sqlite3 rb.db 'PRAGMA journal_mode')" "delete" "--wal 0 leaves the database in rollback-journal mode"
like "$(cat rb.log)" "the answer is kept in memory and committed before the next fetch" \
    "a commit blocked past the cycle keeps the answer in memory"
like "$(cat rb.log)" "info: snapshot: .*" "and stores it once the reader is gone"
is "$(compare_served rb.db "$TMP/rb-served.csv" "$URL_rb" | sed 's/.*missing/missing/')" \
    "missing 0, extra 0" "nothing lost or doubled while the database was locked"

# --- SIGHUP reloads the transformers; a new series gets its table -----------
mkdir tf
cp "$ROOT"/transformers/*.lua tf/
mark() { # VERSION : a transformer that marks every snapshot with VERSION
    printf 'local M = { name = "mark" }\nfunction M.transform(points, ctx)\n    points:add("bridge", "test_marker", math.floor(ctx.now), "%s")\nend\nreturn M\n' "$1" > tf/99-mark.lua
}
mark v1
"$BRIDGE" initdb --sqlitedb hup.db
start_bridge h "$URL_s" hup.db --dt 0.2 --transformers tf
wait_answers h 2
like "$(cat h.log)" "notice: created table ts_param_test_marker \(TEXT\)" \
    "a point for a series without a table creates it, typed from the value, with a notice"
# Same size and modification time: only SIGHUP can tell the bridge to reload.
touch -r tf/99-mark.lua ref
mark v2
touch -r ref tf/99-mark.lua
kill -HUP $BPID
for _ in $(seq 100); do grep -q 'transformers reloaded (SIGHUP)' h.log && break; sleep 0.05; done
n=$(grep -c 'info: snapshot:' h.log)
wait_answers h $((n + 2))
touch h.data/PLEASE-EXIT
wait_exit $BPID 5
like "$(cat h.log)" "notice: transformers reloaded \(SIGHUP\)" "SIGHUP reloads the transformers"
is "$(sqlite3 hup.db "SELECT group_concat(DISTINCT value) FROM (SELECT value FROM ts_param_test_marker ORDER BY time, seq)")" \
    "v1,v2" "the reloaded transformer runs from the next cycle on"
like "$(sqlite3 hup.db "SELECT group_concat(sql) FROM sqlite_schema WHERE name LIKE '%test_marker%'")" \
    "^CREATE TABLE ts_param_test_marker \(time INTEGER NOT NULL, station TEXT NOT NULL, value TEXT, seq INTEGER NOT NULL, PRIMARY KEY \(time, station, seq\)\) WITHOUT ROWID$" \
    "the created series is made as initdb makes one"

# --- a fetch in progress is aborted by SIGTERM ------------------------------
start_sim st --speed 120 --fault-stall 1 --stall-seconds 60
"$BRIDGE" initdb --sqlitedb stall.db
start_bridge st "$URL_st" stall.db --dt 30
for _ in $(seq 100); do [ "$(stat "$URL_st" faults.stall)" -ge 1 ] && break; sleep 0.05; done
kill -TERM $BPID
ok "SIGTERM during a stalled fetch exits within 2 s" wait_exit $BPID 2
is "$WAIT_RC" 0 "with status 0"

# --- SIGTERM while the server cannot be reached at start-up -------------------
"$BRIDGE" initdb --sqlitedb down.db
start_bridge down http://127.0.0.1:9 down.db --dt 1
for _ in $(seq 100); do grep -q 'cannot open a session' down.log 2> /dev/null && break; sleep 0.05; done
kill -TERM $BPID
ok "SIGTERM while the server is unreachable at start-up exits within 2 s" wait_exit $BPID 2
is "$WAIT_RC" 0 "with status 0: stopping was asked for"
like "$(cat down.log)" "cannot open a session \(.*\); retrying in 10 s" "each failed attempt is one log line"

# --- Digest accounts ---------------------------------------------------------
start_sim dg --speed 120 --digest
printf '127.0.0.1:\n  digestauth:\n  - Digest User\n  - d1gest\n' > digest.yaml
chmod 600 digest.yaml
"$BRIDGE" initdb --sqlitedb dg.db
"$BRIDGE" -v --server "$URL_dg" --secrets digest.yaml --datadir dg.data bridge --sqlitedb dg.db \
    --dt 0.2 > dg.out 2> dg.log &
pid=$!
track_pid $pid
for _ in $(seq 100); do [ "$(grep -c 'info: snapshot:' dg.log)" -ge 2 ] && break; sleep 0.1; done
touch dg.data/PLEASE-EXIT
wait_exit $pid 5
ok "a Digest account bridges" test "$(sqlite3 dg.db 'SELECT count(*) FROM ts_param_weather_tau225')" -gt 0
is "$(stat "$URL_dg" credentials.session)" 1 "Digest: credentials on POST /session"
is "$(stat "$URL_dg" credentials.snapshot)" 0 "and cookie-only snapshots"

# --- every fault at once: nothing lost, nothing twice, nothing unsafe --------
start_sim f --served "$TMP/f.csv" --speed 120 --seed 7 --stall-seconds 3 \
    --fault-500 0.04 --fault-503 0.02 --fault-429 0.02 --fault-401 0.04 --fault-truncate 0.04 \
    --fault-badjson 0.04 --fault-stall 0.02 --fault-drop 0.04 --fault-future 0.05 \
    --fault-badname 0.08 --fault-nan 0.08 --fault-nonutf8 0.05
"$BRIDGE" initdb --sqlitedb faults.db
tables=$(sqlite3 faults.db "SELECT count(*) FROM sqlite_schema")
start_bridge f "$URL_f" faults.db --dt 0.2
wait_answers f 60
touch f.data/PLEASE-EXIT
ok "with every fault enabled the bridge keeps running until PLEASE-EXIT" wait_exit $BPID 10
is "$WAIT_RC" 0 "and exits 0"
res=$(compare_served faults.db "$TMP/f.csv" "$URL_f")
diag "$res"
like "$res" "missing 0, extra 0$" "every point of every acknowledged answer is stored exactly once"
is "$(stat "$URL_f" broken_acknowledged)" 0 "the cursor of a broken answer is never used"
log=$(cat f.log)
for f in 500 503 429; do
    if [ "$(stat "$URL_f" faults.$f)" -gt 0 ]; then
        like "$log" "HTTP $f; backing off" "HTTP $f backs off"
    else
        ok "# SKIP the simulator sent no $f in this run" true
    fi
done
like "$log" "HTTP 401, the session expired; opening a new one" "an expired session is re-opened"
is "$(stat "$URL_f" credentials.session)" "$(stat "$URL_f" sessions)" \
    "with the account's credentials on each POST /session ($(stat "$URL_f" sessions) sessions)"
is "$(stat "$URL_f" credentials.snapshot)" 0 "and none on the snapshots"
like "$log" "snapshot: .*not used \(cursor kept\)" "a broken body is not used"
like "$log" "timed out|Timeout|Operation too slow|connection|transfer closed|Recv failure" \
    "a stalled or dropped transfer is one log line"
like "$log" "point\(s\) dropped: parameter name is not an SQL identifier" "a non-identifier parameter is dropped with a log line"
# The decoder reports dropped points only after reading a snapshot whole, so
# this line also shows that NaN does not cost the rest of its snapshot.
like "$log" "point\(s\) dropped: value is not a finite number" \
    "NaN and Infinity values are dropped with a log line, the rest of the snapshot stored"
is "$(sqlite3 faults.db "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE '%bridge_state%'")" "$tables" "no table was created or dropped by a bad name"
is "$(sqlite3 faults.db "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%DROP%' OR name LIKE '%;%'")" 0 \
    "no SQL ran with it"
unlike "$log" "error:" "no error-level line"
ok "a cycle without an answer still records the bridge's own series (0 points)" \
    test "$(sqlite3 faults.db "SELECT count(*) FROM ts_param_bridge_points WHERE station = 'bridge' AND value = 0")" -gt 0

done_testing
