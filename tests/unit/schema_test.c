/*
 * schema_test.c - the fresh schema equals docs/schema.md table for table, column
 * for column, index for index, and refuses names that are not identifiers;
 * its PostgreSQL dialect has the types of docs/schema.md's PostgreSQL section.
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

static void assert_series(sqlite3 *db, const char *name, const char *type)
{
    char table[256], want[256], got[512];
    snprintf(table, sizeof table, "ts_param_%s", name);
    snprintf(want, sizeof want, "time INTEGER 1 0;station TEXT 1 0;value %s 0 0;", type);
    columns(db, table, got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("%s: columns '%s', want '%s'", table, got, want);
    char idx[300];
    snprintf(idx, sizeof idx, "idx_%s_time", table);
    assert_int_equal(count(db,
                           "SELECT count(*) FROM sqlite_schema WHERE type='index' AND name=?1 "
                           "AND sql LIKE '%(time)'",
                           idx),
                     1);
    snprintf(idx, sizeof idx, "idx_%s_station", table);
    assert_int_equal(count(db,
                           "SELECT count(*) FROM sqlite_schema WHERE type='index' AND name=?1 "
                           "AND sql LIKE '%(station)'",
                           idx),
                     1);
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
    /* two per series, plus the primary key's automatic index on the status table */
    long indexes = count(db, "SELECT count(*) FROM sqlite_schema WHERE type='index'", NULL);
    assert_int_equal(indexes, 2 * (nseries + nsplit + 9) + 1);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_parameter_has_its_series),
        cmocka_unit_test(test_schedule_and_status),
        cmocka_unit_test(test_rejects_non_identifiers),
        cmocka_unit_test(test_postgres_dialect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
