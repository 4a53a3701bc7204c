/*
 * bridge.c - see bridge.h.
 *
 * The one invariant everything here serves: the cursor that asks vlbimon
 * for "what arrived after X" moves only in the transaction that stores the
 * rows of the answer that carried it. A crash before that commit fetches
 * the same answer again; a crash after it starts from the committed cursor.
 * The state file <datadir>/<host>.json is kept for the original's tools and
 * for the session id, but the database's cursor wins over it.
 *
 * An answer whose rows cannot be committed (disk full, a writer lock held
 * past the cycle, a database server restarting) is kept in memory and
 * committed before anything new is fetched, so a database hiccup costs
 * latency, never points. The log says so once when it is kept and once when
 * it is in, however many cycles it takes.
 */
#define _GNU_SOURCE
#include "cmd/bridge.h"

#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/http.h"
#include "host/lua_host.h"
#include "host/pipeline.h"
#include "host/rows.h"
#include "net/secrets.h"
#include "net/session.h"
#include "core/signals.h"
#include "cmd/backfill.h"
#include "cmd/state_file.h"
#include "db/sink.h"

/* The key of the cursor in bridge_state, named after the server's cookie. */
#define CURSOR_KEY "snap_recvTime"
/* A session that cannot be opened at start-up is retried this often (the original's pace). */
#define SESSION_RETRY_S 10.0
/* Backoff never exceeds this many cycles, nor five minutes, whatever Retry-After says. */
#define BACKOFF_CYCLES 30.0
#define BACKOFF_MAX_S 300.0
/* Pause between attempts to commit while a reader's lock outlasts the busy timeout. */
#define COMMIT_RETRY_S 0.05
/*
 * A saved cursor further ahead of the server's clock than this is refused
 * at start-up; up to it, a step back of the server's clock explains it.
 */
#define CURSOR_AHEAD_MAX_S 300.0
/* A Date header counts whole seconds, and the answer took a moment to arrive. */
#define DATE_SLACK_S 2.0
/* The busy timeout within a cycle: a longer lock is commit_result's to retry until the deadline. */
#define CYCLE_BUSY_S 0.1

typedef struct bridge {
    vb_app *app;
    double dt;
    int no_backfill;
    double bf_every, bf_burst; /* the backfill's budget */
    vb_sink_target target;     /* none: the debug printer */
    vb_signals sig;
    vb_secrets secrets;
    vb_http *http;
    vb_lua *lua;
    vb_pipeline *p;
    vb_sink *sink;   /* the database, or the debug printer without one */
    vb_backfill *bf; /* NULL: --no-backfill, or it could not start */
    vb_db_wait wait; /* the sink's lock waits: without a bound until the first cycle */
    int exit_asked;  /* PLEASE-EXIT appeared while waiting for a lock at start-up */
    char *session;
    char *cursor;
    const char *cursor_from; /* where the start-up cursor came from, for the log */
    double server_date;      /* the server's clock by a start-up answer's Date; -1: unknown */
    double server_date_at;   /* our clock when that answer arrived */
    char *state_path;
    char *exit_path;
    const vb_result *pending; /* an answer not yet committed (the pipeline's), or NULL */
    char *pending_cursor;     /* the cursor that answer carried */
    double pending_since;     /* when it was kept */
    double backoff_until;
    int backoff_level;
    uint64_t rng;
    long cycles, answers, rows;
} bridge;

/* xorshift64*: jitter only, so that many bridges do not retry in step. */
static double jitter(bridge *b)
{
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return (double)((b->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static int replace_str(char **dst, const char *src)
{
    char *s = vb_strdup(src);
    if (!s)
        return -1;
    free(*dst);
    *dst = s;
    return 0;
}

/*
 * RFC 6265 cookie-octets: the session id and the cursor come from the
 * server and from a file, and go back into a Cookie header; a ';', a quote
 * or a line break there would forge other cookies or headers.
 */
static int cookie_value_ok(const char *s)
{
    if (!*s || strlen(s) > 256)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\')
            return 0;
    }
    return 1;
}

/* docs/schema.md: Grafana must be able to write the WAL files the bridge creates. */
static void check_group(const vb_log *log)
{
    struct group *g = getgrnam("grafana");
    if (!g) {
        vb_log_msg(log, VB_WARN,
                   "group grafana does not exist; Grafana will not be able to read the "
                   "database while the bridge writes it (see docs/deployment.md)");
        return;
    }
    if (getegid() == g->gr_gid)
        return;
    gid_t groups[256];
    int n = getgroups(256, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] == g->gr_gid)
            return;
    vb_log_msg(log, VB_WARN,
               "this user is not in group grafana; make the database directory group grafana "
               "and add the user to it, or Grafana cannot read the WAL files");
}

/* Appends s as a JSON string. */
static int put_json_string(vb_buf *b, const char *s)
{
    if (vb_buf_puts(b, "\""))
        return -1;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int rc = c == '"' || c == '\\' ? vb_buf_printf(b, "\\%c", c)
                 : c < 0x20            ? vb_buf_printf(b, "\\u%04x", c)
                                       : vb_buf_append(b, s, 1);
        if (rc)
            return -1;
    }
    return vb_buf_puts(b, "\"");
}

/* The original's state file, written whole or not at all. */
static void write_state(bridge *b)
{
    vb_buf j = {0};
    vb_err err;
    int rc = vb_buf_puts(&j, "{\"last_snap\": ") || put_json_string(&j, b->cursor) ||
             vb_buf_puts(&j, ", \"sessionid\": ") ||
             (b->session ? put_json_string(&j, b->session) : vb_buf_puts(&j, "null")) ||
             vb_buf_puts(&j, "}\n");
    if (rc)
        vb_log_msg(&b->app->log, VB_WARN, "%s: out of memory", b->state_path);
    else if (vb_write_atomic(b->state_path, j.data, j.len, &err))
        vb_log_msg(&b->app->log, VB_WARN, "state file: %s", err.msg);
    vb_buf_free(&j);
}

/* Reads <datadir>/<host>.json; a missing file is normal, a corrupt one is reported and ignored. */
static void read_state(bridge *b, char **last_snap)
{
    *last_snap = NULL;
    if (!vb_file_exists(b->state_path))
        return;
    vb_err err;
    size_t len;
    char *text = vb_read_file(b->state_path, &len, &err);
    if (!text) {
        vb_log_msg(&b->app->log, VB_WARN, "state file %s ignored: %s", b->state_path, err.msg);
        return;
    }
    vb_state_file st;
    int rc = vb_state_parse(b->lua, text, len, &st, &err);
    free(text);
    if (rc) {
        vb_log_msg(&b->app->log, VB_WARN, "state file %s is corrupt (%s); ignored", b->state_path,
                   err.msg);
        return;
    }
    if (st.last_snap && cookie_value_ok(st.last_snap)) {
        *last_snap = st.last_snap;
        st.last_snap = NULL;
    } else if (st.last_snap || st.last_snap_bad) {
        vb_log_msg(&b->app->log, VB_WARN, "state file %s: last_snap is not a cursor; ignored",
                   b->state_path);
    }
    if (st.sessionid && cookie_value_ok(st.sessionid))
        replace_str(&b->session, st.sessionid);
    vb_state_file_free(&st);
}

/* What a start-up answer's Date header says of the server's clock, for settle_cursor. */
static void note_server_clock(bridge *b, const vb_http_resp *r)
{
    if (r->date < 0)
        return;
    /* The header counts whole seconds: the middle of its second is the best guess. */
    b->server_date = r->date + 0.5;
    b->server_date_at = vb_now();
}

/*
 * POST /session, the one request with the account's credentials besides
 * the PATCH of a saved session: snapshots carry the session cookie only.
 * On success b->session holds the new id; *cert_failed says whether it
 * failed on the server's certificate.
 */
static int open_session(bridge *b, int *cert_failed, vb_err *err)
{
    vb_http_resp r;
    int rc = vb_http_request(b->http, "POST", "/session", NULL, VB_HTTP_CRED, &r, err);
    *cert_failed = r.cert_failed;
    if (rc == 0)
        note_server_clock(b, &r);
    if (rc == 0 && (r.status < 200 || r.status > 299))
        rc = vb_fail(err, "POST /session: HTTP %ld", r.status);
    if (rc == 0) {
        char *id = NULL;
        if (vb_session_id(b->lua, r.body.data, r.body.len, &id, err) || !cookie_value_ok(id)) {
            rc = vb_fail(err, "POST /session: the answer has no usable session id");
            free(id);
        } else {
            free(b->session);
            b->session = id;
        }
    }
    vb_http_resp_free(&r);
    return rc;
}

/*
 * The next wait of the exponential backoff: from one cycle up to
 * BACKOFF_CYCLES cycles or BACKOFF_MAX_S, with jitter; a longer
 * retry_after (seconds, -1 for none) is honoured up to the same cap.
 */
static double next_backoff(bridge *b, double retry_after)
{
    double cap = fmin(BACKOFF_MAX_S, BACKOFF_CYCLES * b->dt);
    double wait = b->dt * ldexp(1.0, b->backoff_level < 20 ? b->backoff_level : 20);
    wait = fmin(cap, wait) * (0.5 + 0.5 * jitter(b));
    if (retry_after > wait)
        wait = fmin(cap, retry_after);
    if (b->backoff_level < 20)
        b->backoff_level++;
    return wait;
}

/* No snapshot until the backoff's wait is over; why names the failure. */
static void back_off(bridge *b, double retry_after, const char *why)
{
    double wait = next_backoff(b, retry_after);
    b->backoff_until = vb_now() + wait;
    vb_log_msg(&b->app->log, VB_WARN, "snapshot: %s; backing off %.1f s (cursor kept)", why, wait);
}

/*
 * A saved session is reused when PATCH says it is alive; otherwise a new
 * one is opened, retried every SESSION_RETRY_S until the server answers. A
 * certificate that fails verification will not heal by itself in seconds,
 * so that is retried with the snapshots' backoff instead.
 */
static int start_session(bridge *b)
{
    const vb_log *log = &b->app->log;
    vb_err err;
    if (b->session) {
        vb_buf path = {0};
        char *id = vb_http_escape(b->http, b->session);
        vb_http_resp r = {0};
        int answered = 0;
        if (id && vb_buf_printf(&path, "/session/%s", id) == 0)
            answered =
                vb_http_request(b->http, "PATCH", path.data, NULL, VB_HTTP_CRED, &r, &err) == 0;
        else
            vb_fail(&err, "out of memory");
        if (answered)
            note_server_clock(b, &r);
        int alive = answered && r.status >= 200 && r.status <= 299;
        vb_http_resp_free(&r);
        vb_buf_free(&path);
        free(id);
        if (alive) {
            vb_log_msg(log, VB_INFO, "session restored");
            return 0;
        }
        if (answered)
            vb_log_msg(log, VB_INFO, "saved session expired; opening a new one");
        else
            vb_log_msg(log, VB_INFO, "saved session not checked (%s); opening a new one", err.msg);
    }
    int cert_failed;
    while (open_session(b, &cert_failed, &err)) {
        double wait = SESSION_RETRY_S;
        if (cert_failed) {
            wait = next_backoff(b, -1);
            vb_log_msg(log, VB_WARN, "cannot open a session (%s); backing off %.1f s", err.msg,
                       wait);
        } else {
            vb_log_msg(log, VB_WARN, "cannot open a session (%s); retrying in %.0f s", err.msg,
                       wait);
        }
        if (vb_signals_sleep_until(&b->sig, vb_now() + wait))
            return -1;
    }
    b->backoff_level = 0;
    vb_log_msg(log, VB_INFO, "session opened");
    return 0;
}

/*
 * Stores the result with its cursor in one transaction (the sink's contract:
 * both or neither), retrying a busy database until the cycle's deadline.
 */
static int commit_result(bridge *b, const vb_result *res, const char *cursor, double deadline,
                         vb_sink_stats *st, vb_err *err)
{
    for (;;) {
        *st = (vb_sink_stats){0};
        int ok = vb_sink_begin(b->sink, err) == 0 && vb_sink_store(b->sink, res, st, err) == 0 &&
                 (!b->bf || vb_backfill_stage(b->bf, cursor, err) == 0) &&
                 vb_sink_state_set(b->sink, CURSOR_KEY, cursor, err) == 0 &&
                 vb_sink_commit(b->sink, err) == 0;
        if (b->bf)
            vb_backfill_settle(b->bf, ok);
        if (ok)
            return 0;
        vb_sink_rollback(b->sink);
        if (vb_signals_poll(&b->sig) || vb_now() + COMMIT_RETRY_S >= deadline)
            return -1;
        vb_signals_sleep_until(&b->sig, vb_now() + COMMIT_RETRY_S);
    }
}

/* The answer is safe: move the cursor, tell the log, rewrite the state file. */
static void committed(bridge *b, char **cursor, const vb_sink_stats *st, double fetch_s,
                      double store_s)
{
    free(b->cursor);
    b->cursor = *cursor;
    *cursor = NULL;
    b->answers++;
    b->rows += st->rows;
    double c;
    char lag[32] = "?";
    if (vb_parse_double(b->cursor, &c) == 0)
        snprintf(lag, sizeof lag, "%.1f", vb_now() - c);
    vb_log_msg(&b->app->log, VB_INFO,
               "snapshot: %ld rows, %ld status rows, %ld skipped; lag %s s, fetch %.0f ms, "
               "store %.0f ms",
               st->rows, st->status_rows, st->skipped, lag, fetch_s * 1000, store_s * 1000);
    vb_log_msg(&b->app->log, VB_DEBUG, "memory: Lua %zu KiB", vb_lua_memory(b->lua) / 1024);
    write_state(b);
}

/* An answer kept from an earlier cycle goes in before anything new is fetched. */
static int flush_pending(bridge *b, double deadline)
{
    if (!b->pending)
        return 0;
    vb_sink_stats st;
    vb_err err;
    double t0 = vb_now();
    if (commit_result(b, b->pending, b->pending_cursor, deadline, &st, &err)) {
        vb_log_msg(&b->app->log, VB_DEBUG,
                   "database: %s; the answer is still kept, retrying next cycle", err.msg);
        return -1;
    }
    vb_log_msg(&b->app->log, VB_NOTICE, "database: the answer kept for %.1f s is committed",
               vb_now() - b->pending_since);
    b->pending = NULL;
    committed(b, &b->pending_cursor, &st, 0, vb_now() - t0);
    return 0;
}

/* One GET /data/snapshot: 1 = an answer to store is in *res (cursor in *next). */
static int fetch(bridge *b, const vb_result **res, char **next, double *fetch_s)
{
    const vb_log *log = &b->app->log;
    for (int attempt = 0; attempt < 2; attempt++) {
        vb_buf cookie = {0};
        vb_http_resp r;
        vb_err err;
        if (vb_buf_printf(&cookie, "sessionid=%s; snap_recvTime=%s", b->session ? b->session : "",
                          b->cursor)) {
            vb_log_msg(log, VB_ERROR, "snapshot: out of memory");
            return 0;
        }
        vb_log_msg(log, VB_DEBUG, "GET /data/snapshot from cursor %s", b->cursor);
        int rc = vb_http_request(b->http, "GET", "/data/snapshot", cookie.data, VB_HTTP_NO_CRED, &r,
                                 &err);
        vb_buf_free(&cookie);
        *fetch_s = r.seconds;
        if (rc) {
            if (r.cert_failed)
                back_off(b, -1, err.msg);
            else if (!b->sig.stop)
                vb_log_msg(log, VB_WARN, "snapshot: %s; trying again next cycle (cursor kept)",
                           err.msg);
            vb_http_resp_free(&r);
            return 0;
        }
        long status = r.status;
        if ((status == 401 || status == 403) && attempt == 0) {
            vb_http_resp_free(&r);
            vb_log_msg(log, VB_WARN, "snapshot: HTTP %ld, the session expired; opening a new one",
                       status);
            int cert_failed;
            if (open_session(b, &cert_failed, &err)) {
                if (cert_failed)
                    back_off(b, -1, err.msg);
                else
                    vb_log_msg(log, VB_WARN, "%s; trying again next cycle", err.msg);
                return 0;
            }
            continue;
        }
        if (status == 429 || status == 503 || status >= 500) {
            char why[32];
            snprintf(why, sizeof why, "HTTP %ld", status);
            back_off(b, r.retry_after, why);
            vb_http_resp_free(&r);
            return 0;
        }
        if (status != 200) {
            vb_log_msg(log, VB_WARN, "snapshot: HTTP %ld; trying again next cycle (cursor kept)",
                       status);
            vb_http_resp_free(&r);
            return 0;
        }
        b->backoff_level = 0;
        *next = vb_http_cookie(&r, "snap_recvTime");
        if (!*next || !cookie_value_ok(*next)) {
            vb_log_msg(log, VB_WARN,
                       "snapshot: the answer set no usable snap_recvTime cookie; it is not used, "
                       "because without its cursor it would be fetched again");
            free(*next);
            *next = NULL;
            vb_http_resp_free(&r);
            return 0;
        }
        vb_log_msg(log, VB_DEBUG, "snapshot: %zu bytes (%ld on the wire), next cursor %s",
                   r.body.len, r.wire_bytes, *next);
        rc = vb_pipeline_run_json(b->p, r.body.data, r.body.len, vb_now(), r.seconds, res, &err);
        vb_http_resp_free(&r);
        if (rc) {
            vb_log_msg(log, VB_WARN, "snapshot: %s; the answer is not used (cursor kept)", err.msg);
            free(*next);
            *next = NULL;
            return 0;
        }
        return 1;
    }
    return 0;
}

/*
 * A cycle without an answer still writes the bridge's own series, as the
 * original did with its empty snapshot: bridge_points 0 is how dashboards
 * and alert rules see that vlbimon is not answering. The cursor stays.
 */
static void record_idle(bridge *b, double fetch_s, double deadline)
{
    vb_err err;
    vb_sink_stats st;
    const vb_result *res;
    if (vb_pipeline_run_json(b->p, "{}", 2, vb_now(), fetch_s, &res, &err) == 0 &&
        commit_result(b, res, b->cursor, deadline, &st, &err) == 0)
        return;
    vb_log_msg(&b->app->log, VB_WARN, "the bridge's own series of this cycle: %s", err.msg);
}

/*
 * On the way out: the backfill's requests and rows since the last snapshot's
 * transaction, which would otherwise go uncounted in bridge_backfill*.
 */
static void record_backfill(bridge *b)
{
    static const vb_result none = {0};
    vb_sink_stats st;
    vb_err err;
    if (b->bf && !b->pending &&
        commit_result(b, &none, b->cursor, vb_now() + COMMIT_RETRY_S * 20, &st, &err))
        vb_log_msg(&b->app->log, VB_WARN, "the backfill's last counts: %s", err.msg);
}

static void cycle(bridge *b, double deadline)
{
    b->cycles++;
    if (flush_pending(b, deadline))
        return;
    if (vb_now() < b->backoff_until) {
        vb_log_msg(&b->app->log, VB_DEBUG, "backing off for %.1f s more",
                   b->backoff_until - vb_now());
        record_idle(b, 0, deadline);
        return;
    }
    char *next = NULL;
    double fetch_s = 0;
    const vb_result *res;
    if (b->bf)
        vb_backfill_snapshot_sent(b->bf);
    if (!fetch(b, &res, &next, &fetch_s)) {
        if (!b->sig.stop)
            record_idle(b, fetch_s, deadline);
        return;
    }
    vb_sink_stats st;
    vb_err err;
    double t0 = vb_now();
    if (commit_result(b, res, next, deadline, &st, &err) == 0) {
        committed(b, &next, &st, fetch_s, vb_now() - t0);
        return;
    }
    /* The result is the pipeline's until it runs again, so nothing runs again until it is stored.
     */
    b->pending = res;
    b->pending_cursor = next;
    b->pending_since = vb_now();
    vb_log_msg(&b->app->log, VB_ERROR,
               "database: %s; the answer is kept in memory and committed before the next fetch",
               err.msg);
}

static void reload(bridge *b, const char *why)
{
    vb_err err;
    if (vb_pipeline_reload(b->p, &err))
        vb_log_msg(&b->app->log, VB_ERROR, "transformers not reloaded (%s): %s", why, err.msg);
    else
        vb_log_msg(&b->app->log, VB_NOTICE, "transformers reloaded (%s)", why);
    if (b->bf)
        vb_backfill_reload(b->bf, why);
}

static int please_exit(bridge *b, const char *when)
{
    if (!vb_file_exists(b->exit_path))
        return 0;
    if (unlink(b->exit_path) != 0)
        vb_log_msg(&b->app->log, VB_WARN, "cannot remove %s: %s", b->exit_path, strerror(errno));
    vb_log_msg(&b->app->log, VB_NOTICE, "%s found: exiting %s", b->exit_path, when);
    return 1;
}

/*
 * At start-up a lock on the database is waited for as long as it takes (a
 * restart would only meet the same reader again), but SIGTERM, SIGINT and
 * PLEASE-EXIT still end the wait.
 */
static int stop_waiting(void *ud)
{
    bridge *b = ud;
    b->exit_asked = b->exit_asked || vb_file_exists(b->exit_path);
    return vb_signals_poll(&b->sig) || b->exit_asked;
}

static void run(bridge *b)
{
    double next = vb_now();
    while (!b->sig.stop) {
        if (b->sig.reload) {
            b->sig.reload = 0;
            reload(b, "SIGHUP");
        } else if (vb_pipeline_changed(b->p)) {
            reload(b, "a file in transformers/ changed");
        }
        /* Deadline scheduling: the period runs from the start of one fetch to the next. */
        double start = vb_now();
        if (start > next)
            next = start;
        next += b->dt;
        cycle(b, next);
        /* Between snapshots only: never while an answer waits, vlbimon is backing us off, or we
         * stop. */
        if (b->bf && !b->pending && vb_now() >= b->backoff_until && !b->sig.stop)
            vb_backfill_work(b->bf, next);
        /*
         * A full snapshot churns megabytes through malloc (body, Lua tables,
         * dirty pages); hand the free pages back so a months-long run stays
         * at its working set instead of its worst cycle.
         */
        malloc_trim(0);
        if (please_exit(b, "after a complete cycle"))
            break;
        vb_signals_sleep_until(&b->sig, next);
    }
}

/* --start, else the database's cursor, else the state file's; none means now (settle_cursor). */
static int choose_cursor(bridge *b, const char *start, vb_err *err)
{
    const vb_log *log = &b->app->log;
    char *from_file = NULL, *from_db = NULL;
    read_state(b, &from_file);
    if (vb_sink_state_get(b->sink, CURSOR_KEY, &from_db, err)) {
        free(from_file);
        return -1;
    }
    double t = 0;
    char buf[64];
    const char *pick = NULL;
    vb_err why;
    int rc = 0;
    if (start) {
        if (vb_parse_time(start, &t, &why))
            rc = vb_fail(err, "argument --start: %s", why.msg);
        if (t != 0) {
            snprintf(buf, sizeof buf, "%.0f", floor(t));
            pick = buf;
        }
        b->cursor_from = t != 0 ? "--start" : "--start 0";
    } else if (from_db) {
        pick = from_db;
        b->cursor_from = "the database";
    } else if (from_file) {
        pick = from_file;
        b->cursor_from = b->state_path;
    } else {
        b->cursor_from = "no saved cursor";
    }
    if (from_db && from_file && strcmp(from_db, from_file) != 0 && !start)
        vb_log_msg(log, VB_INFO, "the state file's cursor %s differs; the database's %s wins",
                   from_file, from_db);
    if (rc == 0 && pick && replace_str(&b->cursor, pick))
        rc = vb_fail(err, "out of memory");
    free(from_file);
    free(from_db);
    return rc;
}

/* A span of seconds, with its size in words an operator takes in at a glance. */
static const char *span(double s, char *buf, size_t n)
{
    if (s >= 2 * 86400)
        snprintf(buf, n, "%.0f s (%.0f days)", s, s / 86400);
    else if (s >= 2 * 3600)
        snprintf(buf, n, "%.0f s (%.1f h)", s, s / 3600);
    else if (s >= 120)
        snprintf(buf, n, "%.0f s (%.0f min)", s, s / 60);
    else
        snprintf(buf, n, "%.0f s", s);
    return buf;
}

/*
 * The cursor is the server's receive time, so the server's clock judges it,
 * never ours (docs/commands.md, "The cursor counts in the server's clock"):
 * one ahead of our clock is kept (moving it back would fetch stored points
 * again), "now" is the server's now, and one far ahead of the server's
 * clock is refused, because the server would answer nothing until its
 * clock passed it.
 */
static int settle_cursor(bridge *b, vb_err *err)
{
    const vb_log *log = &b->app->log;
    double now = vb_now();
    int known = b->server_date >= 0;
    double server_now = known ? b->server_date + (now - b->server_date_at) : now;
    double t = server_now;
    int judged = b->cursor && vb_parse_double(b->cursor, &t) == 0;
    const char *now_by = NULL;
    char ct[32], st[32], buf[64], s1[64], s2[64];
    vb_iso8601(t, ct);
    vb_iso8601(server_now, st);
    if (!b->cursor) {
        snprintf(buf, sizeof buf, "%.0f", floor(server_now));
        if (replace_str(&b->cursor, buf))
            return vb_fail(err, "out of memory");
        now_by = known ? "the server's" : "our";
    }
    if (judged && known && t - server_now > CURSOR_AHEAD_MAX_S)
        return vb_fail(err,
                       "cursor %s (%s) from %s is %s ahead of the server's clock (%s by its "
                       "Date header): the server would send nothing until its clock passes it. "
                       "%s Start with --start TIME (--start 0: from now), then fill the time in "
                       "between with history and insert",
                       b->cursor, ct, b->cursor_from, span(t - server_now, s1, sizeof s1), st,
                       strcmp(b->cursor_from, "--start") == 0
                           ? "--start counts in the server's clock."
                           : "Was it written by a bridge talking to a simulator whose clock ran "
                             "fast or ahead, or is the value corrupt?");
    if (judged && known && t - server_now > DATE_SLACK_S)
        vb_log_msg(log, VB_WARN,
                   "cursor %s from %s is %s ahead of the server's clock (%s by its Date "
                   "header); kept: up to %.0f s is taken for a step of the server's clock",
                   b->cursor, b->cursor_from, span(t - server_now, s1, sizeof s1), st,
                   CURSOR_AHEAD_MAX_S);
    else if (known && server_now - now > DATE_SLACK_S && judged && t > now)
        vb_log_msg(log, VB_WARN,
                   "the server's clock is %s ahead of ours (%s by its Date header); cursor "
                   "%s from %s, %s ahead of our clock, is kept",
                   span(server_now - now, s1, sizeof s1), st, b->cursor, b->cursor_from,
                   span(t - now, s2, sizeof s2));
    else if (known && server_now - now > DATE_SLACK_S)
        vb_log_msg(log, VB_WARN, "the server's clock is %s ahead of ours (%s by its Date header)",
                   span(server_now - now, s1, sizeof s1), st);
    else if (!known && judged && t > now)
        vb_log_msg(log, VB_WARN,
                   "cursor %s from %s is %s ahead of our clock, so the server's clock is at "
                   "least that far ahead of ours (its answers carry no Date header to check "
                   "it); kept",
                   b->cursor, b->cursor_from, span(t - now, s1, sizeof s1));
    if (now_by)
        vb_log_msg(log, VB_NOTICE, "cursor %s (now by %s clock; %s)", b->cursor, now_by,
                   b->cursor_from);
    else
        vb_log_msg(log, VB_NOTICE, "cursor %s (from %s)", b->cursor, b->cursor_from);
    return 0;
}

/* The snapshots go on without backfill when it cannot start: they are the bridge's first job. */
static void start_backfill(bridge *b, const vb_masterlist *ml, const char *transformers, int afresh)
{
    vb_backfill_opts o = {.app = b->app,
                          .ml = ml,
                          .sink = b->sink,
                          .http = b->http,
                          .transformers = transformers,
                          .dt = b->dt,
                          .every = b->bf_every,
                          .burst = b->bf_burst};
    vb_err err;
    if (!(b->bf = vb_backfill_new(&o, b->cursor, afresh, &err)))
        vb_log_msg(&b->app->log, VB_ERROR, "backfill: %s; going on without backfill", err.msg);
}

static int setup(bridge *b, const char *start, int wal, const char *transformers, vb_err *err)
{
    vb_app *app = b->app;
    char ts[32];
    vb_iso8601(vb_now(), ts);
    /* The original's first line, which operators grep for in nohup.out. */
    fprintf(stderr, "bridge starting %s\n", ts);
    fflush(stderr);
    umask(002);
    const vb_masterlist *ml = vb_app_masterlist_for_work(app, err);
    if (!ml || vb_signals_open(&b->sig, err))
        return -1;
    vb_buf path = {0};
    if (vb_buf_printf(&path, "%s/PLEASE-EXIT", app->datadir))
        return vb_fail(err, "out of memory");
    b->exit_path = path.data;
    path = (vb_buf){0};
    if (b->target.sqlitedb || b->target.postgres) {
        if (b->target.sqlitedb)
            check_group(&app->log);
        b->wait = (vb_db_wait){
            .log = &app->log, .bound_s = VB_DB_WAIT_FOREVER, .stop = stop_waiting, .stop_ud = b};
        vb_sink_opts so = {
            .log = &app->log, .ml = ml, .skip_broken = 1, .wal_pages = wal, .wait = &b->wait};
        b->sink = vb_sink_open(&b->target, &so, err);
    } else {
        b->sink = vb_sink_print_open(err);
    }
    if (!b->sink)
        return -1;
    if (vb_secrets_load_private(app->secrets, app->insecure_secrets_ok, &app->log, &b->secrets,
                                err))
        return -1;
    const vb_cred *cred = vb_secrets_find(&b->secrets, app->server_host, err);
    if (!cred)
        return -1;
    /* Timeouts below --dt, so a stalled server costs one cycle, not the schedule. */
    vb_http_opts o = {
        .connect_timeout_ms = (long)fmax(1, fmin(10000, b->dt * 500)),
        .timeout_ms = (long)fmax(1, b->dt * 800),
        .cafile = app->cacert,
        .should_abort = vb_signals_should_abort,
        .abort_ud = &b->sig,
    };
    if (!(b->http = vb_http_new(app->server_url, cred, &o, err)))
        return -1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/transformers", app->root);
    if (!transformers)
        transformers = dir;
    if (!(b->lua = vb_lua_new(app, err)) || !(b->p = vb_pipeline_new(b->lua, transformers, err)))
        return -1;
    if (vb_pipeline_restore_status(b->p, b->sink, err))
        return -1;
    if (vb_mkdir_p(app->datadir, err))
        return -1;
    if (vb_buf_printf(&path, "%s/%s.json", app->datadir, app->server_host))
        return vb_fail(err, "out of memory");
    b->state_path = path.data;
    if (choose_cursor(b, start, err))
        return -1;
    if (start_session(b))
        return vb_fail(err, "stopped before a session could be opened");
    if (settle_cursor(b, err))
        return -1;
    if (!b->no_backfill)
        start_backfill(b, ml, transformers, start != NULL);
    return 0;
}

static void teardown(bridge *b)
{
    vb_backfill_free(b->bf);
    vb_pipeline_free(b->p);
    vb_lua_free(b->lua);
    vb_sink_close(b->sink);
    vb_http_free(b->http);
    vb_signals_close(&b->sig);
    vb_secrets_free(&b->secrets);
    free(b->session);
    free(b->cursor);
    free(b->pending_cursor);
    free(b->state_path);
    free(b->exit_path);
}

int cmd_bridge(vb_app *app, int argc, char **argv)
{
    const char *start = NULL, *sqlitedb = NULL, *postgres = NULL, *transformers = NULL;
    double dt = 10, every = VB_BACKFILL_EVERY, burst = VB_BACKFILL_BURST;
    long wal = 1000;
    int no_backfill = 0;
    const vb_opt opts[] = {
        {.lname = "start",
         .kind = VB_OPT_STRING,
         .dest = &start,
         .metavar = "START",
         .help =
             "start time, unix seconds or ISO-8601 UTC (0 = now; default: the saved cursor, else "
             "now)"},
        {.lname = "dt",
         .kind = VB_OPT_DOUBLE,
         .dest = &dt,
         .metavar = "DT",
         .help = "seconds between snapshots (default 10)"},
        {.lname = "sqlitedb",
         .kind = VB_OPT_STRING,
         .dest = &sqlitedb,
         .metavar = "SQLITEDB",
         .help = "database to write (made by initdb); without it, print the rows to stdout"},
        {.lname = "postgres",
         .kind = VB_OPT_STRING,
         .dest = &postgres,
         .metavar = "CONNINFO",
         .help = "a PostgreSQL database to write instead (made by initdb --postgres; a libpq "
                 "connection string or postgresql:// URI)"},
        {.lname = "wal",
         .kind = VB_OPT_INT,
         .dest = &wal,
         .metavar = "WAL",
         .help = "WAL autocheckpoint interval in pages (default 1000; 0: no WAL)"},
        {.lname = "transformers",
         .kind = VB_OPT_STRING,
         .dest = &transformers,
         .metavar = "DIR",
         .help = "transformer files to run (default: the installed transformers/)"},
        {.lname = "no-backfill",
         .kind = VB_OPT_FLAG,
         .dest = &no_backfill,
         .help = "store what the snapshots carry and nothing else, as the original did"},
        {.lname = "backfill-every",
         .kind = VB_OPT_DOUBLE,
         .dest = &every,
         .metavar = "N",
         .help = "backfill with at most one history request per N snapshots on average "
                 "(default 30)"},
        {.lname = "backfill-burst",
         .kind = VB_OPT_DOUBLE,
         .dest = &burst,
         .metavar = "N",
         .help = "and at most N in a row, one between two snapshots (default 30)"},
    };
    const vb_cmdspec spec = {.prog = "vlbimon_bridge bridge",
                             .description =
                                 "copy vlbimon snapshots into the database every DT seconds",
                             .opts = opts,
                             .nopts = VB_COUNT(opts)};
    int rc = vb_app_parse_options(app, &spec, argc, argv);
    if (rc >= 0)
        return rc;
    if (!(dt > 0) || dt > 86400) {
        fprintf(stderr, "%s: error: argument --dt: must be between 0 and 86400 seconds\n",
                spec.prog);
        return VB_EXIT_USAGE;
    }
    if (wal < 0 || wal > 1000000000) {
        fprintf(stderr, "%s: error: argument --wal: must be 0 or a number of pages\n", spec.prog);
        return VB_EXIT_USAGE;
    }
    if (!(every >= 1) || every > 1e6 || !(burst >= 1) || burst > 1e6) {
        fprintf(stderr, "%s: error: argument --backfill-%s: must be between 1 and 1000000\n",
                spec.prog, !(every >= 1) || every > 1e6 ? "every" : "burst");
        return VB_EXIT_USAGE;
    }
    if ((rc = vb_app_databases(&spec, sqlitedb, postgres, 0)) >= 0)
        return rc;
    bridge b = {.app = app,
                .dt = dt,
                .no_backfill = no_backfill,
                .bf_every = every,
                .bf_burst = burst,
                .target = {.sqlitedb = sqlitedb, .postgres = postgres},
                .server_date = -1};
    b.sig.fd = -1;
    b.rng = (uint64_t)(vb_now() * 1e6) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    vb_err err;
    rc = VB_EXIT_OK;
    if (setup(&b, start, (int)wal, transformers, &err)) {
        /* Stopped while waiting for the server or the database at start-up: asked for. */
        if (b.sig.stop) {
            vb_log_msg(&app->log, VB_NOTICE, "bridge stopping on %s before its first cycle",
                       b.sig.last == SIGINT ? "SIGINT" : "SIGTERM");
        } else if (!b.exit_asked || !please_exit(&b, "before the first cycle")) {
            vb_log_msg(&app->log, VB_ERROR, "bridge: %s", err.msg);
            rc = VB_EXIT_FAIL;
        }
    } else {
        b.wait = (vb_db_wait){.log = &app->log, .bound_s = CYCLE_BUSY_S};
        run(&b);
        record_backfill(&b);
        vb_log_msg(&app->log, VB_NOTICE,
                   "bridge stopping%s: %ld cycles, %ld answers stored (%ld rows), cursor %s, "
                   "%ld connection(s) used",
                   b.sig.stop ? (b.sig.last == SIGINT ? " on SIGINT" : " on SIGTERM") : "",
                   b.cycles, b.answers, b.rows, b.cursor, vb_http_connections(b.http));
        if (b.bf) {
            char line[256];
            vb_backfill_summary(b.bf, line, sizeof line);
            vb_log_msg(&app->log, VB_NOTICE, "%s", line);
        }
        if (b.pending)
            vb_log_msg(&app->log, VB_WARN,
                       "the last answer could not be committed; its cursor was not saved, so "
                       "the next start fetches it again");
    }
    teardown(&b);
    return rc;
}
