/*
 * lua_host_test.c - Lua errors come back with their location and the host
 * carries on; the sandbox holds; runaway scripts are stopped; the memory cap
 * holds for the host's calls and, lower, for untrusted ones, and what they
 * held is given back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <lauxlib.h>

#include "host/lua_host.h"

static vb_app app;

static int setup(void **state)
{
    memset(&app, 0, sizeof app);
    app.log.out = stderr;
    app.log.verbosity = 0;
    app.root = ".";
    app.masterlist = "share/masterlist.json";
    vb_err err;
    vb_lua *lua = vb_lua_new(&app, &err);
    if (!lua)
        return -1;
    *state = lua;
    return 0;
}

static int teardown(void **state)
{
    vb_lua_free(*state);
    if (app.ml_loaded)
        vb_masterlist_free(&app.ml);
    return 0;
}

static int run_chunk(vb_lua *lua, const char *name, const char *code, vb_err *err)
{
    lua_State *L = vb_lua_state(lua);
    if (luaL_loadbufferx(L, code, strlen(code), name, "t") != LUA_OK) {
        vb_fail(err, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    return vb_lua_pcall(lua, 0, 1, err);
}

static void test_error_has_location_and_host_continues(void **state)
{
    vb_lua *lua = *state;
    vb_err err;
    assert_int_equal(run_chunk(lua, "@broken.lua", "local x = 1\nerror('boom')\n", &err), -1);
    assert_string_equal(err.msg, "broken.lua:2: boom");
    assert_int_equal(run_chunk(lua, "@nil.lua", "local t = nil\nreturn t.field\n", &err), -1);
    assert_non_null(strstr(err.msg, "nil.lua:2:"));
    assert_int_equal(lua_gettop(vb_lua_state(lua)), 0);
    assert_int_equal(run_chunk(lua, "@ok.lua", "return 40 + 2", &err), 0);
    assert_int_equal(lua_tointeger(vb_lua_state(lua), -1), 42);
    lua_pop(vb_lua_state(lua), 1);
}

static void test_sandbox(void **state)
{
    vb_lua *lua = *state;
    vb_err err;
    assert_int_equal(run_chunk(lua, "=s",
                               "return os.execute == nil and io.popen == nil and debug == nil "
                               "and os.exit == nil and package.loadlib == nil",
                               &err),
                     0);
    assert_true(lua_toboolean(vb_lua_state(lua), -1));
    lua_pop(vb_lua_state(lua), 1);
    assert_int_equal(run_chunk(lua, "=s", "return require('debug')", &err), -1);
    assert_non_null(strstr(err.msg, "module 'debug' not found"));
    assert_int_equal(
        run_chunk(lua, "=s", "return load(string.dump(function() return 1 end))", &err), 0);
    assert_true(lua_isnil(vb_lua_state(lua), -1));
    lua_pop(vb_lua_state(lua), 1);
    assert_int_equal(run_chunk(lua, "=s", "local f = load('return 7'); return f()", &err), 0);
    assert_int_equal(lua_tointeger(vb_lua_state(lua), -1), 7);
    lua_pop(vb_lua_state(lua), 1);
    assert_int_equal(run_chunk(lua, "=s", "return require('cjson').decode('[1,2]')[2]", &err), 0);
    assert_int_equal(lua_tointeger(vb_lua_state(lua), -1), 2);
    lua_pop(vb_lua_state(lua), 1);
}

static void test_instruction_limit(void **state)
{
    vb_lua *lua = *state;
    lua_State *L = vb_lua_state(lua);
    vb_err err;
    assert_int_equal(luaL_loadstring(L, "while true do end"), LUA_OK);
    assert_int_equal(vb_lua_pcall_limited(lua, 0, 0, 100000, &err), -1);
    assert_non_null(strstr(err.msg, "instruction limit exceeded"));
    assert_int_equal(luaL_loadstring(L, "local n = 0 for i = 1, 1000 do n = n + i end return n"),
                     LUA_OK);
    assert_int_equal(vb_lua_pcall_limited(lua, 0, 1, 100000, &err), 0);
    assert_int_equal(lua_tointeger(L, -1), 500500);
    lua_pop(L, 1);
}

static void test_vlbimon_module(void **state)
{
    vb_lua *lua = *state;
    vb_err err;
    assert_int_equal(run_chunk(lua, "=s",
                               "local v = require 'vlbimon'\n"
                               "local ml = v.masterlist()\n"
                               "assert(#ml.stations == 11, 'stations')\n"
                               "assert(ml.params.weather_tau225.sqltype == 'REAL')\n"
                               "assert(ml.params.weather_tau225.cadence.public == 60)\n"
                               "assert(v.is_identifier('a_b') and not v.is_identifier('a b'))\n"
                               "assert(not v.is_identifier('ok\\0; DROP TABLE x'))\n"
                               "assert(v.series_sql('x', 'REAL'):find('CREATE TABLE ts_param_x'))\n"
                               "assert(not pcall(v.series_sql, 'x y', 'REAL'))\n"
                               "assert(not pcall(v.series_sql, 'x\\0y', 'REAL'))\n"
                               "assert(v.iso8601(0) == '1970-01-01T00:00:00Z')\n"
                               "local st = v.status_columns()\n"
                               "assert(#st == 9 and st[1].name == 'time' and st[1].notnull)\n"
                               "assert(st[2].name == 'station' and st[2].key)\n"
                               "assert(st[7].name == 'tsys' and st[7].type == 'REAL')\n"
                               "return v.now() > 1.7e9",
                               &err),
                     0);
    assert_true(lua_toboolean(vb_lua_state(lua), -1));
    lua_pop(vb_lua_state(lua), 1);
}

/* Allocates until the limit stops it, keeping everything. */
static const char BOMB[] = "local keep = {} for i = 1, 100 do keep[i] = string.rep('x', 1e6) end";

static void test_memory_cap(void **state)
{
    (void)state;
    vb_app small = app;
    small.lua_memory = 16;
    vb_err err;
    vb_lua *lua = vb_lua_new(&small, &err);
    assert_non_null(lua);
    lua_State *L = vb_lua_state(lua);
    assert_int_equal(run_chunk(lua, "=bomb", BOMB, &err), -1);
    assert_string_equal(err.msg, "Lua memory limit reached: 16 MiB (--lua-memory)");
    assert_int_equal(lua_gettop(L), 0);
    assert_true(lua_gc(L, LUA_GCCOUNT, 0) < 4096);

    /* Untrusted code stops at 3/4 of the cap; the host's calls may use the rest. */
    assert_int_equal(luaL_loadstring(L, BOMB), LUA_OK);
    assert_int_equal(vb_lua_pcall_untrusted(L, 0, 0), LUA_ERRMEM);
    assert_string_equal(lua_tostring(L, -1), "Lua memory limit reached: a transformer may bring "
                                             "Lua to 12 of the 16 MiB of --lua-memory");
    lua_pop(L, 1);
    assert_true(lua_gc(L, LUA_GCCOUNT, 0) < 4096);
    /* 14 MB: string.rep builds its 7 MB in a buffer of as many first. */
    assert_int_equal(run_chunk(lua, "=after", "return #string.rep('y', 7e6)", &err), 0);
    assert_int_equal(lua_tointeger(L, -1), 7000000);
    lua_pop(L, 1);
    vb_lua_free(lua);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_error_has_location_and_host_continues, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sandbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instruction_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vlbimon_module, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
