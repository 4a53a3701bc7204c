/*
 * backfill.h - the bridge's backfill (docs/commands.md, "Backfill"): asks
 * GET /data/history, between snapshots, for the points the snapshots could
 * not carry (series faster than the interval between two answers, and every
 * series over an outage), and stores the ones the database lacks, through
 * transformers of its own, so that the live database converges to what
 * `history` + `insert` of the same period make.
 *
 * It walks server time in stretches from its cursor, each stretch's series
 * asked for in as few requests as src/hist/histplan.c plans, the answers read
 * as `history` reads them (src/hist/histfiles.c), and commits a stretch whole:
 * its rows (vb_sink_fill), its cursor and its transformers' state in one
 * transaction. The coverage it works from (src/hist/coverage.c) goes into
 * every snapshot's transaction, next to the snapshot cursor.
 *
 * Layer cmd (docs/architecture.md): every layer.
 */
#ifndef VB_BACKFILL_H
#define VB_BACKFILL_H

#include "core/app.h"
#include "db/sink.h"
#include "net/http.h"

typedef struct vb_backfill vb_backfill;

/* Defaults of the budget: one history request per this many snapshots on average... */
#define VB_BACKFILL_EVERY 30
/* ... and at most this many in a row after an outage (and at start-up). */
#define VB_BACKFILL_BURST 30

typedef struct vb_backfill_opts {
    vb_app *app;
    const vb_masterlist *ml;
    vb_sink *sink;
    vb_http *http;
    const char *transformers; /* the transformer directory the live pipeline loads */
    double dt;                /* --dt: the snapshots' request limits, restored after each of ours */
    double every, burst;      /* the budget */
} vb_backfill_opts;

/*
 * Its own Lua state and transformers, and where to go on: the coverage and
 * transformer state the database holds, when they belong to the committed
 * snapshot cursor `cursor`; else (first start, --start, a database a bridge
 * without backfill moved on: `afresh`) it starts at the second after the
 * cursor. NULL with err when it cannot run at all.
 */
vb_backfill *vb_backfill_new(const vb_backfill_opts *o, const char *cursor, int afresh,
                             vb_err *err);
void vb_backfill_free(vb_backfill *bf);

/*
 * Inside a snapshot's transaction, before its commit: the coverage with the
 * answer whose cursor is `next` (the same cursor for a cycle without an
 * answer), and the bridge_backfill* metrics since the last ones stored.
 * vb_backfill_settle says whether the transaction committed.
 */
int vb_backfill_stage(vb_backfill *bf, const char *next, vb_err *err);
void vb_backfill_settle(vb_backfill *bf, int committed);

/* A snapshot request went out: the budget grows by 1/every. */
void vb_backfill_snapshot_sent(vb_backfill *bf);

/*
 * Backfill work that fits before `deadline` (the next snapshot's): at most
 * one history request, whose timeout ends before the deadline, and the
 * commit of a stretch whose answers are all in.
 */
void vb_backfill_work(vb_backfill *bf, double deadline);

/* Reloads its transformers, as the live pipeline's (SIGHUP, a changed file). */
void vb_backfill_reload(vb_backfill *bf, const char *why);

/* For the bridge's last log line: requests made, rows stored, the cursor. */
void vb_backfill_summary(const vb_backfill *bf, char *buf, size_t size);

#endif
