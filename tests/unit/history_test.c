/*
 * history_test.c - the history window walk: cadence x 100, x1.5 after an
 * empty answer, reset after a full one, cadence 0 as 8640, a day without a
 * cadence, a failed window asked for again rather than skipped, a window
 * too big halved; which series share a request; what an answer's points
 * become as CSV lines; and metadata.json keys taken whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <lauxlib.h>
#include <lualib.h>

#include "core/app.h"
#include "hist/histfiles.h"
#include "hist/histplan.h"

static void expect_window(vb_window *w, long long a, long long b)
{
    long long ga, gb;
    assert_int_equal(vb_window_next(w, &ga, &gb), 1);
    assert_int_equal(ga, a);
    assert_int_equal(gb, b);
}

static void test_walk(void **state)
{
    (void)state;
    vb_window w;
    vb_window_init(&w, 10, 1000, 5000);
    expect_window(&w, 1000, 1999);
    vb_window_done(&w, VB_WINDOW_EMPTY);
    expect_window(&w, 2000, 3499);
    vb_window_done(&w, VB_WINDOW_ERROR);
    expect_window(&w, 2000, 3499);
    vb_window_done(&w, VB_WINDOW_EMPTY);
    expect_window(&w, 3500, 5000); /* 2250 s, cut at the end */
    vb_window_done(&w, VB_WINDOW_FULL);
    long long a, b;
    assert_int_equal(vb_window_next(&w, &a, &b), 0);
}

static void test_reset_and_irregular(void **state)
{
    (void)state;
    vb_window w;
    vb_window_init(&w, 0, 0, 10000000);
    expect_window(&w, 0, 863999);
    vb_window_done(&w, VB_WINDOW_EMPTY);
    expect_window(&w, 864000, 864000 + 1296000 - 1);
    vb_window_done(&w, VB_WINDOW_FULL);
    expect_window(&w, 2160000, 2160000 + 863999);
}

static void test_empty_range(void **state)
{
    (void)state;
    vb_window w;
    long long a, b;
    vb_window_init(&w, 5, 101, 100);
    assert_int_equal(vb_window_next(&w, &a, &b), 0);
    vb_window_init(&w, 5, 100, 100);
    expect_window(&w, 100, 100);
}

static void test_static_and_too_big(void **state)
{
    (void)state;
    vb_window w;
    vb_window_init(&w, -1, 0, 1000000);
    expect_window(&w, 0, 86399);
    vb_window_done(&w, VB_WINDOW_TOO_BIG);
    expect_window(&w, 0, 43199);
    vb_window_done(&w, VB_WINDOW_EMPTY);
    expect_window(&w, 43200, 43200 + 64800 - 1);
    vb_window_done(&w, VB_WINDOW_FULL); /* back to the halved size, not to a day */
    expect_window(&w, 108000, 108000 + 43199);
    vb_window_init(&w, 1, 0, 10);
    expect_window(&w, 0, 10);
    for (int i = 0; i < 10; i++)
        vb_window_done(&w, VB_WINDOW_TOO_BIG);
    expect_window(&w, 0, 0); /* never below a second */
}

/* The backfill's window: a stretch asked for whole, halved only when too big. */
static void test_span(void **state)
{
    (void)state;
    vb_window w;
    vb_window_span(&w, 1000, 1299);
    expect_window(&w, 1000, 1299);
    vb_window_done(&w, VB_WINDOW_TOO_BIG);
    expect_window(&w, 1000, 1149);
    vb_window_done(&w, VB_WINDOW_FULL);
    expect_window(&w, 1150, 1299);
    vb_window_done(&w, VB_WINDOW_EMPTY);
    long long a, b;
    assert_int_equal(vb_window_next(&w, &a, &b), 0);
}

static void test_cadences(void **state)
{
    (void)state;
    vb_param p = {.cadence_public = 60, .cadence_private = 10};
    assert_int_equal(vb_hist_shortest_cadence(&p), 10);
    p = (vb_param){.cadence_public = 5, .cadence_private = -1};
    assert_int_equal(vb_hist_shortest_cadence(&p), 5);
    assert_true(vb_hist_point_rate(&p, 100) == 0.2);
    p = (vb_param){.cadence_public = 0, .cadence_private = 30};
    assert_int_equal(vb_hist_shortest_cadence(&p), 30);
    p = (vb_param){.cadence_public = -1, .cadence_private = 0};
    assert_int_equal(vb_hist_shortest_cadence(&p), 0);
    assert_true(vb_hist_point_rate(&p, 1000) == 0.1);
    p = (vb_param){.cadence_public = -1, .cadence_private = -1};
    assert_int_equal(vb_hist_shortest_cadence(&p), -1);
}

/* A plan over nst stations x npar parameters, every series from 0 to end at cadence 10. */
typedef struct fixture {
    vb_hist_series s[64];
    size_t slen[8], plen[8];
    vb_hist_plan pl;
} fixture;

static void plan_of(fixture *f, size_t nst, size_t npar, long long end, double max_points)
{
    memset(f, 0, sizeof *f);
    size_t n = 0;
    for (size_t st = 0; st < nst; st++)
        for (size_t p = 0; p < npar; p++) {
            f->s[n] = (vb_hist_series){.station = (unsigned)st, .param = p, .rate = 0.1};
            vb_window_init(&f->s[n++].w, 10, 0, end);
        }
    for (size_t i = 0; i < 8; i++)
        f->slen[i] = f->plen[i] = 4;
    f->pl = (vb_hist_plan){.s = f->s,
                           .n = n,
                           .nstations = nst,
                           .nparams = npar,
                           .station_len = f->slen,
                           .param_len = f->plen,
                           .max_points = max_points,
                           .max_query = 4000};
    vb_err err;
    assert_int_equal(vb_hist_plan_init(&f->pl, &err), 0);
}

/* Every series of the batch got an answer of this outcome. */
static void answer(fixture *f, const vb_hist_batch *b, vb_window_outcome o)
{
    for (size_t k = 0; k < b->n; k++)
        vb_window_done(&f->s[b->series[k]].w, o);
}

static void test_plan_shares_windows(void **state)
{
    (void)state;
    fixture f;
    vb_hist_batch b;
    /* 3 stations x 4 parameters, 100 points each per window: all in one request. */
    plan_of(&f, 3, 4, 2999, 1e6);
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 1);
    assert_int_equal(b.a, 0);
    assert_int_equal(b.b, 999);
    assert_int_equal(b.n, 12);
    assert_int_equal(b.nparams, 4);
    assert_int_equal(b.stations, 7);
    for (size_t k = 0; k < 12; k++) /* station by station, the parameters in order */
        assert_int_equal(b.series[k], k);
    assert_true(b.points > 1199.9 && b.points < 1200.1);
    /*
     * Station 1's parameter 1 had an empty answer: its window grows, so it goes on alone, and
     * parameter 1 of the other stations can no longer share a request with the others.
     */
    answer(&f, &b, VB_WINDOW_FULL);
    f.s[5].w.size = 1500;
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 1);
    assert_int_equal(b.n, 9);
    assert_int_equal(b.stations, 7);
    assert_int_equal(b.nparams, 3);
    assert_int_equal(b.params[1], 2);
    answer(&f, &b, VB_WINDOW_FULL);
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 1);
    assert_int_equal(b.stations, 5);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.series[0], 1);
    assert_int_equal(b.series[1], 9);
    answer(&f, &b, VB_WINDOW_FULL);
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 1);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.series[0], 5);
    assert_int_equal(b.a, 1000);
    assert_int_equal(b.b, 2499);
    vb_hist_plan_free(&f.pl);
}

static void test_plan_bounds(void **state)
{
    (void)state;
    fixture f;
    vb_hist_batch b;
    /* 650 points allow two parameters of the three stations (100 points each series). */
    plan_of(&f, 3, 4, 999, 650);
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 1);
    assert_int_equal(b.n, 6);
    assert_int_equal(b.nparams, 2);
    assert_int_equal(b.params[0], 0);
    assert_int_equal(b.params[1], 1);
    answer(&f, &b, VB_WINDOW_FULL);
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 1);
    assert_int_equal(b.params[0], 2);
    assert_int_equal(b.n, 6);
    answer(&f, &b, VB_WINDOW_FULL);
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 0);
    vb_hist_plan_free(&f.pl);
    /* One parameter at all stations is over the bound: as many stations as fit. */
    plan_of(&f, 3, 4, 999, 250);
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 1);
    assert_int_equal(b.nparams, 1);
    assert_int_equal(b.stations, 3);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.series[0], 0);
    assert_int_equal(b.series[1], 4);
    vb_hist_plan_free(&f.pl);
    /* The query: "observatory=NAME&" is 17 bytes, "field=NAME&" 11, the times 64 at most. */
    plan_of(&f, 3, 4, 999, 1e6);
    f.pl.max_query = 64 + 3 * 17 + 2 * 11;
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 1);
    assert_int_equal(b.nparams, 2);
    vb_hist_plan_free(&f.pl);
    /* max_points 0: one series per request. */
    plan_of(&f, 3, 4, 999, 0);
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 1);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.stations, 1);
    vb_hist_plan_free(&f.pl);
}

/* Parameters asked at different stations never share a request: the server answers every pair. */
static void test_plan_cross_product(void **state)
{
    (void)state;
    fixture f;
    vb_hist_batch b;
    plan_of(&f, 2, 3, 999, 1e6);
    f.s[4].w.next = 1000; /* station 1's parameter 1 is done */
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 1);
    assert_int_equal(b.stations, 3);
    assert_int_equal(b.nparams, 2);
    assert_int_equal(b.params[0], 0);
    assert_int_equal(b.params[1], 2);
    char n0[] = "p0", n1[] = "p1", n2[] = "p2";
    vb_param ps[] = {{.name = n0}, {.name = n1}, {.name = n2}};
    vb_masterlist ml = {.params = ps, .nparams = 3};
    const char *stations[] = {"ALMA", "SMA"};
    vb_buf q = {0};
    assert_int_equal(vb_hist_query(&q, &b, stations, &ml), 0);
    assert_string_equal(q.data, "/data/history?observatory=ALMA&observatory=SMA&field=p0&"
                                "field=p2&startTime=0&endTime=999");
    vb_buf_free(&q);
    /* Too big for one request: its series count double from now on, alone: a shorter window. */
    vb_hist_plan_too_big(&f.pl, &b);
    for (size_t k = 0; k < b.n; k++)
        assert_true(f.s[b.series[k]].rate == 0.2);
    answer(&f, &b, VB_WINDOW_FULL);
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 1);
    assert_int_equal(b.stations, 1);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.series[0], 1);
    answer(&f, &b, VB_WINDOW_FULL);
    assert_int_equal(vb_hist_plan_next(&f.pl, &b), 0);
    vb_hist_plan_free(&f.pl);
}

/* Runs the answer chunk and keeps window [100, 200] of ALMA's p; the answer stays on the stack. */
static int lines_of(lua_State *L, const char *answer, vb_buf *out, vb_hist_answer *ans)
{
    assert_int_equal(luaL_dostring(L, answer), LUA_OK);
    int top = lua_gettop(L);
    vb_err err;
    out->len = 0;
    int rc = vb_hist_answer_lines(L, "ALMA", "p", 100, 200, out, ans, &err);
    assert_int_equal(lua_gettop(L), top);
    lua_pop(L, 1);
    return rc;
}

static void test_answer_lines(void **state)
{
    (void)state;
    lua_State *L = luaL_newstate();
    vb_buf out = {0};
    vb_hist_answer ans;
    /* A point that is not a [time, value] pair must not unbalance the stack (it crashed once). */
    assert_int_equal(lines_of(L,
                              "return { ALMA = { p = { {99.5, 1}, {100.25, 2.5}, 150, "
                              "{120, 'clear, \"windy\"\\n'}, {'130', 3}, {140}, {160, true}, "
                              "{201, 4}, {180, 0/0}, {946684800, 0} } } }",
                              &out, &ans),
                     1);
    assert_string_equal(out.data, "100.25,2.5\n120,\"clear, \"\"windy\"\"\n\"\n160,true\n");
    assert_int_equal(ans.points, 3);
    assert_int_equal(ans.newest, 160);
    assert_int_equal(ans.early, 1);
    assert_int_equal(ans.late, 1);
    assert_int_equal(ans.unusable, 4);
    assert_int_equal(ans.found, 1);
    assert_int_equal(lines_of(L, "return { ALMA = { p = {} } }", &out, &ans), 1);
    assert_int_equal(ans.found, 1);
    assert_int_equal(lines_of(L, "return { SMA = {} }", &out, &ans), 1);
    assert_int_equal(ans.found, 0);
    assert_int_equal(ans.points, 0);
    assert_int_equal(ans.newest, -1);
    assert_int_equal(lines_of(L, "return { ALMA = { p = 'nope' } }", &out, &ans), 0);
    assert_int_equal(lines_of(L, "return { ALMA = 7 }", &out, &ans), 0);
    assert_int_equal(lines_of(L, "return 'not an answer'", &out, &ans), 0);
    vb_buf_free(&out);
    lua_close(L);
}

/* metadata.json keys are parameter names whole: "x\u0000y" is not x's record. */
static void test_metadata_key_with_nul(void **state)
{
    (void)state;
    vb_app app = {.log = {.out = stderr}, .root = ".", .masterlist = "share/masterlist.json"};
    vb_err err;
    vb_lua *lua = vb_lua_new(&app, &err);
    assert_non_null(lua);
    char dir[] = "/tmp/vb-meta-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ALMA", dir);
    assert_int_equal(vb_mkdir_p(path, &err), 0);
    snprintf(path, sizeof path, "%s/ALMA/metadata.json", dir);
    const char *meta = "{\"x\\u0000y\": {\"last_tried\": 5}, \"w\": {\"last_tried\": 7}}";
    assert_int_equal(vb_write_atomic(path, meta, strlen(meta), &err), 0);
    vb_hist_station st;
    assert_int_equal(vb_hist_station_load(&st, dir, "ALMA", lua, &err), 0);
    assert_int_equal(st.n, 1);
    assert_string_equal(st.params[0].name, "w");
    assert_int_equal(st.params[0].last_tried, 7);
    vb_hist_station_free(&st);
    unlink(path);
    snprintf(path, sizeof path, "%s/ALMA", dir);
    rmdir(path);
    rmdir(dir);
    vb_lua_free(lua);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_reset_and_irregular),
        cmocka_unit_test(test_empty_range),
        cmocka_unit_test(test_static_and_too_big),
        cmocka_unit_test(test_span),
        cmocka_unit_test(test_cadences),
        cmocka_unit_test(test_plan_shares_windows),
        cmocka_unit_test(test_plan_bounds),
        cmocka_unit_test(test_plan_cross_product),
        cmocka_unit_test(test_answer_lines),
        cmocka_unit_test(test_metadata_key_with_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
