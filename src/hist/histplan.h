/*
 * histplan.h - what each GET /data/history of a `history` run asks for.
 * Every series (one parameter of one station) walks its own windows by the
 * original's rule; series whose next window is the same one share a
 * request, as the cross product of a set of stations and a set of
 * parameters (the server answers every pair asked for), up to an estimated
 * number of points and a query length. A series' windows depend only on
 * its own answers, never on which others shared its requests, so batching
 * changes how many requests a run makes, not what it fetches.
 *
 * Layer hist (docs/architecture.md): includes core/, host/ and hist/.
 */
#ifndef VB_HISTPLAN_H
#define VB_HISTPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/masterlist.h"
#include "core/util.h"

/* A query this long stays well inside the 8 KiB request line common web servers accept. */
#define VB_HIST_QUERY_BYTES 4000
/*
 * An answer may hold this many bytes per point of its estimate, and at least
 * VB_HIST_BODY_MIN bytes (one second of one series must fit), before it is
 * refused as too big.
 */
#define VB_HIST_BYTES_PER_POINT 64
#define VB_HIST_BODY_MIN 65536

/* The window of a parameter without a cadence (static ones, e.g. observatory_name). */
#define VB_STATIC_WINDOW_S 86400.0

typedef enum {
    VB_WINDOW_FULL,
    VB_WINDOW_EMPTY,
    VB_WINDOW_ERROR,
    VB_WINDOW_TOO_BIG
} vb_window_outcome;

/*
 * The original's window logic over [start, end] (whole seconds, inclusive):
 * windows of cadence x 100 seconds (cadence 0 counts as 8640; no cadence,
 * cadence < 0, gives VB_STATIC_WINDOW_S), grown x1.5 after an empty answer
 * and reset after one with points. A failed request leaves the window where
 * it was, so it is asked again instead of skipped; an answer too big to
 * take halves the window, and that smaller size becomes the one a full
 * answer resets to.
 */
typedef struct vb_window {
    double base, size;
    long long next, end;
    long long a, b; /* the window handed out last */
} vb_window;

void vb_window_init(vb_window *w, int cadence, long long start, long long end);
/* One window over all of [start, end] (the bridge's backfill asks for a stretch whole). */
void vb_window_span(vb_window *w, long long start, long long end);
/* The next window to ask for in *a..*b; 0 when the range is done. */
int vb_window_next(vb_window *w, long long *a, long long *b);
void vb_window_done(vb_window *w, vb_window_outcome outcome);

/* A parameter's shortest cadence: seconds > 0, 0 irregular, -1 none (a static one). */
int vb_hist_shortest_cadence(const vb_param *par);

/*
 * Points per second a series of par may send: by its shortest cadence, so an
 * answer stays inside the estimate whichever cadence the server keeps; 100
 * per window of `window` seconds for those without one (irregular or static).
 */
double vb_hist_point_rate(const vb_param *par, double window);

typedef struct vb_hist_series {
    unsigned station; /* the station's index in the run, < 64 */
    size_t param;     /* the parameter's index in the run, the same for all its series */
    vb_window w;
    double rate; /* points per second an answer may hold */
} vb_hist_series;

/* One request: stations x params over [a, b]. */
typedef struct vb_hist_batch {
    long long a, b;
    uint64_t stations; /* bit i: station i */
    const size_t *params;
    size_t nparams;
    const size_t *series; /* indexes of the series asked, station by station */
    size_t n;
    double points; /* the estimate */
} vb_hist_batch;

typedef struct vb_hist_plan {
    vb_hist_series *s; /* the caller's, not freed here */
    size_t n;
    size_t nstations, nparams;
    const size_t *station_len, *param_len; /* name lengths, as they go into the query */
    double max_points;                     /* 0: one series per request */
    size_t max_query;                      /* bytes of the query string */
    /* scratch for vb_hist_plan_next, and the arrays its batches point into */
    uint64_t *mask;
    size_t *at, *params, *series;
} vb_hist_plan;

/* Allocates the scratch space for the series, stations and parameters already set in pl. */
int vb_hist_plan_init(vb_hist_plan *pl, vb_err *err);
void vb_hist_plan_free(vb_hist_plan *pl);

/*
 * The next request: the series whose next window starts first (the lowest
 * index among equals), and with it every series with the same window, whose
 * parameter has the same stations in that window, as long as the estimate
 * (rate x window length, summed) stays within max_points and the query
 * within max_query; when one parameter alone is over the estimate, as many
 * of its stations as fit (at least one series is always asked for). The
 * batch points into pl and holds until the next call. Returns 0 when every
 * series is done.
 */
int vb_hist_plan_next(vb_hist_plan *pl, vb_hist_batch *b);

/* A batch of series i alone, over its next window; 0 when it is done. */
int vb_hist_plan_one(vb_hist_plan *pl, size_t i, vb_hist_batch *b);

/*
 * The answer to b was too big to take: a series asked alone gets half the
 * window, and the series of a batch of many count as twice as dense for the
 * rest of the run, so that fewer share the next request.
 */
void vb_hist_plan_too_big(vb_hist_plan *pl, const vb_hist_batch *b);

/*
 * The path and query of the GET /data/history for b: an observatory per
 * station (names by the stations' indexes in the plan), a field per
 * parameter (by masterlist index), the window. The names are identifiers,
 * which need no escaping.
 */
int vb_hist_query(vb_buf *out, const vb_hist_batch *b, const char *const *stations,
                  const vb_masterlist *ml);

#endif
