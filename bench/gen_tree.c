/*
 * gen_tree.c - the insert benchmark's input: ROWS rows of downloaded history
 * as `history` writes it, DIR/tree/<station>/<param>.csv of `time,value`
 * lines, and the very same rows for sqlite3's .import, one
 * DIR/import/<param>.csv of `time,station,value` lines per table.
 *
 * usage: gen_tree DIR ROWS PARAM... (REAL series of the schema)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const stations[] = {"ALMA",  "APEX", "GLT", "JCMT", "KP", "LMT",
                                       "NOEMA", "PICO", "SMA", "SMTO", "SPT"};
#define NSTATIONS (sizeof stations / sizeof stations[0])

static FILE *open_out(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "gen_tree: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    return f;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: gen_tree DIR ROWS PARAM...\n");
        return 2;
    }
    const char *dir = argv[1];
    long rows = atol(argv[2]);
    int nparams = argc - 3;
    long per_file = rows / ((long)NSTATIONS * nparams);
    long extra = rows - per_file * (long)NSTATIONS * nparams;
    char path[4096];
    snprintf(path, sizeof path, "%s/tree", dir);
    mkdir(dir, 0777);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/import", dir);
    mkdir(path, 0777);
    for (size_t s = 0; s < NSTATIONS; s++) {
        snprintf(path, sizeof path, "%s/tree/%s", dir, stations[s]);
        mkdir(path, 0777);
    }
    long written = 0;
    for (int p = 0; p < nparams; p++) {
        const char *param = argv[3 + p];
        snprintf(path, sizeof path, "%s/import/%s.csv", dir, param);
        FILE *imp = open_out(path);
        for (size_t s = 0; s < NSTATIONS; s++) {
            snprintf(path, sizeof path, "%s/tree/%s/%s.csv", dir, stations[s], param);
            FILE *f = open_out(path);
            long n = per_file + (extra-- > 0 ? 1 : 0);
            long t = 1712836800 + (long)s;
            unsigned v = (unsigned)(p * 7919 + (int)s * 104729);
            for (long i = 0; i < n; i++, t += 10) {
                v = v * 1103515245u + 12345u;
                unsigned frac = (v >> 8) % 100000;
                fprintf(f, "%ld,%u.%05u\n", t, (v >> 20) % 1000, frac);
                fprintf(imp, "%ld,%s,%u.%05u\n", t, stations[s], (v >> 20) % 1000, frac);
            }
            written += n;
            if (fclose(f) != 0) {
                fprintf(stderr, "gen_tree: %s: %s\n", path, strerror(errno));
                return 1;
            }
        }
        if (fclose(imp) != 0) {
            fprintf(stderr, "gen_tree: import file: %s\n", strerror(errno));
            return 1;
        }
    }
    printf("%ld\n", written);
    return 0;
}
