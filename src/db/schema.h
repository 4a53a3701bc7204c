/*
 * schema.h - the database schema Grafana's dashboards depend on (docs/schema.md):
 * one series table per parameter with two indexes, split-coordinate series,
 * the bridge's own series, the schedule and the station status table.
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_SCHEMA_H
#define VB_SCHEMA_H

#include "core/masterlist.h"
#include "core/util.h"
#include "core/value.h"

/* CREATE TABLE ts_param_<name> plus its time and station indexes. */
int vb_series_sql(vb_buf *out, const char *name, const char *sqltype, vb_err *err);

/* The complete fresh schema in one transaction, as initdb creates it. */
int vb_schema_sql(vb_buf *out, const vb_masterlist *ml, vb_err *err);

/* Every series name (without ts_param_) and SQL type of a fresh schema, in creation order. */
typedef int (*vb_series_cb)(void *ud, const char *name, const char *sqltype, vb_err *err);
int vb_schema_each_series(const vb_masterlist *ml, vb_series_cb cb, void *ud, vb_err *err);

/* A column of bridge_stationStatus. */
typedef struct vb_column {
    const char *name;
    vb_coltype type;
    int notnull;
    int key; /* the primary key */
} vb_column;

/*
 * bridge_stationStatus's columns in table order, time and station first: the
 * one list its CREATE TABLE, the store, the printers and
 * lua/vlbimon/status.lua (through vlbimon.status_columns()) are made from.
 */
#define VB_STATUS_NCOLUMNS 9
extern const vb_column vb_status_columns[VB_STATUS_NCOLUMNS];

/* INSERT OR REPLACE of one bridge_stationStatus row, a parameter per column in table order. */
int vb_status_insert_sql(vb_buf *out, vb_err *err);

#endif
