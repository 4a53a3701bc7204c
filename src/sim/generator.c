/*
 * generator.c - the simulated telescopes (see generator.h).
 *
 * Each series has slots of its cadence; slot k holds at most one point,
 * received somewhere inside the slot. Finding "the newest point in
 * (a, b]" is then arithmetic instead of a scan of stored data, which keeps a
 * full snapshot cheap and makes every answer reproducible.
 */
#include "sim/generator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846
#define SCAN_MS 300000 /* one simulated scan: a source, a slew, then on source */
#define IRREGULAR_SLOT_MS 60000
#define STATIC_SLOT_MS 3600000
/* An irregular series reports in one slot of this many; a gap longer than the
 * look-back cap is so unlikely that "no point" is the right answer. */
#define IRREGULAR_ODDS 4
#define LOOKBACK_SLOTS 256

static const char *const sources[] = {"Sgr A*",  "M87",        "3C279", "OJ287",
                                      "NRAO530", "J1924-2914", "CenA",  "3C273"};
static const char *const modes[] = {"VLBI", "VLBI", "VLBI", "pointing", "focus", "   "};
static const char *const words[] = {"ok",      "nominal", "locked", "tracking",
                                    "standby", "warm",    "cold",   "ready"};

uint64_t sim_hash(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t x = a;
    const uint64_t more[] = {b, c, d};
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        x ^= x >> 31;
        if (i < 3)
            x ^= more[i];
    }
    return x;
}

double sim_unit(uint64_t h)
{
    return (double)(h >> 11) / 9007199254740992.0;
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int sim_gen_init(sim_gen *g, const vb_masterlist *ml, uint64_t seed, vb_err *err)
{
    g->ml = ml;
    g->seed = seed;
    g->station_hash = calloc(ml->nstations ? ml->nstations : 1, sizeof *g->station_hash);
    g->param_hash = calloc(ml->nparams ? ml->nparams : 1, sizeof *g->param_hash);
    if (!g->station_hash || !g->param_hash) {
        sim_gen_free(g);
        return vb_fail(err, "out of memory");
    }
    for (size_t i = 0; i < ml->nstations; i++)
        g->station_hash[i] = name_hash(ml->stations[i]);
    for (size_t i = 0; i < ml->nparams; i++)
        g->param_hash[i] = name_hash(ml->params[i].name);
    return 0;
}

void sim_gen_free(sim_gen *g)
{
    free(g->station_hash);
    free(g->param_hash);
    g->station_hash = NULL;
    g->param_hash = NULL;
}

int sim_gen_reports(const sim_gen *g, size_t s, size_t p)
{
    return s < 64 && (g->ml->params[p].stations >> s) & 1;
}

typedef struct series {
    uint64_t h;
    int64_t width;
    int irregular;
} series;

/* The private cadence rules during observations, which is what a simulator shows. */
static series series_of(const sim_gen *g, size_t s, size_t p)
{
    const vb_param *par = &g->ml->params[p];
    int c = par->cadence_private >= 0 ? par->cadence_private : par->cadence_public;
    series r = {sim_hash(g->seed, g->station_hash[s], g->param_hash[p], 0), STATIC_SLOT_MS, 0};
    if (c > 0)
        r.width = (int64_t)c * 1000;
    else if (c == 0) {
        r.width = IRREGULAR_SLOT_MS;
        r.irregular = 1;
    }
    return r;
}

/* Receive time of slot k, or -1 when the slot has no point. */
static int slot_point(const series *r, int64_t k, int64_t *recv_ms)
{
    if (r->irregular) {
        if (sim_hash(r->h, (uint64_t)k, 2, 0) % IRREGULAR_ODDS != 0)
            return 0;
        *recv_ms = k * r->width + (int64_t)(sim_hash(r->h, (uint64_t)k, 3, 0) % (uint64_t)r->width);
        return 1;
    }
    int64_t half = r->width / 2;
    *recv_ms = k * r->width + (int64_t)(r->h % (uint64_t)half) +
               (int64_t)(sim_hash(r->h, (uint64_t)k, 1, 0) % (uint64_t)half);
    return 1;
}

int sim_gen_newest(const sim_gen *g, size_t s, size_t p, int64_t after_ms, int64_t upto_ms,
                   int64_t *slot, int64_t *recv_ms)
{
    if (!sim_gen_reports(g, s, p) || upto_ms <= after_ms)
        return 0;
    series r = series_of(g, s, p);
    int64_t k = floor_div(upto_ms, r.width);
    for (int i = 0; i < LOOKBACK_SLOTS && (k + 1) * r.width > after_ms; i++, k--) {
        int64_t t;
        if (!slot_point(&r, k, &t) || t > upto_ms)
            continue;
        if (t <= after_ms)
            return 0;
        *slot = k;
        *recv_ms = t;
        return 1;
    }
    return 0;
}

int sim_gen_range(const sim_gen *g, size_t s, size_t p, int64_t t0, int64_t t1, sim_point_fn fn,
                  void *arg)
{
    if (!sim_gen_reports(g, s, p) || t1 < t0)
        return 0;
    series r = series_of(g, s, p);
    int64_t lo = t0 * 1000, hi = t1 * 1000 + 999;
    for (int64_t k = floor_div(lo, r.width); k <= floor_div(hi, r.width); k++) {
        int64_t t;
        if (!slot_point(&r, k, &t) || t < lo || t > hi)
            continue;
        int rc = fn(arg, k, t);
        if (rc)
            return rc;
    }
    return 0;
}

int sim_gen_before(const sim_gen *g, size_t s, size_t p, int64_t t0, int64_t *slot,
                   int64_t *recv_ms)
{
    series r = series_of(g, s, p);
    int64_t upto = t0 * 1000 - 1;
    return sim_gen_newest(g, s, p, upto - LOOKBACK_SLOTS * r.width, upto, slot, recv_ms);
}

/* The array observes one source per scan; each station slews onto it at its own pace. */
static int on_source(const sim_gen *g, size_t s, int64_t t_ms)
{
    int64_t scan = floor_div(t_ms, SCAN_MS);
    int64_t slew =
        20000 + (int64_t)(sim_hash(g->seed, g->station_hash[s], (uint64_t)scan, 5) % 40000);
    return t_ms - scan * SCAN_MS >= slew;
}

static uint64_t scan_hash(const sim_gen *g, int64_t t_ms)
{
    return sim_hash(g->seed, (uint64_t)floor_div(t_ms, SCAN_MS), 6, 0);
}

static void set_bool(const sim_gen *g, size_t s, int v, sim_value *out)
{
    /* Some stations send booleans as strings, in either capitalisation. */
    switch (g->station_hash[s] % 3) {
    case 0:
        out->kind = SIM_BOOL;
        snprintf(out->text, sizeof out->text, "%s", v ? "true" : "false");
        break;
    case 1:
        out->kind = SIM_STR;
        snprintf(out->text, sizeof out->text, "%s", v ? "true" : "false");
        break;
    default:
        out->kind = SIM_STR;
        snprintf(out->text, sizeof out->text, "%s", v ? "True" : "False");
    }
}

static void set_str(sim_value *out, const char *s)
{
    out->kind = SIM_STR;
    snprintf(out->text, sizeof out->text, "%s", s);
}

/* A smooth wander around a per-series level, plus a little per-point noise. */
static double drift(uint64_t h, int64_t slot, int64_t t_ms, double base, double amp)
{
    double period = 1800.0 + (double)(h % 7200);
    double phase = sim_unit(sim_hash(h, 7, 0, 0)) * 2 * PI;
    double noise = (sim_unit(sim_hash(h, (uint64_t)slot, 8, 0)) - 0.5) * amp * 0.1;
    return base + amp * sin(2 * PI * ((double)t_ms / 1000.0) / period + phase) + noise;
}

static int is_recorder_figure(const char *name)
{
    const char *g = strstr(name, "_group");
    if (strncmp(name, "recorder_", 9) != 0 || !g || g[6] < 'a' || g[6] > 'd')
        return 0;
    return strcmp(g + 7, "SpaceLeft") == 0 || strcmp(g + 7, "TimeLeft") == 0 ||
           strcmp(g + 7, "Datarate") == 0;
}

static void observer_message(uint64_t h, int64_t slot, sim_value *out)
{
    uint64_t x = sim_hash(h, (uint64_t)slot, 9, 0);
    out->kind = SIM_STR;
    switch (x % 4) {
    case 0:
        snprintf(out->text, sizeof out->text, "clear, \"dry\"\nwind %d m/s", (int)((x >> 8) % 15));
        break;
    case 1:
        snprintf(out->text, sizeof out->text, "J. O'Neil, shift %d", (int)((x >> 8) % 3) + 1);
        break;
    case 2:
        snprintf(out->text, sizeof out->text, "status: \"%s\", tau %.2f",
                 words[(x >> 8) % VB_COUNT(words)], 0.05 + (double)((x >> 16) % 30) / 100.0);
        break;
    default:
        snprintf(out->text, sizeof out->text, "snow on the dish,\r\nde-icing for %d min",
                 (int)((x >> 8) % 60));
    }
}

static void coordinates(const sim_gen *g, size_t s, const vb_param *par, uint64_t h, int64_t t_ms,
                        sim_value *out)
{
    uint64_t src = scan_hash(g, t_ms);
    double ra = sim_unit(sim_hash(src, 10, 0, 0)) * 24.0;
    double dec = sim_unit(sim_hash(src, 11, 0, 0)) * 150.0 - 75.0;
    out->kind = SIM_STR;
    if (par->type == VB_DT_AZEL) {
        double t = (double)t_ms / 1000.0;
        double az = fmod(sim_unit(h) * 360.0 + t * 0.004, 360.0);
        double el = 15.0 + 70.0 * fabs(sin(t / 20000.0 + sim_unit(src) * PI));
        snprintf(out->text, sizeof out->text, "%.5f%+.5f", az, el);
    } else if (par->type == VB_DT_CELESTIAL) {
        snprintf(out->text, sizeof out->text, "%.6f%+010.6f", ra, dec);
    } else {
        double lat = sim_unit(sim_hash(g->station_hash[s], 12, 0, 0)) * 140.0 - 70.0;
        double lon = sim_unit(sim_hash(g->station_hash[s], 13, 0, 0)) * 360.0 - 180.0;
        snprintf(out->text, sizeof out->text, "%+.5f%+.5f", lat, lon);
    }
}

void sim_gen_value(const sim_gen *g, size_t s, size_t p, int64_t slot, int64_t recv_ms,
                   sim_value *out)
{
    const vb_param *par = &g->ml->params[p];
    const char *name = par->name;
    uint64_t h = series_of(g, s, p).h;
    int on = on_source(g, s, recv_ms);
    uint64_t scan = scan_hash(g, recv_ms);

    if (strcmp(name, "telescope_onSource") == 0) {
        set_bool(g, s, on, out);
    } else if (strcmp(name, "telescope_sourceName") == 0) {
        /* SMA blanks its source name whenever it leaves the source. */
        set_str(out, !on && strcmp(g->ml->stations[s], "SMA") == 0
                         ? " "
                         : sources[scan % VB_COUNT(sources)]);
    } else if (strcmp(name, "telescope_observingMode") == 0) {
        set_str(out, modes[(scan >> 8) % VB_COUNT(modes)]);
    } else if (strncmp(name, "recorder_", 9) == 0 && strcmp(name + 10, "_shouldRecord") == 0) {
        int n = name[9] - '0';
        set_bool(g, s, on && n <= (int)(g->station_hash[s] % 4) + 1, out);
    } else if (strncmp(name, "observerMessages_", 17) == 0) {
        observer_message(h, slot, out);
    } else if (strcmp(name, "weather_tau225") == 0) {
        out->kind = SIM_NUM;
        snprintf(out->text, sizeof out->text, "%.4f", fabs(drift(h, slot, recv_ms, 0.12, 0.06)));
    } else if (is_recorder_figure(name) || par->type == VB_DT_FLOAT || par->type == VB_DT_NUMBER) {
        double level = pow(10.0, (double)(h % 4)) * (1.0 + sim_unit(sim_hash(h, 14, 0, 0)) * 9.0);
        out->kind = SIM_NUM;
        snprintf(out->text, sizeof out->text, "%.3f", drift(h, slot, recv_ms, level, level * 0.2));
    } else if (par->type == VB_DT_INT) {
        double level = (double)(h % 1000);
        out->kind = SIM_NUM;
        snprintf(out->text, sizeof out->text, "%lld",
                 (long long)llround(drift(h, slot, recv_ms, level, 5.0 + level * 0.1)));
    } else if (par->type == VB_DT_BOOLEAN) {
        int64_t flip_ms = 600000 + (int64_t)(h % 3000) * 1000;
        set_bool(g, s, (int)(sim_hash(h, (uint64_t)floor_div(recv_ms, flip_ms), 15, 0) & 1), out);
    } else if (par->type == VB_DT_AZEL || par->type == VB_DT_CELESTIAL ||
               par->type == VB_DT_COORDINATES) {
        coordinates(g, s, par, h, recv_ms, out);
    } else if (sim_hash(h, (uint64_t)slot, 16, 0) % 40 == 0) {
        set_str(out, " ");
    } else {
        uint64_t x = sim_hash(h, (uint64_t)floor_div(recv_ms, 900000), 17, 0);
        out->kind = SIM_STR;
        snprintf(out->text, sizeof out->text, "%s %u", words[x % VB_COUNT(words)],
                 (unsigned)(x >> 32) % 100);
    }
}
