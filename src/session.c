/*
 * session.c - see session.h.
 */
#include "session.h"

#include <lauxlib.h>

int vb_session_id(vb_lua *L, const char *body, size_t len, char **id, vb_err *err)
{
    lua_State *S = vb_lua_state(L);
    int top = lua_gettop(S);
    *id = NULL;
    if (vb_lua_json_decode(L, body, len, err) == 0 && lua_istable(S, -1) &&
        lua_getfield(S, -1, "id") == LUA_TSTRING && lua_rawlen(S, -1) > 0 &&
        !(*id = vb_strdup(lua_tostring(S, -1))))
        vb_fail(err, "out of memory");
    else if (!*id)
        vb_fail(err, "the answer has no session id");
    lua_settop(S, top);
    return *id ? 0 : -1;
}
