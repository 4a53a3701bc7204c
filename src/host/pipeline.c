/*
 * pipeline.c - see pipeline.h.
 *
 * The Lua side cannot limit its own instructions or memory (the sandbox has
 * no debug library), so this file hands it `isolate`, a C function that runs
 * one transformer call under pcall with a count hook and the memory limit of
 * untrusted code.
 */
#include "host/pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host/rows.h"
#include "host/snapshot.h"

typedef struct file_sig {
    char *name;
    long long mtime_ns;
    long long size;
} file_sig;

struct vb_pipeline {
    vb_lua *lua;
    char *dir;
    int ref; /* the Lua pipeline object, in the registry */
    file_sig *files;
    size_t nfiles;
    vb_result_buf buf; /* the last result, as C values */
    int result_ref;    /* the last result's Lua table, which holds buf's text */
    int batch_ref;     /* points queued for run_points, a Lua array; LUA_NOREF: none */
    size_t nqueued;
};

/* The error names where the transformer was when the limit hit: level 0, the hooked function. */
static void limit_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    luaL_where(L, 0);
    lua_pushfstring(L, "instruction limit of %d exceeded (endless loop?)",
                    VB_TRANSFORM_INSTRUCTIONS);
    lua_concat(L, 2);
    lua_error(L);
}

/*
 * isolate(fn, ...) -> true, results... | false, message, under the
 * instruction limit and a transformer's memory limit. Restores whatever hook
 * was set before, so it nests inside vb_lua_pcall_limited.
 */
static int l_isolate(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int nargs = lua_gettop(L) - 1;
    lua_Hook old = lua_gethook(L);
    int mask = lua_gethookmask(L), count = lua_gethookcount(L);
    lua_sethook(L, limit_hook, LUA_MASKCOUNT, VB_TRANSFORM_INSTRUCTIONS);
    int rc = vb_lua_pcall_untrusted(L, nargs, LUA_MULTRET);
    lua_sethook(L, old, mask, count);
    if (rc != LUA_OK) {
        /* No __tostring here: a metamethod could raise outside any pcall. */
        if (lua_type(L, -1) != LUA_TSTRING)
            lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, -1));
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    return lua_gettop(L);
}

static void free_sigs(file_sig *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].name);
    free(f);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const file_sig *)a)->name, ((const file_sig *)b)->name);
}

static int is_transformer_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".lua") == 0;
}

/* The *.lua files of dir, sorted by name, with what tells a change. */
static int scan(const char *dir, file_sig **out, size_t *nout, vb_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return vb_fail(err, "transformers directory %s: %s", dir, strerror(errno));
    file_sig *f = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (!is_transformer_file(e->d_name))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            file_sig *nf = realloc(f, cap * sizeof *nf);
            if (!nf) {
                rc = vb_fail(err, "out of memory");
                break;
            }
            f = nf;
        }
        f[n].name = vb_strdup(e->d_name);
        if (!f[n].name) {
            rc = vb_fail(err, "out of memory");
            break;
        }
        f[n].mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        f[n].size = (long long)st.st_size;
        n++;
    }
    closedir(d);
    if (rc) {
        free_sigs(f, n);
        return -1;
    }
    /* An empty directory is a valid set of no transformers, and qsort must not see its NULL. */
    if (n > 1)
        qsort(f, n, sizeof *f, by_name);
    *out = f;
    *nout = n;
    return 0;
}

static void push_object(vb_pipeline *p)
{
    lua_rawgeti(vb_lua_state(p->lua), LUA_REGISTRYINDEX, p->ref);
}

/* Pushes the function p.<method> and p itself, ready for a call. */
static void push_method(vb_pipeline *p, const char *method)
{
    lua_State *L = vb_lua_state(p->lua);
    push_object(p);
    lua_getfield(L, -1, method);
    lua_insert(L, -2);
}

/*
 * Runs under pcall: (module, stations, buf) -> pipeline.new{isolate,
 * flatten, group, stations}, where group fills the C result buf.
 */
static int l_new(lua_State *L)
{
    const vb_strlist *stations = lua_touserdata(L, 2);
    void *buf = lua_touserdata(L, 3);
    lua_getfield(L, 1, "new");
    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, l_isolate);
    lua_setfield(L, -2, "isolate");
    lua_pushcfunction(L, vb_snapshot_flatten);
    lua_setfield(L, -2, "flatten");
    lua_pushlightuserdata(L, buf);
    lua_pushcclosure(L, vb_rows_group, 1);
    lua_setfield(L, -2, "group");
    lua_createtable(L, (int)stations->n, 0);
    for (size_t i = 0; i < stations->n; i++) {
        lua_pushstring(L, stations->v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "stations");
    lua_call(L, 1, 1);
    return 1;
}

vb_pipeline *vb_pipeline_new(vb_lua *lua, const char *transformers_dir, vb_err *err)
{
    lua_State *L = vb_lua_state(lua);
    vb_pipeline *p = calloc(1, sizeof *p);
    if (!p || !(p->dir = vb_strdup(transformers_dir))) {
        free(p);
        vb_fail(err, "out of memory");
        return NULL;
    }
    p->lua = lua;
    p->ref = p->result_ref = p->batch_ref = LUA_NOREF;
    lua_pushcfunction(L, l_new);
    if (vb_lua_require(lua, "vlbimon.pipeline", err)) {
        lua_pop(L, 1);
        vb_pipeline_free(p);
        return NULL;
    }
    lua_pushlightuserdata(L, &vb_lua_app(L)->stations);
    lua_pushlightuserdata(L, &p->buf);
    if (vb_lua_pcall(lua, 3, 1, err)) {
        vb_pipeline_free(p);
        return NULL;
    }
    p->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (vb_pipeline_reload(p, err)) {
        vb_pipeline_free(p);
        return NULL;
    }
    return p;
}

void vb_pipeline_free(vb_pipeline *p)
{
    if (!p)
        return;
    lua_State *L = vb_lua_state(p->lua);
    luaL_unref(L, LUA_REGISTRYINDEX, p->ref);
    luaL_unref(L, LUA_REGISTRYINDEX, p->result_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, p->batch_ref);
    vb_result_buf_free(&p->buf);
    free_sigs(p->files, p->nfiles);
    free(p->dir);
    free(p);
}

/* Appends a status row, keyed by column name, to the array on top of the stack. */
static int push_status_row(void *ud, const vb_status_row *row, vb_err *err)
{
    lua_State *L = ud;
    lua_createtable(L, 0, VB_STATUS_NCOLUMNS);
    for (size_t c = 0; c < VB_STATUS_NCOLUMNS; c++) {
        vb_rows_push_value(L, &row->f[c]);
        lua_setfield(L, -2, vb_status_columns[c].name);
    }
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

int vb_pipeline_restore_status(vb_pipeline *p, vb_sink *s, vb_err *err)
{
    lua_State *L = vb_lua_state(p->lua);
    if (!lua_checkstack(L, 8))
        return vb_fail(err, "Lua stack exhausted");
    push_method(p, "restore_status");
    lua_newtable(L);
    if (vb_sink_read_status(s, push_status_row, L, err)) {
        lua_pop(L, 3);
        return -1;
    }
    if (vb_lua_pcall(p->lua, 2, 1, err))
        return -1;
    vb_log_msg(&vb_lua_app(L)->log, VB_INFO, "station status: %d row(s) restored",
               (int)lua_tointeger(L, -1));
    lua_pop(L, 1);
    return 0;
}

int vb_pipeline_reload(vb_pipeline *p, vb_err *err)
{
    file_sig *files;
    size_t n;
    if (scan(p->dir, &files, &n, err))
        return -1;
    free_sigs(p->files, p->nfiles);
    p->files = files;
    p->nfiles = n;
    lua_State *L = vb_lua_state(p->lua);
    push_method(p, "load");
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushfstring(L, "%s/%s", p->dir, files[i].name);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return vb_lua_pcall(p->lua, 2, 0, err);
}

int vb_pipeline_changed(vb_pipeline *p)
{
    file_sig *files;
    size_t n;
    /* A directory that cannot be read now counts as a change: reloading reports why. */
    if (scan(p->dir, &files, &n, NULL))
        return 1;
    int changed = n != p->nfiles;
    for (size_t i = 0; !changed && i < n; i++)
        changed = strcmp(files[i].name, p->files[i].name) != 0 ||
                  files[i].mtime_ns != p->files[i].mtime_ns || files[i].size != p->files[i].size;
    free_sigs(files, n);
    return changed;
}

int vb_pipeline_wants(vb_pipeline *p, const char *param, vb_err *err)
{
    lua_State *L = vb_lua_state(p->lua);
    push_method(p, "wants");
    lua_pushstring(L, param);
    if (vb_lua_pcall(p->lua, 2, 1, err))
        return -1;
    int yes = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return yes;
}

int vb_pipeline_produces(vb_pipeline *p, char ***names, size_t *n, vb_err *err)
{
    lua_State *L = vb_lua_state(p->lua);
    *names = NULL;
    *n = 0;
    push_method(p, "produces");
    if (vb_lua_pcall(p->lua, 1, 1, err))
        return -1;
    size_t len = lua_rawlen(L, -1);
    char **v = calloc(len ? len : 1, sizeof *v);
    int rc = v ? 0 : vb_fail(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < len; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i + 1);
        if (!(v[i] = vb_strdup(lua_tostring(L, -1))))
            rc = vb_fail(err, "out of memory");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (rc) {
        vb_pipeline_names_free(v, len);
        return -1;
    }
    *names = v;
    *n = len;
    return 0;
}

void vb_pipeline_names_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

int vb_pipeline_save_state(vb_pipeline *p, char **text, vb_err *err)
{
    lua_State *L = vb_lua_state(p->lua);
    push_method(p, "save_state");
    if (vb_lua_pcall(p->lua, 1, 1, err))
        return -1;
    *text = vb_strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    return *text ? 0 : vb_fail(err, "out of memory");
}

int vb_pipeline_restore_state(vb_pipeline *p, const char *text, vb_err *err)
{
    lua_State *L = vb_lua_state(p->lua);
    push_method(p, "restore_state");
    lua_pushstring(L, text);
    if (vb_lua_pcall(p->lua, 2, 0, err))
        return -1;
    return vb_pipeline_reload(p, err);
}

/*
 * After a call returning (result) or (nil, why): keeps the result table (it
 * holds the C result's text) until the next run and hands out the C result.
 */
static int take_result(vb_pipeline *p, const vb_result **out, vb_err *err)
{
    lua_State *L = vb_lua_state(p->lua);
    if (lua_isnil(L, -2)) {
        vb_fail(err, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "pipeline failed");
        lua_pop(L, 2);
        return -1;
    }
    lua_pop(L, 1);
    luaL_unref(L, LUA_REGISTRYINDEX, p->result_ref);
    p->result_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    *out = &p->buf.r;
    return 0;
}

int vb_pipeline_run_json(vb_pipeline *p, const char *json, size_t len, double now,
                         double fetch_seconds, const vb_result **out, vb_err *err)
{
    lua_State *L = vb_lua_state(p->lua);
    if (!lua_checkstack(L, 8))
        return vb_fail(err, "Lua stack exhausted");
    push_method(p, "run_json");
    lua_pushlstring(L, json, len);
    lua_pushnumber(L, now);
    lua_pushnumber(L, fetch_seconds);
    if (vb_lua_pcall(p->lua, 4, 2, err))
        return -1;
    return take_result(p, out, err);
}

int vb_pipeline_add_point(vb_pipeline *p, const char *station, const char *param, double t,
                          const vb_value *v, vb_err *err)
{
    lua_State *L = vb_lua_state(p->lua);
    if (!lua_checkstack(L, 4))
        return vb_fail(err, "Lua stack exhausted");
    if (p->batch_ref == LUA_NOREF) {
        lua_newtable(L);
        p->batch_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->batch_ref);
    lua_createtable(L, 4, 0);
    lua_pushstring(L, station);
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, param);
    lua_rawseti(L, -2, 2);
    lua_pushnumber(L, t);
    lua_rawseti(L, -2, 3);
    vb_rows_push_value(L, v);
    lua_rawseti(L, -2, 4);
    lua_rawseti(L, -2, (lua_Integer)++p->nqueued);
    lua_pop(L, 1);
    return 0;
}

size_t vb_pipeline_queued(const vb_pipeline *p)
{
    return p->nqueued;
}

int vb_pipeline_run_points(vb_pipeline *p, double now, const vb_result **out, vb_err *err)
{
    lua_State *L = vb_lua_state(p->lua);
    if (!lua_checkstack(L, 8))
        return vb_fail(err, "Lua stack exhausted");
    push_method(p, "run_points");
    if (p->batch_ref == LUA_NOREF)
        lua_newtable(L);
    else
        lua_rawgeti(L, LUA_REGISTRYINDEX, p->batch_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, p->batch_ref);
    p->batch_ref = LUA_NOREF;
    p->nqueued = 0;
    lua_pushnumber(L, now);
    if (vb_lua_pcall(p->lua, 3, 2, err))
        return -1;
    return take_result(p, out, err);
}
