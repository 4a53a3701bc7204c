/*
 * history.h - the `history` command: every parameter of every station over a
 * time range, downloaded window by window, many series per request, into
 * <datadir>/<station>/<param>.csv (RFC 4180 `time,value` lines) with
 * <datadir>/<station>/metadata.json saying how far each parameter got, so a
 * rerun resumes where the last one stopped.
 *
 * Layer cmd (docs/architecture.md): may include every layer.
 */
#ifndef VB_HISTORY_H
#define VB_HISTORY_H

#include "core/app.h"

int cmd_history(vb_app *app, int argc, char **argv);

#endif
