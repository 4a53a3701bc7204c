/*
 * lua_fs.c - see lua_fs.h.
 *
 * Names come back sorted (bytewise) because migrations run in name order and
 * readdir's order is whatever the file system likes.
 */
#include "host/lua_fs.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Collects the names first so no Lua error can leak the DIR handle. */
static int read_names(const char *path, char ***out, size_t *count, int *err)
{
    DIR *d = opendir(path);
    if (!d) {
        *err = errno;
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn)
                goto oom;
            names = nn;
            cap = ncap;
        }
        if (!(names[n] = strdup(e->d_name)))
            goto oom;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    *count = n;
    return 0;
oom:
    closedir(d);
    free_names(names, n);
    *err = ENOMEM;
    return -1;
}

static int l_dir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char **names = NULL;
    size_t n = 0;
    int err = 0;
    if (read_names(path, &names, &n, &err))
        return luaL_error(L, "%s: %s", path, strerror(err));
    lua_createtable(L, n > 0x7fffffff ? 0x7fffffff : (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free_names(names, n);
    return 1;
}

static int luaopen_fs(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"dir", l_dir},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}

void vb_lua_fs_preload(lua_State *L)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, luaopen_fs);
    lua_setfield(L, -2, "vlbimon.fs");
    lua_pop(L, 2);
}
