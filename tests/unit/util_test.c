/*
 * util_test.c - time parsing, identifiers, numbers and atomic writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/util.h"

static void test_parse_time(void **state)
{
    (void)state;
    double t;
    vb_err err;
    assert_int_equal(vb_parse_time("1700000000", &t, &err), 0);
    assert_true(t == 1700000000);
    assert_int_equal(vb_parse_time("1700000000.5", &t, &err), 0);
    assert_true(t == 1700000000.5);
    assert_int_equal(vb_parse_time("2024-04-11", &t, &err), 0);
    assert_true(t == 1712793600);
    assert_int_equal(vb_parse_time("2024-04-11T12:30", &t, &err), 0);
    assert_true(t == 1712793600 + 12 * 3600 + 30 * 60);
    assert_int_equal(vb_parse_time("2024-04-11 12:30:05Z", &t, &err), 0);
    assert_true(t == 1712793600 + 12 * 3600 + 30 * 60 + 5);
    assert_int_equal(vb_parse_time("2024-13-01", &t, &err), -1);
    assert_non_null(strstr(err.msg, "invalid time '2024-13-01'"));
    assert_int_equal(vb_parse_time("yesterday", &t, &err), -1);
    assert_int_equal(vb_parse_time("", &t, &err), -1);
    char buf[32];
    vb_iso8601(1712838605, buf);
    assert_string_equal(buf, "2024-04-11T12:30:05Z");
}

static void test_identifier(void **state)
{
    (void)state;
    assert_true(vb_is_identifier("weather_tau225"));
    assert_true(vb_is_identifier("_x"));
    assert_false(vb_is_identifier("1abc"));
    assert_false(vb_is_identifier(""));
    assert_false(vb_is_identifier("x; DROP TABLE y"));
    assert_false(vb_is_identifier("a-b"));
    assert_false(vb_is_identifier("caf\xc3\xa9"));
}

static void test_hexval(void **state)
{
    (void)state;
    const char *digits = "0123456789abcdef", *upper = "ABCDEF";
    for (int i = 0; i < 16; i++)
        assert_int_equal(vb_hexval(digits[i]), i);
    for (int i = 0; i < 6; i++)
        assert_int_equal(vb_hexval(upper[i]), 10 + i);
    assert_int_equal(vb_hexval('g'), -1);
    assert_int_equal(vb_hexval('/'), -1);
    assert_int_equal(vb_hexval('\0'), -1);
}

static void test_numbers(void **state)
{
    (void)state;
    long l;
    double d;
    assert_int_equal(vb_parse_long("42", &l), 0);
    assert_int_equal(l, 42);
    assert_int_equal(vb_parse_long("42x", &l), -1);
    assert_int_equal(vb_parse_long(" 42", &l), -1);
    assert_int_equal(vb_parse_long("99999999999999999999999", &l), -1);
    assert_int_equal(vb_parse_double("0.5", &d), 0);
    assert_int_equal(vb_parse_double("inf", &d), -1);
    assert_int_equal(vb_parse_double("1e999", &d), -1);
}

static void test_atomic_write(void **state)
{
    (void)state;
    char dir[] = "/tmp/vb-util-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/state.json", dir);
    vb_err err;
    assert_int_equal(vb_write_atomic(path, "first", 5, &err), 0);
    assert_int_equal(vb_write_atomic(path, "second", 6, &err), 0);
    size_t len;
    char *got = vb_read_file(path, &len, &err);
    assert_non_null(got);
    assert_int_equal(len, 6);
    assert_string_equal(got, "second");
    free(got);
    /* An unwritable target leaves the old file and no temporary behind. */
    char bad[80];
    snprintf(bad, sizeof bad, "%s/missing/state.json", dir);
    assert_int_equal(vb_write_atomic(bad, "x", 1, &err), -1);
    assert_non_null(strstr(err.msg, bad));
    char nested[96];
    snprintf(nested, sizeof nested, "%s/a/b/c", dir);
    assert_int_equal(vb_mkdir_p(nested, &err), 0);
    struct stat st;
    assert_int_equal(stat(nested, &st), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),   cmocka_unit_test(test_identifier),
        cmocka_unit_test(test_hexval),       cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_atomic_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
