/*
 * snapshot.c - see snapshot.h.
 *
 * A small recursive-descent JSON reader that understands the snapshot's
 * shape ({station: {data: {param: [recvTime, value]}, ...}, ...}) and skips
 * everything else. Numbers take Clinger's exact fast path when they can
 * (recvTimes always can) and strtod otherwise, so results equal strtod's.
 */
#include "host/snapshot.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host/lua_host.h"
#include "core/util.h"

/* Nesting deeper than this in skipped values is refused, not recursed into. */
#define MAX_DEPTH 200
/* A longer string value is dropped: no reading is that long, and a table cell would carry it. */
#define MAX_VALUE_BYTES 65536

typedef struct parser {
    lua_State *L;
    const char *p, *end;
    char *scratch;   /* for strings with escapes; as long as the text, so always enough */
    int scratch_idx; /* its stack slot: nil until a string with escapes shows up */
    const char *error;
} parser;

/* What a point or a station can be dropped for: one warning per kind and snapshot. */
enum {
    BAD_NAME,
    BAD_TIME,
    BAD_VALUE,
    BAD_SHAPE,
    BAD_EPOCH,
    BAD_LONG,
    BAD_POINT_KINDS,
    BAD_DATA = BAD_POINT_KINDS, /* station-level from here on */
    BAD_NO_DATA,
    BAD_STATION_KINDS,
    KEPT_FUTURE = BAD_STATION_KINDS, /* points kept, but worth a line */
    KEPT_NOT_UTF8,
    NBAD
};

/* A point this far ahead of the wall clock is kept but reported (LMT once sent 2033). */
#define FUTURE_SLACK_S 3600

/* The columns being filled, and what to report. */
typedef struct sink {
    int station, param, time, value; /* stack indexes of the column tables */
    lua_Integer n;
    double now; /* the wall clock, for the far-future report; 0: none */
    long bad[NBAD];
    char example[NBAD][128];
} sink;

static int fail(parser *ps, const char *why)
{
    if (!ps->error)
        ps->error = why;
    return -1;
}

static void ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\t' || *ps->p == '\r'))
        ps->p++;
}

static int expect(parser *ps, char c)
{
    ws(ps);
    if (ps->p >= ps->end || *ps->p != c)
        return fail(ps, c == ':' ? "':' expected" : c == ']' ? "']' expected" : "'}' expected");
    ps->p++;
    return 0;
}

static int hex4(parser *ps, const char *s, unsigned *out)
{
    if (ps->end - s < 4)
        return fail(ps, "bad \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = vb_hexval(s[i]);
        if (h < 0)
            return fail(ps, "bad \\u escape");
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/*
 * A string at ps->p (on its opening quote): *s and *len point into the text
 * when it has no escapes, else into the scratch buffer.
 */
static int string(parser *ps, const char **s, size_t *len)
{
    const char *start = ++ps->p;
    const char *q = start;
    while (q < ps->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
        q++;
    if (q < ps->end && *q == '"') {
        *s = start;
        *len = (size_t)(q - start);
        ps->p = q + 1;
        return 0;
    }
    if (!ps->scratch) {
        /* Made on demand: most snapshots have no escapes, and this is as big as the text. */
        ps->scratch = lua_newuserdatauv(ps->L, (size_t)(ps->end - ps->p) + 1, 0);
        lua_replace(ps->L, ps->scratch_idx);
    }
    char *o = ps->scratch;
    memcpy(o, start, (size_t)(q - start));
    o += q - start;
    while (q < ps->end && *q != '"') {
        if ((unsigned char)*q < 0x20)
            return fail(ps, "control character in a string");
        if (*q != '\\') {
            *o++ = *q++;
            continue;
        }
        if (++q >= ps->end)
            break;
        char c = *q++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            *o++ = c;
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(ps, q, &cp))
                return -1;
            q += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && ps->end - q >= 6 && q[0] == '\\' && q[1] == 'u' &&
                hex4(ps, q + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                q += 6;
            }
            o = put_utf8(o, cp);
            break;
        }
        default:
            return fail(ps, "bad escape in a string");
        }
    }
    if (q >= ps->end)
        return fail(ps, "unterminated string");
    ps->p = q + 1;
    *s = ps->scratch;
    *len = (size_t)(o - ps->scratch);
    return 0;
}

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * Python's json module, which vlbimon speaks, writes these for float('nan')
 * and float('inf'); refusing them would throw away a whole snapshot for one
 * bad reading, so they parse and the point is dropped later.
 */
static int non_finite(parser *ps, double *out)
{
    static const struct {
        const char *word;
        double v;
    } words[] = {{"NaN", NAN}, {"Infinity", INFINITY}, {"-Infinity", -INFINITY}};
    for (size_t i = 0; i < VB_COUNT(words); i++) {
        size_t n = strlen(words[i].word);
        if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, words[i].word, n) == 0) {
            ps->p += n;
            *out = words[i].v;
            return 1;
        }
    }
    return 0;
}

/* A JSON number; *is_int when it is written without fraction or exponent. */
static int number(parser *ps, double *out, int *is_int)
{
    const char *s = ps->p, *q = s;
    int neg = 0, digits = 0, frac = 0;
    *is_int = 0;
    if (non_finite(ps, out))
        return 0;
    unsigned long long m = 0;
    if (q < ps->end && *q == '-') {
        neg = 1;
        q++;
    }
    const char *int_start = q;
    while (q < ps->end && *q >= '0' && *q <= '9') {
        if (digits < 19)
            m = m * 10 + (unsigned)(*q - '0');
        digits++;
        q++;
    }
    if (q == int_start || (*int_start == '0' && q - int_start > 1))
        return fail(ps, "bad number");
    *is_int = 1;
    if (q < ps->end && *q == '.') {
        const char *f = ++q;
        while (q < ps->end && *q >= '0' && *q <= '9') {
            if (digits < 19)
                m = m * 10 + (unsigned)(*q - '0');
            digits++;
            frac++;
            q++;
        }
        if (q == f)
            return fail(ps, "bad number");
        *is_int = 0;
    }
    int exp = 0;
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        const char *e = q;
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
        if (q == e)
            return fail(ps, "bad number");
        exp = 1;
        *is_int = 0;
    }
    ps->p = q;
    if (!exp && digits <= 15 && frac <= 22) {
        /* Both operands exact, one correctly rounded division: equals strtod. */
        double d = (double)m / POW10[frac];
        *out = neg ? -d : d;
        return 0;
    }
    char buf[512];
    size_t n = (size_t)(q - s);
    if (n >= sizeof buf)
        return fail(ps, "number too long");
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return 0;
}

static int skip(parser *ps, int depth);

static int skip_container(parser *ps, char close, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(ps, "nested too deeply");
    ps->p++;
    ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        ws(ps);
        if (close == '}') {
            const char *s;
            size_t len;
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, "object key expected");
            if (string(ps, &s, &len) || expect(ps, ':'))
                return -1;
        }
        if (skip(ps, depth + 1))
            return -1;
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        return expect(ps, close);
    }
}

static int literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "unexpected character");
    ps->p += n;
    return 0;
}

static int skip(parser *ps, int depth)
{
    ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end");
    const char *s;
    size_t len;
    double d;
    int is_int;
    switch (*ps->p) {
    case '{':
        return skip_container(ps, '}', depth);
    case '[':
        return skip_container(ps, ']', depth);
    case '"':
        return string(ps, &s, &len);
    case 't':
        return literal(ps, "true");
    case 'f':
        return literal(ps, "false");
    case 'n':
        return literal(ps, "null");
    default:
        return number(ps, &d, &is_int);
    }
}

/*
 * Pushes a scalar value (0), or skips a null/array/object/non-finite number
 * (1) or a string longer than MAX_VALUE_BYTES (2); -1 on bad JSON.
 */
static int push_value(parser *ps)
{
    ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end");
    const char *s;
    size_t len;
    double d;
    int is_int;
    switch (*ps->p) {
    case '"':
        if (string(ps, &s, &len))
            return -1;
        if (len > MAX_VALUE_BYTES)
            return 2;
        lua_pushlstring(ps->L, s, len);
        return 0;
    case 't':
        if (literal(ps, "true"))
            return -1;
        lua_pushboolean(ps->L, 1);
        return 0;
    case 'f':
        if (literal(ps, "false"))
            return -1;
        lua_pushboolean(ps->L, 0);
        return 0;
    case '{':
    case '[':
    case 'n':
        return skip(ps, 1) ? -1 : 1;
    default:
        if (number(ps, &d, &is_int))
            return -1;
        if (!isfinite(d))
            return 1;
        if (d == floor(d) && fabs(d) < 9.2e18)
            lua_pushinteger(ps->L, (lua_Integer)d);
        else
            lua_pushnumber(ps->L, d);
        return 0;
    }
}

static void bad(sink *k, int kind, const char *station, const char *param, size_t plen)
{
    if (k->bad[kind]++ == 0)
        snprintf(k->example[kind], sizeof k->example[kind], "%.40s%s%.*s", station,
                 param ? " " : "", (int)(plen > 60 ? 60 : plen), param ? param : "");
}

static int is_name(const char *s, size_t len)
{
    if (len == 0 || len > 200 || memchr(s, '\0', len))
        return 0;
    char buf[201];
    memcpy(buf, s, len);
    buf[len] = '\0';
    return vb_is_identifier(buf);
}

/*
 * One data entry, [recvTime, value, ...], of the station at stack index st.
 * Returns 1 with the time in *t when a point was added, 0 when dropped.
 */
static int entry(parser *ps, sink *k, int st, const char *param, size_t plen, lua_Integer *t)
{
    lua_State *L = ps->L;
    const char *station = lua_tostring(L, st);
    int good_name = is_name(param, plen);
    ws(ps);
    if (ps->p >= ps->end || *ps->p != '[') {
        if (skip(ps, 1))
            return -1;
        bad(k, good_name ? BAD_SHAPE : BAD_NAME, station, param, plen);
        return 0;
    }
    ps->p++;
    ws(ps);
    double d = NAN;
    int is_int, time_ok = 0;
    if (ps->p < ps->end &&
        (*ps->p == '-' || *ps->p == 'N' || *ps->p == 'I' || (*ps->p >= '0' && *ps->p <= '9'))) {
        if (number(ps, &d, &is_int))
            return -1;
        time_ok = isfinite(d) && fabs(d) < 9e15;
    } else if (ps->p < ps->end && *ps->p != ']' && skip(ps, 1)) {
        return -1;
    }
    /* The name is pushed before the value: the scratch buffer may hold it. */
    if (good_name)
        lua_pushlstring(L, param, plen);
    int v = 1;
    ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        if ((v = push_value(ps)) < 0)
            return -1;
    }
    ws(ps);
    while (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        if (skip(ps, 1))
            return -1;
        ws(ps);
    }
    if (expect(ps, ']'))
        return -1;
    /* No vlbimon point predates 1970; one that claims to is garbage, not history. */
    int epoch_ok = !time_ok || d >= 0;
    if (!good_name || !time_ok || !epoch_ok || v != 0) {
        lua_pop(L, (good_name ? 1 : 0) + (v == 0 ? 1 : 0));
        bad(k,
            !good_name  ? BAD_NAME
            : !time_ok  ? BAD_TIME
            : !epoch_ok ? BAD_EPOCH
            : v == 2    ? BAD_LONG
                        : BAD_VALUE,
            station, param, plen);
        return 0;
    }
    if (k->now > 0 && d > k->now + FUTURE_SLACK_S)
        bad(k, KEPT_FUTURE, station, param, plen);
    size_t vlen;
    const char *vs = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &vlen) : NULL;
    if (vs && !vb_utf8_valid(vs, vlen))
        bad(k, KEPT_NOT_UTF8, station, param, plen);
    *t = (lua_Integer)floor(d);
    k->n++;
    lua_rawseti(L, k->value, k->n);
    lua_rawseti(L, k->param, k->n);
    lua_pushinteger(L, *t);
    lua_rawseti(L, k->time, k->n);
    lua_pushvalue(L, st);
    lua_rawseti(L, k->station, k->n);
    return 1;
}

/* {"param": [t, v], ...} of the station at stack index st; counts its points. */
static int data(parser *ps, sink *k, int st, long *count, lua_Integer *newest, int *have)
{
    ws(ps);
    if (ps->p >= ps->end || *ps->p != '{') {
        bad(k, BAD_DATA, lua_tostring(ps->L, st), NULL, 0);
        return skip(ps, 1);
    }
    ps->p++;
    ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        ws(ps);
        const char *name;
        size_t len;
        if (ps->p >= ps->end || *ps->p != '"')
            return fail(ps, "object key expected");
        if (string(ps, &name, &len) || expect(ps, ':'))
            return -1;
        lua_Integer t;
        int rc = entry(ps, k, st, name, len, &t);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            (*count)++;
            if (!*have || t > *newest)
                *newest = t;
            *have = 1;
        }
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        return expect(ps, '}');
    }
}

/* One station's object: its "data" member is read, everything else skipped. */
static int station(parser *ps, sink *k, int st, long *count, lua_Integer *newest, int *have)
{
    ws(ps);
    if (ps->p >= ps->end || *ps->p != '{') {
        vb_log_msg(&vb_lua_app(ps->L)->log, VB_WARN,
                   "snapshot: ignoring station %s (not an object)", lua_tostring(ps->L, st));
        return skip(ps, 1);
    }
    ps->p++;
    ws(ps);
    int seen_data = 0;
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
    } else {
        for (;;) {
            ws(ps);
            const char *key;
            size_t len;
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, "object key expected");
            if (string(ps, &key, &len) || expect(ps, ':'))
                return -1;
            int is_data = len == 4 && memcmp(key, "data", 4) == 0;
            seen_data |= is_data;
            if (is_data ? data(ps, k, st, count, newest, have) : skip(ps, 1))
                return -1;
            ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (expect(ps, '}'))
                return -1;
            break;
        }
    }
    if (!seen_data)
        bad(k, BAD_NO_DATA, lua_tostring(ps->L, st), NULL, 0);
    return 0;
}

static int column(lua_State *L, int points, const char *name)
{
    if (lua_getfield(L, points, name) != LUA_TTABLE)
        luaL_error(L, "flatten: points.%s is not a table", name);
    return lua_gettop(L);
}

/* Whether the station (at the top of the stack) is to be read. */
static int wanted(lua_State *L, int only, const char *name, size_t len)
{
    if ((len == 8 && memcmp(name, "vexfiles", 8) == 0))
        return 0;
    if (len == 6 && memcmp(name, "bridge", 6) == 0) {
        vb_log_msg(&vb_lua_app(L)->log, VB_WARN,
                   "snapshot: ignoring data from a station named 'bridge'; only the bridge "
                   "writes its own metrics");
        return 0;
    }
    if (lua_isnil(L, only))
        return 1;
    lua_pushvalue(L, -1);
    int keep = lua_rawget(L, only) != LUA_TNIL;
    lua_pop(L, 1);
    return keep;
}

static int stations(parser *ps, sink *k, int only, int counts, lua_Integer *newest, int *have)
{
    lua_State *L = ps->L;
    ws(ps);
    if (ps->p >= ps->end || *ps->p != '{')
        return fail(ps, "the JSON is not an object");
    ps->p++;
    ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    lua_Integer nst = 0;
    for (;;) {
        ws(ps);
        const char *name;
        size_t len;
        if (ps->p >= ps->end || *ps->p != '"')
            return fail(ps, "object key expected");
        if (string(ps, &name, &len) || expect(ps, ':'))
            return -1;
        lua_pushlstring(L, name, len);
        int st = lua_gettop(L);
        long count = 0;
        int rc =
            wanted(L, only, name, len) ? station(ps, k, st, &count, newest, have) : skip(ps, 1);
        if (rc)
            return -1;
        if (count > 0) {
            lua_pushvalue(L, st);
            lua_rawseti(L, counts, ++nst);
            lua_pushinteger(L, count);
            lua_rawset(L, counts);
        } else {
            lua_pop(L, 1);
        }
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        return expect(ps, '}');
    }
}

int vb_snapshot_flatten(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    luaL_checktype(L, 2, LUA_TTABLE);
    double now = luaL_optnumber(L, 4, 0);
    int only = 3;
    lua_settop(L, 3);
    if (!lua_isnil(L, only))
        luaL_checktype(L, only, LUA_TTABLE);
    lua_pushnil(L);
    parser ps = {L, text, text + len, NULL, lua_gettop(L), NULL};
    sink k = {0};
    k.now = now;
    lua_getfield(L, 2, "n");
    k.n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    k.station = column(L, 2, "station");
    k.param = column(L, 2, "param");
    k.time = column(L, 2, "time");
    k.value = column(L, 2, "value");
    lua_newtable(L);
    int counts = lua_gettop(L);
    lua_Integer newest = 0;
    int have = 0;
    int rc = stations(&ps, &k, only, counts, &newest, &have);
    if (rc == 0) {
        ws(&ps);
        if (ps.p != ps.end)
            rc = fail(&ps, "text after the JSON value");
    }
    lua_pushinteger(L, k.n);
    lua_setfield(L, 2, "n");
    if (rc) {
        lua_pushnil(L);
        lua_pushfstring(L, "not a snapshot: %s at byte %d", ps.error, (int)(ps.p - text));
        return 2;
    }
    static const char *const kinds[NBAD] = {
        [BAD_NAME] = "parameter name is not an SQL identifier",
        [BAD_TIME] = "time is not a finite number",
        [BAD_VALUE] = "value is not a finite number, a string or a boolean",
        [BAD_SHAPE] = "entry is not a [recvTime, value] array",
        [BAD_EPOCH] = "time is before 1970",
        [BAD_LONG] = "value is longer than 65536 bytes",
        [BAD_DATA] = "its data is not an object",
        [BAD_NO_DATA] = "it has no data",
        [KEPT_FUTURE] = "time is more than an hour ahead of the clock",
        [KEPT_NOT_UTF8] = "value is not UTF-8",
    };
    for (int i = 0; i < NBAD; i++)
        if (k.bad[i])
            vb_log_msg(&vb_lua_app(L)->log, VB_WARN, "snapshot: %ld %s: %s (e.g. %s)", k.bad[i],
                       i < BAD_POINT_KINDS     ? "point(s) dropped"
                       : i < BAD_STATION_KINDS ? "station(s) ignored"
                                               : "point(s) stored as sent, with a warning",
                       kinds[i], k.example[i]);
    lua_pushvalue(L, counts);
    if (have)
        lua_pushinteger(L, newest);
    else
        lua_pushnil(L);
    return 2;
}
