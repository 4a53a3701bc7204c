/*
 * common.c - see fuzz.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int fuzz_app_init(vb_app *app, vb_err *err)
{
    memset(app, 0, sizeof *app);
    app->log.verbosity = VB_DEBUG;
    if (!(app->log.out = fopen("/dev/null", "w")))
        return vb_fail(err, "/dev/null: cannot open");
    app->root = ".";
    app->masterlist = "share/masterlist.json";
    app->datadir = "data";
    app->server_host = "127.0.0.1";
    return 0;
}

char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}
