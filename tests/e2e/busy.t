#!/bin/bash
# Readers holding locks (docs/reliability.md): a reader like a busy Grafana
# holds read transactions of seconds, back to back, from before the bridge
# starts, on a database fresh from initdb (WAL) and on one in rollback-journal
# mode as the original's initdb left it. The bridge starts, stores every
# point once and exits 0 on PLEASE-EXIT, and backups taken meanwhile pass
# integrity_check; SIGTERM and PLEASE-EXIT end a wait for a lock; insert,
# migrate and summarize wait for locks and succeed; a migration that cannot
# get its lock within the bound fails naming who holds it.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1

# hold NAME DB SECONDS PAUSE : a reader (hold_reads.sh) holding its first
# transaction when this returns; its pid (the sqlite3 process) in RPID.
hold() {
    "$FIXTURES/bridge/hold_reads.sh" "$2" "$3" "$4" "$TMP/$1.flag" > "$TMP/$1.out" 2>&1 &
    RPID=$!
    track_pid $RPID
    for _ in $(seq 200); do [ -e "$TMP/$1.flag" ] && return 0; sleep 0.05; done
    diag "reader $1 never held its lock"
    return 1
}

# original DB : a database as the original's initdb made it: plain SQL, a rollback journal.
original() {
    "$BRIDGE" initdb | sqlite3 "$1" > /dev/null && sqlite3 "$1" "PRAGMA journal_mode=DELETE" > /dev/null
}

# wait_line FILE REGEX : waits (at most 30 s) until FILE has a line matching REGEX.
wait_line() {
    for _ in $(seq 300); do grep -Eq -- "$2" "$1" 2> /dev/null && return 0; sleep 0.1; done
    diag "$1 has no line matching $2"
    return 1
}

# backup_ok SRC DEST : `backup` succeeds and its copy passes integrity_check.
backup_ok() {
    "$BRIDGE" backup "$1" "$2" > /dev/null 2> "$2.log" &&
        [ "$(sqlite3 "$2" 'PRAGMA integrity_check')" = ok ]
}

# --- started first, checked last: a migration that cannot get its lock ------
# A database the original left (rollback journal) and a reader that never
# ends its transaction: fix must give up after the bound, naming the reader.
sqlite3 stuck.db < "$FIXTURES/migrations/after-02.sql"
hold stuck stuck.db 100000 0
stuck_reader=$RPID
"$BRIDGE" migrate --sqlitedb stuck.db fix > stuck.out 2> stuck.err &
stuck_fix=$!
track_pid $stuck_fix

# finish NAME DB URL READER : the end of a bridge run beside a reader: a
# backup that passes integrity_check, the reader still there, PLEASE-EXIT,
# status 0, no error, every acknowledged point (NAME.csv) stored once.
finish() {
    wait_answers "$1" 20
    ok "$1: a backup taken now passes integrity_check" backup_ok "$2" "$2.bak"
    ok "$1: the reader held its transactions all along" kill -0 "$4"
    touch "$TMP/$1.data/PLEASE-EXIT"
    ok "$1: PLEASE-EXIT stops the bridge" wait_exit $BPID 5
    is "$WAIT_RC" 0 "$1: with status 0"
    unlike "$(cat "$TMP/$1.log")" "error" "$1: no error"
    is "$(compare_served "$2" "$TMP/$1.csv" "$3" | sed 's/.*missing/missing/')" \
        "missing 0, extra 0" "$1: every acknowledged point stored once"
    kill "$4"
}

# --- initdb makes a WAL database; the bridge starts beside a busy reader ----
start_sim f --served "$TMP/f.csv" --speed 120
"$BRIDGE" initdb --sqlitedb fresh.db
is "$(sqlite3 fresh.db 'PRAGMA journal_mode')" "wal" "initdb makes a WAL database"
hold rf fresh.db 4 0
start_bridge f "$URL_f" fresh.db --dt 0.2
ok "fresh database, busy reader: the bridge stores answers" wait_answers f 10
ok "a backup meanwhile passes integrity_check" backup_ok fresh.db fresh-1.db
unlike "$(cat f.log)" "waiting for a lock" "in WAL mode the bridge never waits for the reader"
finish f fresh.db "$URL_f" $RPID

# --- a database in rollback-journal mode: the bridge switches it to WAL -----
start_sim o --served "$TMP/o.csv" --speed 120
original old.db
is "$(sqlite3 old.db 'PRAGMA journal_mode')" "delete" "the original's database has a rollback journal"
hold ro old.db 4 0
start_bridge o "$URL_o" old.db --dt 0.2
ok "the bridge waits for the reader's transaction" \
    wait_line o.log "waiting for a lock to switch it to WAL: sqlite3 \(pid $RPID\) is in a read transaction; no time limit"
backup_ok old.db old-1.db &
bk=$!
ok "then stores answers" wait_answers o 10
is "$(sqlite3 old.db 'PRAGMA journal_mode')" "wal" "in WAL mode"
like "$(cat o.log)" "notice: .*old.db: journal mode wal \(it was delete\)" "and says so"
wait $bk
ok "a backup started while the bridge waited passes integrity_check" test $? -eq 0
finish o old.db "$URL_o" $RPID

# --- PLEASE-EXIT and SIGTERM end a wait that has no bound --------------------
original w.db
hold rw w.db 100000 0
mkdir w.data
start_bridge w "$URL_o" w.db --dt 0.2
wait_line w.log "waiting for a lock"
touch w.data/PLEASE-EXIT
ok "PLEASE-EXIT ends the bridge's wait for a lock" wait_exit $BPID 5
is "$WAIT_RC" 0 "with status 0"
ok "and is removed" test ! -e w.data/PLEASE-EXIT
like "$(cat w.log)" "PLEASE-EXIT found: exiting before the first cycle" "the log says why"
start_bridge w "$URL_o" w.db --dt 0.2
for _ in $(seq 100); do [ "$(grep -c 'waiting for a lock' w.log)" -ge 2 ] && break; sleep 0.1; done
kill -TERM $BPID
ok "SIGTERM ends it too" wait_exit $BPID 5
is "$WAIT_RC" 0 "with status 0"
like "$(tail -n 1 w.log)" "bridge stopping on SIGTERM before its first cycle" "and says so"
is "$(sqlite3 w.db 'PRAGMA journal_mode')" "delete" "the database is as it was"
kill $RPID

# --- --wal 0 on a WAL database waits until no one else has it open ----------
"$BRIDGE" initdb --sqlitedb w0.db
hold rw0 w0.db 100000 0
start_bridge w0 "$URL_o" w0.db --dt 0.2 --wal 0
ok "--wal 0 waits while another process has the file open" \
    wait_line w0.log "waiting for a lock to switch it to DELETE: sqlite3 \(pid $RPID\) is in a read transaction"
kill $RPID
ok "and goes on once it is closed" wait_answers w0 3
is "$(sqlite3 w0.db 'PRAGMA journal_mode')" "delete" "in rollback-journal mode"
touch w0.data/PLEASE-EXIT
wait_exit $BPID 5
is "$WAIT_RC" 0 "PLEASE-EXIT: status 0"

# --- insert waits for readers; beside an open connection it keeps the WAL ---
mkdir -p tree/ALMA
for i in $(seq 0 99); do echo "$((T0 + 10 * i)),0.$i"; done > tree/ALMA/weather_tau225.csv
original ins.db
hold ri ins.db 3 0
out=$("$BRIDGE" insert --sqlitedb ins.db tree 2> ins.log)
is "$?" 0 "insert into a rollback-journal database beside a busy reader succeeds"
is "$(sqlite3 ins.db 'SELECT count(*) FROM ts_param_weather_tau225')" 100 "and stores every row"
kill $RPID
"$BRIDGE" initdb --sqlitedb insw.db
hold riw insw.db 3 0
out=$("$BRIDGE" insert --sqlitedb insw.db tree 2> insw.log)
is "$?" 0 "insert into a WAL database another process has open succeeds"
like "$(cat insw.log)" "insw.db stays in WAL mode for the load \(sqlite3 \(pid $RPID\) is in a read transaction\)" \
    "through the WAL, saying why"
is "$(sqlite3 insw.db 'SELECT count(*) FROM ts_param_weather_tau225')" 100 "and stores every row"
is "$(sqlite3 insw.db 'PRAGMA journal_mode')" "wal" "the database stays in WAL mode"
kill $RPID

# --- migrate waits for readers' transactions longer than a Grafana query ----
# 03 alone, one transaction: 04 commits a table at a time, and beside such a
# reader each of its 561 commits may wait for one of the reader's 7 s.
sqlite3 mig.db < "$FIXTURES/migrations/after-02.sql"
hold rm mig.db 7 0
out=$("$BRIDGE" migrate --sqlitedb mig.db fix 03 2> mig.log)
is "$?" 0 "migrate fix beside a reader of 7 s transactions succeeds"
like "$out" "03-match-initdb: applied" "and applies the migration"
like "$(cat mig.log)" "waiting for a lock: sqlite3 \(pid $RPID\) is in a read transaction; giving up after 60 s" \
    "saying what it waits for"
kill $RPID

# --- summarize waits for a writer's lock ------------------------------------
original sum.db
{ echo "BEGIN EXCLUSIVE;"; echo ".shell touch '$TMP/sum.flag'"; sleep 7; echo "COMMIT;"; } |
    sqlite3 sum.db &
writer=$!
track_pid $writer
for _ in $(seq 200); do [ -e sum.flag ] && break; sleep 0.05; done
out=$("$BRIDGE" summarize --sqlitedb sum.db 2> sum.log)
is "$?" 0 "summarize waits out a writer's 7 s exclusive lock"
like "$out" "series: 563, 0 with rows" "and reports"
like "$(cat sum.log)" "waiting for a lock: sqlite3 \(pid $writer\) is writing to it" "saying who holds it"
wait $writer

# --- the migration that could not get its lock ------------------------------
wait $stuck_fix
is "$?" 1 "fix gives up when a reader holds its lock past the bound"
like "$(cat stuck.err)" "waiting for a lock: sqlite3 \(pid $stuck_reader\) is in a read transaction; giving up after 60 s" \
    "after saying what it waits for"
like "$(cat stuck.err)" "database is locked: sqlite3 \(pid $stuck_reader\) is in a read transaction" \
    "and fails naming the reader"
ok "the useless backup is removed" test ! -e stuck.db.pre-03-match-initdb
like "$("$BRIDGE" migrate --sqlitedb stuck.db status 2>&1)" "03-match-initdb +old" \
    "the migration is still to do"

done_testing
