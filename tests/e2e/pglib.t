#!/bin/bash
# The PostgreSQL test harness (tests/e2e/pglib.sh): a server of its own, not
# as root, on a socket in the test's folder and on 127.0.0.1 only, with
# passwords over TCP; a streaming hot standby that sees the primary's rows
# and refuses writes; a server left running by a failing test is stopped and
# its folder removed; a test whose server cannot start fails.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pglib.sh"
cd "$TMP" || exit 1

pg_start main
is "$(pg_psql main -Atc "SELECT 1")" 1 "the server answers on its socket"
pid=$(head -n 1 "$PG_main_DIR/data/postmaster.pid")
owner=$(ps -o user= -p "$pid")
is "$owner" "$PG_OS_USER" "it runs as $PG_OS_USER"
[ "$(id -u)" -ne 0 ] || unlike "$(ps -o uid= -p "$pid")" "^ *0$" "not as root"
is "$(pg_psql main -Atc "SHOW listen_addresses")" 127.0.0.1 "it listens on 127.0.0.1 only"
is "$(pg_psql main -Atc "SHOW unix_socket_directories")" "$PG_main_DIR" \
    "its socket is in the test's own folder"
like "$(pg_psql main -Atc "SHOW port")" "^$PG_main_PORT$" "on the port the harness chose"

pg_psql main -c "CREATE ROLE alice LOGIN PASSWORD 'w0nderland'"
tcp="host=127.0.0.1 port=$PG_main_PORT dbname=postgres user=alice"
is "$(PGPASSWORD=w0nderland "$PG_BIN/psql" -X -d "$tcp" -Atc "SELECT current_user")" alice \
    "over TCP a role gets in with its password"
err=$(PGPASSWORD=wrong "$PG_BIN/psql" -X -d "$tcp" -Atc "SELECT 1" 2>&1)
like "$err" "password authentication failed" "and not with a wrong one"

pg_start_standby main standby
is "$(pg_psql standby -Atc "SELECT pg_is_in_recovery()")" t "the standby is in recovery"
pg_psql main -c "CREATE TABLE t (x integer); INSERT INTO t SELECT generate_series(1, 100)"
ok "the standby replays the primary's writes" pg_wait_replay main standby
is "$(pg_psql standby -Atc "SELECT count(*), sum(x) FROM t")" "100|5050" "and sees its rows"
err=$(pg_psql standby -c "INSERT INTO t VALUES (1)" 2>&1)
like "$err" "read-only transaction" "the standby refuses writes"
is "$(pg_psql main -Atc "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" 1 \
    "it streams from the primary"

pg_restart main
is "$(pg_psql main -Atc "SELECT count(*) FROM t")" 100 "pg_restart: the same server again"
pg_stop main
fails "pg_stop: the server is gone" pg_psql main -c "SELECT 1" 2> /dev/null

# A test of its own that fails with its server running, then one whose server cannot start.
mkdir child
cat > child/fails.t << EOF
source "$ROOT/tests/e2e/lib.sh"
source "$ROOT/tests/e2e/pglib.sh"
pg_start x
echo "pid \$(head -n 1 "\$PG_x_DIR/data/postmaster.pid") dir \$TMP"
ok "a failing check" false
done_testing
EOF
out=$(TMPDIR=$TMP/child bash child/fails.t 2> child/err)
is "$?" 1 "a failing test fails"
cpid=$(printf '%s\n' "$out" | sed -n 's/^pid \([0-9]*\) .*/\1/p')
cdir=$(printf '%s\n' "$out" | sed -n 's/^pid [0-9]* dir //p')
like "$cpid" '^[0-9]+$' "its server had started"
# gone PID : whether PID has exited (or is a zombie nobody reaped) within 10 s.
gone() {
    local i st
    for i in $(seq 100); do
        st=$(ps -o stat= -p "$1")
        [ -z "$st" ] || [ "${st#Z}" != "$st" ] && return 0
        sleep 0.1
    done
    return 1
}
ok "and is stopped when the test exits" gone "$cpid"
ok "and its folder is gone" test -n "$cdir" -a ! -e "$cdir"

out=$(VB_PG_BIN=$TMP/no-such-dir TMPDIR=$TMP/child bash child/fails.t 2>&1)
is "$?" 1 "a test whose server cannot start fails"
like "$out" "not ok 1 - postgres x: no PostgreSQL server in $TMP/no-such-dir" "saying why"
unlike "$out" "# SKIP" "nothing is skipped"

done_testing
