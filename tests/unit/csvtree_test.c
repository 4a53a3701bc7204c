/*
 * csvtree_test.c - a history tree read as one stream in time order: ties,
 * byte offsets and line numbers to resume at, a bad line or a stray quote
 * costing one line, and a last line without its end left for later.
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

#include "hist/csvtree.h"

static char dir[64];

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0777);
    *slash = '/';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/csvtree_test.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

/* Reads the whole tree as "station param time value;" items. */
static void drain(vb_csvtree *t, char *out, size_t n)
{
    vb_csv_source *s;
    vb_err err;
    out[0] = '\0';
    while (vb_csvtree_next(t, &s, &err) == 1) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s %s %lld %s;", s->station, s->param, s->time, s->value);
    }
}

static void open_all(vb_csvtree *t, vb_log *log)
{
    vb_err err;
    assert_int_equal(vb_csvtree_list(t, dir, log, &err), 0);
    for (size_t i = 0; i < t->n; i++)
        assert_int_equal(vb_csvtree_open(t, i, 0, 0, &err), 0);
}

static void test_merge_order(void **state)
{
    (void)state;
    put("SMA/a.csv", "10,s1\n30,s3\n");
    put("ALMA/b.csv", "10,a1\n20.7,a2\n40,a4\n");
    put("ALMA/metadata.json", "{}\n");
    vb_log log = {-2, stderr};
    vb_csvtree t;
    open_all(&t, &log);
    assert_int_equal(t.n, 2);
    char got[512];
    drain(&t, got, sizeof got);
    assert_string_equal(got, "ALMA b 10 a1;SMA a 10 s1;ALMA b 20 a2;SMA a 30 s3;ALMA b 40 a4;");
    assert_int_equal(t.src[0].consumed, 20);
    assert_int_equal(t.src[0].pos_lines, 3);
    vb_csvtree_free(&t);
}

static void test_bad_lines_and_resume(void **state)
{
    (void)state;
    put("KP/w.csv", "1,\"a\nb\"\nnot a line\n3,\"stray\n4,ok\n5,partial");
    vb_log log = {-2, stderr};
    vb_csvtree t;
    open_all(&t, &log);
    char got[512];
    drain(&t, got, sizeof got);
    assert_string_equal(got, "KP w 1 a\nb;KP w 4 ok;");
    assert_int_equal(t.src[0].bad, 2);
    assert_int_equal(t.src[0].first_bad, 3);
    long long at = t.src[0].consumed;
    long lines = t.src[0].pos_lines;
    assert_int_equal(lines, 5);
    vb_csvtree_free(&t);

    put("KP/w.csv", "1,\"a\nb\"\nnot a line\n3,\"stray\n4,ok\n5,partial, now whole\n6,x\n");
    vb_err err;
    assert_int_equal(vb_csvtree_list(&t, dir, &log, &err), 0);
    assert_int_equal(vb_csvtree_open(&t, 0, at, lines, &err), 0);
    vb_csv_source *s;
    assert_int_equal(vb_csvtree_next(&t, &s, &err), 1);
    assert_string_equal(s->value, "partial, now whole");
    assert_int_equal(s->line, 6);
    drain(&t, got, sizeof got);
    assert_string_equal(got, "KP w 6 x;");
    vb_csvtree_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_merge_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lines_and_resume, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
