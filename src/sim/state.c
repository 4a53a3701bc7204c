/*
 * state.c - see state.h.
 */
#include "sim/state.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/emit.h"
#include "sim/generator.h"

/* Cursors listed in /sim/stats: enough to diagnose, bounded however long the run. */
#define MAX_LISTED 100

double sim_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sim_state_init(sim_state *st, uint64_t seed, double ttl, FILE *served, vb_err *err)
{
    memset(st, 0, sizeof *st);
    st->seed = seed;
    st->ttl = ttl;
    st->served = served;
    pthread_condattr_t ca;
    if (pthread_mutex_init(&st->mu, NULL))
        return vb_fail(err, "cannot create a mutex");
    if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
        pthread_cond_init(&st->wake, &ca)) {
        pthread_mutex_destroy(&st->mu);
        return vb_fail(err, "cannot create a condition variable");
    }
    pthread_condattr_destroy(&ca);
    return 0;
}

void sim_state_free(sim_state *st)
{
    pthread_cond_destroy(&st->wake);
    pthread_mutex_destroy(&st->mu);
    free(st->sessions);
    free(st->answers);
    st->sessions = NULL;
    st->answers = NULL;
}

void sim_state_lock(sim_state *st)
{
    pthread_mutex_lock(&st->mu);
}

void sim_state_unlock(sim_state *st)
{
    pthread_mutex_unlock(&st->mu);
}

static int expired(const sim_session *s, double now)
{
    return s->expires > 0 && now >= s->expires;
}

int sim_session_open(sim_state *st, char *id, vb_err *err)
{
    double now = sim_monotonic();
    size_t kept = 0;
    for (size_t i = 0; i < st->nsessions; i++)
        if (!expired(&st->sessions[i], now))
            st->sessions[kept++] = st->sessions[i];
    st->nsessions = kept;
    sim_session *grown = realloc(st->sessions, (st->nsessions + 1) * sizeof *grown);
    if (!grown)
        return vb_fail(err, "out of memory");
    st->sessions = grown;
    sim_session *s = &st->sessions[st->nsessions++];
    uint64_t n = ++st->sessions_made;
    snprintf(s->id, sizeof s->id, "%016llx%016llx",
             (unsigned long long)sim_hash(st->seed, n, 0x5e, 1),
             (unsigned long long)sim_hash(st->seed, n, 0x5e, 2));
    s->expires = st->ttl > 0 ? now + st->ttl : 0;
    strcpy(id, s->id);
    st->stats.sessions++;
    return 0;
}

static sim_session *find_session(sim_state *st, const char *id)
{
    for (size_t i = 0; i < st->nsessions; i++)
        if (strcmp(st->sessions[i].id, id) == 0)
            return &st->sessions[i];
    return NULL;
}

int sim_session_touch(sim_state *st, const char *id)
{
    sim_session *s = find_session(st, id);
    double now = sim_monotonic();
    if (!s || expired(s, now))
        return 0;
    if (s->expires > 0)
        s->expires = now + st->ttl;
    return 1;
}

void sim_session_expire(sim_state *st, const char *id)
{
    sim_session *s = find_session(st, id);
    if (s) {
        /* In the past but non-zero: 0 would mean "never expires". */
        s->expires = 1e-9;
        st->stats.expired++;
    }
}

int sim_answer_add(sim_state *st, int64_t cursor_ms, int broken, size_t points, vb_err *err)
{
    sim_answer *grown = realloc(st->answers, (st->nanswers + 1) * sizeof *grown);
    if (!grown)
        return vb_fail(err, "out of memory");
    st->answers = grown;
    st->answers[st->nanswers++] = (sim_answer){cursor_ms, broken, 0, points};
    if (!broken) {
        st->stats.answers++;
        st->stats.points_served += points;
    }
    return 0;
}

void sim_answer_ack(sim_state *st, int64_t cursor_ms)
{
    /* Newest first: a client normally presents the cursor it was just given. */
    for (size_t i = st->nanswers; i-- > 0;) {
        sim_answer *a = &st->answers[i];
        if (a->cursor_ms != cursor_ms || a->acked)
            continue;
        a->acked = 1;
        if (a->broken)
            st->stats.broken_acknowledged++;
        else
            st->stats.acknowledged++;
        return;
    }
}

static const char *const endpoint_names[SIM_NENDPOINTS] = {"masterlist", "session", "session_patch",
                                                           "snapshot",   "history", "other"};

int sim_stats_json(const sim_state *st, int64_t now_ms, vb_buf *out)
{
    const sim_stats *s = &st->stats;
    char now[32];
    sim_ms_text(now_ms, now);
    int rc = vb_buf_printf(
        out,
        "{\"now\": %s, \"connections\": %lu, \"requests\": %lu, \"snapshots\": %lu, "
        "\"history\": %lu, \"sessions\": %lu, \"auth_failures\": %lu, \"expired\": %lu, "
        "\"answers\": %lu, \"acknowledged\": %lu, \"broken_acknowledged\": %lu, "
        "\"points_served\": %lu, \"bytes_sent\": %lu, \"faults\": {",
        now, s->connections, s->requests, s->snapshots, s->history, s->sessions, s->auth_failures,
        s->expired, s->answers, s->acknowledged, s->broken_acknowledged, s->points_served,
        s->bytes_sent);
    for (int i = 0; i < SIM_NFAULTS && !rc; i++)
        rc = vb_buf_printf(out, "%s\"%s\": %lu", i ? ", " : "", sim_faults[i].key, s->faults[i]);
    size_t pending = 0;
    for (size_t i = 0; i < st->nanswers; i++)
        pending += !st->answers[i].broken && !st->answers[i].acked;
    rc = rc || vb_buf_puts(out, "}, \"credentials\": {");
    for (int i = 0; i < SIM_NENDPOINTS && !rc; i++)
        rc = vb_buf_printf(out, "%s\"%s\": %lu", i ? ", " : "", endpoint_names[i],
                           s->credentials[i]);
    rc = rc ||
         vb_buf_printf(out, "}, \"unacknowledged\": %zu, \"unacknowledged_cursors\": [", pending);
    size_t listed = 0;
    for (size_t i = st->nanswers; i-- > 0 && listed < MAX_LISTED && !rc;) {
        const sim_answer *a = &st->answers[i];
        if (a->broken || a->acked)
            continue;
        char c[32];
        sim_ms_text(a->cursor_ms, c);
        rc = vb_buf_printf(out, "%s\"%s\"", listed++ ? ", " : "", c);
    }
    return rc || vb_buf_puts(out, "]}\n") ? -1 : 0;
}

void sim_state_pause(sim_state *st, double seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    double end = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + seconds;
    until.tv_sec = (time_t)end;
    until.tv_nsec = (long)((end - (double)until.tv_sec) * 1e9);
    pthread_mutex_lock(&st->mu);
    while (!st->stopping && pthread_cond_timedwait(&st->wake, &st->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&st->mu);
}

void sim_state_stop(sim_state *st)
{
    pthread_mutex_lock(&st->mu);
    st->stopping = 1;
    pthread_cond_broadcast(&st->wake);
    pthread_mutex_unlock(&st->mu);
}
