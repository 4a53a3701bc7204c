/*
 * rows_test.c - a pipeline result's rows grouped by table into C values
 * (src/host/rows.c), and values between Lua and C.
 */
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

typedef struct fixture {
    lua_State *L;
    vb_result_buf buf;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->L = luaL_newstate();
    luaL_openlibs(fx->L);
    lua_pushlightuserdata(fx->L, &fx->buf);
    lua_pushcclosure(fx->L, vb_rows_group, 1);
    lua_setglobal(fx->L, "group");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    lua_close(fx->L);
    vb_result_buf_free(&fx->buf);
    free(fx);
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

/* run, which must succeed, and the C result it made (the Lua result stays on the stack). */
static const vb_result *grouped(fixture *fx, const char *chunk)
{
    assert_int_equal(run(fx->L, chunk), LUA_OK);
    return &fx->buf.r;
}

/* "series:time" of the k-th row in grouped order, in buf. */
static const char *row_at(const vb_result *r, size_t k, char *buf, size_t size)
{
    for (size_t t = 0; t < r->nseries; t++)
        if (k >= r->series[t].first && k < r->series[t].first + r->series[t].n)
            snprintf(buf, size, "%s:%lld", r->series[t].name, r->rows[k].time);
    return buf;
}

#define COLUMNS(n, p, t)                                                                           \
    "return { n = " n ", param = " p ", time = " t ", station = {}, value = {} }"

static void test_groups_in_name_order_rows_in_their_order(void **state)
{
    fixture *fx = *state;
    /* Two equal names past Lua's 40-byte interning limit are distinct string objects. */
    const vb_result *r = grouped(fx, "local long1 = string.rep('a', 30) .. '_telescope_raDec_dec'\n"
                                     "local long2 = string.rep('a', 30) .. '_telescope_raDec_dec'\n"
                                     "assert(#long1 > 40)\n"
                                     "local p = { 'w', 'b', long1, 'w', 'b', long2, 'w' }\n"
                                     "local t = { 1, 2, 3, 4, 5, 6, 7 }\n" COLUMNS("7", "p", "t"));
    assert_int_equal(r->nseries, 3);
    assert_int_equal(r->nrows, 7);
    const char *want[] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_telescope_raDec_dec:3",
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_telescope_raDec_dec:6",
                          "b:2",
                          "b:5",
                          "w:1",
                          "w:4",
                          "w:7"};
    char buf[128];
    for (size_t k = 0; k < 7; k++)
        assert_string_equal(row_at(r, k, buf, sizeof buf), want[k]);
    size_t first[] = {0, 2, 4}, n[] = {2, 2, 3};
    for (size_t t = 0; t < 3; t++) {
        assert_int_equal(r->series[t].first, first[t]);
        assert_int_equal(r->series[t].n, n[t]);
        assert_int_equal(r->series[t].name_len, strlen(r->series[t].name));
    }
    lua_pop(fx->L, 1);
}

/* Thousands of tables: the interner's tables grow many times over. */
static void test_many_tables(void **state)
{
    fixture *fx = *state;
    const vb_result *r = grouped(fx, "local p, t = {}, {}\n"
                                     "for i = 1, 9000 do p[i] = string.format('s%05d', (i * 7919) "
                                     "% 3000); t[i] = i end\n" COLUMNS("9000", "p", "t"));
    assert_int_equal(r->nseries, 3000);
    for (size_t t = 0; t < 3000; t++) {
        char name[16];
        snprintf(name, sizeof name, "s%05zu", t);
        assert_string_equal(r->series[t].name, name);
        assert_int_equal(r->series[t].n, 3);
        for (size_t k = r->series[t].first + 1; k < r->series[t].first + 3; k++)
            assert_true(r->rows[k].time > r->rows[k - 1].time);
    }
    lua_pop(fx->L, 1);
}

static void test_no_rows(void **state)
{
    fixture *fx = *state;
    const vb_result *r = grouped(fx, COLUMNS("0", "{}", "{}"));
    assert_int_equal(r->nseries, 0);
    assert_int_equal(r->nrows, 0);
    assert_int_equal(r->nstatus, 0);
    lua_pop(fx->L, 1);
}

/* A row that is not whole has no value, which no column takes; the others keep theirs. */
static void test_values(void **state)
{
    fixture *fx = *state;
    const vb_result *r =
        grouped(fx, "return { n = 7, param = { 'p', 'p', 'p', 'p', 'p', 'p', 'p' },\n"
                    "  station = { 'S', 'S', 'S', 'S', 7, 'S', 'S' },\n"
                    "  time = { 1, 2.75, 3, 4, 5, 0/0, 7 },\n"
                    "  value = { 'a\\0b', 0.5, true, 0/0, 1, 1, {} } }");
    assert_int_equal(r->nrows, 7);
    const vb_row *row = r->rows;
    assert_int_equal(row[0].value.type, VB_V_TEXT);
    assert_int_equal(row[0].value.text.len, 3);
    assert_memory_equal(row[0].value.text.s, "a\0b", 3);
    assert_string_equal(row[0].station, "S");
    assert_int_equal(row[1].time, 2);
    assert_int_equal(row[1].value.type, VB_V_REAL);
    assert_int_equal(row[2].value.type, VB_V_BOOLEAN);
    for (int k = 3; k < 7; k++)
        assert_int_equal(row[k].value.type, VB_V_NULL);
    assert_string_equal(row[4].station, "");
    lua_pop(fx->L, 1);
}

static void test_status_rows(void **state)
{
    fixture *fx = *state;
    const vb_result *r =
        grouped(fx, "return { n = 0, param = {}, time = {}, station = {}, value = {},\n"
                    "  status = { { time = 5, station = 'SMA', source = 'M87', onsource = 'on',\n"
                    "    mode = '', recording = '1...', tsys = 60.5, tau225 = 0.1, scan = 'x' },\n"
                    "    'not a row' } }");
    assert_int_equal(r->nstatus, 1);
    const vb_value *f = r->status[0].f;
    assert_int_equal(f[0].type, VB_V_INTEGER);
    assert_int_equal(f[0].i, 5);
    assert_string_equal(f[1].text.s, "SMA");
    assert_string_equal(f[5].text.s, "1...");
    assert_int_equal(f[6].type, VB_V_REAL);
    lua_pop(fx->L, 1);
}

static void test_bad_results_raise(void **state)
{
    fixture *fx = *state;
    lua_State *L = fx->L;
    assert_int_equal(run(L, COLUMNS("3", "{ 'a', 'b', 7 }", "{}")), LUA_ERRRUN);
    assert_string_equal(lua_tostring(L, -1),
                        "pipeline result: row 3 has a number for its param, not a string");
    lua_pop(L, 2);
    assert_int_equal(run(L, COLUMNS("1.5", "{}", "{}")), LUA_ERRRUN);
    assert_non_null(strstr(lua_tostring(L, -1), "no row count"));
    lua_pop(L, 2);
    assert_int_equal(run(L, "return { n = 1, station = {}, time = {}, value = {} }"), LUA_ERRRUN);
    assert_non_null(strstr(lua_tostring(L, -1), "no param column"));
    lua_pop(L, 2);
    /* A failed grouping leaves no result behind, and what it allocated is collected. */
    assert_int_equal(fx->buf.r.nrows, 0);
    assert_int_equal(fx->buf.r.nseries, 0);
    lua_gc(L, LUA_GCCOLLECT);
}

/* What C makes of a Lua value and pushes back is that value. */
static void test_values_round_trip(void **state)
{
    lua_State *L = ((fixture *)*state)->L;
    assert_int_equal(luaL_dostring(L, "return 1, 2.5, 'x\\0y', false"), LUA_OK);
    for (int i = 1; i <= 4; i++) {
        vb_value v;
        assert_int_equal(vb_rows_value(L, i, &v), 0);
        vb_rows_push_value(L, &v);
        assert_true(lua_rawequal(L, i, -1));
        assert_int_equal(lua_type(L, i), lua_type(L, -1));
        assert_int_equal(lua_isinteger(L, i), lua_isinteger(L, -1));
        lua_pop(L, 1);
    }
    vb_value none = {.type = VB_V_NULL};
    vb_rows_push_value(L, &none);
    assert_true(lua_isnil(L, -1));
    lua_settop(L, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_groups_in_name_order_rows_in_their_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_many_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_results_raise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
