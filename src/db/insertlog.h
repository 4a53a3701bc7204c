/*
 * insertlog.h - what `insert` has loaded into a database, so that loading
 * the same tree again adds nothing and loading a tree that grew (history
 * resumed) adds only what is new. Table bridge_inserted has a row per file
 * loaded: its station and parameter, a fingerprint of its first bytes (to
 * tell the file from another one of the same name), and how far it was
 * read, with a fingerprint of the bytes just before that point (to notice a
 * file rewritten since). The rows go in with the data, in one transaction.
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_INSERTLOG_H
#define VB_INSERTLOG_H

#include <sqlite3.h>

#include "core/util.h"

typedef struct vb_inslog_mark {
    long long id; /* rowid in bridge_inserted, 0 for a file not loaded before */
    long long head_len;
    char head[17];
    long long bytes; /* where loading resumes */
    long lines;      /* physical lines before bytes, for line numbers */
    long long records;
} vb_inslog_mark;

int vb_inslog_init(sqlite3 *db, vb_err *err);

/*
 * Where to resume the file at path (station/param). Returns 0 with *m set
 * (bytes 0 for a new file), 1 when the file changed since it was loaded
 * (why in err: loading it again would double rows), -1 on error.
 */
int vb_inslog_find(sqlite3 *db, const char *path, const char *station, const char *param,
                   vb_inslog_mark *m, vb_err *err);

/* Records that the file is loaded up to bytes (lines, records in all). */
int vb_inslog_save(sqlite3 *db, const char *path, const char *station, const char *param,
                   const vb_inslog_mark *m, long long bytes, long lines, long long records,
                   vb_err *err);

#endif
