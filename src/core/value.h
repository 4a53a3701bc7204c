/*
 * value.h - the one value model: a value as C holds it, the column types of
 * the database contract, what a column of each type stores for each value
 * (or that the value does not fit), the text form of a value, and reading a
 * value back from that text.
 *
 * A value comes to the database three ways: live from a snapshot, from a
 * history file through the transformers, and from a history file straight
 * into its table. History files hold the text form, so each conversion here
 * gives a value and its text form the same result: that is what makes the
 * three ways store the same row. docs/schema.md has the table.
 *
 * Layer core (docs/architecture.md): includes only libc, the libraries and core/.
 */
#ifndef VB_VALUE_H
#define VB_VALUE_H

#include <stddef.h>

#include "core/masterlist.h"
#include "core/util.h"

typedef enum { VB_V_NULL, VB_V_INTEGER, VB_V_REAL, VB_V_TEXT, VB_V_BOOLEAN } vb_vtype;

/*
 * A zeroed vb_value is VB_V_NULL: no value. Text is any bytes, not owned,
 * with s[len] == '\0' (as Lua strings and CSV fields have it).
 */
typedef struct vb_value {
    vb_vtype type;
    union {
        long long i; /* VB_V_INTEGER */
        double d;    /* VB_V_REAL */
        int b;       /* VB_V_BOOLEAN: 0 or 1 */
        struct {
            const char *s;
            size_t len;
        } text; /* VB_V_TEXT */
    };
} vb_value;

/* A series table's value column (docs/schema.md). */
typedef enum { VB_COL_TEXT, VB_COL_REAL, VB_COL_INTEGER, VB_COL_BOOLEAN } vb_coltype;

/* A declared SQL type as a column type; anything unknown (or NULL) holds text. */
vb_coltype vb_coltype_of(const char *decl);
const char *vb_coltype_sql(vb_coltype t);

/* The type of a table made for a parameter no catalogue knows, from its first value. */
vb_coltype vb_coltype_for(const vb_value *v);

/* Room for the text form of any number, its NUL included. */
#define VB_NUMBER_TEXT 32

/*
 * What a column of type t stores for v, in *out: 0, or -1 when v does not
 * fit. TEXT takes any value but a non-finite number, as its text form;
 * BOOLEAN true/false, "true"/"True"/"false"/"False" and the numbers 1 and
 * 0, as a boolean; REAL any finite number, as a real; INTEGER any finite
 * number, as an integer when it is one that fits 64 bits and as a real
 * otherwise. Text that reads as a number counts as that number. A number's
 * text is written to num, which *out may point into.
 */
int vb_value_to_column(const vb_value *v, vb_coltype t, vb_value *out, char num[VB_NUMBER_TEXT]);

/*
 * The text form of v (its length in *len; a number's text is written to
 * num): text as it is, true/false, an integral number as an integer, any
 * other number in the shortest form that reads back as the same double
 * ("0.1", "1e+300"), no value as "". A non-finite number, which no column
 * takes, is "nan", "inf" or "-inf".
 */
const char *vb_value_text(const vb_value *v, char num[VB_NUMBER_TEXT], size_t *len);

/*
 * Orders values as SQLite orders what its columns hold: no value first,
 * then numbers by value (a boolean as 0 or 1, an integer and a real alike:
 * 2 and 2.0 are equal), then text by its bytes. 0 when a column holds a and
 * b as the same value: what vb_value_to_column made of a row and what the
 * database gives back for it compare equal.
 */
int vb_value_cmp(const vb_value *a, const vb_value *b);

/* The text form as one CSV field (quoted when it must be). */
int vb_value_put_csv(vb_buf *b, const vb_value *v);

/* One CSV record: the n values' fields joined by commas, then "\n". Every row printer's. */
int vb_value_put_record(vb_buf *b, const vb_value *v, size_t n);

/*
 * Text that is a whole finite number, without spaces: 0 with an INTEGER
 * when it is an integer that fits 64 bits (exactly, however many digits),
 * else a REAL; -1 when it is not a number. s[len] must be '\0'.
 */
int vb_value_parse_number(const char *s, size_t len, vb_value *out);

/*
 * How a value read back from text is handed to transformers, as vlbimon
 * would have sent it: numbers for numeric parameters, true/false for
 * booleans (the strings "True"/"False" some stations send stay strings),
 * text for the rest; a parameter the masterlist lacks gets a number or a
 * boolean when its text is one.
 */
typedef enum { VB_VALUE_TEXT, VB_VALUE_NUMBER, VB_VALUE_BOOLEAN, VB_VALUE_GUESS } vb_value_kind;

vb_value_kind vb_value_kind_of(const vb_param *p);

/* The value text s stands for, read as kind says; s[len] must be '\0'. */
vb_value vb_value_from_text(vb_value_kind kind, const char *s, size_t len);

#endif
