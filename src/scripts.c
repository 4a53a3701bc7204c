/*
 * scripts.c - see scripts.h. Each command turns its parsed options into the
 * plain argument list of its script (documented at the top of each script),
 * so `vlbimon_bridge run scripts/X.lua ARGS` does the same thing.
 */
#include "scripts.h"

#include <stdlib.h>
#include <string.h>

#include "lua_fs.h"
#include "lua_host.h"

#define NOPTS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ARGS 8

static int usage_error(const vb_cmdspec *spec, const char *msg)
{
    fprintf(stderr, "%s: error: %s\n", spec->prog, msg);
    return VB_EXIT_USAGE;
}

/* Runs <root>/scripts/<name>.lua with args; a Lua error is a runtime failure (status 1). */
static int run_script(vb_app *app, const char *name, int nargs, char **args)
{
    vb_err err;
    vb_buf path = {0};
    int rc = VB_EXIT_OK;
    if (vb_buf_printf(&path, "%s/scripts/%s.lua", app->root, name)) {
        vb_log_msg(&app->log, VB_ERROR, "%s: out of memory", name);
        return VB_EXIT_FAIL;
    }
    vb_lua *L = vb_lua_new(app, &err);
    if (L)
        vb_lua_fs_preload(vb_lua_state(L));
    if (!L || vb_lua_run_script(L, path.data, nargs, args, &err)) {
        vb_log_msg(&app->log, VB_ERROR, "%s: %s", name, err.msg);
        rc = VB_EXIT_FAIL;
    }
    vb_lua_free(L);
    vb_buf_free(&path);
    return rc;
}

/* Parses options; returns -1 to go on with pos/npos set, or the exit status. */
static int parse(vb_app *app, const vb_cmdspec *spec, int argc, char **argv, const char ***pos,
                 size_t *npos, size_t min, size_t max)
{
    int rc = vb_app_parse(app, spec, argc, argv, pos, npos);
    if (rc >= 0)
        return rc;
    if (*npos >= min && *npos <= max)
        return -1;
    free(*pos);
    return usage_error(spec, *npos < min ? "too few arguments" : "unrecognized arguments");
}

static int need_db(const vb_cmdspec *spec, const char *db, const char **pos)
{
    if (db)
        return -1;
    free(pos);
    return usage_error(spec, "the following arguments are required: --sqlitedb");
}

int cmd_migrate(vb_app *app, int argc, char **argv)
{
    const char *db = NULL, *dir = NULL;
    int no_backup = 0;
    const vb_opt opts[] = {
        {"sqlitedb", 0, VB_OPT_STRING, &db, "SQLITEDB", "the database to check or migrate", 0},
        {"no-backup", 0, VB_OPT_FLAG, &no_backup, NULL,
         "fix without first copying the database to SQLITEDB.pre-NAME", 0},
        {"migrations", 0, VB_OPT_STRING, &dir, "DIR",
         "directory of migration scripts (default: the installed migrations/)", 0},
    };
    const vb_cmdspec spec = {
        "vlbimon_bridge migrate",
        "{status,check [NAME],fix [NAME|all]}",
        "upgrade a database made by an older bridge, in place, while Grafana reads it",
        "commands:\n"
        "  status                list the migrations, their state and when they were applied\n"
        "  check [NAME]          say what NAME (default: every migration) would change\n"
        "  fix [NAME|all]        apply NAME, or every pending migration (the default), each\n"
        "                        in one transaction, after one online backup",
        opts,
        NOPTS(opts),
        0};
    const char **pos;
    size_t npos;
    int rc = parse(app, &spec, argc, argv, &pos, &npos, 1, 2);
    if (rc >= 0 || (rc = need_db(&spec, db, pos)) >= 0)
        return rc;
    const char *verb = pos[0];
    if (strcmp(verb, "check") && strcmp(verb, "fix") && strcmp(verb, "status")) {
        free(pos);
        return usage_error(&spec, "the command must be status, check or fix");
    }
    if (strcmp(verb, "status") == 0 && npos > 1) {
        free(pos);
        return usage_error(&spec, "status takes no migration name");
    }
    char *args[MAX_ARGS];
    int n = 0;
    if (no_backup)
        args[n++] = "--no-backup";
    if (dir) {
        args[n++] = "--migrations";
        args[n++] = (char *)dir;
    }
    args[n++] = (char *)db;
    for (size_t i = 0; i < npos; i++)
        args[n++] = (char *)pos[i];
    rc = run_script(app, "migrate", n, args);
    free(pos);
    return rc;
}

int cmd_summarize(vb_app *app, int argc, char **argv)
{
    const char *db = NULL;
    const vb_opt opts[] = {
        {"sqlitedb", 0, VB_OPT_STRING, &db, "SQLITEDB", "the database to summarize", 0},
    };
    const vb_cmdspec spec = {"vlbimon_bridge summarize",
                             "[STATION]",
                             "per parameter, the rows of each station and the time range; per "
                             "station, the last day's points hour by hour",
                             NULL,
                             opts,
                             NOPTS(opts),
                             0};
    const char **pos;
    size_t npos;
    int rc = parse(app, &spec, argc, argv, &pos, &npos, 0, 1);
    if (rc >= 0 || (rc = need_db(&spec, db, pos)) >= 0)
        return rc;
    char *args[] = {(char *)db, npos ? (char *)pos[0] : NULL};
    rc = run_script(app, "summarize", 1 + (int)npos, args);
    free(pos);
    return rc;
}

int cmd_backup(vb_app *app, int argc, char **argv)
{
    const vb_cmdspec spec = {"vlbimon_bridge backup",
                             "SRC DEST",
                             "copy a database safely while the bridge writes to it: checkpoint "
                             "the WAL, then SQLite's online backup into DEST (a new file)",
                             NULL,
                             NULL,
                             0,
                             0};
    const char **pos;
    size_t npos;
    int rc = parse(app, &spec, argc, argv, &pos, &npos, 2, 2);
    if (rc >= 0)
        return rc;
    rc = run_script(app, "backup", 2, (char **)pos);
    free(pos);
    return rc;
}

int cmd_extract(vb_app *app, int argc, char **argv)
{
    const char *db = NULL, *outdir = ".";
    const vb_opt opts[] = {
        {"sqlitedb", 0, VB_OPT_STRING, &db, "SQLITEDB", "the database to read", 0},
        {"outdir", 0, VB_OPT_STRING, &outdir, "DIR",
         "where to write NAME.csv files (default: the current directory)", 0},
    };
    const vb_cmdspec spec = {"vlbimon_bridge extract",
                             "PATTERN",
                             "write each series whose table name contains PATTERN to "
                             "DIR/<table>.csv: time, UTC %Y%m%d%H%M%S, station, value, by time",
                             NULL,
                             opts,
                             NOPTS(opts),
                             0};
    const char **pos;
    size_t npos;
    int rc = parse(app, &spec, argc, argv, &pos, &npos, 1, 1);
    if (rc >= 0 || (rc = need_db(&spec, db, pos)) >= 0)
        return rc;
    char *args[] = {(char *)db, (char *)pos[0], (char *)outdir};
    rc = run_script(app, "extract", 3, args);
    free(pos);
    return rc;
}

int cmd_add_series(vb_app *app, int argc, char **argv)
{
    const char *db = NULL;
    const vb_opt opts[] = {
        {"sqlitedb", 0, VB_OPT_STRING, &db, "SQLITEDB", "the database to add the series to", 0},
    };
    const vb_cmdspec spec = {"vlbimon_bridge add-series",
                             "NAME TYPE",
                             "create series table ts_param_NAME (TYPE: TEXT, REAL, INTEGER or "
                             "BOOLEAN) with its time and station indexes",
                             NULL,
                             opts,
                             NOPTS(opts),
                             0};
    const char **pos;
    size_t npos;
    int rc = parse(app, &spec, argc, argv, &pos, &npos, 2, 2);
    if (rc >= 0 || (rc = need_db(&spec, db, pos)) >= 0)
        return rc;
    char *args[] = {(char *)db, (char *)pos[0], (char *)pos[1]};
    rc = run_script(app, "add-series", 3, args);
    free(pos);
    return rc;
}
