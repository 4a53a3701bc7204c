/*
 * bulk.h - loading many rows into series tables fast, for `insert`. Rows
 * are collected in one fixed buffer, linked per table, and each table's
 * share goes in with a single INSERT ... SELECT from a virtual table over
 * the buffer: a statement step per row would cost more than the insert
 * itself. Values arrive as text and are converted to the column's type by
 * core/value.h, as the store converts the bridge's values, so that a row
 * loaded here is the row the bridge stored. A table found empty loses its
 * indexes for the load and gets them back, as they were, from
 * vb_bulk_finish: building an index once is far cheaper than keeping it up
 * to date row by row.
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_BULK_H
#define VB_BULK_H

#include <sqlite3.h>

#include "core/log.h"
#include "core/masterlist.h"
#include "core/util.h"

typedef struct vb_bulk vb_bulk;

/* Works inside the caller's transaction on db. */
vb_bulk *vb_bulk_new(sqlite3 *db, const vb_masterlist *ml, const vb_log *log, vb_err *err);
void vb_bulk_free(vb_bulk *b);

/*
 * The table of series `name` (ts_param_<name>), created with its indexes as
 * initdb would when missing: the masterlist's type, else one that fits
 * `sample` (a value as text). Returns its id (>= 0), -2 when the series is
 * not stored (the masterlist says datatype none), -1 on error.
 */
int vb_bulk_table(vb_bulk *b, const char *name, const char *sample, vb_err *err);

/*
 * Queues one row; station must stay valid until the next flush. A value
 * that does not convert to the column's type is counted and skipped.
 */
int vb_bulk_add(vb_bulk *b, int table, long long time, const char *station, const char *value,
                size_t len, vb_err *err);

int vb_bulk_flush(vb_bulk *b, vb_err *err);

/* Flushes, then rebuilds the indexes taken off for the load. */
int vb_bulk_finish(vb_bulk *b, vb_err *err);

long long vb_bulk_rows(const vb_bulk *b);
long long vb_bulk_skipped(const vb_bulk *b);

#endif
