/*
 * util.c - see util.h.
 */
#define _GNU_SOURCE
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int vb_fail(vb_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int buf_reserve(vb_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int vb_buf_append(vb_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n))
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int vb_buf_puts(vb_buf *b, const char *s)
{
    return vb_buf_append(b, s, strlen(s));
}

int vb_buf_printf(vb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n))
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void vb_buf_free(vb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int vb_parse_long(const char *s, long *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int vb_parse_double(const char *s, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int vb_parse_time(const char *s, double *out, vb_err *err)
{
    if (vb_parse_double(s, out) == 0)
        return 0;
    /* ISO-8601 UTC: YYYY-MM-DD[( |T)HH:MM[:SS]][Z] */
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0;
    size_t n = strlen(s);
    const char *p = s;
    if (n < 10 || digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) || p[7] != '-' ||
        digits(p + 8, 2, &d))
        goto bad;
    p += 10;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (strlen(p) < 5 || digits(p, 2, &h) || p[2] != ':' || digits(p + 3, 2, &mi))
            goto bad;
        p += 5;
        if (*p == ':') {
            if (digits(p + 1, 2, &sec))
                goto bad;
            p += 3;
        }
    }
    if (*p == 'Z')
        p++;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        goto bad;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = (double)timegm(&tm);
    return 0;
bad:
    return vb_fail(err, "invalid time '%s' (expected unix seconds or YYYY-MM-DD[THH:MM[:SS]][Z])",
                   s);
}

void vb_iso8601(double t, char *buf)
{
    time_t tt = (time_t)floor(t);
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(buf, 32, "%.0f", t);
        return;
    }
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double vb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

char *vb_read_file(const char *path, size_t *len, vb_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        vb_fail(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    vb_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (vb_buf_append(&b, chunk, n)) {
            vb_buf_free(&b);
            fclose(f);
            vb_fail(err, "%s: out of memory", path);
            return NULL;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        vb_buf_free(&b);
        vb_fail(err, "%s: read error", path);
        return NULL;
    }
    if (!b.data && vb_buf_append(&b, "", 0)) {
        vb_fail(err, "%s: out of memory", path);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.data;
}

int vb_write_atomic(const char *path, const void *data, size_t len, vb_err *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    char *dcopy = vb_strdup(path);
    if (!tmp || !dcopy) {
        free(tmp);
        free(dcopy);
        return vb_fail(err, "%s: out of memory", path);
    }
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        vb_fail(err, "%s: cannot create temporary file: %s", path, strerror(errno));
        goto out;
    }
    /* mkstemp makes 0600; state and metadata files are shared with the grafana group. */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (left > 0 || fsync(fd) != 0) {
        vb_fail(err, "%s: write failed: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        vb_fail(err, "%s: cannot replace: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    /* The rename is durable only once the directory entry is on disk. */
    int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(tmp);
    free(dcopy);
    return 0;
out:
    free(tmp);
    free(dcopy);
    return -1;
}

int vb_mkdir_p(const char *path, vb_err *err)
{
    char *p = vb_strdup(path);
    if (!p)
        return vb_fail(err, "%s: out of memory", path);
    for (char *q = p + 1;; q++) {
        if (*q == '/' || *q == '\0') {
            char c = *q;
            *q = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                vb_fail(err, "cannot create directory %s: %s", p, strerror(errno));
                free(p);
                return -1;
            }
            *q = c;
            if (!c)
                break;
        }
    }
    free(p);
    return 0;
}

int vb_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int vb_is_identifier(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_') || !isascii((unsigned char)*s))
        return 0;
    for (s++; *s; s++)
        if (!isascii((unsigned char)*s) || !(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

int vb_utf8_valid(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xE0) == 0xC0 ? 2
                     : (c & 0xF0) == 0xE0 ? 3
                     : (c & 0xF8) == 0xF0 ? 4
                                          : 0;
        if (!len || i + len > n)
            return 0;
        unsigned cp = len == 1 ? c : c & (0x7F >> len);
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
            return 0;
        i += len;
    }
    return 1;
}

int vb_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *vb_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}
