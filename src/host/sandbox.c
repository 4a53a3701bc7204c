/*
 * sandbox.c - see sandbox.h.
 *
 * Follows Redis's scripting model, with the allow-list held as data
 * (ALLOWED): what it does not name, which is everything that reaches
 * outside the process or the VM (os.execute, os.exit, io.popen, native
 * modules, debug, binary chunks, and os.setlocale, which would change how
 * the host itself reads numbers), does not exist in the state. The host's
 * own modules (lua/vlbimon/) run in the state's global table; every script
 * and transformer gets a sandbox instead: a table of its own holding the
 * allowed globals, the libraries as read-only views, and a require that
 * loads its own instance of each module. So one transformer can neither
 * see another's globals nor change a library function or a module for
 * another. What every sandbox shares is locked: the string metatable (its
 * __index is the string library) and the file metatable, which getmetatable
 * does not return. setmetatable refuses __gc: a finalizer runs whenever the
 * collector gets to it, outside every limit.
 */
#include "host/sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include "host/lua_host.h"

/* Registry keys: addresses of constants, never written. */
static const char LOAD_KEY = 'l';     /* Lua's own load, behind every text-only one */
static const char READONLY_KEY = 'r'; /* library name -> the metatable of its read-only views */

/*
 * The allow-list: every global and library function Lua code in this host
 * can reach. What is not listed does not exist for it. Some of the listed
 * ones are the host's versions: load, loadfile and dofile (text only, in
 * their sandbox), collectgarbage (without the options that change the
 * collector for everyone), setmetatable (without __gc), require (the
 * project's modules only), and the functions that write files (checked by
 * lua_host.c). A sandbox also gets `package` with its own `loaded` and
 * `preload`.
 */
static const struct allowed {
    const char *table; /* "_G": the base library's globals */
    const char *names; /* separated by spaces */
} ALLOWED[] = {
    {"_G", "_G _VERSION assert collectgarbage dofile error getmetatable ipairs load loadfile next "
           "pairs pcall print rawequal rawget rawlen rawset require select setmetatable tonumber "
           "tostring type xpcall"},
    {"coroutine", "close create isyieldable resume running status wrap yield"},
    {"io", "close input lines open output read stderr stdin stdout type write"},
    {"math", "abs acos asin atan ceil cos deg exp floor fmod huge log max maxinteger min "
             "mininteger modf pi rad random randomseed sin sqrt tan tointeger type ult"},
    {"os", "clock date difftime getenv remove rename time tmpname"},
    {"string", "byte char dump find format gmatch gsub len lower match pack packsize rep "
               "reverse sub unpack upper"},
    {"table", "concat insert move pack remove sort unpack"},
    {"utf8", "char charpattern codepoint codes len offset"},
};

/*
 * The host keeps `package` for its own require, with only what that needs:
 * no loadlib, no cpath, no C searchers, and in package.loaded only what the
 * allow-list allows.
 */
static const char HOST_PACKAGE[] = "config loaded path preload searchers searchpath";

/*
 * load, loadfile and dofile for text chunks only (bytecode can crash the VM),
 * in the environment they belong to (upvalue 1) unless given another one, as
 * the standard ones use the global table.
 */
static int l_load(lua_State *L)
{
    int env = !lua_isnone(L, 4);
    lua_settop(L, 4);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &LOAD_KEY);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "t");
    lua_pushvalue(L, env ? 4 : lua_upvalueindex(1));
    lua_call(L, 4, LUA_MULTRET);
    return lua_gettop(L) - 4;
}

int vb_sandbox_loadfile(lua_State *L, const char *path, int env)
{
    env = lua_absindex(L, env);
    if (luaL_loadfilex(L, path, "t") != LUA_OK)
        return -1;
    lua_pushvalue(L, env);
    if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);
    return 0;
}

static int l_loadfile(lua_State *L)
{
    const char *path = luaL_optstring(L, 1, NULL);
    if (vb_sandbox_loadfile(L, path, lua_isnone(L, 3) ? lua_upvalueindex(1) : 3)) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

static int l_dofile(lua_State *L)
{
    const char *path = luaL_optstring(L, 1, NULL);
    lua_settop(L, 1);
    if (vb_sandbox_loadfile(L, path, lua_upvalueindex(1)))
        return lua_error(L);
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

/* collectgarbage without the options that change the collector for everyone in the state. */
static int l_collectgarbage(lua_State *L)
{
    static const char *const opts[] = {"collect", "count", "step", "isrunning", NULL};
    luaL_checkoption(L, 1, "collect", opts);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/*
 * setmetatable without __gc: a finalizer runs whenever the collector gets to
 * it, in whatever code allocates then, with no instruction limit (hooks are
 * off in finalizers). A __gc added to the metatable later is never called.
 */
static int l_setmetatable(lua_State *L)
{
    lua_pushliteral(L, "__gc");
    if (lua_type(L, 2) == LUA_TTABLE && lua_rawget(L, 2) != LUA_TNIL)
        return luaL_error(L, "setmetatable: __gc is not allowed (a finalizer would run outside "
                             "the sandbox's limits)");
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

/* Whether word is one of the words of list (separated by spaces). */
static int listed(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; n && (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
            return 1;
    return 0;
}

/* Whether the global table may hold name: a listed global, a listed library, the host's package. */
static int global_allowed(const char *name)
{
    for (size_t i = 0; i < VB_COUNT(ALLOWED); i++)
        if (i ? strcmp(ALLOWED[i].table, name) == 0 : listed(ALLOWED[0].names, name))
            return 1;
    return strcmp(name, "package") == 0;
}

/* Removes every field of the table on top of the stack that is not allowed. */
static void trim(lua_State *L, const char *names)
{
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (!k || !(names ? listed(names, k) : global_allowed(k))) {
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, -4);
        }
    }
}

/* Replaces the global function name with C function fn, which gets the original as upvalue 1. */
static void wrap_global(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_getglobal(L, name);
    lua_pushcclosure(L, fn, 1);
    lua_setglobal(L, name);
}

/* Sets _G, load, loadfile and dofile of the environment on top of the stack to its own. */
static void bind_loaders(lua_State *L)
{
    static const luaL_Reg loaders[] = {
        {"load", l_load}, {"loadfile", l_loadfile}, {"dofile", l_dofile}, {NULL, NULL}};
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
    lua_pushvalue(L, -1);
    luaL_setfuncs(L, loaders, 1);
}

static int readonly_newindex(lua_State *L)
{
    return luaL_error(L, "cannot change %s.%s: the standard library is read-only",
                      lua_tostring(L, lua_upvalueindex(1)),
                      lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
}

/* pairs() over a read-only view walks the library (upvalue 2) with next (upvalue 1). */
static int readonly_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushnil(L);
    return 3;
}

/*
 * The metatable of each library's read-only views, in the registry: reads
 * go to the library, writes raise, getmetatable says false. Every sandbox
 * gets views of its own, so even rawset on one changes nothing for another.
 */
static void make_readonly_views(lua_State *L)
{
    lua_createtable(L, 0, (int)VB_COUNT(ALLOWED));
    for (size_t i = 1; i < VB_COUNT(ALLOWED); i++) {
        lua_getglobal(L, ALLOWED[i].table);
        lua_createtable(L, 0, 4);
        lua_pushvalue(L, -2);
        lua_setfield(L, -2, "__index");
        lua_pushstring(L, ALLOWED[i].table);
        lua_pushcclosure(L, readonly_newindex, 1);
        lua_setfield(L, -2, "__newindex");
        lua_getglobal(L, "next");
        lua_pushvalue(L, -3);
        lua_pushcclosure(L, readonly_pairs, 2);
        lua_setfield(L, -2, "__pairs");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_setfield(L, -3, ALLOWED[i].table);
        lua_pop(L, 1);
    }
    lua_rawsetp(L, LUA_REGISTRYINDEX, &READONLY_KEY);
}

/*
 * Every sandbox shares the metatables of strings and files: getmetatable
 * returns false for them, so that `getmetatable("").__index` cannot reach
 * the string library (or the file methods) behind the read-only views.
 */
static void lock_metatable(lua_State *L)
{
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

void vb_sandbox_setup(lua_State *L)
{
    for (size_t i = 1; i < VB_COUNT(ALLOWED); i++) {
        lua_getglobal(L, ALLOWED[i].table);
        trim(L, ALLOWED[i].names);
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L);
    trim(L, NULL);
    lua_getglobal(L, "package");
    trim(L, HOST_PACKAGE);
    lua_getfield(L, -1, "searchers");
    lua_pushnil(L);
    lua_rawseti(L, -2, 4);
    lua_pushnil(L);
    lua_rawseti(L, -2, 3);
    lua_getfield(L, -2, "loaded");
    trim(L, NULL);
    lua_pop(L, 3);
    lua_getglobal(L, "load");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &LOAD_KEY);
    bind_loaders(L);
    lua_pop(L, 1);
    wrap_global(L, "collectgarbage", l_collectgarbage);
    wrap_global(L, "setmetatable", l_setmetatable);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lock_metatable(L);
    lua_pop(L, 1);
    luaL_getmetatable(L, LUA_FILEHANDLE);
    lock_metatable(L);
    make_readonly_views(L);
}

/* Module names are dotted identifiers: no path of a file outside lua/ can pass for one. */
static int module_name(const char *name)
{
    for (const char *p = name;; p++) {
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (!n)
            return 0;
        p += n;
        if (!*p)
            return 1;
        if (*p != '.')
            return 0;
    }
}

/*
 * Pushes the loader of module name and its second argument, or nothing:
 * the sandbox's own preload, the host's C modules, then the Lua files of
 * the script's directory (upvalue 4) and of lua/, loaded into the sandbox.
 */
static int find_module(lua_State *L, const char *name)
{
    if (lua_getfield(L, lua_upvalueindex(2), name) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
        lua_getfield(L, -1, name);
        lua_remove(L, -2);
    }
    if (lua_type(L, -1) == LUA_TFUNCTION) {
        lua_pushliteral(L, ":preload:");
        return 1;
    }
    lua_pop(L, 1);
    if (!module_name(name))
        return 0;
    luaL_gsub(L, name, ".", "/");
    const char *rel = lua_tostring(L, -1);
    const char *root = vb_lua_app(L)->root;
    const char *dir = lua_tostring(L, lua_upvalueindex(4));
    for (int i = dir ? 0 : 1; i < 3; i++) {
        const char *path = i == 0   ? lua_pushfstring(L, "%s/%s.lua", dir, rel)
                           : i == 1 ? lua_pushfstring(L, "%s/lua/%s.lua", root, rel)
                                    : lua_pushfstring(L, "%s/lua/%s/init.lua", root, rel);
        if (vb_file_exists(path)) {
            if (vb_sandbox_loadfile(L, path, lua_upvalueindex(3)))
                lua_error(L);
            lua_insert(L, -2);
            lua_remove(L, -3);
            return 1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

/*
 * A sandbox's require: upvalues its loaded and preload tables, the sandbox,
 * and the script's directory (or nil). Each sandbox loads its own instance
 * of a module, so what one does to a module changes nothing for another.
 */
static int l_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    if (lua_getfield(L, lua_upvalueindex(1), name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    if (!find_module(L, name))
        return luaL_error(L,
                          "module '%s' not found: only the project's modules (vlbimon, "
                          "vlbimon.*, cjson, cjson.safe)%s can be required",
                          name,
                          lua_isnil(L, lua_upvalueindex(4)) ? "" : " and the script's neighbours");
    lua_pushvalue(L, 1);
    lua_insert(L, -2);
    lua_pushvalue(L, -1);
    lua_insert(L, -4); /* name data loader name data */
    lua_call(L, 2, 1);
    if (!lua_isnil(L, -1))
        lua_setfield(L, lua_upvalueindex(1), name);
    else
        lua_pop(L, 1);
    if (lua_getfield(L, lua_upvalueindex(1), name) == LUA_TNIL) {
        lua_pushboolean(L, 1);
        lua_copy(L, -1, -2);
        lua_setfield(L, lua_upvalueindex(1), name);
    }
    lua_insert(L, -2);
    return 2;
}

void vb_sandbox_push(lua_State *L, const char *dir)
{
    lua_createtable(L, 0, 40);
    lua_pushglobaltable(L);
    for (const char *p = ALLOWED[0].names; *p; p += strspn(p, " ")) {
        size_t n = strcspn(p, " ");
        lua_pushlstring(L, p, n);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        lua_rawset(L, -4);
        p += n;
    }
    lua_pop(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &READONLY_KEY);
    for (size_t i = 1; i < VB_COUNT(ALLOWED); i++) {
        lua_newtable(L);
        lua_getfield(L, -2, ALLOWED[i].table);
        lua_setmetatable(L, -2);
        lua_setfield(L, -3, ALLOWED[i].table);
    }
    lua_pop(L, 1);
    bind_loaders(L);
    lua_createtable(L, 0, 2);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "loaded");
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -4, "preload");
    lua_pushvalue(L, -4);
    if (dir)
        lua_pushstring(L, dir);
    else
        lua_pushnil(L);
    lua_pushcclosure(L, l_require, 4);
    lua_setfield(L, -3, "require");
    lua_setfield(L, -2, "package");
}
