/*
 * history_test.c - the history window walk: cadence x 100, x1.5 after an
 * empty answer, reset after a full one, cadence 0 as 8640, and a failed
 * window asked for again rather than skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "history.h"

static void expect_window(vb_window *w, long long a, long long b)
{
    long long ga, gb;
    assert_int_equal(vb_window_next(w, &ga, &gb), 1);
    assert_int_equal(ga, a);
    assert_int_equal(gb, b);
}

static void test_walk(void **state)
{
    (void)state;
    vb_window w;
    vb_window_init(&w, 10, 1000, 5000);
    expect_window(&w, 1000, 1999);
    vb_window_done(&w, VB_WINDOW_EMPTY);
    expect_window(&w, 2000, 3499);
    vb_window_done(&w, VB_WINDOW_ERROR);
    expect_window(&w, 2000, 3499);
    vb_window_done(&w, VB_WINDOW_EMPTY);
    expect_window(&w, 3500, 5000); /* 2250 s, cut at the end */
    vb_window_done(&w, VB_WINDOW_FULL);
    long long a, b;
    assert_int_equal(vb_window_next(&w, &a, &b), 0);
}

static void test_reset_and_irregular(void **state)
{
    (void)state;
    vb_window w;
    vb_window_init(&w, 0, 0, 10000000);
    expect_window(&w, 0, 863999);
    vb_window_done(&w, VB_WINDOW_EMPTY);
    expect_window(&w, 864000, 864000 + 1296000 - 1);
    vb_window_done(&w, VB_WINDOW_FULL);
    expect_window(&w, 2160000, 2160000 + 863999);
}

static void test_empty_range(void **state)
{
    (void)state;
    vb_window w;
    long long a, b;
    vb_window_init(&w, 5, 101, 100);
    assert_int_equal(vb_window_next(&w, &a, &b), 0);
    vb_window_init(&w, 5, 100, 100);
    expect_window(&w, 100, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_reset_and_irregular),
        cmocka_unit_test(test_empty_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
