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

int vb_inslog_init(sqlite3 *db, vb_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS bridge_inserted (station TEXT NOT NULL, param "
                     "TEXT NOT NULL, head_len INTEGER NOT NULL, head TEXT NOT NULL, bytes INTEGER "
                     "NOT NULL, tail TEXT NOT NULL, lines INTEGER NOT NULL, records INTEGER NOT "
                     "NULL, inserted INTEGER NOT NULL)",
                     NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    vb_fail(err, "bridge_inserted: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

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

/* Whether row q describes this file: 1 (resume as it says), 0 (another file), -2 (changed). */
static int check(int fd, long long size, sqlite3_stmt *q, vb_inslog_mark *m, const char *path,
                 vb_err *err)
{
    long long head_len = sqlite3_column_int64(q, 1);
    long long bytes = sqlite3_column_int64(q, 3);
    char fp[17];
    if (head_len > size || fingerprint(fd, 0, head_len, fp) ||
        strcmp(fp, (const char *)sqlite3_column_text(q, 2)) != 0)
        return 0; /* another file of the same name */
    if (bytes > size || fingerprint(fd, bytes - min_ll(bytes, FP_BYTES), bytes, fp) ||
        strcmp(fp, (const char *)sqlite3_column_text(q, 4)) != 0)
        return vb_fail(err,
                       "%s changed since it was inserted (up to byte %lld); skipped, as loading "
                       "it again would double rows (delete its row from bridge_inserted to load "
                       "it anyway)",
                       path, bytes) -
               1;
    m->id = sqlite3_column_int64(q, 0);
    m->head_len = head_len;
    memcpy(m->head, sqlite3_column_text(q, 2), 17);
    m->bytes = bytes;
    m->lines = (long)sqlite3_column_int64(q, 5);
    m->records = sqlite3_column_int64(q, 6);
    return 1;
}

int vb_inslog_find(sqlite3 *db, const char *path, const char *station, const char *param,
                   vb_inslog_mark *m, vb_err *err)
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
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT rowid, head_len, head, bytes, tail, lines, records FROM "
                           "bridge_inserted WHERE station = ? AND param = ?",
                           -1, &q, NULL) != SQLITE_OK) {
        close(fd);
        return vb_fail(err, "bridge_inserted: %s", sqlite3_errmsg(db));
    }
    sqlite3_bind_text(q, 1, station, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, param, -1, SQLITE_STATIC);
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW)
        rc = check(fd, (long long)st.st_size, q, m, path, err);
    if (rc == 0 && step != SQLITE_DONE)
        rc = vb_fail(err, "bridge_inserted: %s", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    close(fd);
    if (rc < 0)
        m->id = 0;
    return rc == -2 ? 1 : rc < 0 ? -1 : 0;
}

int vb_inslog_save(sqlite3 *db, const char *path, const char *station, const char *param,
                   const vb_inslog_mark *m, long long bytes, long lines, long long records,
                   vb_err *err)
{
    if (bytes <= m->bytes)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char head[17], tail[17];
    long long head_len = m->id ? m->head_len : min_ll(bytes, FP_BYTES);
    int bad = fd < 0 || fingerprint(fd, 0, head_len, head) ||
              fingerprint(fd, bytes - min_ll(bytes, FP_BYTES), bytes, tail);
    if (fd >= 0)
        close(fd);
    if (bad)
        return vb_fail(err, "%s: cannot read it again: %s", path, strerror(errno));
    sqlite3_stmt *q;
    const char *sql = m->id ? "UPDATE bridge_inserted SET station = ?1, param = ?2, head_len = ?3, "
                              "head = ?4, bytes = ?5, tail = ?6, lines = ?7, records = ?8, "
                              "inserted = strftime('%s', 'now') WHERE rowid = ?9"
                            : "INSERT INTO bridge_inserted (station, param, head_len, head, bytes, "
                              "tail, lines, records, inserted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                              "?8, strftime('%s', 'now'))";
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return vb_fail(err, "bridge_inserted: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(q, 1, station, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, param, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, head_len);
    sqlite3_bind_text(q, 4, head, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, bytes);
    sqlite3_bind_text(q, 6, tail, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, lines);
    sqlite3_bind_int64(q, 8, records);
    if (m->id)
        sqlite3_bind_int64(q, 9, m->id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : vb_fail(err, "bridge_inserted: %s", sqlite3_errmsg(db));
}
