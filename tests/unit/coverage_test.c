/*
 * coverage_test.c - the backfill's coverage: intervals between committed
 * cursors become segments that merge while they select the same series,
 * the second two intervals share keeps the longer, the backfill cursor
 * prunes them, and the text bridge_state keeps reads back as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hist/coverage.h"

/* Series selected by intervals over 2.5 s (a 5 s cadence), 5 s (10 s) and 15 s (30 s). */
static const double CUTS[] = {2.5, 5, 15};
static const vb_cov_cuts cuts = {CUTS, 3};

static void extend(vb_coverage *c, const char *cursor)
{
    vb_err err;
    assert_int_equal(vb_coverage_extend(c, cursor, &cuts, &err), 0);
}

static char *text_of(const vb_coverage *c)
{
    vb_buf b = {0};
    assert_int_equal(vb_coverage_format(c, &b), 0);
    return b.data;
}

static void expect_text(const vb_coverage *c, const char *want)
{
    char *got = text_of(c);
    assert_string_equal(got, want);
    free(got);
}

static void test_steady_and_outage(void **state)
{
    (void)state;
    vb_coverage c = {0};
    vb_err err;
    assert_int_equal(vb_coverage_start(&c, "1000.5", &err), 0);
    assert_int_equal(c.from, 1001);
    assert_true(vb_coverage_last(&c) < c.from);
    expect_text(&c, "1001 1000.5");
    /* Answers ~10 s apart: one segment, whose interval is the longest of them. */
    extend(&c, "1010.25");
    extend(&c, "1020.75");
    extend(&c, "1030.5");
    expect_text(&c, "1001 1030.5 1001:10.500");
    assert_int_equal(vb_coverage_last(&c), 1029);
    /* An outage of 200 s: a segment of its own, from the second the intervals share. */
    extend(&c, "1230.5");
    expect_text(&c, "1001 1230.5 1001:10.500 1030:200.000");
    /* Back to 10 s: the shared second 1230 stays with the outage. */
    extend(&c, "1240.5");
    expect_text(&c, "1001 1240.5 1001:10.500 1030:200.000 1231:10.000");
    vb_coverage_free(&c);
}

static void test_shared_second_and_classes(void **state)
{
    (void)state;
    vb_coverage c = {0};
    vb_err err;
    assert_int_equal(vb_coverage_start(&c, "100", &err), 0);
    extend(&c, "110");
    /* 12 s selects what 10 s selects (cuts 2.5 and 5): no new segment. */
    extend(&c, "122");
    expect_text(&c, "101 122 101:12.000");
    /* 16 s selects the 30 s series too: a new segment from the shared second 122. */
    extend(&c, "138");
    expect_text(&c, "101 138 101:12.000 122:16.000");
    assert_true(vb_coverage_gap(&c, 101, 121) == 12);
    assert_true(vb_coverage_gap(&c, 110, 125) == 16);
    /* An answer within the same second as the last adds nothing. */
    extend(&c, "138.5");
    expect_text(&c, "101 138.5 101:12.000 122:16.000");
    /* A cursor that is not a number of seconds is refused, the coverage unchanged. */
    assert_int_equal(vb_coverage_extend(&c, "tomorrow", &cuts, &err), -1);
    assert_non_null(strstr(err.msg, "tomorrow"));
    expect_text(&c, "101 138.5 101:12.000 122:16.000");
    vb_coverage_free(&c);
}

static void test_done_prunes(void **state)
{
    (void)state;
    vb_coverage c = {0};
    vb_err err;
    assert_int_equal(vb_coverage_parse(&c, "101 300 101:10 150:200 200:10", &err), 0);
    vb_coverage_done(&c, 120);
    expect_text(&c, "121 300 121:10.000 150:200.000 200:10.000");
    vb_coverage_done(&c, 160);
    expect_text(&c, "161 300 161:200.000 200:10.000");
    assert_true(vb_coverage_gap(&c, 161, 199) == 200);
    assert_true(vb_coverage_gap(&c, 200, 299) == 10);
    vb_coverage_done(&c, 250);
    expect_text(&c, "251 300 251:10.000");
    /* Seconds before the cursor change nothing. */
    vb_coverage_done(&c, 100);
    expect_text(&c, "251 300 251:10.000");
    vb_coverage copy = {0};
    assert_int_equal(vb_coverage_copy(&copy, &c, &err), 0);
    vb_coverage_free(&c);
    expect_text(&copy, "251 300 251:10.000");
    vb_coverage_free(&copy);
}

static void test_parse_refuses(void **state)
{
    (void)state;
    vb_coverage c = {0};
    vb_err err;
    const char *bad[] = {"",           "12",     "x 12.5",        "10 20 11:5", "10 20 10:5 10:6",
                         "10 20 10:x", "10 nan", "10 20 10:5 9:1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(vb_coverage_parse(&c, bad[i], &err), -1);
    assert_int_equal(vb_coverage_parse(&c, "10 20.5 10:5 15:100", &err), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.through, "20.5");
    vb_coverage_free(&c);
}

static void test_segments_bounded(void **state)
{
    (void)state;
    vb_coverage c = {0};
    vb_err err;
    assert_int_equal(vb_coverage_start(&c, "0", &err), 0);
    /* Intervals alternating between two classes, far more often than segments are kept. */
    char cursor[32];
    double t = 0;
    for (int i = 0; i < 4 * VB_COVERAGE_MAX_SEGMENTS; i++) {
        t += i % 2 ? 10 : 20;
        snprintf(cursor, sizeof cursor, "%.0f", t);
        extend(&c, cursor);
    }
    assert_true(c.n <= VB_COVERAGE_MAX_SEGMENTS);
    /* Merged segments take the longer interval: nothing is selected less. */
    assert_true(vb_coverage_gap(&c, c.from, c.seg[1].start - 1) == 20);
    assert_int_equal(c.seg[0].start, c.from);
    vb_coverage_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_and_outage), cmocka_unit_test(test_shared_second_and_classes),
        cmocka_unit_test(test_done_prunes),       cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_segments_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
