/*
 * generator.h - the simulator's data: every point of every (station, param)
 * series is a pure function of (seed, station, param, slot), so snapshots,
 * history answers and two runs with the same seed all agree.
 *
 * Times are integer milliseconds so cursor comparisons never suffer from
 * floating-point rounding.
 *
 * The simulator (docs/simulator.md): includes core/, net/secrets.h (its accounts)
 * and sim/.
 */
#ifndef SIM_GENERATOR_H
#define SIM_GENERATOR_H

#include <stdint.h>

#include "core/masterlist.h"
#include "core/util.h"

typedef enum { SIM_NUM, SIM_BOOL, SIM_STR } sim_kind;

typedef struct sim_value {
    sim_kind kind;
    /* SIM_NUM: the JSON number text; SIM_BOOL: "true"/"false"; SIM_STR: the raw string */
    char text[256];
} sim_value;

typedef struct sim_gen {
    const vb_masterlist *ml;
    uint64_t seed;
    uint64_t *station_hash; /* per station, from its name */
    uint64_t *param_hash;   /* per param, from its name */
} sim_gen;

int sim_gen_init(sim_gen *g, const vb_masterlist *ml, uint64_t seed, vb_err *err);
void sim_gen_free(sim_gen *g);

/* Whether station s reports param p at all. */
int sim_gen_reports(const sim_gen *g, size_t s, size_t p);

/*
 * The newest point of (s, p) received in (after_ms, upto_ms]: returns 1 and
 * its slot and receive time, or 0 when there is none.
 */
int sim_gen_newest(const sim_gen *g, size_t s, size_t p, int64_t after_ms, int64_t upto_ms,
                   int64_t *slot, int64_t *recv_ms);

/*
 * Calls fn for each point of (s, p) whose whole-second receive time lies in
 * [t0, t1], oldest first; stops early (returning fn's non-zero result).
 */
typedef int (*sim_point_fn)(void *arg, int64_t slot, int64_t recv_ms);
int sim_gen_range(const sim_gen *g, size_t s, size_t p, int64_t t0, int64_t t1, sim_point_fn fn,
                  void *arg);

/* The newest point of (s, p) received before t0 seconds, for the history quirk. */
int sim_gen_before(const sim_gen *g, size_t s, size_t p, int64_t t0, int64_t *slot,
                   int64_t *recv_ms);

void sim_gen_value(const sim_gen *g, size_t s, size_t p, int64_t slot, int64_t recv_ms,
                   sim_value *out);

/* A well-mixed 64-bit hash of a few words, the simulator's only source of chance. */
uint64_t sim_hash(uint64_t a, uint64_t b, uint64_t c, uint64_t d);

/* A uniform draw in [0, 1) from a hash. */
double sim_unit(uint64_t h);

#endif
