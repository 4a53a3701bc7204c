/*
 * bulk.c - see bulk.h.
 *
 * The virtual table vb_bulk_rows(?) reads one table's rows straight out of
 * the buffer: the statement gets a pointer (sqlite3_bind_pointer) to where
 * that table's linked list starts, so SQLite runs one VDBE loop per table
 * and flush instead of one statement per row.
 */
#include "db/bulk.h"

#include <stdlib.h>
#include <string.h>

#include "db/schema.h"

/* Rows held before they go in, and text bytes held for them. */
#define BULK_ROWS 65536
#define BULK_TEXT (8u << 20)

#define SLICE_TYPE "vb_bulk_slice"

typedef enum { V_INT, V_REAL, V_TEXT } vkind;

typedef struct row {
    long long time;
    const char *station;
    int next; /* the table's next row in the buffer, -1 at the end */
    vkind kind;
    union {
        long long i;
        double d;
        struct {
            size_t off, len;
        } text;
    } v;
} row;

typedef struct table {
    char *name;
    vb_coltype type;
    sqlite3_stmt *insert;
    sqlite3_stmt *exact; /* v2: the insert again for rows that share a key, see flush */
    char *index_sql;     /* the indexes taken off for the load, to run again at the end */
    int head, tail;
    long skipped;
} table;

typedef struct series_type {
    char *name;
    const char *sqltype;
} series_type;

struct vb_bulk {
    sqlite3 *db;
    const vb_masterlist *ml;
    const vb_log *log;
    row *rows;
    int nrows;
    vb_buf text;
    table *tables;
    int ntables, cap;
    int *touched; /* tables with rows in the buffer */
    int ntouched;
    series_type *types; /* initdb's type of every series, sorted by name */
    size_t ntypes;
    long long inserted, skipped;
};

/* What the statement's pointer parameter designates: one table's rows. */
typedef struct slice {
    const row *rows;
    const char *text;
    int head;
} slice;

typedef struct cursor {
    sqlite3_vtab_cursor base;
    slice s;
    int at;
} cursor;

static int vt_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                      char **errmsg)
{
    int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(time, station, value, src HIDDEN)");
    if (rc != SQLITE_OK)
        return rc;
    *out = sqlite3_malloc(sizeof **out);
    if (!*out)
        return SQLITE_NOMEM;
    memset(*out, 0, sizeof **out);
    return SQLITE_OK;
}

static int vt_disconnect(sqlite3_vtab *vt)
{
    sqlite3_free(vt);
    return SQLITE_OK;
}

/* Only usable with src = ?: a scan of nothing else makes sense. */
static int vt_best_index(sqlite3_vtab *vt, sqlite3_index_info *ii)
{
    for (int i = 0; i < ii->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &ii->aConstraint[i];
        if (c->iColumn == 3 && c->usable && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
            ii->aConstraintUsage[i].argvIndex = 1;
            ii->aConstraintUsage[i].omit = 1;
            ii->estimatedCost = 1;
            return SQLITE_OK;
        }
    }
    return SQLITE_CONSTRAINT;
}

static int vt_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
    cursor *c = sqlite3_malloc(sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    c->at = -1;
    *out = &c->base;
    return SQLITE_OK;
}

static int vt_close(sqlite3_vtab_cursor *cur)
{
    sqlite3_free(cur);
    return SQLITE_OK;
}

static int vt_filter(sqlite3_vtab_cursor *cur, int idx, const char *idxstr, int argc,
                     sqlite3_value **argv)
{
    cursor *c = (cursor *)cur;
    const slice *s = argc == 1 ? sqlite3_value_pointer(argv[0], SLICE_TYPE) : NULL;
    c->at = -1;
    if (s) {
        c->s = *s;
        c->at = s->head;
    }
    return SQLITE_OK;
}

static int vt_next(sqlite3_vtab_cursor *cur)
{
    cursor *c = (cursor *)cur;
    c->at = c->s.rows[c->at].next;
    return SQLITE_OK;
}

static int vt_eof(sqlite3_vtab_cursor *cur)
{
    return ((cursor *)cur)->at < 0;
}

static int vt_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    cursor *c = (cursor *)cur;
    const row *r = &c->s.rows[c->at];
    if (col == 0)
        sqlite3_result_int64(ctx, r->time);
    else if (col == 1)
        sqlite3_result_text(ctx, r->station, -1, SQLITE_STATIC);
    else if (col == 2 && r->kind == V_INT)
        sqlite3_result_int64(ctx, r->v.i);
    else if (col == 2 && r->kind == V_REAL)
        sqlite3_result_double(ctx, r->v.d);
    else if (col == 2)
        sqlite3_result_text(ctx, c->s.text + r->v.text.off, (int)r->v.text.len, SQLITE_STATIC);
    return SQLITE_OK;
}

static int vt_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = ((cursor *)cur)->at;
    return SQLITE_OK;
}

/* Eponymous only (no xCreate): it exists in every schema as vb_bulk_rows, and holds no data. */
static const sqlite3_module rows_module = {
    .xConnect = vt_connect,
    .xBestIndex = vt_best_index,
    .xDisconnect = vt_disconnect,
    .xOpen = vt_open,
    .xClose = vt_close,
    .xFilter = vt_filter,
    .xNext = vt_next,
    .xEof = vt_eof,
    .xColumn = vt_column,
    .xRowid = vt_rowid,
};

static int by_type_name(const void *a, const void *b)
{
    return strcmp(((const series_type *)a)->name, ((const series_type *)b)->name);
}

static int collect_type(void *ud, const char *name, const char *sqltype, vb_err *err)
{
    vb_bulk *b = ud;
    series_type *v = realloc(b->types, (b->ntypes + 1) * sizeof *v);
    if (!v)
        return vb_fail(err, "out of memory");
    b->types = v;
    v[b->ntypes].sqltype = sqltype;
    if (!(v[b->ntypes].name = vb_strdup(name)))
        return vb_fail(err, "out of memory");
    b->ntypes++;
    return 0;
}

vb_bulk *vb_bulk_new(sqlite3 *db, const vb_masterlist *ml, const vb_log *log, vb_err *err)
{
    vb_bulk *b = calloc(1, sizeof *b);
    if (!b || !(b->rows = malloc(BULK_ROWS * sizeof *b->rows))) {
        free(b);
        vb_fail(err, "out of memory");
        return NULL;
    }
    b->db = db;
    b->ml = ml;
    b->log = log;
    if (sqlite3_create_module_v2(db, "vb_bulk_rows", &rows_module, NULL, NULL) != SQLITE_OK) {
        vb_fail(err, "cannot register vb_bulk_rows: %s", sqlite3_errmsg(db));
        vb_bulk_free(b);
        return NULL;
    }
    if (vb_schema_each_series(ml, collect_type, b, err)) {
        vb_bulk_free(b);
        return NULL;
    }
    qsort(b->types, b->ntypes, sizeof *b->types, by_type_name);
    return b;
}

void vb_bulk_free(vb_bulk *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->ntables; i++) {
        free(b->tables[i].name);
        free(b->tables[i].index_sql);
        sqlite3_finalize(b->tables[i].insert);
        sqlite3_finalize(b->tables[i].exact);
    }
    free(b->tables);
    free(b->touched);
    free(b->rows);
    for (size_t i = 0; i < b->ntypes; i++)
        free(b->types[i].name);
    free(b->types);
    vb_buf_free(&b->text);
    free(b);
}

static int exec(vb_bulk *b, const char *sql, vb_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(b->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    vb_fail(err, "%s: %s", sql, msg ? msg : sqlite3_errmsg(b->db));
    sqlite3_free(msg);
    return -1;
}

/* One text column of a one-row query with one bound name; *found 0 when there is no row. */
static int query_text(vb_bulk *b, const char *sql, const char *arg, char **out, int *found,
                      vb_err *err)
{
    sqlite3_stmt *q;
    *found = 0;
    *out = NULL;
    if (sqlite3_prepare_v2(b->db, sql, -1, &q, NULL) != SQLITE_OK)
        return vb_fail(err, "%s: %s", sql, sqlite3_errmsg(b->db));
    if (arg)
        sqlite3_bind_text(q, 1, arg, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *found = 1;
        const unsigned char *t = sqlite3_column_text(q, 0);
        if (t && !(*out = vb_strdup((const char *)t)))
            rc = SQLITE_NOMEM;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return vb_fail(err, "%s: %s", sql, sqlite3_errstr(rc));
    return 0;
}

/* initdb's type for the series, else one that fits the sample value. */
static const char *type_for(vb_bulk *b, const char *name, const char *sample)
{
    series_type key = {(char *)name, NULL};
    const series_type *t = bsearch(&key, b->types, b->ntypes, sizeof *b->types, by_type_name);
    if (t)
        return t->sqltype;
    vb_value v = vb_value_from_text(VB_VALUE_GUESS, sample, strlen(sample));
    return vb_coltype_sql(vb_coltype_for(&v));
}

/* Takes the indexes off an empty table, keeping their SQL for vb_bulk_finish. */
static int drop_indexes(vb_bulk *b, table *t, vb_err *err)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT 1 FROM ts_param_%s LIMIT 1", t->name);
    char *v;
    int nonempty;
    if (query_text(b, sql, NULL, &v, &nonempty, err))
        return -1;
    free(v);
    if (nonempty)
        return 0;
    sqlite3_stmt *q;
    const char *list = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                       "AND sql IS NOT NULL";
    if (sqlite3_prepare_v2(b->db, list, -1, &q, NULL) != SQLITE_OK)
        return vb_fail(err, "%s: %s", list, sqlite3_errmsg(b->db));
    snprintf(sql, sizeof sql, "ts_param_%s", t->name);
    sqlite3_bind_text(q, 1, sql, -1, SQLITE_TRANSIENT);
    vb_buf keep = {0}, drop = {0};
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *iname = (const char *)sqlite3_column_text(q, 0);
        /* Only a name that is an identifier goes into the DROP; any other index stays. */
        if (!vb_is_identifier(iname))
            continue;
        if (vb_buf_printf(&keep, "%s;\n", (const char *)sqlite3_column_text(q, 1)) ||
            vb_buf_printf(&drop, "DROP INDEX %s;\n", iname)) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE || (drop.len && exec(b, drop.data, err))) {
        vb_buf_free(&keep);
        vb_buf_free(&drop);
        return rc != SQLITE_DONE ? vb_fail(err, "ts_param_%s: %s", t->name, sqlite3_errstr(rc))
                                 : -1;
    }
    vb_buf_free(&drop);
    t->index_sql = keep.data;
    return 0;
}

static int prepare(vb_bulk *b, table *t, vb_insert kind, vb_layout layout, sqlite3_stmt **st,
                   vb_err *err)
{
    vb_buf sql = {0};
    if (vb_series_insert_sql(&sql, t->name, layout, kind, "vb_bulk_rows(?)", err))
        return -1;
    int rc = sqlite3_prepare_v3(b->db, sql.data, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    vb_buf_free(&sql);
    if (rc != SQLITE_OK)
        return vb_fail(err, "ts_param_%s: %s", t->name, sqlite3_errmsg(b->db));
    return 0;
}

static int setup_table(vb_bulk *b, table *t, const char *sample, vb_err *err)
{
    vb_series_shape shape;
    if (vb_series_probe(b->db, t->name, &shape, err))
        return -1;
    if (!shape.has_value) {
        /* No value column may also mean a table that lost it: that one is broken, not missing. */
        if (shape.ncols)
            return vb_fail(
                err, "ts_param_%s has no value column (docs/schema.md); repair the table", t->name);
        const char *sqltype = type_for(b, t->name, sample);
        vb_buf create = {0};
        if (vb_series_sql(&create, t->name, sqltype, err))
            return -1;
        char *msg = NULL;
        int rc = sqlite3_exec(b->db, create.data, NULL, NULL, &msg);
        vb_buf_free(&create);
        if (rc != SQLITE_OK) {
            vb_fail(err, "creating ts_param_%s: %s", t->name, msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            return -1;
        }
        vb_log_msg(b->log, VB_NOTICE,
                   "created table ts_param_%s (%s) for a parameter the database lacked", t->name,
                   sqltype);
        shape.type = vb_coltype_of(sqltype);
        shape.layout = VB_LAYOUT_V2;
    }
    t->type = shape.type;
    if (drop_indexes(b, t, err))
        return -1;
    return prepare(b, t, VB_INSERT_BULK_FAST, shape.layout, &t->insert, err) ||
                   (shape.layout == VB_LAYOUT_V2 &&
                    prepare(b, t, VB_INSERT_BULK_EXACT, shape.layout, &t->exact, err))
               ? -1
               : 0;
}

int vb_bulk_table(vb_bulk *b, const char *name, const char *sample, vb_err *err)
{
    for (int i = 0; i < b->ntables; i++)
        if (!strcmp(b->tables[i].name, name))
            return i;
    if (!vb_is_identifier(name) || strlen(name) > 200)
        return vb_fail(err, "series name '%.60s' is not an SQL identifier", name);
    const vb_param *p = vb_masterlist_find(b->ml, name);
    if (p && !vb_sqltype(p->type))
        return -2;
    if (b->ntables == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        table *v = realloc(b->tables, (size_t)cap * sizeof *v);
        int *tv = realloc(b->touched, (size_t)cap * sizeof *tv);
        if (v)
            b->tables = v;
        if (tv)
            b->touched = tv;
        if (!v || !tv)
            return vb_fail(err, "out of memory");
        b->cap = cap;
    }
    table *t = &b->tables[b->ntables];
    memset(t, 0, sizeof *t);
    t->head = t->tail = -1;
    if (!(t->name = vb_strdup(name)))
        return vb_fail(err, "out of memory");
    b->ntables++;
    return setup_table(b, t, sample, err) ? -1 : b->ntables - 1;
}

/* The row's value as a column of type t stores it (core/value.h); -1 when it does not fit. */
static int coerce(vb_bulk *b, row *r, vb_coltype t, const char *v, size_t len)
{
    vb_value in = {.type = VB_V_TEXT, .text = {v, len}}, out;
    char num[VB_NUMBER_TEXT];
    if (vb_value_to_column(&in, t, &out, num))
        return -1;
    switch (out.type) {
    case VB_V_INTEGER:
        r->kind = V_INT;
        r->v.i = out.i;
        return 0;
    case VB_V_BOOLEAN:
        r->kind = V_INT;
        r->v.i = out.b;
        return 0;
    case VB_V_REAL:
        r->kind = V_REAL;
        r->v.d = out.d;
        return 0;
    case VB_V_TEXT:
        r->kind = V_TEXT;
        r->v.text.off = b->text.len;
        r->v.text.len = out.text.len;
        return vb_buf_append(&b->text, out.text.s, out.text.len) ? -2 : 0;
    case VB_V_NULL:
        break;
    }
    return -1;
}

int vb_bulk_add(vb_bulk *b, int table_id, long long time, const char *station, const char *value,
                size_t len, vb_err *err)
{
    table *t = &b->tables[table_id];
    row *r = &b->rows[b->nrows];
    r->time = time;
    r->station = station;
    r->next = -1;
    int rc = coerce(b, r, t->type, value, len);
    if (rc == -2)
        return vb_fail(err, "out of memory");
    if (rc) {
        t->skipped++;
        b->skipped++;
        return 0;
    }
    if (t->head < 0) {
        t->head = b->nrows;
        b->touched[b->ntouched++] = table_id;
    } else {
        b->rows[t->tail].next = b->nrows;
    }
    t->tail = b->nrows++;
    if (b->nrows == BULK_ROWS || b->text.len >= BULK_TEXT)
        return vb_bulk_flush(b, err);
    return 0;
}

int vb_bulk_flush(vb_bulk *b, vb_err *err)
{
    int rc = 0;
    for (int k = 0; k < b->ntouched; k++) {
        table *t = &b->tables[b->touched[k]];
        slice s = {b->rows, b->text.data, t->head};
        t->head = t->tail = -1;
        if (rc)
            continue;
        sqlite3_stmt *st = t->insert;
        sqlite3_bind_pointer(st, 1, &s, SLICE_TYPE, NULL);
        int step = sqlite3_step(st);
        /*
         * Two rows with one key: the statement is undone, and the rows go in
         * again the slower way that numbers them (vb_insert in db/schema.h).
         */
        if ((step & 0xff) == SQLITE_CONSTRAINT &&
            sqlite3_extended_errcode(b->db) == SQLITE_CONSTRAINT_PRIMARYKEY && t->exact) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            st = t->exact;
            sqlite3_bind_pointer(st, 1, &s, SLICE_TYPE, NULL);
            step = sqlite3_step(st);
        }
        if (step != SQLITE_DONE)
            rc = vb_fail(err, "insert into ts_param_%s: %s", t->name, sqlite3_errmsg(b->db));
        else
            b->inserted += sqlite3_changes(b->db);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    b->ntouched = 0;
    b->nrows = 0;
    b->text.len = 0;
    return rc;
}

int vb_bulk_finish(vb_bulk *b, vb_err *err)
{
    if (vb_bulk_flush(b, err))
        return -1;
    for (int i = 0; i < b->ntables; i++) {
        table *t = &b->tables[i];
        if (t->skipped)
            vb_log_msg(b->log, VB_WARN,
                       "ts_param_%s: %ld value(s) that are not of the column's type skipped",
                       t->name, t->skipped);
        if (t->index_sql && exec(b, t->index_sql, err))
            return -1;
        free(t->index_sql);
        t->index_sql = NULL;
    }
    return 0;
}

long long vb_bulk_rows(const vb_bulk *b)
{
    return b->inserted;
}

long long vb_bulk_skipped(const vb_bulk *b)
{
    return b->skipped;
}
