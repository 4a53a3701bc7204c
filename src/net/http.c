/*
 * http.c - see http.h.
 */
#define _DEFAULT_SOURCE
#include "net/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct vb_http {
    CURL *curl;
    char *base;
    const vb_cred *cred;
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

/*
 * 1 when the header line p (len bytes) is "name: value" with a value that
 * fits out, which then holds it NUL-terminated, without its leading blanks.
 */
static int header_value(const char *p, size_t len, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
        return 0;
    p += nl + 1;
    len -= nl + 1;
    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    if (len >= size)
        return 0;
    memcpy(out, p, len);
    out[len] = '\0';
    return 1;
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
        r->date = -1;
        return size * n;
    }
    static const char sc[] = "set-cookie:";
    char value[64];
    double d;
    if (len > sizeof sc - 1 && strncasecmp(p, sc, sizeof sc - 1) == 0) {
        const char *v = p + sizeof sc - 1, *end = p + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        const char *semi = memchr(v, ';', (size_t)(end - v));
        if (semi)
            end = semi;
        if (vb_buf_append(&r->cookies, v, (size_t)(end - v)) || vb_buf_puts(&r->cookies, "\n"))
            return 0;
    } else if (header_value(p, len, "retry-after", value, sizeof value)) {
        /* The HTTP-date form is rare for 429/503; it falls back to our own backoff. */
        if (vb_parse_double(value, &d) == 0 && d >= 0)
            r->retry_after = d;
    } else if (header_value(p, len, "date", value, sizeof value)) {
        time_t t = curl_getdate(value, NULL);
        if (t != -1)
            r->date = (double)t;
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
    if (h->opts.cafile) {
        FILE *f = fopen(h->opts.cafile, "r");
        if (!f) {
            vb_fail(err, "CA file %s: %s", h->opts.cafile, strerror(errno));
            vb_http_free(h);
            return NULL;
        }
        fclose(f);
    }
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
    if (h->opts.cafile)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->opts.cafile);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "vlbimon_bridge");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->opts.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    if (cred && cred->kind != VB_AUTH_NONE) {
        h->cred = cred;
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
                    vb_http_cred cred, vb_http_resp *r, vb_err *err)
{
    memset(r, 0, sizeof *r);
    r->retry_after = -1;
    r->date = -1;
    vb_buf url = {0};
    if (vb_buf_printf(&url, "%s%s", h->base, path))
        return vb_fail(err, "%s%s: out of memory", h->base, path);
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    h->resp = r;
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
    /* Without a user name libcurl sends no Authorization header, Digest state or not. */
    int with_cred = cred == VB_HTTP_CRED && h->cred;
    curl_easy_setopt(c, CURLOPT_USERNAME, with_cred ? h->cred->user : NULL);
    curl_easy_setopt(c, CURLOPT_PASSWORD, with_cred ? h->cred->password : NULL);
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
        r->cert_failed = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
                         rc == CURLE_SSL_ISSUER_ERROR;
        /* Without the query: a history request's runs to kilobytes, and its caller names it. */
        int ulen = (int)strcspn(url.data, "?");
        if (r->too_big)
            vb_fail(err, "%s %.*s: answer larger than %zu bytes", method, ulen, url.data,
                    h->opts.max_body);
        else if (r->cert_failed)
            vb_fail(err, "%s %.*s: certificate verification failed (%s)", method, ulen, url.data,
                    why);
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

void vb_http_set_limits(vb_http *h, long timeout_ms, size_t max_body)
{
    h->opts.timeout_ms = timeout_ms;
    h->opts.max_body = max_body;
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
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

int vb_http_fetch(const char *url, const char *cafile, vb_buf *out, long timeout_s, vb_err *err)
{
    vb_http_opts o = {
        .connect_timeout_ms = timeout_s * 1000, .timeout_ms = timeout_s * 1000, .cafile = cafile};
    vb_http *h = vb_http_new("", NULL, &o, err);
    if (!h)
        return -1;
    vb_http_resp r;
    int rc = vb_http_request(h, "GET", url, NULL, VB_HTTP_NO_CRED, &r, err);
    if (rc == 0 && r.status != 200)
        rc = vb_fail(err, "%s: HTTP status %ld", url, r.status);
    if (rc == 0 && vb_buf_append(out, r.body.data, r.body.len))
        rc = vb_fail(err, "%s: out of memory", url);
    vb_http_resp_free(&r);
    vb_http_free(h);
    return rc;
}
