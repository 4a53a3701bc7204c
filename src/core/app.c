/*
 * app.c - see app.h.
 */
#define _GNU_SOURCE
#include "core/app.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef VB_SHAREDIR
#define VB_SHAREDIR "/usr/local/share/vlbimon-bridge"
#endif

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

char *vb_find_root(vb_err *err)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char probe[PATH_MAX + 32];
            snprintf(probe, sizeof probe, "%s/lua", exe);
            /* Run from a build in the source tree: use its Lua code, not an installed copy. */
            if (is_dir(probe))
                return vb_strdup(exe);
        }
    }
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s/lua", VB_SHAREDIR);
    if (!is_dir(probe)) {
        vb_fail(err, "cannot find the project's Lua code: neither next to the binary nor in %s",
                VB_SHAREDIR);
        return NULL;
    }
    return vb_strdup(VB_SHAREDIR);
}

int vb_server_check(const char *url, char **host, vb_err *err)
{
    const char *rest;
    int https;
    if (strncmp(url, "https://", 8) == 0) {
        https = 1;
        rest = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        https = 0;
        rest = url + 7;
    } else {
        return vb_fail(err,
                       "--server %s: the URL must start with https:// (or http:// for a "
                       "loopback host)",
                       url);
    }
    const char *end = rest + strcspn(rest, "/?#");
    const char *at = memchr(rest, '@', (size_t)(end - rest));
    if (at)
        return vb_fail(err, "--server %s: put credentials in the secrets file, not the URL", url);
    const char *hs = rest, *he;
    if (*hs == '[') {
        he = memchr(hs, ']', (size_t)(end - hs));
        if (!he)
            return vb_fail(err, "--server %s: unterminated IPv6 address", url);
        hs++;
    } else {
        he = memchr(hs, ':', (size_t)(end - hs));
        if (!he)
            he = end;
    }
    if (he == hs)
        return vb_fail(err, "--server %s: no host name", url);
    char *h = strndup(hs, (size_t)(he - hs));
    if (!h)
        return vb_fail(err, "out of memory");
    for (char *c = h; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    int loopback =
        strcmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0;
    if (!https && !loopback) {
        vb_fail(err, "--server %s: plain http is allowed only for loopback hosts; use https", url);
        free(h);
        return -1;
    }
    *host = h;
    return 0;
}

const vb_masterlist *vb_app_masterlist(vb_app *app, vb_err *err)
{
    if (app->ml_loaded)
        return &app->ml;
    if (vb_masterlist_load(app->masterlist, &app->ml, err))
        return NULL;
    app->ml_loaded = 1;
    return &app->ml;
}

const vb_masterlist *vb_app_masterlist_for_work(vb_app *app, vb_err *err)
{
    if (app->ml_fixture && !app->ml_warned) {
        app->ml_warned = 1;
        vb_log_msg(&app->log, VB_WARN,
                   "%s is the bundled test fixture, not vlbimon's catalogue (there is no "
                   "./masterlist.json); download the server's with: vlbimon_bridge --server %s "
                   "masterlist",
                   app->masterlist, app->server_url);
    }
    return vb_app_masterlist(app, err);
}

int vb_app_parse(vb_app *app, const vb_cmdspec *spec, int argc, char **argv, const char ***pos,
                 size_t *npos)
{
    (void)app;
    vb_err err;
    switch (vb_cli_parse(spec, argc, argv, pos, npos, stdout, &err)) {
    case VB_CLI_HELP:
        return VB_EXIT_OK;
    case VB_CLI_ERROR:
        fprintf(stderr, "%s\n", err.msg);
        return VB_EXIT_USAGE;
    default:
        return -1;
    }
}

int vb_app_parse_options(vb_app *app, const vb_cmdspec *spec, int argc, char **argv)
{
    const char **pos;
    size_t npos;
    int rc = vb_app_parse(app, spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    if (npos) {
        fprintf(stderr, "%s: error: unrecognized arguments: %s\n", spec->prog, pos[0]);
        rc = VB_EXIT_USAGE;
    }
    free(pos);
    return rc;
}

int vb_app_databases(const vb_cmdspec *spec, const char *sqlitedb, const char *postgres,
                     int required)
{
    const char *msg = sqlitedb && postgres
                          ? "argument --postgres: not allowed with argument --sqlitedb"
                      : required && !sqlitedb && !postgres
                          ? "one of the arguments --sqlitedb --postgres is required"
                          : NULL;
    if (!msg)
        return -1;
    fprintf(stderr, "%s: error: %s\n", spec->prog, msg);
    return VB_EXIT_USAGE;
}
