/*
 * fuzz_history.c - what `history` reads: an answer of GET /data/history
 * through its JSON decoder and into the CSV lines it keeps, which `insert`
 * must read back as that many "time,value" records inside the window; and a
 * station's metadata.json (ours, or the original's) through its loader, then
 * saved and loaded again, which must give the same records.
 */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/csv.h"
#include "fuzz.h"
#include "hist/histfiles.h"

/* The window asked for; the corpus answers have points on both sides of it. */
#define WINDOW_A 1712836790LL
#define WINDOW_B 1712840400LL

typedef struct target {
    vb_app app;
    vb_lua *lua;
    char dir[64];
} target;

/* libFuzzer's entry points take no context argument: the set-up made once lives here. */
static target *T;

static void cleanup(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/ALMA/metadata.json", T->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/ALMA", T->dir);
    rmdir(path);
    rmdir(T->dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    vb_err err;
    if (!(T = calloc(1, sizeof *T)) || fuzz_app_init(&T->app, &err) ||
        !(T->lua = vb_lua_new(&T->app, &err))) {
        fprintf(stderr, "fuzz_history: %s\n", T ? err.msg : "out of memory");
        exit(1);
    }
    snprintf(T->dir, sizeof T->dir, "%s/vb-fuzz-XXXXXX",
             access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
    char sub[128];
    if (!mkdtemp(T->dir) || (snprintf(sub, sizeof sub, "%s/ALMA", T->dir), vb_mkdir_p(sub, &err))) {
        fprintf(stderr, "fuzz_history: cannot make a directory in %s\n", T->dir);
        exit(1);
    }
    atexit(cleanup);
    return 0;
}

/* Whether b holds a's records, in any order (a JSON object's keys have none). */
static int same(vb_hist_station *a, vb_hist_station *b)
{
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < b->n; i++)
        nb += b->params[i].has_tried;
    for (size_t i = 0; i < a->n; i++) {
        const vb_hist_param *p = &a->params[i];
        /* A parameter never tried has nothing to remember, and is not saved. */
        if (!p->has_tried)
            continue;
        na++;
        const vb_hist_param *q = vb_hist_param_get(b, p->name);
        if (!q || !q->has_tried || p->last_tried != q->last_tried || p->has_seen != q->has_seen ||
            (p->has_seen && p->last_seen != q->last_seen) || p->bytes != q->bytes)
            return 0;
    }
    return na == nb;
}

/* The lines read back as CSV: ans->points records of a time in the window and a value. */
static void check_lines(const vb_buf *lines, const vb_hist_answer *ans)
{
    if (!lines->len) {
        if (ans->points)
            __builtin_trap();
        return;
    }
    FILE *f = fmemopen(lines->data, lines->len, "r");
    if (!f)
        return;
    vb_csv_reader r;
    vb_csv_reader_init(&r, f, 2);
    vb_err err;
    long n = 0;
    int rc;
    while ((rc = vb_csv_read(&r, &err)) == 1) {
        double t;
        if (r.nfields != 2 || vb_parse_double(vb_csv_field(&r, 0, NULL), &t) ||
            (long long)floor(t) < WINDOW_A || (long long)floor(t) > WINDOW_B ||
            (long long)floor(t) > ans->newest) {
            fprintf(stderr, "fuzz_history: line %ld is not time,value in the window\n", n + 1);
            __builtin_trap();
        }
        n++;
    }
    if (rc != 0 || n != ans->points) {
        fprintf(stderr, "fuzz_history: %ld point(s) kept, %ld read back%s\n", ans->points, n,
                rc ? " before an error" : "");
        __builtin_trap();
    }
    vb_csv_reader_free(&r);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = vb_lua_state(T->lua);
    vb_hist_json(T->lua, (const char *)data, size);
    vb_buf lines = {0};
    vb_hist_answer ans;
    vb_err err;
    if (vb_hist_answer_lines(L, "ALMA", "weather_tau225", WINDOW_A, WINDOW_B, &lines, &ans, &err) ==
        1)
        check_lines(&lines, &ans);
    vb_buf_free(&lines);
    lua_settop(L, 0);

    char path[128];
    snprintf(path, sizeof path, "%s/ALMA/metadata.json", T->dir);
    if (vb_write_atomic(path, data, size, &err))
        return 0;
    vb_hist_station st, again;
    if (vb_hist_station_load(&st, T->dir, "ALMA", T->lua, &err) == 0) {
        /* What history saves, it must read back as it was, or a rerun would not resume. */
        if (vb_hist_save(&st, &err) == 0) {
            if (vb_hist_station_load(&again, T->dir, "ALMA", T->lua, &err) != 0 ||
                !same(&st, &again)) {
                fprintf(stderr, "fuzz_history: metadata.json did not read back as it was saved\n");
                __builtin_trap();
            }
            vb_hist_station_free(&again);
        }
    }
    vb_hist_station_free(&st);
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
