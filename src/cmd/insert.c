/*
 * insert.c - see insert.h.
 *
 * All files of the tree are merged in time order, as the points arrived
 * live. A point goes through the transformer pipeline only when some
 * transformer wants its parameter (wants() in the transformer contract);
 * the rest, most of the rows, go straight into their tables through
 * bulk.c. Everything happens in one transaction, with the database in
 * rollback-journal mode when it can be (see leave_wal): an interrupted or
 * failed insert leaves the database as it was. What was loaded from which
 * file is recorded in the same transaction (insertlog.c), so running
 * insert again on the same tree adds nothing.
 */
#include "cmd/insert.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "db/bulk.h"
#include "hist/csvtree.h"
#include "db/insertlog.h"
#include "db/open.h"
#include "host/lua_host.h"
#include "host/pipeline.h"
#include "core/signals.h"
#include "db/store.h"

/* Points per pipeline run: bounded memory, few runs. */
#define PIPELINE_BATCH 5000
/* Records between two looks at the signals. */
#define SIGNAL_EVERY 65536
/*
 * SQLite's page cache for the load, in KiB: flat, whatever the tree's size.
 * Measured on a 2-million-row tree: 16 MiB loads as fast as 64 MiB and
 * keeps the peak RSS near 40 MB instead of 90 (make bench).
 */
#define CACHE_KIB 16384

/* How one file's records are handled. */
typedef struct route {
    int use;      /* opened and loaded */
    int pipeline; /* through the transformers, else straight into `table` */
    int table;    /* bulk.c's id */
    vb_value_kind kind;
    vb_inslog_mark mark;
} route;

typedef struct run {
    vb_app *app;
    const char *sqlitedb;
    vb_signals sig;
    vb_lua *lua;
    vb_pipeline *p;
    vb_store *store;
    vb_db_wait wait;
    vb_bulk *bulk;
    vb_csvtree tree;
    route *routes;
    vb_store_stats stats;
    int left_wal;        /* switched out of WAL for the load, and back after it */
    lua_Integer batch_n; /* points in the batch on top of the Lua stack (0: no batch) */
    long long through_pipeline, records, files_loaded;
    long failures; /* files that could not be loaded */
    double t0;
} run;

static int wanted_station(const vb_app *app, const char *s)
{
    if (app->stations.n == 0)
        return 1;
    for (size_t i = 0; i < app->stations.n; i++)
        if (strcmp(app->stations.v[i], s) == 0)
            return 1;
    return 0;
}

/*
 * The load runs in rollback-journal mode, where a WAL would hold a second
 * copy of it. But leaving WAL needs every other connection to the file
 * closed, and Grafana keeps its own open for as long as it runs: then the
 * load goes through the WAL rather than wait for that.
 */
static int leave_wal(run *r, vb_err *err)
{
    sqlite3 *db = vb_store_db(r->store);
    char mode[32], msg[1024];
    if (vb_db_journal(db, mode, sizeof mode, err))
        return -1;
    if (strcmp(mode, "wal") != 0)
        return 0;
    if (sqlite3_exec(db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) == SQLITE_OK) {
        r->left_wal = 1;
        return 0;
    }
    if ((sqlite3_errcode(db) & 0xff) != SQLITE_BUSY)
        return vb_fail(err, "%s: PRAGMA journal_mode = DELETE: %s", r->sqlitedb,
                       sqlite3_errmsg(db));
    vb_log_msg(&r->app->log, VB_NOTICE,
               "%s stays in WAL mode for the load (%s), so the load needs as much free disk "
               "space again until it is checkpointed",
               r->sqlitedb, vb_db_lock_holder(r->sqlitedb, msg, sizeof msg));
    return 0;
}

/* Runs the batch on top of the stack through the pipeline and stores the result. */
static int run_batch(run *r, vb_err *err)
{
    if (r->batch_n == 0)
        return 0;
    r->batch_n = 0;
    lua_State *L = vb_lua_state(r->lua);
    if (vb_pipeline_run_points(r->p, vb_now(), err))
        return -1;
    int rc = vb_store_insert_result(r->store, L, -1, &r->stats, err);
    lua_pop(L, 1);
    return rc;
}

/* Decides how file i is loaded, and opens it where the last insert left it. */
static int open_source(run *r, size_t i, const vb_masterlist *ml, vb_err *err)
{
    vb_csv_source *s = &r->tree.src[i];
    route *ro = &r->routes[i];
    const vb_log *log = &r->app->log;
    if (!wanted_station(r->app, s->station))
        return 0;
    if (strcmp(s->station, "bridge") == 0) {
        vb_log_msg(log, VB_WARN,
                   "%s: a station named 'bridge' would forge the bridge's own "
                   "series; skipped",
                   s->path);
        return 0;
    }
    if (!vb_is_identifier(s->param) || strlen(s->param) > 200) {
        vb_log_msg(log, VB_WARN,
                   "%s: '%s' is not an SQL identifier, so it cannot name a table; "
                   "skipped",
                   s->path, s->param);
        return 0;
    }
    const vb_param *par = vb_masterlist_find(ml, s->param);
    if (par && !vb_sqltype(par->type)) {
        vb_log_msg(log, VB_WARN, "%s: %s has datatype none in the masterlist; not stored", s->path,
                   s->param);
        return 0;
    }
    sqlite3 *db = vb_store_db(r->store);
    int found = vb_inslog_find(db, s->path, s->station, s->param, &ro->mark, err);
    if (found < 0)
        return -1;
    if (found > 0) {
        vb_log_msg(log, VB_ERROR, "%s", err->msg);
        r->failures++;
        return 0;
    }
    if (vb_csvtree_open(&r->tree, i, ro->mark.bytes, ro->mark.lines, err))
        return -1;
    ro->use = 1;
    if (s->done)
        return 0;
    ro->kind = vb_value_kind_of(par);
    int wants = vb_pipeline_wants(r->p, s->param, err);
    if (wants < 0)
        return -1;
    ro->pipeline = wants;
    if (!wants) {
        ro->table = vb_bulk_table(r->bulk, s->param, s->value, err);
        if (ro->table < 0)
            return ro->table == -1 ? -1 : vb_fail(err, "%s: %s is not stored", s->path, s->param);
    }
    return 0;
}

/* One record of the merged stream. */
static int load(run *r, vb_csv_source *s, vb_err *err)
{
    const route *ro = &r->routes[s - r->tree.src];
    if (!ro->pipeline)
        return vb_bulk_add(r->bulk, ro->table, s->time, s->station, s->value, s->vlen, err);
    lua_State *L = vb_lua_state(r->lua);
    if (r->batch_n == 0)
        lua_createtable(L, PIPELINE_BATCH, 0);
    vb_csv_push_point(L, s, ro->kind);
    lua_rawseti(L, -2, ++r->batch_n);
    r->through_pipeline++;
    return r->batch_n == PIPELINE_BATCH ? run_batch(r, err) : 0;
}

static int record_files(run *r, vb_err *err)
{
    sqlite3 *db = vb_store_db(r->store);
    for (size_t i = 0; i < r->tree.n; i++) {
        const vb_csv_source *s = &r->tree.src[i];
        const route *ro = &r->routes[i];
        if (!ro->use)
            continue;
        r->files_loaded += s->consumed > ro->mark.bytes;
        if (vb_inslog_save(db, s->path, s->station, s->param, &ro->mark, s->consumed, s->pos_lines,
                           ro->mark.records + s->records, err))
            return -1;
    }
    return 0;
}

static int load_all(run *r, const char *datadir, vb_err *err)
{
    const vb_masterlist *ml = vb_app_masterlist(r->app, err);
    if (!ml || vb_csvtree_list(&r->tree, datadir, &r->app->log, err))
        return -1;
    if (!(r->routes = calloc(r->tree.n ? r->tree.n : 1, sizeof *r->routes)))
        return vb_fail(err, "out of memory");
    if (!(r->bulk = vb_bulk_new(vb_store_db(r->store), ml, &r->app->log, err)))
        return -1;
    for (size_t i = 0; i < r->tree.n; i++)
        if (open_source(r, i, ml, err))
            return -1;
    vb_csv_source *s;
    int rc;
    while ((rc = vb_csvtree_next(&r->tree, &s, err)) != 0) {
        if (rc < 0) {
            /* One unreadable file: what it gave so far is kept and recorded, the rest goes on. */
            vb_log_msg(&r->app->log, VB_ERROR, "%s", err->msg);
            r->failures++;
            continue;
        }
        if (load(r, s, err))
            return -1;
        if (++r->records % SIGNAL_EVERY == 0 && vb_signals_poll(&r->sig))
            return vb_fail(err, "interrupted");
    }
    double t_index = vb_now();
    if (run_batch(r, err) || vb_bulk_finish(r->bulk, err))
        return -1;
    vb_log_msg(&r->app->log, VB_INFO,
               "insert: %lld record(s) read and loaded in %.2f s, indexes "
               "rebuilt in %.2f s",
               r->records, t_index - r->t0, vb_now() - t_index);
    if (vb_signals_poll(&r->sig))
        return vb_fail(err, "interrupted");
    return record_files(r, err);
}

static int insert(run *r, const char *transformers, const char *datadir, vb_err *err)
{
    if (!vb_app_masterlist_for_work(r->app, err) || !(r->lua = vb_lua_new(r->app, err)) ||
        !(r->p = vb_pipeline_new(r->lua, transformers, err)) || vb_signals_open(&r->sig, err))
        return -1;
    r->wait = (vb_db_wait){.log = &r->app->log,
                           .bound_s = VB_DB_WAIT_ONE_SHOT_S,
                           .stop = vb_signals_should_abort,
                           .stop_ud = &r->sig};
    if (!(r->store =
              vb_store_open(r->sqlitedb, VB_STORE_JOURNAL_AS_IS, &r->wait, &r->app->log, err)) ||
        leave_wal(r, err))
        return -1;
    sqlite3 *db = vb_store_db(r->store);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA cache_size = -%d", CACHE_KIB);
    vb_store_set_masterlist(r->store, vb_app_masterlist(r->app, err));
    if (sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
        vb_pipeline_restore_status(r->p, db, err) || vb_inslog_init(db, err) ||
        vb_store_begin(r->store, err))
        return -1;
    r->t0 = vb_now();
    if (load_all(r, datadir, err) || vb_store_commit(r->store, err)) {
        vb_store_rollback(r->store);
        return -1;
    }
    double secs = vb_now() - r->t0;
    long long bulk = vb_bulk_rows(r->bulk);
    printf("%s: %lld rows written (%lld straight from %lld file(s), %ld through the transformers "
           "from %lld point(s)), %ld station status row(s), %lld value(s) skipped; %lld "
           "record(s) read in %.2f s (%.0f records/s)\n",
           r->sqlitedb, bulk + r->stats.rows, bulk, r->files_loaded, r->stats.rows,
           r->through_pipeline, r->stats.status_rows, vb_bulk_skipped(r->bulk) + r->stats.skipped,
           r->records, secs, secs > 0 ? (double)r->records / secs : 0.0);
    char msg[1024];
    if (r->left_wal && sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
        vb_log_msg(&r->app->log, VB_WARN, "%s: could not switch back to WAL: %s", r->sqlitedb,
                   vb_db_errmsg(db, msg, sizeof msg));
    return 0;
}

int cmd_insert(vb_app *app, int argc, char **argv)
{
    const char *sqlitedb = NULL, *transformers = NULL;
    const vb_opt opts[] = {
        {.lname = "sqlitedb",
         .kind = VB_OPT_STRING,
         .dest = &sqlitedb,
         .metavar = "SQLITEDB",
         .help = "the database to load into (made by initdb)"},
        {.lname = "transformers",
         .kind = VB_OPT_STRING,
         .dest = &transformers,
         .metavar = "DIR",
         .help = "transformer files to run (default: the installed transformers/)"},
    };
    const vb_cmdspec spec = {
        .prog = "vlbimon_bridge insert",
        .positionals = "[DATADIR]",
        .description = "load the DATADIR/<station>/<param>.csv files that history downloaded "
                       "(default: --datadir) into a database, through the transformers, as "
                       "the bridge would have stored them",
        .opts = opts,
        .nopts = VB_COUNT(opts)};
    const char **pos;
    size_t npos;
    int rc = vb_app_parse(app, &spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    const char *datadir = npos ? pos[0] : app->datadir;
    rc = VB_EXIT_USAGE;
    if (npos > 1)
        fprintf(stderr, "%s: error: unrecognized arguments: %s\n", spec.prog, pos[1]);
    else if (!sqlitedb)
        fprintf(stderr, "%s: error: the following arguments are required: --sqlitedb\n", spec.prog);
    else
        rc = VB_EXIT_OK;
    run r = {.app = app, .sqlitedb = sqlitedb};
    r.sig.fd = -1;
    if (rc == VB_EXIT_OK) {
        char defdir[4096];
        snprintf(defdir, sizeof defdir, "%s/transformers", app->root);
        vb_err err;
        if (insert(&r, transformers ? transformers : defdir, datadir, &err)) {
            if (r.sig.stop)
                vb_log_msg(&app->log, VB_NOTICE,
                           "insert: stopped by a signal; nothing was written to %s", sqlitedb);
            else
                vb_log_msg(&app->log, VB_ERROR, "insert: %s", err.msg);
            rc = VB_EXIT_FAIL;
        } else if (r.failures) {
            vb_log_msg(&app->log, VB_ERROR,
                       "insert: %ld file(s) could not be loaded (see above); the rest is in %s",
                       r.failures, sqlitedb);
            rc = VB_EXIT_FAIL;
        }
    }
    free(pos);
    vb_bulk_free(r.bulk);
    free(r.routes);
    vb_csvtree_free(&r.tree);
    vb_store_close(r.store);
    vb_pipeline_free(r.p);
    vb_lua_free(r.lua);
    vb_signals_close(&r.sig);
    return rc;
}
