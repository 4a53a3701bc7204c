#!/bin/bash
# run.sh - what `make bench` runs: every figure of docs/performance.md
# section, each beside a reference measured in the same invocation, on this
# machine: the storage figures for the v2 layout of the series tables beside
# v1, the layout before migration 04 (docs/schema.md), and the PostgreSQL
# sink's. About nine minutes on two cores; nothing here is part of make test.
#
#   BENCH_DIR   scratch directory (default /tmp/vlbimon-bench, removed first)
#   BENCH_ROWS  rows of the insert benchmark's CSV tree (default 20000000)
set -eu
cd "$(dirname "$0")/.."
. tools/simlib.sh
B=${BENCH_DIR:-/tmp/vlbimon-bench}
ROWS=${BENCH_ROWS:-20000000}
BIN=build/rel/bench
rm -rf "$B"
mkdir -p "$B"
SIMS=()
trap 'for p in "${SIMS[@]}"; do kill "$p" 2> /dev/null; done' EXIT

line() { printf '%-40s %s\n' "$1" "$2"; }
get() { printf '%s\n' "$1" | awk -v k="$2" '$1 == k { print $2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

echo "# vlbimon-bridge benchmarks, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), SQLite $(sqlite3 --version | cut -d' ' -f1)"

kib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }
# v1 / v2 SNAPSHOT RUNS : one line of the two layouts side by side, from $v1 and $v2.
versus() {
    line "  v1 / v2, $1" \
        "CPU $(get "$v1" bridge_median_ms) / $(get "$v2" bridge_median_ms) ms (floor $(get "$v1" floor_median_ms) / $(get "$v2" floor_median_ms)); WAL $(kib "$(get "$v1" wal_bytes_per_snapshot)") / $(kib "$(get "$v2" wal_bytes_per_snapshot)") KiB (floor $(kib "$(get "$v1" floor_wal_bytes_per_snapshot)") / $(kib "$(get "$v2" floor_wal_bytes_per_snapshot)")), all writes $(kib "$(get "$v1" written_bytes_per_snapshot)") / $(kib "$(get "$v2" written_bytes_per_snapshot)") KiB: $(ratio "$(get "$v1" written_bytes_per_snapshot)" "$(get "$v2" written_bytes_per_snapshot)") fewer$2"
}

# --- 1. snapshot pipeline: decode -> transformers -> insert -> commit ---------
# Each run's snapshot is the fixture with its times moved on by 10 s a run.
v2=$("$BIN/pipeline" tests/fixtures/snapshots/full.json "$B" 120 1000)
sqlite_full=$(get "$v2" bridge_median_ms)
line "pipeline, full snapshot ($(get "$v2" rows_per_snapshot) rows)" \
    "median $(get "$v2" bridge_median_ms) ms, p99 $(get "$v2" bridge_p99_ms) ms CPU; floor median $(get "$v2" floor_median_ms) ms, p99 $(get "$v2" floor_p99_ms) ms; ratio $(get "$v2" ratio_median) (target <= 1.15)"
line "  of which decode + transformers" "median $(get "$v2" transform_median_ms) ms, p99 $(get "$v2" transform_p99_ms) ms CPU (target <= 5 ms)"
v1=$("$BIN/pipeline" tests/fixtures/snapshots/full.json "$B" 60 1000 v1)
versus "full snapshot" ""
v2=$("$BIN/pipeline" tests/fixtures/snapshots/realistic.json "$B" 500 1000)
sqlite_real=$(get "$v2" bridge_median_ms)
line "pipeline, realistic snapshot ($(get "$v2" rows_per_snapshot) rows)" \
    "median $(get "$v2" bridge_median_ms) ms, p99 $(get "$v2" bridge_p99_ms) ms CPU (target < 1 ms); floor median $(get "$v2" floor_median_ms) ms; ratio $(get "$v2" ratio_median)"
v1=$("$BIN/pipeline" tests/fixtures/snapshots/realistic.json "$B" 500 1000 v1)
versus "realistic snapshot" " (target >= 3x)"
for wal in 0 100 1000 10000; do
    out=$("$BIN/pipeline" tests/fixtures/snapshots/full.json "$B" 60 "$wal")
    line "  --wal $wal, full snapshot" \
        "median $(get "$out" bridge_median_ms) ms CPU, $(($(get "$out" written_bytes_per_snapshot) / 1024)) KiB written per snapshot"
done
for wal in 0 1000 10000; do
    out=$("$BIN/pipeline" tests/fixtures/snapshots/realistic.json "$B" 300 "$wal")
    line "  --wal $wal, realistic snapshot" \
        "median $(get "$out" bridge_median_ms) ms CPU, $(($(get "$out" written_bytes_per_snapshot) / 1024)) KiB written per snapshot"
done

# --- simulator helpers --------------------------------------------------------
printf '127.0.0.1:\n  basicauth:\n  - Bench User\n  - bench pw\n' > "$B/secrets.yaml"
chmod 600 "$B/secrets.yaml"
start_sim() { # NAME SPEED START : sets URL
    ./vlbimon_sim --listen 127.0.0.1:0 --users "$B/secrets.yaml" --speed "$2" --start-time "$3" \
        > "$B/$1.out" 2> "$B/$1.err" &
    SIMS+=($!)
    URL=$(sim_url "$B/$1.out")
    [ -n "$URL" ] && return 0
    echo "bench: simulator $1 did not start" >&2
    exit 1
}
stat() { curl -s "$1/sim/stats" | sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p"; }
rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2> /dev/null; }

# --- 3 and 4 together: memory over a simulated day (the simulator at 2880x,
# so every poll is a full snapshot), and load per simulated hour: --dt 10
# scaled, the simulator at 30x and --dt 1/3. Both without backfill: section
# 7 measures the backfill on its own.
t0=$(($(date +%s) - 3 * 86400))
start_sim mem 2880 "$t0"
mem_url=$URL
./vlbimon_bridge initdb --sqlitedb "$B/mem.db"
./vlbimon_bridge --server "$mem_url" --secrets "$B/secrets.yaml" --datadir "$B/mem.data" \
    bridge --sqlitedb "$B/mem.db" --dt 0.5 --start "$t0" --no-backfill 2> "$B/mem.log" &
mem_pid=$!
start_sim load 30 "$t0"
load_url=$URL
./vlbimon_bridge initdb --sqlitedb "$B/load.db"
s0=$(stat "$load_url" now)
./vlbimon_bridge --server "$load_url" --secrets "$B/secrets.yaml" --datadir "$B/load.data" \
    bridge --sqlitedb "$B/load.db" --dt 0.33333 --start "$t0" --no-backfill 2> "$B/load.log" &
load_pid=$!
sleep 1.25
rss_h1=$(rss $mem_pid VmRSS)
anon_h1=$(rss $mem_pid RssAnon)
sleep 34
touch "$B/load.data/PLEASE-EXIT"
wait $load_pid
s1=$(stat "$load_url" now)
hours=$(awk -v a="$s0" -v b="$s1" 'BEGIN { print (b - a) / 3600 }')
snaps=$(stat "$load_url" snapshots)
conns=$(sed -n 's/.*, \([0-9]*\) connection(s) used/\1/p' "$B/load.log")
wire=$(stat "$load_url" bytes_sent)
cur=$(sed -n 's/.*"last_snap": "\([0-9.]*\)".*/\1/p' "$B/load.data/127.0.0.1.json")
sid=$(curl -s -u 'Bench User:bench pw' -X POST "$load_url/session" | sed 's/.*"id": *"\([^"]*\)".*/\1/')
plain=0
gz=0
for i in $(seq 10); do
    c=$(awk -v c="$cur" -v i="$i" 'BEGIN { printf "%.3f", c - 10 * i }')
    plain=$((plain + $(curl -s -o /dev/null -w '%{size_download}' -u 'Bench User:bench pw' -b "sessionid=$sid; snap_recvTime=$c" "$load_url/data/snapshot")))
    gz=$((gz + $(curl -s -o /dev/null -w '%{size_download}' -H 'Accept-Encoding: gzip' -u 'Bench User:bench pw' -b "sessionid=$sid; snap_recvTime=$c" "$load_url/data/snapshot")))
done
line "load on vlbimon, --dt 10 equivalent" \
    "$(awk -v n="$snaps" -v h="$hours" 'BEGIN { printf "%.0f", n / h }') snapshot requests per simulated hour (expected 360), $conns TCP connection(s) for the whole run (expected 1)"
line "  bytes on the wire per simulated hour" \
    "$(awk -v w="$wire" -v h="$hours" 'BEGIN { printf "%.1f MB", w / h / 1e6 }') with gzip; $(awk -v w="$wire" -v h="$hours" -v p="$plain" -v g="$gz" 'BEGIN { printf "%.1f MB", w / h * p / g / 1e6 }') without ($(ratio "$plain" "$gz") the gzip size, from 10 snapshots fetched both ways)"
rss_h24=$(rss $mem_pid VmRSS)
anon_h24=$(rss $mem_pid RssAnon)
hwm=$(rss $mem_pid VmHWM)
sim_hours=$(awk -v t0="$t0" -v now="$(stat "$mem_url" now)" 'BEGIN { printf "%.1f", (now - t0) / 3600 }')
touch "$B/mem.data/PLEASE-EXIT"
wait $mem_pid
line "bridge memory over $sim_hours simulated hours" \
    "RSS $((rss_h1 / 1024)) MB at hour 1, $((rss_h24 / 1024)) MB at the end (growth $(ratio "$rss_h24" "$rss_h1")), peak $((hwm / 1024)) MB (target < 16 MB, flat)"
line "  of which the bridge's own (anonymous)" \
    "$((anon_h1 / 1024)) MB at hour 1, $((anon_h24 / 1024)) MB at the end (growth $(ratio "$anon_h24" "$anon_h1")); the rest is shared library text"

# v1DB DB : a database initdb made, its series tables made empty v1 tables.
v1db() {
    ./vlbimon_bridge initdb --sqlitedb "$1"
    "$BIN/pipeline" --v1 "$1"
}

# --- 5. Grafana read path: 6 hours of a month of one parameter at 10 s from 11 stations
end=$(date +%s)
v1db "$B/month-v1.db"
./vlbimon_bridge initdb --sqlitedb "$B/month-v2.db"
for db in month-v1 month-v2; do
    seq=
    [ $db = month-v1 ] || seq=", 0"
    sqlite3 "$B/$db.db" "WITH RECURSIVE t(x) AS (SELECT $end - 30 * 86400 UNION ALL SELECT x + 10 FROM t WHERE x < $end)
        INSERT INTO ts_param_weather_tau225 SELECT x, s.name, 0.05 + (x % 977) / 10000.0$seq FROM t,
        (SELECT 'ALMA' AS name UNION ALL SELECT 'APEX' UNION ALL SELECT 'GLT' UNION ALL SELECT 'JCMT' UNION ALL SELECT 'KP'
        UNION ALL SELECT 'LMT' UNION ALL SELECT 'NOEMA' UNION ALL SELECT 'PICO' UNION ALL SELECT 'SMA' UNION ALL SELECT 'SMTO'
        UNION ALL SELECT 'SPT') s; VACUUM;"
done
nrows=$(sqlite3 "$B/month-v2.db" "SELECT count(*) FROM ts_param_weather_tau225")
range="FROM ts_param_weather_tau225 WHERE time >= $((end - 6 * 3600)) AND time <= $end"
timeq() { # SQL : "v1 X ms, v2 Y ms", the median of 21 runs on each
    local a b
    a=$("$BIN/query" "$B/month-v1.db" 21 "$1")
    b=$("$BIN/query" "$B/month-v2.db" 21 "$1")
    echo "v1 ${a% *} ms, v2 ${b% *} ms (${b#* } rows)"
}
line "Grafana query, 6 h of one station" \
    "$(timeq "SELECT time, value $range AND +station = 'ALMA' ORDER BY time") (the dashboards' form, +station; target < 2 ms)"
line "  station = without the +" \
    "$(timeq "SELECT time, value $range AND station = 'ALMA' ORDER BY time") (v1 picks the station index)"
line "  6 h of all 11 stations" "$(timeq "SELECT time, station, value $range ORDER BY time")"
tsize() { # DB : MB of the month's table and its indexes
    sqlite3 "$1" "SELECT sum(pgsize) / 1048576 FROM dbstat WHERE name = 'ts_param_weather_tau225'
        OR name LIKE 'idx_ts_param_weather_tau225_%'"
}
line "  a month of one series ($nrows rows)" "v1 $(tsize "$B/month-v1.db") MB, v2 $(tsize "$B/month-v2.db") MB on disk"

# --- 2. insert of a CSV tree, v2 and v1, against sqlite3 .import -------------------
./vlbimon_bridge initdb --sqlitedb "$B/insert.db"
v1db "$B/insert-v1.db"
v1db "$B/import.db"
params=$(sqlite3 "$B/insert.db" "SELECT substr(m.name, 10) FROM sqlite_schema m, pragma_table_info(m.name) p
    WHERE m.type = 'table' AND m.name LIKE 'ts_param_%' AND p.name = 'value' AND p.type = 'REAL'
    AND m.name NOT LIKE 'ts_param_bridge%' AND m.name NOT LIKE '%\_az' ESCAPE '\' AND m.name NOT LIKE '%\_el' ESCAPE '\'
    AND m.name NOT LIKE '%\_ra' ESCAPE '\' AND m.name NOT LIKE '%\_dec' ESCAPE '\' ORDER BY 1 LIMIT 40")
# shellcheck disable=SC2086
"$BIN/gen_tree" "$B/csv" "$ROWS" $params > /dev/null
ins() { # DB : sets ins_s ins_kb
    local r
    r=$(/usr/bin/time -f '%e %M' ./vlbimon_bridge insert --sqlitedb "$1" "$B/csv/tree" 2>&1 > "$B/insert.out" | tail -n 1)
    ins_s=${r% *}
    ins_kb=${r#* }
}
ins "$B/insert-v1.db"
v1_s=$ins_s v1_kb=$ins_kb
ins "$B/insert.db"
count() { # DB : rows in the benchmark's tables
    sqlite3 "$1" "$(printf 'SELECT 0'; for p in $params; do printf ' + (SELECT count(*) FROM ts_param_%s)' "$p"; done)"
}
{
    echo ".mode csv"
    for p in $params; do echo ".import $B/csv/import/$p.csv ts_param_$p"; done
} > "$B/import.cmd"
imp_s=$(/usr/bin/time -f '%e' sh -c "sqlite3 '$B/import.db' < '$B/import.cmd'" 2>&1 > /dev/null | tail -n 1)
rate() { awk -v r="$ROWS" -v s="$1" 'BEGIN { printf "%.0f", r / s }'; }
line "insert, $ROWS rows of CSV ($(count "$B/insert.db") stored)" \
    "$(rate "$ins_s") rows/s, peak RSS $((ins_kb / 1024)) MB (targets >= 1000000 rows/s, < 64 MB)"
line "  into v1 tables ($(count "$B/insert-v1.db") stored)" \
    "$(rate "$v1_s") rows/s, peak RSS $((v1_kb / 1024)) MB; v2 is $(ratio "$v1_s" "$ins_s") as fast (target >= 1.5x)"
line "  sqlite3 .import into v1 tables ($(count "$B/import.db") stored)" \
    "$(rate "$imp_s") rows/s; insert is $(ratio "$imp_s" "$ins_s") as fast (target > 1x)"
line "  the databases on disk" \
    "v1 $(($(wc -c < "$B/insert-v1.db") / 1048576)) MB, v2 $(($(wc -c < "$B/insert.db") / 1048576)) MB"

# --- 7. PostgreSQL: the sink per snapshot, insert, the Grafana query ----------
# A throw-away server as the tests start one (tests/e2e/pglib.sh), but with
# PostgreSQL's default durability: fsync and full-page writes on, 128 MB of
# shared buffers, every commit flushed (synchronous_commit = on).
TMP=$B/pg
mkdir -p "$TMP"
_tap_result() { echo "bench: $2" >&2; }
diag() { printf '%s\n' "$@" >&2; }
done_testing() { exit 1; }
_tap_cleanup() { :; }
. tests/e2e/pglib.sh
# The trap's last status would be the script's: keep the script's own.
trap 'rc=$?; set +e; for p in "${SIMS[@]}"; do kill "$p" 2> /dev/null; done; _pg_cleanup; exit $rc' EXIT
pg_start bench > /dev/null
pg_psql bench -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET full_page_writes = on" \
    -c "ALTER SYSTEM SET shared_buffers = '128MB'"
pg_restart bench
pgdb() { # NAME : a fresh database made by initdb --postgres; prints its conninfo
    pg_psql bench -c "CREATE DATABASE $1"
    ./vlbimon_bridge initdb --postgres "host=$PG_bench_SOCK port=$PG_bench_PORT user=postgres dbname=$1" 2> /dev/null
    echo "host=$PG_bench_SOCK port=$PG_bench_PORT user=postgres dbname=$1"
}
echo "# PostgreSQL $(pg_psql bench -Atc 'SHOW server_version'), on this machine, over its Unix socket"
pgsnap() { # LABEL SNAPSHOT RUNS SQLITE-MS [CONNINFO-SUFFIX]
    local db out
    db=$(pgdb "snap$RANDOM")
    out=$("$BIN/pgsink" "$2" "$db ${5:-}" "$3")
    line "PostgreSQL sink, $1 ($(get "$out" rows_per_snapshot) rows, $(get "$out" tables) tables)" \
        "median $(get "$out" bridge_wall_ms) ms wall: $(get "$out" bridge_cpu_ms) ms CPU here, $(get "$out" bridge_server_ms) ms in the server; SQLite sink $4 ms CPU"
    line "  floor: plain libpq, $(get "$out" floor)" \
        "median $(get "$out" floor_wall_ms) ms wall, $(get "$out" floor_cpu_ms) ms CPU here; the sink takes $(get "$out" ratio_wall)x its wall time"
    line "  the candidates, wall (server CPU)" \
        "$(for m in rows copy values unnest; do printf '%s %s (%s) ms; ' "$m" "$(get "$out" ${m}_wall_ms)" "$(get "$out" ${m}_server_ms)"; done)"
}
pgsnap "full snapshot" tests/fixtures/snapshots/full.json 30 "$sqlite_full"
pgsnap "realistic snapshot" tests/fixtures/snapshots/realistic.json 300 "$sqlite_real"
pgsnap "realistic, synchronous_commit off" tests/fixtures/snapshots/realistic.json 300 "$sqlite_real" \
    "options='-c synchronous_commit=off'"

# insert beside psql's \copy of the same rows into the same schema (indexes
# kept), into four tables: a million rows each, where building an index after
# the load is what it saves.
PGROWS=${BENCH_PG_ROWS:-4000000}
pgparams=$(printf '%s\n' $params | head -n 4)
# shellcheck disable=SC2086
"$BIN/gen_tree" "$B/pgcsv" "$PGROWS" $pgparams > /dev/null
db=$(pgdb pginsert)
ins_s=$(/usr/bin/time -f '%e' ./vlbimon_bridge insert --postgres "$db" "$B/pgcsv/tree" 2>&1 > /dev/null | tail -n 1)
pgcount() { # CONNINFO : rows in the benchmark's tables
    "$PG_BIN/psql" -X -At -d "$1" -c "SELECT 0$(for p in $pgparams; do printf ' + (SELECT count(*) FROM ts_param_%s)' "$p"; done)"
}
line "PostgreSQL insert, $PGROWS rows of CSV ($(pgcount "$db") stored)" \
    "$(awk -v r="$PGROWS" -v s="$ins_s" 'BEGIN { printf "%.0f", r / s }') rows/s (COPY, indexes dropped for the load and made again)"
db=$(pgdb pgcopy)
for p in $pgparams; do echo "\\copy ts_param_$p (time, station, value) FROM '$B/pgcsv/import/$p.csv' WITH (FORMAT csv)"; done > "$B/pgcopy.sql"
copy_s=$(/usr/bin/time -f '%e' "$PG_BIN/psql" -X -q -1 -v ON_ERROR_STOP=1 -d "$db" -f "$B/pgcopy.sql" 2>&1 > /dev/null | tail -n 1)
line "  psql \\copy, same rows and schema ($(pgcount "$db") stored)" \
    "$(awk -v r="$PGROWS" -v s="$copy_s" 'BEGIN { printf "%.0f", r / s }') rows/s (indexes kept); insert is $(ratio "$copy_s" "$ins_s") as fast"
db=$(pgdb pgfull)
"$PG_BIN/psql" -X -q -d "$db" -c "$(for p in $pgparams; do printf "INSERT INTO ts_param_%s VALUES (0, 'ALMA', 0);" "$p"; done)"
full_s=$(/usr/bin/time -f '%e' ./vlbimon_bridge insert --postgres "$db" "$B/pgcsv/tree" 2>&1 > /dev/null | tail -n 1)
line "  insert into tables that hold rows" \
    "$(awk -v r="$PGROWS" -v s="$full_s" 'BEGIN { printf "%.0f", r / s }') rows/s (the indexes kept up to date during the load)"
rm -rf "$B/pgcsv"

# The Grafana query on a month of data, as in section 5 (whose databases
# give SQLite's time, v1 and v2, beside it), the heap in time order as the
# bridge appends it: left to itself the join would write it station by
# station, and the planner would then take the station index (20 ms).
db=$(pgdb pgmonth)
"$PG_BIN/psql" -X -q -d "$db" -c "INSERT INTO ts_param_weather_tau225 (time, station, value)
    SELECT x, s, 0.05 + (x % 977) / 10000.0 FROM generate_series($end - 30 * 86400, $end, 10) x,
    unnest(ARRAY['ALMA', 'APEX', 'GLT', 'JCMT', 'KP', 'LMT', 'NOEMA', 'PICO', 'SMA', 'SMTO', 'SPT']) s
    ORDER BY x, s" -c "ANALYZE"
pgtime() { # CONNINFO SQL : "A ms as psql sees it, B ms in the server": medians of 21 runs
    local psql server
    psql=$({ echo '\o /dev/null'; echo '\timing on'; for _ in $(seq 21); do echo "$2;"; done; } |
        "$PG_BIN/psql" -X -q -d "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sort -n | sed -n 11p)
    server=$(for _ in $(seq 21); do "$PG_BIN/psql" -X -At -d "$1" -c "EXPLAIN (ANALYZE, TIMING OFF) $2"; done |
        sed -n 's/^Execution Time: \([0-9.]*\) ms/\1/p' | sort -n | sed -n 11p)
    echo "$psql ms as psql sees it, $server ms in the server"
}
plan() { "$PG_BIN/psql" -X -At -d "$1" -c "EXPLAIN $2" | grep -o 'Index Scan using [a-z0-9_]*\|Bitmap Index Scan on [a-z0-9_]*\|Seq Scan' | sort -u | paste -sd ' '; }
pq="SELECT time, value FROM ts_param_weather_tau225 WHERE time >= $((end - 6 * 3600)) AND time <= $end AND station = 'ALMA' ORDER BY time"
line "PostgreSQL Grafana query, 6 h of one station ($("$PG_BIN/psql" -X -At -d "$db" -c "SELECT count(*) FROM ts_param_weather_tau225") rows)" \
    "$(pgtime "$db" "$pq") ($(plan "$db" "$pq")); SQLite $(timeq "$pq")"
"$PG_BIN/psql" -X -q -d "$db" -c "CREATE INDEX idx_ts_param_weather_tau225_station_time ON ts_param_weather_tau225 (station, time)" -c ANALYZE
line "  with an index on (station, time)" "$(pgtime "$db" "$pq") ($(plan "$db" "$pq"))"
pg_stop bench

# --- 6. history: one observation day, one series per request against many -----
# Every parameter of all 11 stations over 18.7 simulated hours (the 2022 day of
# the original's README), --all, --sleep 0, into a tmpfs when there is one: the
# figures are the server's load and the client's own time, not the disk's. One
# series per request is measured on ALMA (12 parameters of its own) and APEX
# and scaled to ALMA + 10 x APEX; the whole day that way takes minutes more.
# BENCH_BATCH_POINTS="10000 100000 ..." adds a run per --batch-points value.
HB=$B/history
if [ -w /dev/shm ]; then
    HB=$(mktemp -d /dev/shm/vlbimon-bench.XXXXXX)
    trap 'rc=$?; set +e; for p in "${SIMS[@]}"; do kill "$p" 2> /dev/null; done; _pg_cleanup; rm -rf "$HB"; exit $rc' EXIT
fi
day0=1712793600 # 2024-04-11T00:00Z
day1=$((day0 + 67319))
start_sim hist 0 "$((day0 + 2 * 86400))"
hist_url=$URL
hist() { # URL DATADIR GLOBAL-OPTIONS -- HISTORY-OPTIONS : sets h_req h_mb h_s h_mb_rss
    local url=$1 dir=$2 glob=()
    shift 2
    while [ "$1" != -- ]; do glob+=("$1"); shift; done
    shift
    local r0 b0
    r0=$(stat "$url" history)
    b0=$(stat "$url" bytes_sent)
    /usr/bin/time -o "$HB/time" -f '%e %M' ./vlbimon_bridge --server "$url" --secrets "$B/secrets.yaml" \
        --datadir "$dir" "${glob[@]}" history --start "$day0" --end "$day1" --all --sleep 0 "$@" \
        2> "$dir.log"
    h_req=$(($(stat "$url" history) - r0))
    h_mb=$(awk -v a="$b0" -v b="$(stat "$url" bytes_sent)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
    read -r h_s h_kb < "$HB/time"
    h_mb_rss=$((h_kb / 1024))
}
hist "$hist_url" "$HB/one-ALMA" --stations ALMA -- --batch-points 0
a_req=$h_req a_mb=$h_mb a_s=$h_s a_rss=$h_mb_rss
hist "$hist_url" "$HB/one-APEX" --stations APEX -- --batch-points 0
one_req=$((a_req + 10 * h_req))
one_mb=$(awk -v a="$a_mb" -v x="$h_mb" 'BEGIN { printf "%.1f", a + 10 * x }')
one_s=$(awk -v a="$a_s" -v x="$h_s" 'BEGIN { printf "%.1f", a + 10 * x }')
one_rss=$((a_rss > h_mb_rss ? a_rss : h_mb_rss))
hist "$hist_url" "$HB/many" -v -v --
windows=$(grep -c '\]: [0-9]* point(s)$' "$HB/many.log")
line "history, one day, one series per request" \
    "$one_req requests, $one_s s, $one_mb MB on the wire, peak RSS $one_rss MB (ALMA + 10 x APEX; the series windows of all 11: $windows)"
line "  many series per request" \
    "$h_req requests ($(ratio "$one_req" "$h_req") fewer, target >= 20x), $h_s s, $h_mb MB on the wire ($(ratio "$h_mb" "$one_mb") of one series per request, target <= 1x), peak RSS $h_mb_rss MB"
line "  at --sleep 1" \
    "$(awk -v n="$h_req" -v s="$h_s" 'BEGIN { printf "%.1f min", (n + s) / 60 }') many per request (target < 1 h); $(awk -v n="$one_req" -v s="$one_s" 'BEGIN { printf "%.1f h", (n + s) / 3600 }') one per request"
same=yes
for s in ALMA APEX; do diff -r "$HB/one-$s/$s" "$HB/many/$s" > /dev/null || same=no; done
line "  the same files both ways" "$same (ALMA and APEX, every CSV and metadata.json)"
for bp in ${BENCH_BATCH_POINTS:-}; do
    rm -rf "$HB/bp"
    hist "$hist_url" "$HB/bp" -- --batch-points "$bp"
    line "  --batch-points $bp" "$h_req requests, $h_s s, $h_mb MB on the wire, peak RSS $h_mb_rss MB"
done
rm -rf "$HB/one-ALMA" "$HB/one-APEX" "$HB/many" "$HB/bp"
# Answers ten times bigger than the masterlist's cadences promise: a simulator
# reporting every cadence ten times as often, ALMA and APEX over 6 hours.
perl tools/dense-masterlist.pl < share/masterlist.json > "$B/dense.json"
./vlbimon_sim --listen 127.0.0.1:0 --users "$B/secrets.yaml" --speed 0 --start-time "$((day0 + 2 * 86400))" \
    --masterlist "$B/dense.json" > "$B/dense.out" 2> "$B/dense.err" &
SIMS+=($!)
dense_url=$(sim_url "$B/dense.out")
day1=$((day0 + 6 * 3600 - 1))
hist "$dense_url" "$HB/dense" --stations ALMA --stations APEX --
line "  answers 10x what the cadences promise" \
    "peak RSS $h_mb_rss MB, $h_req requests of which $(grep -c 'answer larger than' "$HB/dense.log") refused as too big and asked for smaller (ALMA and APEX, 6 h)"

# --- 7. backfill: its requests beside the snapshots', completeness, an outage --
# Two bridges from one start on two simulators of the same data, --dt 10
# scaled (30x, --dt 1/3), for 40 s (20 simulated minutes): one without
# backfill, as the original, one with it at its default pace, its burst
# already spent as in a long steady run (--backfill-burst 2: the two
# requests a stretch of this catalogue takes, no more). Completeness is
# counted on ALMA and APEX against history of the period the backfill has
# completed. Then the backfilling one again, on a simulator whose clock is a
# simulated hour past its cursor: an outage of an hour. That one runs at 5x
# and --dt 2, so that a cycle leaves the backfill the share of real time it
# has at --dt 10 (at 30x its stretches would shrink to fit a third of a
# second, and take more requests than at --dt 10).
cursor_of() { sqlite3 "$1" "SELECT value FROM bridge_state WHERE key = 'snap_recvTime'"; }
bf_from() { sqlite3 "$1" "SELECT value FROM bridge_state WHERE key = 'backfill'" | cut -d' ' -f1; }
first_cursor() { sed -n 's/.*notice: cursor \([0-9]*\).*/\1/p' "$1" | head -n 1; }
t0b=$(($(date +%s) - 5 * 86400))
start_sim bfa 30 "$t0b"
url_nb=$URL
start_sim bfb 30 "$t0b"
url_bf=$URL
bfrun() { # URL DB LOG [options] : a bridge at --dt 10 scaled, in the background (bpid)
    local url=$1 db=$2 log=$3
    shift 3
    ./vlbimon_bridge -v --server "$url" --secrets "$B/secrets.yaml" --datadir "$B/$(basename "$db" .db).data" \
        bridge --sqlitedb "$db" --dt 0.33333 "$@" 2>> "$log" &
    bpid=$!
}
./vlbimon_bridge initdb --sqlitedb "$B/nb.db"
./vlbimon_bridge initdb --sqlitedb "$B/bf.db"
s0=$(stat "$url_bf" now)
bfrun "$url_nb" "$B/nb.db" "$B/nb.log" --no-backfill
nb_pid=$bpid
bfrun "$url_bf" "$B/bf.db" "$B/bf.log" --backfill-burst 2
bf_pid=$bpid
sleep 40
bf_rss=$(rss $bf_pid VmHWM)
nb_rss=$(rss $nb_pid VmHWM)
touch "$B/nb.data/PLEASE-EXIT" "$B/bf.data/PLEASE-EXIT"
wait $nb_pid $bf_pid
s1=$(stat "$url_bf" now)
steady_h=$(awk -v a="$s0" -v b="$s1" 'BEGIN { print (b - a) / 3600 }')
steady_req=$(stat "$url_bf" history)
steady_snaps=$(stat "$url_bf" snapshots)
steady_stretches=$(grep -c 'info: backfill: .* row(s) stored' "$B/bf.log")
p0=$(($(first_cursor "$B/bf.log") + 1))
p1=$(($(bf_from "$B/bf.db") - 1))
lag=$(awk -v c="$(cursor_of "$B/bf.db")" -v f="$p1" 'BEGIN { printf "%.0f", c - f }')
./vlbimon_bridge --server "$url_nb" --secrets "$B/secrets.yaml" --datadir "$B/bfhist" --stations ALMA \
    --stations APEX history --start "$p0" --end "$p1" --all --sleep 0 2> "$B/bfhist.log"
# records FILE : the CSV records of a history file (a quoted value may hold line breaks).
records() { perl -0777 -ne 's/"(?:[^"]|"")*"//g; print tr/\n//' "$1"; }
# complete DB [PREFIX] : rows stored / points history returned, in %, ALMA and APEX, [p0, p1]
complete() {
    local f p s have=0 want=0
    for f in "$B"/bfhist/*/${2:-}*.csv; do
        s=$(basename "$(dirname "$f")")
        p=$(basename "$f" .csv)
        want=$((want + $(records "$f")))
        have=$((have + $(sqlite3 "$1" "SELECT count(*) FROM ts_param_$p WHERE station = '$s' AND time BETWEEN $p0 AND $p1")))
    done
    awk -v h="$have" -v w="$want" 'BEGIN { printf "%.2f %% (%d of %d)", 100 * h / w, h, w }'
}
line "backfill, steady state, --dt 10 equivalent" \
    "$(awk -v n="$steady_req" -v h="$steady_h" 'BEGIN { printf "%.0f", n / h }') history requests per simulated hour beside $(awk -v n="$steady_snaps" -v h="$steady_h" 'BEGIN { printf "%.0f", n / h }') snapshot requests ($steady_stretches stretches; the budget: 12)"
line "  completeness, ALMA and APEX" \
    "without backfill $(complete "$B/nb.db"), telescope_* $(complete "$B/nb.db" telescope_)"
line "  " \
    "with backfill $(complete "$B/bf.db"), telescope_* $(complete "$B/bf.db" telescope_), up to its cursor, $lag s behind the live one"
line "  peak RSS" "$((bf_rss / 1024)) MB with backfill, $((nb_rss / 1024)) MB without"
# The outage: the same database, a simulator an hour past its cursor.
down=$(cursor_of "$B/bf.db")
start_sim bfc 5 "$(awk -v c="$down" 'BEGIN { printf "%.0f", c + 3600 }')"
url_gap=$URL
g0=$(stat "$url_gap" now | cut -d. -f1)
bfrun "$url_gap" "$B/bf.db" "$B/bf.log" --dt 2
bf_pid=$bpid
for _ in $(seq 1800); do
    [ "$(bf_from "$B/bf.db")" -gt "$((g0 - 1))" ] 2> /dev/null && break
    sleep 0.1
done
g1=$(stat "$url_gap" now)
gap_req=$(stat "$url_gap" history)
gap_snaps=$(stat "$url_gap" snapshots)
gap_rss=$(rss $bf_pid VmHWM)
touch "$B/bf.data/PLEASE-EXIT"
wait $bf_pid
line "backfill after an outage of an hour" \
    "$gap_req history requests over $gap_snaps snapshots, the hour complete $(awk -v a="$g0" -v b="$g1" 'BEGIN { printf "%.1f", (b - a) / 60 }') simulated minutes after the restart (budget: a burst of 30, then 1 per 30 snapshots); peak RSS $((gap_rss / 1024)) MB"
