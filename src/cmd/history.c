/*
 * history.c - see history.h.
 *
 * Each request asks for the series src/hist/histplan.c puts together (all
 * that share a window, up to --batch-points estimated points; one with
 * --batch-points 0), and their points are on disk (the CSVs synced, then
 * metadata.json replaced) before the next request goes out: an interrupted
 * run loses at most the windows in flight, and a rerun without --start goes
 * on from each parameter's last_tried. A failed request is asked again,
 * whole, after a backoff, until it succeeds or the run is stopped: a window
 * is never skipped.
 *
 * A server may not answer many series per request as it answers one. A
 * series missing from an answer is not taken as empty until the last one
 * missing, asked alone, comes back empty too; one that comes back with
 * points, or requests for many series that keep failing while one asked
 * alone succeeds, make the run go on with one series per request. Either
 * way a series is recorded only from an answer that holds it.
 */
#define _GNU_SOURCE
#include "cmd/history.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist/histfiles.h"
#include "hist/histplan.h"
#include "net/http.h"
#include "host/lua_host.h"
#include "net/secrets.h"
#include "core/signals.h"

/* The backoff after failed requests doubles up to this; a Retry-After may ask for more, up to
 * BACKOFF_RETRY_AFTER_MAX. */
#define BACKOFF_MAX_S 60.0
#define BACKOFF_RETRY_AFTER_MAX_S 300.0
#define BACKOFF_MIN_S 0.1
/* Estimated points per request (docs/performance.md says how it was chosen). */
#define DEFAULT_BATCH_POINTS 100000
/* Once PROBE_AFTER requests for many series failed since one last succeeded, each failure is
 * followed by one of its series asked alone; at FALLBACK_AFTER, with a series asked alone answered
 * meanwhile, the run goes on one series per request. */
#define PROBE_AFTER 2
#define FALLBACK_AFTER 12

typedef enum { CADENCE_ALL, CADENCE_PUBLIC, CADENCE_PRIVATE } cadence_kind;

/* What one series of the run is; its window walk is in run.ser, by the same index. */
typedef struct job {
    const vb_param *par;
    vb_hist_param *hp;
    long points; /* kept by this run */
} job;

typedef struct run {
    vb_app *app;
    const vb_masterlist *ml;
    double sleep;
    long long end;
    vb_signals sig;
    vb_secrets secrets;
    vb_http *http;
    vb_lua *lua;
    vb_hist_station *st; /* one per station of the run */
    const char **stations;
    size_t nstations;
    job *jobs;
    vb_hist_series *ser;
    size_t n;
    vb_hist_plan plan;
    /* the answer in hand: what it held for the batch's series k, and the bytes appended */
    vb_buf lines;
    vb_hist_answer *ans;
    size_t *len;
    uint64_t touched; /* stations whose metadata.json is behind */
    /* checking the server: series held back from an answer that lacked them (the last is asked
     * alone next), and the failures of requests for many series */
    size_t *held;
    size_t nheld;
    int verifying; /* the request in flight asks for the last held-back series */
    long failures; /* requests failed in a row, for the backoff */
    long mfail;    /* requests for many series failed since one succeeded */
    int probe_ok;  /* and one series asked alone was answered meanwhile */
    int probe_due; /* the next request asks for series `probe` alone */
    size_t probe;
    /* progress */
    int tty, line_shown;
    double t0, total_s, done_s;
    long points, requests, errors;
    size_t done;
} run;

static int pick_cadence(const vb_param *par, cadence_kind kind)
{
    switch (kind) {
    case CADENCE_PUBLIC:
        return par->cadence_public;
    case CADENCE_PRIVATE:
        return par->cadence_private;
    default:
        return par->cadence_public >= 0 ? par->cadence_public : par->cadence_private;
    }
}

static int wanted(const vb_strlist *l, const char *s)
{
    if (l->n == 0)
        return 1;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return 1;
    return 0;
}

/* Erases the progress line so that a log line does not land in the middle of it. */
static void clear_line(run *r)
{
    if (r->line_shown) {
        fputs("\r\033[K", stderr);
        r->line_shown = 0;
    }
}

static void progress(run *r)
{
    if (!r->tty)
        return;
    double el = vb_now() - r->t0;
    char eta[32] = "--:--:--";
    if (r->done_s > 0 && r->total_s > r->done_s) {
        long s = (long)(el * (r->total_s - r->done_s) / r->done_s);
        snprintf(eta, sizeof eta, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    } else if (r->total_s <= r->done_s) {
        snprintf(eta, sizeof eta, "00:00:00");
    }
    fprintf(stderr,
            "\rhistory: %zu/%zu series of %zu station(s) done, %ld points, %ld requests, ETA "
            "%s\033[K",
            r->done, r->n, r->nstations, r->points, r->requests, eta);
    fflush(stderr);
    r->line_shown = 1;
}

static const char *station_of(const run *r, size_t i)
{
    return r->stations[r->ser[i].station];
}

/* Tells the log what a series' answer held besides the points kept. */
static void log_answer(run *r, size_t i, long long a, long long b, const vb_hist_answer *ans)
{
    const char *name = r->jobs[i].par->name;
    vb_log_msg(&r->app->log, VB_DEBUG, "history: %s %s [%lld, %lld]: %ld point(s)",
               station_of(r, i), name, a, b, ans->points);
    if (ans->early || ans->late)
        vb_log_msg(&r->app->log, VB_DEBUG,
                   "history: %s %s [%lld, %lld]: %ld point(s) before and %ld after the window "
                   "dropped",
                   station_of(r, i), name, a, b, ans->early, ans->late);
    if (ans->unusable) {
        clear_line(r);
        vb_log_msg(&r->app->log, VB_WARN,
                   "history: %s %s [%lld, %lld]: %ld point(s) without a time or a storable value "
                   "(number, string or boolean) skipped",
                   station_of(r, i), name, a, b, ans->unusable);
    }
}

/* "ALMA weather_tau225" for one series, "12 series (2 stations x 6 parameters)" for more. */
static void describe(const run *r, const vb_hist_batch *b, char *out, size_t size)
{
    if (b->n == 1)
        snprintf(out, size, "%s %s", station_of(r, b->series[0]), r->jobs[b->series[0]].par->name);
    else
        snprintf(out, size, "%zu series (%zu station(s) x %zu parameter(s))", b->n,
                 b->n / b->nparams, b->nparams);
}

/*
 * The request for batch b. Returns 0 with the decoded answer on lua's stack,
 * 1 for a failure worth asking again (why in err, *retry_after from the
 * server or -1), 2 for an answer larger than the limit, -1 when out of memory.
 */
static int ask(run *r, const vb_hist_batch *b, double *retry_after, vb_err *err)
{
    /* Station and parameter names are identifiers (plan): nothing in them needs escaping. */
    vb_buf path = {0};
    if (vb_hist_query(&path, b, r->stations, r->ml)) {
        vb_buf_free(&path);
        return vb_fail(err, "out of memory");
    }
    vb_http_resp resp;
    *retry_after = -1;
    r->requests++;
    int rc = vb_http_request(r->http, "GET", path.data, NULL, VB_HTTP_CRED, &resp, err);
    vb_buf_free(&path);
    if (rc == 0 && resp.status != 200) {
        *retry_after = resp.retry_after;
        vb_fail(err, "HTTP status %ld", resp.status);
        rc = -1;
    }
    if (rc) {
        rc = resp.too_big ? 2 : 1;
        vb_http_resp_free(&resp);
        return rc;
    }
    int ok = vb_hist_json(r->lua, resp.body.data, resp.body.len);
    vb_http_resp_free(&resp);
    if (ok)
        return 0;
    lua_pop(vb_lua_state(r->lua), 1);
    vb_fail(err, "the answer is not a history answer (bad or cut-off JSON)");
    return 1;
}

/* Cuts the files of the first k series of b back to their records: the answer was not usable. */
static int undo(run *r, const vb_hist_batch *b, size_t k, vb_err *err)
{
    for (size_t i = 0; i < k; i++) {
        size_t s = b->series[i];
        if (r->len[i] && vb_hist_prepare(&r->st[r->ser[s].station], r->jobs[s].hp, err))
            return -1;
    }
    return 0;
}

/*
 * Appends each series' lines from the answer on lua's stack (and pops it):
 * all that the answer holds, and a series it lacks when it is the only one
 * asked for (its answer is `{}`). Returns 1; 0, with the files as they were,
 * when some series' part is not a history answer; -1 when a file cannot be
 * written or memory runs out.
 */
static int take(run *r, const vb_hist_batch *b, vb_err *err)
{
    lua_State *L = vb_lua_state(r->lua);
    int rc = 1;
    size_t k = 0;
    for (; k < b->n && rc > 0; k++) {
        size_t i = b->series[k];
        r->lines.len = 0;
        r->len[k] = 0;
        rc = vb_hist_answer_lines(L, station_of(r, i), r->jobs[i].par->name, b->a, b->b, &r->lines,
                                  &r->ans[k], err);
        if (rc > 0 && (b->n == 1 || r->ans[k].found) && r->lines.len) {
            rc = vb_hist_append(&r->st[r->ser[i].station], r->jobs[i].hp, r->lines.data,
                                r->lines.len, err)
                     ? -1
                     : 1;
            r->len[k] = r->lines.len;
        }
    }
    lua_pop(L, 1);
    /* An answer's tables take five times its text: free them before the next one comes. */
    lua_gc(L, LUA_GCCOLLECT);
    if (rc == 0) {
        vb_err why;
        if (undo(r, b, k, &why)) {
            *err = why;
            return -1;
        }
        vb_fail(err, "the answer is not a history answer (a station or parameter is not an "
                     "object or an array)");
    }
    return rc;
}

/*
 * Records window [a, b] of series i, whose len bytes of lines are appended:
 * in its record, and in the log; its station's metadata.json is written by
 * save_touched.
 */
static void keep(run *r, size_t i, long long a, long long b, size_t len, const vb_hist_answer *ans)
{
    job *j = &r->jobs[i];
    vb_hist_series *s = &r->ser[i];
    vb_hist_note(j->hp, len, b, ans->newest);
    r->touched |= (uint64_t)1 << s->station;
    log_answer(r, i, a, b, ans);
    j->points += ans->points;
    r->points += ans->points;
    r->done_s += (double)(b - a + 1);
    vb_window_done(&s->w, ans->points ? VB_WINDOW_FULL : VB_WINDOW_EMPTY);
    if (s->w.next > s->w.end) {
        r->done++;
        if (!r->tty)
            vb_log_msg(&r->app->log, VB_NOTICE,
                       "history: %s %s done: %ld point(s) up to %lld, %zu/%zu series done",
                       station_of(r, i), j->par->name, j->points, r->end, r->done, r->n);
    }
}

static int save_touched(run *r, vb_err *err)
{
    for (size_t st = 0; st < r->nstations; st++)
        if ((r->touched >> st & 1) && vb_hist_save(&r->st[st], err))
            return -1;
    r->touched = 0;
    return 0;
}

static void fall_back(run *r, const char *why)
{
    r->plan.max_points = 0;
    r->nheld = 0;
    r->probe_due = 0;
    clear_line(r);
    vb_log_msg(&r->app->log, VB_WARN, "history: %s; going on with one series per request", why);
}

/* The series held back from the last answer, asked alone (the last one) or taken as empty. */
static void settle_held(run *r, const vb_hist_batch *b)
{
    size_t i = r->held[--r->nheld];
    if (r->ans[0].points) {
        char why[512];
        snprintf(why, sizeof why,
                 "the server left %s %s [%lld, %lld] out of an answer for many series, but "
                 "has %ld point(s) for it alone",
                 station_of(r, i), r->jobs[i].par->name, b->a, b->b, r->ans[0].points);
        fall_back(r, why);
        return;
    }
    const vb_hist_answer none = {.newest = -1};
    while (r->nheld) {
        size_t h = r->held[--r->nheld];
        keep(r, h, r->ser[h].w.a, r->ser[h].w.b, 0, &none);
    }
}

/* A usable answer for b, its lines appended: see the file's comment. */
static int answered(run *r, const vb_hist_batch *b, vb_err *err)
{
    r->failures = 0;
    if (b->n > 1)
        r->mfail = r->probe_ok = 0;
    else
        r->probe_ok = 1;
    size_t nheld = 0;
    for (size_t k = 0; k < b->n; k++) {
        if (b->n > 1 && !r->ans[k].found)
            r->held[nheld++] = b->series[k];
        else
            keep(r, b->series[k], b->a, b->b, r->len[k], &r->ans[k]);
    }
    if (r->verifying)
        settle_held(r, b);
    if (nheld)
        r->nheld = nheld;
    return save_touched(r, err);
}

/* A failed request for b; returns the pause before the next one. */
static double failed(run *r, const vb_hist_batch *b, double retry_after, const vb_err *why)
{
    r->failures++;
    r->errors++;
    double backoff = fmax(r->sleep, BACKOFF_MIN_S) * pow(2, (double)(r->failures - 1));
    double pause = fmin(BACKOFF_MAX_S, backoff);
    if (retry_after > pause)
        pause = fmin(BACKOFF_RETRY_AFTER_MAX_S, retry_after);
    char what[128];
    describe(r, b, what, sizeof what);
    clear_line(r);
    vb_log_msg(&r->app->log, VB_WARN,
               "history: %s [%lld, %lld]: %s; asking for the same window again in %.1f s", what,
               b->a, b->b, why->msg, pause);
    if (b->n > 1 && ++r->mfail >= FALLBACK_AFTER && r->probe_ok) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "%ld requests for many series failed in a row while one series asked alone "
                 "was answered",
                 r->mfail);
        fall_back(r, msg);
    } else if (b->n > 1 && r->mfail >= PROBE_AFTER) {
        r->probe_due = 1;
        r->probe = b->series[0];
    }
    return pause;
}

/* An answer over the size limit: fewer series per request, or a shorter window for one. */
static int too_big(run *r, const vb_hist_batch *b, const vb_err *why, vb_err *err)
{
    char what[128];
    describe(r, b, what, sizeof what);
    r->errors++;
    if (b->n == 1 && b->a == b->b)
        return vb_fail(err,
                       "%s [%lld, %lld]: %s, even for one second; give a larger --batch-points",
                       what, b->a, b->b, why->msg);
    vb_hist_plan_too_big(&r->plan, b);
    clear_line(r);
    vb_log_msg(&r->app->log, VB_NOTICE, "history: %s [%lld, %lld]: %s; asking for %s", what, b->a,
               b->b, why->msg, b->n == 1 ? "a shorter window" : "fewer series at a time");
    return 0;
}

/* The next request: the last held-back series alone, a probe, or the plan's next batch. */
static int next_request(run *r, vb_hist_batch *b)
{
    r->verifying = r->nheld > 0;
    if (r->verifying)
        return vb_hist_plan_one(&r->plan, r->held[r->nheld - 1], b);
    int probe = r->probe_due;
    r->probe_due = 0;
    return (probe && vb_hist_plan_one(&r->plan, r->probe, b)) || vb_hist_plan_next(&r->plan, b);
}

/* One request and what follows from it; returns the pause before the next, -1 to end the run. */
static double exchange(run *r, const vb_hist_batch *b, vb_err *err)
{
    double retry_after = -1;
    vb_err why;
    int rc = ask(r, b, &retry_after, &why);
    if (rc == 0) {
        int took = take(r, b, &why);
        rc = took > 0 ? 0 : took == 0 ? 1 : -1;
    }
    if (rc < 0) {
        *err = why;
        return -1;
    }
    if (rc == 1 && r->sig.stop)
        return vb_fail(err, "interrupted");
    if (rc == 1)
        return failed(r, b, retry_after, &why);
    if (rc == 2)
        return too_big(r, b, &why, err) ? -1 : r->sleep;
    return answered(r, b, err) ? -1 : r->sleep;
}

static int download(run *r, vb_err *err)
{
    r->t0 = vb_now();
    double pause = 0;
    vb_hist_batch b;
    while (next_request(r, &b)) {
        if (pause > 0 && vb_signals_sleep_until(&r->sig, vb_now() + pause))
            return vb_fail(err, "interrupted");
        if ((pause = exchange(r, &b, err)) < 0)
            return -1;
        progress(r);
    }
    return 0;
}

/*
 * Series si's parameter par: from --start or, without it, from the second
 * after its last_tried; never from before its last_tried, which would write
 * lines twice. A parameter with neither is an error before anything is
 * fetched (-2, an error in the command line).
 */
static int add_series(run *r, size_t si, size_t p, int cadence, double start, int have_start,
                      int *dirty, vb_err *err)
{
    vb_hist_station *st = &r->st[si];
    const vb_param *par = &r->ml->params[p];
    vb_hist_param *hp = vb_hist_param_get(st, par->name);
    if (!hp)
        return vb_fail(err, "out of memory");
    long long from = (long long)ceil(start);
    if (hp->has_tried && (!have_start || hp->last_tried + 1 > from)) {
        from = hp->last_tried + 1;
    } else if (!have_start) {
        return vb_fail(err, "%s/%s: nothing to resume from (no last_tried in %s); give --start",
                       r->stations[si], par->name, st->meta_path) -
               1;
    } else if (!hp->has_tried) {
        /* Recorded before anything is fetched, so that an interrupted run resumes the
         * series it never reached too, and a file that is not there yet is known to be empty. */
        hp->last_tried = from - 1;
        hp->has_tried = 1;
        char *csv = NULL;
        if (asprintf(&csv, "%s/%s.csv", st->dir, par->name) < 0)
            return vb_fail(err, "out of memory");
        hp->bytes = vb_file_exists(csv) ? -1 : 0;
        free(csv);
        *dirty = 1;
    }
    vb_hist_series *s = &r->ser[r->n];
    *s = (vb_hist_series){.station = (unsigned)si, .param = p};
    vb_window_init(&s->w, cadence, from, r->end);
    s->rate = vb_hist_point_rate(par, s->w.base);
    r->jobs[r->n++] = (job){par, NULL, 0};
    if (from <= r->end)
        r->total_s += (double)(r->end - from + 1);
    else
        r->done++;
    return 0;
}

/* Station s of the masterlist: its series, and its files ready to be appended to. */
static int add_station(run *r, size_t s, double start, int have_start, const vb_strlist *params,
                       cadence_kind kind, vb_err *err)
{
    const vb_masterlist *ml = r->ml;
    size_t si = r->nstations++;
    r->stations[si] = ml->stations[s];
    vb_hist_station *st = &r->st[si];
    if (vb_hist_station_load(st, r->app->datadir, ml->stations[s], r->lua, err))
        return -1;
    size_t first = r->n;
    int dirty = 0;
    for (size_t p = 0; p < ml->nparams; p++) {
        const vb_param *par = &ml->params[p];
        int cadence = pick_cadence(par, kind);
        int stat = par->cadence_public < 0 && par->cadence_private < 0;
        if (!(par->stations >> s & 1) || !wanted(params, par->name) || (cadence < 0 && !stat))
            continue;
        if (!vb_is_identifier(par->name)) {
            vb_log_msg(&r->app->log, VB_WARN,
                       "history: parameter '%s' is not a plain name; skipped", par->name);
            continue;
        }
        int rc = add_series(r, si, p, cadence, start, have_start, &dirty, err);
        if (rc)
            return rc;
    }
    if (vb_mkdir_p(st->dir, err) || (dirty && vb_hist_save(st, err)))
        return -1;
    /* Only now: vb_hist_param_get may move the records while it adds them. */
    for (size_t i = first; i < r->n; i++)
        if (!(r->jobs[i].hp = vb_hist_param_get(st, r->jobs[i].par->name)) ||
            vb_hist_prepare(st, r->jobs[i].hp, err))
            return r->jobs[i].hp ? -1 : vb_fail(err, "out of memory");
    return 0;
}

/* The request planner over the run's series, and room for what one answer holds. */
static int plan_requests(run *r, double batch_points, vb_err *err)
{
    const vb_masterlist *ml = r->ml;
    size_t *slen = calloc(r->nstations, sizeof *slen);
    size_t *plen = calloc(ml->nparams ? ml->nparams : 1, sizeof *plen);
    r->len = calloc(r->n, sizeof *r->len);
    r->ans = calloc(r->n, sizeof *r->ans);
    r->held = calloc(r->n, sizeof *r->held);
    if (!slen || !plen || !r->len || !r->ans || !r->held) {
        free(slen);
        free(plen);
        return vb_fail(err, "out of memory");
    }
    for (size_t i = 0; i < r->nstations; i++)
        slen[i] = strlen(r->stations[i]);
    for (size_t p = 0; p < ml->nparams; p++)
        plen[p] = strlen(ml->params[p].name);
    r->plan = (vb_hist_plan){.s = r->ser,
                             .n = r->n,
                             .nstations = r->nstations,
                             .nparams = ml->nparams,
                             .station_len = slen,
                             .param_len = plen,
                             .max_points = batch_points,
                             .max_query = VB_HIST_QUERY_BYTES};
    return vb_hist_plan_init(&r->plan, err);
}

/*
 * The stations and parameters to download (static parameters, without a
 * cadence, whatever the cadence asked for). Returns -2 for errors in the
 * command line, -1 for others.
 */
static int plan(run *r, double start, int have_start, const vb_strlist *params, cadence_kind kind,
                double batch_points, vb_err *err)
{
    const vb_masterlist *ml = r->ml;
    r->stations = calloc(ml->nstations ? ml->nstations : 1, sizeof *r->stations);
    r->st = calloc(ml->nstations ? ml->nstations : 1, sizeof *r->st);
    r->jobs = calloc(ml->nstations * ml->nparams + 1, sizeof *r->jobs);
    r->ser = calloc(ml->nstations * ml->nparams + 1, sizeof *r->ser);
    if (!r->stations || !r->st || !r->jobs || !r->ser)
        return vb_fail(err, "out of memory");
    for (size_t i = 0; i < r->app->stations.n; i++)
        if (vb_masterlist_station_index(ml, r->app->stations.v[i]) < 0)
            return vb_fail(err, "--stations %s: not a station of the masterlist %s",
                           r->app->stations.v[i], r->app->masterlist) -
                   1;
    for (size_t s = 0; s < ml->nstations; s++) {
        if (!wanted(&r->app->stations, ml->stations[s]))
            continue;
        /* Station names become directory names: only plain words. */
        if (!vb_is_identifier(ml->stations[s])) {
            vb_log_msg(&r->app->log, VB_WARN, "history: station '%s' is not a plain name; skipped",
                       ml->stations[s]);
            continue;
        }
        int rc = add_station(r, s, start, have_start, params, kind, err);
        if (rc)
            return rc;
    }
    if (r->n == 0)
        return vb_fail(err,
                       "nothing to download: no parameter of the chosen stations has a %s "
                       "cadence%s",
                       kind == CADENCE_PUBLIC    ? "public"
                       : kind == CADENCE_PRIVATE ? "private"
                                                 : "",
                       params->n ? " among the --param names" : "") -
               1;
    return plan_requests(r, batch_points, err);
}

static int setup(run *r, double batch_points, vb_err *err)
{
    if (!(r->ml = vb_app_masterlist_for_work(r->app, err)) || !(r->lua = vb_lua_new(r->app, err)))
        return -1;
    if (vb_secrets_load_private(r->app->secrets, r->app->insecure_secrets_ok, &r->app->log,
                                &r->secrets, err))
        return -1;
    const vb_cred *cred = vb_secrets_find(&r->secrets, r->app->server_host, err);
    if (!cred || vb_signals_open(&r->sig, err))
        return -1;
    size_t max_body =
        (size_t)(batch_points > 0 ? batch_points : DEFAULT_BATCH_POINTS) * VB_HIST_BYTES_PER_POINT;
    vb_http_opts o = {
        .connect_timeout_ms = 30000,
        .timeout_ms = 300000,
        .cafile = r->app->cacert,
        .should_abort = vb_signals_should_abort,
        .abort_ud = &r->sig,
        .max_body = max_body > VB_HIST_BODY_MIN ? max_body : VB_HIST_BODY_MIN,
    };
    return (r->http = vb_http_new(r->app->server_url, cred, &o, err)) ? 0 : -1;
}

static void teardown(run *r)
{
    for (size_t i = 0; i < r->nstations; i++)
        vb_hist_station_free(&r->st[i]);
    free((void *)r->plan.station_len);
    free((void *)r->plan.param_len);
    vb_hist_plan_free(&r->plan);
    free(r->st);
    free(r->stations);
    free(r->jobs);
    free(r->ser);
    free(r->len);
    free(r->ans);
    free(r->held);
    vb_buf_free(&r->lines);
    vb_http_free(r->http);
    vb_lua_free(r->lua);
    vb_signals_close(&r->sig);
    vb_secrets_free(&r->secrets);
}

/* The command line, as given and as understood. */
typedef struct history_args {
    const char *start, *end;
    int all, pub, priv;
    double sleep;
    long batch_points;
    vb_strlist params;
    double t_start, t_end;
} history_args;

#define PROG "vlbimon_bridge history"

/* Parses the options; -1 to go on, else the exit status. */
static int parse_args(vb_app *app, int argc, char **argv, history_args *a)
{
    const vb_opt opts[] = {
        {.lname = "start",
         .kind = VB_OPT_STRING,
         .dest = &a->start,
         .metavar = "START",
         .help =
             "start time, unix seconds or ISO-8601 UTC (default: resume each parameter after its "
             "last_tried)"},
        {.lname = "end",
         .kind = VB_OPT_STRING,
         .dest = &a->end,
         .metavar = "END",
         .help = "end time (default: now)"},
        {.lname = "all",
         .kind = VB_OPT_FLAG,
         .dest = &a->all,
         .help = "window by the public cadence, else the private one"},
        {.lname = "public",
         .kind = VB_OPT_FLAG,
         .dest = &a->pub,
         .help = "only parameters with a public cadence (and static ones)"},
        {.lname = "private",
         .kind = VB_OPT_FLAG,
         .dest = &a->priv,
         .help = "only parameters with a private cadence (and static ones)"},
        {.lname = "param",
         .kind = VB_OPT_LIST,
         .dest = &a->params,
         .metavar = "PARAM",
         .help = "only this parameter (repeatable)"},
        {.lname = "sleep",
         .kind = VB_OPT_DOUBLE,
         .dest = &a->sleep,
         .metavar = "SECONDS",
         .help = "pause between requests, to spare the server (default 1)"},
        {.lname = "batch-points",
         .kind = VB_OPT_INT,
         .dest = &a->batch_points,
         .metavar = "N",
         .help = "ask for the series that share a window together, up to N points estimated "
                 "per request (default 100000; 0: one series per request)"},
    };
    const vb_cmdspec spec = {.prog = PROG,
                             .description =
                                 "download every parameter of every station over a time range into "
                                 "DATADIR/<station>/<param>.csv, resumably",
                             .opts = opts,
                             .nopts = VB_COUNT(opts)};
    return vb_app_parse_options(app, &spec, argc, argv);
}

/* Checks the options against each other and the masterlist; -1 when good, else the exit status. */
static int check_args(vb_app *app, history_args *a)
{
    vb_err err;
    int rc = VB_EXIT_USAGE;
    if (a->all + a->pub + a->priv != 1)
        fprintf(stderr, "%s: error: one of the arguments --all --public --private is required\n",
                PROG);
    else if (!(a->sleep >= 0) || a->sleep > 3600)
        fprintf(stderr, "%s: error: argument --sleep: must be between 0 and 3600 seconds\n", PROG);
    else if (a->batch_points < 0 || a->batch_points > 100000000)
        fprintf(stderr, "%s: error: argument --batch-points: must be between 0 and 100000000\n",
                PROG);
    else if (a->start && vb_parse_time(a->start, &a->t_start, &err))
        fprintf(stderr, "%s: error: argument --start: %s\n", PROG, err.msg);
    else if (a->end && vb_parse_time(a->end, &a->t_end, &err))
        fprintf(stderr, "%s: error: argument --end: %s\n", PROG, err.msg);
    else if (a->start && a->t_end < a->t_start)
        fprintf(stderr, "%s: error: --end %s is before --start %s\n", PROG,
                a->end ? a->end : "(now)", a->start);
    else
        rc = -1;
    for (size_t i = 0; rc < 0 && i < a->params.n; i++) {
        const vb_masterlist *ml = vb_app_masterlist(app, &err);
        if (!ml) {
            vb_log_msg(&app->log, VB_ERROR, "history: %s", err.msg);
            rc = VB_EXIT_FAIL;
        } else if (!vb_masterlist_find(ml, a->params.v[i])) {
            fprintf(stderr, "%s: error: argument --param: %s is not in the masterlist %s\n", PROG,
                    a->params.v[i], app->masterlist);
            rc = VB_EXIT_USAGE;
        }
    }
    return rc;
}

/* The download itself; returns the exit status. */
static int run_history(vb_app *app, const history_args *a)
{
    run r = {.app = app, .sleep = a->sleep, .end = (long long)floor(a->t_end)};
    r.sig.fd = -1;
    r.tty = isatty(STDERR_FILENO);
    cadence_kind kind = a->pub ? CADENCE_PUBLIC : a->priv ? CADENCE_PRIVATE : CADENCE_ALL;
    vb_err err;
    int rc = VB_EXIT_OK;
    int prc = setup(&r, (double)a->batch_points, &err);
    if (prc == 0)
        prc =
            plan(&r, a->t_start, a->start != NULL, &a->params, kind, (double)a->batch_points, &err);
    if (prc) {
        vb_log_msg(&app->log, VB_ERROR, "history: %s", err.msg);
        rc = prc == -2 ? VB_EXIT_USAGE : VB_EXIT_FAIL;
    } else if (download(&r, &err)) {
        clear_line(&r);
        if (r.sig.stop)
            vb_log_msg(&app->log, VB_NOTICE,
                       "history: stopped by %s; every finished window is saved: run again "
                       "without --start to resume",
                       r.sig.last == SIGINT ? "SIGINT" : "SIGTERM");
        else
            vb_log_msg(&app->log, VB_ERROR, "history: %s", err.msg);
        rc = VB_EXIT_FAIL;
    }
    clear_line(&r);
    if (r.http)
        vb_log_msg(&app->log, rc == VB_EXIT_OK ? VB_NOTICE : VB_INFO,
                   "history: %ld point(s) in %ld request(s) (%ld failed and retried) over %ld "
                   "connection(s); %zu/%zu series done",
                   r.points, r.requests, r.errors, vb_http_connections(r.http), r.done, r.n);
    teardown(&r);
    return rc;
}

int cmd_history(vb_app *app, int argc, char **argv)
{
    history_args a = {.sleep = 1, .batch_points = DEFAULT_BATCH_POINTS, .t_end = vb_now()};
    int rc = parse_args(app, argc, argv, &a);
    if (rc < 0)
        rc = check_args(app, &a);
    if (rc < 0)
        rc = run_history(app, &a);
    vb_strlist_free(&a.params);
    return rc;
}
