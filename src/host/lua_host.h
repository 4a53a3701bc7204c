/*
 * lua_host.h - the embedded Lua 5.4 runtime: one state per run, the
 * standard library cut to an allow-list, a sandbox (an environment of its
 * own) for every script and transformer, the project's lua/ modules and
 * lua-cjson, and the registered `vlbimon` module (logging, clock,
 * masterlist, schema SQL, SQLite database handles). Lua errors come back as
 * messages with file:line; they never abort the process.
 *
 * Layer host (docs/architecture.md): includes core/, db/ and host/.
 */
#ifndef VB_LUA_HOST_H
#define VB_LUA_HOST_H

#include <lua.h>
#include "core/app.h"
#include "core/util.h"

typedef struct vb_lua vb_lua;

vb_lua *vb_lua_new(vb_app *app, vb_err *err);
void vb_lua_free(vb_lua *lua);
lua_State *vb_lua_state(vb_lua *lua);
vb_app *vb_lua_app(lua_State *L);

/*
 * Calls the function below nargs arguments on the stack with a traceback
 * handler; on error pops everything it pushed and fills err with
 * "file:line: message".
 */
int vb_lua_pcall(vb_lua *lua, int nargs, int nresults, vb_err *err);

/*
 * Like vb_lua_pcall, but aborts the call with an error once it has run
 * `limit` VM instructions (0: no limit), so a runaway script cannot hang the
 * host.
 */
int vb_lua_pcall_limited(vb_lua *lua, int nargs, int nresults, long limit, vb_err *err);

/* The host's own require(name) (not a sandbox's), leaving the module on the stack. */
int vb_lua_require(vb_lua *lua, const char *name, vb_err *err);

/*
 * Decodes JSON text with cjson.safe's decode, as it was when the state was
 * made (Lua code that replaces the module later cannot reach the host's
 * decoding), and pushes the value, or nil when the text is not JSON.
 */
int vb_lua_json_decode(vb_lua *lua, const char *text, size_t len, vb_err *err);

/*
 * Lets Lua code in this state create, change and remove files under dir
 * (an existing directory, resolved now, symlinks and all). A new state may
 * write nowhere: transformers never get a directory.
 */
int vb_lua_allow_writes(vb_lua *lua, const char *dir, vb_err *err);

/* The host of a Lua state, for C functions that Lua calls. */
vb_lua *vb_lua_host(lua_State *L);

/* Whether Lua code of this host may write path (resolved as the write would resolve it). */
int vb_lua_may_write(const vb_lua *lua, const char *path);

/* Raises a Lua error naming path and the rule unless Lua code may write it. */
void vb_lua_check_write(lua_State *L, const char *path);

/*
 * Runs a script file in a sandbox of its own with `arg` / `...` set to args,
 * as `vlbimon_bridge run` does; its require also finds its neighbours. The
 * script may also write where docs/transformers.md, "The Lua sandbox", says:
 * the current directory, --datadir, os.tmpname's directory, and where its
 * arguments point.
 */
int vb_lua_run_script(vb_lua *lua, const char *path, int nargs, char **args, vb_err *err);

#endif
