/*
 * sink_pg.c - the PostgreSQL sink (db/sink.h) through libpq: a database
 * made by initdb --postgres, for when readers outgrow one machine.
 *
 * Round trips: a transaction of the live bridge costs two whatever the
 * snapshot holds. store() sends BEGIN and, per table, one prepared INSERT
 * ... SELECT FROM unnest($1, $2, $3) with the table's three columns as
 * binary arrays, all in libpq's pipeline mode, and reads the answers once;
 * commit() sends the bridge_state rows and COMMIT the same way. Tables met
 * for the first time cost one more (the catalog, for all of them at once),
 * and one more when some must be created. docs/performance.md has the
 * measurements that chose this over a statement per row and COPY per table.
 *
 * A lost connection (a server restart, a failover, the network) fails the
 * operation under way and the transaction with it; the next begin()
 * reconnects, at most once per backoff step (0.5 s doubling to 30 s), with
 * one log line when the connection is lost and one when it is back. A
 * COMMIT whose answer was lost may have committed: the transaction's id is
 * known from its start, and on reconnecting the sink ends the old session
 * if it still runs and asks the server how the transaction ended
 * (pg_xact_status). If it committed, the next transaction that stores
 * exactly the same rows and state, the caller's retry of the same answer,
 * is rolled back and reported committed: stored once.
 *
 * Values are checked here for what PostgreSQL refuses and SQLite takes,
 * because one refused row would fail its whole transaction, again on every
 * retry: text that is not UTF-8 or holds a NUL byte, and a fraction for an
 * INTEGER (BIGINT) column, do not fit (docs/schema.md).
 *
 * fill(), the bridge's backfill, is two statements per series in the same
 * pipeline, which the server answers by itself: what the table lacks is
 * inserted and, for a replaced series, what it holds too often deleted,
 * each point counted with its multiplicity (row_number() beside count(*)),
 * and compared in the column's own type. A COMMIT of fill cut off is
 * settled as any other: its retry reads the table again.
 *
 * insert's bulk load goes through COPY, one per table and batch, into
 * tables whose indexes were dropped when the load found them empty and are
 * made again at the end.
 */
#define _DEFAULT_SOURCE
#include "db/sink.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/pg.h"
#include "db/pgschema.h"
#include "db/schema.h"

#define BACKOFF_FIRST_S 0.5
#define BACKOFF_MAX_S 30.0
/* How long the session of a COMMIT cut off may take to end once told to. */
#define OLD_SESSION_WAIT_S 5.0
/* Statements queued between two reads: their answers must fit the socket buffers. */
#define PIPE_MAX 1000
/* COPY text held before it goes to the server. */
#define BULK_BYTES (8u << 20)

/* PostgreSQL's type ids of the array elements sent (pg_type.dat). */
#define OID_INT2 21
#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701

typedef enum { T_UNKNOWN, T_READY, T_SKIP } tstate;

typedef struct table {
    char *name; /* the series as first met (without ts_param_) */
    char *key;  /* lower-cased: PostgreSQL's name for it */
    vb_coltype type;
    tstate state;
    unsigned stmt; /* its prepared INSERT on this connection, s<stmt>; 0: none */
    int created;   /* created in the open transaction */
    int warned;
    /* insert's bulk load */
    vb_buf copy; /* COPY text not yet sent */
    int touched;
    char *index_sql; /* indexes dropped for the load, to make again */
    long skipped;
} table;

/* What a queued statement is, so its answer can be read and blamed. */
typedef enum {
    Q_PLAIN,
    Q_XID,
    Q_PREPARE,
    Q_INSERT,
    Q_PROBE,
    Q_GET,
    Q_COMMIT,
    Q_FILL_ADD, /* fill's INSERT of the rows the table lacks: its count is read */
    Q_FILL_DEL, /* fill's DELETE of the rows a replaced series has too often */
} qkind;

typedef struct qitem {
    qkind kind;
    int table;
    unsigned *stmt; /* Q_PREPARE: the statement's number, 0 again if it is not made */
    PGresult *res;  /* Q_PROBE, Q_GET: the rows */
} qitem;

typedef struct state_pair {
    char *key, *value;
} state_pair;

typedef struct pg_sink {
    vb_sink base;
    char *conninfo;
    vb_pg *pg; /* NULL: not connected */
    const vb_log *log;
    const vb_masterlist *ml;
    int skip_broken;
    const vb_db_wait *wait;
    table *tables;
    int *order; /* tables by key */
    int ntables, cap;
    unsigned next_stmt;
    unsigned status_stmt, state_stmt; /* 0: not prepared on this connection */
    qitem *q;
    int nq, qcap;
    /* the open transaction */
    int tx, need_begin;
    char xid[32];
    uint64_t digest;
    state_pair *pairs;
    int npairs;
    /* this session, for ending it after a COMMIT cut off */
    int backend_pid;
    char backend_start[64];
    /* a lost connection */
    double lost_at, next_try, backoff;
    /* a COMMIT cut off, and what its transaction stored */
    int doubt;
    char doubt_xid[32], doubt_start[64];
    int doubt_pid;
    uint64_t doubt_digest;
    int replay; /* it committed: the same transaction again is not stored twice */
    uint64_t replay_digest;
    /* insert's bulk load */
    size_t bulk_bytes;
    long long bulk_rows, bulk_skipped;
} pg_sink;

static pg_sink *sink_of(vb_sink *s)
{
    return (pg_sink *)s;
}

static PGconn *conn(pg_sink *s)
{
    return s->pg->conn;
}

/* --- digests: what a transaction stored, to know it again ----------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ULL;
    return h;
}

static void digest_str(pg_sink *s, const char *str)
{
    s->digest = fnv(s->digest, str, strlen(str) + 1);
}

/* --- the connection: lost, reconnected ---------------------------------- */

static void lose(pg_sink *s, const char *reason)
{
    if (s->pg) {
        vb_pg_close(s->pg);
        s->pg = NULL;
    }
    s->status_stmt = s->state_stmt = 0;
    for (int i = 0; i < s->ntables; i++)
        s->tables[i].stmt = 0;
    if (s->lost_at > 0)
        return;
    s->lost_at = vb_now();
    s->next_try = s->lost_at;
    s->backoff = 0;
    vb_log_msg(s->log, VB_WARN,
               "postgres %s: connection lost (%s); reconnecting with a backoff of up to %.0f s",
               s->base.name, reason, BACKOFF_MAX_S);
}

/* Whether the connection broke; if so it is dropped (and logged once). */
static int broken(pg_sink *s)
{
    if (!s->pg || PQstatus(conn(s)) != CONNECTION_BAD)
        return !s->pg;
    char buf[512];
    lose(s, vb_pg_error_line(s->pg, buf, sizeof buf));
    return 1;
}

static int lost_fail(pg_sink *s, vb_err *err)
{
    return vb_fail(err, "postgres %s: connection lost; the transaction is not stored",
                   s->base.name);
}

/* The session's id and start, by which a COMMIT cut off finds it again. */
static int note_session(pg_sink *s, vb_err *err)
{
    PGresult *r = vb_pg_query(s->pg,
                              "SELECT pg_backend_pid(), backend_start::text FROM "
                              "pg_stat_activity WHERE pid = pg_backend_pid()",
                              0, NULL, err);
    if (!r)
        return -1;
    int rc = 0;
    if (PQntuples(r) != 1)
        rc = vb_fail(err, "postgres %s: this session is not in pg_stat_activity", s->base.name);
    else {
        s->backend_pid = atoi(PQgetvalue(r, 0, 0));
        snprintf(s->backend_start, sizeof s->backend_start, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

/*
 * How the transaction of a COMMIT cut off ended. Its session is ended first
 * if it still runs (the network may have failed while the server waits),
 * so that it cannot commit after the answer. 0: known (s->replay says
 * whether it committed); -1: not yet.
 */
static int resolve(pg_sink *s, vb_err *err)
{
    char pid[16];
    snprintf(pid, sizeof pid, "%d", s->doubt_pid);
    const char *old[] = {pid, s->doubt_start};
    double until = vb_now() + OLD_SESSION_WAIT_S;
    for (;;) {
        PGresult *r = vb_pg_query(s->pg,
                                  "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE pid = $1::int AND backend_start = $2::timestamptz",
                                  2, old, err);
        if (!r)
            return -1;
        int running = PQntuples(r) > 0;
        PQclear(r);
        if (!running)
            break;
        if (vb_now() > until)
            return vb_fail(err,
                           "postgres %s: the session whose COMMIT was cut off (pid %d) has not "
                           "ended yet",
                           s->base.name, s->doubt_pid);
        usleep(50000);
    }
    const char *xid[] = {s->doubt_xid};
    PGresult *r =
        PQexecParams(conn(s), "SELECT pg_xact_status($1::xid8)", 1, NULL, xid, NULL, NULL, 0);
    const char *state = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        state = PQgetvalue(r, 0, 0);
    const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    /* 22023, an id "in the future": one this server never gave out (a standby promoted since). */
    int unseen = code && strcmp(code, "22023") == 0;
    if (!state && !unseen) {
        char buf[512];
        vb_fail(err, "postgres %s: how transaction %s ended is unknown: %s", s->base.name,
                s->doubt_xid, vb_pg_error_line(s->pg, buf, sizeof buf));
        PQclear(r);
        return -1;
    }
    if (state && strcmp(state, "in progress") == 0) {
        PQclear(r);
        return vb_fail(err, "postgres %s: transaction %s is still in progress", s->base.name,
                       s->doubt_xid);
    }
    s->replay = state && strcmp(state, "committed") == 0;
    s->replay_digest = s->doubt_digest;
    s->doubt = 0;
    vb_log_msg(s->log, VB_NOTICE, "postgres %s: the transaction whose COMMIT was cut off (%s) %s",
               s->base.name, s->doubt_xid,
               s->replay ? "committed: the same rows sent again are not stored twice"
               : unseen  ? "is unknown to this server (a failover): nothing of it is stored"
                         : "did not commit: nothing of it is stored");
    PQclear(r);
    return 0;
}

/* Connected, reconnecting when the backoff allows; settles a COMMIT cut off first. */
static int ensure(pg_sink *s, vb_err *err)
{
    /* A server that restarted closed the socket while we slept: find out before sending. */
    if (s->pg && !PQconsumeInput(conn(s)))
        broken(s);
    if (!s->pg) {
        double now = vb_now();
        if (now < s->next_try)
            return vb_fail(err, "postgres %s: not connected; next attempt in %.1f s", s->base.name,
                           s->next_try - now);
        s->backoff = s->backoff > 0 ? fmin(BACKOFF_MAX_S, s->backoff * 2) : BACKOFF_FIRST_S;
        s->next_try = now + s->backoff;
        if (!(s->pg = vb_pg_open(s->conninfo, err)))
            return -1;
        if (note_session(s, err)) {
            vb_pg_close(s->pg);
            s->pg = NULL;
            return -1;
        }
        if (s->lost_at > 0)
            vb_log_msg(s->log, VB_NOTICE, "postgres %s: reconnected after %.1f s", s->base.name,
                       vb_now() - s->lost_at);
        s->lost_at = 0;
        s->backoff = 0;
    }
    if (s->doubt && resolve(s, err)) {
        broken(s);
        return -1;
    }
    return 0;
}

/* --- the pipeline ----------------------------------------------------------- */

static int queued(pg_sink *s, int sent, qkind kind, int tbl, vb_err *err)
{
    if (!sent) {
        char buf[512];
        if (broken(s))
            return lost_fail(s, err);
        return vb_fail(err, "postgres %s: %s", s->base.name,
                       vb_pg_error_line(s->pg, buf, sizeof buf));
    }
    if (s->nq == s->qcap) {
        int cap = s->qcap ? s->qcap * 2 : 256;
        qitem *v = realloc(s->q, (size_t)cap * sizeof *v);
        if (!v)
            return vb_fail(err, "out of memory");
        s->q = v;
        s->qcap = cap;
    }
    s->q[s->nq++] = (qitem){.kind = kind, .table = tbl};
    return 0;
}

static int send_sql(pg_sink *s, const char *sql, int n, const char *const *v, qkind kind,
                    vb_err *err)
{
    return queued(s, PQsendQueryParams(conn(s), sql, n, NULL, v, NULL, NULL, 0), kind, -1, err);
}

/* Queues the preparation of statement s<*stmt> (a new number). */
static int send_prepare(pg_sink *s, unsigned *stmt, const char *sql, int nparams, int tbl,
                        vb_err *err)
{
    char name[32];
    *stmt = ++s->next_stmt;
    snprintf(name, sizeof name, "s%u", *stmt);
    if (queued(s, PQsendPrepare(conn(s), name, sql, nparams, NULL), Q_PREPARE, tbl, err)) {
        *stmt = 0;
        return -1;
    }
    s->q[s->nq - 1].stmt = stmt;
    return 0;
}

static int run_pipe(pg_sink *s, vb_err *err);

/*
 * Pipeline mode, with BEGIN and the transaction's id first when the
 * transaction has not started. Once it has, a lost connection fails what
 * is left of it: a new connection would not hold the transaction.
 */
static int open_pipe(pg_sink *s, vb_err *err)
{
    if (s->tx && !s->need_begin ? !s->pg && lost_fail(s, err) : ensure(s, err))
        return -1;
    if (PQpipelineStatus(conn(s)) == PQ_PIPELINE_OFF && !PQenterPipelineMode(conn(s)))
        return vb_fail(err, "postgres %s: cannot enter pipeline mode", s->base.name);
    if (!s->need_begin)
        return 0;
    s->need_begin = 0;
    if (send_sql(s, "BEGIN", 0, NULL, Q_PLAIN, err))
        return -1;
    if (s->wait && s->wait->bound_s != VB_DB_WAIT_FOREVER) {
        /* A lock others hold is waited for as the caller waits on SQLite (db/open.h). */
        char sql[64];
        snprintf(sql, sizeof sql, "SET LOCAL lock_timeout = %ld",
                 (long)fmax(1, ceil(s->wait->bound_s * 1000)));
        if (send_sql(s, sql, 0, NULL, Q_PLAIN, err))
            return -1;
    }
    return send_sql(s, "SELECT pg_current_xact_id()::text", 0, NULL, Q_XID, err);
}

/* The message of a failed answer, naming what it was for. */
static void blame(pg_sink *s, const qitem *it, const PGresult *r, vb_err *err)
{
    const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    char buf[512];
    if (!m)
        m = vb_pg_error_line(s->pg, buf, sizeof buf);
    if (it->table >= 0 && (it->kind == Q_INSERT || it->kind == Q_FILL_ADD))
        vb_fail(err, "postgres %s: insert into ts_param_%s: %s", s->base.name,
                s->tables[it->table].name, m);
    else if (it->table >= 0)
        vb_fail(err, "postgres %s: ts_param_%s: %s", s->base.name, s->tables[it->table].name, m);
    else
        vb_fail(err, "postgres %s: %s", s->base.name, m);
}

static void clear_queue(pg_sink *s)
{
    for (int i = 0; i < s->nq; i++)
        PQclear(s->q[i].res);
    s->nq = 0;
}

/*
 * Sends what is queued and reads every answer. The first failure is the
 * error; a COMMIT whose answer the connection took with it leaves the
 * transaction in doubt, for ensure() to settle. The answers of Q_PROBE,
 * Q_GET and fill's statements stay in the queue for the caller, who clears
 * it.
 */
static int run_pipe(pg_sink *s, vb_err *err)
{
    int failed = 0, lost = !PQpipelineSync(conn(s)), committed = 0, had_commit = 0;
    char reason[512] = "no answer";
    for (int i = 0; i < s->nq; i++)
        had_commit |= s->q[i].kind == Q_COMMIT;
    for (int i = 0; i < s->nq && !lost; i++) {
        qitem *it = &s->q[i];
        int answered = 0;
        PGresult *r;
        while ((r = PQgetResult(conn(s)))) {
            ExecStatusType st = PQresultStatus(r);
            answered = 1;
            if (it->kind == Q_PREPARE && st != PGRES_COMMAND_OK)
                *it->stmt = 0;
            if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
                if (it->kind == Q_XID && PQntuples(r) == 1)
                    snprintf(s->xid, sizeof s->xid, "%s", PQgetvalue(r, 0, 0));
                /* COMMIT of a transaction an error had ended answers ROLLBACK. */
                if (it->kind == Q_COMMIT && strcmp(PQcmdStatus(r), "COMMIT") != 0 && !failed) {
                    failed = 1;
                    vb_fail(err, "postgres %s: the transaction was rolled back", s->base.name);
                }
                committed |= it->kind == Q_COMMIT && !failed;
                if ((it->kind == Q_PROBE || it->kind == Q_GET || it->kind == Q_FILL_ADD ||
                     it->kind == Q_FILL_DEL) &&
                    !it->res) {
                    it->res = r;
                    continue;
                }
            } else if (st != PGRES_PIPELINE_ABORTED) {
                /* FATAL and worse end the session; libpq may not have seen the socket close yet. */
                const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
                if (PQstatus(conn(s)) == CONNECTION_BAD || !sev || strcmp(sev, "ERROR") != 0) {
                    lost = 1;
                    vb_pg_error_line(s->pg, reason, sizeof reason);
                } else if (!failed) {
                    failed = 1;
                    blame(s, it, r, err);
                    /* The table may have been dropped or changed: look at it again next time. */
                    if (it->kind == Q_INSERT)
                        s->tables[it->table].state = T_UNKNOWN;
                }
            }
            PQclear(r);
        }
        if (!answered)
            lost = 1;
    }
    if (!lost) {
        PGresult *r = PQgetResult(conn(s));
        lost = !r || PQresultStatus(r) != PGRES_PIPELINE_SYNC;
        PQclear(r);
    }
    if (!lost && PQstatus(conn(s)) != CONNECTION_BAD) {
        PQexitPipelineMode(conn(s));
        return failed ? -1 : 0;
    }
    if (s->pg && PQstatus(conn(s)) == CONNECTION_BAD)
        vb_pg_error_line(s->pg, reason, sizeof reason);
    /* Cut off after COMMIT was sent, before its answer, with nothing refused before it. */
    if (had_commit && !committed && !failed && s->xid[0]) {
        s->doubt = 1;
        snprintf(s->doubt_xid, sizeof s->doubt_xid, "%s", s->xid);
        snprintf(s->doubt_start, sizeof s->doubt_start, "%s", s->backend_start);
        s->doubt_pid = s->backend_pid;
        s->doubt_digest = s->digest;
    }
    lose(s, reason);
    if (s->doubt)
        return vb_fail(err,
                       "postgres %s: connection lost during COMMIT (%s); whether it committed is "
                       "asked on reconnecting",
                       s->base.name, reason);
    return failed ? -1 : lost_fail(s, err);
}

/* Runs SQL outside pipeline mode (several statements when n is 0); rows, if any, are dropped. */
static int exec1(pg_sink *s, const char *sql, int n, const char *const *v, vb_err *err)
{
    if (!s->pg)
        return lost_fail(s, err);
    PGresult *r = n ? PQexecParams(conn(s), sql, n, NULL, v, NULL, NULL, 0) : PQexec(conn(s), sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        qitem it = {.kind = Q_PLAIN, .table = -1};
        blame(s, &it, r, err);
        rc = -1;
        if (broken(s))
            lost_fail(s, err);
    }
    PQclear(r);
    return rc;
}

/* Reads answers until the queue is short enough to add more without a deadlock. */
static int room(pg_sink *s, vb_err *err)
{
    if (s->nq < PIPE_MAX)
        return 0;
    int rc = run_pipe(s, err);
    clear_queue(s);
    return rc || open_pipe(s, err);
}

/* --- tables ------------------------------------------------------------- */

static int by_key(const pg_sink *s, const char *key, int *at)
{
    int lo = 0, hi = s->ntables;
    while (lo < hi) {
        int mid = (lo + hi) / 2, c = strcmp(s->tables[s->order[mid]].key, key);
        if (c == 0) {
            *at = mid;
            return s->order[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    return -1;
}

/* The table of series name (its NUL-free bytes), added when new: its index, -1 when out of memory.
 */
static int table_of(pg_sink *s, const char *name)
{
    char key[256];
    size_t n = strlen(name);
    if (n >= sizeof key)
        n = sizeof key - 1;
    for (size_t i = 0; i < n; i++)
        key[i] = (char)tolower((unsigned char)name[i]);
    key[n] = '\0';
    int at, t = by_key(s, key, &at);
    if (t >= 0)
        return t;
    if (s->ntables == s->cap) {
        int cap = s->cap ? s->cap * 2 : 1024;
        table *v = realloc(s->tables, (size_t)cap * sizeof *v);
        if (v)
            s->tables = v;
        int *o = realloc(s->order, (size_t)cap * sizeof *o);
        if (o)
            s->order = o;
        if (!v || !o)
            return -1;
        s->cap = cap;
    }
    table *e = &s->tables[s->ntables];
    *e = (table){.name = vb_strdup(name), .key = vb_strdup(key)};
    if (!e->name || !e->key) {
        free(e->name);
        free(e->key);
        return -1;
    }
    /* Names come from outside; only identifiers that PostgreSQL keeps whole reach SQL. */
    if (!vb_is_identifier(name) || strlen(name) > 200) {
        e->state = T_SKIP;
        vb_log_msg(s->log, VB_WARN, "series name '%.60s' is not an SQL identifier; skipped", name);
    }
    memmove(s->order + at + 1, s->order + at, (size_t)(s->ntables - at) * sizeof *s->order);
    s->order[at] = s->ntables;
    return s->ntables++;
}

/* The contract type of a value column, by PostgreSQL's name of its type; -1: not ours. */
static int coltype_of_pg(const char *pgtype)
{
    static const struct {
        const char *pg;
        vb_coltype t;
    } map[] = {{"bigint", VB_COL_INTEGER},
               {"double precision", VB_COL_REAL},
               {"smallint", VB_COL_BOOLEAN},
               {"text", VB_COL_TEXT}};
    for (size_t i = 0; i < VB_COUNT(map); i++)
        if (strcmp(pgtype, map[i].pg) == 0)
            return (int)map[i].t;
    return -1;
}

/*
 * A table that exists but cannot be written as the contract says: skipped
 * with one error line for the live bridge, else the transaction's error.
 */
static int broken_table(pg_sink *s, table *t, const char *what, vb_err *err)
{
    if (!s->skip_broken)
        return vb_fail(err, "postgres %s: ts_param_%s %s (docs/schema.md); repair the table",
                       s->base.name, t->name, what);
    t->state = T_SKIP;
    vb_log_msg(s->log, VB_ERROR,
               "postgres %s: ts_param_%s %s; its points are skipped until the table is repaired "
               "and the bridge restarted",
               s->base.name, t->name, what);
    return 0;
}

/* Judges a probe row (name, exists, relkind, time type, station type, value type, insertable). */
static int judge(pg_sink *s, table *t, const PGresult *r, int row, int *missing, vb_err *err)
{
    *missing = PQgetvalue(r, row, 1)[0] != 't';
    if (*missing)
        return 0;
    const char *kind = PQgetvalue(r, row, 2);
    int vt = PQgetisnull(r, row, 5) ? -1 : coltype_of_pg(PQgetvalue(r, row, 5));
    if (strcmp(kind, "r") != 0 && strcmp(kind, "p") != 0)
        return broken_table(s, t, "is not a table", err);
    if (PQgetisnull(r, row, 3) || strcmp(PQgetvalue(r, row, 3), "bigint") != 0 ||
        PQgetisnull(r, row, 4) || strcmp(PQgetvalue(r, row, 4), "text") != 0)
        return broken_table(s, t, "lacks a time BIGINT or a station TEXT column", err);
    if (vt < 0)
        return broken_table(s, t, "has no value column of a type of the contract", err);
    if (PQgetvalue(r, row, 6)[0] != 't')
        return broken_table(s, t, "is not writable by this role", err);
    t->type = (vb_coltype)vt;
    t->state = T_READY;
    return 0;
}

static const char *const PROBE =
    "SELECT u.n, c.oid IS NOT NULL, c.relkind::text, "
    "(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = c.oid "
    "AND a.attname = 'time' AND NOT a.attisdropped), "
    "(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = c.oid "
    "AND a.attname = 'station' AND NOT a.attisdropped), "
    "(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = c.oid "
    "AND a.attname = 'value' AND NOT a.attisdropped), "
    "c.oid IS NOT NULL AND has_table_privilege(c.oid, 'INSERT') "
    "FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) "
    "LEFT JOIN pg_class c ON c.oid = to_regclass('ts_param_' || u.n) ORDER BY u.i";

/* Creates series table t for a value like sample, in the open transaction (queued). */
static int create(pg_sink *s, table *t, const vb_value *sample, vb_err *err)
{
    int none;
    const char *sqltype = vb_series_type(s->ml, t->name, sample, &none);
    if (none) {
        t->state = T_SKIP;
        vb_log_msg(s->log, VB_WARN,
                   "parameter %s has datatype none in the masterlist; its points are not stored",
                   t->name);
        return 0;
    }
    vb_buf sql = {0};
    vb_err why_not;
    if (vb_series_sql_in(&sql, VB_POSTGRES, t->name, sqltype, &why_not)) {
        vb_buf_free(&sql);
        /* A name too long for PostgreSQL: no retry will make it shorter. */
        t->state = T_SKIP;
        vb_log_msg(s->log, VB_ERROR, "postgres %s: %s; its points are not stored", s->base.name,
                   why_not.msg);
        return 0;
    }
    /* Several statements: outside the pipeline, which takes one per query. */
    int rc = exec1(s, sql.data, 0, NULL, err);
    vb_buf_free(&sql);
    if (rc)
        return -1;
    t->created = 1;
    t->type = vb_coltype_of(sqltype);
    t->state = T_READY;
    vb_log_msg(s->log, VB_NOTICE,
               "created table ts_param_%s (%s) with its indexes for a parameter the database "
               "lacked",
               t->name, sqltype);
    return 0;
}

/*
 * Whether ids[i] is a table probe() asks about: not settled yet, and not
 * met before in ids (two names that differ only in case are one table).
 */
static int to_probe(const pg_sink *s, const int *ids, int i)
{
    if (ids[i] < 0 || s->tables[ids[i]].state != T_UNKNOWN)
        return 0;
    for (int j = 0; j < i; j++)
        if (ids[j] == ids[i])
            return 0;
    return 1;
}

/*
 * Settles the tables of ids[0..n) that are T_UNKNOWN: one catalog query for
 * all of them, then the missing ones created (samples[i]: a value of ids[i];
 * without samples they stay T_UNKNOWN). Runs inside the open transaction and
 * leaves the pipeline open.
 */
static int probe(pg_sink *s, const int *ids, const vb_value *samples, int n, vb_err *err)
{
    vb_buf names = {0};
    int asked = 0, rc = vb_buf_puts(&names, "{");
    for (int i = 0; rc == 0 && i < n; i++)
        if (to_probe(s, ids, i))
            rc = vb_buf_printf(&names, "%s\"%s\"", asked++ ? "," : "", s->tables[ids[i]].name);
    if (rc || vb_buf_puts(&names, "}")) {
        vb_buf_free(&names);
        return vb_fail(err, "out of memory");
    }
    if (!asked) {
        vb_buf_free(&names);
        return 0;
    }
    const char *v[] = {names.data};
    rc = send_sql(s, PROBE, 1, v, Q_PROBE, err) || run_pipe(s, err);
    vb_buf_free(&names);
    PGresult *r = rc ? NULL : s->q[s->nq - 1].res;
    s->q[s->nq - 1].res = NULL;
    clear_queue(s);
    if (rc)
        return -1;
    int row = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        if (!to_probe(s, ids, i))
            continue;
        table *t = &s->tables[ids[i]];
        int missing;
        if (row >= PQntuples(r))
            rc = vb_fail(err, "postgres %s: the catalog answered too few rows", s->base.name);
        else if ((rc = judge(s, t, r, row++, &missing, err)) == 0 && missing && samples)
            rc = create(s, t, &samples[i], err);
    }
    PQclear(r);
    return rc || open_pipe(s, err);
}

/* --- values ------------------------------------------------------------- */

static int put_be(vb_buf *b, uint64_t v, int bytes)
{
    unsigned char c[8];
    for (int i = 0; i < bytes; i++)
        c[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    return vb_buf_append(b, c, (size_t)bytes);
}

/* A one-dimensional binary array of element type oid, its length filled in by array_end. */
static int array_start(vb_buf *b, uint32_t oid)
{
    b->len = 0;
    return put_be(b, 1, 4) || put_be(b, 0, 4) || put_be(b, oid, 4) || put_be(b, 0, 4) ||
           put_be(b, 1, 4);
}

static void array_end(vb_buf *b, uint32_t n)
{
    for (int i = 0; i < 4; i++)
        b->data[12 + i] = (char)(n >> (8 * (3 - i)));
}

static int array_add(vb_buf *b, const void *p, size_t n)
{
    return put_be(b, n, 4) || vb_buf_append(b, p, n);
}

/* Text PostgreSQL takes: UTF-8 without a NUL byte. */
static int pg_text_ok(const char *p, size_t n)
{
    return !memchr(p, '\0', n) && vb_utf8_valid(p, n);
}

/*
 * What a column of type t stores for v on PostgreSQL: vb_value_to_column,
 * less what PostgreSQL refuses (see the top of this file). 0 or -1.
 */
static int to_column(const vb_value *v, vb_coltype t, vb_value *out, char num[VB_NUMBER_TEXT])
{
    if (vb_value_to_column(v, t, out, num))
        return -1;
    if (t == VB_COL_INTEGER && out->type != VB_V_INTEGER)
        return -1;
    if (out->type == VB_V_TEXT && !pg_text_ok(out->text.s, out->text.len))
        return -1;
    return 0;
}

static uint32_t elem_oid(vb_coltype t)
{
    return t == VB_COL_INTEGER   ? OID_INT8
           : t == VB_COL_REAL    ? OID_FLOAT8
           : t == VB_COL_BOOLEAN ? OID_INT2
                                 : OID_TEXT;
}

static const char *elem_type(vb_coltype t)
{
    return t == VB_COL_INTEGER   ? "int8"
           : t == VB_COL_REAL    ? "float8"
           : t == VB_COL_BOOLEAN ? "int2"
                                 : "text";
}

static int add_value(vb_buf *b, const vb_value *v)
{
    uint64_t bits;
    switch (v->type) {
    case VB_V_INTEGER:
        return put_be(b, 8, 4) || put_be(b, (uint64_t)v->i, 8);
    case VB_V_REAL:
        memcpy(&bits, &v->d, 8);
        return put_be(b, 8, 4) || put_be(b, bits, 8);
    case VB_V_BOOLEAN:
        return put_be(b, 2, 4) || put_be(b, (uint64_t)v->b, 2);
    case VB_V_TEXT:
        return array_add(b, v->text.s, v->text.len);
    case VB_V_NULL:
        break;
    }
    return -1;
}

/* --- the sink's operations ------------------------------------------------ */

static void free_pairs(pg_sink *s)
{
    for (int i = 0; i < s->npairs; i++) {
        free(s->pairs[i].key);
        free(s->pairs[i].value);
    }
    free(s->pairs);
    s->pairs = NULL;
    s->npairs = 0;
}

static int pg_begin(vb_sink *base, vb_err *err)
{
    pg_sink *s = sink_of(base);
    if (ensure(s, err))
        return -1;
    s->tx = 1;
    s->need_begin = 1;
    s->xid[0] = '\0';
    s->digest = 1469598103934665603ULL;
    free_pairs(s);
    return 0;
}

/* After a transaction: tables it created stay (commit) or are forgotten (rollback). */
static void settle_created(pg_sink *s, int undone)
{
    for (int i = 0; i < s->ntables; i++) {
        table *t = &s->tables[i];
        if (!t->created)
            continue;
        t->created = 0;
        if (undone) {
            t->state = T_UNKNOWN;
            /* Its statement names a table the rollback took away: a new one next time. */
            t->stmt = 0;
        }
    }
}

static void pg_rollback(vb_sink *base)
{
    pg_sink *s = sink_of(base);
    if (s->pg && PQpipelineStatus(conn(s)) != PQ_PIPELINE_OFF)
        run_pipe(s, NULL);
    clear_queue(s);
    free_pairs(s);
    if (s->tx && s->pg && !s->need_begin) {
        PQclear(PQexec(conn(s), "ROLLBACK"));
        broken(s);
    }
    s->tx = 0;
    settle_created(s, 1);
}

/*
 * The rows of one series (a result's) whose time is in [a, b], as three
 * binary arrays (time, station, value); *good of them. Those outside are
 * counted as skipped, and so are those PostgreSQL would refuse, with one
 * warning per table.
 */
static int series_arrays(pg_sink *s, table *t, const vb_row *rows, size_t n, long long a,
                         long long b, vb_buf arr[3], uint32_t *good, vb_sink_stats *st, vb_err *err)
{
    if (array_start(&arr[0], OID_INT8) || array_start(&arr[1], OID_TEXT) ||
        array_start(&arr[2], elem_oid(t->type)))
        return vb_fail(err, "out of memory");
    *good = 0;
    long bad = 0;
    for (size_t k = 0; k < n; k++) {
        const vb_row *r = &rows[k];
        vb_value out;
        char num[VB_NUMBER_TEXT];
        if (r->time < a || r->time > b) {
            st->skipped++;
            continue;
        }
        if (r->station_len == 0 || !pg_text_ok(r->station, r->station_len) ||
            to_column(&r->value, t->type, &out, num)) {
            bad++;
            continue;
        }
        if (put_be(&arr[0], 8, 4) || put_be(&arr[0], (uint64_t)r->time, 8) ||
            array_add(&arr[1], r->station, r->station_len) || add_value(&arr[2], &out))
            return vb_fail(err, "out of memory");
        (*good)++;
    }
    if (bad) {
        st->skipped += bad;
        vb_log_msg(s->log, t->warned ? VB_DEBUG : VB_WARN,
                   "ts_param_%s: %ld value(s) of the wrong type, text that is not UTF-8 or a bad "
                   "station skipped",
                   t->name, bad);
        t->warned = 1;
    }
    for (int c = 0; c < 3; c++)
        array_end(&arr[c], *good);
    return 0;
}

/* What a transaction sends for a table, in its digest. */
static void digest_arrays(pg_sink *s, const table *t, const vb_buf arr[3])
{
    s->digest = fnv(s->digest, t->key, strlen(t->key) + 1);
    for (int c = 0; c < 3; c++)
        s->digest = fnv(s->digest, arr[c].data, arr[c].len);
}

/* The rows of one series (a result's), queued as one INSERT of three arrays. */
static int store_series(pg_sink *s, int id, const vb_row *rows, size_t n, vb_buf arr[3],
                        vb_sink_stats *st, vb_err *err)
{
    table *t = &s->tables[id];
    uint32_t good;
    if (series_arrays(s, t, rows, n, LLONG_MIN, LLONG_MAX, arr, &good, st, err))
        return -1;
    if (!good)
        return 0;
    if (room(s, err))
        return -1;
    if (!t->stmt) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "INSERT INTO ts_param_%s (time, station, value) SELECT * FROM "
                 "unnest($1::int8[], $2::text[], $3::%s[])",
                 t->name, elem_type(t->type));
        if (send_prepare(s, &t->stmt, sql, 3, id, err))
            return -1;
    }
    char name[32];
    snprintf(name, sizeof name, "s%u", t->stmt);
    const char *vals[3] = {arr[0].data, arr[1].data, arr[2].data};
    const int lens[3] = {(int)arr[0].len, (int)arr[1].len, (int)arr[2].len};
    const int fmts[3] = {1, 1, 1};
    digest_arrays(s, t, arr);
    st->rows += good;
    return queued(s, PQsendQueryPrepared(conn(s), name, 3, vals, lens, fmts, 0), Q_INSERT, id, err);
}

/* The status upsert, prepared once per connection. */
static int status_stmt(pg_sink *s, vb_err *err)
{
    if (s->status_stmt)
        return 0;
    vb_buf sql = {0};
    int rc = vb_buf_puts(&sql, "INSERT INTO bridge_stationStatus (");
    for (size_t c = 0; rc == 0 && c < VB_STATUS_NCOLUMNS; c++)
        rc = vb_buf_printf(&sql, "%s%s", c ? ", " : "", vb_status_columns[c].name);
    rc = rc || vb_buf_puts(&sql, ") VALUES (");
    for (size_t c = 0; rc == 0 && c < VB_STATUS_NCOLUMNS; c++)
        rc = vb_buf_printf(&sql, "%s$%zu", c ? ", " : "", c + 1);
    rc = rc || vb_buf_puts(&sql, ") ON CONFLICT (station) DO UPDATE SET ");
    for (size_t c = 0, n = 0; rc == 0 && c < VB_STATUS_NCOLUMNS; c++)
        if (!vb_status_columns[c].key)
            rc = vb_buf_printf(&sql, "%s%s = excluded.%s", n++ ? ", " : "",
                               vb_status_columns[c].name, vb_status_columns[c].name);
    if (rc) {
        vb_buf_free(&sql);
        return vb_fail(err, "out of memory");
    }
    rc = send_prepare(s, &s->status_stmt, sql.data, VB_STATUS_NCOLUMNS, -1, err);
    vb_buf_free(&sql);
    return rc;
}

/*
 * A status row as the SQLite sink writes it: a field that does not fit is
 * NULL where the column allows it and empty text in a TEXT column; a row
 * without a usable key or clock is skipped.
 */
static int store_status(pg_sink *s, const vb_status_row *row, vb_sink_stats *st, vb_err *err)
{
    char num[VB_STATUS_NCOLUMNS][VB_NUMBER_TEXT];
    const char *vals[VB_STATUS_NCOLUMNS];
    for (size_t c = 0; c < VB_STATUS_NCOLUMNS; c++) {
        const vb_column *col = &vb_status_columns[c];
        vb_value out;
        if (to_column(&row->f[c], col->type, &out, num[c])) {
            if (col->key || (col->notnull && col->type != VB_COL_TEXT)) {
                st->skipped++;
                return 0;
            }
            vals[c] = col->notnull ? "" : NULL;
            continue;
        }
        size_t len;
        vals[c] = out.type == VB_V_TEXT ? out.text.s : vb_value_text(&out, num[c], &len);
    }
    for (size_t c = 0; c < VB_STATUS_NCOLUMNS; c++)
        digest_str(s, vals[c] ? vals[c] : "\x01");
    char name[32];
    snprintf(name, sizeof name, "s%u", s->status_stmt);
    st->status_rows++;
    return queued(s, PQsendQueryPrepared(conn(s), name, VB_STATUS_NCOLUMNS, vals, NULL, NULL, 0),
                  Q_PLAIN, -1, err);
}

/*
 * The table of each series of r in ids (-1: none, for a series without
 * rows or with a NUL inside its name, which would make C see another
 * table's name) and a value of it in samples, for probe().
 */
static int result_tables(pg_sink *s, const vb_result *r, int *ids, vb_value *samples, vb_err *err)
{
    for (size_t i = 0; i < r->nseries; i++) {
        const vb_result_series *se = &r->series[i];
        ids[i] = -1;
        if (se->n == 0 || strlen(se->name) != se->name_len)
            continue;
        if ((ids[i] = table_of(s, se->name)) < 0)
            return vb_fail(err, "out of memory");
        samples[i] = r->rows[se->first].value;
    }
    return 0;
}

static int pg_store(vb_sink *base, const vb_result *r, vb_sink_stats *st, vb_err *err)
{
    pg_sink *s = sink_of(base);
    int *ids = calloc(r->nseries ? r->nseries : 1, sizeof *ids);
    vb_value *samples = calloc(r->nseries ? r->nseries : 1, sizeof *samples);
    vb_buf arr[3] = {{0}};
    int rc = !ids || !samples ? vb_fail(err, "out of memory") : open_pipe(s, err);
    if (rc == 0)
        rc = result_tables(s, r, ids, samples, err);
    if (rc == 0)
        rc = probe(s, ids, samples, (int)r->nseries, err);
    for (size_t i = 0; rc == 0 && i < r->nseries; i++) {
        const vb_result_series *se = &r->series[i];
        if (ids[i] < 0 || s->tables[ids[i]].state != T_READY)
            st->skipped += (long)se->n;
        else
            rc = store_series(s, ids[i], r->rows + se->first, se->n, arr, st, err);
    }
    if (rc == 0 && r->nstatus)
        rc = status_stmt(s, err);
    for (size_t i = 0; rc == 0 && i < r->nstatus; i++)
        rc = room(s, err) || store_status(s, &r->status[i], st, err);
    if (rc == 0)
        rc = run_pipe(s, err);
    else if (s->pg && PQpipelineStatus(conn(s)) != PQ_PIPELINE_OFF)
        run_pipe(s, NULL);
    clear_queue(s);
    for (int c = 0; c < 3; c++)
        vb_buf_free(&arr[c]);
    free(ids);
    free(samples);
    return rc;
}

/*
 * fill (sink.h), one series: two statements, queued. For a replaced series,
 * a DELETE of the rows of the window's stations in [a, b] beyond the number
 * of times the result holds each (time, station, value); then an INSERT of
 * each result row beyond the number of times the table holds it. Both
 * compare in the column's own type, so 2 and 2.0 are one value, as on
 * SQLite. A heap table's rows are told apart by ctid.
 */
static int fill_series(pg_sink *s, int id, const vb_row *rows, size_t n, int replace,
                       const vb_fill_window *w, const char *stations, vb_buf arr[3],
                       vb_sink_stats *st, vb_err *err)
{
    table *t = &s->tables[id];
    uint32_t good;
    if (series_arrays(s, t, rows, n, w->a, w->b, arr, &good, st, err))
        return -1;
    if (!good && !replace)
        return 0;
    const char *et = elem_type(t->type);
    const char *result = "unnest($1::int8[], $2::text[], $3::%s[]) AS u(time, station, value)";
    char from[128], sql[2048], a[32], b[32];
    snprintf(from, sizeof from, result, et);
    snprintf(a, sizeof a, "%lld", w->a);
    snprintf(b, sizeof b, "%lld", w->b);
    const char *vals[6] = {arr[0].data, arr[1].data, arr[2].data, a, b, stations};
    const int lens[6] = {(int)arr[0].len, (int)arr[1].len, (int)arr[2].len, 0, 0, 0};
    const int fmts[6] = {1, 1, 1, 0, 0, 0};
    digest_arrays(s, t, arr);
    if (replace) {
        snprintf(sql, sizeof sql,
                 "DELETE FROM ts_param_%s WHERE ctid IN (SELECT x.ctid FROM (SELECT ctid, time, "
                 "station, value, row_number() OVER (PARTITION BY time, station, value) AS k "
                 "FROM ts_param_%s WHERE time BETWEEN $4::int8 AND $5::int8 AND station = "
                 "ANY($6::text[])) x WHERE x.k > (SELECT count(*) FROM %s WHERE u.time = x.time "
                 "AND u.station = x.station AND u.value = x.value))",
                 t->name, t->name, from);
        digest_str(s, a);
        digest_str(s, b);
        digest_str(s, stations);
        if (queued(s, PQsendQueryParams(conn(s), sql, 6, NULL, vals, lens, fmts, 0), Q_FILL_DEL, id,
                   err))
            return -1;
    }
    if (!good)
        return 0;
    snprintf(sql, sizeof sql,
             "INSERT INTO ts_param_%s (time, station, value) SELECT w.time, w.station, w.value "
             "FROM (SELECT time, station, value, row_number() OVER (PARTITION BY time, station, "
             "value) AS k FROM %s) w WHERE w.k > (SELECT count(*) FROM ts_param_%s x WHERE "
             "x.time = w.time AND x.station = w.station AND x.value = w.value)",
             t->name, from, t->name);
    return queued(s, PQsendQueryParams(conn(s), sql, 3, NULL, vals, lens, fmts, 0), Q_FILL_ADD, id,
                  err);
}

/* Sends what fill queued and counts the rows its statements stored and deleted. */
static int fill_drain(pg_sink *s, vb_sink_stats *st, vb_err *err)
{
    int rc = run_pipe(s, err);
    for (int i = 0; rc == 0 && i < s->nq; i++) {
        const qitem *it = &s->q[i];
        long n = it->res ? atol(PQcmdTuples(it->res)) : 0;
        if (it->kind == Q_FILL_ADD)
            st->rows += n;
        else if (it->kind == Q_FILL_DEL)
            st->removed += n;
    }
    clear_queue(s);
    return rc;
}

/* The stations' names as a PostgreSQL array literal (they are identifiers: no quoting within). */
static int station_array(vb_buf *out, const vb_fill_window *w)
{
    int rc = vb_buf_puts(out, "{");
    for (size_t i = 0; rc == 0 && i < w->nstations; i++)
        rc = vb_buf_printf(out, "%s\"%s\"", i ? "," : "", w->stations[i]);
    return rc || vb_buf_puts(out, "}");
}

static int among(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

static int pg_fill(vb_sink *base, const vb_result *r, const vb_fill_window *w, vb_sink_stats *st,
                   vb_err *err)
{
    pg_sink *s = sink_of(base);
    size_t n = r->nseries + w->nreplace;
    int *ids = calloc(n ? n : 1, sizeof *ids);
    vb_value *samples = calloc(n ? n : 1, sizeof *samples);
    vb_buf arr[3] = {{0}}, stations = {0};
    int rc = !ids || !samples || station_array(&stations, w) ? vb_fail(err, "out of memory")
                                                             : open_pipe(s, err);
    if (rc == 0)
        rc = result_tables(s, r, ids, samples, err);
    /* A replaced series the result lacks loses its rows there; its table is never made for it. */
    size_t m = r->nseries;
    for (size_t k = 0; rc == 0 && k < w->nreplace; k++) {
        int held = 0;
        for (size_t i = 0; !held && i < r->nseries; i++)
            held = strcmp(r->series[i].name, w->replace[k]) == 0;
        if (!held && (ids[m++] = table_of(s, w->replace[k])) < 0)
            rc = vb_fail(err, "out of memory");
    }
    if (rc == 0)
        rc = probe(s, ids, samples, (int)r->nseries, err) ||
             probe(s, ids + r->nseries, NULL, (int)(m - r->nseries), err);
    for (size_t i = 0; rc == 0 && i < m; i++) {
        const vb_result_series *se = i < r->nseries ? &r->series[i] : NULL;
        size_t rows = se ? se->n : 0;
        if (ids[i] < 0 || s->tables[ids[i]].state != T_READY) {
            st->skipped += (long)rows;
            continue;
        }
        const table *t = &s->tables[ids[i]];
        int replace = among(w->replace, w->nreplace, t->name);
        if (s->nq + 2 >= PIPE_MAX)
            rc = fill_drain(s, st, err) || open_pipe(s, err);
        if (rc == 0)
            rc = fill_series(s, ids[i], se ? r->rows + se->first : NULL, rows, replace, w,
                             stations.data, arr, st, err);
    }
    if (rc == 0)
        rc = fill_drain(s, st, err);
    else if (s->pg && PQpipelineStatus(conn(s)) != PQ_PIPELINE_OFF)
        run_pipe(s, NULL);
    clear_queue(s);
    for (int c = 0; c < 3; c++)
        vb_buf_free(&arr[c]);
    vb_buf_free(&stations);
    free(ids);
    free(samples);
    return rc;
}

static int pg_state_get(vb_sink *base, const char *key, char **value, vb_err *err)
{
    pg_sink *s = sink_of(base);
    *value = NULL;
    for (int i = s->npairs - 1; s->tx && i >= 0; i--)
        if (strcmp(s->pairs[i].key, key) == 0)
            return (*value = vb_strdup(s->pairs[i].value)) ? 0 : vb_fail(err, "out of memory");
    const char *v[] = {key};
    const char *sql = "SELECT value FROM bridge_state WHERE key = $1";
    PGresult *r;
    if (s->tx) {
        if (open_pipe(s, err) || send_sql(s, sql, 1, v, Q_GET, err) || run_pipe(s, err)) {
            clear_queue(s);
            return -1;
        }
        r = s->q[s->nq - 1].res;
        s->q[s->nq - 1].res = NULL;
        clear_queue(s);
    } else if (ensure(s, err) || !(r = vb_pg_query(s->pg, sql, 1, v, err))) {
        broken(s);
        return -1;
    }
    int rc = 0;
    if (PQntuples(r) > 0 && !(*value = vb_strdup(PQgetvalue(r, 0, 0))))
        rc = vb_fail(err, "out of memory");
    PQclear(r);
    return rc;
}

static int pg_state_set(vb_sink *base, const char *key, const char *value, vb_err *err)
{
    pg_sink *s = sink_of(base);
    state_pair *v = realloc(s->pairs, (size_t)(s->npairs + 1) * sizeof *v);
    if (!v)
        return vb_fail(err, "out of memory");
    s->pairs = v;
    state_pair *p = &s->pairs[s->npairs];
    p->key = vb_strdup(key);
    p->value = vb_strdup(value);
    s->npairs++;
    if (!p->key || !p->value)
        return vb_fail(err, "out of memory");
    digest_str(s, key);
    digest_str(s, value);
    return 0;
}

static int pg_commit(vb_sink *base, vb_err *err)
{
    pg_sink *s = sink_of(base);
    int rc = 0;
    /* The id first, in a round trip of its own when nothing asked for it yet. */
    if (!s->xid[0])
        rc = open_pipe(s, err) || run_pipe(s, err);
    clear_queue(s);
    if (rc == 0 && s->replay) {
        s->replay = 0;
        if (s->digest == s->replay_digest) {
            vb_log_msg(s->log, VB_NOTICE,
                       "postgres %s: this transaction is the one whose COMMIT was cut off and "
                       "that committed; not stored again",
                       s->base.name);
            pg_rollback(base);
            return 0;
        }
    }
    if (rc == 0)
        rc = open_pipe(s, err);
    if (rc == 0 && s->npairs && !s->state_stmt)
        rc = send_prepare(s, &s->state_stmt,
                          "INSERT INTO bridge_state (key, value) VALUES ($1, $2) ON CONFLICT "
                          "(key) DO UPDATE SET value = excluded.value",
                          2, -1, err);
    for (int i = 0; rc == 0 && i < s->npairs; i++) {
        char name[32];
        snprintf(name, sizeof name, "s%u", s->state_stmt);
        const char *v[] = {s->pairs[i].key, s->pairs[i].value};
        rc = queued(s, PQsendQueryPrepared(conn(s), name, 2, v, NULL, NULL, 0), Q_PLAIN, -1, err);
    }
    if (rc == 0)
        rc = send_sql(s, "COMMIT", 0, NULL, Q_COMMIT, err) || run_pipe(s, err);
    else if (s->pg && PQpipelineStatus(conn(s)) != PQ_PIPELINE_OFF)
        run_pipe(s, NULL);
    clear_queue(s);
    if (rc) {
        /* The server rolled back or the connection is gone: either way nothing is left open. */
        if (s->pg && PQtransactionStatus(conn(s)) == PQTRANS_IDLE)
            s->tx = 0;
        return -1;
    }
    free_pairs(s);
    s->tx = 0;
    settle_created(s, 0);
    return 0;
}

static int pg_read_status(vb_sink *base, vb_status_fn fn, void *ud, vb_err *err)
{
    pg_sink *s = sink_of(base);
    vb_buf sql = {0};
    int rc = vb_buf_puts(&sql, "SELECT ");
    for (size_t c = 0; rc == 0 && c < VB_STATUS_NCOLUMNS; c++)
        rc = vb_buf_printf(&sql, "%s%s", c ? ", " : "", vb_status_columns[c].name);
    if (rc || vb_buf_puts(&sql, " FROM bridge_stationStatus ORDER BY station")) {
        vb_buf_free(&sql);
        return vb_fail(err, "out of memory");
    }
    PGresult *r = NULL;
    rc = ensure(s, err) || !(r = vb_pg_query(s->pg, sql.data, 0, NULL, err)) ? -1 : 0;
    vb_buf_free(&sql);
    if (rc) {
        broken(s);
        return -1;
    }
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        vb_status_row row;
        for (size_t c = 0; c < VB_STATUS_NCOLUMNS; c++) {
            vb_value *f = &row.f[c];
            const char *v = PQgetvalue(r, i, (int)c);
            size_t len = (size_t)PQgetlength(r, i, (int)c);
            if (PQgetisnull(r, i, (int)c))
                *f = (vb_value){.type = VB_V_NULL};
            else if (vb_status_columns[c].type == VB_COL_TEXT || vb_value_parse_number(v, len, f))
                *f = (vb_value){.type = VB_V_TEXT, .text = {v, len}};
            else if (vb_status_columns[c].type == VB_COL_REAL && f->type == VB_V_INTEGER)
                *f = (vb_value){.type = VB_V_REAL, .d = (double)f->i};
        }
        rc = fn(ud, &row, err);
    }
    PQclear(r);
    return rc;
}

static void free_bulk(pg_sink *s)
{
    for (int i = 0; i < s->ntables; i++) {
        table *t = &s->tables[i];
        vb_buf_free(&t->copy);
        free(t->index_sql);
        t->index_sql = NULL;
        t->touched = 0;
        t->skipped = 0;
    }
    s->bulk_bytes = 0;
}

static void pg_close(vb_sink *base)
{
    pg_sink *s = sink_of(base);
    if (!s)
        return;
    if (s->tx)
        pg_rollback(base);
    free_bulk(s);
    for (int i = 0; i < s->ntables; i++) {
        free(s->tables[i].name);
        free(s->tables[i].key);
    }
    free(s->tables);
    free(s->order);
    clear_queue(s);
    free(s->q);
    free_pairs(s);
    vb_pg_close(s->pg);
    free(s->conninfo);
    free((char *)s->base.name);
    free(s);
}

/* --- insert's bulk load --------------------------------------------------- */

static int bulk_start(vb_sink *base, vb_err *err)
{
    pg_sink *s = sink_of(base);
    s->bulk_rows = s->bulk_skipped = 0;
    free_bulk(s);
    if (pg_begin(base, err) || open_pipe(s, err) ||
        send_sql(s, "SELECT to_regclass('bridge_inserted') IS NULL", 0, NULL, Q_GET, err) ||
        run_pipe(s, err)) {
        clear_queue(s);
        return -1;
    }
    int missing = PQgetvalue(s->q[s->nq - 1].res, 0, 0)[0] == 't';
    clear_queue(s);
    if (!missing)
        return 0;
    /* A database made by an initdb --postgres from before bridge_inserted was in the schema. */
    vb_buf sql = {0};
    int rc = vb_table_sql_in(&sql, VB_POSTGRES, "bridge_inserted", err) ||
             exec1(s, sql.data, 0, NULL, err);
    vb_buf_free(&sql);
    return rc;
}

/* Takes the indexes off an empty table, keeping their definitions for bulk_finish. */
static int drop_indexes(pg_sink *s, table *t, vb_err *err)
{
    if (!s->pg)
        return lost_fail(s, err);
    char sql[512], rel[300];
    snprintf(rel, sizeof rel, "ts_param_%s", t->name);
    snprintf(sql, sizeof sql, "SELECT NOT EXISTS (SELECT 1 FROM ts_param_%s)", t->name);
    PGresult *r = vb_pg_query(s->pg, sql, 0, NULL, err);
    if (!r)
        return -1;
    int empty = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!empty)
        return 0;
    const char *v[] = {rel};
    r = vb_pg_query(s->pg,
                    "SELECT c.relname::text, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN "
                    "pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = to_regclass($1) AND "
                    "NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)",
                    1, v, err);
    if (!r)
        return -1;
    vb_buf keep = {0}, drop = {0};
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        /* Only a name that is an identifier goes into the DROP; any other index stays. */
        if (!vb_is_identifier(PQgetvalue(r, i, 0)))
            continue;
        rc = vb_buf_printf(&keep, "%s;\n", PQgetvalue(r, i, 1)) ||
             vb_buf_printf(&drop, "DROP INDEX %s;\n", PQgetvalue(r, i, 0));
    }
    PQclear(r);
    if (rc)
        rc = vb_fail(err, "out of memory");
    else if (drop.len)
        rc = exec1(s, drop.data, 0, NULL, err);
    vb_buf_free(&drop);
    if (rc)
        vb_buf_free(&keep);
    else
        t->index_sql = keep.data;
    return rc;
}

static int bulk_table(vb_sink *base, const char *name, const char *sample, vb_err *err)
{
    pg_sink *s = sink_of(base);
    if (!vb_is_identifier(name) || strlen(name) > 200)
        return vb_fail(err, "series name '%.60s' is not an SQL identifier", name);
    int id = table_of(s, name);
    if (id < 0)
        return vb_fail(err, "out of memory");
    table *t = &s->tables[id];
    if (t->state == T_UNKNOWN) {
        vb_value v = vb_value_from_text(VB_VALUE_GUESS, sample, strlen(sample));
        int rc = open_pipe(s, err) || probe(s, &id, &v, 1, err) || run_pipe(s, err);
        clear_queue(s);
        if (rc)
            return -1;
    }
    if (t->state != T_READY) {
        const vb_param *p = vb_masterlist_find(s->ml, name);
        return p && !vb_sqltype(p->type)
                   ? -2
                   : vb_fail(err, "postgres %s: ts_param_%s cannot be stored", s->base.name, name);
    }
    if (!t->index_sql && !t->touched && drop_indexes(s, t, err))
        return -1;
    return id;
}

static int bulk_send(pg_sink *s, table *t, vb_err *err)
{
    if (!s->pg)
        return lost_fail(s, err);
    char sql[512];
    snprintf(sql, sizeof sql, "COPY ts_param_%s (time, station, value) FROM STDIN", t->name);
    PGresult *r = PQexec(conn(s), sql);
    int ok = PQresultStatus(r) == PGRES_COPY_IN;
    if (!ok) {
        qitem it = {.kind = Q_INSERT, .table = (int)(t - s->tables)};
        blame(s, &it, r, err);
    }
    PQclear(r);
    if (!ok)
        return broken(s) ? lost_fail(s, err) : -1;
    ok = PQputCopyData(conn(s), t->copy.data, (int)t->copy.len) == 1 &&
         PQputCopyEnd(conn(s), NULL) == 1;
    int rc = 0;
    while ((r = PQgetResult(conn(s)))) {
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            s->bulk_rows += atoll(PQcmdTuples(r));
        } else if (rc == 0) {
            qitem it = {.kind = Q_INSERT, .table = (int)(t - s->tables)};
            blame(s, &it, r, err);
            rc = -1;
        }
        PQclear(r);
    }
    char buf[512];
    if (!ok && rc == 0)
        rc = vb_fail(err, "postgres %s: COPY into ts_param_%s: %s", s->base.name, t->name,
                     vb_pg_error_line(s->pg, buf, sizeof buf));
    if (broken(s))
        return lost_fail(s, err);
    t->copy.len = 0;
    return rc;
}

static int bulk_flush(pg_sink *s, vb_err *err)
{
    for (int i = 0; i < s->ntables; i++) {
        table *t = &s->tables[i];
        if (t->touched && t->copy.len && bulk_send(s, t, err))
            return -1;
    }
    s->bulk_bytes = 0;
    return 0;
}

/* COPY's text format: backslash escapes for the four bytes that would end a field or row. */
static int copy_text(vb_buf *b, const char *p, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        const char *esc = c == '\\'   ? "\\\\"
                          : c == '\t' ? "\\t"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                                      : NULL;
        if (!esc)
            continue;
        if (vb_buf_append(b, p + from, i - from) || vb_buf_puts(b, esc))
            return -1;
        from = i + 1;
    }
    return vb_buf_append(b, p + from, n - from);
}

static int bulk_add(vb_sink *base, int id, long long time, const char *station, const char *value,
                    size_t len, vb_err *err)
{
    pg_sink *s = sink_of(base);
    table *t = &s->tables[id];
    vb_value in = {.type = VB_V_TEXT, .text = {value, len}}, out;
    char num[VB_NUMBER_TEXT];
    size_t slen = strlen(station);
    if (!slen || !pg_text_ok(station, slen) || to_column(&in, t->type, &out, num)) {
        t->skipped++;
        s->bulk_skipped++;
        return 0;
    }
    size_t before = t->copy.len, vlen;
    const char *v = out.type == VB_V_BOOLEAN ? (out.b ? "1" : "0")
                    : out.type == VB_V_TEXT  ? out.text.s
                                             : vb_value_text(&out, num, &vlen);
    vlen = out.type == VB_V_TEXT ? out.text.len : strlen(v);
    if (vb_buf_printf(&t->copy, "%lld\t", time) || copy_text(&t->copy, station, slen) ||
        vb_buf_puts(&t->copy, "\t") || copy_text(&t->copy, v, vlen) || vb_buf_puts(&t->copy, "\n"))
        return vb_fail(err, "out of memory");
    t->touched = 1;
    s->bulk_bytes += t->copy.len - before;
    return s->bulk_bytes >= BULK_BYTES ? bulk_flush(s, err) : 0;
}

static int bulk_finish(vb_sink *base, vb_err *err)
{
    pg_sink *s = sink_of(base);
    if (bulk_flush(s, err))
        return -1;
    for (int i = 0; i < s->ntables; i++) {
        table *t = &s->tables[i];
        if (t->skipped)
            vb_log_msg(s->log, VB_WARN,
                       "ts_param_%s: %ld value(s) of the wrong type, text that is not UTF-8 or "
                       "a bad station skipped",
                       t->name, t->skipped);
        t->skipped = 0;
        if (t->index_sql && exec1(s, t->index_sql, 0, NULL, err))
            return -1;
        free(t->index_sql);
        t->index_sql = NULL;
    }
    return 0;
}

static int bulk_end(vb_sink *base, int ok, vb_err *err)
{
    pg_sink *s = sink_of(base);
    int rc = 0;
    if (ok)
        rc = pg_commit(base, err);
    if (!ok || rc)
        pg_rollback(base);
    free_bulk(s);
    return rc;
}

static long long bulk_rows(const vb_sink *base)
{
    return ((const pg_sink *)base)->bulk_rows;
}

static long long bulk_skipped(const vb_sink *base)
{
    return ((const pg_sink *)base)->bulk_skipped;
}

static int bulk_loaded(vb_sink *base, const char *station, const char *param, vb_load_fn fn,
                       void *ud, vb_err *err)
{
    pg_sink *s = sink_of(base);
    if (!s->pg)
        return lost_fail(s, err);
    const char *v[] = {station, param};
    PGresult *r = vb_pg_query(s->pg,
                              "SELECT id, head_len, head, bytes, tail, lines, records FROM "
                              "bridge_inserted WHERE station = $1 AND param = $2 ORDER BY id",
                              2, v, err);
    if (!r)
        return broken(s) ? lost_fail(s, err) : -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        vb_load_record rec = {
            .id = atoll(PQgetvalue(r, i, 0)),
            .head_len = atoll(PQgetvalue(r, i, 1)),
            .bytes = atoll(PQgetvalue(r, i, 3)),
            .lines = atol(PQgetvalue(r, i, 5)),
            .records = atoll(PQgetvalue(r, i, 6)),
        };
        snprintf(rec.head, sizeof rec.head, "%s", PQgetvalue(r, i, 2));
        snprintf(rec.tail, sizeof rec.tail, "%s", PQgetvalue(r, i, 4));
        rc = fn(ud, &rec, err);
    }
    PQclear(r);
    return rc;
}

static int bulk_save_loaded(vb_sink *base, const char *station, const char *param,
                            const vb_load_record *rec, vb_err *err)
{
    pg_sink *s = sink_of(base);
    char head_len[24], bytes[24], lines[24], records[24], id[24];
    snprintf(head_len, sizeof head_len, "%lld", rec->head_len);
    snprintf(bytes, sizeof bytes, "%lld", rec->bytes);
    snprintf(lines, sizeof lines, "%ld", rec->lines);
    snprintf(records, sizeof records, "%lld", rec->records);
    snprintf(id, sizeof id, "%lld", rec->id);
    const char *v[] = {station, param, head_len, rec->head, bytes, rec->tail, lines, records, id};
    if (rec->id)
        return exec1(s,
                     "UPDATE bridge_inserted SET station = $1, param = $2, head_len = $3, head = "
                     "$4, bytes = $5, tail = $6, lines = $7, records = $8, inserted = "
                     "CAST(extract(epoch FROM now()) AS BIGINT) WHERE id = $9",
                     9, v, err);
    return exec1(s,
                 "INSERT INTO bridge_inserted (station, param, head_len, head, bytes, tail, lines, "
                 "records, inserted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                 "CAST(extract(epoch FROM now()) AS BIGINT))",
                 8, v, err);
}

static const vb_sink_bulk_ops bulk_ops = {
    .start = bulk_start,
    .table = bulk_table,
    .add = bulk_add,
    .finish = bulk_finish,
    .end = bulk_end,
    .rows = bulk_rows,
    .skipped = bulk_skipped,
    .loaded = bulk_loaded,
    .save_loaded = bulk_save_loaded,
};

static const vb_sink_ops pg_ops = {
    .kind = "postgres",
    .begin = pg_begin,
    .store = pg_store,
    .state_get = pg_state_get,
    .state_set = pg_state_set,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .fill = pg_fill,
    .read_status = pg_read_status,
    .close = pg_close,
    .bulk = &bulk_ops,
};

vb_sink *vb_sink_pg_open(const char *conninfo, const vb_sink_opts *o, vb_err *err)
{
    pg_sink *s = calloc(1, sizeof *s);
    if (!s || !(s->conninfo = vb_strdup(conninfo)) || !(s->base.name = vb_pg_mask(conninfo))) {
        if (s)
            free(s->conninfo);
        free(s);
        vb_fail(err, "out of memory");
        return NULL;
    }
    s->base.ops = &pg_ops;
    s->log = o->log;
    s->ml = o->ml;
    s->skip_broken = o->skip_broken;
    s->wait = o->wait;
    vb_pg_version v;
    if (!(s->pg = vb_pg_open(conninfo, err)) || vb_pg_schema_version(s->pg, &v, err) ||
        note_session(s, err)) {
        pg_close(&s->base);
        return NULL;
    }
    vb_log_msg(s->log, VB_INFO, "postgres %s: connected, schema %s, server %d", s->base.name,
               v.version, PQserverVersion(conn(s)));
    return &s->base;
}
