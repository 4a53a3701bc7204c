/*
 * cli_test.c - the option parser keeps argparse's interface: prefixes,
 * repeatable and counted options, "=" values, help, one-line errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/cli.h"

typedef struct opts {
    int verbose, one, flag;
    const char *sqlitedb, *secrets, *server;
    vb_strlist stations;
    long wal;
    double dt;
} opts;

static int parse(opts *o, int argc, char **argv, const char ***pos, size_t *npos, vb_err *err,
                 int stop)
{
    const vb_opt table[] = {
        {.lname = "verbose",
         .sname = 'v',
         .kind = VB_OPT_COUNT,
         .dest = &o->verbose,
         .help = "be verbose"},
        {.sname = '1', .kind = VB_OPT_CONST, .dest = &o->one, .help = "vlbimon1", .value = 1},
        {.sname = '2', .kind = VB_OPT_CONST, .dest = &o->one, .help = "vlbimon2"},
        {.lname = "sqlitedb",
         .kind = VB_OPT_STRING,
         .dest = &o->sqlitedb,
         .metavar = "SQLITEDB",
         .help = "db"},
        {.lname = "secrets",
         .kind = VB_OPT_STRING,
         .dest = &o->secrets,
         .metavar = "SECRETS",
         .help = "secrets"},
        {.lname = "server",
         .kind = VB_OPT_STRING,
         .dest = &o->server,
         .metavar = "URL",
         .help = "server"},
        {.lname = "stations",
         .kind = VB_OPT_LIST,
         .dest = &o->stations,
         .metavar = "STATIONS",
         .help = "stations"},
        {.lname = "wal",
         .kind = VB_OPT_INT,
         .dest = &o->wal,
         .metavar = "WAL",
         .help = "wal pages"},
        {.lname = "dt", .kind = VB_OPT_DOUBLE, .dest = &o->dt, .metavar = "DT", .help = "interval"},
        {.lname = "all", .kind = VB_OPT_FLAG, .dest = &o->flag, .help = "all"},
    };
    vb_cmdspec spec = {.prog = "prog",
                       .positionals = "[ARG]",
                       .description = "desc",
                       .opts = table,
                       .nopts = VB_COUNT(table),
                       .stop_at_positional = stop};
    FILE *devnull = fopen("/dev/null", "w");
    int rc = vb_cli_parse(&spec, argc, argv, pos, npos, devnull, err);
    fclose(devnull);
    return rc;
}

#define ARGV(...)                                                                                  \
    (char *[])                                                                                     \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
#define ARGC(...) ((int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))
#define PARSE(o, pos, npos, err, ...)                                                              \
    parse(o, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), pos, npos, err, 0)

static void test_prefixes_and_values(void **state)
{
    (void)state;
    opts o = {0};
    const char **pos;
    size_t npos;
    vb_err err;
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "--sq", "live.db", "--wal=500", "--dt", "0.25",
                           "-vv", "-v", "-1", "--stations", "ALMA", "--sta=SMA", "x"),
                     VB_CLI_OK);
    assert_string_equal(o.sqlitedb, "live.db");
    assert_int_equal(o.wal, 500);
    assert_true(o.dt == 0.25);
    assert_int_equal(o.verbose, 3);
    assert_int_equal(o.one, 1);
    assert_int_equal(o.stations.n, 2);
    assert_string_equal(o.stations.v[0], "ALMA");
    assert_string_equal(o.stations.v[1], "SMA");
    assert_int_equal(npos, 1);
    assert_string_equal(pos[0], "x");
    free(pos);
    vb_strlist_free(&o.stations);
}

static void test_later_const_wins(void **state)
{
    (void)state;
    opts o = {0};
    const char **pos;
    size_t npos;
    vb_err err;
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "-1", "-2"), VB_CLI_OK);
    assert_int_equal(o.one, 0);
    free(pos);
}

static void test_ambiguous_prefix(void **state)
{
    (void)state;
    opts o = {0};
    const char **pos;
    size_t npos;
    vb_err err;
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "--se", "x"), VB_CLI_ERROR);
    assert_non_null(strstr(err.msg, "ambiguous option: --se could match --secrets, --server"));
    assert_null(strchr(err.msg, '\n'));
}

static void test_errors_are_one_line(void **state)
{
    (void)state;
    opts o = {0};
    const char **pos;
    size_t npos;
    vb_err err;
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "--bogus"), VB_CLI_ERROR);
    assert_string_equal(err.msg, "prog: error: unrecognized option: --bogus");
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "--wal", "12x"), VB_CLI_ERROR);
    assert_string_equal(err.msg, "prog: error: argument --wal: invalid integer value: '12x'");
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "--dt", "nan"), VB_CLI_ERROR);
    assert_string_equal(err.msg, "prog: error: argument --dt: invalid number: 'nan'");
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "--sqlitedb"), VB_CLI_ERROR);
    assert_string_equal(err.msg, "prog: error: argument --sqlitedb: expected one argument");
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "-x"), VB_CLI_ERROR);
    assert_string_equal(err.msg, "prog: error: unrecognized option: -x");
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "--all=yes"), VB_CLI_ERROR);
    assert_non_null(strstr(err.msg, "ignored explicit argument 'yes'"));
}

static void test_help(void **state)
{
    (void)state;
    opts o = {0};
    const char **pos;
    size_t npos;
    vb_err err;
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "-h"), VB_CLI_HELP);
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "--help"), VB_CLI_HELP);
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "--he"), VB_CLI_HELP);
}

static void test_stop_at_positional(void **state)
{
    (void)state;
    opts o = {0};
    const char **pos;
    size_t npos;
    vb_err err;
    char *argv[] = {"-v", "bridge", "--dt", "5", "-v"};
    assert_int_equal(parse(&o, 5, argv, &pos, &npos, &err, 1), VB_CLI_OK);
    assert_int_equal(o.verbose, 1);
    assert_int_equal(npos, 4);
    assert_string_equal(pos[1], "--dt");
    assert_true(o.dt == 0);
    free(pos);
}

static void test_double_dash(void **state)
{
    (void)state;
    opts o = {0};
    const char **pos;
    size_t npos;
    vb_err err;
    assert_int_equal(PARSE(&o, &pos, &npos, &err, "--", "--wal"), VB_CLI_OK);
    assert_int_equal(npos, 1);
    assert_string_equal(pos[0], "--wal");
    free(pos);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefixes_and_values),
        cmocka_unit_test(test_later_const_wins),
        cmocka_unit_test(test_ambiguous_prefix),
        cmocka_unit_test(test_errors_are_one_line),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_stop_at_positional),
        cmocka_unit_test(test_double_dash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
