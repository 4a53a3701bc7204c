/*
 * insertlog.h - what `insert` has loaded into a database, so that loading
 * the same tree again adds nothing and loading a tree that grew (history
 * resumed) adds only what is new. Table bridge_inserted has a row per file
 * loaded: its station and parameter, a fingerprint of its first bytes (to
 * tell the file from another one of the same name), and how far it was
 * read, with a fingerprint of the bytes just before that point (to notice a
 * file rewritten since). The rows go in with the data, in the load's
 * transaction, through the sink's bookkeeping operations (db/sink.h); this
 * file reads the files and decides.
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_INSERTLOG_H
#define VB_INSERTLOG_H

#include "core/util.h"
#include "db/sink.h"

/*
 * Where to resume the file at path (station/param). Returns 0 with *m set
 * (bytes 0 and id 0 for a file not loaded before), 1 when the file changed
 * since it was loaded (why in err: loading it again would double rows), -1
 * on error.
 */
int vb_inslog_find(vb_sink *s, const char *path, const char *station, const char *param,
                   vb_load_record *m, vb_err *err);

/* Records that the file is loaded up to bytes (lines, records in all); m is what find said. */
int vb_inslog_save(vb_sink *s, const char *path, const char *station, const char *param,
                   const vb_load_record *m, long long bytes, long lines, long long records,
                   vb_err *err);

#endif
