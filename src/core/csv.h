/*
 * csv.h - RFC 4180 CSV: a reader over a FILE* yielding one record's fields
 * at a time, and a writer that quotes a field only when it must.
 *
 * The reader also takes the original bridge's history files, which were
 * written without quoting: with max_fields set, an unquoted last field runs
 * verbatim to the end of its line, commas and quotes included
 * ("1700000000,clear, windy" is two fields). Line ends may be LF or CRLF.
 *
 * Layer core (docs/architecture.md): includes only libc, the libraries and core/.
 */
#ifndef VB_CSV_H
#define VB_CSV_H

#include <stdio.h>

#include "core/util.h"

typedef struct vb_csv_reader {
    FILE *f;
    size_t max_fields; /* 0: no limit; else the last field takes the rest of an unquoted line */
    char *line;        /* the physical line being parsed (getline's buffer) */
    size_t line_cap;
    vb_buf data;  /* the record's fields, each NUL-terminated */
    size_t *offs; /* field i starts at data.data + offs[i] */
    size_t *lens;
    size_t nfields, cap;
    long lineno;      /* physical lines read so far */
    long record_line; /* the line the current record starts on */
} vb_csv_reader;

void vb_csv_reader_init(vb_csv_reader *r, FILE *f, size_t max_fields);
void vb_csv_reader_free(vb_csv_reader *r);

/*
 * Reads the next record: 1 when there is one, 0 at end of file, -1 with a
 * message naming the line (an unterminated quote, text after a closing quote,
 * a read error). An empty line is a record of one empty field.
 */
int vb_csv_read(vb_csv_reader *r, vb_err *err);

/* Field i of the record just read (NUL-terminated; len may be NULL). */
const char *vb_csv_field(const vb_csv_reader *r, size_t i, size_t *len);

/* Appends one field, quoted (with quotes doubled) when it holds a comma, quote, CR or LF. */
int vb_csv_put_field(vb_buf *b, const char *s, size_t len);

/* Appends a record: the fields joined by commas, then "\n". */
int vb_csv_put_record(vb_buf *b, const char *const *fields, const size_t *lens, size_t n);

#endif
