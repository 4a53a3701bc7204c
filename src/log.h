/*
 * log.h - the run's logger. It is a value passed to whoever logs, not a
 * global, so tests and the Lua host can each hold their own.
 *
 * Lines go to stderr as "<UTC time> <level>: <message>". Errors and warnings
 * are always shown; info needs -v, debug needs -v -v.
 */
#ifndef VB_LOG_H
#define VB_LOG_H

#include <stdio.h>

enum vb_level { VB_ERROR = -2, VB_WARN = -1, VB_INFO = 1, VB_DEBUG = 2 };

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
