/*
 * http.h - talking to vlbimon over HTTP(S) with libcurl: one easy handle per
 * client, reused for every request so a months-long run keeps one
 * connection, with TLS verification always on (against the system's CAs or
 * a CA file), gzip accepted, and the account's Basic or Digest credentials
 * attached to the requests that ask for them: vlbimon wants them on
 * POST /session, PATCH /session/<id> and /data/history only, and the
 * session cookie authenticates snapshots, so the password crosses the wire
 * once per session.
 *
 * Nothing here logs credentials: curl's verbose mode (which prints the
 * Authorization header) is never switched on.
 *
 * Layer net (docs/architecture.md): includes core/, host/ (the JSON decoder) and net/.
 */
#ifndef VB_HTTP_H
#define VB_HTTP_H

#include "net/secrets.h"
#include "core/util.h"

typedef struct vb_http vb_http;

typedef struct vb_http_opts {
    long connect_timeout_ms; /* 0: libcurl's default */
    long timeout_ms;         /* whole request; 0: none */
    const char *cafile;      /* CA certificates (PEM) to trust; NULL: the system's */
    /*
     * Polled during a transfer (libcurl calls it at least once a second, more
     * often while bytes flow); nonzero aborts the request. NULL: never abort.
     */
    int (*should_abort)(void *ud);
    void *abort_ud;
    size_t max_body; /* decoded body bytes at most: a longer answer fails (too_big); 0: no limit */
} vb_http_opts;

typedef struct vb_http_resp {
    long status;        /* HTTP status; 0 when no answer arrived */
    vb_buf body;        /* decoded body (gzip undone), NUL-terminated */
    vb_buf cookies;     /* "name=value\n" per Set-Cookie header */
    double retry_after; /* Retry-After in seconds; -1 when absent */
    double date;        /* the Date header (the server's clock), unix seconds; -1 when absent */
    double seconds;     /* how long the request took */
    long wire_bytes;    /* bytes received, headers included, before decoding */
    int cert_failed;    /* no answer: the server's certificate could not be verified */
    int too_big;        /* the request failed because the body passed opts.max_body */
} vb_http_resp;

/* Whether a request carries the account's credentials. */
typedef enum { VB_HTTP_NO_CRED, VB_HTTP_CRED } vb_http_cred;

/*
 * base_url without trailing slash, e.g. "https://vlbimon2.science.ru.nl"; cred may be NULL,
 * and must outlive the client. Fails when o->cafile cannot be read.
 */
vb_http *vb_http_new(const char *base_url, const vb_cred *cred, const vb_http_opts *o, vb_err *err);
void vb_http_free(vb_http *h);

/*
 * One request: method "GET", "POST" or "PATCH"; path starts with '/';
 * cookie is a Cookie header value or NULL; cred says whether the client's
 * credentials go with it. Returns 0 when an answer of any status arrived
 * (r->status says which) and -1, with a one-line message naming the URL,
 * when none did (refused, timed out, dropped, aborted, longer than
 * opts.max_body, or the certificate failed verification: then
 * r->cert_failed is set and the message says so).
 * The caller frees r with vb_http_resp_free, also after a failure.
 */
int vb_http_request(vb_http *h, const char *method, const char *path, const char *cookie,
                    vb_http_cred cred, vb_http_resp *r, vb_err *err);
void vb_http_resp_free(vb_http_resp *r);

/*
 * Changes opts.timeout_ms and opts.max_body for the requests that follow:
 * one handle serves requests of different sizes and deadlines (the bridge's
 * snapshots and its backfill's history answers).
 */
void vb_http_set_limits(vb_http *h, long timeout_ms, size_t max_body);

/* The value of a cookie the answer set, or NULL; caller frees. */
char *vb_http_cookie(const vb_http_resp *r, const char *name);

/* URL-encodes s for a query string; caller frees. NULL when out of memory. */
char *vb_http_escape(vb_http *h, const char *s);

/* Connections opened so far (a reused connection counts once). */
long vb_http_connections(const vb_http *h);

/*
 * One unauthenticated GET with its own handle (the masterlist); body into
 * out. cafile as in vb_http_opts.
 */
int vb_http_fetch(const char *url, const char *cafile, vb_buf *out, long timeout_s, vb_err *err);

#endif
