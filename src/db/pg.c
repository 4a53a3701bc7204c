/*
 * pg.c - see pg.h.
 *
 * The masker follows libpq's own parsers (conninfo_parse and
 * conninfo_uri_parse in fe-connect.c) closely enough that what libpq takes
 * for the password is what gets masked; where the two could disagree, as in
 * a string libpq refuses, it masks more, never less. libpq's messages about
 * a malformed string quote pieces of it, so they are shown only for a string
 * that holds no password.
 */
#include "db/pg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MASK "********"

static int is_space(char c)
{
    return isspace((unsigned char)c);
}

/* Whether key[0..n) names a secret: the password, or the one of the client's TLS key. */
static int is_secret(const char *key, size_t n)
{
    static const char *const secrets[] = {"password", "sslpassword"};
    for (size_t i = 0; i < VB_COUNT(secrets); i++)
        if (n == strlen(secrets[i]) && memcmp(key, secrets[i], n) == 0)
            return 1;
    return 0;
}

/* is_secret of a URI parameter name, percent-decoded as libpq decodes it. */
static int uri_key_is_secret(const char *s, size_t n)
{
    char key[16];
    size_t k = 0;
    for (size_t i = 0; i < n; k++) {
        int c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && vb_hexval(s[i + 1]) >= 0 && vb_hexval(s[i + 2]) >= 0) {
            c = vb_hexval(s[i + 1]) * 16 + vb_hexval(s[i + 2]);
            i += 3;
        } else {
            i++;
        }
        if (k >= sizeof key)
            return 0;
        key[k] = (char)c;
    }
    return is_secret(key, k);
}

static const char *uri_prefix(const char *s)
{
    static const char *const prefixes[] = {"postgresql://", "postgres://"};
    for (size_t i = 0; i < VB_COUNT(prefixes); i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(s, prefixes[i], n) == 0)
            return s + n;
    }
    return NULL;
}

/* postgresql://user:PASSWORD@host/db?password=PASSWORD&... */
static int mask_uri(vb_buf *out, const char *s, const char *rest)
{
    if (vb_buf_append(out, s, (size_t)(rest - s)))
        return -1;
    /* As libpq: user info runs to the first '@' before any '/', even past a '?'. */
    const char *p = rest, *host = rest;
    while (*p && *p != '@' && *p != '/')
        p++;
    if (*p == '@') {
        const char *colon = memchr(rest, ':', (size_t)(p - rest));
        if (colon) {
            if (vb_buf_append(out, rest, (size_t)(colon + 1 - rest)) || vb_buf_puts(out, MASK))
                return -1;
            rest = p;
        }
        host = p + 1;
    }
    const char *q = strchr(host, '?');
    if (!q)
        return vb_buf_puts(out, rest);
    if (vb_buf_append(out, rest, (size_t)(q + 1 - rest)))
        return -1;
    for (p = q + 1; *p;) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        if (eq && uri_key_is_secret(p, (size_t)(eq - p))) {
            if (vb_buf_append(out, p, (size_t)(eq + 1 - p)) || vb_buf_puts(out, MASK))
                return -1;
        } else if (vb_buf_append(out, p, len)) {
            return -1;
        }
        p += len;
        if (*p == '&') {
            if (vb_buf_puts(out, "&"))
                return -1;
            p++;
        }
    }
    return 0;
}

/*
 * key = value pairs; a value is 'quoted' (backslash escapes) or runs to the
 * next space (backslash escapes too). Where the string stops being one libpq
 * accepts, the rest is masked: it may be the tail of a password.
 */
static int mask_keywords(vb_buf *out, const char *s)
{
    const char *p = s;
    while (*p) {
        if (is_space(*p)) {
            if (vb_buf_append(out, p++, 1))
                return -1;
            continue;
        }
        const char *key = p;
        while (*p && *p != '=' && !is_space(*p))
            p++;
        size_t keylen = (size_t)(p - key);
        while (is_space(*p))
            p++;
        if (*p != '=')
            return vb_buf_puts(out, MASK);
        p++;
        while (is_space(*p))
            p++;
        const char *val = p;
        int closed = 1;
        if (*p == '\'') {
            closed = 0;
            for (p++; *p; p++) {
                if (*p == '\\' && p[1]) {
                    p++;
                } else if (*p == '\'') {
                    p++;
                    closed = 1;
                    break;
                }
            }
        } else {
            for (; *p && !is_space(*p); p++)
                if (*p == '\\' && p[1])
                    p++;
        }
        if (vb_buf_append(out, key, (size_t)(val - key)))
            return -1;
        if (!closed)
            return vb_buf_puts(out, MASK);
        int secret = is_secret(key, keylen);
        if (secret ? vb_buf_puts(out, MASK) : vb_buf_append(out, val, (size_t)(p - val)))
            return -1;
        /* A quoted value may touch the next key ('pw'user=u); the unquoted mask must not. */
        if (secret && *p && !is_space(*p) && vb_buf_puts(out, " "))
            return -1;
    }
    return 0;
}

char *vb_pg_mask(const char *conninfo)
{
    vb_buf out = {0};
    const char *rest = uri_prefix(conninfo);
    int rc = rest ? mask_uri(&out, conninfo, rest) : mask_keywords(&out, conninfo);
    if (rc || vb_buf_puts(&out, "")) {
        vb_buf_free(&out);
        return NULL;
    }
    return out.data;
}

/* libpq's multi-line message as one line: "a\n\tb\n" -> "a; b". */
static void one_line(const char *msg, char *buf, size_t n)
{
    size_t k = 0;
    int gap = 0;
    for (const char *p = msg ? msg : ""; *p && k + 3 < n; p++) {
        if (*p == '\n' || *p == '\r') {
            gap = 1;
            continue;
        }
        if (gap && is_space(*p))
            continue;
        if (gap && k > 0) {
            buf[k++] = ';';
            buf[k++] = ' ';
        }
        gap = 0;
        buf[k++] = *p;
    }
    buf[k] = '\0';
}

/* Whether libpq reads s as a connection string or URI rather than a database name. */
static int is_connection_string(const char *s)
{
    return uri_prefix(s) || strchr(s, '=');
}

vb_pg *vb_pg_open(const char *conninfo, vb_err *err)
{
    char line[900];
    vb_pg *pg = calloc(1, sizeof *pg);
    if (!pg || !(pg->name = vb_pg_mask(conninfo))) {
        free(pg);
        vb_fail(err, "out of memory");
        return NULL;
    }
    if (is_connection_string(conninfo)) {
        char *why = NULL;
        PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
        if (!opts) {
            if (strcmp(pg->name, conninfo) == 0) {
                one_line(why, line, sizeof line);
                vb_fail(err, "postgres %s: not a connection string or URI libpq accepts: %s",
                        pg->name, line);
            } else {
                vb_fail(err,
                        "postgres %s: not a connection string or URI libpq accepts (its reason "
                        "is not shown: it may quote the password)",
                        pg->name);
            }
            PQfreemem(why);
            vb_pg_close(pg);
            return NULL;
        }
        PQconninfoFree(opts);
    }
    /*
     * Later keywords override earlier ones, and dbname expands into the
     * whole connection string: what it says wins over these defaults. Over
     * TCP, a server or a network gone silent is found out within about 30
     * s (keepalives, and a limit on data the server has not acknowledged),
     * not the kernel's two hours: the sink then reconnects.
     */
    static const char *const tcp[][2] = {{"keepalives_idle", "10"},
                                         {"keepalives_interval", "5"},
                                         {"keepalives_count", "3"},
                                         {"tcp_user_timeout", "30000"}};
    const char *keys[VB_COUNT(tcp) + 5], *vals[VB_COUNT(tcp) + 5];
    int n = 0;
    if (!getenv("PGCONNECT_TIMEOUT")) {
        keys[n] = "connect_timeout";
        vals[n++] = "10";
    }
    for (size_t i = 0; i < VB_COUNT(tcp); i++) {
        keys[n] = tcp[i][0];
        vals[n++] = tcp[i][1];
    }
    keys[n] = "fallback_application_name";
    vals[n++] = "vlbimon_bridge";
    keys[n] = "client_encoding";
    vals[n++] = "UTF8";
    keys[n] = "dbname";
    vals[n++] = conninfo;
    keys[n] = NULL;
    vals[n] = NULL;
    pg->conn = PQconnectdbParams(keys, vals, 1);
    if (!pg->conn) {
        vb_fail(err, "postgres %s: out of memory", pg->name);
        vb_pg_close(pg);
        return NULL;
    }
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        one_line(PQerrorMessage(pg->conn), line, sizeof line);
        vb_fail(err, "postgres %s: %s", pg->name, line);
        vb_pg_close(pg);
        return NULL;
    }
    return pg;
}

void vb_pg_close(vb_pg *pg)
{
    if (!pg)
        return;
    PQfinish(pg->conn);
    free(pg->name);
    free(pg);
}

const char *vb_pg_error_line(const vb_pg *pg, char *buf, size_t n)
{
    one_line(pg && pg->conn ? PQerrorMessage(pg->conn) : NULL, buf, n);
    if (!buf[0])
        snprintf(buf, n, "no answer");
    return buf;
}

/* The server's own one-line message for a failed result, else the connection's. */
static int result_fail(vb_pg *pg, const PGresult *res, vb_err *err)
{
    char line[900];
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    one_line(primary ? primary : PQerrorMessage(pg->conn), line, sizeof line);
    if (!line[0])
        snprintf(line, sizeof line, "unexpected answer %s",
                 res ? PQresStatus(PQresultStatus(res)) : "(none)");
    return vb_fail(err, "postgres %s: %s", pg->name, line);
}

int vb_pg_exec(vb_pg *pg, const char *sql, vb_err *err)
{
    PGresult *res = PQexec(pg->conn, sql);
    int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        result_fail(pg, res, err);
    PQclear(res);
    return ok ? 0 : -1;
}

PGresult *vb_pg_query(vb_pg *pg, const char *sql, int nparams, const char *const *params,
                      vb_err *err)
{
    PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK)
        return res;
    result_fail(pg, res, err);
    PQclear(res);
    return NULL;
}
