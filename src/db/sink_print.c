/*
 * sink_print.c - the bridge's debug printer as a sink (db/sink.h): the rows
 * that would be stored, on stdout. A transaction's lines are held until
 * commit, so that what a rollback undoes is never printed; the state (the
 * cursor) lives in memory, so a restart begins afresh, as without a
 * database it must.
 */
#include "db/sink.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct state {
    char *key, *value;
} state;

typedef struct print_sink {
    vb_sink base;
    vb_buf out; /* this transaction's lines */
    state *st;
    size_t nst;
} print_sink;

static int pr_begin(vb_sink *base, vb_err *err)
{
    ((print_sink *)base)->out.len = 0;
    return 0;
}

/* The result's series rows within [a, b]. */
static int put_rows(vb_buf *out, const vb_result *r, long long a, long long b, vb_sink_stats *st)
{
    int rc = 0;
    for (size_t t = 0; rc == 0 && t < r->nseries; t++) {
        const vb_result_series *sr = &r->series[t];
        for (size_t k = sr->first; rc == 0 && k < sr->first + sr->n; k++) {
            const vb_row *row = &r->rows[k];
            /* What a database would skip is skipped here too. */
            if (row->value.type == VB_V_NULL || row->time < a || row->time > b) {
                st->skipped++;
                continue;
            }
            vb_value f[] = {{.type = VB_V_TEXT, .text = {sr->name, sr->name_len}},
                            {.type = VB_V_TEXT, .text = {row->station, row->station_len}},
                            {.type = VB_V_INTEGER, .i = row->time},
                            row->value};
            rc = vb_buf_puts(out, "ts_param_") || vb_value_put_record(out, f, VB_COUNT(f));
            st->rows++;
        }
    }
    return rc;
}

static int pr_store(vb_sink *base, const vb_result *r, vb_sink_stats *st, vb_err *err)
{
    vb_buf *out = &((print_sink *)base)->out;
    int rc = put_rows(out, r, LLONG_MIN, LLONG_MAX, st);
    for (size_t i = 0; rc == 0 && i < r->nstatus; i++) {
        vb_value f[1 + VB_STATUS_NCOLUMNS] = {
            {.type = VB_V_TEXT, .text = {"bridge_stationStatus", strlen("bridge_stationStatus")}}};
        memcpy(f + 1, r->status[i].f, sizeof r->status[i].f);
        rc = vb_value_put_record(out, f, VB_COUNT(f));
        st->status_rows++;
    }
    return rc ? vb_fail(err, "out of memory") : 0;
}

/*
 * Stdout holds nothing to compare with or delete from: every row of the
 * window is new to it, and status rows are left out as a database's fill
 * leaves them.
 */
static int pr_fill(vb_sink *base, const vb_result *r, const vb_fill_window *w, vb_sink_stats *st,
                   vb_err *err)
{
    return put_rows(&((print_sink *)base)->out, r, w->a, w->b, st) ? vb_fail(err, "out of memory")
                                                                   : 0;
}

static state *find(print_sink *s, const char *key)
{
    for (size_t i = 0; i < s->nst; i++)
        if (strcmp(s->st[i].key, key) == 0)
            return &s->st[i];
    return NULL;
}

static int pr_state_get(vb_sink *base, const char *key, char **value, vb_err *err)
{
    state *e = find((print_sink *)base, key);
    *value = NULL;
    if (e && !(*value = vb_strdup(e->value)))
        return vb_fail(err, "out of memory");
    return 0;
}

static int pr_state_set(vb_sink *base, const char *key, const char *value, vb_err *err)
{
    print_sink *s = (print_sink *)base;
    state *e = find(s, key);
    char *v = vb_strdup(value);
    if (!v)
        return vb_fail(err, "out of memory");
    if (e) {
        free(e->value);
        e->value = v;
        return 0;
    }
    state *ns = realloc(s->st, (s->nst + 1) * sizeof *ns);
    char *k = vb_strdup(key);
    if (ns)
        s->st = ns;
    if (!ns || !k) {
        free(k);
        free(v);
        return vb_fail(err, "out of memory");
    }
    s->st[s->nst++] = (state){k, v};
    return 0;
}

static int pr_commit(vb_sink *base, vb_err *err)
{
    vb_buf *out = &((print_sink *)base)->out;
    int rc = 0;
    if (out->len && (fwrite(out->data, 1, out->len, stdout) != out->len || fflush(stdout)))
        rc = vb_fail(err, "cannot write to stdout: %s", strerror(errno));
    out->len = 0;
    return rc;
}

static void pr_rollback(vb_sink *base)
{
    ((print_sink *)base)->out.len = 0;
}

/* No database, no rows to restore. */
static int pr_read_status(vb_sink *base, vb_status_fn fn, void *ud, vb_err *err)
{
    return 0;
}

static void pr_close(vb_sink *base)
{
    print_sink *s = (print_sink *)base;
    for (size_t i = 0; i < s->nst; i++) {
        free(s->st[i].key);
        free(s->st[i].value);
    }
    free(s->st);
    vb_buf_free(&s->out);
    free(s);
}

static const vb_sink_ops print_ops = {
    .kind = "print",
    .begin = pr_begin,
    .store = pr_store,
    .state_get = pr_state_get,
    .state_set = pr_state_set,
    .commit = pr_commit,
    .rollback = pr_rollback,
    .fill = pr_fill,
    .read_status = pr_read_status,
    .close = pr_close,
};

vb_sink *vb_sink_print_open(vb_err *err)
{
    print_sink *s = calloc(1, sizeof *s);
    if (!s) {
        vb_fail(err, "out of memory");
        return NULL;
    }
    s->base = (vb_sink){.ops = &print_ops, .name = "stdout"};
    return &s->base;
}
