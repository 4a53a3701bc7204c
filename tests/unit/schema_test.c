/*
 * schema_test.c - the fresh schema equals docs/schema.md table for table, column
 * for column, index for index, and refuses names that are not identifiers;
 * its PostgreSQL dialect has the types of docs/schema.md's PostgreSQL section;
 * the SQL that recognises a series table's layout and inserts into it keeps
 * every point of either layout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "db/schema.h"

static sqlite3 *fresh_db(vb_masterlist *ml)
{
    vb_err err;
    assert_int_equal(vb_masterlist_load("share/masterlist.json", ml, &err), 0);
    vb_buf sql = {0};
    assert_int_equal(vb_schema_sql(&sql, ml, &err), 0);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql.data, NULL, NULL, NULL), SQLITE_OK);
    vb_buf_free(&sql);
    return db;
}

static long count(sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Columns as "name type notnull pk;" in order. */
static void columns(sqlite3 *db, const char *table, char *out, size_t n)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT name, type, \"notnull\", pk FROM pragma_table_info('%s')",
             table);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s %s %d %d;", sqlite3_column_text(st, 0),
                 sqlite3_column_text(st, 1), sqlite3_column_int(st, 2), sqlite3_column_int(st, 3));
    }
    sqlite3_finalize(st);
}

/* A v2 series table: the contract's columns, keyed on (time, station, seq), WITHOUT ROWID, no
 * index. */
static void assert_series(sqlite3 *db, const char *name, const char *type)
{
    char table[256], want[256], got[512];
    snprintf(table, sizeof table, "ts_param_%s", name);
    snprintf(want, sizeof want, "time INTEGER 1 1;station TEXT 1 2;value %s 0 0;seq INTEGER 1 3;",
             type);
    columns(db, table, got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("%s: columns '%s', want '%s'", table, got, want);
    assert_int_equal(count(db, "SELECT wr FROM pragma_table_list(?1)", table), 1);
    assert_int_equal(count(db, "SELECT count(*) FROM sqlite_schema WHERE tbl_name = ?1", table), 1);
}

static void test_every_parameter_has_its_series(void **state)
{
    (void)state;
    vb_masterlist ml;
    sqlite3 *db = fresh_db(&ml);
    long nseries = 0, nsplit = 0;
    for (size_t i = 0; i < ml.nparams; i++) {
        const char *t = vb_sqltype(ml.params[i].type);
        if (!t)
            continue;
        assert_series(db, ml.params[i].name, t);
        nseries++;
        char split[256];
        if (ml.params[i].type == VB_DT_AZEL || ml.params[i].type == VB_DT_CELESTIAL) {
            int azel = ml.params[i].type == VB_DT_AZEL;
            snprintf(split, sizeof split, "%s_%s", ml.params[i].name, azel ? "az" : "ra");
            assert_series(db, split, "REAL");
            snprintf(split, sizeof split, "%s_%s", ml.params[i].name, azel ? "el" : "dec");
            assert_series(db, split, "REAL");
            nsplit += 2;
        }
    }
    assert_int_equal(nsplit, 20);
    assert_series(db, "recorder_2_groupbSpaceLeft", "REAL");
    assert_series(db, "telescope_azimuthElevation_el", "REAL");
    assert_series(db, "telescope_raDecTargetJ2000_dec", "REAL");
    assert_series(db, "bridge_events", "TEXT");
    assert_series(db, "bridge_points", "INTEGER");
    assert_series(db, "bridge_totalLag", "REAL");
    assert_series(db, "bridge_bridgeLag", "REAL");
    assert_series(db, "bridge_forecastTau225", "REAL");
    assert_series(db, "bridge_avgWindSpeed", "REAL");
    assert_series(db, "bridge_windGust", "REAL");
    assert_series(db, "bridge_backfillPoints", "INTEGER");
    assert_series(db, "bridge_backfillRequests", "INTEGER");
    long tables = count(db, "SELECT count(*) FROM sqlite_schema WHERE type='table'", NULL);
    assert_int_equal(tables, nseries + nsplit + 9 + 2);
    /* none for a series: the primary key's automatic index on the status table */
    long indexes = count(db, "SELECT count(*) FROM sqlite_schema WHERE type='index'", NULL);
    assert_int_equal(indexes, 1);
    sqlite3_close(db);
    vb_masterlist_free(&ml);
}

static void test_schedule_and_status(void **state)
{
    (void)state;
    vb_masterlist ml;
    sqlite3 *db = fresh_db(&ml);
    char got[1024];
    columns(db, "ts_param_schedule", got, sizeof got);
    assert_string_equal(got, "time INTEGER 1 0;stations TEXT 1 0;scan TEXT 1 0;");
    assert_int_equal(count(db,
                           "SELECT count(*) FROM sqlite_schema WHERE type='index' AND "
                           "tbl_name='ts_param_schedule'",
                           NULL),
                     0);
    columns(db, "bridge_stationStatus", got, sizeof got);
    assert_string_equal(got, "time INTEGER 1 0;station TEXT 1 1;source TEXT 1 0;onsource TEXT 1 "
                             "0;mode TEXT 1 0;recording TEXT 1 0;tsys REAL 0 0;tau225 REAL 0 "
                             "0;scan TEXT 1 0;");
    sqlite3_close(db);
    vb_masterlist_free(&ml);
}

static void test_rejects_non_identifiers(void **state)
{
    (void)state;
    const char *json = "{\"default\": {\"x; DROP TABLE y\": {\"datatype\": \"float\"}}}";
    vb_masterlist ml;
    vb_err err;
    assert_int_equal(vb_masterlist_parse(json, strlen(json), "m.json", &ml, &err), 0);
    vb_buf sql = {0};
    assert_int_equal(vb_schema_sql(&sql, &ml, &err), -1);
    assert_string_equal(err.msg,
                        "parameter name 'x; DROP TABLE y' is not an SQL identifier; refusing "
                        "to use it");
    assert_int_equal(vb_series_sql(&sql, "ok_name", "VARCHAR", &err), -1);
    vb_buf_free(&sql);
    vb_masterlist_free(&ml);
}

/* PostgreSQL: the same statements with its types, and names its 63-byte limit would cut refused. */
static void test_postgres_dialect(void **state)
{
    (void)state;
    vb_err err;
    vb_buf sql = {0};
    assert_int_equal(vb_series_sql_in(&sql, VB_POSTGRES, "if_1_online", "BOOLEAN", &err), 0);
    assert_string_equal(
        sql.data, "CREATE TABLE ts_param_if_1_online (time BIGINT NOT NULL, station TEXT "
                  "NOT NULL, value SMALLINT);\n"
                  "CREATE INDEX idx_ts_param_if_1_online_time ON ts_param_if_1_online(time);\n"
                  "CREATE INDEX idx_ts_param_if_1_online_station ON "
                  "ts_param_if_1_online(station);\n");
    static const char *const pairs[][2] = {{"TEXT", "TEXT"},
                                           {"REAL", "DOUBLE PRECISION"},
                                           {"INTEGER", "BIGINT"},
                                           {"BOOLEAN", "SMALLINT"}};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(vb_dialect_type(VB_POSTGRES, pairs[i][0]), pairs[i][1]);
        assert_string_equal(vb_dialect_type(VB_SQLITE, pairs[i][0]), pairs[i][0]);
    }
    assert_null(vb_dialect_type(VB_POSTGRES, "VARCHAR"));
    char name[64];
    memset(name, 'a', 42);
    name[42] = '\0';
    sql.len = 0;
    assert_int_equal(vb_series_sql_in(&sql, VB_POSTGRES, name, "REAL", &err), 0);
    name[42] = 'a';
    name[43] = '\0';
    assert_int_equal(vb_series_sql_in(&sql, VB_POSTGRES, name, "REAL", &err), -1);
    assert_non_null(strstr(err.msg, "is too long for PostgreSQL: its index idx_ts_param_"));
    assert_int_equal(vb_series_sql_in(&sql, VB_SQLITE, name, "REAL", &err), 0);
    vb_buf_free(&sql);
}

/* The probe's row for table ts_param_<name>: "columns|value type|v2". */
static void probe(sqlite3 *db, const char *name, char *out, size_t n)
{
    vb_buf sql = {0};
    vb_err err;
    assert_int_equal(vb_series_probe_sql(&sql, name, &err), 0);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql.data, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *type = sqlite3_column_text(st, 1);
    snprintf(out, n, "%d|%s|%d", sqlite3_column_int(st, 0), type ? (const char *)type : "NULL",
             sqlite3_column_int(st, 2));
    sqlite3_finalize(st);
    vb_buf_free(&sql);
}

/* Inserts (time, station, value) into ts_param_<name> with the single-row statement of layout. */
static void insert_row(sqlite3 *db, const char *name, vb_layout layout, long long t,
                       const char *station, double v)
{
    vb_buf sql = {0};
    vb_err err;
    assert_int_equal(vb_series_insert_sql(&sql, name, layout, VB_INSERT_ROW, NULL, &err), 0);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql.data, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, t);
    sqlite3_bind_text(st, 2, station, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, v);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    vb_buf_free(&sql);
}

static void rows(sqlite3 *db, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s;", sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
}

static void test_layouts_and_inserts(void **state)
{
    (void)state;
    sqlite3 *db;
    vb_err err;
    vb_buf sql = {0};
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(vb_series_sql(&sql, "b", "REAL", &err), 0);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE ts_param_a (time INTEGER NOT NULL, station TEXT "
                                  "NOT NULL, value TEXT)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql.data, NULL, NULL, NULL), SQLITE_OK);
    char got[512];
    probe(db, "a", got, sizeof got);
    assert_string_equal(got, "3|TEXT|0");
    probe(db, "b", got, sizeof got);
    assert_string_equal(got, "4|REAL|1");
    probe(db, "c", got, sizeof got);
    assert_string_equal(got, "0|NULL|0");

    /* Two points of one time and station, even of one value, are both kept, in their order. */
    insert_row(db, "b", VB_LAYOUT_V2, 100, "SMA", 1.5);
    insert_row(db, "b", VB_LAYOUT_V2, 100, "SMA", 1.5);
    insert_row(db, "b", VB_LAYOUT_V2, 100, "ALMA", 2);
    insert_row(db, "b", VB_LAYOUT_V2, 100, "SMA", 0.5);
    rows(db,
         "SELECT time || ' ' || station || ' ' || value || ' ' || seq FROM ts_param_b "
         "ORDER BY time, station, seq",
         got, sizeof got);
    assert_string_equal(got, "100 ALMA 2.0 0;100 SMA 1.5 0;100 SMA 1.5 1;100 SMA 0.5 2;");
    insert_row(db, "a", VB_LAYOUT_V1, 100, "SMA", 1.5);
    insert_row(db, "a", VB_LAYOUT_V1, 100, "SMA", 1.5);
    rows(db, "SELECT count(*) FROM ts_param_a", got, sizeof got);
    assert_string_equal(got, "2;");

    sql.len = 0;
    assert_int_equal(vb_series_insert_sql(&sql, "x y", VB_LAYOUT_V2, VB_INSERT_ROW, NULL, &err),
                     -1);
    assert_string_equal(err.msg, "series name 'x y' is not an SQL identifier");
    assert_int_equal(vb_series_probe_sql(&sql, "x')--", &err), -1);
    vb_buf_free(&sql);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_parameter_has_its_series),
        cmocka_unit_test(test_schedule_and_status),
        cmocka_unit_test(test_rejects_non_identifiers),
        cmocka_unit_test(test_postgres_dialect),
        cmocka_unit_test(test_layouts_and_inserts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
