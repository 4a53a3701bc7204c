/*
 * pipeline.h - the transformer pipeline, driven from C: snapshot JSON (or
 * already-flattened points) in, the rows to store out, as one Lua table on
 * the stack whose shape store.h documents. The work happens in
 * lua/vlbimon/pipeline.lua and the transformer files in transformers/; this
 * side loads them, watches them for hot reload, and runs each transformer
 * under an instruction limit.
 *
 * Layer host (docs/architecture.md): includes core/, db/ and host/.
 */
#ifndef VB_PIPELINE_H
#define VB_PIPELINE_H

#include <sqlite3.h>
#include <stddef.h>

#include "host/lua_host.h"
#include "core/util.h"

typedef struct vb_pipeline vb_pipeline;

/* A transformer call (or a transformer file's top level) may run this many VM instructions. */
#define VB_TRANSFORM_INSTRUCTIONS 10000000

/*
 * Loads lua/vlbimon/pipeline.lua and every transformers_dir/ *.lua in name
 * order; a transformer that fails to load is an error naming the file.
 */
vb_pipeline *vb_pipeline_new(vb_lua *lua, const char *transformers_dir, vb_err *err);
void vb_pipeline_free(vb_pipeline *p);

/* Restores station status from bridge_stationStatus (unknown stations, bad recording strings
 * ignored). */
int vb_pipeline_restore_status(vb_pipeline *p, sqlite3 *db, vb_err *err);

/*
 * Reloads the transformers; on failure keeps the old set and returns -1 with
 * why. Per-transformer state survives when its name is unchanged. The files
 * are remembered even when loading fails, so vb_pipeline_changed reports a
 * broken set once, not on every call.
 */
int vb_pipeline_reload(vb_pipeline *p, vb_err *err);

/* True when a file in transformers_dir changed since the last (re)load (names, mtime, size). */
int vb_pipeline_changed(vb_pipeline *p);

/*
 * Whether some transformer must see the points of param (see wants in
 * docs/transformers.md, "The contract"): 1 or 0, -1 when the pipeline itself fails.
 */
int vb_pipeline_wants(vb_pipeline *p, const char *param, vb_err *err);

/*
 * One snapshot: JSON text -> decode -> flatten -> bridge metrics ->
 * transformers -> the result table pushed on the Lua stack. now is the wall
 * clock, fetch_seconds how long the fetch took (bridge_bridgeLag). Returns -1,
 * pushing nothing, when the JSON is not a snapshot at all (or the pipeline
 * itself fails).
 */
int vb_pipeline_run_json(vb_pipeline *p, const char *json, size_t len, double now,
                         double fetch_seconds, vb_err *err);

/*
 * The same for already-flattened points (history insert): the caller has
 * pushed an array of {station, param, time, value}; it is popped and the
 * result pushed. No bridge metrics: nothing was fetched.
 */
int vb_pipeline_run_points(vb_pipeline *p, double now, vb_err *err);

/*
 * The rows of the result on top of the stack as {station, param, time,
 * value} arrays, sorted by table, time, station and value (what `transform`
 * prints), pushed as one array after it.
 */
int vb_pipeline_sorted_rows(vb_pipeline *p, vb_err *err);

#endif
