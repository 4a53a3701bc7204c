/*
 * schema.h - the database schema Grafana's dashboards depend on (docs/schema.md):
 * one series table per parameter, clustered on time, split-coordinate
 * series, the bridge's own series, the schedule and the station status
 * table; and the SQL that writes a series table of either layout.
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_SCHEMA_H
#define VB_SCHEMA_H

#include <sqlite3.h>

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

/*
 * The newest migration a fresh schema already includes; PostgreSQL records
 * it in bridge_schema. 04 changes SQLite's layout only (docs/schema.md), and
 * 05's two series the bridge creates when it first writes them, so a
 * PostgreSQL schema recording VB_PG_SCHEMA_SINCE, made before 04, or any
 * version up to VB_SCHEMA_VERSION is a fresh schema, and neither is to run
 * there.
 */
#define VB_SCHEMA_VERSION "05-backfill-series"
#define VB_PG_SCHEMA_SINCE "03-match-initdb"

/* A contract type in the dialect's words, or NULL when sqltype is not one. */
const char *vb_dialect_type(vb_dialect d, const char *sqltype);

/*
 * CREATE TABLE ts_param_<name> as a fresh schema has it: on SQLite the v2
 * layout, clustered on its key (time, station, seq); on PostgreSQL a heap
 * with its time and station indexes.
 */
int vb_series_sql(vb_buf *out, const char *name, const char *sqltype, vb_err *err);
int vb_series_sql_in(vb_buf *out, vb_dialect d, const char *name, const char *sqltype, vb_err *err);

/*
 * The two layouts of a SQLite series table (docs/schema.md): v1, the
 * original's rowid table with an index on time and one on station, which
 * migration 04 rebuilds; v2, a WITHOUT ROWID table whose key (time,
 * station, seq) numbers the points that share a time and station from 0.
 * The seq column is what tells them apart.
 */
typedef enum { VB_LAYOUT_V1, VB_LAYOUT_V2 } vb_layout;

/*
 * A query of one row about table ts_param_<name>: its number of columns (0:
 * no such table), the declared type of its value column (NULL: none) and 1
 * when it has the v2 layout's seq column.
 */
int vb_series_probe_sql(vb_buf *out, const char *name, vb_err *err);

/* A SQLite series table as that query finds it. */
typedef struct vb_series_shape {
    int ncols;       /* 0: no such table */
    int has_value;   /* it has a value column, of type: */
    vb_coltype type; /* as its declared type says */
    vb_layout layout;
} vb_series_shape;

/* Runs the query on db: one way for the live store and the bulk load to see a table. */
int vb_series_probe(sqlite3 *db, const char *name, vb_series_shape *out, vb_err *err);

/*
 * What an INSERT into a series table inserts. On v2 each row needs a seq
 * that no row of its time and station has: the next free one, looked up
 * with each row, or 0 for all rows of a load, which is right unless two of
 * its points share a time and station, or the table already has some of
 * their time and station (the load then fails on the key and is run again
 * with VB_INSERT_BULK_EXACT).
 */
typedef enum {
    VB_INSERT_ROW,        /* one row, bound as ?1 time, ?2 station, ?3 value */
    VB_INSERT_BULK_FAST,  /* every row of a table expression, seq 0 */
    VB_INSERT_BULK_EXACT, /* the same, each with the next free seq, in the order of their rowid */
} vb_insert;

/*
 * The INSERT into ts_param_<name> of the given layout; from is the bulk
 * kinds' table expression, with columns time, station and value (on v1 the
 * two bulk kinds are one).
 */
int vb_series_insert_sql(vb_buf *out, const char *name, vb_layout layout, vb_insert kind,
                         const char *from, vb_err *err);

/* The complete fresh schema in one transaction, as initdb creates it. */
int vb_schema_sql(vb_buf *out, const vb_masterlist *ml, vb_err *err);

/*
 * The same in a dialect; on PostgreSQL with the bookkeeping tables
 * bridge_state and bridge_schema, the latter holding VB_SCHEMA_VERSION.
 * Wrapped in BEGIN and COMMIT when wrap is non-zero; without, for a caller
 * that runs it in a transaction of its own.
 */
int vb_schema_sql_in(vb_buf *out, vb_dialect d, const vb_masterlist *ml, int wrap, vb_err *err);

/* CREATE TABLE of one table other than a series (bridge_inserted, say) as the fresh schema has it.
 */
int vb_table_sql_in(vb_buf *out, vb_dialect d, const char *table, vb_err *err);

/* Every series name (without ts_param_) and SQL type of a fresh schema, in creation order. */
typedef int (*vb_series_cb)(void *ud, const char *name, const char *sqltype, vb_err *err);
int vb_schema_each_series(const vb_masterlist *ml, vb_series_cb cb, void *ud, vb_err *err);

/*
 * The type of a table made for series name where the database lacks one:
 * initdb's (the masterlist's, the split and the bridge's series), else the
 * one that fits sample, so a parameter vlbimon added after the masterlist
 * was saved still gets a sensible column. NULL, with *none set, when the
 * masterlist says datatype none: the series is not stored.
 */
const char *vb_series_type(const vb_masterlist *ml, const char *name, const vb_value *sample,
                           int *none);

/* A column of bridge_stationStatus. */
typedef struct vb_column {
    const char *name;
    vb_coltype type;
    int notnull;
    int key;      /* the primary key */
    int identity; /* PostgreSQL only: numbered by the server */
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
