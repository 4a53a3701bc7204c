/*
 * histplan.c - see histplan.h.
 *
 * Each call scans every series once (a few thousand for all stations and
 * parameters): cheap beside a request, and it needs no index to keep up to
 * date as series move on at their own pace.
 */
#include "hist/histplan.h"

#include <stdlib.h>
#include <string.h>

/* "startTime=T&endTime=T" with two 20-digit times: the query's fixed part, at most. */
#define TIMES_QUERY_BYTES 64

void vb_window_init(vb_window *w, int cadence, long long start, long long end)
{
    w->base = cadence > 0 ? cadence * 100.0 : cadence == 0 ? 864000.0 : VB_STATIC_WINDOW_S;
    w->size = w->base;
    w->next = start;
    w->end = end;
    w->a = w->b = 0;
}

void vb_window_span(vb_window *w, long long start, long long end)
{
    w->base = w->size = (double)(end - start + 1);
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
    switch (outcome) {
    case VB_WINDOW_ERROR:
        return;
    case VB_WINDOW_TOO_BIG:
        w->size = w->size / 2 >= 1 ? w->size / 2 : 1;
        if (w->base > w->size)
            w->base = w->size;
        return;
    default:
        w->next = w->b + 1;
        w->size = outcome == VB_WINDOW_FULL ? w->base : w->size * 1.5;
    }
}

int vb_hist_shortest_cadence(const vb_param *par)
{
    int pub = par->cadence_public, priv = par->cadence_private;
    if (pub > 0 && (priv <= 0 || pub <= priv))
        return pub;
    if (priv > 0)
        return priv;
    return pub == 0 || priv == 0 ? 0 : -1;
}

double vb_hist_point_rate(const vb_param *par, double window)
{
    int c = vb_hist_shortest_cadence(par);
    return c > 0 ? 1.0 / c : 100.0 / window;
}

int vb_hist_plan_init(vb_hist_plan *pl, vb_err *err)
{
    size_t np = pl->nparams ? pl->nparams : 1, ns = pl->nstations ? pl->nstations : 1;
    pl->mask = calloc(np, sizeof *pl->mask);
    pl->at = calloc(np * ns, sizeof *pl->at);
    pl->params = calloc(np, sizeof *pl->params);
    pl->series = calloc(pl->n ? pl->n : 1, sizeof *pl->series);
    if (!pl->mask || !pl->at || !pl->params || !pl->series || pl->nstations > 64) {
        vb_hist_plan_free(pl);
        return vb_fail(err, pl->nstations > 64 ? "more than 64 stations" : "out of memory");
    }
    return 0;
}

void vb_hist_plan_free(vb_hist_plan *pl)
{
    free(pl->mask);
    free(pl->at);
    free(pl->params);
    free(pl->series);
    pl->mask = NULL;
    pl->at = pl->params = pl->series = NULL;
}

int vb_hist_plan_one(vb_hist_plan *pl, size_t i, vb_hist_batch *b)
{
    vb_hist_series *s = &pl->s[i];
    if (!vb_window_next(&s->w, &b->a, &b->b))
        return 0;
    pl->params[0] = s->param;
    pl->series[0] = i;
    b->stations = (uint64_t)1 << s->station;
    b->params = pl->params;
    b->nparams = 1;
    b->series = pl->series;
    b->n = 1;
    b->points = s->rate * (double)(b->b - b->a + 1);
    return 1;
}

/* The series that goes first: the earliest next window, the lowest index among equals. */
static int first_series(const vb_hist_plan *pl, size_t *out)
{
    int found = 0;
    for (size_t i = 0; i < pl->n; i++) {
        const vb_window *w = &pl->s[i].w;
        if (w->next <= w->end && (!found || w->next < pl->s[*out].w.next)) {
            *out = i;
            found = 1;
        }
    }
    return found;
}

/* The estimate of parameter p's series at the stations of mask over [a, b]. */
static double param_points(const vb_hist_plan *pl, size_t p, uint64_t mask, long long a,
                           long long b)
{
    double sum = 0;
    for (size_t st = 0; st < pl->nstations; st++)
        if (mask >> st & 1)
            sum += pl->s[pl->at[p * pl->nstations + st] - 1].rate * (double)(b - a + 1);
    return sum;
}

/* Fills the batch's series, station by station, from the chosen stations and parameters. */
static void fill_series(vb_hist_plan *pl, vb_hist_batch *b)
{
    b->n = 0;
    for (size_t st = 0; st < pl->nstations; st++)
        if (b->stations >> st & 1)
            for (size_t k = 0; k < b->nparams; k++)
                pl->series[b->n++] = pl->at[b->params[k] * pl->nstations + st] - 1;
    b->series = pl->series;
    b->params = pl->params;
}

int vb_hist_plan_next(vb_hist_plan *pl, vb_hist_batch *b)
{
    size_t first = 0;
    if (!first_series(pl, &first))
        return 0;
    vb_hist_plan_one(pl, first, b);
    if (pl->max_points <= 0)
        return 1;
    /* The cohort: every series with this very window, by parameter and station. */
    memset(pl->mask, 0, pl->nparams * sizeof *pl->mask);
    for (size_t i = 0; i < pl->n; i++) {
        vb_hist_series *s = &pl->s[i];
        long long a, bb;
        if (s->w.next != b->a || !vb_window_next(&s->w, &a, &bb) || bb != b->b)
            continue;
        pl->mask[s->param] |= (uint64_t)1 << s->station;
        pl->at[s->param * pl->nstations + s->station] = i + 1;
    }
    size_t p0 = pl->s[first].param;
    uint64_t m0 = pl->mask[p0];
    size_t stations_q = 0;
    for (size_t st = 0; st < pl->nstations; st++)
        if (m0 >> st & 1)
            stations_q += 13 + pl->station_len[st];
    double est = param_points(pl, p0, m0, b->a, b->b);
    size_t query = TIMES_QUERY_BYTES + stations_q + 7 + pl->param_len[p0];
    if (est > pl->max_points || query > pl->max_query) {
        /* Parameter p0 alone is too much for all its stations: as many of them as fit. */
        b->stations = (uint64_t)1 << pl->s[first].station;
        est = b->points;
        query =
            TIMES_QUERY_BYTES + 13 + pl->station_len[pl->s[first].station] + 7 + pl->param_len[p0];
        for (size_t st = 0; st < pl->nstations; st++) {
            if (!(m0 >> st & 1) || (b->stations >> st & 1))
                continue;
            uint64_t bit = (uint64_t)1 << st;
            double e = param_points(pl, p0, bit, b->a, b->b);
            if (est + e > pl->max_points || query + 13 + pl->station_len[st] > pl->max_query)
                break;
            b->stations |= bit;
            est += e;
            query += 13 + pl->station_len[st];
        }
        b->points = est;
        fill_series(pl, b);
        return 1;
    }
    b->stations = m0;
    b->nparams = 1;
    for (size_t p = 0; p < pl->nparams; p++) {
        if (p == p0 || pl->mask[p] != m0)
            continue;
        double e = param_points(pl, p, m0, b->a, b->b);
        if (est + e > pl->max_points || query + 7 + pl->param_len[p] > pl->max_query)
            break;
        pl->params[b->nparams++] = p;
        est += e;
        query += 7 + pl->param_len[p];
    }
    b->points = est;
    fill_series(pl, b);
    return 1;
}

void vb_hist_plan_too_big(vb_hist_plan *pl, const vb_hist_batch *b)
{
    if (b->n == 1)
        vb_window_done(&pl->s[b->series[0]].w, VB_WINDOW_TOO_BIG);
    for (size_t k = 0; b->n > 1 && k < b->n; k++)
        pl->s[b->series[k]].rate *= 2;
}

int vb_hist_query(vb_buf *out, const vb_hist_batch *b, const char *const *stations,
                  const vb_masterlist *ml)
{
    int bad = vb_buf_puts(out, "/data/history?");
    for (size_t st = 0; st < 64; st++)
        if (b->stations >> st & 1)
            bad = bad || vb_buf_printf(out, "observatory=%s&", stations[st]);
    for (size_t k = 0; k < b->nparams; k++)
        bad = bad || vb_buf_printf(out, "field=%s&", ml->params[b->params[k]].name);
    return bad || vb_buf_printf(out, "startTime=%lld&endTime=%lld", b->a, b->b);
}
