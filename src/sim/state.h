/*
 * state.h - everything the simulator's connection threads share, behind one
 * mutex: sessions, the answers handed out (to see which cursors came back),
 * counters, the served-points log, and the stop signal that cuts stalls
 * short.
 *
 * The simulator (docs/simulator.md): includes core/, net/secrets.h (its accounts)
 * and sim/.
 */
#ifndef SIM_STATE_H
#define SIM_STATE_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/faults.h"
#include "core/util.h"

#define SIM_SESSION_ID_LEN 32

typedef struct sim_session {
    char id[SIM_SESSION_ID_LEN + 1];
    double expires; /* monotonic seconds; 0 = never */
} sim_session;

typedef struct sim_answer {
    int64_t cursor_ms;
    int broken; /* a 200 whose body could not be parsed: its cursor must never come back */
    int acked;
    size_t points;
} sim_answer;

/* The endpoints, as /sim/stats counts the requests that carried credentials. */
typedef enum {
    SIM_EP_MASTERLIST,
    SIM_EP_SESSION, /* POST /session */
    SIM_EP_SESSION_PATCH,
    SIM_EP_SNAPSHOT,
    SIM_EP_HISTORY,
    SIM_EP_OTHER,
    SIM_NENDPOINTS
} sim_endpoint;

typedef struct sim_stats {
    unsigned long connections, requests, snapshots, history, sessions, auth_failures, expired,
        answers, acknowledged, broken_acknowledged, points_served, bytes_sent;
    unsigned long faults[SIM_NFAULTS];
    unsigned long credentials[SIM_NENDPOINTS]; /* requests with an Authorization header */
} sim_stats;

typedef struct sim_state {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int stopping;
    uint64_t seed;
    double ttl; /* seconds of inactivity before a session expires; 0 = never */
    sim_session *sessions;
    size_t nsessions;
    uint64_t sessions_made;
    sim_answer *answers;
    size_t nanswers;
    uint64_t serial[3]; /* per scope: data requests so far, numbering the fault draws */
    sim_stats stats;
    FILE *served;
} sim_state;

int sim_state_init(sim_state *st, uint64_t seed, double ttl, FILE *served, vb_err *err);
void sim_state_free(sim_state *st);

double sim_monotonic(void);

void sim_state_lock(sim_state *st);
void sim_state_unlock(sim_state *st);

/* The following expect the lock to be held. */
int sim_session_open(sim_state *st, char *id, vb_err *err);
/* 1 and the session refreshed when it is alive, else 0. */
int sim_session_touch(sim_state *st, const char *id);
void sim_session_expire(sim_state *st, const char *id);
int sim_answer_add(sim_state *st, int64_t cursor_ms, int broken, size_t points, vb_err *err);
/* A request presented this cursor: the answer that handed it out is acknowledged. */
void sim_answer_ack(sim_state *st, int64_t cursor_ms);
int sim_stats_json(const sim_state *st, int64_t now_ms, vb_buf *out);

/* Sleeps up to seconds, waking early when the simulator stops; takes the lock itself. */
void sim_state_pause(sim_state *st, double seconds);
/* Wakes every pause for good; takes the lock itself. */
void sim_state_stop(sim_state *st);

#endif
