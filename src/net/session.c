/*
 * session.c - see session.h.
 */
#include "net/session.h"

#include <lauxlib.h>

int vb_session_id(vb_lua *lua, const char *body, size_t len, char **id, vb_err *err)
{
    lua_State *L = vb_lua_state(lua);
    int top = lua_gettop(L);
    *id = NULL;
    if (vb_lua_json_decode(lua, body, len, err) == 0 && lua_istable(L, -1) &&
        lua_getfield(L, -1, "id") == LUA_TSTRING && lua_rawlen(L, -1) > 0 &&
        !(*id = vb_strdup(lua_tostring(L, -1))))
        vb_fail(err, "out of memory");
    else if (!*id)
        vb_fail(err, "the answer has no session id");
    lua_settop(L, top);
    return *id ? 0 : -1;
}
