/*
 * state_file.h - the original bridge's state file, <datadir>/<host>.json:
 * {"last_snap": <the snapshot cursor>, "sessionid": <the session id>}. The
 * bridge still writes it for the original's tools and reads it at start-up
 * as its last choice of cursor; anything may have been left in it, so it
 * is decoded here (with cjson.safe, the project's one JSON parser) into
 * plain values and nothing else.
 *
 * Layer cmd (docs/architecture.md): may include every layer.
 */
#ifndef VB_STATE_FILE_H
#define VB_STATE_FILE_H

#include <stddef.h>

#include "host/lua_host.h"
#include "core/util.h"

typedef struct vb_state_file {
    char *last_snap;   /* a string as written, a finite number as %.17g; NULL when absent or bad */
    int last_snap_bad; /* present, but not a string without NULs nor a finite number */
    char *sessionid;   /* a string without NULs; NULL otherwise */
} vb_state_file;

/*
 * Decodes the file's text with lua's cjson.safe: 0 with out filled, or -1
 * with why when the text is not a JSON object (out then holds nothing to
 * free). Whether the strings are fit for a Cookie header is the caller's
 * rule, not the file's.
 */
int vb_state_parse(vb_lua *lua, const char *text, size_t len, vb_state_file *out, vb_err *err);
void vb_state_file_free(vb_state_file *s);

#endif
