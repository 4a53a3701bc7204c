/*
 * csv.c - see csv.h.
 */
#include "core/csv.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void vb_csv_reader_init(vb_csv_reader *r, FILE *f, size_t max_fields)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    r->max_fields = max_fields;
}

void vb_csv_reader_free(vb_csv_reader *r)
{
    free(r->line);
    vb_buf_free(&r->data);
    free(r->offs);
    free(r->lens);
    memset(r, 0, sizeof *r);
}

/* Next physical line, with its line end: its length, 0 at end of file, -1 on error. */
static ssize_t next_line(vb_csv_reader *r, vb_err *err)
{
    ssize_t n = getline(&r->line, &r->line_cap, r->f);
    if (n < 0)
        return ferror(r->f) ? vb_fail(err, "line %ld: read error", r->lineno + 1) : 0;
    r->lineno++;
    return n;
}

static int start_field(vb_csv_reader *r)
{
    if (r->nfields == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        size_t *o = realloc(r->offs, cap * sizeof *o);
        if (!o)
            return -1;
        r->offs = o;
        size_t *l = realloc(r->lens, cap * sizeof *l);
        if (!l)
            return -1;
        r->lens = l;
        r->cap = cap;
    }
    r->offs[r->nfields] = r->data.len;
    return 0;
}

static int end_field(vb_csv_reader *r)
{
    r->lens[r->nfields] = r->data.len - r->offs[r->nfields];
    r->nfields++;
    return vb_buf_append(&r->data, "", 1);
}

static size_t line_end(const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '\n')
        n--;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    return n;
}

/*
 * A quoted field starting at line[*pos] == '"'. Returns 0 with *pos after
 * the closing quote, 1 when there is text after the closing quote (the
 * caller decides), -1 on error. May read more physical lines.
 */
static int quoted(vb_csv_reader *r, ssize_t *len, size_t *pos, vb_err *err)
{
    size_t i = *pos + 1;
    for (;;) {
        char *q = memchr(r->line + i, '"', (size_t)*len - i);
        if (!q) {
            if (vb_buf_append(&r->data, r->line + i, (size_t)*len - i))
                return vb_fail(err, "out of memory");
            if ((*len = next_line(r, err)) <= 0)
                return *len < 0
                           ? -1
                           : vb_fail(err, "line %ld: unterminated quoted field", r->record_line);
            i = 0;
            continue;
        }
        size_t at = (size_t)(q - r->line);
        if (vb_buf_append(&r->data, r->line + i, at - i))
            return vb_fail(err, "out of memory");
        if (at + 1 < (size_t)*len && r->line[at + 1] == '"') {
            if (vb_buf_append(&r->data, "\"", 1))
                return vb_fail(err, "out of memory");
            i = at + 2;
            continue;
        }
        *pos = at + 1;
        size_t end = line_end(r->line, (size_t)*len);
        return *pos < end && r->line[*pos] != ',';
    }
}

int vb_csv_read(vb_csv_reader *r, vb_err *err)
{
    ssize_t len = next_line(r, err);
    if (len <= 0)
        return (int)len;
    r->record_line = r->lineno;
    r->data.len = 0;
    r->nfields = 0;
    size_t pos = 0;
    for (;;) {
        if (start_field(r))
            return vb_fail(err, "out of memory");
        size_t end = line_end(r->line, (size_t)len);
        int last = r->max_fields && r->nfields + 1 == r->max_fields;
        if (pos < end && r->line[pos] == '"') {
            long first_line = r->lineno;
            size_t open = pos;
            int rc = quoted(r, &len, &pos, err);
            if (rc < 0)
                return -1;
            if (rc == 1) {
                /* The original's unquoted last field may start with a quote: take the line as is.
                 */
                if (!last || r->lineno != first_line)
                    return vb_fail(err, "line %ld: text after a closing quote", r->lineno);
                r->data.len = r->offs[r->nfields];
                end = line_end(r->line, (size_t)len);
                if (vb_buf_append(&r->data, r->line + open, end - open))
                    return vb_fail(err, "out of memory");
                pos = end;
            }
        } else {
            size_t stop = end;
            if (!last) {
                const char *c = memchr(r->line + pos, ',', end - pos);
                if (c)
                    stop = (size_t)(c - r->line);
            }
            if (vb_buf_append(&r->data, r->line + pos, stop - pos))
                return vb_fail(err, "out of memory");
            pos = stop;
        }
        if (end_field(r))
            return vb_fail(err, "out of memory");
        end = line_end(r->line, (size_t)len);
        if (pos >= end)
            return 1;
        pos++; /* the comma */
    }
}

const char *vb_csv_field(const vb_csv_reader *r, size_t i, size_t *len)
{
    if (len)
        *len = r->lens[i];
    return r->data.data + r->offs[i];
}

int vb_csv_put_field(vb_buf *b, const char *s, size_t len)
{
    int quote = 0;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote)
        return vb_buf_append(b, s, len);
    if (vb_buf_append(b, "\"", 1))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' && vb_buf_append(b, "\"", 1))
            return -1;
        if (vb_buf_append(b, s + i, 1))
            return -1;
    }
    return vb_buf_append(b, "\"", 1);
}

int vb_csv_put_record(vb_buf *b, const char *const *fields, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((i && vb_buf_append(b, ",", 1)) || vb_csv_put_field(b, fields[i], lens[i]))
            return -1;
    }
    return vb_buf_append(b, "\n", 1);
}
