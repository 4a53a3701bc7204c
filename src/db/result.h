/*
 * result.h - what the transformer pipeline hands storage: the rows of one
 * snapshot (or of one batch of history points), grouped by series table,
 * and the station status rows that changed, as C values.
 *
 * The host (src/host/pipeline.c) fills it and owns its memory; a sink reads
 * it and keeps nothing of it after storing. Text points into the host's own
 * strings and stays valid until the pipeline runs again, which is why a
 * result not yet stored holds the pipeline back (the bridge's pending
 * answer).
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_RESULT_H
#define VB_RESULT_H

#include <stddef.h>

#include "core/value.h"
#include "db/schema.h"

/*
 * One row of a series table. A row the pipeline could not make whole (no
 * station, a time that is not a finite number of seconds, a value that is
 * not a number, string or boolean) has the value VB_V_NULL, which no column
 * takes: the sink counts it as skipped, like a value of the wrong type.
 */
typedef struct vb_row {
    const char *station; /* NUL-terminated; "" for a row without one */
    size_t station_len;
    long long time; /* unix seconds */
    vb_value value;
} vb_row;

/* One series table's rows: rows[first .. first + n) of the result. */
typedef struct vb_result_series {
    const char *name; /* the series without ts_param_, NUL-terminated, not checked yet */
    size_t name_len;  /* a NUL inside the name makes name_len longer than strlen(name) */
    size_t first, n;
} vb_result_series;

/* A station status row: its fields in the order of vb_status_columns. */
typedef struct vb_status_row {
    vb_value f[VB_STATUS_NCOLUMNS];
} vb_status_row;

typedef struct vb_result {
    const vb_row *rows;
    size_t nrows;
    /*
     * In name order, each table's rows in the order the pipeline made them,
     * so that of two rows with one key the last still wins. One table's rows
     * go in one after another: SQLite's page cache only hits that way.
     */
    const vb_result_series *series;
    size_t nseries;
    const vb_status_row *status;
    size_t nstatus;
} vb_result;

#endif
