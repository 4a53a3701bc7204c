/*
 * driver.c - runs a fuzz target without libFuzzer: every file named on the
 * command line, and every file in a directory named there, goes through the
 * target's LLVMFuzzerTestOneInput once, in name order. A target that crashes
 * or trips a sanitizer ends the process, which is the failure `make test`
 * reports; otherwise it prints how many inputs ran.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path, long *count)
{
    vb_err err;
    size_t len;
    char *data = vb_read_file(path, &len, &err);
    if (!data) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    fprintf(stderr, "input %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    free(data);
    ++*count;
    return 0;
}

static int run_dir(const char *dir, long *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) {
                rc = -1;
                break;
            }
            names = grown;
        }
        if (!(names[n] = vb_strdup(e->d_name)))
            rc = -1;
        else
            n++;
    }
    closedir(d);
    if (rc)
        fprintf(stderr, "%s: out of memory\n", dir);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (!rc)
            rc = run_file(path, count);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR ...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize(&argc, &argv))
        return 1;
    long count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if ((S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i], &count)) != 0)
            return 1;
    }
    printf("%ld inputs ran\n", count);
    return 0;
}
