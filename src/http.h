/*
 * http.h - talking to vlbimon over HTTP(S) with libcurl: one easy handle per
 * client, reused for every request so a months-long run keeps one
 * connection, with TLS verification always on.
 */
#ifndef VB_HTTP_H
#define VB_HTTP_H

#include "util.h"

/* One unauthenticated GET (the masterlist); body into out. */
int vb_http_fetch(const char *url, vb_buf *out, long timeout_s, vb_err *err);

#endif
