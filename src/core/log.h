/*
 * log.h - the run's logger. It is a value passed to whoever logs, not a
 * global, so tests and the Lua host can each hold their own.
 *
 * Lines go to stderr as "<UTC time> <level>: <message>". Errors, warnings
 * and notices (start, stop, schema changes an operator must know about) are
 * always shown; info needs -v, debug needs -v -v.
 *
 * Layer core (docs/architecture.md): includes only libc, the libraries and core/.
 */
#ifndef VB_LOG_H
#define VB_LOG_H

#include <stdio.h>

enum vb_level { VB_ERROR = -2, VB_WARN = -1, VB_NOTICE = 0, VB_INFO = 1, VB_DEBUG = 2 };

/* What vb_level_parse returns for a name that is not a level. */
#define VB_LEVEL_UNKNOWN (-100)

typedef struct vb_log {
    int verbosity;
    FILE *out;
} vb_log;

int vb_log_enabled(const vb_log *lg, int level);
void vb_log_msg(const vb_log *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *vb_level_name(int level);
int vb_level_parse(const char *name);

#endif
