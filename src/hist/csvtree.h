/*
 * csvtree.h - a downloaded history tree, DATADIR/<station>/<param>.csv files
 * of `time,value` records (RFC 4180 as `history` writes them, or the
 * original's unquoted lines): listing it, reading each file with line
 * numbers and byte offsets, and merging all files into one stream in time
 * order with a single record per file in memory.
 *
 * A line that is not a time,value record is reported as file:line and
 * skipped. A last line without its line end is not handed out: `history`
 * may still be writing it.
 *
 * Layer hist (docs/architecture.md): includes core/, host/ and hist/.
 */
#ifndef VB_CSVTREE_H
#define VB_CSVTREE_H

#include <stdio.h>

#include "core/csv.h"
#include "core/log.h"
#include "core/masterlist.h"
#include "core/util.h"
#include "core/value.h"

typedef struct vb_csv_source {
    char *path; /* DATADIR/<station>/<param>.csv */
    char *station, *param;
    FILE *f;
    vb_csv_reader rd;
    long long size;     /* bytes when opened; what lies beyond is left for a later run */
    long long consumed; /* bytes of the records handed out and lines skipped */
    long long records;  /* records handed out */
    long bad, first_bad;
    int done;
    /* Reader state: the offset and line after the last record read, and whether the file
     * (as opened) ends with a line end. */
    long long pos;
    long pos_lines;
    int ends_nl;
    /* The head record: the next one this file hands out. */
    long long time; /* whole seconds */
    double t;       /* as written */
    const char *value;
    size_t vlen;
    long line;
    void *ud; /* the caller's, per file */
} vb_csv_source;

typedef struct vb_csvtree {
    const vb_log *log;
    vb_csv_source *src; /* stations in name order, each's files in name order */
    size_t n;
    size_t *heap; /* sources with a head record, oldest first */
    size_t nheap;
    vb_csv_source *current; /* handed out by the last vb_csvtree_next */
} vb_csvtree;

/* Lists the tree's files without opening them. */
int vb_csvtree_list(vb_csvtree *t, const char *datadir, const vb_log *log, vb_err *err);
void vb_csvtree_free(vb_csvtree *t);

/*
 * Opens source i at byte offset (a record boundary; `lines` physical lines
 * lie before it, for line numbers) and reads its first record. Raises the
 * open-files limit when the tree needs it.
 */
int vb_csvtree_open(vb_csvtree *t, size_t i, long long offset, long lines, vb_err *err);

/*
 * The next record of the whole tree, in time order (ties: the order of the
 * listing): 1 with *out the source whose head it is (valid until the next
 * call), 0 when every open source is done, -1 when a file cannot be read
 * (that source is then done; the others go on).
 */
int vb_csvtree_next(vb_csvtree *t, vb_csv_source **out, vb_err *err);

#endif
