/*
 * fetch_masterlist.c - see fetch_masterlist.h.
 */
#include "cmd/fetch_masterlist.h"

#include "net/http.h"

int cmd_masterlist(vb_app *app, int argc, char **argv)
{
    const char *output = "masterlist.json";
    const vb_opt opts[] = {
        {.lname = "output",
         .sname = 'o',
         .kind = VB_OPT_STRING,
         .dest = &output,
         .metavar = "FILE",
         .help = "where to write it (default ./masterlist.json)"},
    };
    const vb_cmdspec spec = {.prog = "vlbimon_bridge masterlist",
                             .description =
                                 "download the server's masterlist.json (no account needed)",
                             .opts = opts,
                             .nopts = VB_COUNT(opts)};
    int rc = vb_app_parse_options(app, &spec, argc, argv);
    if (rc >= 0)
        return rc;
    char url[2048];
    snprintf(url, sizeof url, "%s/static/masterlist.json", app->server_url);
    vb_buf body = {0};
    vb_masterlist ml;
    vb_err err;
    rc = VB_EXIT_FAIL;
    /* Parse before writing: a proxy's error page must not replace a good catalogue. */
    if (vb_http_fetch(url, app->cacert, &body, 60, &err) ||
        vb_masterlist_parse(body.data, body.len, url, &ml, &err)) {
        vb_log_msg(&app->log, VB_ERROR, "masterlist: %s", err.msg);
        goto out;
    }
    size_t nst = ml.nstations, np = ml.nparams;
    vb_masterlist_free(&ml);
    if (vb_write_atomic(output, body.data, body.len, &err)) {
        vb_log_msg(&app->log, VB_ERROR, "masterlist: %s", err.msg);
        goto out;
    }
    printf("wrote %s: %zu stations, %zu parameters\n", output, nst, np);
    rc = VB_EXIT_OK;
out:
    vb_buf_free(&body);
    return rc;
}
