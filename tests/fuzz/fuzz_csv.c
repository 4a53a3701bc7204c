/*
 * fuzz_csv.c - downloaded history files, the input of `insert` and
 * `transform --csv`: the first byte picks the format (even: RFC 4180 as
 * `history` writes it; odd: the original's unquoted time,value lines), the
 * rest is the file. Every RFC 4180 record read is written back with the
 * CSV writer and must read back as the same fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

/* What the writer made of record r must read back as r's fields. */
static void round_trip(const vb_csv_reader *r, vb_buf *out)
{
    out->len = 0;
    for (size_t i = 0; i < r->nfields; i++) {
        size_t len;
        const char *s = vb_csv_field(r, i, &len);
        if ((i && vb_buf_puts(out, ",")) || vb_csv_put_field(out, s, len))
            abort();
    }
    if (vb_buf_puts(out, "\n"))
        abort();
    FILE *f = fmemopen(out->data, out->len, "r");
    if (!f)
        return;
    vb_csv_reader back;
    vb_csv_reader_init(&back, f, 0);
    vb_err err;
    if (vb_csv_read(&back, &err) != 1 || back.nfields != r->nfields)
        __builtin_trap();
    for (size_t i = 0; i < r->nfields; i++) {
        size_t a, b;
        const char *x = vb_csv_field(r, i, &a), *y = vb_csv_field(&back, i, &b);
        if (a != b || memcmp(x, y, a) != 0)
            __builtin_trap();
    }
    vb_csv_reader_free(&back);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max_fields = data[0] & 1 ? 2 : 0;
    FILE *f = fmemopen((void *)(data + 1), size - 1, "r");
    if (!f)
        return 0;
    vb_csv_reader r;
    vb_csv_reader_init(&r, f, max_fields);
    vb_buf out = {0};
    vb_err err;
    while (vb_csv_read(&r, &err) == 1)
        if (!max_fields)
            round_trip(&r, &out);
    vb_buf_free(&out);
    vb_csv_reader_free(&r);
    fclose(f);
    return 0;
}
