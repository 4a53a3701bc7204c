/*
 * pipeline_test.c - the C API the bridge and insert use: a full snapshot,
 * not-a-snapshot, the instruction limit, hot reload (good and broken), change
 * detection, the status restore through a sink, and storing a result table
 * by table through the SQLite sink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "db/sink.h"
#include "host/pipeline.h"

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

/* Rows of series `name` in the result (0 when absent). */
static size_t rows_of(const vb_result *r, const char *name)
{
    for (size_t t = 0; t < r->nseries; t++)
        if (strcmp(r->series[t].name, name) == 0)
            return r->series[t].n;
    return 0;
}

/* The series hold every row once, in name order, none empty. */
static void assert_grouped(const vb_result *r)
{
    size_t next = 0;
    for (size_t t = 0; t < r->nseries; t++) {
        assert_int_equal(r->series[t].first, next);
        assert_true(r->series[t].n > 0);
        if (t > 0)
            assert_true(strcmp(r->series[t - 1].name, r->series[t].name) < 0);
        next += r->series[t].n;
    }
    assert_int_equal(next, r->nrows);
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
    const vb_result *r;
    assert_int_equal(vb_pipeline_run_json(p, json, len, 1712836800.5, 0.25, &r, &err), 0);
    assert_int_equal(lua_gettop(L), 0);
    assert_grouped(r);
    assert_int_equal(rows_of(r, "bridge_points"), 12);
    assert_int_equal(rows_of(r, "telescope_azimuthElevation_az"), 11);
    assert_true(rows_of(r, "bridge_events") > 0);
    assert_int_equal(r->nstatus, 11);
    /* The same snapshot again: every event deduplicated, the columns reused. */
    assert_int_equal(vb_pipeline_run_json(p, json, len, 1712836810.5, 0.25, &r, &err), 0);
    assert_grouped(r);
    assert_int_equal(rows_of(r, "bridge_events"), 0);
    assert_int_equal(rows_of(r, "bridge_points"), 12);
    free(json);
    const char *not_snapshots[] = {"[1,2]", "{\"SMA\": ", "nope", "{} {}"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(
            vb_pipeline_run_json(p, not_snapshots[i], strlen(not_snapshots[i]), 1, 0, &r, &err),
            -1);
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

/* The value of the counter transformer's point after one run of no points. */
static long long run_counter(vb_pipeline *p, lua_State *L)
{
    vb_err err;
    const vb_result *r;
    assert_int_equal(vb_pipeline_run_points(p, 100, &r, &err), 0);
    assert_int_equal(r->nrows, 1);
    assert_int_equal(rows_of(r, "bridge_points"), 1);
    assert_int_equal(r->rows[0].value.type, VB_V_INTEGER);
    assert_int_equal(lua_gettop(L), 0);
    return r->rows[0].value.i;
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

#define STATUS_DDL                                                                                 \
    "CREATE TABLE bridge_stationStatus (time INTEGER NOT NULL, station TEXT NOT NULL PRIMARY "     \
    "KEY, source TEXT NOT NULL, onsource TEXT NOT NULL, mode TEXT NOT NULL, recording TEXT NOT "   \
    "NULL, tsys REAL, tau225 REAL, scan TEXT NOT NULL);"

/* A database file in the fixture's directory, made with sql, and its sink. */
static vb_sink *open_sink(fixture *fx, const char *sql, char *path, size_t n)
{
    static const vb_db_wait wait = {.bound_s = VB_DB_WAIT_ONE_SHOT_S};
    snprintf(path, n, "%s/live.db", fx->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    vb_sink_target t = {.sqlitedb = path};
    vb_sink_opts o = {.log = &fx->app.log, .wal_pages = 0, .wait = &wait};
    vb_err err;
    vb_sink *s = vb_sink_open(&t, &o, &err);
    assert_non_null(s);
    return s;
}

static void test_restore_status(void **state)
{
    fixture *fx = *state;
    char path[128];
    vb_sink *s = open_sink(fx,
                           STATUS_DDL "INSERT INTO bridge_stationStatus VALUES (500, 'KP', 'M87', "
                                      "'on', 'VLBI', '1...', 80, 0.1, '');",
                           path, sizeof path);
    vb_err err;
    vb_pipeline *p = vb_pipeline_new(fx->lua, "transformers", &err);
    assert_non_null(p);
    assert_int_equal(vb_pipeline_restore_status(p, s, &err), 0);
    const char *snap = "{\"KP\": {\"data\": {\"recorder_2_shouldRecord\": [400.5, true]}}}";
    const vb_result *r;
    assert_int_equal(vb_pipeline_run_json(p, snap, strlen(snap), 1000, 0, &r, &err), 0);
    assert_int_equal(r->nstatus, 1);
    assert_string_equal(r->status[0].f[5].text.s, "12..");
    assert_int_equal(r->status[0].f[0].i, 500);
    vb_pipeline_free(p);
    vb_sink_close(s);
}

/* Every row of a result goes in, table by table, with the cursor in the same transaction. */
static void test_store_result(void **state)
{
    fixture *fx = *state;
    char path[128];
    vb_sink *s = open_sink(fx, STATUS_DDL, path, sizeof path);
    vb_err err;
    vb_pipeline *p = vb_pipeline_new(fx->lua, fx->dir, &err);
    assert_non_null(p);
    const char *snap = "{\"KP\": {\"data\": {\"weather_tau225\": [10, 0.5], "
                       "\"if_1_systemTemp\": [11, 80]}}, "
                       "\"SMA\": {\"data\": {\"weather_tau225\": [12, 0.25]}}}";
    const vb_result *r;
    assert_int_equal(vb_pipeline_run_json(p, snap, strlen(snap), 1000, 0, &r, &err), 0);
    vb_sink_stats st = {0};
    assert_int_equal(vb_sink_begin(s, &err), 0);
    assert_int_equal(vb_sink_store(s, r, &st, &err), 0);
    assert_int_equal(vb_sink_state_set(s, "snap_recvTime", "12.5", &err), 0);
    assert_int_equal(vb_sink_commit(s, &err), 0);
    /* 3 points, bridge_points for KP, SMA and the total, the two lags. */
    assert_int_equal(st.rows, 8);
    assert_int_equal(st.skipped, 0);
    char *cursor;
    assert_int_equal(vb_sink_state_get(s, "snap_recvTime", &cursor, &err), 0);
    assert_string_equal(cursor, "12.5");
    free(cursor);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT group_concat(station || '=' || value, ' ') FROM "
                                        "(SELECT * FROM ts_param_weather_tau225 ORDER BY time)",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "KP=0.5 SMA=0.25");
    sqlite3_finalize(q);
    /* A rollback undoes the rows, the tables made for them and the cursor alike. */
    assert_int_equal(vb_pipeline_run_json(p, snap, strlen(snap), 1010, 0, &r, &err), 0);
    assert_int_equal(vb_sink_begin(s, &err), 0);
    assert_int_equal(vb_sink_store(s, r, &st, &err), 0);
    assert_int_equal(vb_sink_state_set(s, "snap_recvTime", "99", &err), 0);
    vb_sink_rollback(s);
    assert_int_equal(vb_sink_state_get(s, "snap_recvTime", &cursor, &err), 0);
    assert_string_equal(cursor, "12.5");
    free(cursor);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM ts_param_weather_tau225", -1, &q, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 2);
    sqlite3_finalize(q);
    sqlite3_close(db);
    vb_sink_close(s);
    vb_pipeline_free(p);
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
