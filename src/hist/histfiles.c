/*
 * histfiles.c - see histfiles.h.
 */
#define _GNU_SOURCE
#include "hist/histfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/rows.h"

int vb_hist_json(vb_lua *lua, const char *text, size_t len)
{
    vb_err err;
    if (vb_lua_json_decode(lua, text, len, &err) == 0)
        return lua_istable(vb_lua_state(lua), -1);
    lua_pushnil(vb_lua_state(lua));
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const vb_hist_param *)a)->name, ((const vb_hist_param *)b)->name);
}

/* History answers sometimes end with this bogus point (2000-01-01). */
#define BOGUS_Y2K 946684800LL

int vb_hist_answer_lines(lua_State *L, const char *station, const char *param, long long a,
                         long long b, vb_buf *out, vb_hist_answer *ans, vb_err *err)
{
    *ans = (vb_hist_answer){.newest = -1};
    if (!lua_istable(L, -1))
        return 0;
    if (lua_getfield(L, -1, station) == LUA_TNIL) {
        lua_pop(L, 1);
        return 1;
    }
    int found = lua_istable(L, -1) ? lua_getfield(L, -1, param) : LUA_TNONE;
    if (found == LUA_TNONE || (found != LUA_TNIL && found != LUA_TTABLE)) {
        lua_pop(L, found == LUA_TNONE ? 1 : 2);
        return 0;
    }
    ans->found = found == LUA_TTABLE;
    lua_Integer n = found == LUA_TTABLE ? (lua_Integer)luaL_len(L, -1) : 0;
    for (lua_Integer i = 1; i <= n; i++) {
        /* Each point is [time, value]; anything else counts as unusable. Stack: point, value. */
        int ok = 0;
        double t = 0;
        if (lua_rawgeti(L, -1, i) == LUA_TTABLE) {
            ok = lua_rawgeti(L, -1, 1) == LUA_TNUMBER;
            t = lua_tonumber(L, -1);
            lua_pop(L, 1);
            lua_rawgeti(L, -1, 2);
        } else {
            lua_pushnil(L);
        }
        vb_value v;
        ok = ok && isfinite(t) && fabs(t) < 9e15;
        long long ts = ok ? (long long)floor(t) : 0;
        if (ok && i == n && ts == BOGUS_Y2K) {
            /* The bogus final point of some answers. */
        } else if (ok && ts < a) {
            ans->early++; /* the point-before-start quirk: outside this window, maybe saved */
        } else if (ok && ts > b) {
            ans->late++; /* the next window asks for it */
        } else if (!ok || vb_rows_value(L, -1, &v)) {
            ans->unusable++;
        } else {
            vb_value rec[] = {{.type = VB_V_REAL, .d = t}, v};
            if (vb_value_put_record(out, rec, 2)) {
                lua_pop(L, 4);
                return vb_fail(err, "out of memory");
            }
            ans->points++;
            if (ts > ans->newest)
                ans->newest = ts;
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 2);
    return 1;
}

vb_hist_param *vb_hist_param_get(vb_hist_station *st, const char *name)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->params[i].name, name) == 0)
            return &st->params[i];
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 32;
        vb_hist_param *v = realloc(st->params, cap * sizeof *v);
        if (!v)
            return NULL;
        st->params = v;
        st->cap = cap;
    }
    vb_hist_param *p = &st->params[st->n];
    *p = (vb_hist_param){.bytes = -1};
    if (!(p->name = vb_strdup(name)))
        return NULL;
    st->n++;
    return p;
}

/*
 * An integral JSON number field of the table on top of the stack. One out
 * of range (1e300) counts as absent: converting it would be undefined.
 */
static int int_field(lua_State *L, const char *key, long long *out)
{
    int ok = lua_getfield(L, -1, key) == LUA_TNUMBER && fabs(lua_tonumber(L, -1)) < 9e15;
    if (ok)
        *out = (long long)lua_tonumber(L, -1);
    lua_pop(L, 1);
    return ok;
}

static int read_meta(vb_hist_station *st, vb_lua *lua, vb_err *err)
{
    size_t len;
    char *text = vb_read_file(st->meta_path, &len, err);
    if (!text)
        return -1;
    lua_State *L = vb_lua_state(lua);
    int ok = vb_hist_json(lua, text, len);
    free(text);
    if (!ok) {
        lua_pop(L, 1);
        return vb_fail(err,
                       "%s is not a JSON object; repair or remove it (the download then starts "
                       "again at --start)",
                       st->meta_path);
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        /*
         * vb_hist_save writes names unescaped: only identifiers (all history
         * asks for) are kept, whole ("x\u0000y" is not x).
         */
        size_t klen = 0;
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &klen) : NULL;
        if (key && strlen(key) == klen && vb_is_identifier(key) && lua_istable(L, -1)) {
            vb_hist_param *p = vb_hist_param_get(st, key);
            if (!p) {
                lua_pop(L, 3);
                return vb_fail(err, "out of memory");
            }
            p->has_tried = int_field(L, "last_tried", &p->last_tried);
            p->has_seen = int_field(L, "last_seen", &p->last_seen);
            if (!int_field(L, "bytes", &p->bytes) || p->bytes < 0)
                p->bytes = -1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

int vb_hist_station_load(vb_hist_station *st, const char *datadir, const char *station, vb_lua *lua,
                         vb_err *err)
{
    memset(st, 0, sizeof *st);
    vb_buf b = {0};
    if (vb_buf_printf(&b, "%s/%s", datadir, station))
        return vb_fail(err, "out of memory");
    st->dir = b.data;
    b = (vb_buf){0};
    if (vb_buf_printf(&b, "%s/metadata.json", st->dir))
        return vb_fail(err, "out of memory");
    st->meta_path = b.data;
    if (!vb_file_exists(st->meta_path))
        return 0;
    return read_meta(st, lua, err);
}

void vb_hist_station_free(vb_hist_station *st)
{
    for (size_t i = 0; i < st->n; i++)
        free(st->params[i].name);
    free(st->params);
    free(st->dir);
    free(st->meta_path);
    memset(st, 0, sizeof *st);
}

static char *csv_path(const vb_hist_station *st, const vb_hist_param *p)
{
    vb_buf b = {0};
    return vb_buf_printf(&b, "%s/%s.csv", st->dir, p->name) ? NULL : b.data;
}

int vb_hist_prepare(vb_hist_station *st, vb_hist_param *p, vb_err *err)
{
    char *path = csv_path(st, p);
    if (!path)
        return vb_fail(err, "out of memory");
    struct stat sb;
    int rc = 0;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT)
            rc = vb_fail(err, "%s: %s", path, strerror(errno));
        else if (p->bytes > 0)
            rc = vb_fail(err,
                         "%s is missing but %s says it held %lld bytes; remove its entry "
                         "there to download it again",
                         path, st->meta_path, p->bytes);
    } else if (p->bytes < 0) {
        /* The original recorded no length: trust the file as it is. */
        p->bytes = (long long)sb.st_size;
    } else if ((long long)sb.st_size < p->bytes) {
        rc = vb_fail(err,
                     "%s is shorter (%lld bytes) than %s says (%lld); it was changed, so resuming "
                     "would leave a gap: remove its entry there to download it again",
                     path, (long long)sb.st_size, st->meta_path, p->bytes);
    } else if ((long long)sb.st_size > p->bytes) {
        if (truncate(path, (off_t)p->bytes) != 0)
            rc = vb_fail(err, "%s: cannot cut back to %lld bytes: %s", path, p->bytes,
                         strerror(errno));
    }
    free(path);
    return rc;
}

/*
 * One syncfs for the files appended to since the last save rather than an
 * fsync each: a request for many series appends to hundreds of files, and
 * an fsync each made a download three times as slow (docs/performance.md).
 */
static int sync_appended(vb_hist_station *st, vb_err *err)
{
    if (!st->appended)
        return 0;
    int fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return vb_fail(err, "%s: %s", st->dir, strerror(errno));
    int rc = syncfs(fd);
    int e = errno;
    close(fd);
    if (rc)
        return vb_fail(err, "%s: cannot write the appended lines to disk: %s", st->dir,
                       strerror(e));
    st->appended = 0;
    return 0;
}

int vb_hist_save(vb_hist_station *st, vb_err *err)
{
    if (sync_appended(st, err))
        return -1;
    vb_hist_param *sorted = malloc((st->n ? st->n : 1) * sizeof *sorted);
    if (!sorted)
        return vb_fail(err, "out of memory");
    /* params is NULL while nothing is recorded; memcpy from NULL is undefined, even of 0 bytes. */
    if (st->n)
        memcpy(sorted, st->params, st->n * sizeof *sorted);
    qsort(sorted, st->n, sizeof *sorted, by_name);
    vb_buf j = {0};
    int bad = vb_buf_puts(&j, "{");
    size_t nout = 0;
    for (size_t i = 0; !bad && i < st->n; i++) {
        const vb_hist_param *p = &sorted[i];
        if (!p->has_tried)
            continue;
        /* Names went through vb_is_identifier: nothing in them needs escaping. */
        bad = vb_buf_printf(&j, "%s\n  \"%s\": {\"last_tried\": %lld", nout++ ? "," : "", p->name,
                            p->last_tried);
        if (!bad && p->has_seen)
            bad = vb_buf_printf(&j, ", \"last_seen\": %lld", p->last_seen);
        if (!bad && p->bytes >= 0)
            bad = vb_buf_printf(&j, ", \"bytes\": %lld", p->bytes);
        bad = bad || vb_buf_puts(&j, "}");
    }
    bad = bad || vb_buf_puts(&j, "\n}\n");
    free(sorted);
    int rc =
        bad ? vb_fail(err, "out of memory") : vb_write_atomic(st->meta_path, j.data, j.len, err);
    vb_buf_free(&j);
    return rc;
}

/* Appends; on failure the file may hold part of the data, which the next prepare cuts. */
static int append(const char *path, const char *q, size_t left, vb_err *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return vb_fail(err, "%s: %s", path, strerror(errno));
    while (left > 0) {
        ssize_t w = write(fd, q, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            break;
        q += w;
        left -= (size_t)w;
    }
    if (left > 0) {
        int e = errno;
        close(fd);
        return vb_fail(err, "%s: write failed: %s", path, strerror(e));
    }
    if (close(fd) != 0)
        return vb_fail(err, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

int vb_hist_append(vb_hist_station *st, const vb_hist_param *p, const char *lines, size_t len,
                   vb_err *err)
{
    char *path = csv_path(st, p);
    if (!path)
        return vb_fail(err, "out of memory");
    st->appended = 1;
    int rc = append(path, lines, len, err);
    free(path);
    return rc;
}

void vb_hist_note(vb_hist_param *p, size_t len, long long last_tried, long long newest)
{
    if (p->bytes < 0)
        p->bytes = 0;
    p->bytes += (long long)len;
    p->last_tried = last_tried;
    p->has_tried = 1;
    if (newest >= 0 && (!p->has_seen || newest > p->last_seen)) {
        p->last_seen = newest;
        p->has_seen = 1;
    }
}
