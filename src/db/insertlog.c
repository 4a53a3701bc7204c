/*
 * insertlog.c - see insertlog.h.
 *
 * Fingerprints are FNV-1a over at most FP_BYTES: enough to tell two days'
 * files apart (their first lines differ) and to notice a rewrite, without
 * reading a whole file again.
 */
#include "db/insertlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FP_BYTES 4096

/* FNV-1a of bytes [from, to) of the file, as 16 hex digits. */
static int fingerprint(int fd, long long from, long long to, char out[17])
{
    unsigned char buf[FP_BYTES];
    uint64_t h = 1469598103934665603ULL;
    size_t n = (size_t)(to - from);
    if (n > sizeof buf || pread(fd, buf, n, (off_t)from) != (ssize_t)n)
        return -1;
    for (size_t i = 0; i < n; i++)
        h = (h ^ buf[i]) * 1099511628211ULL;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    return 0;
}

static long long min_ll(long long a, long long b)
{
    return a < b ? a : b;
}

typedef struct finding {
    int fd;
    long long size;
    const char *path;
    vb_load_record *m;
    int found; /* 1: *m is this file's row; -2: this file, changed */
} finding;

/* Whether row r describes this file: its head's fingerprint, then its tail's. */
static int check(void *ud, const vb_load_record *r, vb_err *err)
{
    finding *f = ud;
    char fp[17];
    if (f->found || r->head_len > f->size || fingerprint(f->fd, 0, r->head_len, fp) ||
        strcmp(fp, r->head) != 0)
        return 0; /* another file of the same name */
    if (r->bytes > f->size ||
        fingerprint(f->fd, r->bytes - min_ll(r->bytes, FP_BYTES), r->bytes, fp) ||
        strcmp(fp, r->tail) != 0) {
        f->found = -2;
        return vb_fail(err,
                       "%s changed since it was inserted (up to byte %lld); skipped, as loading "
                       "it again would double rows (delete its row from bridge_inserted to load "
                       "it anyway)",
                       f->path, r->bytes);
    }
    *f->m = *r;
    f->found = 1;
    return 0;
}

int vb_inslog_find(vb_sink *s, const char *path, const char *station, const char *param,
                   vb_load_record *m, vb_err *err)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        vb_fail(err, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    finding f = {.fd = fd, .size = (long long)st.st_size, .path = path, .m = m};
    int rc = s->ops->bulk->loaded(s, station, param, check, &f, err);
    close(fd);
    if (f.found == -2) {
        memset(m, 0, sizeof *m);
        return 1;
    }
    return rc;
}

int vb_inslog_save(vb_sink *s, const char *path, const char *station, const char *param,
                   const vb_load_record *m, long long bytes, long lines, long long records,
                   vb_err *err)
{
    if (bytes <= m->bytes)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    vb_load_record r = {.id = m->id,
                        .head_len = m->id ? m->head_len : min_ll(bytes, FP_BYTES),
                        .bytes = bytes,
                        .lines = lines,
                        .records = records};
    int bad = fd < 0 || fingerprint(fd, 0, r.head_len, r.head) ||
              fingerprint(fd, bytes - min_ll(bytes, FP_BYTES), bytes, r.tail);
    if (fd >= 0)
        close(fd);
    if (bad)
        return vb_fail(err, "%s: cannot read it again: %s", path, strerror(errno));
    return s->ops->bulk->save_loaded(s, station, param, &r, err);
}
