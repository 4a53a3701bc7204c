/*
 * faults.h - the simulator's fault injection: one table of faults, each
 * with a command-line rate, and a deterministic plan per data request so a
 * seed replays the same misbehaviour.
 *
 * "Answer" faults replace or spoil a whole answer (at most one per answer);
 * "content" faults each corrupt one value or add one point, and combine.
 *
 * The simulator (docs/simulator.md): includes core/, net/secrets.h (its accounts)
 * and sim/.
 */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H

#include <stdint.h>

typedef enum {
    SIM_F_500,
    SIM_F_503,
    SIM_F_429,
    SIM_F_401,
    SIM_F_TRUNCATE,
    SIM_F_BADJSON,
    SIM_F_STALL,
    SIM_F_DROP,
    SIM_F_FUTURE,
    SIM_F_BADNAME,
    SIM_F_NAN,
    SIM_F_NONUTF8,
    SIM_F_HISTORY_QUIRKS,
    /*
     * Wrong shapes and hostile sizes (docs/reliability.md, "Bad input"): the points they
     * spoil are not data, so they stay out of the served-points log.
     */
    SIM_F_ARRAY,
    SIM_F_STATION_ARRAY,
    SIM_F_DATA_ARRAY,
    SIM_F_NO_DATA,
    SIM_F_ENTRY_OBJECT,
    SIM_F_TIME_STRING,
    SIM_F_TIME_NULL,
    SIM_F_TIME_NEGATIVE,
    SIM_F_TIME_HUGE,
    SIM_F_LONG_NAME,
    SIM_F_LONG_VALUE,
    SIM_F_BRIDGE_STATION,
    SIM_NFAULTS
} sim_fault_id;

_Static_assert(SIM_NFAULTS <= 32, "a plan's content faults are a 32-bit mask");

enum { SIM_SCOPE_SNAPSHOT = 1, SIM_SCOPE_HISTORY = 2 };

typedef struct sim_fault_def {
    const char *option; /* command-line name, without "--" */
    const char *key;    /* name in /sim/stats */
    const char *help;
    unsigned scope;
    int answer; /* an answer fault (exclusive) rather than a content fault */
} sim_fault_def;

extern const sim_fault_def sim_faults[SIM_NFAULTS];

typedef struct sim_fault_plan {
    int answer;       /* the answer fault, or -1 */
    uint32_t content; /* bit i: content fault i applies */
    uint64_t draw;    /* extra randomness for choosing what to corrupt */
} sim_fault_plan;

/* The faults for the serial-th data request of this scope, from the rates (0..1). */
void sim_faults_plan(const double *rates, uint64_t seed, uint64_t serial, unsigned scope,
                     sim_fault_plan *out);

static inline int sim_fault_has(const sim_fault_plan *p, sim_fault_id f)
{
    return p->answer == (int)f || (p->content >> f) & 1;
}

#endif
