/*
 * pipeline.h - the transformer pipeline, driven from C: snapshot JSON (or
 * points read from history files) in, the rows to store out, as a result of
 * C values (db/result.h) that a sink stores. The work happens in
 * lua/vlbimon/pipeline.lua and the transformer files in transformers/; this
 * side loads them, watches them for hot reload, and runs each transformer
 * under an instruction limit.
 *
 * Layer host (docs/architecture.md): includes core/, db/ and host/.
 */
#ifndef VB_PIPELINE_H
#define VB_PIPELINE_H

#include <stddef.h>

#include "core/util.h"
#include "core/value.h"
#include "db/result.h"
#include "db/sink.h"
#include "host/lua_host.h"

typedef struct vb_pipeline vb_pipeline;

/* A transformer call (or a transformer file's top level) may run this many VM instructions. */
#define VB_TRANSFORM_INSTRUCTIONS 10000000

/*
 * Loads lua/vlbimon/pipeline.lua and every transformers_dir/ *.lua in name
 * order; a transformer that fails to load is an error naming the file.
 */
vb_pipeline *vb_pipeline_new(vb_lua *lua, const char *transformers_dir, vb_err *err);
void vb_pipeline_free(vb_pipeline *p);

/*
 * Restores station status from the sink's bridge_stationStatus (unknown
 * stations and bad recording strings are ignored, with a log line).
 */
int vb_pipeline_restore_status(vb_pipeline *p, vb_sink *s, vb_err *err);

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
 * The series some transformer declares it adds rows to (produces in
 * docs/transformers.md, "The contract"), sorted, in *names (free with
 * vb_pipeline_names_free).
 */
int vb_pipeline_produces(vb_pipeline *p, char ***names, size_t *n, vb_err *err);
void vb_pipeline_names_free(char **names, size_t n);

/*
 * Every transformer's ctx.state as text (*text, caller frees): plain data
 * only, as lua/vlbimon/state.lua says; a state that cannot be saved is left
 * out with a warning.
 */
int vb_pipeline_save_state(vb_pipeline *p, char **text, vb_err *err);

/*
 * Loads the transformers again with the states of text (from
 * vb_pipeline_save_state) instead of their own; one that text lacks starts
 * afresh.
 */
int vb_pipeline_restore_state(vb_pipeline *p, const char *text, vb_err *err);

/*
 * One snapshot: JSON text -> decode -> flatten -> bridge metrics ->
 * transformers -> *out. now is the wall clock, fetch_seconds how long the
 * fetch took (bridge_bridgeLag). Returns -1 when the JSON is not a snapshot
 * at all (or the pipeline itself fails). The result is the pipeline's: it
 * stays valid, and must be stored, before the pipeline runs again.
 */
int vb_pipeline_run_json(vb_pipeline *p, const char *json, size_t len, double now,
                         double fetch_seconds, const vb_result **out, vb_err *err);

/*
 * A point read from a history file, queued for vb_pipeline_run_points; t in
 * unix seconds (a fraction is cut off, as live). Station and param are
 * copied.
 */
int vb_pipeline_add_point(vb_pipeline *p, const char *station, const char *param, double t,
                          const vb_value *v, vb_err *err);

/* How many points are queued. */
size_t vb_pipeline_queued(const vb_pipeline *p);

/*
 * The same as vb_pipeline_run_json for the queued points, which it takes:
 * no bridge metrics, since nothing was fetched.
 */
int vb_pipeline_run_points(vb_pipeline *p, double now, const vb_result **out, vb_err *err);

#endif
