/*
 * sink_fill_test.c - vb_sink_fill, the backfill's store, on a real SQLite
 * file: a row the table holds is recognised whatever path its value took
 * (and counted: two in the result and one in the table store one), rows
 * outside the window are left alone, a replaced series' surplus goes for
 * the given stations only, a replaced series the result lacks loses its
 * window, and the debug printer prints the window's rows.
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

#define DDL                                                                                        \
    "CREATE TABLE bridge_stationStatus (time INTEGER NOT NULL, station TEXT NOT NULL PRIMARY "     \
    "KEY, source TEXT NOT NULL, onsource TEXT NOT NULL, mode TEXT NOT NULL, recording TEXT NOT "   \
    "NULL, tsys REAL, tau225 REAL, scan TEXT NOT NULL);"                                           \
    "CREATE TABLE ts_param_x (time INTEGER NOT NULL, station TEXT NOT NULL, value REAL);"          \
    "CREATE TABLE ts_param_b (time INTEGER NOT NULL, station TEXT NOT NULL, value BOOLEAN);"       \
    "CREATE TABLE ts_param_t (time INTEGER NOT NULL, station TEXT NOT NULL, value TEXT);"          \
    "CREATE TABLE ts_param_d (time INTEGER NOT NULL, station TEXT NOT NULL, value TEXT);"          \
    "CREATE TABLE ts_param_e (time INTEGER NOT NULL, station TEXT NOT NULL, value TEXT);"

typedef struct fixture {
    char dir[64], path[128];
    vb_log log;
    vb_sink *s;
    sqlite3 *db; /* a second connection, to look */
} fixture;

static int setup(void **state)
{
    static const vb_db_wait wait = {.bound_s = VB_DB_WAIT_ONE_SHOT_S};
    fixture *f = calloc(1, sizeof *f);
    f->log.out = stderr;
    strcpy(f->dir, "/tmp/vb-fill-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/live.db", f->dir);
    if (sqlite3_open(f->path, &f->db) != SQLITE_OK ||
        sqlite3_exec(f->db, DDL, NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    vb_sink_target t = {.sqlitedb = f->path};
    vb_sink_opts o = {.log = &f->log, .wal_pages = 1000, .wait = &wait};
    vb_err err;
    if (!(f->s = vb_sink_open(&t, &o, &err)))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    vb_sink_close(f->s);
    sqlite3_close(f->db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void exec(fixture *f, const char *sql)
{
    assert_int_equal(sqlite3_exec(f->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* One text line of the query's rows, "a|b|c" each, joined by spaces. */
static char *rows(fixture *f, const char *sql)
{
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &q, NULL), SQLITE_OK);
    vb_buf b = {0};
    while (sqlite3_step(q) == SQLITE_ROW)
        for (int c = 0; c < sqlite3_column_count(q); c++)
            assert_int_equal(vb_buf_printf(&b, "%s%s", (const char *)sqlite3_column_text(q, c),
                                           c + 1 < sqlite3_column_count(q) ? "|" : " "),
                             0);
    sqlite3_finalize(q);
    return b.data ? b.data : strdup("");
}

static void expect_rows(fixture *f, const char *sql, const char *want)
{
    char *got = rows(f, sql);
    assert_string_equal(got, want);
    free(got);
}

/* The result's rows: one series per name, the names in order. */
typedef struct spec {
    const char *name;
    vb_row rows[6];
    size_t n;
} spec;

static void build(const spec *sp, size_t nsp, vb_row *rows, vb_result_series *ser, vb_result *r)
{
    size_t n = 0;
    for (size_t i = 0; i < nsp; i++) {
        ser[i] = (vb_result_series){sp[i].name, strlen(sp[i].name), n, sp[i].n};
        for (size_t k = 0; k < sp[i].n; k++)
            rows[n++] = sp[i].rows[k];
    }
    *r = (vb_result){.rows = rows, .nrows = n, .series = ser, .nseries = nsp};
}

static void fill(fixture *f, const vb_result *r, const vb_fill_window *w, vb_sink_stats *st)
{
    vb_err err;
    *st = (vb_sink_stats){0};
    assert_int_equal(vb_sink_begin(f->s, &err), 0);
    assert_int_equal(vb_sink_fill(f->s, r, w, st, &err), 0);
    assert_int_equal(vb_sink_commit(f->s, &err), 0);
}

#define REAL(x)                                                                                    \
    {                                                                                              \
        .type = VB_V_REAL, .d = (x)                                                                \
    }
#define INT(x)                                                                                     \
    {                                                                                              \
        .type = VB_V_INTEGER, .i = (x)                                                             \
    }
#define TEXT(s)                                                                                    \
    {                                                                                              \
        .type = VB_V_TEXT, .text = {(s), sizeof(s) - 1 }                                           \
    }
#define BOOL(x)                                                                                    \
    {                                                                                              \
        .type = VB_V_BOOLEAN, .b = (x)                                                             \
    }

static void test_counts_and_stored_values(void **state)
{
    fixture *f = *state;
    exec(f, "INSERT INTO ts_param_x VALUES (10, 'KP', 1.5), (12, 'KP', 2.0);"
            "INSERT INTO ts_param_b VALUES (10, 'KP', 1);"
            "INSERT INTO ts_param_t VALUES (10, 'KP', '1.5'), (30, 'KP', 'late');");
    /* Two equal points in one second where the table holds one; 2 as an integer where a
     * REAL 2.0 is stored; "True" where a boolean 1 is; a number where its text is. */
    spec sp[] = {
        {"b", {{"KP", 2, 10, TEXT("True")}, {"KP", 2, 11, BOOL(0)}}, 2},
        {"t", {{"KP", 2, 10, REAL(1.5)}, {"KP", 2, 5, TEXT("early")}}, 2},
        {"x",
         {{"KP", 2, 10, REAL(1.5)},
          {"KP", 2, 10, REAL(1.5)},
          {"KP", 2, 12, INT(2)},
          {"SMA", 3, 12, INT(2)}},
         4},
    };
    vb_row rs[16];
    vb_result_series ser[3];
    vb_result r;
    build(sp, 3, rs, ser, &r);
    vb_fill_window w = {.a = 10, .b = 20};
    vb_sink_stats st;
    fill(f, &r, &w, &st);
    /* x: the second 1.5 and SMA's 2; b: 11's false; t: nothing; the row at 5 is outside. */
    assert_int_equal(st.rows, 3);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(st.removed, 0);
    expect_rows(f, "SELECT time, station, value FROM ts_param_x ORDER BY time, station, value",
                "10|KP|1.5 10|KP|1.5 12|KP|2.0 12|SMA|2.0 ");
    expect_rows(f, "SELECT time, value FROM ts_param_b ORDER BY time", "10|1 11|0 ");
    expect_rows(f, "SELECT time, value FROM ts_param_t ORDER BY time", "10|1.5 30|late ");
    /* Again: everything is held now, nothing is stored twice. */
    fill(f, &r, &w, &st);
    assert_int_equal(st.rows, 0);
    expect_rows(f, "SELECT count(*) FROM ts_param_x", "4 ");
}

static void test_replace(void **state)
{
    fixture *f = *state;
    exec(f, "INSERT INTO ts_param_d VALUES (12, 'KP', 'a'), (13, 'KP', 'b'), (13, 'SMA', 'c'), "
            "(14, 'KP', 'd'), (14, 'KP', 'd'), (14, 'KP', 'd'), (25, 'KP', 'z');"
            "INSERT INTO ts_param_e VALUES (11, 'KP', 'gone'), (11, 'SMA', 'kept'), "
            "(9, 'KP', 'before');");
    spec sp[] = {
        {"d", {{"KP", 2, 12, TEXT("a")}, {"KP", 2, 14, TEXT("d")}, {"KP", 2, 15, TEXT("new")}}, 3},
    };
    vb_row rs[8];
    vb_result_series ser[1];
    vb_result r;
    build(sp, 1, rs, ser, &r);
    const char *replace[] = {"d", "e", "never_made"};
    const char *stations[] = {"KP"};
    vb_fill_window w = {
        .a = 10, .b = 20, .replace = replace, .nreplace = 3, .stations = stations, .nstations = 1};
    vb_sink_stats st;
    fill(f, &r, &w, &st);
    /* d: b goes, d thinned from three to one, new comes; SMA's and the row at 25 stay. */
    expect_rows(f, "SELECT time, station, value FROM ts_param_d ORDER BY time, station",
                "12|KP|a 13|SMA|c 14|KP|d 15|KP|new 25|KP|z ");
    /* e, which the result lacks: KP's row in the window goes. */
    expect_rows(f, "SELECT time, station, value FROM ts_param_e ORDER BY time, station",
                "9|KP|before 11|SMA|kept ");
    assert_int_equal(st.rows, 1);
    assert_int_equal(st.removed, 4);
    expect_rows(f, "SELECT count(*) FROM sqlite_schema WHERE name = 'ts_param_never_made'", "0 ");
}

static void test_new_table(void **state)
{
    fixture *f = *state;
    spec sp[] = {{"fresh_one", {{"KP", 2, 10, REAL(0.25)}, {"KP", 2, 11, REAL(0.5)}}, 2}};
    vb_row rs[4];
    vb_result_series ser[1];
    vb_result r;
    build(sp, 1, rs, ser, &r);
    vb_fill_window w = {.a = 0, .b = 100};
    vb_sink_stats st;
    fill(f, &r, &w, &st);
    assert_int_equal(st.rows, 2);
    expect_rows(f, "SELECT time, value, typeof(value) FROM ts_param_fresh_one ORDER BY time",
                "10|0.25|real 11|0.5|real ");
}

static void test_print_sink(void **state)
{
    fixture *f = *state;
    char out[160];
    snprintf(out, sizeof out, "%s/stdout", f->dir);
    fflush(stdout);
    int saved = dup(1);
    assert_non_null(freopen(out, "w", stdout));
    vb_err err;
    vb_sink *p = vb_sink_print_open(&err);
    assert_non_null(p);
    spec sp[] = {{"x", {{"KP", 2, 5, REAL(1)}, {"KP", 2, 10, REAL(2)}, {"KP", 2, 21, REAL(3)}}, 3}};
    vb_row rs[4];
    vb_result_series ser[1];
    vb_result r;
    build(sp, 1, rs, ser, &r);
    vb_fill_window w = {.a = 10, .b = 20};
    vb_sink_stats st = {0};
    assert_int_equal(vb_sink_begin(p, &err), 0);
    assert_int_equal(vb_sink_fill(p, &r, &w, &st, &err), 0);
    assert_int_equal(vb_sink_commit(p, &err), 0);
    vb_sink_close(p);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    size_t len;
    char *text = vb_read_file(out, &len, &err);
    assert_non_null(text);
    assert_string_equal(text, "ts_param_x,KP,10,2\n");
    free(text);
    assert_int_equal(st.rows, 1);
    assert_int_equal(st.skipped, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_and_stored_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_sink, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
