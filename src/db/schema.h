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

#endif
