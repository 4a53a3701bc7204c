/*
 * schema.c - see schema.h.
 *
 * Names reach SQL text only here and only after vb_is_identifier(): a
 * masterlist is outside input, and a parameter called "x; DROP TABLE y" must
 * be refused, not quoted into something that happens to work.
 */
#include "db/schema.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *type;
} bridge_series[] = {
    {"bridge_events", "TEXT"},
    {"bridge_points", "INTEGER"},
    {"bridge_totalLag", "REAL"},
    {"bridge_bridgeLag", "REAL"},
    {"bridge_forecastTau225", "REAL"},
    {"bridge_avgWindSpeed", "REAL"},
    {"bridge_windGust", "REAL"},
    {"bridge_backfillPoints", "INTEGER"},
    {"bridge_backfillRequests", "INTEGER"},
};

/* A contract type and its PostgreSQL type: see docs/schema.md, "PostgreSQL". */
static const struct {
    const char *sqlite, *postgres;
} types[] = {
    {"TEXT", "TEXT"},
    {"REAL", "DOUBLE PRECISION"},
    {"INTEGER", "BIGINT"},
    {"BOOLEAN", "SMALLINT"},
};

/* PostgreSQL cuts longer names to this many bytes (NAMEDATALEN - 1); two cut names could clash. */
#define PG_NAME_MAX 63

const char *vb_dialect_type(vb_dialect d, const char *sqltype)
{
    for (size_t i = 0; i < VB_COUNT(types); i++)
        if (strcmp(sqltype, types[i].sqlite) == 0)
            return d == VB_POSTGRES ? types[i].postgres : types[i].sqlite;
    return NULL;
}

const vb_column vb_status_columns[] = {
    {.name = "time", .type = VB_COL_INTEGER, .notnull = 1},
    {.name = "station", .type = VB_COL_TEXT, .notnull = 1, .key = 1},
    {.name = "source", .type = VB_COL_TEXT, .notnull = 1},
    {.name = "onsource", .type = VB_COL_TEXT, .notnull = 1},
    {.name = "mode", .type = VB_COL_TEXT, .notnull = 1},
    {.name = "recording", .type = VB_COL_TEXT, .notnull = 1},
    {.name = "tsys", .type = VB_COL_REAL},
    {.name = "tau225", .type = VB_COL_REAL},
    {.name = "scan", .type = VB_COL_TEXT, .notnull = 1},
};

static const vb_column schedule_columns[] = {
    {.name = "time", .type = VB_COL_INTEGER, .notnull = 1},
    {.name = "stations", .type = VB_COL_TEXT, .notnull = 1},
    {.name = "scan", .type = VB_COL_TEXT, .notnull = 1},
};
/*
 * PostgreSQL only: on SQLite the bridge creates bridge_state and insert
 * bridge_inserted when they first need them, and migrate records migrations
 * in bridge_migrations instead.
 */
static const vb_column state_columns[] = {
    {.name = "key", .type = VB_COL_TEXT, .notnull = 1, .key = 1},
    {.name = "value", .type = VB_COL_TEXT, .notnull = 1},
};
static const vb_column schema_columns[] = {
    {.name = "version", .type = VB_COL_TEXT, .notnull = 1},
    {.name = "applied", .type = VB_COL_INTEGER, .notnull = 1},
};
/* What `insert` loaded: SQLite's (db/insertlog.c) is keyed by its rowid, this one by id. */
static const vb_column inserted_columns[] = {
    {.name = "id", .type = VB_COL_INTEGER, .notnull = 1, .key = 1, .identity = 1},
    {.name = "station", .type = VB_COL_TEXT, .notnull = 1},
    {.name = "param", .type = VB_COL_TEXT, .notnull = 1},
    {.name = "head_len", .type = VB_COL_INTEGER, .notnull = 1},
    {.name = "head", .type = VB_COL_TEXT, .notnull = 1},
    {.name = "bytes", .type = VB_COL_INTEGER, .notnull = 1},
    {.name = "tail", .type = VB_COL_TEXT, .notnull = 1},
    {.name = "lines", .type = VB_COL_INTEGER, .notnull = 1},
    {.name = "records", .type = VB_COL_INTEGER, .notnull = 1},
    {.name = "inserted", .type = VB_COL_INTEGER, .notnull = 1},
};

static const struct {
    const char *name;
    const vb_column *columns;
    size_t ncolumns;
    int postgres_only;
} other_tables[] = {
    {"ts_param_schedule", schedule_columns, VB_COUNT(schedule_columns), 0},
    {"bridge_stationStatus", vb_status_columns, VB_STATUS_NCOLUMNS, 0},
    {"bridge_state", state_columns, VB_COUNT(state_columns), 1},
    {"bridge_schema", schema_columns, VB_COUNT(schema_columns), 1},
    {"bridge_inserted", inserted_columns, VB_COUNT(inserted_columns), 1},
};

int vb_status_insert_sql(vb_buf *out, vb_err *err)
{
    int rc = vb_buf_puts(out, "INSERT OR REPLACE INTO bridge_stationStatus (");
    for (size_t i = 0; rc == 0 && i < VB_STATUS_NCOLUMNS; i++)
        rc = vb_buf_printf(out, "%s%s", i ? ", " : "", vb_status_columns[i].name);
    rc = rc || vb_buf_puts(out, ") VALUES (");
    for (size_t i = 0; rc == 0 && i < VB_STATUS_NCOLUMNS; i++)
        rc = vb_buf_puts(out, i ? ", ?" : "?");
    return rc || vb_buf_puts(out, ")") ? vb_fail(err, "out of memory") : 0;
}

/* key: a primary key of several columns, which makes the table WITHOUT ROWID; NULL: none. */
static int create_table(vb_buf *out, vb_dialect d, const char *table, const vb_column *cols,
                        size_t n, const char *key)
{
    if (vb_buf_printf(out, "CREATE TABLE %s (", table))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (vb_buf_printf(out, "%s%s %s%s%s%s", i ? ", " : "", cols[i].name,
                          vb_dialect_type(d, vb_coltype_sql(cols[i].type)),
                          cols[i].notnull ? " NOT NULL" : "",
                          cols[i].identity ? " GENERATED ALWAYS AS IDENTITY" : "",
                          cols[i].key ? " PRIMARY KEY" : ""))
            return -1;
    if (key)
        return vb_buf_printf(out, ", PRIMARY KEY (%s)) WITHOUT ROWID;\n", key);
    return vb_buf_puts(out, ");\n");
}

int vb_series_sql_in(vb_buf *out, vb_dialect d, const char *name, const char *sqltype, vb_err *err)
{
    if (!vb_is_identifier(name))
        return vb_fail(err, "parameter name '%s' is not an SQL identifier; refusing to use it",
                       name);
    if (!vb_dialect_type(d, sqltype))
        return vb_fail(err, "series %s: unknown SQL type '%s' (TEXT, REAL, INTEGER or BOOLEAN)",
                       name, sqltype);
    if (d == VB_POSTGRES && strlen("idx_ts_param__station") + strlen(name) > PG_NAME_MAX)
        return vb_fail(err,
                       "parameter name '%s' is too long for PostgreSQL: its index "
                       "idx_ts_param_%s_station would exceed %d bytes",
                       name, name, PG_NAME_MAX);
    char table[600];
    snprintf(table, sizeof table, "ts_param_%s", name);
    /*
     * SQLite: the v2 layout, the rows clustered on their key. PostgreSQL
     * has no clustered tables: a heap (in time order as the bridge appends)
     * with b-trees, measured against BRIN in docs/schema.md.
     */
    const vb_column cols[] = {
        {.name = "time", .type = VB_COL_INTEGER, .notnull = 1},
        {.name = "station", .type = VB_COL_TEXT, .notnull = 1},
        {.name = "value", .type = vb_coltype_of(sqltype)},
        {.name = "seq", .type = VB_COL_INTEGER, .notnull = 1},
    };
    int rc;
    if (d == VB_SQLITE)
        rc = create_table(out, d, table, cols, VB_COUNT(cols), "time, station, seq");
    else
        rc = create_table(out, d, table, cols, VB_COUNT(cols) - 1 /* no seq */, NULL) ||
             vb_buf_printf(out,
                           "CREATE INDEX idx_ts_param_%s_time ON ts_param_%s(time);\n"
                           "CREATE INDEX idx_ts_param_%s_station ON ts_param_%s(station);\n",
                           name, name, name, name);
    return rc ? vb_fail(err, "out of memory") : 0;
}

int vb_series_probe_sql(vb_buf *out, const char *name, vb_err *err)
{
    if (!vb_is_identifier(name))
        return vb_fail(err, "series name '%s' is not an SQL identifier", name);
    if (vb_buf_printf(out,
                      "SELECT count(*), max(CASE WHEN name = 'value' THEN type END), "
                      "max(name = 'seq') FROM pragma_table_info('ts_param_%s')",
                      name))
        return vb_fail(err, "out of memory");
    return 0;
}

int vb_series_probe(sqlite3 *db, const char *name, vb_series_shape *out, vb_err *err)
{
    *out = (vb_series_shape){.layout = VB_LAYOUT_V2};
    vb_buf sql = {0};
    if (vb_series_probe_sql(&sql, name, err))
        return -1;
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(db, sql.data, -1, &q, NULL);
    vb_buf_free(&sql);
    if (rc != SQLITE_OK)
        return vb_fail(err, "ts_param_%s: %s", name, sqlite3_errmsg(db));
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const unsigned char *decl = sqlite3_column_text(q, 1);
        out->ncols = sqlite3_column_int(q, 0);
        out->has_value = decl != NULL;
        out->type = vb_coltype_of((const char *)decl);
        out->layout = sqlite3_column_int(q, 2) ? VB_LAYOUT_V2 : VB_LAYOUT_V1;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW)
        return vb_fail(err, "ts_param_%s: %s", name, sqlite3_errmsg(db));
    return 0;
}

int vb_series_insert_sql(vb_buf *out, const char *name, vb_layout layout, vb_insert kind,
                         const char *from, vb_err *err)
{
    if (!vb_is_identifier(name))
        return vb_fail(err, "series name '%s' is not an SQL identifier", name);
    int rc;
    if (layout == VB_LAYOUT_V1 && kind == VB_INSERT_ROW)
        rc = vb_buf_printf(
            out, "INSERT INTO ts_param_%s (time, station, value) VALUES (?1, ?2, ?3)", name);
    else if (layout == VB_LAYOUT_V1)
        rc = vb_buf_printf(out,
                           "INSERT INTO ts_param_%s (time, station, value) "
                           "SELECT time, station, value FROM %s",
                           name, from);
    else if (kind == VB_INSERT_ROW)
        rc = vb_buf_printf(out,
                           "INSERT INTO ts_param_%s (time, station, value, seq) VALUES (?1, ?2, "
                           "?3, (SELECT coalesce(max(seq) + 1, 0) FROM ts_param_%s "
                           "WHERE time = ?1 AND station = ?2))",
                           name, name);
    else if (kind == VB_INSERT_BULK_FAST)
        rc = vb_buf_printf(out,
                           "INSERT INTO ts_param_%s (time, station, value, seq) "
                           "SELECT time, station, value, 0 FROM %s",
                           name, from);
    else
        /*
         * Reading the table it writes, SQLite first copies the rows aside:
         * each seq comes from the table as it was, plus the row's rank among
         * the rows of its time and station here.
         */
        rc = vb_buf_printf(
            out,
            "INSERT INTO ts_param_%s (time, station, value, seq) "
            "SELECT r.time, r.station, r.value, row_number() OVER (PARTITION BY r.time, r.station "
            "ORDER BY r.rowid) - 1 + coalesce((SELECT max(seq) + 1 FROM ts_param_%s o "
            "WHERE o.time = r.time AND o.station = r.station), 0) FROM %s r",
            name, name, from);
    return rc ? vb_fail(err, "out of memory") : 0;
}

int vb_series_sql(vb_buf *out, const char *name, const char *sqltype, vb_err *err)
{
    return vb_series_sql_in(out, VB_SQLITE, name, sqltype, err);
}

int vb_schema_each_series(const vb_masterlist *ml, vb_series_cb cb, void *ud, vb_err *err)
{
    for (size_t i = 0; i < ml->nparams; i++) {
        const vb_param *p = &ml->params[i];
        const char *t = vb_sqltype(p->type);
        if (t && cb(ud, p->name, t, err))
            return -1;
    }
    for (size_t i = 0; i < ml->nparams; i++) {
        const vb_param *p = &ml->params[i];
        const char *a, *b;
        if (p->type == VB_DT_AZEL) {
            a = "az";
            b = "el";
        } else if (p->type == VB_DT_CELESTIAL) {
            a = "ra";
            b = "dec";
        } else {
            continue;
        }
        char name[512];
        snprintf(name, sizeof name, "%s_%s", p->name, a);
        if (cb(ud, name, "REAL", err))
            return -1;
        snprintf(name, sizeof name, "%s_%s", p->name, b);
        if (cb(ud, name, "REAL", err))
            return -1;
    }
    for (size_t i = 0; i < VB_COUNT(bridge_series); i++)
        if (cb(ud, bridge_series[i].name, bridge_series[i].type, err))
            return -1;
    return 0;
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

const char *vb_series_type(const vb_masterlist *ml, const char *name, const vb_value *sample,
                           int *none)
{
    *none = 0;
    if (ml) {
        const vb_param *p = vb_masterlist_find(ml, name);
        if (p && !vb_sqltype(p->type)) {
            *none = 1;
            return NULL;
        }
        type_hunt h = {name, NULL};
        vb_schema_each_series(ml, hunt, &h, NULL);
        if (h.sqltype)
            return h.sqltype;
    }
    return vb_coltype_sql(vb_coltype_for(sample));
}

typedef struct emit {
    vb_buf *out;
    vb_dialect d;
} emit;

static int emit_series(void *ud, const char *name, const char *sqltype, vb_err *err)
{
    emit *e = ud;
    return vb_series_sql_in(e->out, e->d, name, sqltype, err);
}

int vb_schema_sql_in(vb_buf *out, vb_dialect d, const vb_masterlist *ml, int wrap, vb_err *err)
{
    if (wrap && vb_buf_puts(out, d == VB_POSTGRES ? "BEGIN;\n" : "BEGIN TRANSACTION;\n"))
        return vb_fail(err, "out of memory");
    emit e = {out, d};
    if (vb_schema_each_series(ml, emit_series, &e, err))
        return -1;
    for (size_t i = 0; i < VB_COUNT(other_tables); i++)
        if ((d == VB_POSTGRES || !other_tables[i].postgres_only) &&
            create_table(out, d, other_tables[i].name, other_tables[i].columns,
                         other_tables[i].ncolumns, NULL))
            return vb_fail(err, "out of memory");
    if (d == VB_POSTGRES &&
        vb_buf_puts(out, "INSERT INTO bridge_schema (version, applied) VALUES ('" VB_SCHEMA_VERSION
                         "', CAST(extract(epoch FROM now()) AS BIGINT));\n"))
        return vb_fail(err, "out of memory");
    if (wrap && vb_buf_puts(out, "COMMIT;\n"))
        return vb_fail(err, "out of memory");
    return 0;
}

int vb_table_sql_in(vb_buf *out, vb_dialect d, const char *table, vb_err *err)
{
    for (size_t i = 0; i < VB_COUNT(other_tables); i++)
        if (strcmp(other_tables[i].name, table) == 0 &&
            (d == VB_POSTGRES || !other_tables[i].postgres_only))
            return create_table(out, d, table, other_tables[i].columns, other_tables[i].ncolumns,
                                NULL)
                       ? vb_fail(err, "out of memory")
                       : 0;
    return vb_fail(err, "no table %s in the schema", table);
}

int vb_schema_sql(vb_buf *out, const vb_masterlist *ml, vb_err *err)
{
    return vb_schema_sql_in(out, VB_SQLITE, ml, 1, err);
}
