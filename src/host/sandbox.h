/*
 * sandbox.h - the Lua sandbox: the allow-list of globals and library
 * functions (data, in sandbox.c), the state's standard library cut down to
 * it, and sandboxes: environments of their own for scripts and transformers,
 * built from it, with read-only views of the libraries and a require that
 * reaches only the project's modules (lua/, and the C modules the host
 * preloads), giving each sandbox its own instance of them.
 *
 * Layer host (docs/architecture.md): includes core/, db/ and host/.
 */
#ifndef VB_SANDBOX_H
#define VB_SANDBOX_H

#include <lua.h>

/*
 * After luaL_openlibs, under pcall: removes from the global table and the
 * libraries whatever the allow-list does not name, puts the host's versions
 * in place, locks the string and file metatables (getmetatable returns
 * false for them) and prepares the read-only views. The global table stays
 * the host's own environment, where lua/vlbimon/ modules run.
 */
void vb_sandbox_setup(lua_State *L);

/*
 * Pushes a new sandbox, whose require also finds the Lua files in dir (a
 * script's neighbours; NULL: none). Raises on a memory error.
 */
void vb_sandbox_push(lua_State *L, const char *dir);

/*
 * Loads a text file (binary chunks refused) and pushes its chunk with the
 * table at env as its _ENV; -1 with the error message pushed instead.
 */
int vb_sandbox_loadfile(lua_State *L, const char *path, int env);

#endif
