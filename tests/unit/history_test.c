/*
 * history_test.c - the history window walk: cadence x 100, x1.5 after an
 * empty answer, reset after a full one, cadence 0 as 8640, and a failed
 * window asked for again rather than skipped; what an answer's points
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
#include "cmd/history.h"

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
    assert_int_equal(lines_of(L, "return { SMA = {} }", &out, &ans), 1);
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
        cmocka_unit_test(test_answer_lines),
        cmocka_unit_test(test_metadata_key_with_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
