/*
 * fuzz_state.c - the bridge's state file, <datadir>/<host>.json, which it
 * reads at every start and which anything may have left behind.
 */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "cmd/state_file.h"

typedef struct target {
    vb_app app;
    vb_lua *lua;
} target;

/* libFuzzer's entry points take no context argument: the set-up made once lives here. */
static target *T;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    vb_err err;
    if (!(T = calloc(1, sizeof *T)) || fuzz_app_init(&T->app, &err) ||
        !(T->lua = vb_lua_new(&T->app, &err))) {
        fprintf(stderr, "fuzz_state: %s\n", T ? err.msg : "out of memory");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = vb_lua_state(T->lua);
    vb_state_file st;
    vb_err err;
    if (vb_state_parse(T->lua, (const char *)data, size, &st, &err) == 0) {
        if (st.last_snap && st.last_snap_bad)
            __builtin_trap();
        vb_state_file_free(&st);
    }
    if (lua_gettop(L) != 0)
        __builtin_trap();
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
