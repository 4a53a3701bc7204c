/*
 * value.c - see value.h.
 *
 * The store converts every value of every snapshot here, and bulk insert
 * every value of a history tree, so the common cases (an integer, a short
 * number written as text) take no library call beyond one strtod.
 */
#include "core/value.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/csv.h"

/* 2^63: the doubles in [-2^63, 2^63) convert to a long long without overflow. */
#define INT64_LIMIT 9223372036854775808.0

vb_coltype vb_coltype_of(const char *decl)
{
    if (!decl)
        return VB_COL_TEXT;
    if (!strcasecmp(decl, "BOOLEAN"))
        return VB_COL_BOOLEAN;
    if (!strcasecmp(decl, "INTEGER") || !strcasecmp(decl, "INT"))
        return VB_COL_INTEGER;
    if (!strcasecmp(decl, "REAL") || !strcasecmp(decl, "FLOAT") || !strcasecmp(decl, "DOUBLE"))
        return VB_COL_REAL;
    return VB_COL_TEXT;
}

const char *vb_coltype_sql(vb_coltype t)
{
    switch (t) {
    case VB_COL_REAL:
        return "REAL";
    case VB_COL_INTEGER:
        return "INTEGER";
    case VB_COL_BOOLEAN:
        return "BOOLEAN";
    case VB_COL_TEXT:
        break;
    }
    return "TEXT";
}

vb_coltype vb_coltype_for(const vb_value *v)
{
    switch (v->type) {
    case VB_V_BOOLEAN:
        return VB_COL_BOOLEAN;
    case VB_V_INTEGER:
    case VB_V_REAL:
        return VB_COL_REAL;
    default:
        return VB_COL_TEXT;
    }
}

static int is_integral(double d)
{
    return d >= -INT64_LIMIT && d < INT64_LIMIT && d == (double)(long long)d;
}

int vb_value_parse_number(const char *s, size_t len, vb_value *out)
{
    if (len == 0 || isspace((unsigned char)s[0]))
        return -1;
    const char *end = s + len, *p = s + (*s == '-' || *s == '+');
    const char *digits = p;
    long long i = 0;
    while (p < end && *p >= '0' && *p <= '9' && p - digits < 18)
        i = i * 10 + (*p++ - '0');
    if (p == end && p > digits) {
        *out = (vb_value){.type = VB_V_INTEGER, .i = *s == '-' ? -i : i};
        return 0;
    }
    char *stop;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    if (p == end && p > digits) {
        /* More digits than 18: exact while they fit 64 bits, a REAL beyond. */
        errno = 0;
        i = strtoll(s, &stop, 10);
        if (errno == 0 && stop == end) {
            *out = (vb_value){.type = VB_V_INTEGER, .i = i};
            return 0;
        }
    }
    /* Underflow is no error: the nearest double (0 or a subnormal) is the number. */
    double d = strtod(s, &stop);
    if (stop != end || !isfinite(d))
        return -1;
    *out = is_integral(d) ? (vb_value){.type = VB_V_INTEGER, .i = (long long)d}
                          : (vb_value){.type = VB_V_REAL, .d = d};
    return 0;
}

/* 1, 0, or -1 for text that is not one of the four words. */
static int bool_word(const char *s, size_t len)
{
    if (len == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4)))
        return 1;
    if (len == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5)))
        return 0;
    return -1;
}

/*
 * v as a finite number, text parsed: an INTEGER when it is integral and
 * fits 64 bits, as vb_value_parse_number reads text; -1 when it is none.
 */
static int as_number(const vb_value *v, vb_value *n)
{
    switch (v->type) {
    case VB_V_INTEGER:
        *n = *v;
        return 0;
    case VB_V_REAL:
        if (!isfinite(v->d))
            return -1;
        *n = is_integral(v->d) ? (vb_value){.type = VB_V_INTEGER, .i = (long long)v->d} : *v;
        return 0;
    case VB_V_TEXT:
        return vb_value_parse_number(v->text.s, v->text.len, n);
    default:
        return -1;
    }
}

int vb_value_to_column(const vb_value *v, vb_coltype t, vb_value *out, char num[VB_NUMBER_TEXT])
{
    vb_value n;
    switch (t) {
    case VB_COL_TEXT:
        if (v->type == VB_V_NULL || (v->type == VB_V_REAL && !isfinite(v->d)))
            return -1;
        out->type = VB_V_TEXT;
        out->text.s = vb_value_text(v, num, &out->text.len);
        return 0;
    case VB_COL_BOOLEAN: {
        int b = v->type == VB_V_BOOLEAN ? v->b
                : v->type == VB_V_TEXT  ? bool_word(v->text.s, v->text.len)
                                        : -1;
        if (b < 0 && as_number(v, &n) == 0 && n.type == VB_V_INTEGER && (n.i == 0 || n.i == 1))
            b = (int)n.i;
        if (b < 0)
            return -1;
        *out = (vb_value){.type = VB_V_BOOLEAN, .b = b};
        return 0;
    }
    case VB_COL_REAL:
        if (as_number(v, &n))
            return -1;
        *out = (vb_value){.type = VB_V_REAL, .d = n.type == VB_V_INTEGER ? (double)n.i : n.d};
        return 0;
    case VB_COL_INTEGER:
        if (as_number(v, &n))
            return -1;
        *out = n;
        return 0;
    }
    return -1;
}

/* Shortest of %.15g, %.16g, %.17g that reads back as d; an integral d as an integer. */
static size_t real_text(double d, char num[VB_NUMBER_TEXT])
{
    if (!isfinite(d))
        return (size_t)snprintf(num, VB_NUMBER_TEXT, "%s",
                                isnan(d) ? "nan"
                                : d > 0  ? "inf"
                                         : "-inf");
    if (is_integral(d))
        return (size_t)snprintf(num, VB_NUMBER_TEXT, "%lld", (long long)d);
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(num, VB_NUMBER_TEXT, "%.*g", prec, d);
        if (strtod(num, NULL) == d)
            break;
    }
    return (size_t)n;
}

const char *vb_value_text(const vb_value *v, char num[VB_NUMBER_TEXT], size_t *len)
{
    switch (v->type) {
    case VB_V_INTEGER:
        *len = (size_t)snprintf(num, VB_NUMBER_TEXT, "%lld", v->i);
        return num;
    case VB_V_REAL:
        *len = real_text(v->d, num);
        return num;
    case VB_V_TEXT:
        *len = v->text.len;
        return v->text.len ? v->text.s : "";
    case VB_V_BOOLEAN:
        *len = v->b ? 4 : 5;
        return v->b ? "true" : "false";
    case VB_V_NULL:
        break;
    }
    *len = 0;
    return "";
}

/* 0 no value, 1 a number (a boolean counts as one), 2 text. */
static int cmp_class(const vb_value *v)
{
    return v->type == VB_V_NULL ? 0 : v->type == VB_V_TEXT ? 2 : 1;
}

static long long int_of(const vb_value *v)
{
    return v->type == VB_V_BOOLEAN ? v->b : v->i;
}

int vb_value_cmp(const vb_value *a, const vb_value *b)
{
    int ca = cmp_class(a), cb = cmp_class(b);
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (ca == 2) {
        size_t n = a->text.len < b->text.len ? a->text.len : b->text.len;
        int c = n ? memcmp(a->text.s, b->text.s, n) : 0;
        return c ? (c < 0 ? -1 : 1) : (a->text.len > b->text.len) - (a->text.len < b->text.len);
    }
    if (ca == 0)
        return 0;
    if (a->type != VB_V_REAL && b->type != VB_V_REAL) {
        long long xa = int_of(a), xb = int_of(b);
        return (xa > xb) - (xa < xb);
    }
    /* long double holds every 64-bit integer exactly, so 2^53 + 1 is not 2^53. */
    long double da = a->type == VB_V_REAL ? a->d : (long double)int_of(a);
    long double db = b->type == VB_V_REAL ? b->d : (long double)int_of(b);
    return (da > db) - (da < db);
}

int vb_value_put_csv(vb_buf *b, const vb_value *v)
{
    char num[VB_NUMBER_TEXT];
    size_t len;
    const char *s = vb_value_text(v, num, &len);
    return vb_csv_put_field(b, s, len);
}

int vb_value_put_record(vb_buf *b, const vb_value *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((i && vb_buf_append(b, ",", 1)) || vb_value_put_csv(b, &v[i]))
            return -1;
    return vb_buf_append(b, "\n", 1);
}

vb_value_kind vb_value_kind_of(const vb_param *p)
{
    if (!p)
        return VB_VALUE_GUESS;
    switch (p->type) {
    case VB_DT_FLOAT:
    case VB_DT_NUMBER:
    case VB_DT_INT:
        return VB_VALUE_NUMBER;
    case VB_DT_BOOLEAN:
        return VB_VALUE_BOOLEAN;
    default:
        return VB_VALUE_TEXT;
    }
}

vb_value vb_value_from_text(vb_value_kind kind, const char *s, size_t len)
{
    vb_value v;
    if ((kind == VB_VALUE_NUMBER || kind == VB_VALUE_GUESS) &&
        vb_value_parse_number(s, len, &v) == 0)
        return v;
    /* Only the lower-case words: "True" stays text, as vlbimon sent it. */
    if ((kind == VB_VALUE_BOOLEAN || kind == VB_VALUE_GUESS) &&
        ((len == 4 && !memcmp(s, "true", 4)) || (len == 5 && !memcmp(s, "false", 5))))
        return (vb_value){.type = VB_V_BOOLEAN, .b = s[0] == 't'};
    return (vb_value){.type = VB_V_TEXT, .text = {s, len}};
}
