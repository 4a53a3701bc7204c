/*
 * history.h - the `history` command: every parameter of every station over a
 * time range, downloaded window by window into
 * <datadir>/<station>/<param>.csv (RFC 4180 `time,value` lines) with
 * <datadir>/<station>/metadata.json saying how far each parameter got, so a
 * rerun resumes where the last one stopped.
 *
 * The window walk is exposed for its unit test.
 *
 * Layer cmd (docs/architecture.md): may include every layer.
 */
#ifndef VB_HISTORY_H
#define VB_HISTORY_H

#include "core/app.h"

typedef enum { VB_WINDOW_FULL, VB_WINDOW_EMPTY, VB_WINDOW_ERROR } vb_window_outcome;

/*
 * The original's window logic over [start, end] (whole seconds, inclusive):
 * windows of cadence x 100 seconds (cadence 0 counts as 8640), grown x1.5
 * after an empty answer and reset after one with points. A failed request
 * leaves the window where it was, so it is asked again instead of skipped.
 */
typedef struct vb_window {
    double base, size;
    long long next, end;
    long long a, b; /* the window handed out last */
} vb_window;

void vb_window_init(vb_window *w, int cadence, long long start, long long end);
/* The next window to ask for in *a..*b; 0 when the range is done. */
int vb_window_next(vb_window *w, long long *a, long long *b);
void vb_window_done(vb_window *w, vb_window_outcome outcome);

int cmd_history(vb_app *app, int argc, char **argv);

#endif
