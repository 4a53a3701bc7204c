/*
 * emit.c - see emit.h.
 */
#include "sim/emit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

int sim_json_str(vb_buf *b, const char *s)
{
    if (vb_buf_puts(b, "\""))
        return -1;
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        if (vb_buf_append(b, run, (size_t)(s - run)))
            return -1;
        run = s + 1;
        int rc;
        switch (c) {
        case '"':
            rc = vb_buf_puts(b, "\\\"");
            break;
        case '\\':
            rc = vb_buf_puts(b, "\\\\");
            break;
        case '\n':
            rc = vb_buf_puts(b, "\\n");
            break;
        case '\r':
            rc = vb_buf_puts(b, "\\r");
            break;
        case '\t':
            rc = vb_buf_puts(b, "\\t");
            break;
        default:
            rc = vb_buf_printf(b, "\\u%04x", c);
        }
        if (rc)
            return -1;
    }
    if (vb_buf_append(b, run, (size_t)(s - run)))
        return -1;
    return vb_buf_puts(b, "\"");
}

int sim_json_value(vb_buf *b, const sim_value *v)
{
    return v->kind == SIM_STR ? sim_json_str(b, v->text) : vb_buf_puts(b, v->text);
}

int sim_csv_field(vb_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n"))
        return vb_buf_puts(b, s);
    if (vb_buf_puts(b, "\""))
        return -1;
    for (const char *q; (q = strchr(s, '"')); s = q + 1)
        if (vb_buf_append(b, s, (size_t)(q - s)) || vb_buf_puts(b, "\"\""))
            return -1;
    return vb_buf_puts(b, s) || vb_buf_puts(b, "\"") ? -1 : 0;
}

int sim_gzip(const void *in, size_t n, vb_buf *out, vb_err *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16 asks zlib for a gzip wrapper rather than raw zlib. */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return vb_fail(err, "gzip: cannot initialise zlib");
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    out->len = 0;
    int rc;
    do {
        unsigned char chunk[16384];
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        rc = deflate(&z, Z_FINISH);
        if (vb_buf_append(out, chunk, sizeof chunk - z.avail_out)) {
            deflateEnd(&z);
            return vb_fail(err, "out of memory");
        }
    } while (rc == Z_OK);
    deflateEnd(&z);
    if (rc != Z_STREAM_END)
        return vb_fail(err, "gzip: deflate failed");
    return 0;
}

void sim_ms_text(int64_t ms, char *buf)
{
    const char *sign = ms < 0 ? "-" : "";
    long long a = ms < 0 ? -(long long)ms : (long long)ms;
    snprintf(buf, 32, "%s%lld.%03lld", sign, a / 1000, a % 1000);
}

int sim_ms_parse(const char *s, int64_t *ms)
{
    double d;
    if (vb_parse_double(s, &d) || fabs(d) > 1e15)
        return -1;
    *ms = (int64_t)llround(d * 1000.0);
    return 0;
}
