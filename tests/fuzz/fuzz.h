/*
 * fuzz.h - what the fuzz targets (tests/fuzz/fuzz_*.c) share: the libFuzzer
 * entry points they define, and an application context like the one the
 * commands get, with the Lua host set up from the source tree and the log
 * going to /dev/null so that formatting every message is exercised without
 * flooding the terminal.
 *
 * Each target is built twice: with libFuzzer (`make fuzz`), and with
 * driver.c as a plain program that runs files through the same entry point,
 * which is how `make test` replays the corpus and every regression input.
 * Both run from the top of the source tree.
 */
#ifndef VB_FUZZ_H
#define VB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "core/app.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fills app as main does for a run from the source tree; -1 with err when /dev/null won't open. */
int fuzz_app_init(vb_app *app, vb_err *err);

/* The input as a NUL-terminated copy (parsers that take C strings); NULL when out of memory. */
char *fuzz_text(const uint8_t *data, size_t size);

#endif
