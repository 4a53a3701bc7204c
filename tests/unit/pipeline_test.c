/*
 * pipeline_test.c - the C API the bridge and insert use: a full snapshot,
 * not-a-snapshot, the instruction limit, hot reload (good and broken), change
 * detection, the status restore, and storing a result table by table.
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

#include "host/pipeline.h"
#include "host/rows.h"
#include "db/store.h"

typedef struct fixture {
    vb_app app;
    vb_lua *lua;
    char dir[64];
} fixture;

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->app.log.out = stderr;
    fx->app.root = ".";
    fx->app.masterlist = "share/masterlist.json";
    vb_err err;
    if (!(fx->lua = vb_lua_new(&fx->app, &err)))
        return -1;
    strcpy(fx->dir, "/tmp/vb-pipeline-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
    if (system(cmd) != 0)
        return -1;
    vb_lua_free(fx->lua);
    if (fx->app.ml_loaded)
        vb_masterlist_free(&fx->app.ml);
    free(fx);
    return 0;
}

/* Rows of series `name` in the result on top of the stack (0 when absent). */
static lua_Integer rows_of(lua_State *L, const char *name)
{
    lua_getfield(L, -1, "n");
    lua_Integer n = lua_tointeger(L, -1), rows = 0;
    lua_getfield(L, -2, "param");
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        rows += strcmp(lua_tostring(L, -1), name) == 0;
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    return rows;
}

/* The result on top of the stack carries a grouping that holds each row once, table by table. */
static void assert_grouped(lua_State *L)
{
    const vb_groups *g = vb_rows_groups(L, -1);
    assert_non_null(g);
    lua_getfield(L, -1, "n");
    assert_int_equal(g->nrows, lua_tointeger(L, -1));
    lua_getfield(L, -2, "param");
    char *seen = calloc((size_t)g->nrows + 1, 1);
    assert_int_equal(g->start[0], 0);
    assert_int_equal(g->start[g->ngroups], g->nrows);
    for (int t = 0; t < g->ngroups; t++) {
        assert_true(g->start[t] < g->start[t + 1]);
        for (int k = g->start[t]; k < g->start[t + 1]; k++) {
            assert_false(seen[g->row[k]]);
            seen[g->row[k]] = 1;
            lua_rawgeti(L, -1, g->row[k]);
            lua_rawgeti(L, -2, g->row[g->start[t]]);
            assert_string_equal(lua_tostring(L, -2), lua_tostring(L, -1));
            lua_pop(L, 2);
        }
    }
    free(seen);
    lua_pop(L, 2);
}

static void test_full_snapshot(void **state)
{
    fixture *fx = *state;
    lua_State *L = vb_lua_state(fx->lua);
    vb_err err;
    vb_pipeline *p = vb_pipeline_new(fx->lua, "transformers", &err);
    assert_non_null(p);
    size_t len;
    char *json = vb_read_file("tests/fixtures/snapshots/full.json", &len, &err);
    assert_non_null(json);
    assert_int_equal(vb_pipeline_run_json(p, json, len, 1712836800.5, 0.25, &err), 0);
    assert_int_equal(lua_gettop(L), 1);
    assert_grouped(L);
    assert_int_equal(rows_of(L, "bridge_points"), 12);
    assert_int_equal(rows_of(L, "telescope_azimuthElevation_az"), 11);
    assert_true(rows_of(L, "bridge_events") > 0);
    lua_getfield(L, -1, "status");
    assert_int_equal(luaL_len(L, -1), 11);
    lua_pop(L, 2);
    /* The same snapshot again: every event deduplicated, the columns reused. */
    assert_int_equal(vb_pipeline_run_json(p, json, len, 1712836810.5, 0.25, &err), 0);
    assert_grouped(L);
    assert_int_equal(rows_of(L, "bridge_events"), 0);
    assert_int_equal(rows_of(L, "bridge_points"), 12);
    lua_pop(L, 1);
    free(json);
    const char *not_snapshots[] = {"[1,2]", "{\"SMA\": ", "nope", "{} {}"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(
            vb_pipeline_run_json(p, not_snapshots[i], strlen(not_snapshots[i]), 1, 0, &err), -1);
        assert_non_null(strstr(err.msg, "not a snapshot"));
        assert_int_equal(lua_gettop(L), 0);
    }
    vb_pipeline_free(p);
}

static const char COUNTER[] =
    "return { name = 'counter', init = function(ctx) ctx.state.n = ctx.state.n or 0 end,\n"
    "  transform = function(points, ctx)\n"
    "    ctx.state.n = ctx.state.n + %d\n"
    "    points:add('SMA', 'bridge_points', 1, ctx.state.n)\n"
    "  end }\n";

/* The value of the counter transformer's point after one run of points. */
static lua_Integer run_counter(vb_pipeline *p, lua_State *L)
{
    vb_err err;
    lua_newtable(L);
    assert_int_equal(vb_pipeline_run_points(p, 100, &err), 0);
    assert_int_equal(rows_of(L, "bridge_points"), 1);
    lua_getfield(L, -1, "value");
    lua_rawgeti(L, -1, 1);
    lua_Integer v = lua_tointeger(L, -1);
    lua_pop(L, 3);
    assert_int_equal(lua_gettop(L), 0);
    return v;
}

static void test_reload(void **state)
{
    fixture *fx = *state;
    lua_State *L = vb_lua_state(fx->lua);
    char code[512];
    snprintf(code, sizeof code, COUNTER, 1);
    write_file(fx->dir, "10-counter.lua", code);
    vb_err err;
    vb_pipeline *p = vb_pipeline_new(fx->lua, fx->dir, &err);
    assert_non_null(p);
    assert_false(vb_pipeline_changed(p));
    assert_int_equal(run_counter(p, L), 1);
    assert_int_equal(run_counter(p, L), 2);

    snprintf(code, sizeof code, COUNTER, 100);
    write_file(fx->dir, "10-counter.lua", code);
    assert_true(vb_pipeline_changed(p));
    assert_int_equal(vb_pipeline_reload(p, &err), 0);
    assert_false(vb_pipeline_changed(p));
    assert_int_equal(run_counter(p, L), 102);

    write_file(fx->dir, "20-broken.lua", "return { name = 'broken', transform = function( end }");
    assert_true(vb_pipeline_changed(p));
    assert_int_equal(vb_pipeline_reload(p, &err), -1);
    assert_non_null(strstr(err.msg, "20-broken.lua"));
    assert_false(vb_pipeline_changed(p));
    assert_int_equal(run_counter(p, L), 202);
    vb_pipeline_free(p);

    assert_null(vb_pipeline_new(fx->lua, fx->dir, &err));
    assert_non_null(strstr(err.msg, "cannot load transformer"));
    assert_non_null(strstr(err.msg, "20-broken.lua"));
}

static void test_endless_loop_is_stopped(void **state)
{
    fixture *fx = *state;
    lua_State *L = vb_lua_state(fx->lua);
    char code[512];
    snprintf(code, sizeof code, COUNTER, 1);
    write_file(fx->dir, "10-loop.lua",
               "return { name = 'loop', transform = function() "
               "while true do end end }");
    write_file(fx->dir, "20-counter.lua", code);
    vb_err err;
    vb_pipeline *p = vb_pipeline_new(fx->lua, fx->dir, &err);
    assert_non_null(p);
    assert_int_equal(run_counter(p, L), 1);
    assert_int_equal(run_counter(p, L), 2);
    vb_pipeline_free(p);

    write_file(fx->dir, "05-top.lua", "while true do end");
    assert_null(vb_pipeline_new(fx->lua, fx->dir, &err));
    assert_non_null(strstr(err.msg, "05-top.lua"));
    assert_non_null(strstr(err.msg, "instruction limit"));
}

static void test_restore_status(void **state)
{
    fixture *fx = *state;
    lua_State *L = vb_lua_state(fx->lua);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE bridge_stationStatus (time INTEGER NOT NULL, "
                                  "station TEXT NOT NULL PRIMARY KEY, source TEXT NOT NULL, "
                                  "onsource TEXT NOT NULL, mode TEXT NOT NULL, recording TEXT "
                                  "NOT NULL, tsys REAL, tau225 REAL, scan TEXT NOT NULL);"
                                  "INSERT INTO bridge_stationStatus VALUES (500, 'KP', 'M87', "
                                  "'on', 'VLBI', '1...', 80, 0.1, '');",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    vb_err err;
    vb_pipeline *p = vb_pipeline_new(fx->lua, "transformers", &err);
    assert_non_null(p);
    assert_int_equal(vb_pipeline_restore_status(p, db, &err), 0);
    const char *snap = "{\"KP\": {\"data\": {\"recorder_2_shouldRecord\": [400.5, true]}}}";
    assert_int_equal(vb_pipeline_run_json(p, snap, strlen(snap), 1000, 0, &err), 0);
    lua_getfield(L, -1, "status");
    lua_rawgeti(L, -1, 1);
    lua_getfield(L, -1, "recording");
    assert_string_equal(lua_tostring(L, -1), "12..");
    lua_getfield(L, -2, "time");
    assert_int_equal(lua_tointeger(L, -1), 500);
    lua_pop(L, 5);
    vb_pipeline_free(p);
    sqlite3_close(db);
}

/* Every row of a result goes in through its grouping; a result without one is refused. */
static void test_store_result(void **state)
{
    fixture *fx = *state;
    lua_State *L = vb_lua_state(fx->lua);
    char path[128];
    snprintf(path, sizeof path, "%s/live.db", fx->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE bridge_stationStatus (time INTEGER NOT NULL, "
                                  "station TEXT NOT NULL PRIMARY KEY, source TEXT NOT NULL, "
                                  "onsource TEXT NOT NULL, mode TEXT NOT NULL, recording TEXT "
                                  "NOT NULL, tsys REAL, tau225 REAL, scan TEXT NOT NULL)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    vb_err err;
    vb_pipeline *p = vb_pipeline_new(fx->lua, fx->dir, &err);
    assert_non_null(p);
    const vb_db_wait wait = {.bound_s = VB_DB_WAIT_ONE_SHOT_S};
    vb_store *store = vb_store_open(path, 0, &wait, &fx->app.log, &err);
    assert_non_null(store);
    const char *snap = "{\"KP\": {\"data\": {\"weather_tau225\": [10, 0.5], "
                       "\"if_1_systemTemp\": [11, 80]}}, "
                       "\"SMA\": {\"data\": {\"weather_tau225\": [12, 0.25]}}}";
    assert_int_equal(vb_pipeline_run_json(p, snap, strlen(snap), 1000, 0, &err), 0);
    vb_store_stats st = {0};
    assert_int_equal(vb_store_begin(store, &err), 0);
    assert_int_equal(vb_store_insert_result(store, L, -1, &st, &err), 0);
    assert_int_equal(vb_store_commit(store, &err), 0);
    /* 3 points, bridge_points for KP, SMA and the total, the two lags. */
    assert_int_equal(st.rows, 8);
    assert_int_equal(st.skipped, 0);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT group_concat(station || '=' || value, ' ') FROM "
                                        "(SELECT * FROM ts_param_weather_tau225 ORDER BY time)",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "KP=0.5 SMA=0.25");
    sqlite3_finalize(q);
    lua_pushnil(L);
    lua_setfield(L, -2, "groups");
    assert_int_equal(vb_store_insert_result(store, L, -1, &st, &err), -1);
    assert_string_equal(err.msg, "pipeline result without its grouping by table");
    lua_pop(L, 1);
    vb_store_close(store);
    vb_pipeline_free(p);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endless_loop_is_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_result, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
