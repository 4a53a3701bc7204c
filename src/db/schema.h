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

/*
 * The two SQL dialects of one schema (docs/schema.md): the contract's types
 * (TEXT, REAL, INTEGER, BOOLEAN) are SQLite's, and PostgreSQL gets the types
 * that keep the dashboards' queries working (vb_dialect_type). Names are
 * written unquoted in both, so PostgreSQL folds them to lower case, and SQL
 * that names a table in any case finds it on both.
 */
typedef enum { VB_SQLITE, VB_POSTGRES } vb_dialect;

/* The newest migration a fresh schema already includes; PostgreSQL records it in bridge_schema. */
#define VB_SCHEMA_VERSION "05-backfill-series"

/* A contract type in the dialect's words, or NULL when sqltype is not one. */
const char *vb_dialect_type(vb_dialect d, const char *sqltype);

/* CREATE TABLE ts_param_<name> plus its time and station indexes. */
int vb_series_sql(vb_buf *out, const char *name, const char *sqltype, vb_err *err);
int vb_series_sql_in(vb_buf *out, vb_dialect d, const char *name, const char *sqltype, vb_err *err);

/* The complete fresh schema in one transaction, as initdb creates it. */
int vb_schema_sql(vb_buf *out, const vb_masterlist *ml, vb_err *err);

/*
 * The same in a dialect; on PostgreSQL with the bookkeeping tables
 * bridge_state and bridge_schema, the latter holding VB_SCHEMA_VERSION.
 * Wrapped in BEGIN and COMMIT when wrap is non-zero; without, for a caller
 * that runs it in a transaction of its own.
 */
int vb_schema_sql_in(vb_buf *out, vb_dialect d, const vb_masterlist *ml, int wrap, vb_err *err);

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
