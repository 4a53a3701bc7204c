/*
 * coverage.h - where the live bridge may have lost points, for its backfill
 * (docs/commands.md, "Backfill").
 *
 * A snapshot carries only the newest point of each series received since
 * the cursor, so over an interval of L server seconds between two committed
 * cursors every series that can send two points within L seconds may have
 * lost some. The coverage is the backfill cursor `from` (every second before
 * it holds every point vlbimon has) and, from there up to the committed
 * snapshot cursor, segments of whole seconds with the longest such interval
 * over each: an outage is one segment with a long interval, steady running
 * one segment with an interval near --dt. Which series that interval
 * selects is the caller's (it knows the cadences); here it only decides when
 * two neighbouring segments select the same series and so merge, through the
 * sorted thresholds it is given: an interval selects the series whose
 * threshold is below it.
 *
 * Layer hist (docs/architecture.md): includes core/, host/ and hist/.
 */
#ifndef VB_COVERAGE_H
#define VB_COVERAGE_H

#include <stddef.h>

#include "core/util.h"

/* At most this many segments are kept: beyond, the two oldest merge (taking the longer interval).
 */
#define VB_COVERAGE_MAX_SEGMENTS 256

typedef struct vb_cov_seg {
    long long start; /* its first whole second; it ends where the next begins */
    double gap;      /* the longest interval between two committed cursors over it, seconds */
} vb_cov_seg;

typedef struct vb_coverage {
    long long from;   /* the backfill cursor: every second before it is complete */
    char *through;    /* the committed snapshot cursor, as the server wrote it */
    double through_t; /* the same, in seconds */
    vb_cov_seg *seg;  /* the first starts at from; the last ends at floor(through_t) */
    size_t n, cap;
} vb_coverage;

/* The sorted interval lengths at which the set of series an interval selects changes. */
typedef struct vb_cov_cuts {
    const double *v;
    size_t n;
} vb_cov_cuts;

/* Coverage starting at cursor: complete before the second after it, nothing to backfill yet. */
int vb_coverage_start(vb_coverage *c, const char *cursor, vb_err *err);
void vb_coverage_free(vb_coverage *c);
int vb_coverage_copy(vb_coverage *dst, const vb_coverage *src, vb_err *err);

/* The text bridge_state keeps ("from through start:gap ..."), and reading it back. */
int vb_coverage_format(const vb_coverage *c, vb_buf *out);
int vb_coverage_parse(vb_coverage *c, const char *text, vb_err *err);

/*
 * The answer with cursor `cursor` was committed after the one with
 * c->through: the seconds its points may have (floor of both, inclusive)
 * join the segments with the interval between the two cursors. The second
 * the two intervals share keeps the longer one.
 */
int vb_coverage_extend(vb_coverage *c, const char *cursor, const vb_cov_cuts *cuts, vb_err *err);

/*
 * The last second a backfill may fill: one before the committed cursor's,
 * because a later snapshot may still bring points of the cursor's own
 * second, never of an earlier one. Less than c->from when there is none.
 */
long long vb_coverage_last(const vb_coverage *c);

/* The longest interval over the seconds [a, b]. */
double vb_coverage_gap(const vb_coverage *c, long long a, long long b);

/* Every second up to b holds every point now: from moves past b. */
void vb_coverage_done(vb_coverage *c, long long b);

#endif
