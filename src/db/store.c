/*
 * store.c - see store.h.
 *
 * Statements are prepared once per table and kept for the whole run: a full
 * snapshot touches ~560 tables, and preparing each time would cost more
 * than the inserts. A parameter vlbimon added after initdb gets its table
 * (with initdb's type when the masterlist knows it, else one that fits the
 * value) inside the snapshot's transaction, so a rollback undoes the table
 * together with the rows; the cache then forgets it and probes again.
 */
#define _DEFAULT_SOURCE
#include "db/store.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/rows.h"
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

struct vb_store {
    sqlite3 *db;
    vb_db_waiter waiter;
    const vb_log *log;
    const vb_masterlist *ml;
    entry *slots;
    size_t nslots, used;
    size_t ncreated; /* entries with created set */
    int skip_broken; /* a table whose insert cannot be compiled is skipped, not an error */
    sqlite3_stmt *status;
    sqlite3_stmt *get_state, *set_state;
    sqlite3_stmt *schema; /* PRAGMA schema_version */
    int schema_version;   /* the one the cached statements were made under; -1: none yet */
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int exec(vb_store *s, const char *sql, vb_err *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        char msg[1024];
        return vb_fail(err, "%s: %s", sql, vb_db_errmsg(s->db, msg, sizeof msg));
    }
    return 0;
}

/* The status row's statement: an SQLite result code (SQLITE_ERROR: no such table). */
static int prepare_status(vb_store *s)
{
    vb_buf sql = {0};
    int rc =
        vb_status_insert_sql(&sql, NULL)
            ? SQLITE_NOMEM
            : sqlite3_prepare_v3(s->db, sql.data, -1, SQLITE_PREPARE_PERSISTENT, &s->status, NULL);
    vb_buf_free(&sql);
    return rc;
}

vb_store *vb_store_open(const char *path, int wal_pages, const vb_db_wait *wait, const vb_log *log,
                        vb_err *err)
{
    if (access(path, F_OK) != 0) {
        vb_fail(err,
                "database %s does not exist; create it with 'vlbimon_bridge initdb "
                "--sqlitedb %s'",
                path, path);
        return NULL;
    }
    vb_store *s = calloc(1, sizeof *s);
    if (!s) {
        vb_fail(err, "out of memory");
        return NULL;
    }
    s->log = log;
    s->nslots = 1024;
    s->slots = calloc(s->nslots, sizeof *s->slots);
    if (!s->slots) {
        free(s);
        vb_fail(err, "out of memory");
        return NULL;
    }
    char pragmas[128] = "PRAGMA synchronous=NORMAL;";
    if (wal_pages != VB_STORE_JOURNAL_AS_IS)
        snprintf(pragmas, sizeof pragmas,
                 "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=%d;",
                 wal_pages > 0 ? wal_pages : 0);
    if (vb_db_open(path, SQLITE_OPEN_READWRITE, wait, &s->waiter, &s->db, err) ||
        (wal_pages != VB_STORE_JOURNAL_AS_IS &&
         vb_db_set_journal(&s->waiter, wal_pages > 0 ? "WAL" : "DELETE", err)) ||
        exec(s, pragmas, err)) {
        vb_store_close(s);
        return NULL;
    }
    if (prepare_status(s) != SQLITE_OK) {
        vb_fail(err, "%s: not a vlbimon database (bridge_stationStatus: %s)", path,
                sqlite3_errmsg(s->db));
        vb_store_close(s);
        return NULL;
    }
    s->schema_version = -1;
    if (sqlite3_prepare_v3(s->db, "PRAGMA schema_version", -1, SQLITE_PREPARE_PERSISTENT,
                           &s->schema, NULL) != SQLITE_OK) {
        vb_fail(err, "%s: PRAGMA schema_version: %s", path, sqlite3_errmsg(s->db));
        vb_store_close(s);
        return NULL;
    }
    return s;
}

void vb_store_close(vb_store *s)
{
    if (!s)
        return;
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
    free(s);
}

void vb_store_set_masterlist(vb_store *s, const vb_masterlist *ml)
{
    s->ml = ml;
}

void vb_store_skip_broken_tables(vb_store *s)
{
    s->skip_broken = 1;
}

int vb_store_state_init(vb_store *s, vb_err *err)
{
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

int vb_store_state_get(vb_store *s, const char *key, char **value, vb_err *err)
{
    *value = NULL;
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

int vb_store_state_set(vb_store *s, const char *key, const char *value, vb_err *err)
{
    sqlite3_bind_text(s->set_state, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->set_state, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s->set_state);
    sqlite3_reset(s->set_state);
    if (rc != SQLITE_DONE)
        return vb_fail(err, "bridge_state: %s", sqlite3_errmsg(s->db));
    return 0;
}

sqlite3 *vb_store_db(vb_store *s)
{
    return s->db;
}

/* SQLite's count of schema changes; -1 when it cannot be read. */
static int schema_version(vb_store *s)
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
static void recheck_layouts(vb_store *s)
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

int vb_store_begin(vb_store *s, vb_err *err)
{
    if (exec(s, "BEGIN IMMEDIATE", err))
        return -1;
    recheck_layouts(s);
    return 0;
}

/* Walks the cache only when this transaction created tables, which is rare. */
static void settle_created(vb_store *s, int undone)
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

int vb_store_commit(vb_store *s, vb_err *err)
{
    /* The tables this transaction created are no reason to probe every table again. */
    if (s->ncreated)
        s->schema_version = schema_version(s);
    if (exec(s, "COMMIT", err))
        return -1;
    settle_created(s, 0);
    return 0;
}

int vb_store_rollback(vb_store *s)
{
    /* A failed COMMIT may leave the transaction open or already rolled back. */
    int rc = sqlite3_get_autocommit(s->db) ? 0 : exec(s, "ROLLBACK", NULL);
    settle_created(s, 1);
    return rc;
}

typedef struct type_hunt {
    const char *name;
    const char *sqltype;
} type_hunt;

static int hunt(void *ud, const char *name, const char *sqltype, vb_err *err)
{
    type_hunt *h = ud;
    if (!h->sqltype && strcmp(name, h->name) == 0)
        h->sqltype = sqltype;
    return 0;
}

/*
 * The type initdb would have given the series (masterlist, split and bridge
 * series), else one that fits the value: a parameter vlbimon added after the
 * masterlist was saved still gets a sensible column. NULL: store nothing
 * (the masterlist says "none").
 */
static const char *type_for(vb_store *s, const char *name, const vb_value *sample, int *none)
{
    *none = 0;
    if (s->ml) {
        const vb_param *p = vb_masterlist_find(s->ml, name);
        if (p && !vb_sqltype(p->type)) {
            *none = 1;
            return NULL;
        }
        type_hunt h = {name, NULL};
        vb_schema_each_series(s->ml, hunt, &h, NULL);
        if (h.sqltype)
            return h.sqltype;
    }
    return vb_coltype_sql(vb_coltype_for(sample));
}

static int create_table(vb_store *s, entry *e, const vb_value *sample, vb_err *err)
{
    int none;
    const char *sqltype = type_for(s, e->name, sample, &none);
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
static int prepare_entry(vb_store *s, entry *e, const vb_value *sample, vb_err *err)
{
    vb_layout layout = VB_LAYOUT_V2;
    for (int attempt = 0; attempt < 2; attempt++) {
        /*
         * One row whether or not the table exists: a table without a value
         * column exists all the same, and must fail below as broken rather
         * than be created again.
         */
        vb_buf probe = {0};
        if (vb_series_probe_sql(&probe, e->name, err))
            return -1;
        sqlite3_stmt *q;
        int prc = sqlite3_prepare_v2(s->db, probe.data, -1, &q, NULL);
        vb_buf_free(&probe);
        if (prc != SQLITE_OK)
            return vb_fail(err, "ts_param_%s: %s", e->name, sqlite3_errmsg(s->db));
        int rc = sqlite3_step(q), exists = rc == SQLITE_ROW && sqlite3_column_int(q, 0) > 0;
        if (exists) {
            e->type = vb_coltype_of((const char *)sqlite3_column_text(q, 1));
            layout = sqlite3_column_int(q, 2) ? VB_LAYOUT_V2 : VB_LAYOUT_V1;
        }
        sqlite3_finalize(q);
        if (rc != SQLITE_ROW)
            return vb_fail(err, "ts_param_%s: %s", e->name, sqlite3_errmsg(s->db));
        if (exists)
            break;
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

static int grow(vb_store *s)
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
static entry *lookup(vb_store *s, const char *name, const vb_value *sample, vb_err *err)
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

static int to_time(lua_State *L, int idx, sqlite3_int64 *t)
{
    if (lua_isinteger(L, idx)) {
        *t = lua_tointeger(L, idx);
        return 0;
    }
    if (lua_type(L, idx) != LUA_TNUMBER)
        return -1;
    double d = lua_tonumber(L, idx);
    if (!isfinite(d) || fabs(d) > 9e15)
        return -1;
    *t = (sqlite3_int64)floor(d);
    return 0;
}

/* One table's rows: row[0..n-1] index the columns station, param, time, value at cols..cols+3. */
static int insert_series(vb_store *s, lua_State *L, int cols, const int *row, int n,
                         vb_store_stats *st, vb_err *err)
{
    int ist = cols, ipar = cols + 1, itm = cols + 2, ival = cols + 3;
    lua_rawgeti(L, ipar, row[0]);
    lua_rawgeti(L, ival, row[0]);
    size_t len;
    const char *name = lua_tolstring(L, -2, &len);
    vb_value sample;
    vb_rows_value(L, -1, &sample);
    entry *e = NULL;
    /* A NUL inside the name would make C see another table's name. */
    if (name && strlen(name) == len && !(e = lookup(s, name, &sample, err))) {
        lua_pop(L, 2);
        return -1;
    }
    lua_pop(L, 2);
    if (!e || !e->stmt) {
        st->skipped += n;
        return 0;
    }
    long bad = 0;
    for (int k = 0; k < n; k++) {
        lua_rawgeti(L, ist, row[k]);
        lua_rawgeti(L, itm, row[k]);
        lua_rawgeti(L, ival, row[k]);
        sqlite3_int64 t;
        size_t slen;
        vb_value v, stored;
        char num[VB_NUMBER_TEXT];
        const char *station = lua_type(L, -3) == LUA_TSTRING ? lua_tolstring(L, -3, &slen) : NULL;
        if (!station || to_time(L, -2, &t) || vb_rows_value(L, -1, &v) ||
            vb_value_to_column(&v, e->type, &stored, num) || bind(e->stmt, 3, &stored)) {
            bad++;
            lua_pop(L, 3);
            continue;
        }
        sqlite3_bind_int64(e->stmt, 1, t);
        sqlite3_bind_text(e->stmt, 2, station, (int)slen, SQLITE_TRANSIENT);
        int rc = sqlite3_step(e->stmt);
        sqlite3_reset(e->stmt);
        lua_pop(L, 3);
        if (rc != SQLITE_DONE)
            return vb_fail(err, "insert into ts_param_%s: %s", e->name, sqlite3_errmsg(s->db));
        st->rows++;
    }
    if (bad) {
        st->skipped += bad;
        vb_log_msg(s->log, e->warned ? VB_DEBUG : VB_WARN,
                   "ts_param_%s: %ld value(s) of the wrong type or with a bad time skipped",
                   e->name, bad);
        e->warned = 1;
    }
    return 0;
}

/*
 * A status row's fields go through the same conversion as series values. A
 * field that does not fit is NULL where the column allows it and empty text
 * in a TEXT column; a row without a usable key or clock is skipped.
 */
static int insert_status(vb_store *s, lua_State *L, int row, vb_store_stats *st, vb_err *err)
{
    vb_value f[VB_STATUS_NCOLUMNS];
    vb_rows_status(L, row, f);
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

int vb_store_insert_result(vb_store *s, lua_State *L, int idx, vb_store_stats *stats, vb_err *err)
{
    idx = lua_absindex(L, idx);
    if (!lua_checkstack(L, 16))
        return vb_fail(err, "Lua stack exhausted");
    const vb_groups *g = vb_rows_groups(L, idx);
    if (!g)
        return vb_fail(err, "pipeline result without its grouping by table");
    int cols = vb_rows_push_columns(L, idx);
    if (!cols)
        return vb_fail(err, "pipeline result without its columns");
    int rc = 0;
    for (int t = 0; rc == 0 && t < g->ngroups; t++)
        rc = insert_series(s, L, cols, g->row + g->start[t], g->start[t + 1] - g->start[t], stats,
                           err);
    lua_pop(L, 4);
    if (rc)
        return rc;
    if (lua_getfield(L, idx, "status") == LUA_TTABLE) {
        int status = lua_gettop(L);
        lua_Integer n = (lua_Integer)luaL_len(L, status);
        for (lua_Integer i = 1; rc == 0 && i <= n; i++) {
            if (lua_rawgeti(L, status, i) == LUA_TTABLE)
                rc = insert_status(s, L, lua_gettop(L), stats, err);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    return rc;
}
