/*
 * coverage.c - see coverage.h.
 */
#include "hist/coverage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whole seconds as the cursor's text counts them; -1 when it is not a number of seconds. */
static int cursor_seconds(const char *cursor, double *t)
{
    return vb_parse_double(cursor, t) == 0 && isfinite(*t) && *t >= 0 && *t < 9e15 ? 0 : -1;
}

static int set_through(vb_coverage *c, const char *cursor, vb_err *err)
{
    double t;
    if (cursor_seconds(cursor, &t))
        return vb_fail(err, "cursor %.60s is not a time in seconds", cursor);
    char *s = vb_strdup(cursor);
    if (!s)
        return vb_fail(err, "out of memory");
    free(c->through);
    c->through = s;
    c->through_t = t;
    return 0;
}

int vb_coverage_start(vb_coverage *c, const char *cursor, vb_err *err)
{
    vb_coverage_free(c);
    if (set_through(c, cursor, err))
        return -1;
    c->from = (long long)floor(c->through_t) + 1;
    return 0;
}

void vb_coverage_free(vb_coverage *c)
{
    free(c->through);
    free(c->seg);
    *c = (vb_coverage){0};
}

static int push(vb_coverage *c, long long start, double gap)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        vb_cov_seg *s = realloc(c->seg, cap * sizeof *s);
        if (!s)
            return -1;
        c->seg = s;
        c->cap = cap;
    }
    c->seg[c->n++] = (vb_cov_seg){start, gap};
    return 0;
}

int vb_coverage_copy(vb_coverage *dst, const vb_coverage *src, vb_err *err)
{
    vb_coverage_free(dst);
    dst->from = src->from;
    for (size_t i = 0; i < src->n; i++)
        if (push(dst, src->seg[i].start, src->seg[i].gap))
            return vb_fail(err, "out of memory");
    return src->through ? set_through(dst, src->through, err) : 0;
}

int vb_coverage_format(const vb_coverage *c, vb_buf *out)
{
    if (vb_buf_printf(out, "%lld %s", c->from, c->through))
        return -1;
    for (size_t i = 0; i < c->n; i++)
        if (vb_buf_printf(out, " %lld:%.3f", c->seg[i].start, c->seg[i].gap))
            return -1;
    return 0;
}

int vb_coverage_parse(vb_coverage *c, const char *text, vb_err *err)
{
    vb_coverage_free(c);
    char cursor[257];
    long long from, start, last = 0;
    int used = 0;
    double gap;
    if (sscanf(text, "%lld %256s%n", &from, cursor, &used) != 2)
        return vb_fail(err, "backfill coverage '%.60s' is not 'FROM CURSOR SEGMENTS'", text);
    if (set_through(c, cursor, err))
        return -1;
    c->from = from;
    for (const char *p = text + used; *p;) {
        int n = 0;
        if (sscanf(p, " %lld:%lf%n", &start, &gap, &n) != 2 || !isfinite(gap) ||
            (c->n ? start <= last : start != from)) {
            vb_coverage_free(c);
            return vb_fail(err, "backfill coverage: bad segment near '%.30s'", p);
        }
        if (push(c, start, gap)) {
            vb_coverage_free(c);
            return vb_fail(err, "out of memory");
        }
        last = start;
        p += n;
        while (*p == ' ')
            p++;
    }
    return 0;
}

/* How many cuts lie below gap: two gaps of one class select the same series. */
static size_t class_of(const vb_cov_cuts *cuts, double gap)
{
    size_t k = 0;
    while (k < cuts->n && cuts->v[k] < gap)
        k++;
    return k;
}

int vb_coverage_extend(vb_coverage *c, const char *cursor, const vb_cov_cuts *cuts, vb_err *err)
{
    double t;
    if (cursor_seconds(cursor, &t))
        return vb_fail(err, "cursor %.60s is not a time in seconds", cursor);
    double gap = t > c->through_t ? t - c->through_t : 0;
    long long shared = (long long)floor(c->through_t), hi = (long long)floor(t);
    long long lo = shared > c->from ? shared : c->from;
    int rc = 0;
    if (hi >= lo) {
        size_t k = class_of(cuts, gap);
        vb_cov_seg *last = c->n ? &c->seg[c->n - 1] : NULL;
        size_t lk = last ? class_of(cuts, last->gap) : 0;
        if (last && lk == k) {
            last->gap = fmax(last->gap, gap);
        } else if (last && lk > k) {
            /* The shared second stays with the longer interval before it. */
            if (shared + 1 <= hi)
                rc = push(c, shared + 1 > lo ? shared + 1 : lo, gap);
        } else if (last && last->start == lo) {
            last->gap = gap;
        } else {
            rc = push(c, lo, gap);
        }
        if (rc == 0 && c->n > VB_COVERAGE_MAX_SEGMENTS) {
            c->seg[1].start = c->seg[0].start;
            c->seg[1].gap = fmax(c->seg[0].gap, c->seg[1].gap);
            memmove(c->seg, c->seg + 1, --c->n * sizeof *c->seg);
        }
    }
    if (rc)
        return vb_fail(err, "out of memory");
    return set_through(c, cursor, err);
}

long long vb_coverage_last(const vb_coverage *c)
{
    return (long long)floor(c->through_t) - 1;
}

double vb_coverage_gap(const vb_coverage *c, long long a, long long b)
{
    double gap = 0;
    for (size_t i = 0; i < c->n; i++) {
        long long end = i + 1 < c->n ? c->seg[i + 1].start - 1 : b;
        if (c->seg[i].start <= b && end >= a)
            gap = fmax(gap, c->seg[i].gap);
    }
    return gap;
}

void vb_coverage_done(vb_coverage *c, long long b)
{
    if (b < c->from)
        return;
    c->from = b + 1;
    size_t drop = 0;
    while (drop + 1 < c->n && c->seg[drop + 1].start <= c->from)
        drop++;
    if (drop)
        memmove(c->seg, c->seg + drop, (c->n - drop) * sizeof *c->seg);
    c->n -= drop;
    if (c->n && c->seg[0].start < c->from)
        c->seg[0].start = c->from;
}
