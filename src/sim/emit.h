/*
 * emit.h - the simulator's output formats: JSON written by hand (so a fault
 * can make it exactly as wrong as it wants), RFC 4180 CSV for the
 * served-points log, gzip for clients that ask for it, and millisecond times
 * as the decimal strings clients see.
 *
 * The simulator (docs/simulator.md): includes core/, net/secrets.h (its accounts)
 * and sim/.
 */
#ifndef SIM_EMIT_H
#define SIM_EMIT_H

#include <stdint.h>

#include "sim/generator.h"
#include "core/util.h"

/* A JSON string literal; bytes >= 0x80 pass through untouched. */
int sim_json_str(vb_buf *b, const char *s);
int sim_json_value(vb_buf *b, const sim_value *v);

/* One CSV field, quoted only when it holds a comma, quote, CR or LF. */
int sim_csv_field(vb_buf *b, const char *s);

int sim_gzip(const void *in, size_t n, vb_buf *out, vb_err *err);

/* "1712836800.123"; buf holds 32 bytes. */
void sim_ms_text(int64_t ms, char *buf);

/* Parses a decimal seconds string to milliseconds (rounded). */
int sim_ms_parse(const char *s, int64_t *ms);

#endif
