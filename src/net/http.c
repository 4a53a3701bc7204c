/*
 * http.c - see http.h.
 */
#define _DEFAULT_SOURCE
#include "net/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct vb_http {
    CURL *curl;
    char *base;
    vb_http_opts opts;
    long connections;
    char ebuf[CURL_ERROR_SIZE];
    vb_http_resp *resp; /* the answer being received */
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    vb_http *h = ud;
    if (h->opts.max_body && size * n > h->opts.max_body - h->resp->body.len) {
        h->resp->too_big = 1;
        return 0;
    }
    return vb_buf_append(&h->resp->body, p, size * n) ? 0 : size * n;
}

static int progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const vb_http *h = ud;
    return h->opts.should_abort && h->opts.should_abort(h->opts.abort_ud);
}

/* Header lines arrive one at a time, unterminated by NUL and ending in CRLF. */
static size_t header(char *p, size_t size, size_t n, void *ud)
{
    vb_http_resp *r = ud;
    size_t len = size * n;
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    /* Every header block (a 401 before a Digest retry, redirects) starts afresh. */
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        r->cookies.len = 0;
        if (r->cookies.data)
            r->cookies.data[0] = '\0';
        r->retry_after = -1;
        return size * n;
    }
    static const char sc[] = "set-cookie:", ra[] = "retry-after:";
    if (len > sizeof sc - 1 && strncasecmp(p, sc, sizeof sc - 1) == 0) {
        const char *v = p + sizeof sc - 1, *end = p + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        const char *semi = memchr(v, ';', (size_t)(end - v));
        if (semi)
            end = semi;
        if (vb_buf_append(&r->cookies, v, (size_t)(end - v)) || vb_buf_puts(&r->cookies, "\n"))
            return 0;
    } else if (len > sizeof ra - 1 && strncasecmp(p, ra, sizeof ra - 1) == 0) {
        char tmp[32];
        size_t vlen = len - (sizeof ra - 1);
        if (vlen < sizeof tmp) {
            memcpy(tmp, p + sizeof ra - 1, vlen);
            tmp[vlen] = '\0';
            char *s = tmp;
            while (*s == ' ')
                s++;
            double d;
            /* The HTTP-date form is rare for 429/503; it falls back to our own backoff. */
            if (vb_parse_double(s, &d) == 0 && d >= 0)
                r->retry_after = d;
        }
    }
    return size * n;
}

vb_http *vb_http_new(const char *base_url, const vb_cred *cred, const vb_http_opts *o, vb_err *err)
{
    vb_http *h = calloc(1, sizeof *h);
    if (!h || !(h->base = vb_strdup(base_url)) || !(h->curl = curl_easy_init())) {
        vb_http_free(h);
        vb_fail(err, "%s: cannot initialise libcurl", base_url);
        return NULL;
    }
    size_t bl = strlen(h->base);
    while (bl && h->base[bl - 1] == '/')
        h->base[--bl] = '\0';
    if (o)
        h->opts = *o;
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->ebuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* Signals belong to the host's signalfd; libcurl must not install handlers. */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "vlbimon_bridge");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->opts.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    if (cred && cred->kind != VB_AUTH_NONE) {
        curl_easy_setopt(c, CURLOPT_USERNAME, cred->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, cred->password);
        curl_easy_setopt(c, CURLOPT_HTTPAUTH,
                         cred->kind == VB_AUTH_DIGEST ? CURLAUTH_DIGEST : CURLAUTH_BASIC);
    }
    return h;
}

void vb_http_free(vb_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    free(h->base);
    free(h);
}

int vb_http_request(vb_http *h, const char *method, const char *path, const char *cookie,
                    vb_http_resp *r, vb_err *err)
{
    memset(r, 0, sizeof *r);
    r->retry_after = -1;
    vb_buf url = {0};
    if (vb_buf_printf(&url, "%s%s", h->base, path))
        return vb_fail(err, "%s%s: out of memory", h->base, path);
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    h->resp = r;
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
    /* The handle outlives requests: reset the method each time rather than inherit it. */
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    h->ebuf[0] = '\0';
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    long nconn = 0, hdr = 0;
    curl_off_t dl = 0;
    double total = 0;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn);
    curl_easy_getinfo(c, CURLINFO_HEADER_SIZE, &hdr);
    curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &dl);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &total);
    h->connections += nconn;
    r->wire_bytes = hdr + (long)dl;
    r->seconds = total;
    if (rc != CURLE_OK) {
        const char *why = rc == CURLE_ABORTED_BY_CALLBACK ? "interrupted"
                          : *h->ebuf                      ? h->ebuf
                                                          : curl_easy_strerror(rc);
        /* Without the query: a history request's runs to kilobytes, and its caller names it. */
        int ulen = (int)strcspn(url.data, "?");
        if (r->too_big)
            vb_fail(err, "%s %.*s: answer larger than %zu bytes", method, ulen, url.data,
                    h->opts.max_body);
        else
            vb_fail(err, "%s %.*s: %s", method, ulen, url.data, why);
        vb_buf_free(&url);
        r->status = 0;
        return -1;
    }
    vb_buf_free(&url);
    if (!r->body.data && vb_buf_append(&r->body, "", 0))
        return vb_fail(err, "%s %s%s: out of memory", method, h->base, path);
    return 0;
}

void vb_http_resp_free(vb_http_resp *r)
{
    vb_buf_free(&r->body);
    vb_buf_free(&r->cookies);
}

char *vb_http_cookie(const vb_http_resp *r, const char *name)
{
    size_t nl = strlen(name);
    const char *p = r->cookies.data;
    char *found = NULL;
    /* The last Set-Cookie of a name wins, as in a browser's jar. */
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            break;
        if ((size_t)(eol - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            free(found);
            size_t vl = (size_t)(eol - p) - nl - 1;
            const char *v = p + nl + 1;
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                v++;
                vl -= 2;
            }
            found = malloc(vl + 1);
            if (!found)
                return NULL;
            memcpy(found, v, vl);
            found[vl] = '\0';
        }
        p = eol + 1;
    }
    return found;
}

char *vb_http_escape(vb_http *h, const char *s)
{
    char *e = curl_easy_escape(h->curl, s, 0);
    char *out = e ? vb_strdup(e) : NULL;
    curl_free(e);
    return out;
}

long vb_http_connections(const vb_http *h)
{
    return h->connections;
}

int vb_http_fetch(const char *url, vb_buf *out, long timeout_s, vb_err *err)
{
    vb_http_opts o = {.connect_timeout_ms = timeout_s * 1000, .timeout_ms = timeout_s * 1000};
    vb_http *h = vb_http_new("", NULL, &o, err);
    if (!h)
        return -1;
    vb_http_resp r;
    int rc = vb_http_request(h, "GET", url, NULL, &r, err);
    if (rc == 0 && r.status != 200)
        rc = vb_fail(err, "%s: HTTP status %ld", url, r.status);
    if (rc == 0 && vb_buf_append(out, r.body.data, r.body.len))
        rc = vb_fail(err, "%s: out of memory", url);
    vb_http_resp_free(&r);
    vb_http_free(h);
    return rc;
}
