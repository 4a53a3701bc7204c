/*
 * session.h - reading vlbimon's answer to POST /session, {"id": "<id>"}, with
 * lua-cjson in the run's Lua state (the project's one JSON parser). The
 * bridge opens sessions with it; doctor checks that the server hands one out.
 *
 * Layer net (docs/architecture.md): includes core/, host/ (the JSON decoder) and net/.
 */
#ifndef VB_SESSION_H
#define VB_SESSION_H

#include <stddef.h>

#include "host/lua_host.h"
#include "core/util.h"

/* *id = the answer's non-empty string "id" (caller frees); -1 with why otherwise. */
int vb_session_id(vb_lua *lua, const char *body, size_t len, char **id, vb_err *err);

#endif
