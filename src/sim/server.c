/*
 * server.c - see server.h.
 *
 * Every answer is built completely in memory, then handed to libmicrohttpd
 * whole, cut short or dropped halfway, so a fault changes only the bytes on
 * the wire and never what the simulator believes it served.
 */
#include "sim/server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "sim/emit.h"

#define REALM "vlbimon"
#define OPAQUE "5ccc069c403ebaf9f0171e9517f40e41"
#define NONCE_TIMEOUT_S 300
/* A client without a cursor gets what a station reported in the last ten minutes. */
#define FIRST_WINDOW_MS 600000
#define FUTURE_MS (9LL * 365 * 86400 * 1000)
#define BOGUS_Y2K 946684800
#define MAX_HISTORY_POINTS 1000000
#define MAX_QUERY_VALUES 1024
#define LONG_NAME_BYTES 10240
#define LONG_VALUE_BYTES (1024 * 1024)
/* Where --fault-time-negative puts a point: a year before 1970. */
#define PRE_1970_MS (-365LL * 86400 * 1000)

static const char *const bad_names[] = {"x; DROP TABLE y", "bad name", "\"quoted\"",
                                        "../../etc/passwd"};
static const char *const bad_numbers[] = {"NaN", "Infinity", "-Infinity", "1e308", "-1.5e308"};
static const char non_utf8[] = "caf\xe9 \xff\xfe";

typedef enum { SEND_WHOLE, SEND_TRUNCATED, SEND_DROPPED } send_mode;

typedef struct reply {
    unsigned status;
    vb_buf body;
    char cookie[96];
    int retry_after;
    int challenge; /* ask for credentials (WWW-Authenticate) */
    int stale;     /* Digest: the nonce was old, not the password wrong */
    send_mode mode;
} reply;

int64_t sim_server_now_ms(const sim_server *srv)
{
    double elapsed = sim_monotonic() - srv->t0;
    return srv->cfg.start_ms + (int64_t)(elapsed * srv->cfg.speed * 1000.0);
}

/*
 * A real server's Date and its receive times come from one clock; ours are
 * simulated, so the Date is too (libmicrohttpd adds its own, from the real
 * clock, only when a response has none). The bridge judges a saved cursor
 * against it.
 */
static void add_date(const sim_server *srv, struct MHD_Response *resp)
{
    static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t ms = sim_server_now_ms(srv);
    time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
    struct tm tm;
    char date[64];
    if (!gmtime_r(&t, &tm))
        return;
    snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_DATE, date);
}

static int fail_body(reply *r, unsigned status, const char *msg)
{
    r->status = status;
    r->body.len = 0;
    return vb_buf_puts(&r->body, "{\"error\": ") || sim_json_str(&r->body, msg) ||
                   vb_buf_puts(&r->body, "}\n")
               ? -1
               : 0;
}

/* "gzip" among the codings, unless the client gave it q=0. */
static int accepts_gzip(struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
    while (h && *h) {
        h += strspn(h, " \t,");
        size_t n = strcspn(h, ",");
        size_t tok = strcspn(h, ";, \t");
        if (tok == 4 && strncasecmp(h, "gzip", 4) == 0) {
            const char *q = h + tok;
            const char *qe = h + n;
            q += strspn(q, " \t;");
            if (q >= qe || strncasecmp(q, "q=", 2) != 0)
                return 1;
            return strtod(q + 2, NULL) > 0;
        }
        h += n;
    }
    return 0;
}

typedef struct dropper {
    char *data;
    size_t cut;
} dropper;

/* Hands out the first part of the body, then fails, which makes MHD close the connection. */
static ssize_t drop_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    dropper *d = cls;
    if (pos >= d->cut)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = d->cut - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, d->data + pos, n);
    return (ssize_t)n;
}

static void drop_free(void *cls)
{
    dropper *d = cls;
    free(d->data);
    free(d);
}

static struct MHD_Response *make_response(const char *data, size_t len, send_mode mode,
                                          size_t *wire)
{
    if (mode == SEND_TRUNCATED)
        len /= 2;
    *wire = len;
    if (mode != SEND_DROPPED)
        return MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    dropper *d = malloc(sizeof *d);
    char *copy = malloc(len ? len : 1);
    if (!d || !copy) {
        free(d);
        free(copy);
        return NULL;
    }
    memcpy(copy, data, len);
    *d = (dropper){copy, len / 2};
    *wire = len / 2;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(len, 4096, drop_read, d, drop_free);
    if (!resp)
        drop_free(d);
    return resp;
}

static enum MHD_Result send_reply(sim_server *srv, struct MHD_Connection *c, const char *method,
                                  const char *url, reply *r)
{
    vb_buf zipped = {0};
    vb_err err;
    const char *data = r->body.data ? r->body.data : "";
    size_t len = r->body.len;
    int gz = len > 0 && accepts_gzip(c);
    if (gz) {
        if (sim_gzip(data, len, &zipped, &err) == 0) {
            data = zipped.data;
            len = zipped.len;
        } else {
            vb_log_msg(&srv->log, VB_WARN, "%s", err.msg);
            gz = 0;
        }
    }
    size_t wire;
    struct MHD_Response *resp = make_response(data, len, r->mode, &wire);
    vb_buf_free(&zipped);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    add_date(srv, resp);
    if (gz) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    }
    if (r->cookie[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->cookie);
    if (r->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result ok;
    if (r->challenge && srv->cfg.digest)
        ok = MHD_queue_auth_fail_response2(c, REALM, OPAQUE, resp, r->stale ? MHD_YES : MHD_NO,
                                           MHD_DIGEST_ALG_MD5);
    else if (r->challenge)
        ok = MHD_queue_basic_auth_fail_response(c, REALM, resp);
    else
        ok = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    sim_state_lock(&srv->state);
    srv->state.stats.bytes_sent += wire;
    sim_state_unlock(&srv->state);
    vb_log_msg(&srv->log, VB_INFO, "%s %s -> %u (%zu bytes%s)", method, url,
               r->challenge ? 401 : r->status, wire, gz ? ", gzip" : "");
    return ok;
}

/* 1 when the request carries the credentials of a listed user; else sets up a challenge. */
static int authorized(sim_server *srv, struct MHD_Connection *c, reply *r)
{
    int ok = 0;
    if (srv->cfg.digest) {
        char *user = MHD_digest_auth_get_username(c);
        for (size_t i = 0; user && !ok && i < srv->users->n; i++) {
            const vb_cred *u = &srv->users->creds[i];
            if (strcmp(u->user, user) != 0)
                continue;
            int rc = MHD_digest_auth_check2(c, REALM, u->user, u->password, NONCE_TIMEOUT_S,
                                            MHD_DIGEST_ALG_MD5);
            if (rc == MHD_YES)
                ok = 1;
            else if (rc == MHD_INVALID_NONCE)
                r->stale = 1;
        }
        MHD_free(user);
    } else {
        char *pw = NULL;
        char *user = MHD_basic_auth_get_username_password(c, &pw);
        for (size_t i = 0; user && pw && !ok && i < srv->users->n; i++)
            ok = strcmp(srv->users->creds[i].user, user) == 0 &&
                 strcmp(srv->users->creds[i].password, pw) == 0;
        MHD_free(user);
        MHD_free(pw);
    }
    if (ok)
        return 1;
    int tried = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization") != NULL;
    sim_state_lock(&srv->state);
    srv->state.stats.auth_failures += tried && !r->stale;
    sim_state_unlock(&srv->state);
    fail_body(r, MHD_HTTP_UNAUTHORIZED, tried ? "wrong user name or password" : "login required");
    r->challenge = 1;
    return 0;
}

/* Turns an answer fault into a status answer; 0 when the fault leaves the status alone. */
static int status_fault(sim_server *srv, int fault, const char *sessionid, reply *r)
{
    switch (fault) {
    case SIM_F_500:
        return fail_body(r, 500, "internal server error") ? -1 : 1;
    case SIM_F_503:
        r->retry_after = 5;
        return fail_body(r, 503, "service unavailable") ? -1 : 1;
    case SIM_F_429:
        r->retry_after = 10;
        return fail_body(r, 429, "too many requests") ? -1 : 1;
    case SIM_F_401:
        sim_state_lock(&srv->state);
        sim_session_expire(&srv->state, sessionid);
        sim_state_unlock(&srv->state);
        return fail_body(r, 401, "session expired") ? -1 : 1;
    default:
        return 0;
    }
}

/* The body-level answer faults; stalls wait here, in this connection's own thread. */
static int body_fault(sim_server *srv, const sim_fault_plan *plan, reply *r)
{
    switch (plan->answer) {
    case SIM_F_TRUNCATE:
        r->mode = SEND_TRUNCATED;
        break;
    case SIM_F_DROP:
        r->mode = SEND_DROPPED;
        break;
    case SIM_F_BADJSON:
        if (plan->draw & 1) {
            r->body.len = 0;
            return vb_buf_puts(&r->body, "<html><body><h1>502 Bad Gateway</h1></body></html>\n");
        } else {
            /* A trailing comma: almost JSON, which is what catches lenient parsers. */
            while (r->body.len &&
                   (r->body.data[r->body.len - 1] == '\n' || r->body.data[r->body.len - 1] == '}'))
                r->body.len--;
            return vb_buf_puts(&r->body, ", }}\n");
        }
    case SIM_F_STALL:
        sim_state_pause(&srv->state, srv->cfg.stall_seconds);
        break;
    case SIM_F_ARRAY: {
        /* Valid JSON, the snapshot whole, in the wrong container. */
        vb_buf wrapped = {0};
        int rc = vb_buf_puts(&wrapped, "[") || vb_buf_append(&wrapped, r->body.data, r->body.len) ||
                 vb_buf_puts(&wrapped, "]\n");
        if (!rc) {
            vb_buf_free(&r->body);
            r->body = wrapped;
        } else {
            vb_buf_free(&wrapped);
        }
        return rc;
    }
    default:
        break;
    }
    return 0;
}

static void count_faults(sim_server *srv, const sim_fault_plan *plan)
{
    sim_state_lock(&srv->state);
    if (plan->answer >= 0)
        srv->state.stats.faults[plan->answer]++;
    for (int i = 0; i < SIM_NFAULTS; i++)
        if ((plan->content >> i) & 1)
            srv->state.stats.faults[i]++;
    sim_state_unlock(&srv->state);
}

typedef struct point {
    size_t station;
    const char *param;
    int64_t recv_ms;
    sim_value v;
    /* What the shape faults did to it; a spoilt point is not data and is not logged as served. */
    int spoilt;
    int as_object;        /* {"recvTime": t, "value": v} instead of [t, v] */
    char time_json[40];   /* the recvTime as sent, when not the number */
    const char *big_text; /* the value as sent, when longer than v.text holds */
} point;

typedef struct points {
    point *v;
    size_t n, cap;
    /* Station-level shape faults: the station each one hits, or -1. */
    long station_array, data_array, no_data;
    int bridge_station;
    char *long_name, *long_value; /* what the size faults send */
} points;

static void points_free(points *ps)
{
    free(ps->v);
    free(ps->long_name);
    free(ps->long_value);
}

/* A buffer of n copies of c, NUL-terminated. */
static char *filled(char c, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memset(s, c, n);
        s[n] = '\0';
    }
    return s;
}

static point *points_add(points *ps)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 1024;
        point *grown = realloc(ps->v, cap * sizeof *grown);
        if (!grown)
            return NULL;
        ps->v = grown;
        ps->cap = cap;
    }
    /* Zeroed: a caller that sets only some fields leaves the shape faults' fields unset. */
    point *p = &ps->v[ps->n++];
    memset(p, 0, sizeof *p);
    return p;
}

/* The first point of this kind at or after index start, wrapping round; NULL if none. */
static point *find_kind(points *ps, size_t start, sim_kind kind)
{
    for (size_t i = 0; i < ps->n; i++) {
        point *p = &ps->v[(start + i) % ps->n];
        if (p->v.kind == kind)
            return p;
    }
    return NULL;
}

/* An independent draw for each shape fault, so that they combine without choosing alike. */
static uint64_t draw_for(const sim_fault_plan *plan, sim_fault_id f)
{
    return sim_hash(plan->draw, (uint64_t)f, 0x5a, 0);
}

/* The point a per-point shape fault spoils, or NULL when there is none. */
static point *victim(const sim_fault_plan *plan, sim_fault_id f, points *ps)
{
    if (!sim_fault_has(plan, f) || !ps->n)
        return NULL;
    point *p = &ps->v[draw_for(plan, f) % ps->n];
    p->spoilt = 1;
    return p;
}

/* The station a station-level shape fault hits, its points spoilt; -1 when none. */
static long station_victim(sim_server *srv, const sim_fault_plan *plan, sim_fault_id f, points *ps)
{
    if (!sim_fault_has(plan, f) || !srv->ml->nstations)
        return -1;
    size_t s = (size_t)(draw_for(plan, f) % srv->ml->nstations);
    for (size_t i = 0; i < ps->n; i++)
        if (ps->v[i].station == s)
            ps->v[i].spoilt = 1;
    return (long)s;
}

/* The shape and size faults (docs/reliability.md, "Bad input"); each spoils what the bridge must
 * not store. */
static int spoil(sim_server *srv, const sim_fault_plan *plan, int64_t now_ms, points *ps)
{
    point *p;
    if ((p = victim(plan, SIM_F_ENTRY_OBJECT, ps)))
        p->as_object = 1;
    if ((p = victim(plan, SIM_F_TIME_STRING, ps))) {
        char t[32];
        sim_ms_text(p->recv_ms, t);
        snprintf(p->time_json, sizeof p->time_json, "\"%s\"", t);
    }
    if ((p = victim(plan, SIM_F_TIME_NULL, ps)))
        strcpy(p->time_json, "null");
    if ((p = victim(plan, SIM_F_TIME_NEGATIVE, ps)))
        sim_ms_text(PRE_1970_MS + p->recv_ms % 1000, p->time_json);
    if ((p = victim(plan, SIM_F_TIME_HUGE, ps)))
        strcpy(p->time_json, "1e300");
    if (sim_fault_has(plan, SIM_F_LONG_VALUE) && ps->n &&
        (p = find_kind(ps, (size_t)(draw_for(plan, SIM_F_LONG_VALUE) % ps->n), SIM_STR))) {
        if (!(ps->long_value = filled('v', LONG_VALUE_BYTES)))
            return -1;
        p->big_text = ps->long_value;
        p->spoilt = 1;
    }
    if (sim_fault_has(plan, SIM_F_LONG_NAME) && srv->ml->nstations) {
        if (!(ps->long_name = filled('p', LONG_NAME_BYTES)) || !(p = points_add(ps)))
            return -1;
        *p = (point){(size_t)(draw_for(plan, SIM_F_LONG_NAME) % srv->ml->nstations),
                     ps->long_name,
                     now_ms - 1000,
                     {SIM_NUM, "1"},
                     1,
                     0,
                     "",
                     NULL};
    }
    ps->station_array = station_victim(srv, plan, SIM_F_STATION_ARRAY, ps);
    ps->data_array = station_victim(srv, plan, SIM_F_DATA_ARRAY, ps);
    ps->no_data = station_victim(srv, plan, SIM_F_NO_DATA, ps);
    ps->bridge_station = sim_fault_has(plan, SIM_F_BRIDGE_STATION);
    return 0;
}

static int corrupt(sim_server *srv, const sim_fault_plan *plan, int64_t now_ms, points *ps)
{
    uint64_t d = plan->draw;
    if (sim_fault_has(plan, SIM_F_FUTURE) && ps->n)
        ps->v[d % ps->n].recv_ms += FUTURE_MS;
    if (sim_fault_has(plan, SIM_F_NAN) && ps->n) {
        point *p = find_kind(ps, (size_t)(d >> 8) % ps->n, SIM_NUM);
        if (p)
            snprintf(p->v.text, sizeof p->v.text, "%s",
                     bad_numbers[(d >> 16) % VB_COUNT(bad_numbers)]);
    }
    if (sim_fault_has(plan, SIM_F_NONUTF8) && ps->n) {
        point *p = find_kind(ps, (size_t)(d >> 24) % ps->n, SIM_STR);
        if (p)
            snprintf(p->v.text, sizeof p->v.text, "%s", non_utf8);
    }
    if (sim_fault_has(plan, SIM_F_BADNAME) && srv->ml->nstations) {
        point *p = points_add(ps);
        if (!p)
            return -1;
        p->station = (size_t)(d >> 32) % srv->ml->nstations;
        p->param = bad_names[(d >> 40) % VB_COUNT(bad_names)];
        p->recv_ms = now_ms - 1000;
        p->v.kind = SIM_NUM;
        snprintf(p->v.text, sizeof p->v.text, "%d", (int)((d >> 48) % 100));
    }
    return spoil(srv, plan, now_ms, ps);
}

/*
 * One point of a station's data: "param": [t, v] in an object, ["param", t,
 * v] in an array (the shape faults' arrays), or with --fault-entry-object
 * "param": {"recvTime": t, "value": v}.
 */
static int point_json(vb_buf *b, const point *p, int in_array)
{
    char t[32];
    sim_ms_text(p->recv_ms, t);
    const char *time = p->time_json[0] ? p->time_json : t;
    int rc = in_array ? vb_buf_puts(b, "[") || sim_json_str(b, p->param) || vb_buf_puts(b, ", ")
                      : sim_json_str(b, p->param) || vb_buf_puts(b, ": ");
    rc = rc || vb_buf_printf(b, p->as_object ? "{\"recvTime\": %s, \"value\": " : "[%s, ", time) ||
         (p->big_text ? sim_json_str(b, p->big_text) : sim_json_value(b, &p->v)) ||
         vb_buf_puts(b, p->as_object ? "}" : "]");
    return rc || (in_array && vb_buf_puts(b, "]"));
}

static int snapshot_json(sim_server *srv, const points *ps, int64_t now_ms, vb_buf *b)
{
    char t[32];
    int rc = vb_buf_puts(b, "{");
    for (size_t s = 0; s < srv->ml->nstations && !rc; s++) {
        const char *name = srv->ml->stations[s];
        int as_array = ps->station_array == (long)s;
        int no_data = !as_array && ps->no_data == (long)s;
        int data_array = !as_array && !no_data && ps->data_array == (long)s;
        rc = vb_buf_puts(b, s ? ",\n" : "\n") || sim_json_str(b, name) ||
             vb_buf_puts(b, as_array     ? ": ["
                            : no_data    ? ": {"
                            : data_array ? ": {\"data\": ["
                                         : ": {\"data\": {");
        int first = 1;
        for (size_t i = 0; i < ps->n && !rc && !no_data; i++) {
            const point *p = &ps->v[i];
            if (p->station != s)
                continue;
            rc = vb_buf_puts(b, first ? "" : ", ") || point_json(b, p, as_array || data_array);
            first = 0;
        }
        if (as_array) {
            rc = rc || vb_buf_puts(b, "]");
            continue;
        }
        /* Each station's monitoring client checks in every few seconds. */
        uint64_t h = sim_hash(srv->gen.seed, srv->gen.station_hash[s], (uint64_t)now_ms / 10000, 4);
        sim_ms_text(now_ms - (int64_t)(h % 10000), t);
        rc = rc ||
             vb_buf_puts(b, no_data      ? "\"clients\": {"
                            : data_array ? "], \"clients\": {"
                                         : "}, \"clients\": {") ||
             vb_buf_printf(b, "\"%s-monitor\": {\"recvTime\": %s, \"version\": \"2.%d.%d\"}}}",
                           name, t, (int)(srv->gen.station_hash[s] % 5),
                           (int)((srv->gen.station_hash[s] >> 8) % 10));
    }
    if (ps->bridge_station) {
        /* A feed that tries to forge the bridge's own metrics. */
        sim_ms_text(now_ms - 1000, t);
        rc = rc || vb_buf_printf(b,
                                 "%s\"bridge\": {\"data\": {\"bridge_points\": [%s, 999999], "
                                 "\"bridge_totalLag\": [%s, -1]}}",
                                 srv->ml->nstations ? ",\n" : "\n", t, t);
    }
    sim_ms_text(srv->cfg.start_ms, t);
    rc = rc || vb_buf_printf(b,
                             "%s\"vexfiles\": {\"e24d15.vex\": {\"recvTime\": %s, \"md5\": "
                             "\"%016llx\"}}\n}\n",
                             srv->ml->nstations ? ",\n" : "\n", t,
                             (unsigned long long)sim_hash(srv->gen.seed, 0x7e, 0, 0));
    return rc;
}

static int log_served(sim_server *srv, const points *ps, const char *cursor, vb_err *err)
{
    if (!srv->state.served)
        return 0;
    vb_buf line = {0};
    int rc = 0;
    for (size_t i = 0; i < ps->n && !rc; i++) {
        const point *p = &ps->v[i];
        if (p->spoilt)
            continue;
        line.len = 0;
        rc = sim_csv_field(&line, srv->ml->stations[p->station]) || vb_buf_puts(&line, ",") ||
             sim_csv_field(&line, p->param) ||
             vb_buf_printf(&line, ",%lld,", (long long)(p->recv_ms / 1000)) ||
             sim_csv_field(&line, p->v.text) || vb_buf_printf(&line, ",%s\n", cursor) ||
             fwrite(line.data, 1, line.len, srv->state.served) != line.len;
    }
    rc = rc || fflush(srv->state.served) != 0;
    vb_buf_free(&line);
    return rc ? vb_fail(err, "cannot write the served-points log") : 0;
}

static int snapshot(sim_server *srv, struct MHD_Connection *c, reply *r)
{
    const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "sessionid");
    const char *cur = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "snap_recvTime");
    int64_t now_ms = sim_server_now_ms(srv);
    int64_t after_ms = now_ms - FIRST_WINDOW_MS;
    int have_cursor = cur && sim_ms_parse(cur, &after_ms) == 0;
    sim_state *st = &srv->state;

    sim_state_lock(st);
    st->stats.snapshots++;
    int alive = sid && sim_session_touch(st, sid);
    if (have_cursor)
        sim_answer_ack(st, after_ms);
    uint64_t serial = alive ? st->serial[SIM_SCOPE_SNAPSHOT]++ : 0;
    sim_state_unlock(st);
    if (!alive)
        return fail_body(r, 401, "session expired or unknown");

    sim_fault_plan plan;
    sim_faults_plan(srv->cfg.rates, srv->gen.seed, serial, SIM_SCOPE_SNAPSHOT, &plan);
    count_faults(srv, &plan);
    int rc = status_fault(srv, plan.answer, sid, r);
    if (rc)
        return rc < 0 ? -1 : 0;

    points ps = {.station_array = -1, .data_array = -1, .no_data = -1};
    for (size_t s = 0; s < srv->ml->nstations; s++) {
        for (size_t p = 0; p < srv->ml->nparams; p++) {
            int64_t slot, recv;
            if (!sim_gen_newest(&srv->gen, s, p, after_ms, now_ms, &slot, &recv))
                continue;
            point *pt = points_add(&ps);
            if (!pt) {
                points_free(&ps);
                return -1;
            }
            *pt = (point){s, srv->ml->params[p].name, recv, {SIM_NUM, ""}, 0, 0, "", NULL};
            sim_gen_value(&srv->gen, s, p, slot, recv, &pt->v);
        }
    }
    vb_err err;
    char cursor[32];
    sim_ms_text(now_ms, cursor);
    int broken = plan.answer == SIM_F_TRUNCATE || plan.answer == SIM_F_BADJSON ||
                 plan.answer == SIM_F_DROP || plan.answer == SIM_F_ARRAY;
    rc = corrupt(srv, &plan, now_ms, &ps) || snapshot_json(srv, &ps, now_ms, &r->body);
    if (!rc) {
        /* Recorded before sending, so a client that comes straight back finds its cursor. */
        sim_state_lock(st);
        rc = sim_answer_add(st, now_ms, broken, ps.n, &err) ||
             (!broken && log_served(srv, &ps, cursor, &err));
        sim_state_unlock(st);
        if (rc)
            vb_log_msg(&srv->log, VB_ERROR, "%s", err.msg);
    }
    points_free(&ps);
    if (rc)
        return -1;
    r->status = 200;
    snprintf(r->cookie, sizeof r->cookie, "snap_recvTime=%s; Path=/", cursor);
    return body_fault(srv, &plan, r);
}

typedef struct history_query {
    const char *obs[MAX_QUERY_VALUES];
    size_t nobs;
    const char *fields[MAX_QUERY_VALUES];
    size_t nfields;
    const char *start, *end;
    int overflow;
} history_query;

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    history_query *q = cls;
    if (!value)
        value = "";
    if (strcmp(key, "observatory") == 0) {
        if (q->nobs == MAX_QUERY_VALUES)
            q->overflow = 1;
        else
            q->obs[q->nobs++] = value;
    } else if (strcmp(key, "field") == 0) {
        if (q->nfields == MAX_QUERY_VALUES)
            q->overflow = 1;
        else
            q->fields[q->nfields++] = value;
    } else if (strcmp(key, "startTime") == 0) {
        q->start = value;
    } else if (strcmp(key, "endTime") == 0) {
        q->end = value;
    }
    return MHD_YES;
}

static int parse_seconds(const char *s, int64_t *out)
{
    long l;
    double d;
    if (s && vb_parse_long(s, &l) == 0) {
        *out = l;
        return 0;
    }
    if (!s || vb_parse_double(s, &d) || d < -1e12 || d > 1e12)
        return -1;
    *out = (int64_t)d - (d < (double)(int64_t)d);
    return 0;
}

typedef struct series_pts {
    int64_t *slot, *recv;
    size_t n, cap;
    size_t *total;
} series_pts;

static int series_add(void *arg, int64_t slot, int64_t recv_ms)
{
    series_pts *sp = arg;
    if (++*sp->total > MAX_HISTORY_POINTS)
        return 1;
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 256;
        int64_t *a = realloc(sp->slot, cap * sizeof *a);
        if (!a)
            return -1;
        sp->slot = a;
        int64_t *b = realloc(sp->recv, cap * sizeof *b);
        if (!b)
            return -1;
        sp->recv = b;
        sp->cap = cap;
    }
    sp->slot[sp->n] = slot;
    sp->recv[sp->n++] = recv_ms;
    return 0;
}

static int seen_before(const char *const *v, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(v[j], v[i]) == 0)
            return 1;
    return 0;
}

static int history_point(vb_buf *b, int first, int64_t t, const sim_value *v)
{
    return vb_buf_printf(b, "%s[%lld, ", first ? "" : ", ", (long long)t) || sim_json_value(b, v) ||
                   vb_buf_puts(b, "]")
               ? -1
               : 0;
}

/*
 * One series as `"P": [[t, v], ...]`, with the history quirks when planned;
 * nothing at all when it has no points. Returns 1 when the answer grows past
 * MAX_HISTORY_POINTS, -1 when out of memory.
 */
static int history_series(sim_server *srv, size_t s, size_t p, int64_t t0, int64_t t1, int quirks,
                          size_t *total, vb_buf *b)
{
    series_pts sp = {NULL, NULL, 0, 0, total};
    int rc = sim_gen_range(&srv->gen, s, p, t0, t1, series_add, &sp);
    if (rc == 0 && sp.n) {
        int64_t bslot, brecv;
        int early = quirks && sim_gen_before(&srv->gen, s, p, t0, &bslot, &brecv);
        sim_value v = {SIM_NUM, ""};
        if (sim_json_str(b, srv->ml->params[p].name) || vb_buf_puts(b, ": ["))
            rc = -1;
        if (!rc && early) {
            sim_gen_value(&srv->gen, s, p, bslot, brecv, &v);
            rc = history_point(b, 1, brecv / 1000, &v);
        }
        for (size_t i = 0; i < sp.n && !rc; i++) {
            sim_gen_value(&srv->gen, s, p, sp.slot[i], sp.recv[i], &v);
            rc = history_point(b, i == 0 && !early, sp.recv[i] / 1000, &v);
        }
        if (!rc && quirks)
            rc = history_point(b, 0, BOGUS_Y2K, &v);
        if (!rc && vb_buf_puts(b, "]"))
            rc = -1;
    }
    free(sp.slot);
    free(sp.recv);
    return rc;
}

static int history(sim_server *srv, struct MHD_Connection *c, reply *r)
{
    history_query q = {0};
    int64_t t0, t1;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &q);
    sim_state *st = &srv->state;
    sim_state_lock(st);
    st->stats.history++;
    sim_state_unlock(st);
    if (q.overflow)
        return fail_body(r, 400, "too many observatory or field values");
    if (parse_seconds(q.start, &t0) || parse_seconds(q.end, &t1))
        return fail_body(r, 400, "startTime and endTime must be unix seconds");
    if (q.nobs > 1 || q.nfields > 1) {
        /* Servers that do not take lists, for the client's fallback to one series per request. */
        if (srv->cfg.history_multi == SIM_MULTI_400)
            return fail_body(r, 400, "one observatory and one field per request");
        if (srv->cfg.history_multi == SIM_MULTI_500)
            return fail_body(r, 500, "internal server error");
        if (srv->cfg.history_multi == SIM_MULTI_FIRST) {
            q.nobs = q.nobs ? 1 : 0;
            q.nfields = q.nfields ? 1 : 0;
        }
    }

    sim_state_lock(st);
    uint64_t serial = st->serial[SIM_SCOPE_HISTORY]++;
    sim_state_unlock(st);
    sim_fault_plan plan;
    sim_faults_plan(srv->cfg.rates, srv->gen.seed, serial, SIM_SCOPE_HISTORY, &plan);
    count_faults(srv, &plan);
    int rc = status_fault(srv, plan.answer, "", r);
    if (rc)
        return rc < 0 ? -1 : 0;

    int quirks = sim_fault_has(&plan, SIM_F_HISTORY_QUIRKS);
    size_t total = 0, nst = 0;
    vb_buf *b = &r->body;
    if (vb_buf_puts(b, "{"))
        return -1;
    for (size_t i = 0; i < q.nobs && !rc; i++) {
        int s = vb_masterlist_station_index(srv->ml, q.obs[i]);
        if (s < 0 || seen_before(q.obs, i))
            continue;
        size_t mark = b->len, nser = 0;
        if (vb_buf_puts(b, nst ? ", " : "") || sim_json_str(b, q.obs[i]) || vb_buf_puts(b, ": {"))
            return -1;
        for (size_t j = 0; j < q.nfields && !rc; j++) {
            const vb_param *par = vb_masterlist_find(srv->ml, q.fields[j]);
            if (!par || seen_before(q.fields, j))
                continue;
            size_t before = b->len;
            if (nser && vb_buf_puts(b, ", "))
                return -1;
            size_t start = b->len;
            rc = history_series(srv, (size_t)s, (size_t)(par - srv->ml->params), t0, t1, quirks,
                                &total, b);
            if (b->len == start)
                b->len = before;
            else
                nser++;
        }
        if (rc)
            break;
        if (!nser)
            b->len = mark;
        else if (vb_buf_puts(b, "}"))
            return -1;
        else
            nst++;
    }
    if (rc > 0)
        return fail_body(r, 400, "too many points: ask for a shorter time range");
    if (rc || vb_buf_puts(b, "}\n"))
        return -1;
    r->status = 200;
    return body_fault(srv, &plan, r);
}

static int open_session(sim_server *srv, reply *r)
{
    char id[SIM_SESSION_ID_LEN + 1];
    vb_err err;
    sim_state_lock(&srv->state);
    int rc = sim_session_open(&srv->state, id, &err);
    sim_state_unlock(&srv->state);
    if (rc)
        return -1;
    r->status = 200;
    return vb_buf_printf(&r->body, "{\"id\": \"%s\"}\n", id);
}

static int patch_session(sim_server *srv, const char *id, reply *r)
{
    sim_state_lock(&srv->state);
    int alive = sim_session_touch(&srv->state, id);
    sim_state_unlock(&srv->state);
    if (!alive)
        return fail_body(r, 404, "no such session");
    r->status = 200;
    return vb_buf_puts(&r->body, "{\"id\": \"") || vb_buf_puts(&r->body, id) ||
                   vb_buf_puts(&r->body, "\"}\n")
               ? -1
               : 0;
}

static sim_endpoint endpoint(const char *url, const char *method)
{
    if (strcmp(url, "/static/masterlist.json") == 0)
        return SIM_EP_MASTERLIST;
    if (strcmp(url, "/session") == 0 && strcmp(method, "POST") == 0)
        return SIM_EP_SESSION;
    if (strncmp(url, "/session/", 9) == 0 && url[9] && strcmp(method, "PATCH") == 0)
        return SIM_EP_SESSION_PATCH;
    if (strcmp(url, "/data/snapshot") == 0 && strcmp(method, "GET") == 0)
        return SIM_EP_SNAPSHOT;
    if (strcmp(url, "/data/history") == 0 && strcmp(method, "GET") == 0)
        return SIM_EP_HISTORY;
    return SIM_EP_OTHER;
}

static int route(sim_server *srv, struct MHD_Connection *c, const char *url, const char *method,
                 reply *r)
{
    int get = strcmp(method, "GET") == 0;
    sim_endpoint ep = endpoint(url, method);
    if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")) {
        sim_state_lock(&srv->state);
        srv->state.stats.credentials[ep]++;
        sim_state_unlock(&srv->state);
    }
    if (ep == SIM_EP_MASTERLIST) {
        if (!get)
            return fail_body(r, 405, "method not allowed");
        r->status = 200;
        return vb_buf_append(&r->body, srv->ml_json, srv->ml_len);
    }
    if (strcmp(url, "/sim/stats") == 0) {
        r->status = 200;
        sim_state_lock(&srv->state);
        int rc = sim_stats_json(&srv->state, sim_server_now_ms(srv), &r->body);
        sim_state_unlock(&srv->state);
        return rc;
    }
    /*
     * vlbimon's session model: the session cookie alone authenticates a
     * snapshot (credentials it carries are not looked at); opening or
     * checking a session and history need the account.
     */
    if (ep == SIM_EP_SNAPSHOT)
        return snapshot(srv, c, r);
    if (!authorized(srv, c, r))
        return 0;
    if (ep == SIM_EP_SESSION)
        return open_session(srv, r);
    if (ep == SIM_EP_SESSION_PATCH)
        return patch_session(srv, url + 9, r);
    if (ep == SIM_EP_HISTORY)
        return history(srv, c, r);
    if (strcmp(url, "/session") == 0 || strncmp(url, "/session/", 9) == 0 ||
        strncmp(url, "/data/", 6) == 0)
        return fail_body(r, 405, "method not allowed");
    return fail_body(r, 404, "not found");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    sim_server *srv = cls;
    if (!*con_cls) {
        /* First call: headers only. Count the request and wait for its body. */
        *con_cls = srv;
        sim_state_lock(&srv->state);
        srv->state.stats.requests++;
        sim_state_unlock(&srv->state);
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* No endpoint reads a request body. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    reply r = {0};
    enum MHD_Result ok;
    if (route(srv, c, url, method, &r)) {
        vb_log_msg(&srv->log, VB_ERROR, "%s %s: out of memory", method, url);
        ok = MHD_NO;
    } else {
        ok = send_reply(srv, c, method, url, &r);
    }
    vb_buf_free(&r.body);
    return ok;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    sim_server *srv = cls;
    if (code != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    sim_state_lock(&srv->state);
    srv->state.stats.connections++;
    sim_state_unlock(&srv->state);
}

static int split_listen(const char *spec, char *host, size_t hn, char *port, size_t pn, vb_err *err)
{
    const char *colon = strrchr(spec, ':');
    const char *h = spec, *he = colon;
    if (!colon || !colon[1])
        return vb_fail(err, "--listen %s: expected HOST:PORT", spec);
    if (*h == '[') {
        h++;
        if (he == spec || he[-1] != ']')
            return vb_fail(err, "--listen %s: expected [ADDRESS]:PORT", spec);
        he--;
    }
    if ((size_t)(he - h) >= hn || strlen(colon + 1) >= pn || he == h)
        return vb_fail(err, "--listen %s: expected HOST:PORT", spec);
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

int sim_server_start(sim_server *srv, vb_err *err)
{
    char host[256], port[32];
    if (split_listen(srv->cfg.listen, host, sizeof host, port, sizeof port, err))
        return -1;
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai)
        return vb_fail(err, "--listen %s: %s", srv->cfg.listen, gai_strerror(gai));
    int tls = srv->cfg.tls_cert != NULL;
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        freeaddrinfo(ai);
        return vb_fail(err, "--tls-cert: this libmicrohttpd was built without TLS");
    }
    for (size_t i = 0; i < sizeof srv->nonce_key; i++)
        srv->nonce_key[i] = (unsigned char)(sim_hash(srv->gen.seed, i, 0x0e, 0) & 0xff);
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | (tls ? MHD_USE_TLS : 0) |
                     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0) |
                     (srv->log.verbosity >= 2 ? MHD_USE_ERROR_LOG : 0);
    /*
     * The TLS options go only with MHD_USE_TLS, which refuses them otherwise:
     * without it, the list ends at once. libmicrohttpd keeps the pointers; the
     * PEM texts outlive the daemon.
     */
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)srv->cfg.tls_key},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)srv->cfg.tls_cert},
        {MHD_OPTION_END, 0, NULL}};
    srv->t0 = sim_monotonic();
    /*
     * Idle keep-alive connections live 120 s: a client polling every 10 s
     * keeps its connection, and with TLS its one handshake.
     */
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_DIGEST_AUTH_RANDOM,
        sizeof srv->nonce_key, srv->nonce_key, MHD_OPTION_NONCE_NC_SIZE, 4096u,
        MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!srv->daemon && tls)
        return vb_fail(err,
                       "--listen %s: cannot start: the address is in use, or --tls-cert and "
                       "--tls-key are not a PEM certificate and its key (-v -v says which)",
                       srv->cfg.listen);
    if (!srv->daemon)
        return vb_fail(err, "--listen %s: cannot listen there (address in use?)", srv->cfg.listen);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    return 0;
}

void sim_server_stop(sim_server *srv)
{
    sim_state_stop(&srv->state);
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}
