/*
 * state_file.c - see state_file.h.
 */
#include "cmd/state_file.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist/histfiles.h"

/* A string field without NULs (which a C string would silently cut), copied; else NULL. */
static char *string_field(lua_State *L, int t)
{
    size_t len;
    const char *s = t == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    return s && !memchr(s, '\0', len) ? vb_strdup(s) : NULL;
}

int vb_state_parse(vb_lua *lua, const char *text, size_t len, vb_state_file *out, vb_err *err)
{
    memset(out, 0, sizeof *out);
    lua_State *L = vb_lua_state(lua);
    /* The one JSON decoder: cjson.safe, through the helper history's files use too. */
    vb_hist_json(lua, text, len);
    if (!lua_istable(L, -1) || lua_rawlen(L, -1) > 0) {
        lua_pop(L, 1);
        return vb_fail(err, "not a JSON object");
    }
    int t = lua_getfield(L, -1, "last_snap");
    if (t == LUA_TNUMBER && isfinite(lua_tonumber(L, -1))) {
        char num[64];
        snprintf(num, sizeof num, "%.17g", lua_tonumber(L, -1));
        out->last_snap = vb_strdup(num);
    } else {
        out->last_snap = string_field(L, t);
    }
    out->last_snap_bad = t != LUA_TNIL && !out->last_snap;
    lua_pop(L, 1);
    out->sessionid = string_field(L, lua_getfield(L, -1, "sessionid"));
    lua_pop(L, 2);
    return 0;
}

void vb_state_file_free(vb_state_file *s)
{
    free(s->last_snap);
    free(s->sessionid);
    memset(s, 0, sizeof *s);
}
