/*
 * lua_db.h - database handles for Lua: vlbimon.open(path, opts) and the
 * methods exec, rows, first, tables, columns, transaction, backup,
 * checkpoint, path, close; with {postgres = true} a PostgreSQL database,
 * with the same methods but backup and checkpoint. Values are always bound,
 * never formatted into SQL.
 *
 * Layer host (docs/architecture.md): includes core/, db/ and host/.
 */
#ifndef VB_LUA_DB_H
#define VB_LUA_DB_H

#include <lua.h>
#include <sqlite3.h>

/* vlbimon.open(path [, {readonly=, create=}]) */
int vb_lua_db_open(lua_State *L);

/* Wraps a connection the host owns; the Lua object never closes it. */
void vb_lua_db_push(lua_State *L, sqlite3 *db);

/*
 * Binds Lua values idx..idx+n-1 to stmt parameters 1..n. On a bad count or
 * type returns -1 with a message pushed, leaving the caller to finalize.
 */
int vb_lua_db_bind(lua_State *L, sqlite3_stmt *stmt, int idx, int n);

#endif
