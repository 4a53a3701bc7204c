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
    {"bridge_events", "TEXT"},         {"bridge_points", "INTEGER"},
    {"bridge_totalLag", "REAL"},       {"bridge_bridgeLag", "REAL"},
    {"bridge_forecastTau225", "REAL"}, {"bridge_avgWindSpeed", "REAL"},
    {"bridge_windGust", "REAL"},
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

typedef struct column {
    const char *name, *type, *constraint;
} column;

static const column schedule_columns[] = {
    {"time", "INTEGER", " NOT NULL"},
    {"stations", "TEXT", " NOT NULL"},
    {"scan", "TEXT", " NOT NULL"},
};
static const column status_columns[] = {
    {"time", "INTEGER", " NOT NULL"},
    {"station", "TEXT", " NOT NULL PRIMARY KEY"},
    {"source", "TEXT", " NOT NULL"},
    {"onsource", "TEXT", " NOT NULL"},
    {"mode", "TEXT", " NOT NULL"},
    {"recording", "TEXT", " NOT NULL"},
    {"tsys", "REAL", ""},
    {"tau225", "REAL", ""},
    {"scan", "TEXT", " NOT NULL"},
};
/*
 * PostgreSQL only: on SQLite the bridge creates bridge_state when it first
 * needs it, and migrate records migrations in bridge_migrations instead.
 */
static const column state_columns[] = {
    {"key", "TEXT", " PRIMARY KEY NOT NULL"},
    {"value", "TEXT", " NOT NULL"},
};
static const column schema_columns[] = {
    {"version", "TEXT", " NOT NULL"},
    {"applied", "INTEGER", " NOT NULL"},
};

static const struct {
    const char *name;
    const column *columns;
    size_t ncolumns;
    int postgres_only;
} other_tables[] = {
    {"ts_param_schedule", schedule_columns, VB_COUNT(schedule_columns), 0},
    {"bridge_stationStatus", status_columns, VB_COUNT(status_columns), 0},
    {"bridge_state", state_columns, VB_COUNT(state_columns), 1},
    {"bridge_schema", schema_columns, VB_COUNT(schema_columns), 1},
};

static int create_table(vb_buf *out, vb_dialect d, const char *table, const column *cols, size_t n)
{
    if (vb_buf_printf(out, "CREATE TABLE %s (", table))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (vb_buf_printf(out, "%s%s %s%s", i ? ", " : "", cols[i].name,
                          vb_dialect_type(d, cols[i].type), cols[i].constraint))
            return -1;
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
    const column cols[] = {
        {"time", "INTEGER", " NOT NULL"},
        {"station", "TEXT", " NOT NULL"},
        {"value", sqltype, ""},
    };
    if (create_table(out, d, table, cols, VB_COUNT(cols)) ||
        vb_buf_printf(out,
                      "CREATE INDEX idx_ts_param_%s_time ON ts_param_%s(time);\n"
                      "CREATE INDEX idx_ts_param_%s_station ON ts_param_%s(station);\n",
                      name, name, name, name))
        return vb_fail(err, "out of memory");
    return 0;
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
                         other_tables[i].ncolumns))
            return vb_fail(err, "out of memory");
    if (d == VB_POSTGRES &&
        vb_buf_puts(out, "INSERT INTO bridge_schema (version, applied) VALUES ('" VB_SCHEMA_VERSION
                         "', CAST(extract(epoch FROM now()) AS BIGINT));\n"))
        return vb_fail(err, "out of memory");
    if (wrap && vb_buf_puts(out, "COMMIT;\n"))
        return vb_fail(err, "out of memory");
    return 0;
}

int vb_schema_sql(vb_buf *out, const vb_masterlist *ml, vb_err *err)
{
    return vb_schema_sql_in(out, VB_SQLITE, ml, 1, err);
}
