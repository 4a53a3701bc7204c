/*
 * rows.c - see rows.h.
 *
 * Telling one row's table from another's is a hash of the param string's
 * address, not of its text: Lua interns short strings, so all rows of one
 * table share one address, and hashing an address is a multiplication
 * where hashing the text is a loop. Names longer than Lua's interning limit
 * (40 bytes; a split series such as ..._dec can reach it) give equal texts
 * different addresses, so an address seen for the first time is looked up
 * once more by its text before it starts a new table. The addresses stay
 * valid throughout: every string is held by the param column, and nothing
 * here runs Lua code or lets the collector run.
 */
#include "host/rows.h"

#include <lauxlib.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SCRATCH_MT "vlbimon.groups.scratch"

typedef struct name {
    const char *s;
    size_t len;
    uint64_t h;
    int rank; /* position in name order */
} name;

typedef struct alias {
    const char *s; /* NULL: empty slot */
    int id;
} alias;

typedef struct interner {
    int *ids;      /* each row's table id */
    alias *byaddr; /* open addressing, power-of-two size */
    int *bytext;   /* name id + 1, 0 = empty; same size as byaddr */
    size_t size, naddr;
    name *names;
    int nnames, cap;
} interner;

static uint64_t text_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static size_t addr_slot(const char *s, size_t size)
{
    uint64_t h = (uint64_t)(uintptr_t)s * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 32) & (size - 1);
}

static void put_addr(interner *in, const char *s, int id)
{
    size_t i = addr_slot(s, in->size);
    while (in->byaddr[i].s)
        i = (i + 1) & (in->size - 1);
    in->byaddr[i] = (alias){s, id};
    in->naddr++;
}

static void put_text(interner *in, int id)
{
    size_t i = (size_t)in->names[id].h & (in->size - 1);
    while (in->bytext[i])
        i = (i + 1) & (in->size - 1);
    in->bytext[i] = id + 1;
}

/* Doubles both tables; every name has at least one address, so naddr bounds both loads. */
static int grow(interner *in)
{
    alias *old = in->byaddr;
    size_t oldsize = in->size, size = oldsize ? oldsize * 2 : 256;
    alias *a = calloc(size, sizeof *a);
    int *t = calloc(size, sizeof *t);
    if (!a || !t) {
        free(a);
        free(t);
        return -1;
    }
    free(in->bytext);
    in->byaddr = a;
    in->bytext = t;
    in->size = size;
    in->naddr = 0;
    for (size_t i = 0; i < oldsize; i++)
        if (old[i].s)
            put_addr(in, old[i].s, old[i].id);
    free(old);
    for (int id = 0; id < in->nnames; id++)
        put_text(in, id);
    return 0;
}

/* The table id of the name s, a new one when it was not seen; -1 when out of memory. */
static int intern(interner *in, const char *s, size_t len)
{
    if (in->size) {
        size_t i = addr_slot(s, in->size);
        for (; in->byaddr[i].s; i = (i + 1) & (in->size - 1))
            if (in->byaddr[i].s == s)
                return in->byaddr[i].id;
    }
    if ((in->naddr + 1) * 2 > in->size && grow(in))
        return -1;
    uint64_t h = text_hash(s, len);
    for (size_t i = (size_t)h & (in->size - 1); in->bytext[i]; i = (i + 1) & (in->size - 1)) {
        const name *n = &in->names[in->bytext[i] - 1];
        if (n->h == h && n->len == len && memcmp(n->s, s, len) == 0) {
            put_addr(in, s, in->bytext[i] - 1);
            return in->bytext[i] - 1;
        }
    }
    if (in->nnames == in->cap) {
        int cap = in->cap ? in->cap * 2 : 64;
        name *nn = realloc(in->names, (size_t)cap * sizeof *nn);
        if (!nn)
            return -1;
        in->names = nn;
        in->cap = cap;
    }
    int id = in->nnames++;
    in->names[id] = (name){s, len, h, 0};
    put_text(in, id);
    put_addr(in, s, id);
    return id;
}

static int by_text(const void *a, const void *b)
{
    const name *x = *(const name *const *)a, *y = *(const name *const *)b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Name order: sorted once per snapshot over the few hundred tables, not the rows. */
static int rank_names(interner *in)
{
    name **order = malloc((size_t)in->nnames * sizeof *order + 1);
    if (!order)
        return -1;
    for (int id = 0; id < in->nnames; id++)
        order[id] = &in->names[id];
    qsort(order, (size_t)in->nnames, sizeof *order, by_text);
    for (int r = 0; r < in->nnames; r++)
        order[r]->rank = r;
    free(order);
    return 0;
}

static void release(interner *in)
{
    free(in->ids);
    free(in->byaddr);
    free(in->bytext);
    free(in->names);
    memset(in, 0, sizeof *in);
}

/* The scratch is a userdata so that a grouping which raises half-way leaks nothing. */
static int free_scratch(lua_State *L)
{
    release(lua_touserdata(L, 1));
    return 0;
}

/* Grows *p to hold at least n elements of size sz; raises when out of memory. */
static void reserve(lua_State *L, void **p, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap)
        return;
    size_t c = *cap ? *cap : 64;
    while (c < n)
        c *= 2;
    void *q = realloc(*p, c * sz);
    if (!q)
        luaL_error(L, "out of memory");
    *p = q;
    *cap = c;
}

/* A time column's entry as whole seconds: what the pipeline put there, floored. */
static int to_time(lua_State *L, int idx, long long *t)
{
    if (lua_isinteger(L, idx)) {
        *t = lua_tointeger(L, idx);
        return 0;
    }
    if (lua_type(L, idx) != LUA_TNUMBER)
        return -1;
    double d = lua_tonumber(L, idx);
    if (!isfinite(d) || fabs(d) > 9e15)
        return -1;
    *t = (long long)floor(d);
    return 0;
}

/*
 * Row i of the columns at cols.. cols+3 (station, param, time, value) as a
 * vb_row: a row that is not whole gets no value (result.h).
 */
static void read_row(lua_State *L, int cols, lua_Integer i, vb_row *r)
{
    lua_rawgeti(L, cols, i);
    lua_rawgeti(L, cols + 2, i);
    lua_rawgeti(L, cols + 3, i);
    int whole = lua_type(L, -3) == LUA_TSTRING;
    r->station = whole ? lua_tolstring(L, -3, &r->station_len) : "";
    if (!whole)
        r->station_len = 0;
    whole = to_time(L, -2, &r->time) == 0 && whole;
    if (vb_rows_value(L, -1, &r->value) || !whole)
        r->value = (vb_value){.type = VB_V_NULL};
    lua_pop(L, 3);
}

/* Pushes result[field], which must be a table with no metatable of its own. */
static void push_column(lua_State *L, int result, const char *field)
{
    lua_pushstring(L, field);
    if (lua_rawget(L, result) != LUA_TTABLE)
        luaL_error(L, "pipeline result: no %s column", field);
}

int vb_rows_group(lua_State *L)
{
    vb_result_buf *buf = lua_touserdata(L, lua_upvalueindex(1));
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    buf->r = (vb_result){0};
    interner *in = lua_newuserdatauv(L, sizeof *in, 0);
    memset(in, 0, sizeof *in);
    if (luaL_newmetatable(L, SCRATCH_MT)) {
        lua_pushcfunction(L, free_scratch);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, 2);
    int isnum;
    lua_pushstring(L, "n");
    lua_rawget(L, 1);
    lua_Integer n = lua_tointegerx(L, -1, &isnum);
    lua_pop(L, 1);
    if (!isnum || n < 0 || n > INT32_MAX / 2)
        return luaL_error(L, "pipeline result: no row count");
    int cols = lua_gettop(L) + 1;
    push_column(L, 1, "station");
    push_column(L, 1, "param");
    push_column(L, 1, "time");
    push_column(L, 1, "value");
    if (!(in->ids = malloc((size_t)n * sizeof *in->ids + 1)))
        return luaL_error(L, "out of memory");
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, cols + 1, i) != LUA_TSTRING)
            return luaL_error(L, "pipeline result: row %I has a %s for its param, not a string", i,
                              luaL_typename(L, -1));
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if ((in->ids[i - 1] = intern(in, s, len)) < 0)
            return luaL_error(L, "out of memory");
        lua_pop(L, 1);
    }
    if (rank_names(in))
        return luaL_error(L, "out of memory");
    reserve(L, (void **)&buf->rows, &buf->rows_cap, (size_t)n, sizeof *buf->rows);
    reserve(L, (void **)&buf->series, &buf->series_cap, (size_t)in->nnames, sizeof *buf->series);
    /* A stable counting sort: each table's rows keep their order, so the last of a key wins. */
    vb_result_series *sr = buf->series;
    for (int id = 0; id < in->nnames; id++)
        sr[in->names[id].rank] =
            (vb_result_series){.name = in->names[id].s, .name_len = in->names[id].len};
    for (lua_Integer i = 0; i < n; i++)
        sr[in->names[in->ids[i]].rank].n++;
    for (int r = 1; r < in->nnames; r++)
        sr[r].first = sr[r - 1].first + sr[r - 1].n;
    for (int r = 0; r < in->nnames; r++)
        sr[r].n = 0;
    for (lua_Integer i = 0; i < n; i++) {
        vb_result_series *t = &sr[in->names[in->ids[i]].rank];
        read_row(L, cols, i + 1, &buf->rows[t->first + t->n++]);
    }
    size_t nseries = (size_t)in->nnames;
    release(in);
    size_t nstatus = 0;
    lua_pushstring(L, "status");
    if (lua_rawget(L, 1) == LUA_TTABLE) {
        int status = lua_gettop(L);
        size_t ns = lua_rawlen(L, status);
        reserve(L, (void **)&buf->status, &buf->status_cap, ns, sizeof *buf->status);
        for (size_t i = 1; i <= ns; i++) {
            if (lua_rawgeti(L, status, (lua_Integer)i) == LUA_TTABLE)
                vb_rows_status(L, -1, buf->status[nstatus++].f);
            lua_pop(L, 1);
        }
    }
    buf->r = (vb_result){.rows = buf->rows,
                         .nrows = (size_t)n,
                         .series = buf->series,
                         .nseries = nseries,
                         .status = buf->status,
                         .nstatus = nstatus};
    return 0;
}

void vb_result_buf_free(vb_result_buf *b)
{
    free(b->rows);
    free(b->series);
    free(b->status);
    memset(b, 0, sizeof *b);
}

int vb_rows_value(lua_State *L, int idx, vb_value *v)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            *v = (vb_value){.type = VB_V_INTEGER, .i = lua_tointeger(L, idx)};
            return 0;
        }
        *v = (vb_value){.type = VB_V_REAL, .d = lua_tonumber(L, idx)};
        if (isfinite(v->d))
            return 0;
        break;
    case LUA_TSTRING:
        v->type = VB_V_TEXT;
        v->text.s = lua_tolstring(L, idx, &v->text.len);
        return 0;
    case LUA_TBOOLEAN:
        *v = (vb_value){.type = VB_V_BOOLEAN, .b = lua_toboolean(L, idx)};
        return 0;
    }
    *v = (vb_value){.type = VB_V_NULL};
    return -1;
}

void vb_rows_push_value(lua_State *L, const vb_value *v)
{
    switch (v->type) {
    case VB_V_INTEGER:
        lua_pushinteger(L, v->i);
        break;
    case VB_V_REAL:
        lua_pushnumber(L, v->d);
        break;
    case VB_V_TEXT:
        lua_pushlstring(L, v->text.s, v->text.len);
        break;
    case VB_V_BOOLEAN:
        lua_pushboolean(L, v->b);
        break;
    case VB_V_NULL:
        lua_pushnil(L);
    }
}

void vb_rows_status(lua_State *L, int idx, vb_value f[VB_STATUS_NCOLUMNS])
{
    idx = lua_absindex(L, idx);
    for (size_t c = 0; c < VB_STATUS_NCOLUMNS; c++) {
        lua_pushstring(L, vb_status_columns[c].name);
        lua_rawget(L, idx);
        vb_rows_value(L, -1, &f[c]);
        lua_pop(L, 1);
    }
}
