/*
 * http.c - see http.h.
 */
#include "http.h"

#include <curl/curl.h>

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    return vb_buf_append(ud, p, size * n) ? 0 : size * n;
}

int vb_http_fetch(const char *url, vb_buf *out, long timeout_s, vb_err *err)
{
    CURL *c = curl_easy_init();
    if (!c)
        return vb_fail(err, "%s: cannot initialise libcurl", url);
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return vb_fail(err, "%s: %s", url, *ebuf ? ebuf : curl_easy_strerror(rc));
    if (status != 200)
        return vb_fail(err, "%s: HTTP status %ld", url, status);
    return 0;
}
