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

/* The four column types, spelled as docs/schema.md spells them. */
static int valid_type(const char *t)
{
    return strcmp(vb_coltype_sql(vb_coltype_of(t)), t) == 0;
}

int vb_series_sql(vb_buf *out, const char *name, const char *sqltype, vb_err *err)
{
    if (!vb_is_identifier(name))
        return vb_fail(err, "parameter name '%s' is not an SQL identifier; refusing to use it",
                       name);
    if (!valid_type(sqltype))
        return vb_fail(err, "series %s: unknown SQL type '%s' (TEXT, REAL, INTEGER or BOOLEAN)",
                       name, sqltype);
    if (vb_buf_printf(out,
                      "CREATE TABLE ts_param_%s (time INTEGER NOT NULL, station TEXT NOT NULL, "
                      "value %s);\n"
                      "CREATE INDEX idx_ts_param_%s_time ON ts_param_%s(time);\n"
                      "CREATE INDEX idx_ts_param_%s_station ON ts_param_%s(station);\n",
                      name, sqltype, name, name, name, name))
        return vb_fail(err, "out of memory");
    return 0;
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

static int emit_series(void *ud, const char *name, const char *sqltype, vb_err *err)
{
    return vb_series_sql(ud, name, sqltype, err);
}

int vb_schema_sql(vb_buf *out, const vb_masterlist *ml, vb_err *err)
{
    if (vb_buf_puts(out, "BEGIN TRANSACTION;\n"))
        return vb_fail(err, "out of memory");
    if (vb_schema_each_series(ml, emit_series, out, err))
        return -1;
    int rc = vb_buf_puts(out, "CREATE TABLE ts_param_schedule (time INTEGER NOT NULL, stations "
                              "TEXT NOT NULL, scan TEXT NOT NULL);\n"
                              "CREATE TABLE bridge_stationStatus (");
    for (size_t i = 0; rc == 0 && i < VB_STATUS_NCOLUMNS; i++) {
        const vb_column *c = &vb_status_columns[i];
        rc = vb_buf_printf(out, "%s%s %s%s%s", i ? ", " : "", c->name, vb_coltype_sql(c->type),
                           c->notnull ? " NOT NULL" : "", c->key ? " PRIMARY KEY" : "");
    }
    if (rc || vb_buf_puts(out, ");\nCOMMIT;\n"))
        return vb_fail(err, "out of memory");
    return 0;
}
