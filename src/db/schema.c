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
    if (vb_buf_puts(out,
                    "CREATE TABLE ts_param_schedule (time INTEGER NOT NULL, stations TEXT NOT "
                    "NULL, scan TEXT NOT NULL);\n"
                    "CREATE TABLE bridge_stationStatus (time INTEGER NOT NULL, station TEXT NOT "
                    "NULL PRIMARY KEY, source TEXT NOT NULL, onsource TEXT NOT NULL, mode TEXT "
                    "NOT NULL, recording TEXT NOT NULL, tsys REAL, tau225 REAL, scan TEXT NOT "
                    "NULL);\n"
                    "COMMIT;\n"))
        return vb_fail(err, "out of memory");
    return 0;
}
