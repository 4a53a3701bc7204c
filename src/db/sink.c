/*
 * sink.c - see sink.h: which implementation serves a target.
 */
#include "db/sink.h"

vb_sink *vb_sink_open(const vb_sink_target *t, const vb_sink_opts *o, vb_err *err)
{
    if (!t->sqlitedb == !t->postgres) {
        vb_fail(err, t->sqlitedb ? "two databases given" : "no database given");
        return NULL;
    }
    return t->postgres ? vb_sink_pg_open(t->postgres, o, err)
                       : vb_sink_sqlite_open(t->sqlitedb, o, err);
}

void vb_sink_close(vb_sink *s)
{
    if (s)
        s->ops->close(s);
}
