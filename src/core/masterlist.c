/*
 * masterlist.c - see masterlist.h.
 */
#include "core/masterlist.h"

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lua.h>
#include <lualib.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    vb_datatype type;
} datatypes[] = {
    {"AzElCoordinates", VB_DT_AZEL},
    {"CelestialCoordinates", VB_DT_CELESTIAL},
    {"Coordinates", VB_DT_COORDINATES},
    {"boolean", VB_DT_BOOLEAN},
    {"document", VB_DT_DOCUMENT},
    {"float", VB_DT_FLOAT},
    {"int", VB_DT_INT},
    {"none", VB_DT_NONE},
    {"number", VB_DT_NUMBER},
    {"string", VB_DT_STRING},
};

const char *vb_datatype_name(vb_datatype t)
{
    for (size_t i = 0; i < VB_COUNT(datatypes); i++)
        if (datatypes[i].type == t)
            return datatypes[i].name;
    return "string";
}

const char *vb_sqltype(vb_datatype t)
{
    switch (t) {
    case VB_DT_BOOLEAN:
        return "BOOLEAN";
    case VB_DT_FLOAT:
    case VB_DT_NUMBER:
        return "REAL";
    case VB_DT_INT:
        return "INTEGER";
    case VB_DT_NONE:
        return NULL;
    default:
        return "TEXT";
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const vb_param *)a)->name, ((const vb_param *)b)->name);
}

static int cadence_field(lua_State *L, int cad, const char *key, const char *origin,
                         const char *param, int *out, vb_err *err)
{
    *out = -1;
    if (cad == 0)
        return 0;
    int t = lua_getfield(L, cad, key);
    int rc = 0;
    if (t == LUA_TNUMBER) {
        lua_Number v = lua_tonumber(L, -1);
        if (v < 0 || v > 1e9)
            rc = vb_fail(err, "%s: parameter %s: %s cadence out of range", origin, param, key);
        else
            *out = (int)v;
    } else if (t != LUA_TNIL) {
        rc = vb_fail(err, "%s: parameter %s: %s cadence is not a number", origin, param, key);
    }
    lua_pop(L, 1);
    return rc;
}

/* The parameters of one top-level object (default or a station's extras). */
static int add_params(lua_State *L, int obj, const char *origin, const char *section, uint64_t mask,
                      vb_masterlist *ml, size_t *cap, const regex_t *recfix, vb_err *err)
{
    lua_pushnil(L);
    while (lua_next(L, obj)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return vb_fail(err, "%s: %s: parameter names must be strings", origin, section);
        }
        const char *name = lua_tostring(L, -2);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 2);
            return vb_fail(err, "%s: %s: parameter %s is not an object", origin, section, name);
        }
        int p = lua_gettop(L);
        vb_param *existing = NULL;
        for (size_t i = 0; i < ml->nparams; i++)
            if (strcmp(ml->params[i].name, name) == 0)
                existing = &ml->params[i];
        if (existing) {
            existing->stations |= mask;
            lua_pop(L, 1);
            continue;
        }
        vb_param prm = {.cadence_public = -1, .cadence_private = -1, .stations = mask};
        lua_getfield(L, p, "datatype");
        const char *dt = lua_tostring(L, -1);
        int found = 0;
        for (size_t i = 0; dt && i < VB_COUNT(datatypes); i++)
            if (strcmp(datatypes[i].name, dt) == 0) {
                prm.type = datatypes[i].type;
                found = 1;
            }
        if (!found) {
            vb_fail(err, "%s: parameter %s: unknown datatype %s", origin, name,
                    dt ? dt : "(missing)");
            lua_pop(L, 3);
            return -1;
        }
        lua_pop(L, 1);
        /* Known catalogue errors: these recorder figures are fractional whatever it says. */
        if (regexec(recfix, name, 0, NULL, 0) == 0)
            prm.type = VB_DT_FLOAT;
        int t = lua_getfield(L, p, "cadence");
        int cad = t == LUA_TTABLE ? lua_gettop(L) : 0;
        if (t != LUA_TTABLE && t != LUA_TNIL) {
            lua_pop(L, 3);
            return vb_fail(err, "%s: parameter %s: cadence is not an object", origin, name);
        }
        if (cadence_field(L, cad, "public", origin, name, &prm.cadence_public, err) ||
            cadence_field(L, cad, "private", origin, name, &prm.cadence_private, err)) {
            lua_pop(L, 3);
            return -1;
        }
        lua_pop(L, 1);
        if (ml->nparams == *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            vb_param *np = realloc(ml->params, nc * sizeof *np);
            if (!np) {
                lua_pop(L, 2);
                return vb_fail(err, "%s: out of memory", origin);
            }
            ml->params = np;
            *cap = nc;
        }
        prm.name = vb_strdup(name);
        if (!prm.name) {
            lua_pop(L, 2);
            return vb_fail(err, "%s: out of memory", origin);
        }
        ml->params[ml->nparams++] = prm;
        lua_pop(L, 1);
    }
    return 0;
}

static int parse_decoded(lua_State *L, const char *origin, vb_masterlist *ml, vb_err *err)
{
    int root = lua_gettop(L);
    /* cjson decodes arrays to tables too; a non-empty sequence is not an object. */
    if (!lua_istable(L, root) || lua_rawlen(L, root) > 0)
        return vb_fail(err, "%s: expected a JSON object at the top level", origin);
    size_t scap = 16;
    ml->stations = calloc(scap, sizeof *ml->stations);
    if (!ml->stations)
        return vb_fail(err, "%s: out of memory", origin);
    lua_pushnil(L);
    while (lua_next(L, root)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            return vb_fail(err, "%s: top-level keys must be strings", origin);
        const char *k = lua_tostring(L, -1);
        if (strcmp(k, "default") == 0)
            continue;
        if (ml->nstations == VB_MAX_STATIONS)
            return vb_fail(err, "%s: more than %d stations", origin, VB_MAX_STATIONS);
        if (ml->nstations == scap) {
            scap *= 2;
            char **ns = realloc(ml->stations, scap * sizeof *ns);
            if (!ns)
                return vb_fail(err, "%s: out of memory", origin);
            ml->stations = ns;
        }
        if (!(ml->stations[ml->nstations++] = vb_strdup(k)))
            return vb_fail(err, "%s: out of memory", origin);
    }
    qsort(ml->stations, ml->nstations, sizeof *ml->stations, cmp_str);

    regex_t recfix;
    if (regcomp(&recfix, "^recorder_[0-9]+_group[a-d](SpaceLeft|TimeLeft|Datarate)$",
                REG_EXTENDED | REG_NOSUB))
        return vb_fail(err, "internal error: bad regex");
    size_t pcap = 0;
    int rc = 0;
    uint64_t all = ml->nstations == 64 ? ~(uint64_t)0 : (((uint64_t)1 << ml->nstations) - 1);
    if (lua_getfield(L, root, "default") == LUA_TTABLE)
        rc = add_params(L, lua_gettop(L), origin, "default", all, ml, &pcap, &recfix, err);
    else if (!lua_isnil(L, -1))
        rc = vb_fail(err, "%s: \"default\" is not an object", origin);
    lua_pop(L, 1);
    for (size_t i = 0; rc == 0 && i < ml->nstations; i++) {
        int t = lua_getfield(L, root, ml->stations[i]);
        if (t == LUA_TTABLE)
            rc = add_params(L, lua_gettop(L), origin, ml->stations[i], (uint64_t)1 << i, ml, &pcap,
                            &recfix, err);
        else if (t != LUA_TNIL)
            rc = vb_fail(err, "%s: station %s is not an object", origin, ml->stations[i]);
        lua_pop(L, 1);
    }
    regfree(&recfix);
    if (rc == 0 && ml->params)
        qsort(ml->params, ml->nparams, sizeof *ml->params, cmp_param);
    return rc;
}

static int decode(lua_State *L)
{
    size_t len;
    const char *json = lua_tolstring(L, 1, &len);
    lua_getglobal(L, "cjson");
    lua_getfield(L, -1, "decode");
    lua_pushlstring(L, json, len);
    lua_call(L, 1, 1);
    return 1;
}

int vb_masterlist_parse(const char *json, size_t len, const char *origin, vb_masterlist *out,
                        vb_err *err)
{
    memset(out, 0, sizeof *out);
    lua_State *L = luaL_newstate();
    if (!L)
        return vb_fail(err, "%s: out of memory", origin);
    luaL_requiref(L, "cjson", luaopen_cjson, 1);
    lua_pop(L, 1);
    lua_pushcfunction(L, decode);
    lua_pushlstring(L, json, len);
    int rc;
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        rc = vb_fail(err, "%s: malformed JSON: %s", origin, lua_tostring(L, -1));
    else
        rc = parse_decoded(L, origin, out, err);
    lua_close(L);
    if (rc)
        vb_masterlist_free(out);
    return rc;
}

int vb_masterlist_load(const char *path, vb_masterlist *out, vb_err *err)
{
    size_t len;
    char *json = vb_read_file(path, &len, err);
    if (!json) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    int rc = vb_masterlist_parse(json, len, path, out, err);
    free(json);
    return rc;
}

const vb_param *vb_masterlist_find(const vb_masterlist *ml, const char *name)
{
    vb_param key = {.name = (char *)name};
    return ml->nparams ? bsearch(&key, ml->params, ml->nparams, sizeof key, cmp_param) : NULL;
}

int vb_masterlist_station_index(const vb_masterlist *ml, const char *station)
{
    char **hit = ml->nstations
                     ? bsearch(&station, ml->stations, ml->nstations, sizeof(char *), cmp_str)
                     : NULL;
    return hit ? (int)(hit - ml->stations) : -1;
}

void vb_masterlist_free(vb_masterlist *ml)
{
    for (size_t i = 0; i < ml->nstations; i++)
        free(ml->stations[i]);
    for (size_t i = 0; i < ml->nparams; i++)
        free(ml->params[i].name);
    free(ml->stations);
    free(ml->params);
    memset(ml, 0, sizeof *ml);
}
