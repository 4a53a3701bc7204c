/*
 * util.h - small shared helpers: error buffers, growable byte buffers, number
 * and time parsing, file reading and crash-safe file writing.
 *
 * Every fallible function here returns 0 on success and -1 on failure with a
 * one-line message in a vb_err, so that only main decides what a failure means.
 *
 * Layer core (docs/architecture.md): includes only libc, the libraries and core/.
 */
#ifndef VB_UTIL_H
#define VB_UTIL_H

#include <stddef.h>
#include <stdarg.h>

/* The number of elements of an array (not a pointer). */
#define VB_COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct vb_err {
    char msg[1024];
} vb_err;

/* Formats into err (if non-NULL) and returns -1, so callers can `return vb_fail(...)`. */
int vb_fail(vb_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct vb_buf {
    char *data;
    size_t len;
    size_t cap;
} vb_buf;

int vb_buf_append(vb_buf *b, const void *p, size_t n);
int vb_buf_puts(vb_buf *b, const char *s);
int vb_buf_printf(vb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vb_buf_free(vb_buf *b);

/* Whole-string numeric parsing: trailing garbage, overflow and NaN/Inf fail. */
int vb_parse_long(const char *s, long *out);
int vb_parse_double(const char *s, double *out);

/*
 * Accepts unix seconds ("1700000000", "1700000000.5") or ISO-8601 UTC
 * ("2024-04-11", "2024-04-11T12:30", "2024-04-11T12:30:05Z", space instead of T).
 */
int vb_parse_time(const char *s, double *out, vb_err *err);

/* "2024-04-11T12:30:05Z"; buf must hold 32 bytes. */
void vb_iso8601(double t, char *buf);

double vb_now(void);

/* Reads a whole file, NUL-terminated; caller frees. */
char *vb_read_file(const char *path, size_t *len, vb_err *err);

/*
 * Replaces path with exactly these bytes, or leaves the old file untouched:
 * write a temporary file in the same directory, fsync it, rename it over
 * path, fsync the directory.
 */
int vb_write_atomic(const char *path, const void *data, size_t len, vb_err *err);

int vb_mkdir_p(const char *path, vb_err *err);

/* The value of a hexadecimal digit (either case), or -1 for any other character. */
int vb_hexval(char c);

/* ^[A-Za-z_][A-Za-z0-9_]*$ - the only names ever spliced into SQL text. */
int vb_is_identifier(const char *s);

/*
 * Whether s[0..n) is well-formed UTF-8: no stray continuation bytes, overlong
 * forms, surrogates or code points past U+10FFFF (NUL bytes pass).
 */
int vb_utf8_valid(const char *s, size_t n);

int vb_file_exists(const char *path);

char *vb_strdup(const char *s);

#endif
