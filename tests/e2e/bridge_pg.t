#!/bin/bash
# The live bridge into PostgreSQL (bridge --postgres), exactly once as on
# SQLite: with the simulator's faults, kill -9 at random instants, a server
# restart mid-run, and the connection cut at random instants and around
# COMMIT (after the server committed and before the answer came back; before
# the server saw it), the database ends with every point of every
# acknowledged answer exactly once and nothing that was not served. A lost
# connection and its return are one log line each, never one per retry;
# the password of CONNINFO never shows.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pglib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1

pg_start main
pg_deployment main
DB=$PG_main_BRIDGE
"$BRIDGE" initdb --postgres "$DB" 2> initdb.log
is "$?" 0 "initdb --postgres as the bridge's role"
sql() { "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

# --- command line
err=$("$BRIDGE" bridge --sqlitedb x.db --postgres "$DB" 2>&1)
is "$?" 2 "--sqlitedb and --postgres together: a usage error"
like "$err" "argument --postgres: not allowed with argument --sqlitedb" "saying so"
like "$("$BRIDGE" bridge -h)" "--postgres CONNINFO" "bridge -h shows --postgres"
err=$("$BRIDGE" --server http://127.0.0.1:9 --secrets "$SECRETS" bridge \
    --postgres "host=$TMP/nowhere port=$PG_main_PORT dbname=vlbimon user=vlbimon password=s3cr3t-pw" 2>&1)
is "$?" 1 "a server that does not answer at start-up: the bridge exits 1"
like "$err" "error: bridge: postgres host=$TMP/nowhere .* password=\*\*\*\*\*\*\*\* *:" \
    "naming the connection with its password masked"
unlike "$err" "s3cr3t-pw" "the password itself never shows"

start_sim k --served "$TMP/k.csv" --speed 120 --seed 11 --fault-500 0.03 --fault-badname 0.05 \
    --fault-nan 0.05 --fault-nonutf8 0.1

# --- kill -9 at random instants
RANDOM=20241130
kill_randomly 10 start_bridge_pg k "$URL_k" "$DB" --dt 0.2
is "$KILLS" 10 "the bridge was killed 10 times"
like "$(cat k.log)" "cursor [0-9.]+ \(from the database\)" "restarts continue from the database's cursor"

# --- a server restart mid-run: one line when the connection is lost, one when it is back
mark=$(wc -l < k.log)
start_bridge_pg k "$URL_k" "$DB" --dt 0.2
before=$(grep -c 'info: snapshot:' k.log)
wait_answers k $((before + 3))
pg_restart main
ok "the server restarted" test $? -eq 0
ok "the bridge reconnects" wait_lines k.log "reconnected after" 1
now=$(grep -c 'info: snapshot:' k.log)
ok "and stores answers again" wait_answers k $((now + 3))
# lines LOG-TEXT REGEX : how many lines match.
lines() { printf '%s\n' "$1" | grep -Ec -- "$2"; }
LOST='warning: postgres .*: connection lost \('
phase=$(tail -n +$((mark + 1)) k.log)
is "$(lines "$phase" "$LOST")" 1 "the restart is one 'connection lost' line"
is "$(lines "$phase" 'reconnected after')" 1 "and one 'reconnected' line"
# At most one line for the answer kept and one for the bridge's own series of
# the cycle the restart fell in, however many attempts it took.
kept=$(lines "$phase" 'kept in memory')
own=$(lines "$phase" "own series of this cycle: .*next attempt in")
ok "and no line per attempt in between (the answer kept: $kept line, the own series: $own)" \
    test "$(lines "$phase" 'next attempt in')" -le $((kept + own)) -a "$kept" -le 1 -a "$own" -le 1
touch k.data/PLEASE-EXIT
ok "the run ends on PLEASE-EXIT" wait_exit "$BPID" 10
is "$WAIT_RC" 0 "with status 0"

# --- the connection cut, through a proxy that can cut it at any point
mkdir px
perl "$FIXTURES/bridge/cutproxy.pl" "$TMP/px/.s.PGSQL.$PG_main_PORT" "$PG_main_SOCK/.s.PGSQL.$PG_main_PORT" 30 \
    > px.out 2> px.err &
PX=$!
track_pid "$PX"
for _ in $(seq 50); do [ -S "px/.s.PGSQL.$PG_main_PORT" ] && break; sleep 0.1; done
mark=$(wc -l < k.log)
start_bridge_pg k "$URL_k" "host=$TMP/px port=$PG_main_PORT dbname=vlbimon user=vlbimon" --dt 0.2
before=$(grep -c 'info: snapshot:' k.log)
wait_answers k $((before + 3))
kill -USR2 "$PX"
ok "a cut after the server committed, before the answer" wait_lines px.out "after the server committed" 1
ok "is found committed on reconnecting" wait_lines k.log "committed: the same rows sent again are not stored twice" 1
ok "and the same answer sent again is not stored twice" wait_lines k.log "whose COMMIT was cut off and that committed; not stored again" 1
kill -HUP "$PX"
ok "a cut before the server saw COMMIT" wait_lines px.out "before the server saw COMMIT" 1
ok "is found not committed, and the answer is stored after all" \
    wait_lines k.log "did not commit: nothing of it is stored" 1
lost=$(grep -c 'connection lost (' k.log)
kill -ALRM "$PX"
ok "a cut between the rows and the COMMIT" wait_lines px.out "inside a transaction" 1
# The transaction ends with its connection: the cycle begins it again on the
# next one (silently, when that is within the cycle) or keeps the answer.
# Finishing it there would lose the rows sent before the cut, which the
# exactly-once check below would find missing.
ok "is seen as a lost connection" wait_lines k.log "$LOST" $((lost + 1))
ok "and the answer is stored after reconnecting" wait_lines k.log "reconnected after" $((lost + 1))
for i in $(seq 8); do
    sleep "0.$((1 + RANDOM % 6))"
    kill -USR1 "$PX"
done
ok "eight cuts at random instants" wait_lines px.out "asked" 8
now=$(grep -c 'info: snapshot:' k.log)
ok "answers are stored after them" wait_answers k $((now + 3))
touch k.data/PLEASE-EXIT
ok "the run ends on PLEASE-EXIT" wait_exit "$BPID" 10
is "$WAIT_RC" 0 "with status 0"
phase=$(tail -n +$((mark + 1)) k.log)
lost=$(lines "$phase" "$LOST")
back=$(lines "$phase" 'reconnected after')
ok "every loss is one line and so is its return ($lost lost, $back back, $(grep -c '^cut' px.out) cuts)" \
    test "$lost" -eq "$back" -a "$lost" -ge 2 -a "$lost" -le "$(grep -c '^cut' px.out)"
ok "no line per attempt" test "$(lines "$phase" 'next attempt in')" -le "$lost"

# --- what is in the database
res=$(compare_served_pg "$DB" "$TMP/k.csv" "$URL_k")
diag "$res"
like "$res" "missing 0, extra 0$" "every point of every acknowledged answer is in the database exactly once"
is "$(stat "$URL_k" broken_acknowledged)" 0 "no broken answer's cursor was ever used"
is "$(sql "SELECT value FROM bridge_state WHERE key = 'snap_recvTime'")" \
    "$(sed -n 's/.*"last_snap": "\([^"]*\)".*/\1/p' k.data/127.0.0.1.json)" \
    "the database's cursor is the state file's"
like "$(cat k.log)" "value\(s\) of the wrong type, text that is not UTF-8 or a bad station skipped" \
    "text that is not UTF-8, which PostgreSQL refuses, is skipped with a log line"
is "$(sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'vlbimon' AND state LIKE 'idle in transaction%'")" 0 \
    "no session of the bridge is left in a transaction"

done_testing
