/*
 * scripts.c - see scripts.h. Each command turns its parsed options into the
 * plain argument list of its script (documented at the top of each script),
 * so `vlbimon_bridge run scripts/X.lua ARGS` does the same thing.
 */
#include "cmd/scripts.h"

#include <stdlib.h>
#include <string.h>

#include "cmd/migrate_pg.h"
#include "host/lua_fs.h"
#include "host/lua_host.h"

#define MAX_ARGS 8

static int usage_error(const vb_cmdspec *spec, const char *msg)
{
    fprintf(stderr, "%s: error: %s\n", spec->prog, msg);
    return VB_EXIT_USAGE;
}

/*
 * Runs a script with args in a fresh Lua state; a Lua error is a runtime
 * failure (status 1), logged after "label: " when there is a label.
 */
static int run_file(vb_app *app, const char *path, const char *label, int nargs, char **args)
{
    vb_err err;
    int rc = VB_EXIT_OK;
    vb_lua *lua = vb_lua_new(app, &err);
    /* User scripts get what the bundled scripts get: they are the same kind of tool. */
    if (lua)
        vb_lua_fs_preload(vb_lua_state(lua));
    if (!lua || vb_lua_run_script(lua, path, nargs, args, &err)) {
        vb_log_msg(&app->log, VB_ERROR, "%s%s%s", label ? label : "", label ? ": " : "", err.msg);
        rc = VB_EXIT_FAIL;
    }
    vb_lua_free(lua);
    return rc;
}

/* Runs the bundled <root>/scripts/<name>.lua. */
static int run_script(vb_app *app, const char *name, int nargs, char **args)
{
    vb_buf path = {0};
    if (vb_buf_printf(&path, "%s/scripts/%s.lua", app->root, name)) {
        vb_log_msg(&app->log, VB_ERROR, "%s: out of memory", name);
        return VB_EXIT_FAIL;
    }
    int rc = run_file(app, path.data, name, nargs, args);
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

/* Exactly one of --sqlitedb and --postgres: -1 to go on, else the usage error's status. */
static int need_one_db(const vb_cmdspec *spec, const char *db, const char *postgres,
                       const char **pos)
{
    int rc = vb_app_databases(spec, db, postgres, 1);
    if (rc >= 0)
        free(pos);
    return rc;
}

int cmd_migrate(vb_app *app, int argc, char **argv)
{
    const char *db = NULL, *dir = NULL, *postgres = NULL;
    int no_backup = 0;
    const vb_opt opts[] = {
        {.lname = "sqlitedb",
         .kind = VB_OPT_STRING,
         .dest = &db,
         .metavar = "SQLITEDB",
         .help = "the database to check or migrate"},
        {.lname = "postgres",
         .kind = VB_OPT_STRING,
         .dest = &postgres,
         .metavar = "CONNINFO",
         .help = "a PostgreSQL database instead (a libpq connection string or postgresql:// URI)"},
        {.lname = "no-backup",
         .kind = VB_OPT_FLAG,
         .dest = &no_backup,
         .help = "fix without first copying the database to SQLITEDB.pre-NAME"},
        {.lname = "migrations",
         .kind = VB_OPT_STRING,
         .dest = &dir,
         .metavar = "DIR",
         .help = "directory of migration scripts (default: the installed migrations/)"},
    };
    const vb_cmdspec spec = {
        .prog = "vlbimon_bridge migrate",
        .positionals = "{status,check [NAME],fix [NAME|all]}",
        .description =
            "upgrade a database made by an older bridge, in place, while Grafana reads it",
        .epilog =
            "commands:\n"
            "  status                list the migrations, their state and when they were applied\n"
            "  check [NAME]          say what NAME (default: every migration) would change\n"
            "  fix [NAME|all]        apply NAME, or every pending migration (the default), each\n"
            "                        in one transaction, after one online backup",
        .opts = opts,
        .nopts = VB_COUNT(opts)};
    const char **pos;
    size_t npos;
    int rc = parse(app, &spec, argc, argv, &pos, &npos, 1, 2);
    if (rc >= 0 || (rc = need_one_db(&spec, db, postgres, pos)) >= 0)
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
    if (postgres) {
        rc = vb_migrate_postgres(app, postgres, dir, verb, npos > 1 ? pos[1] : NULL);
        free(pos);
        return rc;
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
    const char *db = NULL, *postgres = NULL;
    const vb_opt opts[] = {
        {.lname = "sqlitedb",
         .kind = VB_OPT_STRING,
         .dest = &db,
         .metavar = "SQLITEDB",
         .help = "the database to summarize"},
        {.lname = "postgres",
         .kind = VB_OPT_STRING,
         .dest = &postgres,
         .metavar = "CONNINFO",
         .help = "a PostgreSQL database instead (a libpq connection string or postgresql:// URI)"},
    };
    const vb_cmdspec spec = {.prog = "vlbimon_bridge summarize",
                             .positionals = "[STATION]",
                             .description =
                                 "per parameter, the rows of each station and the time range; per "
                                 "station, the last day's points hour by hour",
                             .opts = opts,
                             .nopts = VB_COUNT(opts)};
    const char **pos;
    size_t npos;
    int rc = parse(app, &spec, argc, argv, &pos, &npos, 0, 1);
    if (rc >= 0 || (rc = need_one_db(&spec, db, postgres, pos)) >= 0)
        return rc;
    char *args[3];
    int n = 0;
    if (postgres)
        args[n++] = "--postgres";
    args[n++] = (char *)(postgres ? postgres : db);
    if (npos)
        args[n++] = (char *)pos[0];
    rc = run_script(app, "summarize", n, args);
    free(pos);
    return rc;
}

int cmd_backup(vb_app *app, int argc, char **argv)
{
    const vb_cmdspec spec = {.prog = "vlbimon_bridge backup",
                             .positionals = "SRC DEST",
                             .description =
                                 "copy a database safely while the bridge writes to it: checkpoint "
                                 "the WAL, then SQLite's online backup into DEST (a new file)"};
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
        {.lname = "sqlitedb",
         .kind = VB_OPT_STRING,
         .dest = &db,
         .metavar = "SQLITEDB",
         .help = "the database to read"},
        {.lname = "outdir",
         .kind = VB_OPT_STRING,
         .dest = &outdir,
         .metavar = "DIR",
         .help = "where to write NAME.csv files (default: the current directory)"},
    };
    const vb_cmdspec spec = {.prog = "vlbimon_bridge extract",
                             .positionals = "PATTERN",
                             .description =
                                 "write each series whose table name contains PATTERN to "
                                 "DIR/<table>.csv: time, UTC %Y%m%d%H%M%S, station, value, by time",
                             .opts = opts,
                             .nopts = VB_COUNT(opts)};
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
        {.lname = "sqlitedb",
         .kind = VB_OPT_STRING,
         .dest = &db,
         .metavar = "SQLITEDB",
         .help = "the database to add the series to"},
    };
    const vb_cmdspec spec = {.prog = "vlbimon_bridge add-series",
                             .positionals = "NAME TYPE",
                             .description =
                                 "create series table ts_param_NAME (TYPE: TEXT, REAL, INTEGER or "
                                 "BOOLEAN) as initdb makes it",
                             .opts = opts,
                             .nopts = VB_COUNT(opts)};
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

int cmd_run(vb_app *app, int argc, char **argv)
{
    const vb_cmdspec spec = {.prog = "vlbimon_bridge run",
                             .positionals = "SCRIPT.lua [ARGS ...]",
                             .description =
                                 "run a Lua script with the vlbimon API (see docs/transformers.md)",
                             .stop_at_positional = 1};
    const char **pos;
    size_t npos;
    int rc = vb_app_parse(app, &spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    if (npos == 0) {
        free(pos);
        return usage_error(&spec, "the following arguments are required: SCRIPT.lua");
    }
    rc = run_file(app, pos[0], NULL, (int)npos - 1, (char **)pos + 1);
    free(pos);
    return rc;
}
