/*
 * lua_host.c - see lua_host.h. What Lua code can reach at all, and the
 * sandboxes scripts and transformers run in, are sandbox.c's.
 *
 * Files may be read anywhere, but written only under the directories the
 * host hands a state (vb_lua_allow_writes): every way the standard library
 * and the vlbimon module create, change or remove a file checks its path
 * first (io.open for writing, io.output, os.remove, os.rename, os.tmpname,
 * vlbimon.open other than read-only, db:backup, and ATTACH / VACUUM INTO
 * in SQL). A new state may write nowhere, which is what transformers get;
 * a script gets the directories docs/transformers.md, "The Lua sandbox", lists.
 *
 * Memory: the state's allocator holds it to a cap (--lua-memory) inside
 * protected calls, 3/4 of it inside a transformer's, so that the host's own
 * work on a snapshot has room even when a transformer keeps a lot. Freeing
 * and shrinking always succeed, as Lua requires; a refused allocation makes
 * Lua collect garbage and try again before it raises a memory error.
 */
#define _DEFAULT_SOURCE /* realpath */
#include "host/lua_host.h"

#include <lauxlib.h>
#include <lua-cjson.h>
#include <limits.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/lua_db.h"
#include "host/sandbox.h"

/* Exported by liblua5.4-cjson but missing from its generated header. */
int luaopen_cjson_safe(lua_State *L);
#include "db/schema.h"

struct vb_lua {
    lua_State *L;
    vb_app *app;
    char **write_dirs; /* resolved, without a trailing slash (but "/") */
    size_t nwrite_dirs;
    size_t used;  /* bytes the state holds */
    size_t limit; /* what it may hold now: SIZE_MAX outside protected calls */
    size_t cap;   /* --lua-memory */
    int refused;  /* the last allocation that failed was refused by the limit, not by malloc */
};

/* Registry keys: addresses of constants, never written. */
static const char APP_KEY = 'a';
static const char HOST_KEY = 'h';
static const char JSON_DECODE_KEY = 'j';

/* Where os.tmpname makes its files (Lua's LUA_TMPNAMTEMPLATE). */
#define TMPNAM_DIR "/tmp"

vb_app *vb_lua_app(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &APP_KEY);
    vb_app *app = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return app;
}

static int l_log(lua_State *L)
{
    vb_app *app = vb_lua_app(L);
    const char *lv = luaL_checkstring(L, 1);
    int level = vb_level_parse(lv);
    if (level == VB_LEVEL_UNKNOWN)
        return luaL_argerror(L, 1, "level must be error, warn, notice, info or debug");
    if (!vb_log_enabled(&app->log, level))
        return 0;
    /* Counted before luaL_buffinit, which may push its box onto the stack. */
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 2; i <= n; i++) {
        if (i > 2)
            luaL_addchar(&b, ' ');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    vb_log_msg(&app->log, level, "%s", lua_tostring(L, -1));
    return 0;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, vb_now());
    return 1;
}

static int l_verbosity(lua_State *L)
{
    lua_pushinteger(L, vb_lua_app(L)->verbose);
    return 1;
}

static int l_is_identifier(lua_State *L)
{
    size_t len;
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : NULL;
    /* C stops at a NUL that Lua keeps: "ok\0; DROP" must not pass as "ok". */
    lua_pushboolean(L, s && strlen(s) == len && vb_is_identifier(s));
    return 1;
}

static int l_iso8601(lua_State *L)
{
    char buf[32];
    vb_iso8601(luaL_checknumber(L, 1), buf);
    lua_pushstring(L, buf);
    return 1;
}

static int l_parse_time(lua_State *L)
{
    double t;
    vb_err err;
    if (vb_parse_time(luaL_checkstring(L, 1), &t, &err))
        return luaL_error(L, "%s", err.msg);
    lua_pushnumber(L, t);
    return 1;
}

/* A string argument C can read whole: one with a NUL inside would reach C cut short. */
static const char *check_text(lua_State *L, int arg)
{
    size_t len;
    const char *s = luaL_checklstring(L, arg, &len);
    if (strlen(s) != len)
        luaL_argerror(L, arg, "contains a NUL byte");
    return s;
}

static int push_bytes(lua_State *L)
{
    const vb_buf *b = lua_touserdata(L, 1);
    lua_pushlstring(L, b->data, b->len);
    return 1;
}

/* Pushes b's bytes as a string and frees b, also when Lua runs out of memory on the way. */
static int push_buf(lua_State *L, vb_buf *b)
{
    lua_pushcfunction(L, push_bytes);
    lua_pushlightuserdata(L, b);
    int rc = lua_pcall(L, 1, 1, 0);
    vb_buf_free(b);
    return rc == LUA_OK ? 1 : lua_error(L);
}

static int l_series_sql(lua_State *L)
{
    const char *name = check_text(L, 1);
    const char *type = check_text(L, 2);
    vb_buf b = {0};
    vb_err err;
    if (vb_series_sql(&b, name, type, &err)) {
        vb_buf_free(&b);
        return luaL_error(L, "%s", err.msg);
    }
    return push_buf(L, &b);
}

/* {{name = "time", type = "INTEGER", notnull = true}, ...}: bridge_stationStatus's columns. */
static int l_status_columns(lua_State *L)
{
    lua_createtable(L, VB_STATUS_NCOLUMNS, 0);
    for (size_t i = 0; i < VB_STATUS_NCOLUMNS; i++) {
        const vb_column *c = &vb_status_columns[i];
        lua_createtable(L, 0, 4);
        lua_pushstring(L, c->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, vb_coltype_sql(c->type));
        lua_setfield(L, -2, "type");
        lua_pushboolean(L, c->notnull);
        lua_setfield(L, -2, "notnull");
        lua_pushboolean(L, c->key);
        lua_setfield(L, -2, "key");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static const vb_masterlist *app_masterlist(lua_State *L)
{
    vb_err err;
    const vb_masterlist *ml = vb_app_masterlist(vb_lua_app(L), &err);
    if (!ml)
        luaL_error(L, "%s", err.msg);
    return ml;
}

static int l_schema_sql(lua_State *L)
{
    const vb_masterlist *ml = app_masterlist(L);
    vb_buf b = {0};
    vb_err err;
    if (vb_schema_sql(&b, ml, &err)) {
        vb_buf_free(&b);
        return luaL_error(L, "%s", err.msg);
    }
    return push_buf(L, &b);
}

/*
 * {stations = {"ALMA", ...}, params = {name = {datatype=, sqltype=,
 * cadence = {public=, private=}, stations = {ALMA=true, ...}}}}, a new table
 * on every call, so that no caller can change it for another.
 */
static int l_masterlist(lua_State *L)
{
    const vb_masterlist *ml = app_masterlist(L);
    lua_createtable(L, 0, 2);
    lua_createtable(L, (int)ml->nstations, 0);
    for (size_t i = 0; i < ml->nstations; i++) {
        lua_pushstring(L, ml->stations[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "stations");
    lua_createtable(L, 0, (int)ml->nparams);
    for (size_t i = 0; i < ml->nparams; i++) {
        const vb_param *p = &ml->params[i];
        lua_createtable(L, 0, 5);
        lua_pushstring(L, p->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, vb_datatype_name(p->type));
        lua_setfield(L, -2, "datatype");
        if (vb_sqltype(p->type)) {
            lua_pushstring(L, vb_sqltype(p->type));
            lua_setfield(L, -2, "sqltype");
        }
        lua_createtable(L, 0, 2);
        if (p->cadence_public >= 0) {
            lua_pushinteger(L, p->cadence_public);
            lua_setfield(L, -2, "public");
        }
        if (p->cadence_private >= 0) {
            lua_pushinteger(L, p->cadence_private);
            lua_setfield(L, -2, "private");
        }
        lua_setfield(L, -2, "cadence");
        lua_createtable(L, 0, (int)ml->nstations);
        for (size_t s = 0; s < ml->nstations; s++) {
            if (p->stations & ((uint64_t)1 << s)) {
                lua_pushboolean(L, 1);
                lua_setfield(L, -2, ml->stations[s]);
            }
        }
        lua_setfield(L, -2, "stations");
        lua_setfield(L, -2, p->name);
    }
    lua_setfield(L, -2, "params");
    return 1;
}

static int l_root(lua_State *L)
{
    lua_pushstring(L, vb_lua_app(L)->root);
    return 1;
}

static int l_sandbox(lua_State *L)
{
    vb_sandbox_push(L, NULL);
    return 1;
}

static int luaopen_vlbimon(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"log", l_log},
        {"now", l_now},
        {"verbosity", l_verbosity},
        {"is_identifier", l_is_identifier},
        {"iso8601", l_iso8601},
        {"parse_time", l_parse_time},
        {"series_sql", l_series_sql},
        {"schema_sql", l_schema_sql},
        {"status_columns", l_status_columns},
        {"masterlist", l_masterlist},
        {"root", l_root},
        {"open", vb_lua_db_open},
        {"sandbox", l_sandbox},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}

vb_lua *vb_lua_host(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &HOST_KEY);
    vb_lua *h = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return h;
}

/*
 * The file path names once symlinks and ".." are resolved: the path itself
 * when it exists, else its resolved directory and its last component. NULL
 * when neither resolves (a write there would fail anyway).
 */
static char *resolve(const char *path)
{
    char buf[PATH_MAX];
    if (realpath(path, buf))
        return vb_strdup(buf);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return NULL;
    char dir[PATH_MAX];
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return NULL;
    if (!realpath(dir, buf))
        return NULL;
    vb_buf b = {0};
    if (vb_buf_printf(&b, "%s%s%s", buf, strcmp(buf, "/") ? "/" : "", base))
        return NULL;
    return b.data;
}

int vb_lua_may_write(const vb_lua *h, const char *path)
{
    if (!h || !h->nwrite_dirs || !*path)
        return 0;
    char *real = resolve(path);
    int ok = 0;
    for (size_t i = 0; real && !ok && i < h->nwrite_dirs; i++) {
        const char *d = h->write_dirs[i];
        size_t n = strlen(d);
        ok = strcmp(d, "/") == 0 || (strncmp(real, d, n) == 0 && (real[n] == '/' || !real[n]));
    }
    free(real);
    return ok;
}

int vb_lua_may_connect(const vb_lua *h)
{
    return h && h->nwrite_dirs > 0;
}

void vb_lua_check_write(lua_State *L, const char *path)
{
    vb_lua *h = vb_lua_host(L);
    if (vb_lua_may_write(h, path))
        return;
    if (!h || !h->nwrite_dirs)
        luaL_error(L, "%s: not allowed: this Lua code may not write files", path);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < h->nwrite_dirs; i++) {
        luaL_addstring(&b, i ? ", " : "");
        luaL_addstring(&b, h->write_dirs[i]);
    }
    luaL_pushresult(&b);
    luaL_error(L, "%s: not allowed: this script may write only under %s", path,
               lua_tostring(L, -1));
}

/* What each guarded function writes: which arguments are paths, and when. */
enum { GUARD_OPEN, GUARD_OUTPUT, GUARD_PATHS, GUARD_TMPNAME };

/* The original function (upvalue 1) behind a check of the paths it would write. */
static int guarded(lua_State *L)
{
    int kind = (int)lua_tointeger(L, lua_upvalueindex(2));
    int nargs = lua_gettop(L);
    if (kind == GUARD_OPEN) {
        const char *mode = luaL_optstring(L, 2, "r");
        if (strcmp(mode, "r") != 0 && strcmp(mode, "rb") != 0)
            vb_lua_check_write(L, luaL_checkstring(L, 1));
    } else if (kind == GUARD_OUTPUT && lua_type(L, 1) == LUA_TSTRING) {
        vb_lua_check_write(L, lua_tostring(L, 1));
    } else if (kind == GUARD_PATHS) {
        for (int i = 1; i <= nargs; i++)
            vb_lua_check_write(L, luaL_checkstring(L, i));
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, LUA_MULTRET);
    if (kind == GUARD_TMPNAME && lua_type(L, 1) == LUA_TSTRING &&
        !vb_lua_may_write(vb_lua_host(L), lua_tostring(L, 1))) {
        /* tmpname has made the file already: take it back before refusing. */
        unlink(lua_tostring(L, 1));
        vb_lua_check_write(L, lua_tostring(L, 1));
    }
    return lua_gettop(L);
}

static void guard(lua_State *L, const char *table, const char *field, int kind)
{
    lua_getglobal(L, table);
    lua_getfield(L, -1, field);
    lua_pushinteger(L, kind);
    lua_pushcclosure(L, guarded, 2);
    lua_setfield(L, -2, field);
    lua_pop(L, 1);
}

/* The allowed functions that write files, each behind a check of the paths it would write. */
static const struct {
    const char *table, *field;
    int kind;
} GUARDS[] = {
    {"io", "open", GUARD_OPEN},    {"io", "output", GUARD_OUTPUT},   {"os", "remove", GUARD_PATHS},
    {"os", "rename", GUARD_PATHS}, {"os", "tmpname", GUARD_TMPNAME},
};

/* The host's package (sandbox.c leaves it only Lua searchers): lua/ and the C modules. */
static void host_package(lua_State *L, const char *root)
{
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua", root, root);
    lua_setfield(L, -2, "path");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, luaopen_cjson);
    lua_setfield(L, -2, "cjson");
    lua_pushcfunction(L, luaopen_cjson_safe);
    lua_setfield(L, -2, "cjson.safe");
    lua_pushcfunction(L, luaopen_vlbimon);
    lua_setfield(L, -2, "vlbimon");
    lua_pop(L, 2);
}

/*
 * Runs under pcall: the standard library cut to the allow-list, the write
 * checks, the host's package, and a JSON decoder of the host's own (a
 * cjson.safe no Lua code can reach or reconfigure).
 */
static int setup(lua_State *L)
{
    const char *root = lua_touserdata(L, 1);
    luaL_openlibs(L);
    vb_sandbox_setup(L);
    for (size_t i = 0; i < VB_COUNT(GUARDS); i++)
        guard(L, GUARDS[i].table, GUARDS[i].field, GUARDS[i].kind);
    host_package(L, root);
    lua_pushcfunction(L, luaopen_cjson_safe);
    lua_call(L, 0, 1);
    lua_getfield(L, -1, "decode");
    luaL_checktype(L, -1, LUA_TFUNCTION);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &JSON_DECODE_KEY);
    return 0;
}

/* Lua's last word before it aborts: an error outside any protected call, a bug in the host. */
static int panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n", msg ? msg : "?");
    return 0;
}

/*
 * The state's allocator: a block may grow only while the state stays within
 * h->limit; freeing and shrinking always succeed, as Lua requires. Without
 * a block, osize is the kind of object, not a size.
 */
static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    vb_lua *h = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        h->used -= old;
        return NULL;
    }
    if (nsize > old && (h->used > h->limit || nsize - old > h->limit - h->used)) {
        h->refused = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (!p) {
        h->refused = 0;
        /* A shrink realloc refused: the bigger block serves (counted as it was). */
        return nsize < old ? ptr : NULL;
    }
    h->used = h->used - old + nsize;
    return p;
}

vb_lua *vb_lua_new(vb_app *app, vb_err *err)
{
    vb_lua *h = calloc(1, sizeof *h);
    if (h) {
        h->cap = (size_t)(app->lua_memory > 0 ? app->lua_memory : VB_LUA_MEMORY_DEFAULT) << 20;
        h->limit = h->cap;
    }
    if (!h || !(h->L = lua_newstate(alloc, h))) {
        free(h);
        vb_fail(err, "cannot create a Lua state: out of memory");
        return NULL;
    }
    lua_atpanic(h->L, panic);
    h->app = app;
    lua_pushlightuserdata(h->L, app);
    lua_rawsetp(h->L, LUA_REGISTRYINDEX, &APP_KEY);
    lua_pushlightuserdata(h->L, h);
    lua_rawsetp(h->L, LUA_REGISTRYINDEX, &HOST_KEY);
    lua_pushcfunction(h->L, setup);
    lua_pushlightuserdata(h->L, app->root);
    if (lua_pcall(h->L, 1, 0, 0) != LUA_OK) {
        vb_fail(err, "cannot set up Lua: %s", lua_tostring(h->L, -1));
        lua_close(h->L);
        free(h);
        return NULL;
    }
    h->limit = SIZE_MAX;
    return h;
}

void vb_lua_free(vb_lua *h)
{
    if (!h)
        return;
    lua_close(h->L);
    for (size_t i = 0; i < h->nwrite_dirs; i++)
        free(h->write_dirs[i]);
    free(h->write_dirs);
    free(h);
}

int vb_lua_allow_writes(vb_lua *h, const char *dir, vb_err *err)
{
    char buf[PATH_MAX];
    struct stat st;
    if (!realpath(dir, buf) || stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return vb_fail(err, "%s: not a directory", dir);
    char **grown = realloc(h->write_dirs, (h->nwrite_dirs + 1) * sizeof *grown);
    if (!grown)
        return vb_fail(err, "out of memory");
    h->write_dirs = grown;
    if (!(h->write_dirs[h->nwrite_dirs] = vb_strdup(buf)))
        return vb_fail(err, "out of memory");
    h->nwrite_dirs++;
    return 0;
}

/*
 * A script may write where it runs (the current directory), in --datadir,
 * where os.tmpname puts files, and where its arguments point: an argument
 * that names a directory, or the directory of one that names a file there.
 * Those are the paths the user handed it; the bundled scripts' commands
 * hand theirs (--outdir, the database, a backup's DEST) as arguments too.
 */
static void allow_script_writes(vb_lua *h, int nargs, char **args)
{
    vb_lua_allow_writes(h, ".", NULL);
    if (h->app->datadir)
        vb_lua_allow_writes(h, h->app->datadir, NULL);
    vb_lua_allow_writes(h, TMPNAM_DIR, NULL);
    for (int i = 0; i < nargs; i++) {
        if (vb_lua_allow_writes(h, args[i], NULL) == 0)
            continue;
        const char *slash = strrchr(args[i], '/');
        if (slash && slash != args[i]) {
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - args[i]), args[i]);
            vb_lua_allow_writes(h, dir, NULL);
        }
    }
}

lua_State *vb_lua_state(vb_lua *h)
{
    return h->L;
}

size_t vb_lua_memory(const vb_lua *h)
{
    return h->used;
}

static int msgh(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    vb_app *app = vb_lua_app(L);
    if (app && app->verbose >= 2)
        luaL_traceback(L, L, msg, 1);
    else
        lua_pushstring(L, msg);
    return 1;
}

/* vb_lua_pcall, returning Lua's status. */
static int protected_call(vb_lua *h, int nargs, int nresults, vb_err *err)
{
    lua_State *L = h->L;
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, msgh);
    lua_insert(L, base);
    size_t outer = h->limit;
    if (h->cap < outer)
        h->limit = h->cap;
    int rc = lua_pcall(L, nargs, nresults, base);
    h->limit = outer;
    lua_remove(L, base);
    if (rc == LUA_ERRMEM) {
        lua_pop(L, 1);
        lua_gc(L, LUA_GCCOLLECT);
        if (h->refused)
            vb_fail(err, "Lua memory limit reached: %zu MiB (--lua-memory)", h->cap >> 20);
        else
            vb_fail(err, "out of memory");
    } else if (rc != LUA_OK) {
        vb_fail(err, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return rc;
}

int vb_lua_pcall(vb_lua *h, int nargs, int nresults, vb_err *err)
{
    return protected_call(h, nargs, nresults, err) == LUA_OK ? 0 : -1;
}

int vb_lua_pcall_untrusted(lua_State *L, int nargs, int nresults)
{
    vb_lua *h = vb_lua_host(L);
    size_t outer = h->limit, mine = h->cap / 4 * 3;
    if (mine < outer)
        h->limit = mine;
    int rc = lua_pcall(L, nargs, nresults, 0);
    h->limit = outer;
    if (rc == LUA_ERRMEM) {
        lua_pop(L, 1);
        lua_gc(L, LUA_GCCOLLECT);
        if (h->refused)
            lua_pushfstring(L,
                            "Lua memory limit reached: a transformer may bring Lua to %d of the "
                            "%d MiB of --lua-memory",
                            (int)(mine >> 20), (int)(h->cap >> 20));
        else
            lua_pushliteral(L, "out of memory");
    }
    return rc;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    luaL_error(L, "instruction limit exceeded (endless loop?)");
}

int vb_lua_pcall_limited(vb_lua *h, int nargs, int nresults, long limit, vb_err *err)
{
    if (limit > 0)
        lua_sethook(h->L, count_hook, LUA_MASKCOUNT,
                    (int)(limit > 0x7fffffff ? 0x7fffffff : limit));
    int rc = vb_lua_pcall(h, nargs, nresults, err);
    lua_sethook(h->L, NULL, 0, 0);
    return rc;
}

int vb_lua_require(vb_lua *h, const char *name, vb_err *err)
{
    lua_getglobal(h->L, "require");
    lua_pushstring(h->L, name);
    return vb_lua_pcall(h, 1, 1, err);
}

int vb_lua_json_decode(vb_lua *h, const char *text, size_t len, vb_err *err)
{
    lua_rawgetp(h->L, LUA_REGISTRYINDEX, &JSON_DECODE_KEY);
    lua_pushlstring(h->L, text ? text : "", len);
    return vb_lua_pcall(h, 1, 1, err);
}

/* Runs under pcall: (path, dir, arg) -> the script's chunk, in a sandbox of its own with arg. */
static int load_script(lua_State *L)
{
    vb_sandbox_push(L, lua_tostring(L, 2));
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "arg");
    if (vb_sandbox_loadfile(L, lua_tostring(L, 1), -1))
        return lua_error(L);
    return 1;
}

int vb_lua_run_script(vb_lua *h, const char *path, int nargs, char **args, vb_err *err)
{
    lua_State *L = h->L;
    allow_script_writes(h, nargs, args);
    /* The chunk gets its arguments as ... too, a stack slot each: `run s.lua *.csv` has many. */
    if (!lua_checkstack(L, nargs + 4))
        return vb_fail(err, "%s: too many arguments (%d)", path, nargs);
    lua_pushcfunction(L, load_script);
    lua_pushstring(L, path);
    /* Let a script require its neighbours, as `lua script.lua` would. */
    const char *slash = strrchr(path, '/');
    if (slash)
        lua_pushlstring(L, path, (size_t)(slash - path));
    else
        lua_pushliteral(L, ".");
    lua_createtable(L, nargs, 1);
    lua_pushstring(L, path);
    lua_rawseti(L, -2, 0);
    for (int i = 0; i < nargs; i++) {
        lua_pushstring(L, args[i]);
        lua_rawseti(L, -2, i + 1);
    }
    if (vb_lua_pcall(h, 3, 1, err))
        return -1;
    for (int i = 0; i < nargs; i++)
        lua_pushstring(L, args[i]);
    int rc = protected_call(h, nargs, 0, err);
    if (rc == LUA_ERRMEM) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        vb_fail(err, "%s: %s", path, why);
    }
    return rc == LUA_OK ? 0 : -1;
}
