/*
 * open.c - see open.h.
 *
 * SQLite locks with POSIX advisory locks (its os_unix.c): on the database
 * file, the PENDING byte at 0x40000000, the RESERVED byte after it and the
 * 510-byte SHARED range after that; in WAL mode also bytes 120..128 of the
 * -shm file (the write lock, the checkpoint lock, the recovery lock, five
 * read marks, and the "still open" byte every connection holds). Who holds
 * what is read from /proc/locks rather than asked with fcntl(F_GETLK): that
 * would need a descriptor of our own on the file, and closing it would drop
 * every lock SQLite holds on the file in this process.
 *
 * While a writer waits for readers in rollback-journal mode it holds the
 * PENDING lock, which keeps new readers out: the wait ends when the current
 * read transactions end, however busy the readers are.
 */
#define _DEFAULT_SOURCE
#include "db/open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define PENDING_BYTE 0x40000000LL
#define RESERVED_BYTE (PENDING_BYTE + 1)
#define SHARED_FIRST (PENDING_BYTE + 2)
#define SHARED_SIZE 510
#define SHM_WRITE 120
#define SHM_CKPT 121
#define SHM_RECOVER 122
#define SHM_READ_FIRST 123
#define SHM_READ_LAST 127
#define SHM_DMS 128
/* A wait is logged once it has lasted this long: short ones are routine. */
#define LOG_AFTER_S 1.0

/* What a process is doing to the database, least in the way first. */
enum { HAS_OPEN = 1, READING, CHECKPOINTING, WRITING };

static const char *const doing_text[] = {
    [HAS_OPEN] = "has it open",
    [READING] = "is in a read transaction",
    [CHECKPOINTING] = "is checkpointing or recovering it",
    [WRITING] = "is writing to it",
};

typedef struct holder {
    long pid;
    int rank;
    int db_shared; /* a read lock on the database file's SHARED range */
    int shm;       /* a lock on the -shm file: a WAL connection */
} holder;

static double monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int overlaps(long long start, long long end, long long lo, long long hi)
{
    return start <= hi && end >= lo;
}

/* The rank one lock gives its holder; for the SHARED range that depends on the mode, see below. */
static void classify(holder *h, int shm, int write, long long start, long long end)
{
    int rank = 0;
    if (shm) {
        h->shm = 1;
        if (overlaps(start, end, SHM_WRITE, SHM_WRITE))
            rank = WRITING;
        else if (overlaps(start, end, SHM_CKPT, SHM_RECOVER))
            rank = CHECKPOINTING;
        else if (overlaps(start, end, SHM_READ_FIRST, SHM_READ_LAST))
            rank = READING;
        else if (overlaps(start, end, SHM_DMS, SHM_DMS))
            rank = HAS_OPEN;
    } else if (overlaps(start, end, SHARED_FIRST, SHARED_FIRST + SHARED_SIZE - 1)) {
        if (write)
            rank = WRITING;
        else
            h->db_shared = 1;
    } else if (overlaps(start, end, PENDING_BYTE, RESERVED_BYTE)) {
        /* A read lock on PENDING is a reader on its way to SHARED. */
        rank = write ? WRITING : READING;
    }
    if (rank > h->rank)
        h->rank = rank;
}

/* The other processes' locks on the database file and its -shm, by process; -1: no /proc/locks. */
static long find_holders(const char *path, holder *hs, size_t max)
{
    char shm_path[4096];
    struct stat st[2];
    snprintf(shm_path, sizeof shm_path, "%s-shm", path);
    int have[2] = {stat(path, &st[0]) == 0, stat(shm_path, &st[1]) == 0};
    if (!have[0])
        return 0;
    FILE *f = fopen("/proc/locks", "r");
    if (!f)
        return -1;
    size_t n = 0;
    long self = (long)getpid();
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char kind[16], mode[16], type[16], end_s[32];
        unsigned maj, min;
        unsigned long ino;
        long pid;
        long long start, end;
        /* "1: POSIX  ADVISORY  READ 6912 fe:00:10953478 1073741826 1073742335"; "->" lines wait. */
        if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%lu %lld %31s", kind, mode, type, &pid,
                   &maj, &min, &ino, &start, end_s) != 9 ||
            strcmp(kind, "POSIX") != 0 || pid <= 0 || pid == self)
            continue;
        end = strcmp(end_s, "EOF") == 0 ? start + (1LL << 40) : strtoll(end_s, NULL, 10);
        int file = -1;
        for (int i = 0; i < 2 && file < 0; i++)
            if (have[i] && st[i].st_ino == ino && st[i].st_dev == makedev(maj, min))
                file = i;
        if (file < 0)
            continue;
        size_t k = 0;
        while (k < n && hs[k].pid != pid)
            k++;
        if (k == n) {
            if (n == max)
                continue;
            hs[n++] = (holder){.pid = pid};
        }
        classify(&hs[k], file == 1, strcmp(type, "WRITE") == 0, start, end);
    }
    fclose(f);
    for (size_t k = 0; k < n; k++) {
        /* In WAL mode every connection keeps SHARED for as long as it is open. */
        int shared = hs[k].db_shared ? (hs[k].shm ? HAS_OPEN : READING) : 0;
        if (shared > hs[k].rank)
            hs[k].rank = shared;
        if (hs[k].shm && hs[k].rank < HAS_OPEN)
            hs[k].rank = HAS_OPEN;
    }
    return (long)n;
}

const char *vb_db_lock_holder(const char *path, char *buf, size_t n)
{
    holder hs[32];
    long found = find_holders(path, hs, VB_COUNT(hs));
    if (found < 0) {
        snprintf(buf, n, "who holds the lock cannot be told here (no /proc/locks)");
        return buf;
    }
    size_t nh = (size_t)found, top = 0, others = 0;
    for (size_t k = 0; k < nh; k++) {
        others += hs[k].rank > 0;
        if (hs[k].rank > hs[top].rank)
            top = k;
    }
    if (nh == 0 || hs[top].rank == 0) {
        snprintf(buf, n, "no other process on this machine shows a lock on it");
        return buf;
    }
    char comm_path[64], comm[64] = "";
    snprintf(comm_path, sizeof comm_path, "/proc/%ld/comm", hs[top].pid);
    FILE *f = fopen(comm_path, "r");
    if (f) {
        if (fgets(comm, sizeof comm, f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
    }
    int len = *comm
                  ? snprintf(buf, n, "%s (pid %ld) %s", comm, hs[top].pid, doing_text[hs[top].rank])
                  : snprintf(buf, n, "pid %ld %s", hs[top].pid, doing_text[hs[top].rank]);
    if (--others > 0 && len >= 0 && (size_t)len < n)
        snprintf(buf + len, n - (size_t)len, " (and %zu other process%s)", others,
                 others > 1 ? "es" : "");
    return buf;
}

const char *vb_db_errmsg(sqlite3 *db, char *buf, size_t n)
{
    const char *path = sqlite3_db_filename(db, "main");
    if ((sqlite3_errcode(db) & 0xff) != SQLITE_BUSY || !path || !*path) {
        snprintf(buf, n, "%s", sqlite3_errmsg(db));
        return buf;
    }
    char who[512];
    snprintf(buf, n, "%s: %s", sqlite3_errmsg(db), vb_db_lock_holder(path, who, sizeof who));
    return buf;
}

static void begin_wait(vb_db_waiter *w)
{
    w->since = monotonic();
    w->logged = 0;
}

/* One pause of a wait: 1 to try again, 0 to give up. */
static int wait_step(vb_db_waiter *w)
{
    const vb_db_wait *p = w->policy;
    if (p->stop && p->stop(p->stop_ud))
        return 0;
    double waited = monotonic() - w->since;
    if (p->bound_s >= 0 && waited >= p->bound_s)
        return 0;
    if (!w->logged && p->log && waited >= LOG_AFTER_S) {
        const char *path = sqlite3_db_filename(w->db, "main");
        char who[512], limit[64] = "no time limit";
        if (p->bound_s >= 0)
            snprintf(limit, sizeof limit, "giving up after %.0f s", p->bound_s);
        vb_log_msg(p->log, VB_NOTICE, "%s: waiting for a lock%s%s: %s; %s", path,
                   *w->doing ? " " : "", w->doing, vb_db_lock_holder(path, who, sizeof who), limit);
        w->logged = 1;
    }
    /* Short pauses first, so that a gap between two readers is not missed; then 0.1 s. */
    double pause = waited / 2;
    pause = pause < 0.001 ? 0.001 : pause > 0.1 ? 0.1 : pause;
    if (p->bound_s >= 0 && waited + pause > p->bound_s)
        pause = p->bound_s - waited;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(pause * 1e9)};
    nanosleep(&ts, NULL);
    return 1;
}

static int busy(void *ud, int count)
{
    vb_db_waiter *w = ud;
    if (count == 0 && !w->held)
        begin_wait(w);
    return wait_step(w);
}

int vb_db_open(const char *path, int flags, const vb_db_wait *policy, vb_db_waiter *w, sqlite3 **db,
               vb_err *err)
{
    *w = (vb_db_waiter){.policy = policy};
    if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
        vb_fail(err, "%s: %s", path, *db ? sqlite3_errmsg(*db) : "cannot open");
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    w->db = *db;
    sqlite3_busy_handler(*db, busy, w);
    return 0;
}

/* Runs a pragma that answers one text value; returns SQLite's code. */
static int pragma_text(sqlite3 *db, const char *sql, char *buf, size_t n)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            const char *text = (const char *)sqlite3_column_text(q, 0);
            snprintf(buf, n, "%s", text ? text : "");
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(q);
    return rc & 0xff;
}

int vb_db_journal(sqlite3 *db, char *buf, size_t n, vb_err *err)
{
    if (pragma_text(db, "PRAGMA journal_mode", buf, n) != SQLITE_OK) {
        char msg[1024];
        return vb_fail(err, "%s: PRAGMA journal_mode: %s", sqlite3_db_filename(db, "main"),
                       vb_db_errmsg(db, msg, sizeof msg));
    }
    return 0;
}

int vb_db_set_journal(vb_db_waiter *w, const char *mode, vb_err *err)
{
    char before[32], after[32], sql[64], msg[1024];
    const char *path = sqlite3_db_filename(w->db, "main");
    if (vb_db_journal(w->db, before, sizeof before, err))
        return -1;
    if (strcasecmp(before, mode) == 0)
        return 0;
    snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", mode);
    snprintf(w->doing, sizeof w->doing, "to switch it to %s", mode);
    begin_wait(w);
    w->held = 1;
    int rc;
    while ((rc = pragma_text(w->db, sql, after, sizeof after)) == SQLITE_BUSY && wait_step(w))
        ;
    w->held = 0;
    w->doing[0] = '\0';
    if (rc != SQLITE_OK)
        return vb_fail(err, "%s: %s: %s", path, sql, vb_db_errmsg(w->db, msg, sizeof msg));
    if (strcasecmp(after, mode) != 0)
        return vb_fail(err, "%s: %s: SQLite keeps journal mode %s", path, sql, after);
    if (w->policy->log)
        vb_log_msg(w->policy->log, VB_NOTICE, "%s: journal mode %s (it was %s)", path, after,
                   before);
    return 0;
}
