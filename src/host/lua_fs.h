/*
 * lua_fs.h - the `vlbimon.fs` Lua module: the little file-system access Lua's
 * standard library lacks and the migration runner needs (listing a
 * directory), without reopening the sandbox's shell escapes.
 *
 * Layer host (docs/architecture.md): includes core/, db/ and host/.
 */
#ifndef VB_LUA_FS_H
#define VB_LUA_FS_H

#include <lua.h>

/* Registers package.preload["vlbimon.fs"]; fs.dir(path) returns the sorted entry names. */
void vb_lua_fs_preload(lua_State *L);

#endif
