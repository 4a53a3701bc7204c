/*
 * csv_test.c - RFC 4180 reading and writing, and the original's unquoted
 * history lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/csv.h"

static FILE *text(const char *s)
{
    FILE *f = fmemopen((void *)s, strlen(s), "r");
    assert_non_null(f);
    return f;
}

static void expect_record(vb_csv_reader *r, size_t n, const char *const *fields)
{
    vb_err err;
    assert_int_equal(vb_csv_read(r, &err), 1);
    assert_int_equal(r->nfields, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(vb_csv_field(r, i, NULL), fields[i]);
}

static void test_rfc4180(void **state)
{
    (void)state;
    FILE *f = text("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n,,\n\n");
    vb_csv_reader r;
    vb_csv_reader_init(&r, f, 0);
    expect_record(&r, 3, (const char *const[]){"a", "b", "c"});
    expect_record(&r, 3, (const char *const[]){"x, y", "say \"hi\"", "two\nlines"});
    assert_int_equal(r.record_line, 2);
    expect_record(&r, 3, (const char *const[]){"", "", ""});
    expect_record(&r, 1, (const char *const[]){""});
    vb_err err;
    assert_int_equal(vb_csv_read(&r, &err), 0);
    vb_csv_reader_free(&r);
    fclose(f);
}

static void test_original_unquoted_lines(void **state)
{
    (void)state;
    FILE *f = text("1700000000,clear, windy\n1700000001,\"quoted\" at the start\n1700000002,"
                   "\"a, b\"\n1700000003,\"open\nand closed\"\n");
    vb_csv_reader r;
    vb_csv_reader_init(&r, f, 2);
    expect_record(&r, 2, (const char *const[]){"1700000000", "clear, windy"});
    expect_record(&r, 2, (const char *const[]){"1700000001", "\"quoted\" at the start"});
    expect_record(&r, 2, (const char *const[]){"1700000002", "a, b"});
    expect_record(&r, 2, (const char *const[]){"1700000003", "open\nand closed"});
    vb_csv_reader_free(&r);
    fclose(f);
}

static void test_errors(void **state)
{
    (void)state;
    vb_err err;
    vb_csv_reader r;
    FILE *f = text("a,\"never closed\n");
    vb_csv_reader_init(&r, f, 0);
    assert_int_equal(vb_csv_read(&r, &err), -1);
    assert_string_equal(err.msg, "line 1: unterminated quoted field");
    vb_csv_reader_free(&r);
    fclose(f);
    f = text("\"a\"b,c\n");
    vb_csv_reader_init(&r, f, 0);
    assert_int_equal(vb_csv_read(&r, &err), -1);
    assert_string_equal(err.msg, "line 1: text after a closing quote");
    vb_csv_reader_free(&r);
    fclose(f);
}

static void test_writer_round_trip(void **state)
{
    (void)state;
    const char *fields[] = {"plain", "a,b", "say \"hi\"", "two\nlines", ""};
    size_t lens[5];
    for (int i = 0; i < 5; i++)
        lens[i] = strlen(fields[i]);
    vb_buf b = {0};
    assert_int_equal(vb_csv_put_record(&b, fields, lens, 5), 0);
    assert_string_equal(b.data, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\n");
    FILE *f = text(b.data);
    vb_csv_reader r;
    vb_csv_reader_init(&r, f, 0);
    expect_record(&r, 5, fields);
    vb_csv_reader_free(&r);
    fclose(f);
    vb_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4180),
        cmocka_unit_test(test_original_unquoted_lines),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_writer_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
