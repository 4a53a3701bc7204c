/*
 * history.c - see history.h.
 *
 * One request asks for one parameter of one station over one window, and
 * its points are on disk (CSV fsynced, then metadata.json replaced) before
 * the next request goes out: an interrupted run loses at most the window in
 * flight, and a rerun without --start goes on from each parameter's
 * last_tried. A failed request is asked again, after a backoff, until it
 * succeeds or the run is stopped: a window is never skipped.
 */
#define _GNU_SOURCE
#include "cmd/history.h"

#include <lauxlib.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist/csvtree.h"
#include "hist/histfiles.h"
#include "net/http.h"
#include "host/lua_host.h"
#include "net/secrets.h"
#include "core/signals.h"

/* The backoff after failed requests doubles up to this; a Retry-After may ask for more, up to
 * BACKOFF_RETRY_AFTER_MAX. */
#define BACKOFF_MAX_S 60.0
#define BACKOFF_RETRY_AFTER_MAX_S 300.0
#define BACKOFF_MIN_S 0.1

void vb_window_init(vb_window *w, int cadence, long long start, long long end)
{
    w->base = (cadence > 0 ? cadence : 8640) * 100.0;
    w->size = w->base;
    w->next = start;
    w->end = end;
    w->a = w->b = 0;
}

int vb_window_next(vb_window *w, long long *a, long long *b)
{
    if (w->next > w->end)
        return 0;
    w->a = w->next;
    double last = (double)w->a + w->size - 1;
    w->b = last < (double)w->end ? (long long)last : w->end;
    *a = w->a;
    *b = w->b;
    return 1;
}

void vb_window_done(vb_window *w, vb_window_outcome outcome)
{
    if (outcome == VB_WINDOW_ERROR)
        return;
    w->next = w->b + 1;
    w->size = outcome == VB_WINDOW_FULL ? w->base : w->size * 1.5;
}

typedef enum { CADENCE_ALL, CADENCE_PUBLIC, CADENCE_PRIVATE } cadence_kind;

/* One parameter of one station to download. */
typedef struct job {
    size_t station; /* index into run.stations */
    const vb_param *par;
    int cadence;
    long long start;
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
    size_t njobs;
    /* progress */
    int tty, line_shown;
    double t0, total_s, done_s;
    long points, requests, errors;
    size_t jobs_done;
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

static void progress(run *r, const job *j)
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
            "\rhistory: station %zu/%zu %s, parameters %zu/%zu done, %ld points, %ld requests, "
            "ETA %s\033[K",
            j->station + 1, r->nstations, r->stations[j->station], r->jobs_done, r->njobs,
            r->points, r->requests, eta);
    fflush(stderr);
    r->line_shown = 1;
}

/* Tells the log what an answer held besides the points kept (answer as vb_hist_answer_lines). */
static void log_answer(run *r, const job *j, long long a, long long b, const vb_hist_answer *ans)
{
    if (ans->early || ans->late)
        vb_log_msg(&r->app->log, VB_DEBUG,
                   "history: %s %s [%lld, %lld]: %ld point(s) before and %ld after the window "
                   "dropped",
                   r->stations[j->station], j->par->name, a, b, ans->early, ans->late);
    if (ans->unusable) {
        clear_line(r);
        vb_log_msg(&r->app->log, VB_WARN,
                   "history: %s %s [%lld, %lld]: %ld point(s) without a time or a storable value "
                   "(number, string or boolean) skipped",
                   r->stations[j->station], j->par->name, a, b, ans->unusable);
    }
}

/*
 * One request. Returns 0 with *outcome set for an answer that was used, 1
 * for a failure worth retrying (why in err, *retry_after from the server or
 * -1), -1 for a failure that ends the run.
 */
static int fetch(run *r, const job *j, vb_hist_param *hp, long long a, long long b,
                 vb_window_outcome *outcome, double *retry_after, vb_err *err)
{
    vb_hist_station *st = &r->st[j->station];
    char *obs = vb_http_escape(r->http, r->stations[j->station]);
    char *field = vb_http_escape(r->http, j->par->name);
    vb_buf path = {0};
    int bad =
        !obs || !field ||
        vb_buf_printf(&path, "/data/history?observatory=%s&field=%s&startTime=%lld&endTime=%lld",
                      obs, field, a, b);
    free(obs);
    free(field);
    if (bad) {
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
        vb_http_resp_free(&resp);
        return 1;
    }
    lua_State *L = vb_lua_state(r->lua);
    vb_hist_json(r->lua, resp.body.data, resp.body.len);
    vb_http_resp_free(&resp);
    vb_buf lines = {0};
    vb_hist_answer ans;
    int usable =
        vb_hist_answer_lines(L, r->stations[j->station], j->par->name, a, b, &lines, &ans, err);
    lua_pop(L, 1);
    if (usable > 0)
        log_answer(r, j, a, b, &ans);
    if (usable <= 0) {
        vb_buf_free(&lines);
        if (usable < 0)
            return -1;
        vb_fail(err, "the answer is not a history answer (bad or cut-off JSON)");
        return 1;
    }
    rc = vb_hist_record(st, hp, &lines, b, ans.newest, err);
    vb_buf_free(&lines);
    if (rc)
        return -1;
    r->points += ans.points;
    *outcome = ans.points ? VB_WINDOW_FULL : VB_WINDOW_EMPTY;
    vb_log_msg(&r->app->log, VB_DEBUG, "history: %s %s [%lld, %lld]: %ld point(s)",
               r->stations[j->station], j->par->name, a, b, ans.points);
    return 0;
}

/* Downloads one parameter of one station; -1 ends the run (failure or stop). */
static int do_job(run *r, job *j, vb_err *err)
{
    vb_hist_station *st = &r->st[j->station];
    vb_hist_param *hp = vb_hist_param_get(st, j->par->name);
    if (!hp)
        return vb_fail(err, "out of memory");
    if (vb_mkdir_p(st->dir, err) || vb_hist_prepare(st, hp, err))
        return -1;
    vb_window w;
    vb_window_init(&w, j->cadence, j->start, r->end);
    long long a, b;
    long before = r->points, failures = 0;
    while (vb_window_next(&w, &a, &b)) {
        vb_window_outcome outcome = VB_WINDOW_ERROR;
        double retry_after = -1;
        int rc = fetch(r, j, hp, a, b, &outcome, &retry_after, err);
        if (rc < 0)
            return -1;
        double pause = r->sleep;
        if (rc > 0) {
            if (r->sig.stop)
                return vb_fail(err, "interrupted");
            failures++;
            r->errors++;
            double backoff = fmax(r->sleep, BACKOFF_MIN_S) * pow(2, (double)(failures - 1));
            pause = fmin(BACKOFF_MAX_S, backoff);
            if (retry_after > pause)
                pause = fmin(BACKOFF_RETRY_AFTER_MAX_S, retry_after);
            clear_line(r);
            vb_log_msg(&r->app->log, VB_WARN,
                       "history: %s %s [%lld, %lld]: %s; asking for the same window again in "
                       "%.1f s",
                       r->stations[j->station], j->par->name, a, b, err->msg, pause);
        } else {
            failures = 0;
            r->done_s += (double)(b - a + 1);
        }
        vb_window_done(&w, outcome);
        progress(r, j);
        if (vb_signals_sleep_until(&r->sig, vb_now() + pause))
            return vb_fail(err, "interrupted");
    }
    r->jobs_done++;
    if (!r->tty)
        vb_log_msg(&r->app->log, VB_NOTICE,
                   "history: %s %s done: %ld point(s) up to %lld, %zu/%zu parameter(s) done",
                   r->stations[j->station], j->par->name, r->points - before, r->end, r->jobs_done,
                   r->njobs);
    progress(r, j);
    return 0;
}

/*
 * The stations and parameters to download, each from --start or, without
 * it, from the second after its last_tried; never from before its
 * last_tried, which would write lines twice. A parameter with neither is an
 * error before anything is fetched. Returns -2 for errors in the command
 * line, -1 for others.
 */
static int plan(run *r, double start, int have_start, const vb_strlist *params, cadence_kind kind,
                vb_err *err)
{
    const vb_masterlist *ml = r->ml;
    r->stations = calloc(ml->nstations ? ml->nstations : 1, sizeof *r->stations);
    r->st = calloc(ml->nstations ? ml->nstations : 1, sizeof *r->st);
    r->jobs = calloc(ml->nstations * ml->nparams + 1, sizeof *r->jobs);
    if (!r->stations || !r->st || !r->jobs)
        return vb_fail(err, "out of memory");
    for (size_t i = 0; i < r->app->stations.n; i++)
        if (vb_masterlist_station_index(ml, r->app->stations.v[i]) < 0)
            return vb_fail(err, "--stations %s: not a station of the masterlist %s",
                           r->app->stations.v[i], r->app->masterlist) -
                   1;
    for (size_t s = 0; s < ml->nstations; s++) {
        const char *name = ml->stations[s];
        if (!wanted(&r->app->stations, name))
            continue;
        /* Station names become directory names: only plain words. */
        if (!vb_is_identifier(name)) {
            vb_log_msg(&r->app->log, VB_WARN, "history: station '%s' is not a plain name; skipped",
                       name);
            continue;
        }
        size_t si = r->nstations++;
        r->stations[si] = name;
        vb_hist_station *st = &r->st[si];
        if (vb_hist_station_load(st, r->app->datadir, name, r->lua, err))
            return -1;
        int dirty = 0;
        for (size_t p = 0; p < ml->nparams; p++) {
            const vb_param *par = &ml->params[p];
            int cadence = pick_cadence(par, kind);
            if (!(par->stations >> s & 1) || !wanted(params, par->name) || cadence < 0)
                continue;
            if (!vb_is_identifier(par->name)) {
                vb_log_msg(&r->app->log, VB_WARN,
                           "history: parameter '%s' is not a plain name; skipped", par->name);
                continue;
            }
            job *j = &r->jobs[r->njobs];
            *j = (job){si, par, cadence, (long long)ceil(start)};
            vb_hist_param *hp = vb_hist_param_get(st, par->name);
            if (!hp)
                return vb_fail(err, "out of memory");
            if (hp->has_tried && (!have_start || hp->last_tried + 1 > j->start)) {
                j->start = hp->last_tried + 1;
            } else if (!have_start) {
                return vb_fail(err,
                               "%s/%s: nothing to resume from (no last_tried in %s); give --start",
                               name, par->name, st->meta_path) -
                       1;
            } else if (!hp->has_tried) {
                /* Recorded before anything is fetched, so that an interrupted run resumes the
                 * parameters it never reached too, and a file that is not there yet is known
                 * to be empty. */
                hp->last_tried = j->start - 1;
                hp->has_tried = 1;
                char *csv = NULL;
                if (asprintf(&csv, "%s/%s.csv", st->dir, par->name) < 0)
                    return vb_fail(err, "out of memory");
                hp->bytes = vb_file_exists(csv) ? -1 : 0;
                free(csv);
                dirty = 1;
            }
            if (j->start <= r->end)
                r->total_s += (double)(r->end - j->start + 1);
            r->njobs++;
        }
        if (dirty && (vb_mkdir_p(st->dir, err) || vb_hist_save(st, err)))
            return -1;
    }
    if (r->njobs == 0)
        return vb_fail(err,
                       "nothing to download: no parameter of the chosen stations has a %s "
                       "cadence%s",
                       kind == CADENCE_PUBLIC    ? "public"
                       : kind == CADENCE_PRIVATE ? "private"
                                                 : "",
                       params->n ? " among the --param names" : "") -
               1;
    return 0;
}

static int setup(run *r, vb_err *err)
{
    if (!(r->ml = vb_app_masterlist_for_work(r->app, err)) || !(r->lua = vb_lua_new(r->app, err)))
        return -1;
    if (vb_secrets_load_private(r->app->secrets, r->app->insecure_secrets_ok, &r->app->log,
                                &r->secrets, err))
        return -1;
    const vb_cred *cred = vb_secrets_find(&r->secrets, r->app->server_host, err);
    if (!cred || vb_signals_open(&r->sig, err))
        return -1;
    vb_http_opts o = {
        .connect_timeout_ms = 30000,
        .timeout_ms = 300000,
        .cafile = r->app->cacert,
        .should_abort = vb_signals_should_abort,
        .abort_ud = &r->sig,
    };
    return (r->http = vb_http_new(r->app->server_url, cred, &o, err)) ? 0 : -1;
}

static void teardown(run *r)
{
    for (size_t i = 0; i < r->nstations; i++)
        vb_hist_station_free(&r->st[i]);
    free(r->st);
    free(r->stations);
    free(r->jobs);
    vb_http_free(r->http);
    vb_lua_free(r->lua);
    vb_signals_close(&r->sig);
    vb_secrets_free(&r->secrets);
}

static int download(run *r, vb_err *err)
{
    r->t0 = vb_now();
    for (size_t i = 0; i < r->njobs; i++)
        if (do_job(r, &r->jobs[i], err))
            return -1;
    return 0;
}

int cmd_history(vb_app *app, int argc, char **argv)
{
    const char *start = NULL, *end = NULL;
    int all = 0, pub = 0, priv = 0;
    double sleep_s = 1;
    vb_strlist params = {0};
    const vb_opt opts[] = {
        {.lname = "start",
         .kind = VB_OPT_STRING,
         .dest = &start,
         .metavar = "START",
         .help =
             "start time, unix seconds or ISO-8601 UTC (default: resume each parameter after its "
             "last_tried)"},
        {.lname = "end",
         .kind = VB_OPT_STRING,
         .dest = &end,
         .metavar = "END",
         .help = "end time (default: now)"},
        {.lname = "all",
         .kind = VB_OPT_FLAG,
         .dest = &all,
         .help = "window by the public cadence, else the private one"},
        {.lname = "public",
         .kind = VB_OPT_FLAG,
         .dest = &pub,
         .help = "only parameters with a public cadence"},
        {.lname = "private",
         .kind = VB_OPT_FLAG,
         .dest = &priv,
         .help = "only parameters with a private cadence"},
        {.lname = "param",
         .kind = VB_OPT_LIST,
         .dest = &params,
         .metavar = "PARAM",
         .help = "only this parameter (repeatable)"},
        {.lname = "sleep",
         .kind = VB_OPT_DOUBLE,
         .dest = &sleep_s,
         .metavar = "SECONDS",
         .help = "pause between requests, to spare the server (default 1)"},
    };
    const vb_cmdspec spec = {.prog = "vlbimon_bridge history",
                             .description =
                                 "download every parameter of every station over a time range into "
                                 "DATADIR/<station>/<param>.csv, resumably",
                             .opts = opts,
                             .nopts = VB_COUNT(opts)};
    int rc = vb_app_parse_options(app, &spec, argc, argv);
    if (rc >= 0) {
        vb_strlist_free(&params);
        return rc;
    }
    run r = {.app = app, .sleep = sleep_s};
    r.sig.fd = -1;
    double t_start = 0, t_end = vb_now();
    vb_err err;
    rc = VB_EXIT_USAGE;
    if (all + pub + priv != 1)
        fprintf(stderr, "%s: error: one of the arguments --all --public --private is required\n",
                spec.prog);
    else if (!(sleep_s >= 0) || sleep_s > 3600)
        fprintf(stderr, "%s: error: argument --sleep: must be between 0 and 3600 seconds\n",
                spec.prog);
    else if (start && vb_parse_time(start, &t_start, &err))
        fprintf(stderr, "%s: error: argument --start: %s\n", spec.prog, err.msg);
    else if (end && vb_parse_time(end, &t_end, &err))
        fprintf(stderr, "%s: error: argument --end: %s\n", spec.prog, err.msg);
    else if (start && t_end < t_start)
        fprintf(stderr, "%s: error: --end %s is before --start %s\n", spec.prog,
                end ? end : "(now)", start);
    else
        rc = -1;
    for (size_t i = 0; rc < 0 && i < params.n; i++) {
        const vb_masterlist *ml = vb_app_masterlist(app, &err);
        if (!ml) {
            vb_log_msg(&app->log, VB_ERROR, "history: %s", err.msg);
            rc = VB_EXIT_FAIL;
        } else if (!vb_masterlist_find(ml, params.v[i])) {
            fprintf(stderr, "%s: error: argument --param: %s is not in the masterlist %s\n",
                    spec.prog, params.v[i], app->masterlist);
            rc = VB_EXIT_USAGE;
        }
    }
    if (rc < 0) {
        cadence_kind kind = pub ? CADENCE_PUBLIC : priv ? CADENCE_PRIVATE : CADENCE_ALL;
        r.end = (long long)floor(t_end);
        r.tty = isatty(STDERR_FILENO);
        rc = VB_EXIT_OK;
        int prc = setup(&r, &err);
        if (prc == 0)
            prc = plan(&r, t_start, start != NULL, &params, kind, &err);
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
                       "connection(s); %zu/%zu parameter(s) done",
                       r.points, r.requests, r.errors, vb_http_connections(r.http), r.jobs_done,
                       r.njobs);
    }
    teardown(&r);
    vb_strlist_free(&params);
    return rc;
}
