/*
 * masterlist_test.c - catalogue parsing: stations, datatypes, cadences,
 * station extras, the recorder fix-ups, and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/masterlist.h"

static const char sample[] =
    "{\"default\": {"
    " \"weather_tau225\": {\"datatype\": \"float\", \"cadence\": {\"public\": 60, \"private\": "
    "10}},"
    " \"telescope_azimuthElevation\": {\"datatype\": \"AzElCoordinates\", \"cadence\": "
    "{\"private\": 5}},"
    " \"observatory_name\": {\"datatype\": \"string\", \"partype\": \"static\"},"
    " \"recorder_1_groupaSpaceLeft\": {\"datatype\": \"int\", \"cadence\": {\"private\": 30}},"
    " \"recorder_1_groupaNrScans\": {\"datatype\": \"int\"},"
    " \"cc_x\": {\"datatype\": \"none\", \"cadence\": {\"private\": 0}}},"
    " \"SMA\": {}, \"ALMA\": {\"phasing_eff\": {\"datatype\": \"number\"}}, \"APEX\": {}}";

static void test_sample(void **state)
{
    (void)state;
    vb_masterlist ml;
    vb_err err;
    assert_int_equal(vb_masterlist_parse(sample, strlen(sample), "m.json", &ml, &err), 0);
    assert_int_equal(ml.nstations, 3);
    assert_string_equal(ml.stations[0], "ALMA");
    assert_string_equal(ml.stations[2], "SMA");
    assert_int_equal(ml.nparams, 7);
    const vb_param *p = vb_masterlist_find(&ml, "weather_tau225");
    assert_non_null(p);
    assert_int_equal(p->type, VB_DT_FLOAT);
    assert_int_equal(p->cadence_public, 60);
    assert_int_equal(p->cadence_private, 10);
    assert_int_equal(p->stations, 7);
    p = vb_masterlist_find(&ml, "observatory_name");
    assert_int_equal(p->cadence_public, -1);
    assert_int_equal(p->cadence_private, -1);
    assert_string_equal(vb_sqltype(p->type), "TEXT");
    p = vb_masterlist_find(&ml, "recorder_1_groupaSpaceLeft");
    assert_int_equal(p->type, VB_DT_FLOAT);
    p = vb_masterlist_find(&ml, "recorder_1_groupaNrScans");
    assert_int_equal(p->type, VB_DT_INT);
    p = vb_masterlist_find(&ml, "cc_x");
    assert_null(vb_sqltype(p->type));
    assert_int_equal(p->cadence_private, 0);
    p = vb_masterlist_find(&ml, "phasing_eff");
    assert_string_equal(vb_sqltype(p->type), "REAL");
    assert_int_equal(p->stations, 1); /* ALMA only */
    assert_int_equal(vb_masterlist_station_index(&ml, "SMA"), 2);
    assert_int_equal(vb_masterlist_station_index(&ml, "KP"), -1);
    assert_null(vb_masterlist_find(&ml, "nope"));
    vb_masterlist_free(&ml);
}

static void test_type_map(void **state)
{
    (void)state;
    assert_string_equal(vb_sqltype(VB_DT_BOOLEAN), "BOOLEAN");
    assert_string_equal(vb_sqltype(VB_DT_NUMBER), "REAL");
    assert_string_equal(vb_sqltype(VB_DT_INT), "INTEGER");
    assert_string_equal(vb_sqltype(VB_DT_AZEL), "TEXT");
    assert_string_equal(vb_sqltype(VB_DT_CELESTIAL), "TEXT");
    assert_string_equal(vb_sqltype(VB_DT_COORDINATES), "TEXT");
    assert_string_equal(vb_sqltype(VB_DT_DOCUMENT), "TEXT");
}

static void expect_error(const char *json, const char *needle)
{
    vb_masterlist ml;
    vb_err err;
    assert_int_equal(vb_masterlist_parse(json, strlen(json), "bad.json", &ml, &err), -1);
    if (!strstr(err.msg, needle))
        fail_msg("'%s' does not contain '%s'", err.msg, needle);
    assert_non_null(strstr(err.msg, "bad.json"));
}

static void test_malformed(void **state)
{
    (void)state;
    expect_error("{\"default\": {", "malformed JSON");
    expect_error("[1, 2]", "expected a JSON object");
    expect_error("{\"default\": {\"x\": {\"datatype\": \"quaternion\"}}}", "unknown datatype");
    expect_error("{\"default\": {\"x\": {\"datatype\": \"float\", \"cadence\": 5}}}",
                 "cadence is not an object");
    expect_error("{\"default\": {\"x\": {\"datatype\": \"float\", \"cadence\": {\"public\": "
                 "\"often\"}}}}",
                 "public cadence is not a number");
    expect_error("{\"default\": {\"x\": 3}}", "parameter x is not an object");
    expect_error("{\"default\": 3}", "\"default\" is not an object");
}

static void test_fixture_catalogue(void **state)
{
    (void)state;
    vb_masterlist ml;
    vb_err err;
    assert_int_equal(vb_masterlist_load("share/masterlist.json", &ml, &err), 0);
    assert_int_equal(ml.nstations, 11);
    /* one per line of tests/fixtures/vlbimon_types.csv */
    assert_int_equal(ml.nparams, 534);
    assert_int_equal(vb_masterlist_find(&ml, "telescope_azimuthElevation")->type, VB_DT_AZEL);
    assert_int_equal(vb_masterlist_find(&ml, "telescope_raDecTargetJ2000")->type, VB_DT_CELESTIAL);
    assert_int_equal(vb_masterlist_find(&ml, "recorder_4_groupdDatarate")->type, VB_DT_FLOAT);
    vb_masterlist_free(&ml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_type_map),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_fixture_catalogue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
