/*
 * signals.c - see signals.h.
 */
#define _GNU_SOURCE
#include "core/signals.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void wanted(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

int vb_signals_open(vb_signals *s, vb_err *err)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    sigset_t set;
    wanted(&set);
    /* Blocked first, so a signal between here and signalfd() waits in the queue. */
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return vb_fail(err, "cannot block signals: %s", strerror(errno));
    s->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->fd < 0) {
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        return vb_fail(err, "signalfd: %s", strerror(errno));
    }
    return 0;
}

void vb_signals_close(vb_signals *s)
{
    if (s->fd < 0)
        return;
    close(s->fd);
    s->fd = -1;
    sigset_t set;
    wanted(&set);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int vb_signals_poll(vb_signals *s)
{
    struct signalfd_siginfo si;
    while (s->fd >= 0 && read(s->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        s->last = (int)si.ssi_signo;
        if (si.ssi_signo == SIGHUP)
            s->reload = 1;
        else
            s->stop = 1;
    }
    return s->stop;
}

int vb_signals_sleep_until(vb_signals *s, double t)
{
    while (!vb_signals_poll(s) && !s->reload) {
        double left = t - vb_now();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        int ms = left > 3600 ? 3600000 : (int)ceil(left * 1000);
        if (poll(&p, 1, ms) < 0 && errno != EINTR)
            break;
    }
    return s->stop;
}

int vb_signals_should_abort(void *ud)
{
    return vb_signals_poll(ud);
}
