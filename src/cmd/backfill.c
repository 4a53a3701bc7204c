/*
 * backfill.c - see backfill.h.
 *
 * Which series a stretch asks for: every series some transformer wants (its
 * derived rows are made again from the complete sequence, so all of its
 * input must be complete), and every series whose points can come closer
 * together than the longest interval between two committed snapshot cursors
 * over the stretch: half its shortest cadence (the simulator draws a point
 * anywhere in the first half of its cadence's slot, and stations send with
 * jitter too), nothing for an irregular one (cadence 0), half an hour for
 * one without a cadence. So at --dt 10 the 5 and 10 s series are asked for
 * all the time, and after an outage everything.
 *
 * Why a stretch is safe to fill: a snapshot only sends points received
 * after its cursor c, so none with a whole-second time before floor(c) can
 * come later; a stretch ends before the committed cursor's second.
 *
 * The budget is a token bucket: a snapshot request adds 1/every, a history
 * request takes one, at most `burst` are kept, and it starts full. At most
 * one history request goes out between two snapshots, and only with time to
 * finish before the next one's deadline.
 */
#define _GNU_SOURCE
#include "cmd/backfill.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/value.h"
#include "hist/coverage.h"
#include "hist/histfiles.h"
#include "hist/histplan.h"
#include "host/lua_host.h"
#include "host/pipeline.h"

/* bridge_state keys: the coverage with the backfill cursor, and the transformers' state. */
#define COVERAGE_KEY "backfill"
#define STATE_KEY "backfill_transformers"
/* A request's estimated points at most, as history's default batch (an answer of up to 6.4 MB)...
 */
#define REQUEST_POINTS 100000
/* ... and a stretch's, at most and at least (however slow its commits). */
#define STRETCH_POINTS 200000
#define STRETCH_POINTS_MIN 2000
/* A stretch's commit is sized to take this share of a cycle. */
#define COMMIT_SHARE 0.4
/* A finished stretch whose commit found no room this many times is committed all the same. */
#define COMMIT_TRIES 3
/* A series without a cadence is taken to send hourly: points at least half an hour apart. */
#define STATIC_CADENCE_S 3600
/* A history request needs this long before the next snapshot at least, besides the margin. */
#define MIN_REQUEST_S 0.05
/* Failed requests back off from one cycle, doubling up to this. */
#define BACKOFF_MAX_S 300.0

struct vb_backfill {
    vb_app *app;
    const vb_masterlist *ml;
    vb_sink *sink;
    vb_http *http;
    vb_lua *lua; /* its own: answers are decoded here and its transformers run here */
    vb_pipeline *p;
    double dt, every, burst;
    /* the stations it fills (--stations), each's masterlist index and name length */
    const char *stations[VB_MAX_STATIONS];
    int st_ml[VB_MAX_STATIONS];
    size_t st_len[VB_MAX_STATIONS], nstations;
    /* per masterlist parameter */
    double *thr; /* an interval longer than this may lose its points; < 0: not stored */
    size_t *plen;
    unsigned char *wanted;
    double *cuts; /* the distinct thresholds, sorted */
    size_t ncuts;
    vb_coverage cov, staged;
    char *state;       /* the transformers' state as committed */
    int state_unsaved; /* a fresh start: the next snapshot transaction writes it */
    int dirty;         /* the pipeline ran past the committed state: restore before running */
    int broken;        /* stopped for this run, with an error logged */
    /* the budget */
    double tokens;
    long since; /* snapshot requests since the last stretch began */
    double resume_at;
    int failures;
    /* the stretch in progress */
    int active;
    long long a, e;
    vb_hist_series *ser;
    vb_buf *lines; /* each series' CSV lines so far */
    size_t nser;
    vb_hist_plan plan;
    long requests;
    double commit_s; /* how long the last commit took */
    double cap;      /* estimated points per stretch, so that its commit fits in a cycle */
    int waited;      /* cycles the finished stretch found no room for its commit */
    /* bridge_backfill* not stored yet, and the run's totals */
    long m_requests, m_rows, total_requests, total_rows;
};

/* A point of a finished stretch, its value text in the arena at `at`. */
typedef struct rec {
    long long time;
    double t;
    size_t series, seq, at, len;
} rec;

static int state_get(vb_backfill *bf, const char *key, char **value, vb_err *err)
{
    return vb_sink_state_get(bf->sink, key, value, err);
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The stations and parameters it fills, their loss thresholds and the cuts between them. */
static int setup_series(vb_backfill *bf, vb_err *err)
{
    const vb_masterlist *ml = bf->ml;
    const vb_strlist *only = &bf->app->stations;
    for (size_t s = 0; s < ml->nstations && bf->nstations < VB_MAX_STATIONS; s++) {
        int wanted = only->n == 0;
        for (size_t i = 0; i < only->n; i++)
            wanted = wanted || strcmp(only->v[i], ml->stations[s]) == 0;
        if (!wanted || !vb_is_identifier(ml->stations[s]))
            continue;
        bf->stations[bf->nstations] = ml->stations[s];
        bf->st_ml[bf->nstations] = (int)s;
        bf->st_len[bf->nstations++] = strlen(ml->stations[s]);
    }
    size_t np = ml->nparams ? ml->nparams : 1;
    bf->thr = calloc(np, sizeof *bf->thr);
    bf->plen = calloc(np, sizeof *bf->plen);
    bf->wanted = calloc(np, 1);
    bf->cuts = calloc(np, sizeof *bf->cuts);
    if (!bf->thr || !bf->plen || !bf->wanted || !bf->cuts)
        return vb_fail(err, "out of memory");
    for (size_t p = 0; p < ml->nparams; p++) {
        const vb_param *par = &ml->params[p];
        int c = vb_hist_shortest_cadence(par);
        bf->plen[p] = strlen(par->name);
        bf->thr[p] = !vb_sqltype(par->type) || !vb_is_identifier(par->name) ? -1
                     : c < 0                                                ? STATIC_CADENCE_S / 2.0
                                                                            : c / 2.0;
        if (bf->thr[p] >= 0)
            bf->cuts[bf->ncuts++] = bf->thr[p];
    }
    if (bf->ncuts > 1)
        qsort(bf->cuts, bf->ncuts, sizeof *bf->cuts, by_double);
    size_t k = 0;
    for (size_t i = 0; i < bf->ncuts; i++)
        if (k == 0 || bf->cuts[i] != bf->cuts[k - 1])
            bf->cuts[k++] = bf->cuts[i];
    bf->ncuts = k;
    return 0;
}

/* Which parameters some transformer wants: their series are in every stretch. */
static int find_wanted(vb_backfill *bf, vb_err *err)
{
    for (size_t p = 0; p < bf->ml->nparams; p++) {
        int w = bf->thr[p] < 0 ? 0 : vb_pipeline_wants(bf->p, bf->ml->params[p].name, err);
        if (w < 0)
            return -1;
        bf->wanted[p] = (unsigned char)w;
    }
    return 0;
}

/*
 * Where to go on: the database's coverage and transformer state when they
 * belong to the committed cursor, else a fresh start at it.
 */
static int resume(vb_backfill *bf, const char *cursor, int afresh, vb_err *err)
{
    const vb_log *log = &bf->app->log;
    char *text = NULL, *state = NULL, when[32];
    vb_err why;
    if (state_get(bf, COVERAGE_KEY, &text, err) || state_get(bf, STATE_KEY, &state, err)) {
        free(text);
        return -1;
    }
    const char *reason = afresh ? "--start moved the cursor" : NULL;
    if (!reason && text && vb_coverage_parse(&bf->cov, text, &why) != 0)
        reason = why.msg;
    else if (!reason && text && strcmp(bf->cov.through, cursor) != 0)
        reason = "the snapshot cursor moved on without backfill (--no-backfill, or an older "
                 "bridge)";
    else if (!reason && text && !state)
        reason = "the transformers' state is missing";
    else if (!reason && text && vb_pipeline_restore_state(bf->p, state, &why) != 0)
        reason = why.msg;
    int rc = 0;
    if (text && !reason) {
        vb_iso8601((double)bf->cov.from, when);
        vb_log_msg(log, VB_NOTICE, "backfill: complete before %s, going on from there", when);
        bf->state = state;
        state = NULL;
    } else if (vb_coverage_start(&bf->cov, cursor, err) == 0) {
        vb_iso8601((double)bf->cov.from, when);
        if (text)
            vb_log_msg(log, VB_NOTICE,
                       "backfill: starting afresh at %s (%s); for the time before, run history "
                       "and insert",
                       when, reason);
        else
            vb_log_msg(log, VB_INFO, "backfill: starting at %s", when);
        bf->state_unsaved = 1;
        rc = vb_pipeline_save_state(bf->p, &bf->state, err);
    } else {
        rc = -1;
    }
    free(text);
    free(state);
    return rc;
}

vb_backfill *vb_backfill_new(const vb_backfill_opts *o, const char *cursor, int afresh, vb_err *err)
{
    vb_backfill *bf = calloc(1, sizeof *bf);
    if (!bf) {
        vb_fail(err, "out of memory");
        return NULL;
    }
    *bf = (vb_backfill){.app = o->app,
                        .ml = o->ml,
                        .sink = o->sink,
                        .http = o->http,
                        .dt = o->dt,
                        .every = o->every,
                        .burst = o->burst,
                        .tokens = o->burst,
                        .cap = STRETCH_POINTS};
    if (!o->sink->ops->fill) {
        vb_fail(err, "the %s sink cannot fill in points (it has no fill operation)",
                o->sink->ops->kind);
        vb_backfill_free(bf);
        return NULL;
    }
    if (setup_series(bf, err) || !(bf->lua = vb_lua_new(o->app, err)) ||
        !(bf->p = vb_pipeline_new(bf->lua, o->transformers, err)) ||
        resume(bf, cursor, afresh, err) || find_wanted(bf, err)) {
        vb_backfill_free(bf);
        return NULL;
    }
    return bf;
}

static void drop_stretch(vb_backfill *bf)
{
    for (size_t i = 0; i < bf->nser; i++)
        vb_buf_free(&bf->lines[i]);
    free(bf->lines);
    free(bf->ser);
    vb_hist_plan_free(&bf->plan);
    bf->lines = NULL;
    bf->ser = NULL;
    bf->nser = 0;
    bf->active = 0;
}

void vb_backfill_free(vb_backfill *bf)
{
    if (!bf)
        return;
    drop_stretch(bf);
    vb_pipeline_free(bf->p);
    vb_lua_free(bf->lua);
    vb_coverage_free(&bf->cov);
    vb_coverage_free(&bf->staged);
    free(bf->thr);
    free(bf->plen);
    free(bf->wanted);
    free(bf->cuts);
    free(bf->state);
    free(bf);
}

/* Logged once; the bridge goes on without backfill. */
static void stop(vb_backfill *bf, const char *why)
{
    bf->broken = 1;
    drop_stretch(bf);
    vb_log_msg(&bf->app->log, VB_ERROR, "backfill: %s; going on without backfill", why);
}

/* bridge_backfillPoints and bridge_backfillRequests since the last ones stored, at our now. */
static int store_metrics(vb_backfill *bf, vb_err *err)
{
    if (!bf->m_rows && !bf->m_requests)
        return 0;
    long long now = (long long)floor(vb_now());
    static const char points[] = "bridge_backfillPoints", requests[] = "bridge_backfillRequests";
    vb_row rows[] = {
        {"bridge", 6, now, {.type = VB_V_INTEGER, .i = bf->m_rows}},
        {"bridge", 6, now, {.type = VB_V_INTEGER, .i = bf->m_requests}},
    };
    vb_result_series ser[] = {{points, sizeof points - 1, 0, 1},
                              {requests, sizeof requests - 1, 1, 1}};
    vb_result r = {.rows = rows, .nrows = 2, .series = ser, .nseries = 2};
    vb_sink_stats st = {0};
    return vb_sink_store(bf->sink, &r, &st, err);
}

int vb_backfill_stage(vb_backfill *bf, const char *next, vb_err *err)
{
    if (bf->broken)
        return 0;
    vb_cov_cuts cuts = {bf->cuts, bf->ncuts};
    vb_err why;
    if (vb_coverage_copy(&bf->staged, &bf->cov, err))
        return -1;
    if (vb_coverage_extend(&bf->staged, next, &cuts, &why)) {
        stop(bf, why.msg);
        return 0;
    }
    vb_buf text = {0};
    if (vb_coverage_format(&bf->staged, &text)) {
        vb_buf_free(&text);
        return vb_fail(err, "out of memory");
    }
    int rc = vb_sink_state_set(bf->sink, COVERAGE_KEY, text.data, err) ||
             (bf->state_unsaved && vb_sink_state_set(bf->sink, STATE_KEY, bf->state, err)) ||
             store_metrics(bf, err);
    vb_buf_free(&text);
    return rc ? -1 : 0;
}

void vb_backfill_settle(vb_backfill *bf, int committed)
{
    if (bf->broken || !committed)
        return;
    vb_coverage tmp = bf->cov;
    bf->cov = bf->staged;
    bf->staged = tmp;
    bf->state_unsaved = 0;
    bf->m_rows = bf->m_requests = 0;
}

void vb_backfill_snapshot_sent(vb_backfill *bf)
{
    bf->tokens = fmin(bf->burst, bf->tokens + 1.0 / bf->every);
    bf->since++;
}

void vb_backfill_reload(vb_backfill *bf, const char *why)
{
    vb_err err;
    if (vb_pipeline_reload(bf->p, &err) || find_wanted(bf, &err))
        vb_log_msg(&bf->app->log, VB_ERROR, "backfill: transformers not reloaded (%s): %s", why,
                   err.msg);
}

/* Points per second of the series a gap selects, at every station. */
static double stretch_rate(const vb_backfill *bf, double gap, double seconds)
{
    double rate = 0;
    for (size_t p = 0; p < bf->ml->nparams; p++) {
        if (bf->thr[p] < 0 || !(bf->wanted[p] || bf->thr[p] < gap))
            continue;
        for (size_t si = 0; si < bf->nstations; si++)
            if (bf->ml->params[p].stations >> bf->st_ml[si] & 1)
                rate += vb_hist_point_rate(&bf->ml->params[p], seconds);
    }
    return rate;
}

static void add_series(vb_backfill *bf, size_t si, size_t p)
{
    vb_hist_series *s = &bf->ser[bf->nser++];
    *s = (vb_hist_series){.station = (unsigned)si, .param = p};
    vb_window_span(&s->w, bf->a, bf->e);
    s->rate = vb_hist_point_rate(&bf->ml->params[p], s->w.base);
}

/*
 * Starts the next stretch when one is due: a token in hand, and `every`
 * snapshots since the last or a full stretch's worth of points waiting.
 * Returns 1 when a stretch is active.
 */
static int plan_stretch(vb_backfill *bf, vb_err *err)
{
    long long a = bf->cov.from, last = vb_coverage_last(&bf->cov);
    if (last < a || bf->tokens < 1)
        return 0;
    const vb_masterlist *ml = bf->ml;
    double gap = vb_coverage_gap(&bf->cov, a, last);
    double seconds = (double)(last - a + 1);
    double rate = stretch_rate(bf, gap, seconds);
    if (bf->since < bf->every && rate * seconds < bf->cap)
        return 0;
    long long e = last;
    if (rate * seconds > bf->cap)
        e = a + (long long)(bf->cap / rate) - 1;
    if (e < a)
        e = a;
    gap = vb_coverage_gap(&bf->cov, a, e);
    bf->a = a;
    bf->e = e;
    size_t cap = bf->nstations * ml->nparams + 1;
    bf->ser = calloc(cap, sizeof *bf->ser);
    bf->lines = calloc(cap, sizeof *bf->lines);
    if (!bf->ser || !bf->lines)
        return vb_fail(err, "out of memory");
    for (size_t si = 0; si < bf->nstations; si++)
        for (size_t p = 0; p < ml->nparams; p++)
            if (bf->thr[p] >= 0 && (ml->params[p].stations >> bf->st_ml[si] & 1) &&
                (bf->wanted[p] || bf->thr[p] < gap))
                add_series(bf, si, p);
    bf->plan = (vb_hist_plan){.s = bf->ser,
                              .n = bf->nser,
                              .nstations = bf->nstations,
                              .nparams = ml->nparams,
                              .station_len = bf->st_len,
                              .param_len = bf->plen,
                              .max_points = REQUEST_POINTS,
                              .max_query = VB_HIST_QUERY_BYTES};
    if (vb_hist_plan_init(&bf->plan, err))
        return -1;
    bf->active = 1;
    bf->since = 0;
    bf->requests = 0;
    return 1;
}

/* A failed request: the same windows again after a backoff from one cycle up. */
static void failed(vb_backfill *bf, const vb_hist_batch *b, double retry_after, const char *why)
{
    double wait = fmin(BACKOFF_MAX_S, bf->dt * ldexp(1.0, bf->failures < 16 ? bf->failures : 16));
    if (retry_after > wait)
        wait = fmin(BACKOFF_MAX_S, retry_after);
    bf->failures++;
    bf->resume_at = vb_now() + wait;
    vb_log_msg(&bf->app->log, VB_WARN,
               "backfill: history of %zu series [%lld, %lld]: %s; asking again in %.1f s", b->n,
               b->a, b->b, why, wait);
}

/*
 * Appends each series' lines from the decoded answer on top of L's stack,
 * then moves its window on; an answer some part of which is not a history
 * answer is taken back whole. Returns 1, 0 (not usable) or -1.
 */
static int take(vb_backfill *bf, const vb_hist_batch *b, vb_err *err)
{
    lua_State *L = vb_lua_state(bf->lua);
    size_t *before = calloc(b->n ? b->n : 1, sizeof *before);
    long *points = calloc(b->n ? b->n : 1, sizeof *points);
    int rc = before && points ? 1 : vb_fail(err, "out of memory");
    size_t k = 0;
    for (; rc > 0 && k < b->n; k++) {
        size_t i = b->series[k];
        const vb_hist_series *s = &bf->ser[i];
        vb_hist_answer ans;
        before[k] = bf->lines[i].len;
        rc = vb_hist_answer_lines(L, bf->stations[s->station], bf->ml->params[s->param].name, b->a,
                                  b->b, &bf->lines[i], &ans, err);
        points[k] = ans.points;
    }
    for (size_t j = 0; j < k && rc <= 0; j++)
        bf->lines[b->series[j]].len = before[j];
    for (size_t j = 0; j < b->n && rc > 0; j++)
        vb_window_done(&bf->ser[b->series[j]].w, points[j] ? VB_WINDOW_FULL : VB_WINDOW_EMPTY);
    free(before);
    free(points);
    return rc;
}

/* One history request for the stretch's next batch; 1 when it went out. */
static int request(vb_backfill *bf, const vb_hist_batch *b, double left)
{
    vb_buf path = {0};
    vb_http_resp r;
    vb_err err;
    if (vb_hist_query(&path, b, bf->stations, bf->ml)) {
        vb_buf_free(&path);
        stop(bf, "out of memory");
        return 0;
    }
    size_t max_body = (size_t)REQUEST_POINTS * VB_HIST_BYTES_PER_POINT;
    vb_http_set_limits(bf->http, (long)fmax(1, left * 1000), max_body);
    int rc = vb_http_request(bf->http, "GET", path.data, NULL, VB_HTTP_CRED, &r, &err);
    vb_http_set_limits(bf->http, (long)fmax(1, bf->dt * 800), 0);
    vb_buf_free(&path);
    bf->tokens -= 1;
    bf->requests++;
    bf->m_requests++;
    bf->total_requests++;
    char why[64];
    if (rc == 0 && r.status != 200) {
        snprintf(why, sizeof why, "HTTP %ld", r.status);
        failed(bf, b, r.retry_after, why);
    } else if (rc && r.too_big && b->n == 1 && b->a == b->b) {
        stop(bf, "a history answer for one series and one second is too big to take");
    } else if (rc && r.too_big) {
        vb_hist_plan_too_big(&bf->plan, b);
    } else if (rc) {
        /* One that ran out of the time before the next snapshot asks for less next time. */
        if (r.seconds >= 0.9 * left && !(b->n == 1 && b->a == b->b))
            vb_hist_plan_too_big(&bf->plan, b);
        failed(bf, b, -1, err.msg);
    } else if (!vb_hist_json(bf->lua, r.body.data, r.body.len)) {
        lua_pop(vb_lua_state(bf->lua), 1);
        failed(bf, b, -1, "the answer is not a history answer");
    } else {
        int took = take(bf, b, &err);
        lua_pop(vb_lua_state(bf->lua), 1);
        /* An answer's tables take five times its text: free them before the next one comes. */
        lua_gc(vb_lua_state(bf->lua), LUA_GCCOLLECT);
        if (took < 0)
            stop(bf, err.msg);
        else if (took == 0)
            failed(bf, b, -1, "a station or parameter of the answer is not a history answer");
        else
            bf->failures = 0;
    }
    vb_http_resp_free(&r);
    return 1;
}

/* The stretch's points, read back from its lines: their text in arena, in series order. */
static int read_points(vb_backfill *bf, rec **out, size_t *nout, vb_buf *arena, vb_err *err)
{
    rec *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < bf->nser; i++) {
        if (!bf->lines[i].len)
            continue;
        FILE *f = fmemopen(bf->lines[i].data, bf->lines[i].len, "r");
        if (!f) {
            rc = vb_fail(err, "out of memory");
            break;
        }
        vb_csv_reader rd;
        vb_csv_reader_init(&rd, f, 2);
        double t;
        size_t len, seq = 0;
        int got;
        while (rc == 0 && (got = vb_csv_read(&rd, err)) > 0) {
            if (rd.nfields != 2 || vb_parse_double(vb_csv_field(&rd, 0, NULL), &t))
                continue;
            const char *value = vb_csv_field(&rd, 1, &len);
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                rec *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    rc = vb_fail(err, "out of memory");
                    break;
                }
                v = nv;
            }
            v[n] = (rec){(long long)floor(t), t, i, seq++, arena->len, len};
            if (vb_buf_append(arena, value, len) || vb_buf_append(arena, "", 1))
                rc = vb_fail(err, "out of memory");
            n++;
        }
        if (rc == 0 && got < 0)
            rc = -1;
        vb_csv_reader_free(&rd);
        fclose(f);
    }
    *out = v;
    *nout = n;
    return rc;
}

/* insert's order: time, then station and parameter by name, then as the server sent them. */
static int by_stream(const void *pa, const void *pb, void *ud)
{
    const rec *a = pa, *b = pb;
    const vb_hist_series *s = ud;
    const vb_hist_series *x = &s[a->series], *y = &s[b->series];
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    if (x->station != y->station)
        return x->station < y->station ? -1 : 1;
    if (x->param != y->param)
        return x->param < y->param ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* The series the transformers do not want: by parameter, then station, as the sink takes them. */
static int by_table(const void *pa, const void *pb, void *ud)
{
    const rec *a = pa, *b = pb;
    const vb_hist_series *s = ud;
    const vb_hist_series *x = &s[a->series], *y = &s[b->series];
    if (x->param != y->param)
        return x->param < y->param ? -1 : 1;
    if (x->station != y->station)
        return x->station < y->station ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* A value as insert hands it on: read from its text as the parameter's kind says. */
static vb_value value_of(const vb_backfill *bf, const rec *r, const char *arena)
{
    const vb_param *par = &bf->ml->params[bf->ser[r->series].param];
    return vb_value_from_text(vb_value_kind_of(par), arena + r->at, r->len);
}

/*
 * The stretch's rows: the wanted points through the transformers (*piped),
 * the others straight (*raw: rows and series the caller frees).
 */
static int build(vb_backfill *bf, rec *v, size_t n, const char *arena, const vb_result **piped,
                 vb_result *raw, vb_err *err)
{
    size_t nw = 0;
    for (size_t i = 0; i < n; i++) {
        const vb_hist_series *s = &bf->ser[v[i].series];
        if (bf->wanted[s->param]) {
            rec t = v[nw];
            v[nw++] = v[i];
            v[i] = t;
        }
    }
    qsort_r(v, nw, sizeof *v, by_stream, bf->ser);
    qsort_r(v + nw, n - nw, sizeof *v, by_table, bf->ser);
    for (size_t i = 0; i < nw; i++) {
        const vb_hist_series *s = &bf->ser[v[i].series];
        vb_value val = value_of(bf, &v[i], arena);
        if (vb_pipeline_add_point(bf->p, bf->stations[s->station], bf->ml->params[s->param].name,
                                  v[i].t, &val, err))
            return -1;
    }
    bf->dirty = 1;
    if (vb_pipeline_run_points(bf->p, vb_now(), piped, err))
        return -1;
    vb_row *rows = calloc(n - nw + 1, sizeof *rows);
    vb_result_series *ser = calloc(n - nw + 1, sizeof *ser);
    *raw = (vb_result){.rows = rows, .series = ser};
    if (!rows || !ser)
        return vb_fail(err, "out of memory");
    size_t ns = 0;
    for (size_t i = nw; i < n; i++) {
        const vb_hist_series *s = &bf->ser[v[i].series];
        const char *name = bf->ml->params[s->param].name;
        if (!ns || ser[ns - 1].name != name)
            ser[ns++] = (vb_result_series){name, bf->plen[s->param], i - nw, 0};
        ser[ns - 1].n++;
        rows[i - nw] = (vb_row){bf->stations[s->station], bf->st_len[s->station], v[i].time,
                                value_of(bf, &v[i], arena)};
    }
    raw->nrows = n - nw;
    raw->nseries = ns;
    return 0;
}

/*
 * The finished stretch in one transaction: the rows the database lacks
 * (with the transformers' series over the stretch replaced), the coverage
 * past it, the transformers' state. A failure leaves it to try again.
 */
static int commit_stretch(vb_backfill *bf, vb_err *err)
{
    double t0 = vb_now();
    if (bf->dirty && vb_pipeline_restore_state(bf->p, bf->state, err))
        return -1;
    bf->dirty = 0;
    rec *v = NULL;
    size_t n = 0, nprod = 0;
    vb_buf arena = {0}, cov = {0};
    char **prod = NULL, *state = NULL;
    const vb_result *piped = NULL;
    vb_result raw = {0};
    vb_coverage next = {0};
    vb_sink_stats st = {0};
    int rc = read_points(bf, &v, &n, &arena, err) ||
             build(bf, v, n, arena.data ? arena.data : "", &piped, &raw, err) ||
             vb_pipeline_produces(bf->p, &prod, &nprod, err) ||
             vb_pipeline_save_state(bf->p, &state, err) || vb_coverage_copy(&next, &bf->cov, err);
    if (rc == 0) {
        vb_coverage_done(&next, bf->e);
        vb_fill_window plain = {.a = bf->a, .b = bf->e};
        vb_fill_window derived = {.a = bf->a,
                                  .b = bf->e,
                                  .replace = (const char *const *)prod,
                                  .nreplace = nprod,
                                  .stations = bf->stations,
                                  .nstations = bf->nstations};
        rc = vb_coverage_format(&next, &cov) ? vb_fail(err, "out of memory")
             : vb_sink_begin(bf->sink, err) || vb_sink_fill(bf->sink, &raw, &plain, &st, err) ||
                     vb_sink_fill(bf->sink, piped, &derived, &st, err) ||
                     vb_sink_state_set(bf->sink, COVERAGE_KEY, cov.data, err) ||
                     vb_sink_state_set(bf->sink, STATE_KEY, state, err) ||
                     vb_sink_commit(bf->sink, err)
                 ? -1
                 : 0;
        if (rc)
            vb_sink_rollback(bf->sink);
    }
    if (rc == 0) {
        char a[32], e[32];
        vb_iso8601((double)bf->a, a);
        vb_iso8601((double)bf->e, e);
        vb_log_msg(&bf->app->log, VB_INFO,
                   "backfill: %s to %s (%zu series, %zu points, %ld request(s)): %ld row(s) "
                   "stored, %ld removed, %ld skipped, in %.0f ms",
                   a, e, bf->nser, n, bf->requests, st.rows, st.removed, st.skipped,
                   (vb_now() - t0) * 1000);
        vb_coverage tmp = bf->cov;
        bf->cov = next;
        next = tmp;
        free(bf->state);
        bf->state = state;
        state = NULL;
        bf->dirty = 0;
        bf->m_rows += st.rows;
        bf->total_rows += st.rows;
        drop_stretch(bf);
        /* The next stretches as big as commit in COMMIT_SHARE of a cycle, as this one went. */
        bf->commit_s = vb_now() - t0;
        if (n)
            bf->cap = fmax(STRETCH_POINTS_MIN,
                           fmin(STRETCH_POINTS, (double)n * COMMIT_SHARE * bf->dt / bf->commit_s));
        bf->waited = 0;
    }
    vb_coverage_free(&next);
    vb_pipeline_names_free(prod, nprod);
    free(state);
    free(v);
    free((void *)raw.rows);
    free((void *)raw.series);
    vb_buf_free(&arena);
    vb_buf_free(&cov);
    return rc;
}

void vb_backfill_work(vb_backfill *bf, double deadline)
{
    if (bf->broken || vb_now() < bf->resume_at)
        return;
    /* The snapshot must start on time: keep a tenth of a cycle, up to half a second. */
    double margin = fmin(0.5, 0.1 * bf->dt);
    vb_err err;
    int rc = bf->active ? 1 : plan_stretch(bf, &err);
    if (rc < 0) {
        stop(bf, err.msg);
        return;
    }
    if (rc == 0)
        return;
    vb_hist_batch b;
    int more = vb_hist_plan_next(&bf->plan, &b);
    double left = deadline - vb_now() - margin;
    if (more && bf->tokens >= 1 && left >= MIN_REQUEST_S) {
        request(bf, &b, left);
        more = !bf->broken && vb_hist_plan_next(&bf->plan, &b);
    }
    if (!bf->active || more)
        return;
    /*
     * Room for the commit, by the last one's time; a stretch that found none
     * COMMIT_TRIES times goes in regardless, and the next ones are smaller.
     */
    if (deadline - vb_now() - margin < fmax(2 * bf->commit_s, 0.01) && ++bf->waited < COMMIT_TRIES)
        return;
    if (commit_stretch(bf, &err))
        vb_log_msg(&bf->app->log, VB_WARN, "backfill: %s; the stretch is kept and stored later",
                   err.msg);
}

void vb_backfill_summary(const vb_backfill *bf, char *buf, size_t size)
{
    char when[32];
    vb_iso8601((double)bf->cov.from, when);
    snprintf(buf, size, "backfill: %ld history request(s), %ld row(s) stored, complete before %s",
             bf->total_requests, bf->total_rows, when);
}
