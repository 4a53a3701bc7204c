# pglib.sh - throw-away PostgreSQL servers for the end-to-end tests. Source
# it after lib.sh.
#
# Each server is a cluster of its own in $TMP/pg-NAME (initdb, pg_ctl from
# the newest /usr/lib/postgresql/*/bin, or $VB_PG_BIN), listening only on a
# socket in that folder and on a free port of 127.0.0.1. PostgreSQL refuses
# to run as root, so under root (as CI runs) it runs as the system user
# vbpgtest, created on first use, and $TMP becomes traversable (mode 0711)
# for it; otherwise as the user running the test. Every server is stopped
# when the test exits, passed or failed, and lib.sh then removes $TMP. A
# server that does not start fails the test: nothing is skipped.
#
# Inside the cluster: superuser postgres; over the socket every role is
# trusted, over TCP a role needs its password (SCRAM), except replication,
# which a standby on 127.0.0.1 may use without one. fsync is off: the tests
# crash processes, never the machine, and the kernel keeps what a stopped
# server wrote.
#
#   pg_start NAME            starts a primary; sets PG_NAME_DIR, PG_NAME_PORT,
#                            PG_NAME_SOCK (the socket folder) and PG_NAME
#                            (a conninfo: socket, database postgres, user postgres)
#   pg_start_standby PRIMARY NAME
#                            a hot standby of PRIMARY made with pg_basebackup -R,
#                            streaming from it over 127.0.0.1; the same variables
#   pg_psql NAME [ARGS]      psql on NAME's conninfo, stopping at the first error
#   pg_wait_replay PRIMARY STANDBY
#                            waits (60 s at most) until STANDBY has replayed
#                            everything PRIMARY has written so far
#   pg_restart NAME          pg_ctl restart (fast shutdown), same port and socket
#   pg_stop NAME             pg_ctl stop (fast shutdown)
#   pg_deployment NAME       the roles vlbimon and grafana and database vlbimon,
#                            by the SQL of docs/deployment.md itself; sets
#                            PG_NAME_BRIDGE and PG_NAME_GRAFANA, conninfos as each role

if [ -n "${VB_PG_BIN:-}" ]; then
    PG_BIN=$VB_PG_BIN
else
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n 1)
fi
if [ "$(id -u)" -eq 0 ]; then
    PG_OS_USER=vbpgtest
else
    PG_OS_USER=$(id -un)
fi
_pg_names=()

# _pg_as COMMAND ARGS... : runs a PostgreSQL program as the server's user, from /.
_pg_as() {
    local prog=$PG_BIN/$1
    shift
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u "$PG_OS_USER" -- "$prog" "$@")
    else
        (cd / && "$prog" "$@")
    fi
}

# _pg_user : the server's OS user exists (several tests may create it at once).
_pg_user() {
    [ "$(id -u)" -eq 0 ] || return 0
    id -u "$PG_OS_USER" > /dev/null 2>&1 && return 0
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        "$PG_OS_USER" > /dev/null 2>&1
    id -u "$PG_OS_USER" > /dev/null 2>&1
}

# _pg_free_port : a TCP port of 127.0.0.1 that nothing listens on right now.
_pg_free_port() {
    perl -MIO::Socket::INET -e \
        'my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0) or die "$!\n"; print $s->sockport, "\n"'
}

# _pg_failed NAME WHAT : one failing TAP line with the server's logs, then the end of the test.
_pg_failed() {
    _tap_result 1 "postgres $1: $2"
    local f
    for f in "$TMP/pg-$1"/*.log; do
        [ -f "$f" ] && diag "$f:" "$(tail -n 20 "$f")"
    done
    done_testing
}

# _pg_dir NAME : a fresh folder for the cluster, owned by the server's user.
_pg_dir() {
    local dir=$TMP/pg-$1
    [ "$(id -u)" -eq 0 ] && chmod 0711 "$TMP"
    mkdir "$dir" && chmod 0700 "$dir" || return 1
    [ "$(id -u)" -ne 0 ] || chown "$PG_OS_USER" "$dir"
}

# _pg_launch NAME : starts the cluster in $TMP/pg-NAME/data on a free port; sets the variables.
_pg_launch() {
    local name=$1 dir=$TMP/pg-$1 port try
    for try in 1 2 3 4 5; do
        port=$(_pg_free_port) || return 1
        if _pg_as pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 120 -s \
            -o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$dir'" \
            start >> "$dir/pg_ctl.log" 2>&1; then
            _pg_names+=("$name")
            printf -v "PG_${name}_DIR" '%s' "$dir"
            printf -v "PG_${name}_PORT" '%s' "$port"
            printf -v "PG_${name}_SOCK" '%s' "$dir"
            printf -v "PG_${name}" '%s' "host=$dir port=$port dbname=postgres user=postgres"
            return 0
        fi
        # Another process may have taken the port in between: try another.
        grep -q 'could not bind\|Address already in use' "$dir/server.log" 2> /dev/null || return 1
    done
    return 1
}

pg_start() {
    local name=$1 dir=$TMP/pg-$1
    [ -x "$PG_BIN/initdb" ] || _pg_failed "$name" "no PostgreSQL server in ${PG_BIN:-/usr/lib/postgresql/*/bin} (make deps installs it)"
    _pg_user || _pg_failed "$name" "cannot create the system user $PG_OS_USER"
    _pg_dir "$name" || _pg_failed "$name" "cannot make $dir"
    _pg_as initdb -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
        > "$dir/initdb.log" 2>&1 || _pg_failed "$name" "initdb failed"
    cat > "$dir/data/pg_hba.conf" << 'EOF'
local all         all                trust
local replication all                trust
host  replication all  127.0.0.1/32  trust
host  all         all  127.0.0.1/32  scram-sha-256
EOF
    cat >> "$dir/data/postgresql.conf" << 'EOF'
fsync = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 40
EOF
    _pg_launch "$name" || _pg_failed "$name" "pg_ctl start failed"
}

pg_start_standby() {
    local primary=$1 name=$2 dir=$TMP/pg-$2 port_var=PG_$1_PORT
    _pg_dir "$name" || _pg_failed "$name" "cannot make $dir"
    _pg_as pg_basebackup -h 127.0.0.1 -p "${!port_var}" -U postgres -D "$dir/data" -R \
        -X stream -c fast > "$dir/basebackup.log" 2>&1 ||
        _pg_failed "$name" "pg_basebackup from $primary failed"
    _pg_launch "$name" || _pg_failed "$name" "pg_ctl start of the standby failed"
}

pg_psql() {
    local name=$1 conn_var=PG_$1
    shift
    PGOPTIONS= "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "${!conn_var}" "$@"
}

pg_wait_replay() {
    local lsn i
    lsn=$(pg_psql "$1" -Atc "SELECT pg_current_wal_lsn()") || return 1
    for i in $(seq 600); do
        [ "$(pg_psql "$2" -Atc "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ] &&
            return 0
        sleep 0.1
    done
    diag "$2 has not replayed $1's WAL up to $lsn"
    return 1
}

pg_restart() {
    _pg_as pg_ctl -D "$TMP/pg-$1/data" -w -t 120 -s -m fast restart >> "$TMP/pg-$1/pg_ctl.log" 2>&1
}

pg_stop() {
    _pg_as pg_ctl -D "$TMP/pg-$1/data" -w -t 120 -s -m fast stop >> "$TMP/pg-$1/pg_ctl.log" 2>&1
}

pg_deployment() {
    local name=$1 sock_var=PG_$1_SOCK port_var=PG_$1_PORT
    perl -0777 -ne 'print $1 if /^## PostgreSQL\n.*?^```sql\n(.*?)^```/ms' \
        "$ROOT/docs/deployment.md" > "$TMP/pg-$name/deployment.sql"
    pg_psql "$name" -f "$TMP/pg-$name/deployment.sql" ||
        _pg_failed "$name" "the SQL of docs/deployment.md, \"PostgreSQL\", fails"
    printf -v "PG_${name}_BRIDGE" '%s' "host=${!sock_var} port=${!port_var} dbname=vlbimon user=vlbimon"
    printf -v "PG_${name}_GRAFANA" '%s' "host=${!sock_var} port=${!port_var} dbname=vlbimon user=grafana"
}

_pg_cleanup() {
    local n
    for n in "${_pg_names[@]}"; do
        [ -f "$TMP/pg-$n/data/postmaster.pid" ] &&
            _pg_as pg_ctl -D "$TMP/pg-$n/data" -w -t 60 -s -m immediate stop > /dev/null 2>&1
    done
}
trap '_pg_cleanup; _tap_cleanup' EXIT
# Interrupted (prove ^C, a timeout's SIGTERM): exit, so the EXIT trap stops the servers.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
