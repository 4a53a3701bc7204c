/* rows_test.c - grouping a pipeline result's rows by table, and reading them (src/host/rows.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <lauxlib.h>
#include <lualib.h>

#include "host/rows.h"

static int setup(void **state)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_pushcfunction(L, vb_rows_group);
    lua_setglobal(L, "group");
    *state = L;
    return 0;
}

static int teardown(void **state)
{
    lua_close(*state);
    return 0;
}

/* Runs chunk, which returns a result table, then group(result): leaves the result on the stack. */
static int run(lua_State *L, const char *chunk)
{
    if (luaL_dostring(L, chunk) != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return -1;
    }
    lua_getglobal(L, "group");
    lua_pushvalue(L, -2);
    return lua_pcall(L, 1, 0, 0);
}

/* run, which must succeed, and the grouping it left in the result (still on the stack). */
static const vb_groups *grouped(lua_State *L, const char *chunk)
{
    assert_int_equal(run(L, chunk), LUA_OK);
    const vb_groups *g = vb_rows_groups(L, -1);
    assert_non_null(g);
    return g;
}

/* "param:time" of the k-th row in grouped order, in buf. */
static const char *row_at(lua_State *L, const vb_groups *g, int k, char *buf, size_t size)
{
    lua_getfield(L, -1, "param");
    lua_rawgeti(L, -1, g->row[k]);
    lua_getfield(L, -3, "time");
    lua_rawgeti(L, -1, g->row[k]);
    snprintf(buf, size, "%s:%lld", lua_tostring(L, -3), (long long)lua_tointeger(L, -1));
    lua_pop(L, 4);
    return buf;
}

static void test_groups_in_name_order_rows_in_their_order(void **state)
{
    lua_State *L = *state;
    /* Two equal names past Lua's 40-byte interning limit are distinct string objects. */
    const vb_groups *g =
        grouped(L, "local long1 = string.rep('a', 30) .. '_telescope_raDec_dec'\n"
                   "local long2 = string.rep('a', 30) .. '_telescope_raDec_dec'\n"
                   "assert(#long1 > 40)\n"
                   "local p = { 'w', 'b', long1, 'w', 'b', long2, 'w' }\n"
                   "local t = { 1, 2, 3, 4, 5, 6, 7 }\n"
                   "return { n = 7, param = p, time = t, station = {}, value = {} }");
    assert_int_equal(g->ngroups, 3);
    assert_int_equal(g->nrows, 7);
    const char *want[] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_telescope_raDec_dec:3",
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_telescope_raDec_dec:6",
                          "b:2",
                          "b:5",
                          "w:1",
                          "w:4",
                          "w:7"};
    char buf[128];
    for (int k = 0; k < 7; k++)
        assert_string_equal(row_at(L, g, k, buf, sizeof buf), want[k]);
    int start[] = {0, 2, 4, 7};
    for (int t = 0; t <= 3; t++)
        assert_int_equal(g->start[t], start[t]);
    lua_pop(L, 1);
}

/* Thousands of tables: the interner's tables grow many times over. */
static void test_many_tables(void **state)
{
    lua_State *L = *state;
    const vb_groups *g =
        grouped(L, "local p, t = {}, {}\n"
                   "for i = 1, 9000 do p[i] = string.format('s%05d', (i * 7919) % 3000); "
                   "t[i] = i end\n"
                   "return { n = 9000, param = p, time = t }");
    assert_int_equal(g->ngroups, 3000);
    for (int t = 0; t < 3000; t++) {
        char name[16], buf[64];
        snprintf(name, sizeof name, "s%05d:", t);
        assert_int_equal(g->start[t + 1] - g->start[t], 3);
        for (int k = g->start[t]; k < g->start[t + 1]; k++) {
            assert_memory_equal(row_at(L, g, k, buf, sizeof buf), name, strlen(name));
            if (k > g->start[t])
                assert_true(g->row[k] > g->row[k - 1]);
        }
    }
    lua_pop(L, 1);
}

static void test_no_rows(void **state)
{
    lua_State *L = *state;
    const vb_groups *g = grouped(L, "return { n = 0, param = {} }");
    assert_int_equal(g->ngroups, 0);
    assert_int_equal(g->nrows, 0);
    assert_int_equal(g->start[0], 0);
    lua_pop(L, 1);
}

static void test_bad_results_raise(void **state)
{
    lua_State *L = *state;
    assert_int_equal(run(L, "return { n = 3, param = { 'a', 'b', 7 } }"), LUA_ERRRUN);
    assert_string_equal(lua_tostring(L, -1),
                        "pipeline result: row 3 has a number for its param, not a string");
    lua_pop(L, 2);
    assert_int_equal(run(L, "return { n = 1.5, param = {} }"), LUA_ERRRUN);
    assert_non_null(strstr(lua_tostring(L, -1), "no row count"));
    lua_pop(L, 2);
    assert_int_equal(run(L, "return { n = 1 }"), LUA_ERRRUN);
    assert_non_null(strstr(lua_tostring(L, -1), "no param column"));
    lua_pop(L, 1);
    assert_null(vb_rows_groups(L, -1));
    lua_pop(L, 1);
    /* What a failed grouping had allocated is freed by the collector, not leaked. */
    lua_gc(L, LUA_GCCOLLECT);
}

static void test_push_columns(void **state)
{
    lua_State *L = *state;
    assert_int_equal(luaL_dostring(L, "return { station = {'S'}, param = {'p'}, time = {1}, "
                                      "value = {2} }"),
                     LUA_OK);
    assert_int_equal(vb_rows_push_columns(L, -1), 2);
    assert_int_equal(lua_gettop(L), 5);
    lua_rawgeti(L, 3, 1);
    assert_string_equal(lua_tostring(L, -1), "p");
    lua_settop(L, 0);
    assert_int_equal(luaL_dostring(L, "return { station = {}, param = {}, time = {} }"), LUA_OK);
    assert_int_equal(vb_rows_push_columns(L, -1), 0);
    assert_int_equal(lua_gettop(L), 1);
    lua_pop(L, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_groups_in_name_order_rows_in_their_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_many_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_results_raise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_columns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
