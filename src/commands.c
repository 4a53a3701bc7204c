/*
 * commands.c - the small subcommands: initdb, masterlist and run.
 */
#define _GNU_SOURCE
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "lua_fs.h"
#include "lua_host.h"
#include "schema.h"

#define NOPTS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Creating the file with O_EXCL first makes "refuses to overwrite" hold even
 * against a concurrent initdb; on any failure the half-made file is removed
 * so a retry is not refused.
 */
static int create_db(const char *path, const char *sql, vb_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0664);
    if (fd < 0) {
        if (errno == EEXIST)
            return vb_fail(err, "%s already exists; refusing to overwrite it", path);
        return vb_fail(err, "%s: cannot create: %s", path, strerror(errno));
    }
    close(fd);
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        vb_fail(err, "%s: %s", path, msg ? msg : db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_free(msg);
        sqlite3_close(db);
        unlink(path);
        return -1;
    }
    if (sqlite3_close(db) != SQLITE_OK) {
        unlink(path);
        return vb_fail(err, "%s: cannot close the new database", path);
    }
    return 0;
}

int cmd_initdb(vb_app *app, int argc, char **argv)
{
    const char *sqlitedb = NULL;
    const vb_opt opts[] = {
        {"sqlitedb", 0, VB_OPT_STRING, &sqlitedb, "SQLITEDB",
         "sqlite database to create (refuses an existing file); without it, print the SQL to "
         "stdout",
         0},
    };
    const vb_cmdspec spec = {"vlbimon_bridge initdb",
                             NULL,
                             "initialize a sqlite database from the masterlist",
                             NULL,
                             opts,
                             NOPTS(opts),
                             0};
    int rc = vb_app_parse_options(app, &spec, argc, argv);
    if (rc >= 0)
        return rc;
    vb_err err;
    vb_buf sql = {0};
    const vb_masterlist *ml = vb_app_masterlist(app, &err);
    if (!ml || vb_schema_sql(&sql, ml, &err)) {
        vb_log_msg(&app->log, VB_ERROR, "initdb: %s", err.msg);
        vb_buf_free(&sql);
        return VB_EXIT_FAIL;
    }
    rc = VB_EXIT_OK;
    if (!sqlitedb) {
        if (fwrite(sql.data, 1, sql.len, stdout) != sql.len || fflush(stdout) != 0) {
            vb_log_msg(&app->log, VB_ERROR, "initdb: cannot write to stdout");
            rc = VB_EXIT_FAIL;
        }
    } else if (create_db(sqlitedb, sql.data, &err)) {
        vb_log_msg(&app->log, VB_ERROR, "initdb: %s", err.msg);
        rc = VB_EXIT_FAIL;
    } else {
        vb_log_msg(&app->log, VB_INFO, "initdb: created %s from %s", sqlitedb, app->masterlist);
    }
    vb_buf_free(&sql);
    return rc;
}

int cmd_masterlist(vb_app *app, int argc, char **argv)
{
    const char *output = "masterlist.json";
    const vb_opt opts[] = {
        {"output", 'o', VB_OPT_STRING, &output, "FILE",
         "where to write it (default ./masterlist.json)", 0},
    };
    const vb_cmdspec spec = {"vlbimon_bridge masterlist",
                             NULL,
                             "download the server's masterlist.json (no account needed)",
                             NULL,
                             opts,
                             NOPTS(opts),
                             0};
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
    if (vb_http_fetch(url, &body, 60, &err) ||
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

int cmd_run(vb_app *app, int argc, char **argv)
{
    const vb_cmdspec spec = {"vlbimon_bridge run",
                             "SCRIPT.lua [ARGS ...]",
                             "run a Lua script with the vlbimon API (see README)",
                             NULL,
                             NULL,
                             0,
                             1};
    const char **pos;
    size_t npos;
    int rc = vb_app_parse(app, &spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    if (npos == 0) {
        fprintf(stderr, "%s: error: the following arguments are required: SCRIPT.lua\n", spec.prog);
        free(pos);
        return VB_EXIT_USAGE;
    }
    vb_err err;
    vb_lua *L = vb_lua_new(app, &err);
    /* User scripts get what the bundled scripts get: they are the same kind of tool. */
    if (L)
        vb_lua_fs_preload(vb_lua_state(L));
    rc = VB_EXIT_OK;
    if (!L || vb_lua_run_script(L, pos[0], (int)npos - 1, (char **)pos + 1, &err)) {
        vb_log_msg(&app->log, VB_ERROR, "%s", err.msg);
        rc = VB_EXIT_FAIL;
    }
    vb_lua_free(L);
    free(pos);
    return rc;
}
