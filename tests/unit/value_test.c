/*
 * value_test.c - the value model: every kind of value into every column
 * type (the table of docs/schema.md), a value and its text form converting
 * alike into every column however the text is read back, the text form of
 * numbers, number parsing, and CSV fields and records.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/value.h"

#define I(x)                                                                                       \
    {                                                                                              \
        .type = VB_V_INTEGER, .i = (x)                                                             \
    }
#define R(x)                                                                                       \
    {                                                                                              \
        .type = VB_V_REAL, .d = (x)                                                                \
    }
#define T(x)                                                                                       \
    {                                                                                              \
        .type = VB_V_TEXT, .text = {(x), sizeof(x) - 1 }                                           \
    }
#define B(x)                                                                                       \
    {                                                                                              \
        .type = VB_V_BOOLEAN, .b = (x)                                                             \
    }
#define NONE                                                                                       \
    {                                                                                              \
        .type = VB_V_NULL                                                                          \
    }

static const vb_coltype COLS[] = {VB_COL_TEXT, VB_COL_REAL, VB_COL_INTEGER, VB_COL_BOOLEAN};

/* "<type>:<text>" of what a column stores, or "-" when the value does not fit. */
static void describe(const vb_value *v, vb_coltype t, char *out, size_t size)
{
    vb_value s;
    char num[VB_NUMBER_TEXT], text[VB_NUMBER_TEXT];
    if (vb_value_to_column(v, t, &s, num)) {
        snprintf(out, size, "-");
        return;
    }
    static const char *const names[] = {"null", "integer", "real", "text", "boolean"};
    size_t len;
    const char *p = vb_value_text(&s, text, &len);
    snprintf(out, size, "%s:%.*s", names[s.type], (int)len, p);
}

static void test_every_value_into_every_column(void **state)
{
    (void)state;
    static const struct {
        vb_value v;
        const char *col[4]; /* TEXT, REAL, INTEGER, BOOLEAN */
    } cases[] = {
        {I(1), {"text:1", "real:1", "integer:1", "boolean:true"}},
        {I(0), {"text:0", "real:0", "integer:0", "boolean:false"}},
        {I(2), {"text:2", "real:2", "integer:2", "-"}},
        {I(-7), {"text:-7", "real:-7", "integer:-7", "-"}},
        {I(LLONG_MAX),
         {"text:9223372036854775807", "real:9.223372036854776e+18", "integer:9223372036854775807",
          "-"}},
        {R(1.5), {"text:1.5", "real:1.5", "real:1.5", "-"}},
        {R(0.1), {"text:0.1", "real:0.1", "real:0.1", "-"}},
        {R(0.1 + 0.2),
         {"text:0.30000000000000004", "real:0.30000000000000004", "real:0.30000000000000004", "-"}},
        {R(1.0), {"text:1", "real:1", "integer:1", "boolean:true"}},
        {R(-0.0), {"text:0", "real:0", "integer:0", "boolean:false"}},
        {R(1e300), {"text:1e+300", "real:1e+300", "real:1e+300", "-"}},
        {R(1e16),
         {"text:10000000000000000", "real:10000000000000000", "integer:10000000000000000", "-"}},
        {R(1e19), {"text:1e+19", "real:1e+19", "real:1e+19", "-"}},
        {R(NAN), {"-", "-", "-", "-"}},
        {R(INFINITY), {"-", "-", "-", "-"}},
        {R(-INFINITY), {"-", "-", "-", "-"}},
        {B(1), {"text:true", "-", "-", "boolean:true"}},
        {B(0), {"text:false", "-", "-", "boolean:false"}},
        {T("true"), {"text:true", "-", "-", "boolean:true"}},
        {T("True"), {"text:True", "-", "-", "boolean:true"}},
        {T("false"), {"text:false", "-", "-", "boolean:false"}},
        {T("False"), {"text:False", "-", "-", "boolean:false"}},
        {T("TRUE"), {"text:TRUE", "-", "-", "-"}},
        {T("yes"), {"text:yes", "-", "-", "-"}},
        {T("1"), {"text:1", "real:1", "integer:1", "boolean:true"}},
        {T("0"), {"text:0", "real:0", "integer:0", "boolean:false"}},
        {T("2"), {"text:2", "real:2", "integer:2", "-"}},
        {T("1.0"), {"text:1.0", "real:1", "integer:1", "boolean:true"}},
        {T("-0"), {"text:-0", "real:0", "integer:0", "boolean:false"}},
        {T("1.50"), {"text:1.50", "real:1.5", "real:1.5", "-"}},
        {T("9007199254740993"),
         {"text:9007199254740993", "real:9007199254740992", "integer:9007199254740993", "-"}},
        {T("-9223372036854775808"),
         {"text:-9223372036854775808", "real:-9223372036854775808", "integer:-9223372036854775808",
          "-"}},
        {T("99999999999999999999"), {"text:99999999999999999999", "real:1e+20", "real:1e+20", "-"}},
        {T("1e400"), {"text:1e400", "-", "-", "-"}},
        {T("nan"), {"text:nan", "-", "-", "-"}},
        {T("inf"), {"text:inf", "-", "-", "-"}},
        {T("0x10"), {"text:0x10", "real:16", "integer:16", "-"}},
        {T("1.2.3"), {"text:1.2.3", "-", "-", "-"}},
        {T(" "), {"text: ", "-", "-", "-"}},
        {T(" 1"), {"text: 1", "-", "-", "-"}},
        {T("1 "), {"text:1 ", "-", "-", "-"}},
        {T(""), {"text:", "-", "-", "-"}},
        {T("123.45678+45.67890"), {"text:123.45678+45.67890", "-", "-", "-"}},
        {T("\xff\xfe bytes"), {"text:\xff\xfe bytes", "-", "-", "-"}},
        {{.type = VB_V_TEXT,
          .text = {"1\0"
                   "5",
                   3}},
         {"text:1", "-", "-", "-"}},
        {NONE, {"-", "-", "-", "-"}},
    };
    for (size_t i = 0; i < VB_COUNT(cases); i++) {
        for (size_t c = 0; c < VB_COUNT(COLS); c++) {
            char got[128];
            describe(&cases[i].v, COLS[c], got, sizeof got);
            if (strcmp(got, cases[i].col[c]) != 0)
                fail_msg("case %zu into %s: got '%s', expected '%s'", i, vb_coltype_sql(COLS[c]),
                         got, cases[i].col[c]);
        }
    }
    /* Text keeps every byte, a NUL included. */
    vb_value nul = {.type = VB_V_TEXT,
                    .text = {"1\0"
                             "5",
                             3}},
             out;
    char num[VB_NUMBER_TEXT];
    assert_int_equal(vb_value_to_column(&nul, VB_COL_TEXT, &out, num), 0);
    assert_int_equal(out.text.len, 3);
    assert_memory_equal(out.text.s,
                        "1\0"
                        "5",
                        3);
}

static int same(const vb_value *a, const vb_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case VB_V_INTEGER:
        return a->i == b->i;
    case VB_V_REAL:
        return memcmp(&a->d, &b->d, sizeof a->d) == 0;
    case VB_V_TEXT:
        return a->text.len == b->text.len && memcmp(a->text.s, b->text.s, a->text.len) == 0;
    case VB_V_BOOLEAN:
        return a->b == b->b;
    case VB_V_NULL:
        break;
    }
    return 1;
}

/* v stored through a column, and v's text read back as each kind, store alike. */
static void check_text_round_trip(const vb_value *v)
{
    char num[VB_NUMBER_TEXT];
    size_t len;
    const char *text = vb_value_text(v, num, &len);
    static const vb_value_kind kinds[] = {VB_VALUE_TEXT, VB_VALUE_NUMBER, VB_VALUE_BOOLEAN,
                                          VB_VALUE_GUESS};
    vb_value as_text = {.type = VB_V_TEXT, .text = {text, len}};
    for (size_t c = 0; c < VB_COUNT(COLS); c++) {
        vb_value want, got;
        char n1[VB_NUMBER_TEXT], n2[VB_NUMBER_TEXT];
        int fits = vb_value_to_column(v, COLS[c], &want, n1) == 0;
        for (size_t k = 0; k <= VB_COUNT(kinds); k++) {
            vb_value back = k < VB_COUNT(kinds) ? vb_value_from_text(kinds[k], text, len) : as_text;
            int fits_back = vb_value_to_column(&back, COLS[c], &got, n2) == 0;
            if (fits != fits_back || (fits && !same(&want, &got)))
                fail_msg("'%.*s' into %s, read back as kind %zu: stored differently", (int)len,
                         text, vb_coltype_sql(COLS[c]), k);
        }
    }
}

static void test_value_and_text_store_alike(void **state)
{
    (void)state;
    static const vb_value fixed[] = {
        I(0),
        I(1),
        I(-1),
        I(2),
        I(LLONG_MAX),
        I(LLONG_MIN),
        I(9007199254740993LL),
        R(0.0),
        R(-0.0),
        R(1.0),
        R(0.5),
        R(0.1),
        R(1.0 / 3),
        R(-2.5e-7),
        R(1e15),
        R(1e16),
        R(1e300),
        R(-1e300),
        R(5e-324),
        R(DBL_MAX),
        R(9223372036854775808.0),
        R(-9223372036854775808.0),
        R(4503599627370497.5),
        B(0),
        B(1),
    };
    for (size_t i = 0; i < VB_COUNT(fixed); i++)
        check_text_round_trip(&fixed[i]);
    /* Doubles from random bit patterns, integers of every size, short decimals. */
    unsigned long long x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        vb_value v;
        switch (i % 3) {
        case 0:
            v.type = VB_V_REAL;
            memcpy(&v.d, &x, sizeof v.d);
            break;
        case 1:
            v = (vb_value){.type = VB_V_INTEGER, .i = (long long)(x >> (x % 64))};
            break;
        default:
            v = (vb_value){.type = VB_V_REAL,
                           .d = (double)((long long)(x % 2000001) - 1000000) /
                                pow(10, (double)(x % 9))};
        }
        /* A NaN or infinity is no value: nothing hands one over, and no column takes it. */
        if (v.type == VB_V_INTEGER || isfinite(v.d))
            check_text_round_trip(&v);
    }
}

static void test_number_text(void **state)
{
    (void)state;
    static const struct {
        double d;
        const char *text;
    } cases[] = {
        {1712836800, "1712836800"},
        {1712836800.25, "1712836800.25"},
        {0.1, "0.1"},
        {8.48, "8.48"},
        {-2.5e-7, "-2.5e-07"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e300, "1e+300"},
        {1e16, "10000000000000000"},
        {-0.0, "0"},
        {NAN, "nan"},
        {-INFINITY, "-inf"},
    };
    for (size_t i = 0; i < VB_COUNT(cases); i++) {
        char num[VB_NUMBER_TEXT];
        size_t len;
        vb_value v = {.type = VB_V_REAL, .d = cases[i].d};
        const char *s = vb_value_text(&v, num, &len);
        assert_int_equal(len, strlen(s));
        assert_string_equal(s, cases[i].text);
    }
    /* Every finite double reads back as itself (zero's sign aside). */
    unsigned long long x = 12345;
    for (int i = 0; i < 100000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        vb_value v = {.type = VB_V_REAL};
        memcpy(&v.d, &x, sizeof v.d);
        if (!isfinite(v.d))
            continue;
        char num[VB_NUMBER_TEXT];
        size_t len;
        const char *s = vb_value_text(&v, num, &len);
        if (strtod(s, NULL) != v.d)
            fail_msg("%.17g printed as %s", v.d, s);
    }
    char num[VB_NUMBER_TEXT];
    size_t len;
    vb_value big = I(LLONG_MIN);
    assert_string_equal(vb_value_text(&big, num, &len), "-9223372036854775808");
}

static void test_parse_number(void **state)
{
    (void)state;
    vb_value v;
    assert_int_equal(vb_value_parse_number("489", 3, &v), 0);
    assert_int_equal(v.type, VB_V_INTEGER);
    assert_int_equal(v.i, 489);
    assert_int_equal(vb_value_parse_number("9223372036854775807", 19, &v), 0);
    assert_int_equal(v.type, VB_V_INTEGER);
    assert_true(v.i == LLONG_MAX);
    assert_int_equal(vb_value_parse_number("-123456789012345678", 19, &v), 0);
    assert_true(v.type == VB_V_INTEGER && v.i == -123456789012345678LL);
    assert_int_equal(vb_value_parse_number("9223372036854775808", 19, &v), 0);
    assert_true(v.type == VB_V_REAL && v.d == 9223372036854775808.0);
    assert_int_equal(vb_value_parse_number("1e3", 3, &v), 0);
    assert_true(v.type == VB_V_INTEGER && v.i == 1000);
    assert_int_equal(vb_value_parse_number("-0.5", 4, &v), 0);
    assert_true(v.type == VB_V_REAL && v.d == -0.5);
    assert_int_equal(vb_value_parse_number("1e-400", 6, &v), 0);
    assert_true(v.type == VB_V_INTEGER && v.i == 0);
    static const char *const bad[] = {"",    " 1",    "1 ",       "-",     "+",
                                      ".",   "1.2.3", "abc",      "1e400", "-1e400",
                                      "nan", "inf",   "infinity", "1,5",   "--1"};
    for (size_t i = 0; i < VB_COUNT(bad); i++)
        if (vb_value_parse_number(bad[i], strlen(bad[i]), &v) == 0)
            fail_msg("'%s' parsed as a number", bad[i]);
    assert_int_equal(vb_value_parse_number("1\0"
                                           "5",
                                           3, &v),
                     -1);
}

static void test_from_text(void **state)
{
    (void)state;
    vb_value v = vb_value_from_text(VB_VALUE_GUESS, "true", 4);
    assert_true(v.type == VB_V_BOOLEAN && v.b == 1);
    v = vb_value_from_text(VB_VALUE_GUESS, "True", 4);
    assert_int_equal(v.type, VB_V_TEXT);
    v = vb_value_from_text(VB_VALUE_GUESS, "2.5", 3);
    assert_true(v.type == VB_V_REAL && v.d == 2.5);
    v = vb_value_from_text(VB_VALUE_BOOLEAN, "false", 5);
    assert_true(v.type == VB_V_BOOLEAN && v.b == 0);
    v = vb_value_from_text(VB_VALUE_BOOLEAN, "1", 1);
    assert_int_equal(v.type, VB_V_TEXT);
    v = vb_value_from_text(VB_VALUE_NUMBER, "true", 4);
    assert_int_equal(v.type, VB_V_TEXT);
    v = vb_value_from_text(VB_VALUE_NUMBER, "9007199254740993", 16);
    assert_true(v.type == VB_V_INTEGER && v.i == 9007199254740993LL);
    v = vb_value_from_text(VB_VALUE_TEXT, "1", 1);
    assert_true(v.type == VB_V_TEXT && v.text.len == 1);
    assert_int_equal(vb_value_kind_of(NULL), VB_VALUE_GUESS);
    vb_param p = {.type = VB_DT_INT};
    assert_int_equal(vb_value_kind_of(&p), VB_VALUE_NUMBER);
    p.type = VB_DT_BOOLEAN;
    assert_int_equal(vb_value_kind_of(&p), VB_VALUE_BOOLEAN);
    p.type = VB_DT_AZEL;
    assert_int_equal(vb_value_kind_of(&p), VB_VALUE_TEXT);
}

static void test_column_types(void **state)
{
    (void)state;
    assert_int_equal(vb_coltype_of("BOOLEAN"), VB_COL_BOOLEAN);
    assert_int_equal(vb_coltype_of("boolean"), VB_COL_BOOLEAN);
    assert_int_equal(vb_coltype_of("INT"), VB_COL_INTEGER);
    assert_int_equal(vb_coltype_of("INTEGER"), VB_COL_INTEGER);
    assert_int_equal(vb_coltype_of("DOUBLE"), VB_COL_REAL);
    assert_int_equal(vb_coltype_of("FLOAT"), VB_COL_REAL);
    assert_int_equal(vb_coltype_of("REAL"), VB_COL_REAL);
    assert_int_equal(vb_coltype_of("TEXT"), VB_COL_TEXT);
    assert_int_equal(vb_coltype_of(NULL), VB_COL_TEXT);
    for (size_t c = 0; c < VB_COUNT(COLS); c++)
        assert_int_equal(vb_coltype_of(vb_coltype_sql(COLS[c])), COLS[c]);
    vb_value b = B(1), i = I(3), r = R(0.5), t = T("x"), n = NONE;
    assert_int_equal(vb_coltype_for(&b), VB_COL_BOOLEAN);
    assert_int_equal(vb_coltype_for(&i), VB_COL_REAL);
    assert_int_equal(vb_coltype_for(&r), VB_COL_REAL);
    assert_int_equal(vb_coltype_for(&t), VB_COL_TEXT);
    assert_int_equal(vb_coltype_for(&n), VB_COL_TEXT);
}

static void test_records(void **state)
{
    (void)state;
    vb_value row[] = {T("a, \"b\""), I(5), R(0.25), B(1), NONE, T("two\nlines"), T("")};
    vb_buf b = {0};
    assert_int_equal(vb_value_put_record(&b, row, VB_COUNT(row)), 0);
    assert_string_equal(b.data, "\"a, \"\"b\"\"\",5,0.25,true,,\"two\nlines\",\n");
    vb_buf_free(&b);
}

/* What a column holds compares as the value the bridge converted for it. */
static void test_cmp(void **state)
{
    (void)state;
    vb_value two = I(2), two_r = R(2.0), one = B(1), one_i = I(1), half = R(0.5);
    vb_value big = I(9007199254740993LL), big_r = R(9007199254740992.0);
    vb_value a = T("a"), ab = T("ab"), b = T("b"), empty = T(""), none = NONE;
    assert_int_equal(vb_value_cmp(&two, &two_r), 0);
    assert_int_equal(vb_value_cmp(&one, &one_i), 0);
    assert_true(vb_value_cmp(&half, &one) < 0 && vb_value_cmp(&one, &half) > 0);
    assert_true(vb_value_cmp(&big, &big_r) > 0); /* 2^53 + 1 is not 2^53 */
    assert_true(vb_value_cmp(&none, &half) < 0 && vb_value_cmp(&two, &empty) < 0);
    assert_true(vb_value_cmp(&a, &ab) < 0 && vb_value_cmp(&ab, &b) < 0);
    assert_int_equal(vb_value_cmp(&empty, &empty), 0);
    assert_int_equal(vb_value_cmp(&none, &none), 0);
    /* Text that reads as a number is text: a TEXT column holds it as text. */
    vb_value two_t = T("2");
    assert_true(vb_value_cmp(&two, &two_t) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmp),
        cmocka_unit_test(test_every_value_into_every_column),
        cmocka_unit_test(test_value_and_text_store_alike),
        cmocka_unit_test(test_number_text),
        cmocka_unit_test(test_parse_number),
        cmocka_unit_test(test_from_text),
        cmocka_unit_test(test_column_types),
        cmocka_unit_test(test_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
