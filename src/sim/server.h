/*
 * server.h - the simulator's HTTP side on libmicrohttpd: routes, Basic and
 * Digest auth, sessions, the snapshot cursor cookie, history answers, fault
 * injection, gzip and TLS. One connection thread per client so a stalled
 * answer never holds up the others.
 *
 * The simulator (docs/simulator.md): includes core/, net/secrets.h (its accounts)
 * and sim/.
 */
#ifndef SIM_SERVER_H
#define SIM_SERVER_H

#include <stdint.h>

#include "core/log.h"
#include "core/masterlist.h"
#include "net/secrets.h"
#include "sim/faults.h"
#include "sim/generator.h"
#include "sim/state.h"
#include "core/util.h"

/* How /data/history treats a request for more than one series (--history-multi). */
typedef enum {
    SIM_MULTI_ALL,   /* answers every station x parameter pair asked for, as vlbimon does */
    SIM_MULTI_FIRST, /* reads only the first observatory and the first field */
    SIM_MULTI_400,   /* refuses it with 400 */
    SIM_MULTI_500,   /* fails it with 500 */
} sim_multi;

typedef struct sim_config {
    const char *listen;   /* HOST:PORT, [V6]:PORT */
    int digest;           /* demand Digest instead of Basic */
    int64_t start_ms;     /* simulated time at start-up */
    double speed;         /* simulated seconds per real second */
    double stall_seconds; /* how long a stalled answer waits */
    const char *tls_cert; /* PEM certificate (chain) and key, NUL-terminated: HTTPS; NULL: HTTP */
    const char *tls_key;
    double rates[SIM_NFAULTS];
    sim_multi history_multi;
} sim_config;

typedef struct sim_server {
    sim_config cfg;
    vb_log log;
    const vb_masterlist *ml;
    const char *ml_json; /* the catalogue's bytes, served as they are */
    size_t ml_len;
    const vb_secrets *users;
    sim_gen gen;
    sim_state state;
    double t0;                   /* monotonic seconds at start-up */
    unsigned char nonce_key[32]; /* Digest nonces are keyed with this; MHD keeps the pointer */
    struct MHD_Daemon *daemon;
    unsigned port;
} sim_server;

/* Starts listening; srv->port holds the bound port. gen and state must be ready. */
int sim_server_start(sim_server *srv, vb_err *err);
void sim_server_stop(sim_server *srv);

int64_t sim_server_now_ms(const sim_server *srv);

#endif
