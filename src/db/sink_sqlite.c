/*
 * sink_sqlite.c - the SQLite sink (db/sink.h): the embedded default, the
 * database file Grafana reads.
 *
 * Statements are prepared once per table and kept for the whole run: a full
 * snapshot touches ~560 tables, and preparing each time would cost more
 * than the inserts. A parameter vlbimon added after initdb gets its table
 * (with initdb's type when the masterlist knows it, else one that fits the
 * value) inside the snapshot's transaction, so a rollback undoes the table
 * together with the rows; the cache then forgets it and probes again.
 */
#define _DEFAULT_SOURCE
#include "db/sink.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/bulk.h"
#include "db/open.h"
#include "db/schema.h"

typedef struct entry {
    char *name;         /* series name without ts_param_; NULL = empty slot */
    sqlite3_stmt *stmt; /* NULL: not stored (not an identifier, or a "none" parameter) */
    vb_coltype type;
    int probed;  /* stmt/type are known; 0 after a rollback undid our CREATE */
    int created; /* created in the open transaction */
    int warned;
} entry;

typedef struct sqlite_sink {
    vb_sink base;
    char *path;
    sqlite3 *db;
    vb_db_waiter waiter;
    const vb_log *log;
    const vb_masterlist *ml;
    entry *slots;
    size_t nslots, used;
    size_t ncreated; /* entries with created set */
    int skip_broken; /* a table whose insert cannot be compiled is skipped, not an error */
    sqlite3_stmt *status;
    sqlite3_stmt *get_state, *set_state; /* NULL until bridge_state is needed */
    sqlite3_stmt *schema;                /* PRAGMA schema_version */
    int schema_version; /* the one the cached statements were made under; -1: none yet */
    vb_bulk *bulk;      /* during a bulk load */
    int left_wal;       /* switched out of WAL for a bulk load, and back after */
} sqlite_sink;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int exec(sqlite_sink *s, const char *sql, vb_err *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        char msg[1024];
        return vb_fail(err, "%s: %s", sql, vb_db_errmsg(s->db, msg, sizeof msg));
    }
    return 0;
}

/* The status row's statement: an SQLite result code (SQLITE_ERROR: no such table). */
static int prepare_status(sqlite_sink *s)
{
    vb_buf sql = {0};
    int rc =
        vb_status_insert_sql(&sql, NULL)
            ? SQLITE_NOMEM
            : sqlite3_prepare_v3(s->db, sql.data, -1, SQLITE_PREPARE_PERSISTENT, &s->status, NULL);
    vb_buf_free(&sql);
    return rc;
}

static void sk_close(vb_sink *base);
static const vb_sink_ops sqlite_ops;

vb_sink *vb_sink_sqlite_open(const char *path, const vb_sink_opts *o, vb_err *err)
{
    if (access(path, F_OK) != 0) {
        vb_fail(err,
                "database %s does not exist; create it with 'vlbimon_bridge initdb "
                "--sqlitedb %s'",
                path, path);
        return NULL;
    }
    sqlite_sink *s = calloc(1, sizeof *s);
    if (!s || !(s->path = vb_strdup(path)) ||
        !(s->slots = calloc(s->nslots = 1024, sizeof *s->slots))) {
        if (s)
            free(s->path);
        free(s);
        vb_fail(err, "out of memory");
        return NULL;
    }
    s->base = (vb_sink){.ops = &sqlite_ops, .name = s->path};
    s->log = o->log;
    s->ml = o->ml;
    s->skip_broken = o->skip_broken;
    int wal_pages = o->wal_pages;
    char pragmas[128] = "PRAGMA synchronous=NORMAL;";
    if (wal_pages != VB_SINK_JOURNAL_AS_IS)
        snprintf(pragmas, sizeof pragmas,
                 "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=%d;",
                 wal_pages > 0 ? wal_pages : 0);
    /*
     * In rollback-journal mode (--wal 0) a cache spill needs the exclusive
     * lock mid-insert and waits out the busy timeout again for every spill
     * while a reader holds its shared lock, seconds in all. A snapshot's
     * transaction is bounded, so its pages can stay in the cache; then only
     * COMMIT waits, once, and the bridge retries it. WAL spills need no such
     * lock and keep the cache small.
     */
    if (wal_pages == 0)
        strcat(pragmas, " PRAGMA cache_spill=OFF;");
    if (vb_db_open(path, SQLITE_OPEN_READWRITE, o->wait, &s->waiter, &s->db, err) ||
        (wal_pages != VB_SINK_JOURNAL_AS_IS &&
         vb_db_set_journal(&s->waiter, wal_pages > 0 ? "WAL" : "DELETE", err)) ||
        exec(s, pragmas, err)) {
        sk_close(&s->base);
        return NULL;
    }
    if (prepare_status(s) != SQLITE_OK) {
        vb_fail(err, "%s: not a vlbimon database (bridge_stationStatus: %s)", path,
                sqlite3_errmsg(s->db));
        sk_close(&s->base);
        return NULL;
    }
    s->schema_version = -1;
    if (sqlite3_prepare_v3(s->db, "PRAGMA schema_version", -1, SQLITE_PREPARE_PERSISTENT,
                           &s->schema, NULL) != SQLITE_OK) {
        vb_fail(err, "%s: PRAGMA schema_version: %s", path, sqlite3_errmsg(s->db));
        sk_close(&s->base);
        return NULL;
    }
    return &s->base;
}

static void sk_close(vb_sink *base)
{
    sqlite_sink *s = (sqlite_sink *)base;
    vb_bulk_free(s->bulk);
    for (size_t i = 0; i < s->nslots; i++) {
        free(s->slots[i].name);
        sqlite3_finalize(s->slots[i].stmt);
    }
    free(s->slots);
    sqlite3_finalize(s->status);
    sqlite3_finalize(s->get_state);
    sqlite3_finalize(s->set_state);
    sqlite3_finalize(s->schema);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

/*
 * bridge_state, made when the bridge first needs it (Grafana never reads
 * it). After a rollback the statements are made again: the rollback may have
 * undone the table with them.
 */
static int prepare_state(sqlite_sink *s, vb_err *err)
{
    if (s->get_state)
        return 0;
    if (exec(s,
             "CREATE TABLE IF NOT EXISTS bridge_state (key TEXT PRIMARY KEY NOT NULL, "
             "value TEXT NOT NULL)",
             err))
        return -1;
    if (sqlite3_prepare_v3(s->db, "SELECT value FROM bridge_state WHERE key = ?", -1,
                           SQLITE_PREPARE_PERSISTENT, &s->get_state, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(s->db, "INSERT OR REPLACE INTO bridge_state (key, value) VALUES (?, ?)",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->set_state, NULL) != SQLITE_OK)
        return vb_fail(err, "bridge_state: %s", sqlite3_errmsg(s->db));
    return 0;
}

static int sk_state_get(vb_sink *base, const char *key, char **value, vb_err *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    *value = NULL;
    if (prepare_state(s, err))
        return -1;
    sqlite3_bind_text(s->get_state, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s->get_state);
    if (rc == SQLITE_ROW &&
        !(*value = vb_strdup((const char *)sqlite3_column_text(s->get_state, 0))))
        rc = SQLITE_NOMEM;
    sqlite3_reset(s->get_state);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return vb_fail(err, "bridge_state: %s", sqlite3_errstr(rc));
    return 0;
}

static int sk_state_set(vb_sink *base, const char *key, const char *value, vb_err *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    if (prepare_state(s, err))
        return -1;
    sqlite3_bind_text(s->set_state, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->set_state, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s->set_state);
    sqlite3_reset(s->set_state);
    if (rc != SQLITE_DONE)
        return vb_fail(err, "bridge_state: %s", sqlite3_errmsg(s->db));
    return 0;
}

/* SQLite's count of schema changes; -1 when it cannot be read. */
static int schema_version(sqlite_sink *s)
{
    int v = sqlite3_step(s->schema) == SQLITE_ROW ? sqlite3_column_int(s->schema, 0) : -1;
    sqlite3_reset(s->schema);
    return v;
}

/*
 * Another process may have changed the schema since the tables were probed:
 * `migrate fix` rebuilds series tables into the v2 layout one at a time
 * while the bridge runs (docs/commands.md). Then every table that has a
 * statement is probed again, inside the transaction that writes it, where
 * no one else can change it. A statement made for a table's old layout
 * would otherwise be made again by SQLite for the new one, and fail.
 */
static void recheck_layouts(sqlite_sink *s)
{
    int v = schema_version(s);
    if (v == s->schema_version && v != -1)
        return;
    s->schema_version = v;
    for (size_t i = 0; i < s->nslots; i++) {
        entry *e = &s->slots[i];
        if (e->stmt) {
            sqlite3_finalize(e->stmt);
            e->stmt = NULL;
            e->probed = 0;
        }
    }
}

static int sk_begin(vb_sink *base, vb_err *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    if (exec(s, "BEGIN IMMEDIATE", err))
        return -1;
    recheck_layouts(s);
    return 0;
}

/* Walks the cache only when this transaction created tables, which is rare. */
static void settle_created(sqlite_sink *s, int undone)
{
    for (size_t i = 0; s->ncreated && i < s->nslots; i++) {
        entry *e = &s->slots[i];
        if (!e->created)
            continue;
        e->created = 0;
        s->ncreated--;
        if (undone) {
            sqlite3_finalize(e->stmt);
            e->stmt = NULL;
            e->probed = 0;
        }
    }
}

static int sk_commit(vb_sink *base, vb_err *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    /* The tables this transaction created are no reason to probe every table again. */
    if (s->ncreated)
        s->schema_version = schema_version(s);
    if (exec(s, "COMMIT", err))
        return -1;
    settle_created(s, 0);
    return 0;
}

static void sk_rollback(vb_sink *base)
{
    sqlite_sink *s = (sqlite_sink *)base;
    /* A failed COMMIT may leave the transaction open or already rolled back. */
    if (!sqlite3_get_autocommit(s->db))
        exec(s, "ROLLBACK", NULL);
    settle_created(s, 1);
    sqlite3_finalize(s->get_state);
    sqlite3_finalize(s->set_state);
    s->get_state = s->set_state = NULL;
}

static int create_table(sqlite_sink *s, entry *e, const vb_value *sample, vb_err *err)
{
    int none;
    const char *sqltype = vb_series_type(s->ml, e->name, sample, &none);
    if (none) {
        vb_log_msg(s->log, VB_WARN,
                   "parameter %s has datatype none in the masterlist; its points are not stored",
                   e->name);
        return 0;
    }
    vb_buf sql = {0};
    if (vb_series_sql(&sql, e->name, sqltype, err))
        return -1;
    int rc = exec(s, sql.data, err);
    vb_buf_free(&sql);
    if (rc)
        return -1;
    e->created = 1;
    s->ncreated++;
    vb_log_msg(s->log, VB_NOTICE,
               "created table ts_param_%s (%s) for a parameter the database lacked", e->name,
               sqltype);
    return 1;
}

/*
 * Fills e for a table seen for the first time: its insert statement and
 * value type. Only an outcome that will not change by trying again (ready,
 * not stored, broken) marks e probed: a busy or full database must not turn
 * into a table skipped from then on.
 */
static int prepare_entry(sqlite_sink *s, entry *e, const vb_value *sample, vb_err *err)
{
    vb_layout layout = VB_LAYOUT_V2;
    for (int attempt = 0; attempt < 2; attempt++) {
        /*
         * One row whether or not the table exists: a table without a value
         * column exists all the same, and must fail below as broken rather
         * than be created again.
         */
        vb_series_shape shape;
        if (vb_series_probe(s->db, e->name, &shape, err))
            return -1;
        if (shape.ncols > 0) {
            e->type = shape.type;
            layout = shape.layout;
            break;
        }
        int made = create_table(s, e, sample, err);
        if (made <= 0) {
            e->probed = made == 0;
            return made;
        }
    }
    vb_buf sql = {0};
    if (vb_series_insert_sql(&sql, e->name, layout, VB_INSERT_ROW, NULL, err))
        return -1;
    int prc = sqlite3_prepare_v3(s->db, sql.data, -1, SQLITE_PREPARE_PERSISTENT, &e->stmt, NULL);
    vb_buf_free(&sql);
    if (prc != SQLITE_OK) {
        /* SQLITE_ERROR is the table's own schema (a column missing, say): retrying cannot help. */
        if (s->skip_broken && sqlite3_errcode(s->db) == SQLITE_ERROR) {
            e->probed = 1;
            vb_log_msg(s->log, VB_ERROR,
                       "ts_param_%s cannot be written (%s); its points are skipped until the "
                       "table is repaired and the bridge restarted",
                       e->name, sqlite3_errmsg(s->db));
            return 0;
        }
        return vb_fail(err, "ts_param_%s: %s", e->name, sqlite3_errmsg(s->db));
    }
    e->probed = 1;
    return 0;
}

static int grow(sqlite_sink *s)
{
    size_t n = s->nslots * 2;
    entry *ns = calloc(n, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < s->nslots; i++) {
        if (!s->slots[i].name)
            continue;
        size_t j = hash(s->slots[i].name) & (n - 1);
        while (ns[j].name)
            j = (j + 1) & (n - 1);
        ns[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = ns;
    s->nslots = n;
    return 0;
}

/*
 * NULL only on error; an entry without stmt means "skip this table". sample
 * is one of its values, for the type of a table we create.
 */
static entry *lookup(sqlite_sink *s, const char *name, const vb_value *sample, vb_err *err)
{
    size_t i = hash(name) & (s->nslots - 1);
    while (s->slots[i].name && strcmp(s->slots[i].name, name) != 0)
        i = (i + 1) & (s->nslots - 1);
    entry *e = &s->slots[i];
    if (!e->name) {
        if ((s->used + 1) * 2 > s->nslots) {
            if (grow(s)) {
                vb_fail(err, "out of memory");
                return NULL;
            }
            return lookup(s, name, sample, err);
        }
        if (!(e->name = vb_strdup(name))) {
            vb_fail(err, "out of memory");
            return NULL;
        }
        s->used++;
        /* Names come from outside; only identifiers ever reach SQL text. */
        if (!vb_is_identifier(name) || strlen(name) > 200) {
            e->probed = 1;
            vb_log_msg(s->log, VB_WARN, "series name '%.60s' is not an SQL identifier; skipped",
                       name);
            return e;
        }
    }
    if (!e->probed && prepare_entry(s, e, sample, err))
        return NULL;
    return e;
}

/* Binds what a column stores (vb_value_to_column) as parameter col. */
static int bind(sqlite3_stmt *st, int col, const vb_value *v)
{
    switch (v->type) {
    case VB_V_INTEGER:
        return sqlite3_bind_int64(st, col, v->i);
    case VB_V_REAL:
        return sqlite3_bind_double(st, col, v->d);
    case VB_V_TEXT:
        return sqlite3_bind_text(st, col, v->text.s, (int)v->text.len, SQLITE_TRANSIENT);
    case VB_V_BOOLEAN:
        return sqlite3_bind_int(st, col, v->b);
    case VB_V_NULL:
        break;
    }
    return sqlite3_bind_null(st, col);
}

/*
 * One row into e's table; stored is what its column holds (vb_value_to_column).
 * 1 when SQLite cannot take the value (bind refused it), -1 on error.
 */
static int insert_row(sqlite_sink *s, entry *e, long long time, const char *station, size_t len,
                      const vb_value *stored, vb_err *err)
{
    if (bind(e->stmt, 3, stored) != SQLITE_OK)
        return 1;
    sqlite3_bind_int64(e->stmt, 1, time);
    sqlite3_bind_text(e->stmt, 2, station, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(e->stmt);
    sqlite3_reset(e->stmt);
    if (rc != SQLITE_DONE)
        return vb_fail(err, "insert into ts_param_%s: %s", e->name, sqlite3_errmsg(s->db));
    return 0;
}

/* Values of the wrong type or rows out of place: one warning per table, then debug lines. */
static void warn_bad(sqlite_sink *s, entry *e, long bad, vb_sink_stats *st)
{
    if (!bad)
        return;
    st->skipped += bad;
    vb_log_msg(s->log, e->warned ? VB_DEBUG : VB_WARN,
               "ts_param_%s: %ld value(s) of the wrong type or with a bad time skipped", e->name,
               bad);
    e->warned = 1;
}

/* One table's rows, as the result groups them. */
static int insert_series(sqlite_sink *s, const vb_result *r, const vb_result_series *sr,
                         vb_sink_stats *st, vb_err *err)
{
    const vb_row *rows = r->rows + sr->first;
    entry *e = NULL;
    /* A NUL inside the name would make C see another table's name. */
    if (strlen(sr->name) == sr->name_len && !(e = lookup(s, sr->name, &rows[0].value, err)))
        return -1;
    if (!e || !e->stmt) {
        st->skipped += (long)sr->n;
        return 0;
    }
    long bad = 0;
    for (size_t k = 0; k < sr->n; k++) {
        vb_value stored;
        char num[VB_NUMBER_TEXT];
        int rc = vb_value_to_column(&rows[k].value, e->type, &stored, num)
                     ? 1
                     : insert_row(s, e, rows[k].time, rows[k].station, rows[k].station_len, &stored,
                                  err);
        if (rc < 0)
            return -1;
        bad += rc;
        st->rows += !rc;
    }
    warn_bad(s, e, bad, st);
    return 0;
}

/*
 * A status row's fields go through the same conversion as series values. A
 * field that does not fit is NULL where the column allows it and empty text
 * in a TEXT column; a row without a usable key or clock is skipped.
 */
static int insert_status(sqlite_sink *s, const vb_status_row *row, vb_sink_stats *st, vb_err *err)
{
    const vb_value *f = row->f;
    for (size_t c = 0; c < VB_STATUS_NCOLUMNS; c++) {
        const vb_column *col = &vb_status_columns[c];
        vb_value stored;
        char num[VB_NUMBER_TEXT];
        if (vb_value_to_column(&f[c], col->type, &stored, num)) {
            if (col->key || (col->notnull && col->type != VB_COL_TEXT)) {
                st->skipped++;
                return 0;
            }
            stored = col->notnull ? (vb_value){.type = VB_V_TEXT, .text = {"", 0}}
                                  : (vb_value){.type = VB_V_NULL};
        }
        bind(s->status, (int)c + 1, &stored);
    }
    int rc = sqlite3_step(s->status);
    sqlite3_reset(s->status);
    if (rc != SQLITE_DONE)
        return vb_fail(err, "bridge_stationStatus: %s", sqlite3_errmsg(s->db));
    st->status_rows++;
    return 0;
}

static int sk_store(vb_sink *base, const vb_result *r, vb_sink_stats *st, vb_err *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    int rc = 0;
    for (size_t t = 0; rc == 0 && t < r->nseries; t++)
        rc = insert_series(s, r, &r->series[t], st, err);
    for (size_t i = 0; rc == 0 && i < r->nstatus; i++)
        rc = insert_status(s, &r->status[i], st, err);
    return rc;
}

/* A column of a status row as a value; its text stays SQLite's until the next step. */
static vb_value column_value(sqlite3_stmt *q, int c)
{
    switch (sqlite3_column_type(q, c)) {
    case SQLITE_INTEGER:
        return (vb_value){.type = VB_V_INTEGER, .i = sqlite3_column_int64(q, c)};
    case SQLITE_FLOAT:
        return (vb_value){.type = VB_V_REAL, .d = sqlite3_column_double(q, c)};
    case SQLITE_NULL:
        return (vb_value){.type = VB_V_NULL};
    }
    vb_value v = {.type = VB_V_TEXT};
    v.text.s = (const char *)sqlite3_column_text(q, c);
    v.text.len = (size_t)sqlite3_column_bytes(q, c);
    if (!v.text.s)
        v.text.s = "";
    return v;
}

static int sk_read_status(vb_sink *base, vb_status_fn fn, void *ud, vb_err *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    vb_buf sql = {0};
    int rc = vb_buf_puts(&sql, "SELECT ");
    for (size_t c = 0; rc == 0 && c < VB_STATUS_NCOLUMNS; c++)
        rc = vb_buf_printf(&sql, "%s%s", c ? ", " : "", vb_status_columns[c].name);
    if (rc || vb_buf_puts(&sql, " FROM bridge_stationStatus")) {
        vb_buf_free(&sql);
        return vb_fail(err, "out of memory");
    }
    sqlite3_stmt *q;
    char msg[1024];
    rc = sqlite3_prepare_v2(s->db, sql.data, -1, &q, NULL);
    vb_buf_free(&sql);
    if (rc != SQLITE_OK)
        return vb_fail(err, "bridge_stationStatus: %s", vb_db_errmsg(s->db, msg, sizeof msg));
    int step;
    rc = 0;
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW) {
        vb_status_row row;
        for (size_t c = 0; c < VB_STATUS_NCOLUMNS; c++)
            row.f[c] = column_value(q, (int)c);
        rc = fn(ud, &row, err);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = vb_fail(err, "bridge_stationStatus: %s", vb_db_errmsg(s->db, msg, sizeof msg));
    sqlite3_finalize(q);
    return rc;
}

/*
 * fill (sink.h): a table's rows in the window, read back, and the result's,
 * both sorted by station, time and value, then walked side by side. Rows
 * are compared as the column holds them, so a result row and the row the
 * bridge stored for the same point live meet, whatever path each took.
 * Equal rows are deleted and put back by key rather than by rowid, which a
 * table clustered on its key does not have.
 */
typedef struct fill_row {
    long long time;
    const char *station; /* into the arena, once fill_resolve ran */
    size_t station_at, station_len;
    vb_value v; /* a text value's .text.s, too */
    size_t text_at;
} fill_row;

typedef struct fill_set {
    fill_row *v;
    size_t n, cap;
} fill_set;

/* Both sides of one table, their text copied into one arena. */
typedef struct fill_ctx {
    vb_buf arena;
    fill_set have, want;
} fill_ctx;

/* Copies len bytes and a NUL into the arena; their offset in *at. */
static int arena_put(vb_buf *a, const char *p, size_t len, size_t *at)
{
    *at = a->len;
    return (len && vb_buf_append(a, p, len)) || vb_buf_append(a, "", 1);
}

static int fill_add(fill_ctx *f, fill_set *set, long long time, const char *station, size_t slen,
                    const vb_value *v)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        fill_row *nv = realloc(set->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        set->v = nv;
        set->cap = cap;
    }
    fill_row *r = &set->v[set->n];
    *r = (fill_row){.time = time, .station_len = slen, .v = *v};
    if (arena_put(&f->arena, station, slen, &r->station_at) ||
        (v->type == VB_V_TEXT && arena_put(&f->arena, v->text.s, v->text.len, &r->text_at)))
        return -1;
    set->n++;
    return 0;
}

static int fill_cmp(const void *pa, const void *pb)
{
    const fill_row *a = pa, *b = pb;
    size_t n = a->station_len < b->station_len ? a->station_len : b->station_len;
    int c = memcmp(a->station, b->station, n);
    if (c || a->station_len != b->station_len)
        return c ? c : a->station_len < b->station_len ? -1 : 1;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return vb_value_cmp(&a->v, &b->v);
}

/* Points the rows at the arena, which no longer moves, and sorts them. */
static void fill_resolve(fill_ctx *f, fill_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        fill_row *r = &set->v[i];
        r->station = f->arena.data + r->station_at;
        if (r->v.type == VB_V_TEXT)
            r->v.text.s = f->arena.data + r->text_at;
    }
    if (set->n > 1)
        qsort(set->v, set->n, sizeof *set->v, fill_cmp);
}

/* The table's rows in [a, b]; *absent when there is no such table. */
static int fill_read(sqlite_sink *s, const char *name, const vb_fill_window *w, fill_ctx *f,
                     int *absent, vb_err *err)
{
    char sql[512], msg[1024];
    snprintf(sql, sizeof sql,
             "SELECT station, time, value FROM ts_param_%s WHERE time BETWEEN ?1 AND ?2", name);
    sqlite3_stmt *q;
    *absent = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        vb_db_errmsg(s->db, msg, sizeof msg);
        *absent = strncmp(msg, "no such table", 13) == 0;
        /* A table not as the contract says is skipped, as store() skips it. */
        if (!*absent && s->skip_broken && sqlite3_errcode(s->db) == SQLITE_ERROR) {
            vb_log_msg(s->log, VB_WARN, "ts_param_%s cannot be read (%s); not filled in", name,
                       msg);
            *absent = 1;
        }
        return *absent ? 0 : vb_fail(err, "ts_param_%s: %s", name, msg);
    }
    sqlite3_bind_int64(q, 1, w->a);
    sqlite3_bind_int64(q, 2, w->b);
    int step, rc = 0;
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW) {
        vb_value v = column_value(q, 2);
        const char *st = (const char *)sqlite3_column_text(q, 0);
        size_t slen = (size_t)sqlite3_column_bytes(q, 0);
        if (fill_add(f, &f->have, sqlite3_column_int64(q, 1), st ? st : "", slen, &v))
            rc = vb_fail(err, "out of memory");
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = vb_fail(err, "ts_param_%s: %s", name, vb_db_errmsg(s->db, msg, sizeof msg));
    sqlite3_finalize(q);
    return rc;
}

static int among(const char *const *list, size_t n, const char *s, size_t len)
{
    if (!list)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
            return 1;
    return 0;
}

/* Deletes every row of the table equal to r (its time, station and value). */
static int fill_delete(sqlite_sink *s, const char *name, const fill_row *r, vb_err *err)
{
    char sql[512], msg[1024];
    snprintf(sql, sizeof sql,
             "DELETE FROM ts_param_%s WHERE time = ?1 AND station = ?2 AND value IS ?3", name);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return vb_fail(err, "ts_param_%s: %s", name, vb_db_errmsg(s->db, msg, sizeof msg));
    sqlite3_bind_int64(q, 1, r->time);
    sqlite3_bind_text(q, 2, r->station, (int)r->station_len, SQLITE_STATIC);
    bind(q, 3, &r->v);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE
               ? 0
               : vb_fail(err, "ts_param_%s: %s", name, vb_db_errmsg(s->db, msg, sizeof msg));
}

/* n copies of r into e's table; a value SQLite refuses counts as skipped. */
static int fill_insert(sqlite_sink *s, entry *e, const fill_row *r, size_t n, vb_sink_stats *st,
                       vb_err *err)
{
    for (size_t k = 0; k < n; k++) {
        int rc = insert_row(s, e, r->time, r->station, r->station_len, &r->v, err);
        if (rc < 0)
            return -1;
        st->skipped += rc;
        st->rows += !rc;
    }
    return 0;
}

/* Walks both sides key by key: what the table lacks is stored, what it has too often of a replaced
 * series goes. */
static int fill_merge(sqlite_sink *s, const char *name, entry *e, fill_ctx *f, int replace,
                      const vb_fill_window *w, vb_sink_stats *st, vb_err *err)
{
    const fill_set *have = &f->have, *want = &f->want;
    size_t i = 0, j = 0;
    while (i < want->n || j < have->n) {
        int c = i == want->n ? 1 : j == have->n ? -1 : fill_cmp(&want->v[i], &have->v[j]);
        const fill_row *key = c <= 0 ? &want->v[i] : &have->v[j];
        size_t nw = 0, nh = 0;
        while (i + nw < want->n && fill_cmp(&want->v[i + nw], key) == 0)
            nw++;
        while (j + nh < have->n && fill_cmp(&have->v[j + nh], key) == 0)
            nh++;
        if (nw > nh && fill_insert(s, e, key, nw - nh, st, err))
            return -1;
        if (nh > nw && replace &&
            among(w->stations, w->nstations, key->station, key->station_len)) {
            if (fill_delete(s, name, &have->v[j], err) || fill_insert(s, e, key, nw, st, err))
                return -1;
            st->rows -= (long)nw;
            st->removed += (long)(nh - nw);
        }
        i += nw;
        j += nh;
    }
    return 0;
}

/*
 * One series: rows[0 .. n) of the result (none for a replaced series the
 * result lacks, whose table is then only read and thinned, never made).
 */
static int fill_series(sqlite_sink *s, const char *name, const vb_row *rows, size_t n, int replace,
                       const vb_fill_window *w, vb_sink_stats *st, vb_err *err)
{
    entry *e = NULL;
    if (n && !(e = lookup(s, name, &rows[0].value, err)))
        return -1;
    if (n && !e->stmt) {
        st->skipped += (long)n;
        return 0;
    }
    if (!n && (!vb_is_identifier(name) || strlen(name) > 200))
        return 0;
    fill_ctx f = {0};
    long bad = 0;
    int rc = 0, absent;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        vb_value stored;
        char num[VB_NUMBER_TEXT];
        /* A row a transformer made at another time is the live bridge's to store, not ours. */
        if (rows[k].time < w->a || rows[k].time > w->b)
            st->skipped++;
        else if (vb_value_to_column(&rows[k].value, e->type, &stored, num))
            bad++;
        else if (fill_add(&f, &f.want, rows[k].time, rows[k].station, rows[k].station_len, &stored))
            rc = vb_fail(err, "out of memory");
    }
    if (rc == 0)
        rc = fill_read(s, name, w, &f, &absent, err);
    /* Rows of a table that cannot be read cannot be told from those it holds. */
    if (rc == 0 && absent) {
        st->skipped += (long)f.want.n;
    } else if (rc == 0) {
        fill_resolve(&f, &f.want);
        fill_resolve(&f, &f.have);
        rc = fill_merge(s, name, e, &f, replace, w, st, err);
    }
    if (e)
        warn_bad(s, e, bad, st);
    free(f.want.v);
    free(f.have.v);
    vb_buf_free(&f.arena);
    return rc;
}

static int named(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

static int sk_fill(vb_sink *base, const vb_result *r, const vb_fill_window *w, vb_sink_stats *st,
                   vb_err *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    int rc = 0;
    for (size_t t = 0; rc == 0 && t < r->nseries; t++) {
        const vb_result_series *sr = &r->series[t];
        /* A NUL inside the name would make C see another table's name. */
        if (strlen(sr->name) != sr->name_len)
            st->skipped += (long)sr->n;
        else
            rc = fill_series(s, sr->name, r->rows + sr->first, sr->n,
                             named(w->replace, w->nreplace, sr->name), w, st, err);
    }
    for (size_t k = 0; rc == 0 && k < w->nreplace; k++) {
        int held = 0;
        for (size_t t = 0; !held && t < r->nseries; t++)
            held = strcmp(r->series[t].name, w->replace[k]) == 0;
        if (!held)
            rc = fill_series(s, w->replace[k], NULL, 0, 1, w, st, err);
    }
    return rc;
}

/*
 * SQLite's page cache for a bulk load, in KiB: flat, whatever the tree's
 * size. Measured on a 2-million-row tree: 16 MiB loads as fast as 64 MiB and
 * keeps the peak RSS near 40 MB instead of 90 (make bench).
 */
#define BULK_CACHE_KIB 16384

/*
 * The load runs in rollback-journal mode, where a WAL would hold a second
 * copy of it. But leaving WAL needs every other connection to the file
 * closed, and Grafana keeps its own open for as long as it runs: then the
 * load goes through the WAL rather than wait for that.
 */
static int leave_wal(sqlite_sink *s, vb_err *err)
{
    char mode[32], msg[1024];
    if (vb_db_journal(s->db, mode, sizeof mode, err))
        return -1;
    if (strcmp(mode, "wal") != 0)
        return 0;
    if (sqlite3_exec(s->db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) == SQLITE_OK) {
        s->left_wal = 1;
        return 0;
    }
    if ((sqlite3_errcode(s->db) & 0xff) != SQLITE_BUSY)
        return vb_fail(err, "%s: PRAGMA journal_mode = DELETE: %s", s->path, sqlite3_errmsg(s->db));
    vb_log_msg(s->log, VB_NOTICE,
               "%s stays in WAL mode for the load (%s), so the load needs as much free disk "
               "space again until it is checkpointed",
               s->path, vb_db_lock_holder(s->path, msg, sizeof msg));
    return 0;
}

static int bulk_start(vb_sink *base, vb_err *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA cache_size = -%d", BULK_CACHE_KIB);
    if (leave_wal(s, err) || exec(s, pragma, err) ||
        exec(s,
             "CREATE TABLE IF NOT EXISTS bridge_inserted (station TEXT NOT NULL, param TEXT NOT "
             "NULL, head_len INTEGER NOT NULL, head TEXT NOT NULL, bytes INTEGER NOT NULL, tail "
             "TEXT NOT NULL, lines INTEGER NOT NULL, records INTEGER NOT NULL, inserted INTEGER "
             "NOT NULL)",
             err) ||
        sk_begin(base, err))
        return -1;
    if (!(s->bulk = vb_bulk_new(s->db, s->ml, s->log, err))) {
        sk_rollback(base);
        return -1;
    }
    return 0;
}

static int bulk_table(vb_sink *base, const char *name, const char *sample, vb_err *err)
{
    return vb_bulk_table(((sqlite_sink *)base)->bulk, name, sample, err);
}

static int bulk_add(vb_sink *base, int table, long long time, const char *station,
                    const char *value, size_t len, vb_err *err)
{
    return vb_bulk_add(((sqlite_sink *)base)->bulk, table, time, station, value, len, err);
}

static int bulk_finish(vb_sink *base, vb_err *err)
{
    return vb_bulk_finish(((sqlite_sink *)base)->bulk, err);
}

static int bulk_end(vb_sink *base, int ok, vb_err *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    int rc = ok ? sk_commit(base, err) : -1;
    if (rc)
        sk_rollback(base);
    char msg[1024];
    if (s->left_wal &&
        sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
        vb_log_msg(s->log, VB_WARN, "%s: could not switch back to WAL: %s", s->path,
                   vb_db_errmsg(s->db, msg, sizeof msg));
    s->left_wal = 0;
    return rc;
}

static long long bulk_rows(const vb_sink *base)
{
    const sqlite_sink *s = (const sqlite_sink *)base;
    return s->bulk ? vb_bulk_rows(s->bulk) : 0;
}

static long long bulk_skipped(const vb_sink *base)
{
    const sqlite_sink *s = (const sqlite_sink *)base;
    return s->bulk ? vb_bulk_skipped(s->bulk) : 0;
}

static int bulk_loaded(vb_sink *base, const char *station, const char *param, vb_load_fn fn,
                       void *ud, vb_err *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    sqlite3_stmt *q;
    char msg[1024];
    if (sqlite3_prepare_v2(s->db,
                           "SELECT rowid, head_len, head, bytes, tail, lines, records FROM "
                           "bridge_inserted WHERE station = ? AND param = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return vb_fail(err, "bridge_inserted: %s", vb_db_errmsg(s->db, msg, sizeof msg));
    sqlite3_bind_text(q, 1, station, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, param, -1, SQLITE_STATIC);
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW) {
        vb_load_record r = {.id = sqlite3_column_int64(q, 0),
                            .head_len = sqlite3_column_int64(q, 1),
                            .bytes = sqlite3_column_int64(q, 3),
                            .lines = (long)sqlite3_column_int64(q, 5),
                            .records = sqlite3_column_int64(q, 6)};
        snprintf(r.head, sizeof r.head, "%s", (const char *)sqlite3_column_text(q, 2));
        snprintf(r.tail, sizeof r.tail, "%s", (const char *)sqlite3_column_text(q, 4));
        rc = fn(ud, &r, err);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = vb_fail(err, "bridge_inserted: %s", vb_db_errmsg(s->db, msg, sizeof msg));
    sqlite3_finalize(q);
    return rc;
}

static int bulk_save_loaded(vb_sink *base, const char *station, const char *param,
                            const vb_load_record *r, vb_err *err)
{
    sqlite_sink *s = (sqlite_sink *)base;
    sqlite3_stmt *q;
    char msg[1024];
    const char *sql = r->id ? "UPDATE bridge_inserted SET station = ?1, param = ?2, head_len = ?3, "
                              "head = ?4, bytes = ?5, tail = ?6, lines = ?7, records = ?8, "
                              "inserted = strftime('%s', 'now') WHERE rowid = ?9"
                            : "INSERT INTO bridge_inserted (station, param, head_len, head, bytes, "
                              "tail, lines, records, inserted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                              "?8, strftime('%s', 'now'))";
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return vb_fail(err, "bridge_inserted: %s", vb_db_errmsg(s->db, msg, sizeof msg));
    sqlite3_bind_text(q, 1, station, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, param, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, r->head_len);
    sqlite3_bind_text(q, 4, r->head, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, r->bytes);
    sqlite3_bind_text(q, 6, r->tail, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, r->lines);
    sqlite3_bind_int64(q, 8, r->records);
    if (r->id)
        sqlite3_bind_int64(q, 9, r->id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE
               ? 0
               : vb_fail(err, "bridge_inserted: %s", vb_db_errmsg(s->db, msg, sizeof msg));
}

static const vb_sink_bulk_ops sqlite_bulk_ops = {
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

static const vb_sink_ops sqlite_ops = {
    .kind = "sqlite",
    .begin = sk_begin,
    .store = sk_store,
    .state_get = sk_state_get,
    .state_set = sk_state_set,
    .commit = sk_commit,
    .rollback = sk_rollback,
    .fill = sk_fill,
    .read_status = sk_read_status,
    .close = sk_close,
    .bulk = &sqlite_bulk_ops,
};
