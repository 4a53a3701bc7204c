/*
 * query.c - `make bench`, the Grafana read path: the median wall time of a
 * query, every row stepped through and every column read, as a data source
 * does, on a database opened read-only. The sqlite3 shell's timer would
 * count printing the rows too, which is more than the query below 2 ms.
 *
 * usage: query DB RUNS SQL
 * prints "<median ms> <rows>".
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 4 || atoi(argv[2]) < 1) {
        fprintf(stderr, "usage: query DB RUNS SQL\n");
        return 2;
    }
    int runs = atoi(argv[2]);
    sqlite3 *db;
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "query: %s: %s\n", argv[1], sqlite3_errmsg(db));
        return 1;
    }
    double *t = calloc((size_t)runs, sizeof *t);
    long rows = 0;
    /* Three runs first, to have the pages in the cache as a busy dashboard does. */
    for (int i = -3; i < runs; i++) {
        double t0 = now();
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, argv[3], -1, &st, NULL) != SQLITE_OK) {
            fprintf(stderr, "query: %s\n", sqlite3_errmsg(db));
            return 1;
        }
        rows = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            rows++;
            for (int c = 0; c < sqlite3_column_count(st); c++)
                if (sqlite3_column_type(st, c) == SQLITE_TEXT)
                    sqlite3_column_text(st, c);
                else
                    sqlite3_column_double(st, c);
        }
        sqlite3_finalize(st);
        if (i >= 0)
            t[i] = now() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    printf("%.2f %ld\n", t[runs / 2] * 1e3, rows);
    free(t);
    sqlite3_close(db);
    return 0;
}
