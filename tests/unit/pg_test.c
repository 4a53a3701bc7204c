/*
 * pg_test.c - vb_pg_mask hides every password libpq would read from a
 * connection string or URI, and changes nothing else libpq reads: both are
 * checked with libpq's own parser, PQconninfoParse. Strings libpq refuses
 * lose the rest after the point where they go wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "db/pg.h"

/* The value libpq parses for keyword, or NULL. */
static char *parsed(const char *conninfo, const char *keyword)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    if (!opts)
        fail_msg("libpq refuses %s: %s", conninfo, why);
    char *v = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0 && o->val)
            v = strdup(o->val);
    PQconninfoFree(opts);
    return v;
}

/* Masking conninfo hides its password, libpq reads the same otherwise, and the text is want. */
static void check(const char *conninfo, const char *password, const char *want)
{
    char *masked = vb_pg_mask(conninfo);
    assert_non_null(masked);
    assert_string_equal(masked, want);
    char *got = parsed(conninfo, "password");
    if (password) {
        assert_non_null(got);
        assert_string_equal(got, password);
        assert_null(strstr(masked, password));
        char *m = parsed(masked, "password");
        assert_string_equal(m, "********");
        free(m);
    } else {
        assert_null(got);
    }
    free(got);
    static const char *const others[] = {"host",   "port",    "user",
                                         "dbname", "sslmode", "application_name"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        char *a = parsed(conninfo, others[i]), *b = parsed(masked, others[i]);
        if (a || b) {
            assert_non_null(a);
            assert_non_null(b);
            assert_string_equal(a, b);
        }
        free(a);
        free(b);
    }
    free(masked);
}

static void test_keywords(void **state)
{
    (void)state;
    check("host=/tmp/x port=5432 dbname=vb", NULL, "host=/tmp/x port=5432 dbname=vb");
    check("", NULL, "");
    check("host=db password=s3cret user=bridge", "s3cret", "host=db password=******** user=bridge");
    check("password = 's3 cr\\'et x' user=u", "s3 cr'et x", "password = ******** user=u");
    check("user=u password=p\\ w\\\\d", "p w\\d", "user=u password=********");
    check("  password='hunter2'\tdbname=vb  ", "hunter2", "  password=********\tdbname=vb  ");
    check("password='s3 cr\\'et 'user=u", "s3 cr'et ", "password=******** user=u");
    char *m = vb_pg_mask("sslpassword=k3y-pw sslkey=/k password=pw");
    assert_string_equal(m, "sslpassword=******** sslkey=/k password=********");
    free(m);
    m = vb_pg_mask("postgresql://h/db?ssl%70assword=k3y-pw&sslkey=/k");
    assert_string_equal(m, "postgresql://h/db?ssl%70assword=********&sslkey=/k");
    free(m);
    check("application_name='password=x' dbname=vb", NULL,
          "application_name='password=x' dbname=vb");
}

static void test_uris(void **state)
{
    (void)state;
    check("postgresql://bridge:s3cret@localhost:5432/vb", "s3cret",
          "postgresql://bridge:********@localhost:5432/vb");
    check("postgres://u:s%40cr%3Aet@h/db?sslmode=disable", "s@cr:et",
          "postgres://u:********@h/db?sslmode=disable");
    check("postgresql://h/db?sslmode=disable&password=other&application_name=a", "other",
          "postgresql://h/db?sslmode=disable&password=********&application_name=a");
    check("postgresql://h/db?pass%77ord=enc0ded", "enc0ded",
          "postgresql://h/db?pass%77ord=********");
    check("postgresql://u@h:5433/db", NULL, "postgresql://u@h:5433/db");
    check("postgresql://u?x@h/db?password=s3cret", "s3cret",
          "postgresql://u?x@h/db?password=********");
    check("postgresql:///db?host=/tmp/sock", NULL, "postgresql:///db?host=/tmp/sock");
}

/* What libpq refuses is masked from where it goes wrong: that may be the password's tail. */
static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"password=sec ret dbname=vb", "password=******** ********"},
        {"password='unterminated dbname=vb", "password=********"},
        {"dbname=vb password", "dbname=vb ********"},
        {"user='x", "user=********"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *m = vb_pg_mask(cases[i].in);
        assert_string_equal(m, cases[i].want);
        free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_uris),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
