/*
 * signals.h - SIGINT, SIGTERM and SIGHUP for long-running commands, through
 * a signalfd: the signals are blocked and read as data, so no code runs in a
 * signal handler and the process has no signal flag at all. SIGTERM or
 * SIGINT means "stop after what is complete"; SIGHUP means "reload".
 *
 * Layer core (docs/architecture.md): includes only libc, the libraries and core/.
 */
#ifndef VB_SIGNALS_H
#define VB_SIGNALS_H

#include "core/util.h"

typedef struct vb_signals {
    int fd;
    int stop;   /* SIGINT or SIGTERM arrived */
    int reload; /* SIGHUP arrived; the caller clears it when it has reloaded */
    int last;   /* the last signal read, for log lines */
} vb_signals;

int vb_signals_open(vb_signals *s, vb_err *err);
void vb_signals_close(vb_signals *s);

/* Reads pending signals without waiting; returns s->stop. */
int vb_signals_poll(vb_signals *s);

/*
 * Waits until the vb_now() clock reaches t, or a signal arrives: returns
 * early with s->stop or s->reload set. Returns s->stop.
 */
int vb_signals_sleep_until(vb_signals *s, double t);

/* For vb_http_opts.should_abort (ud is the vb_signals): aborts on stop only. */
int vb_signals_should_abort(void *ud);

#endif
