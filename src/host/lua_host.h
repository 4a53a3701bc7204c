/*
 * lua_host.h - the embedded Lua 5.4 runtime: one state per run with a
 * memory cap, the standard library cut to an allow-list, a sandbox (an
 * environment of its own) for every script and transformer, the project's
 * lua/ modules and lua-cjson, and the registered `vlbimon` module (logging,
 * clock, masterlist, schema SQL, SQLite database handles). Lua errors,
 * running out of memory included, come back as messages; they never abort
 * the process.
 *
 * Layer host (docs/architecture.md): includes core/, db/ and host/.
 */
#ifndef VB_LUA_HOST_H
#define VB_LUA_HOST_H

#include <lua.h>
#include "core/app.h"
#include "core/util.h"

typedef struct vb_lua vb_lua;

/*
 * --lua-memory: the most a run's Lua state may hold, in MiB, by default and
 * at least. The pipeline on a full snapshot peaks at about 4.5 MiB
 * (docs/performance.md); transformers may bring the state to 3/4 of the cap,
 * the rest is kept for the host's own work.
 */
#define VB_LUA_MEMORY_DEFAULT 64
#define VB_LUA_MEMORY_MIN 16

/* A state capped at app->lua_memory MiB (0: VB_LUA_MEMORY_DEFAULT). */
vb_lua *vb_lua_new(vb_app *app, vb_err *err);
void vb_lua_free(vb_lua *lua);
lua_State *vb_lua_state(vb_lua *lua);
/* The bytes the state holds now (what --lua-memory caps). */
size_t vb_lua_memory(const vb_lua *lua);
vb_app *vb_lua_app(lua_State *L);

/*
 * Calls the function below nargs arguments on the stack with a traceback
 * handler; on error pops everything it pushed and fills err with
 * "file:line: message". Only protected calls are held to the memory cap: the
 * host's own pushes outside them cannot fail where nothing would catch it.
 */
int vb_lua_pcall(vb_lua *lua, int nargs, int nresults, vb_err *err);

/*
 * lua_pcall for code the host does not trust (a transformer): it may bring
 * the state's memory only to 3/4 of the cap, and after it ran out a full
 * collection gives back what it left. Returns lua_pcall's status with the
 * error on the stack; a memory error's message names the limit.
 */
int vb_lua_pcall_untrusted(lua_State *L, int nargs, int nresults);

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

/*
 * Whether Lua code of this host may connect to a database server: what may
 * write files (a script) may; a transformer, which may write nowhere, may not.
 */
int vb_lua_may_connect(const vb_lua *lua);

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
