/*
 * snapshot.h - a snapshot's JSON decoded straight into the pipeline's point
 * columns, in C. A generic decoder (lua-cjson) builds a table per point and
 * costs more than the whole CPU budget of a snapshot; this one writes only
 * the four columns and validates as it goes.
 *
 * Layer host (docs/architecture.md): includes core/, db/ and host/.
 */
#ifndef VB_SNAPSHOT_H
#define VB_SNAPSHOT_H

#include <lua.h>

/*
 * Lua: flatten(text, points, only [, now]) -> counts, newest | nil, why.
 * Appends (station, param, int(recvTime), value) for every data entry of
 * every station except `vexfiles` (and `bridge`, which would forge the
 * bridge's own metrics) to points.station/param/time/value, growing
 * points.n. `only` is nil or a set of station names to keep. Points whose
 * name is not an SQL identifier, whose time is not a finite number, or whose
 * value is not a finite number, string or boolean are dropped, one warning per kind;
 * so are points from before 1970, string values over 64 KiB, entries that are
 * not arrays, and stations whose data is missing or not an object. Points
 * more than an hour ahead of `now` and strings that are not UTF-8 are kept
 * as sent, with a warning (docs/reliability.md, "Bad input").
 * counts lists the stations with points, in order, and maps each to its
 * number of points; newest is the newest point time (nil with no points).
 * Integral numbers come back as Lua integers.
 */
int vb_snapshot_flatten(lua_State *L);

#endif
