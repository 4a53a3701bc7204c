/*
 * secrets_test.c - the credentials file: both auth kinds, names with
 * spaces, a missing host, a host without credentials, malformed YAML.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "net/secrets.h"

static const char good[] = "vlbimon1.science.ru.nl:\n"
                           "  basicauth:\n"
                           "  - Your Name\n"
                           "  - \"Your pw: with colon\"\n"
                           "vlbimon2.science.ru.nl:\n"
                           "  digestauth:\n"
                           "  - Other Name\n"
                           "  - 'pw2'\n"
                           "empty.example.org:\n"
                           "  comment: nothing here\n";

static void test_both_kinds(void **state)
{
    (void)state;
    vb_secrets s;
    vb_err err;
    assert_int_equal(vb_secrets_parse(good, strlen(good), "s.yaml", &s, &err), 0);
    const vb_cred *c = vb_secrets_find(&s, "vlbimon1.science.ru.nl", &err);
    assert_non_null(c);
    assert_int_equal(c->kind, VB_AUTH_BASIC);
    assert_string_equal(c->user, "Your Name");
    assert_string_equal(c->password, "Your pw: with colon");
    c = vb_secrets_find(&s, "vlbimon2.science.ru.nl", &err);
    assert_non_null(c);
    assert_int_equal(c->kind, VB_AUTH_DIGEST);
    assert_string_equal(c->user, "Other Name");
    assert_string_equal(c->password, "pw2");
    vb_secrets_free(&s);
}

static void test_missing_host_names_file_and_host(void **state)
{
    (void)state;
    vb_secrets s;
    vb_err err;
    assert_int_equal(vb_secrets_parse(good, strlen(good), "s.yaml", &s, &err), 0);
    assert_null(vb_secrets_find(&s, "127.0.0.1", &err));
    assert_string_equal(err.msg, "s.yaml: no credentials for host 127.0.0.1");
    assert_null(vb_secrets_find(&s, "empty.example.org", &err));
    assert_string_equal(err.msg,
                        "s.yaml: host empty.example.org has neither basicauth nor digestauth");
    vb_secrets_free(&s);
}

static void test_malformed(void **state)
{
    (void)state;
    vb_secrets s;
    vb_err err;
    const char *bad = "host:\n  basicauth: [a, b\n";
    assert_int_equal(vb_secrets_parse(bad, strlen(bad), "bad.yaml", &s, &err), -1);
    assert_non_null(strstr(err.msg, "bad.yaml:"));
    assert_non_null(strstr(err.msg, "malformed YAML"));
    const char *shape = "host:\n  basicauth: just-a-string\n";
    assert_int_equal(vb_secrets_parse(shape, strlen(shape), "b2.yaml", &s, &err), -1);
    assert_non_null(strstr(err.msg, "host host: basicauth must be a list of [user, password]"));
    const char *list = "- a\n- b\n";
    assert_int_equal(vb_secrets_parse(list, strlen(list), "b3.yaml", &s, &err), -1);
    assert_non_null(strstr(err.msg, "expected a mapping"));
    assert_int_equal(vb_secrets_parse("", 0, "b4.yaml", &s, &err), -1);
    assert_non_null(strstr(err.msg, "empty"));
    assert_int_equal(vb_secrets_load("/nonexistent/s.yaml", &s, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/s.yaml"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_kinds),
        cmocka_unit_test(test_missing_host_names_file_and_host),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
