/*
 * log.c - see log.h.
 */
#include "core/log.h"

#include <stdarg.h>
#include <string.h>

#include "core/util.h"

int vb_log_enabled(const vb_log *lg, int level)
{
    return level <= lg->verbosity;
}

const char *vb_level_name(int level)
{
    switch (level) {
    case VB_ERROR:
        return "error";
    case VB_WARN:
        return "warning";
    case VB_NOTICE:
        return "notice";
    case VB_INFO:
        return "info";
    default:
        return "debug";
    }
}

int vb_level_parse(const char *name)
{
    static const struct {
        const char *name;
        int level;
    } names[] = {{"error", VB_ERROR},   {"warn", VB_WARN}, {"warning", VB_WARN},
                 {"notice", VB_NOTICE}, {"info", VB_INFO}, {"debug", VB_DEBUG}};
    for (size_t i = 0; i < VB_COUNT(names); i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].level;
    return VB_LEVEL_UNKNOWN;
}

void vb_log_msg(const vb_log *lg, int level, const char *fmt, ...)
{
    if (!vb_log_enabled(lg, level))
        return;
    char ts[32];
    vb_iso8601(vb_now(), ts);
    FILE *out = lg->out ? lg->out : stderr;
    /* One fprintf per line keeps lines whole when several processes share a log. */
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(out, "%s %s: %s\n", ts, vb_level_name(level), msg);
    fflush(out);
}
