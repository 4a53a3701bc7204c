/*
 * sink_pg.h - the PostgreSQL sink (db/sink.h) through libpq.
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_SINK_PG_H
#define VB_SINK_PG_H

#include "db/sink.h"

/*
 * Connects to a database made by initdb --postgres (conninfo: a libpq
 * connection string or URI; its password never reaches a message).
 */
vb_sink *vb_sink_pg_open(const char *conninfo, const vb_sink_opts *o, vb_err *err);

#endif
