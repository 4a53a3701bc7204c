/*
 * transform.c - see transform.h.
 *
 * Output is CSV: the series rows (station,param,time,value) sorted by table,
 * time and station, then a blank line and the final station status row of
 * every station whose status changed. Snapshots are run in argument order;
 * history is run one file at a time, in batches, stations and files in name
 * order, so a year of data never has to fit in memory.
 */
#include "cmd/transform.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "hist/csvtree.h"
#include "host/lua_host.h"
#include "host/pipeline.h"
#include "host/rows.h"
#include "db/store.h"

/* Lines of history per pipeline run: bounded memory, few runs. */
#define CSV_BATCH 5000

/* Everything one run needs; `final` is a Lua table (stack index) of the last status row per
 * station. */
typedef struct run {
    vb_app *app;
    vb_lua *lua;
    vb_pipeline *p;
    vb_store *store;
    vb_db_wait wait;
    vb_store_stats stats;
    int final;
    double now;
    vb_buf out;
} run;

/* Prints the series rows of the result on top of the stack, in the stable order. */
static int print_series(run *r, vb_err *err)
{
    lua_State *L = vb_lua_state(r->lua);
    if (vb_pipeline_sorted_rows(r->p, err))
        return -1;
    lua_Integer n = luaL_len(L, -1);
    int rc = 0;
    for (lua_Integer i = 1; rc == 0 && i <= n; i++) {
        vb_value f[4]; /* station, param, time, value */
        lua_rawgeti(L, -1, i);
        for (int c = 0; c < 4; c++)
            lua_rawgeti(L, -1 - c, c + 1);
        int usable = 1;
        for (int c = 0; c < 4; c++)
            usable &= vb_rows_value(L, c - 4, &f[c]) == 0;
        /* A row the store would skip for its value (a NaN) is not printed either. */
        if (usable)
            rc = vb_value_put_record(&r->out, f, 4);
        lua_pop(L, 5);
    }
    lua_pop(L, 1);
    if (rc)
        return vb_fail(err, "out of memory");
    if (fwrite(r->out.data, 1, r->out.len, stdout) != r->out.len)
        return vb_fail(err, "cannot write to stdout");
    r->out.len = 0;
    return 0;
}

/* final[station] = row, for every status row of the result on top of the stack. */
static void keep_status(run *r)
{
    lua_State *L = vb_lua_state(r->lua);
    lua_getfield(L, -1, "status");
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        lua_getfield(L, -1, "station");
        lua_pushvalue(L, -2);
        lua_settable(L, r->final);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Stores or prints the result on top of the stack, and pops it. */
static int emit(run *r, vb_err *err)
{
    lua_State *L = vb_lua_state(r->lua);
    int rc =
        r->store ? vb_store_insert_result(r->store, L, -1, &r->stats, err) : print_series(r, err);
    if (rc == 0)
        keep_status(r);
    lua_pop(L, 1);
    return rc;
}

static int run_snapshot(run *r, const char *path, vb_err *err)
{
    size_t len;
    char *json = vb_read_file(path, &len, err);
    if (!json)
        return -1;
    int rc = vb_pipeline_run_json(r->p, json, len, r->now, 0, err);
    free(json);
    if (rc) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return vb_fail(err, "%s: %s", path, why);
    }
    return emit(r, err);
}

static int run_batch(run *r, vb_err *err)
{
    if (vb_pipeline_run_points(r->p, r->now, err))
        return -1;
    return emit(r, err);
}

/* One file at a time, stations and files in name order, in batches of CSV_BATCH points. */
static int run_csv_dir(run *r, const char *datadir, vb_err *err)
{
    vb_csvtree t;
    const vb_masterlist *ml = vb_app_masterlist(r->app, err);
    if (!ml || vb_csvtree_list(&t, datadir, &r->app->log, err))
        return -1;
    lua_State *L = vb_lua_state(r->lua);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t.n; i++) {
        vb_value_kind kind = vb_value_kind_of(vb_masterlist_find(ml, t.src[i].param));
        lua_Integer n = 0;
        vb_csv_source *src;
        rc = vb_csvtree_open(&t, i, 0, 0, err);
        while (rc == 0 && (rc = vb_csvtree_next(&t, &src, err)) == 1) {
            if (n == 0)
                lua_createtable(L, CSV_BATCH, 0);
            vb_csv_push_point(L, src, kind);
            lua_rawseti(L, -2, ++n);
            rc = 0;
            if (n == CSV_BATCH) {
                n = 0;
                rc = run_batch(r, err);
            }
        }
        if (rc == 0 && n > 0)
            rc = run_batch(r, err);
        else if (n > 0)
            lua_pop(L, 1);
    }
    vb_csvtree_free(&t);
    return rc;
}

/* The last status row of each station that changed, sorted by station. */
static int print_status(run *r, vb_err *err)
{
    lua_State *L = vb_lua_state(r->lua);
    lua_newtable(L);
    int names = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, r->final)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, names, ++n);
    }
    if (n == 0) {
        lua_pop(L, 1);
        return 0;
    }
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_remove(L, -2);
    lua_pushvalue(L, names);
    if (vb_lua_pcall(r->lua, 1, 0, err)) {
        lua_pop(L, 1);
        return -1;
    }
    vb_value f[VB_STATUS_NCOLUMNS];
    for (size_t c = 0; c < VB_STATUS_NCOLUMNS; c++)
        f[c] = (vb_value){.type = VB_V_TEXT,
                          .text = {vb_status_columns[c].name, strlen(vb_status_columns[c].name)}};
    int rc = vb_buf_puts(&r->out, "\n") || vb_value_put_record(&r->out, f, VB_STATUS_NCOLUMNS);
    for (lua_Integer i = 1; rc == 0 && i <= n; i++) {
        lua_rawgeti(L, names, i);
        lua_gettable(L, r->final);
        vb_rows_status(L, -1, f);
        rc = vb_value_put_record(&r->out, f, VB_STATUS_NCOLUMNS);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (rc)
        return vb_fail(err, "out of memory");
    if (fwrite(r->out.data, 1, r->out.len, stdout) != r->out.len || fflush(stdout) != 0)
        return vb_fail(err, "cannot write to stdout");
    return 0;
}

static int transform(run *r, const char *dir, const char *sqlitedb, const char **snapshots,
                     size_t nsnap, const char *csvdir, vb_err *err)
{
    if (!(r->lua = vb_lua_new(r->app, err)) || !(r->p = vb_pipeline_new(r->lua, dir, err)))
        return -1;
    if (sqlitedb) {
        r->wait = (vb_db_wait){.log = &r->app->log, .bound_s = VB_DB_WAIT_ONE_SHOT_S};
        if (!(r->store = vb_store_open(sqlitedb, 1000, &r->wait, &r->app->log, err)) ||
            vb_pipeline_restore_status(r->p, vb_store_db(r->store), err) ||
            vb_store_begin(r->store, err))
            return -1;
    }
    lua_State *L = vb_lua_state(r->lua);
    lua_newtable(L);
    r->final = lua_gettop(L);
    int rc = 0;
    if (!sqlitedb && vb_buf_puts(&r->out, "station,param,time,value\n"))
        return vb_fail(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < nsnap; i++)
        rc = run_snapshot(r, snapshots[i], err);
    if (rc == 0 && csvdir)
        rc = run_csv_dir(r, csvdir, err);
    if (rc == 0 && sqlitedb) {
        /* Status rows went in with each batch; only the commit is left. */
        if ((rc = vb_store_commit(r->store, err)) == 0)
            printf("%s: %ld rows and %ld station status rows written, %ld skipped\n", sqlitedb,
                   r->stats.rows, r->stats.status_rows, r->stats.skipped);
    } else if (rc == 0) {
        rc = print_status(r, err);
    }
    if (rc && r->store)
        vb_store_rollback(r->store);
    return rc;
}

int cmd_transform(vb_app *app, int argc, char **argv)
{
    const char *dir = NULL, *sqlitedb = NULL, *csvdir = NULL, *now = NULL;
    vb_strlist snaps = {0};
    const vb_opt opts[] = {
        {.lname = "transformers",
         .kind = VB_OPT_STRING,
         .dest = &dir,
         .metavar = "DIR",
         .help = "transformer files to run (default: the installed transformers/)"},
        {.lname = "snapshot",
         .kind = VB_OPT_LIST,
         .dest = &snaps,
         .metavar = "FILE.json",
         .help = "a snapshot as the server sends it (repeatable; more files may follow)"},
        {.lname = "csv",
         .kind = VB_OPT_STRING,
         .dest = &csvdir,
         .metavar = "DATADIR",
         .help = "downloaded history: DATADIR/<station>/<param>.csv files of time,value lines"},
        {.lname = "sqlitedb",
         .kind = VB_OPT_STRING,
         .dest = &sqlitedb,
         .metavar = "SQLITEDB",
         .help = "insert the rows into this database instead of printing them"},
        {.lname = "now",
         .kind = VB_OPT_STRING,
         .dest = &now,
         .metavar = "TIME",
         .help = "the wall clock to assume (bridge metrics, future-time guard; default: now)"},
    };
    const vb_cmdspec spec = {.prog = "vlbimon_bridge transform",
                             .positionals = "[FILE.json ...]",
                             .description =
                                 "run the transformer pipeline offline and print the rows it would "
                                 "store (station,param,time,value CSV, then station status rows)",
                             .opts = opts,
                             .nopts = VB_COUNT(opts)};
    const char **pos;
    size_t npos;
    int rc = vb_app_parse(app, &spec, argc, argv, &pos, &npos);
    if (rc >= 0) {
        vb_strlist_free(&snaps);
        return rc;
    }
    const char **files = malloc((snaps.n + npos + 1) * sizeof *files);
    size_t nfiles = 0;
    for (size_t i = 0; files && i < snaps.n; i++)
        files[nfiles++] = snaps.v[i];
    for (size_t i = 0; files && i < npos; i++)
        files[nfiles++] = pos[i];
    run r = {.app = app};
    vb_err err;
    rc = VB_EXIT_USAGE;
    if (!files) {
        fprintf(stderr, "%s: error: out of memory\n", spec.prog);
        rc = VB_EXIT_FAIL;
    } else if ((nfiles > 0) == (csvdir != NULL)) {
        fprintf(stderr, "%s: error: give snapshot files or --csv DATADIR (one of them)\n",
                spec.prog);
    } else if (npos > 0 && snaps.n == 0) {
        fprintf(stderr, "%s: error: snapshot files follow --snapshot\n", spec.prog);
    } else if (now && vb_parse_time(now, &r.now, &err)) {
        fprintf(stderr, "%s: error: argument --now: %s\n", spec.prog, err.msg);
    } else {
        char defdir[4096];
        snprintf(defdir, sizeof defdir, "%s/transformers", app->root);
        if (!now)
            r.now = vb_now();
        rc = VB_EXIT_OK;
        if (transform(&r, dir ? dir : defdir, sqlitedb, files, nfiles, csvdir, &err)) {
            vb_log_msg(&app->log, VB_ERROR, "transform: %s", err.msg);
            rc = VB_EXIT_FAIL;
        }
    }
    vb_buf_free(&r.out);
    vb_store_close(r.store);
    vb_pipeline_free(r.p);
    vb_lua_free(r.lua);
    free(files);
    free(pos);
    vb_strlist_free(&snaps);
    return rc;
}
