/*
 * insert.c - see insert.h.
 *
 * All files of the tree are merged in time order, as the points arrived
 * live. A point goes through the transformer pipeline only when some
 * transformer wants its parameter (wants() in the transformer contract);
 * the rest, most of the rows, go straight into their tables through the
 * sink's bulk load (COPY on PostgreSQL). Everything happens in one
 * transaction (for SQLite, in rollback-journal mode when it can be): an
 * interrupted or failed insert leaves the database as it was. What was
 * loaded from which file is recorded in the same transaction (insertlog.c),
 * so running insert again on the same tree adds nothing.
 */
#include "cmd/insert.h"

#include <stdlib.h>
#include <string.h>

#include "core/signals.h"
#include "db/insertlog.h"
#include "db/open.h"
#include "db/pg.h"
#include "db/sink.h"
#include "hist/csvtree.h"
#include "host/lua_host.h"
#include "host/pipeline.h"

/* Points per pipeline run: bounded memory, few runs. */
#define PIPELINE_BATCH 5000
/* Records between two looks at the signals. */
#define SIGNAL_EVERY 65536

/* How one file's records are handled. */
typedef struct route {
    int use;      /* opened and loaded */
    int pipeline; /* through the transformers, else straight into `table` */
    int table;    /* the bulk load's id */
    vb_value_kind kind;
    vb_load_record mark;
} route;

typedef struct run {
    vb_app *app;
    vb_sink_target target;
    const char *dbname; /* for messages: the path, or the connection with its password masked */
    vb_signals sig;
    vb_lua *lua;
    vb_pipeline *p;
    vb_sink *sink;
    const vb_sink_bulk_ops *bulk;
    vb_db_wait wait;
    vb_csvtree tree;
    route *routes;
    vb_sink_stats stats;
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

/* Runs the queued points through the pipeline and stores the result. */
static int run_batch(run *r, vb_err *err)
{
    const vb_result *res;
    if (vb_pipeline_queued(r->p) == 0)
        return 0;
    if (vb_pipeline_run_points(r->p, vb_now(), &res, err))
        return -1;
    return vb_sink_store(r->sink, res, &r->stats, err);
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
    int found = vb_inslog_find(r->sink, s->path, s->station, s->param, &ro->mark, err);
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
        ro->table = r->bulk->table(r->sink, s->param, s->value, err);
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
        return r->bulk->add(r->sink, ro->table, s->time, s->station, s->value, s->vlen, err);
    vb_value v = vb_value_from_text(ro->kind, s->value, s->vlen);
    if (vb_pipeline_add_point(r->p, s->station, s->param, s->t, &v, err))
        return -1;
    r->through_pipeline++;
    return vb_pipeline_queued(r->p) == PIPELINE_BATCH ? run_batch(r, err) : 0;
}

static int record_files(run *r, vb_err *err)
{
    for (size_t i = 0; i < r->tree.n; i++) {
        const vb_csv_source *s = &r->tree.src[i];
        const route *ro = &r->routes[i];
        if (!ro->use)
            continue;
        r->files_loaded += s->consumed > ro->mark.bytes;
        if (vb_inslog_save(r->sink, s->path, s->station, s->param, &ro->mark, s->consumed,
                           s->pos_lines, ro->mark.records + s->records, err))
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
    if (run_batch(r, err) || r->bulk->finish(r->sink, err))
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
    const vb_masterlist *ml = vb_app_masterlist_for_work(r->app, err);
    if (!ml || !(r->lua = vb_lua_new(r->app, err)) ||
        !(r->p = vb_pipeline_new(r->lua, transformers, err)) || vb_signals_open(&r->sig, err))
        return -1;
    r->wait = (vb_db_wait){.log = &r->app->log,
                           .bound_s = VB_DB_WAIT_ONE_SHOT_S,
                           .stop = vb_signals_should_abort,
                           .stop_ud = &r->sig};
    vb_sink_opts so = {
        .log = &r->app->log, .ml = ml, .wal_pages = VB_SINK_JOURNAL_AS_IS, .wait = &r->wait};
    if (!(r->sink = vb_sink_open(&r->target, &so, err)))
        return -1;
    if (!(r->bulk = r->sink->ops->bulk))
        return vb_fail(err, "%s: this database has no bulk load", r->sink->name);
    if (vb_pipeline_restore_status(r->p, r->sink, err) || r->bulk->start(r->sink, err))
        return -1;
    r->t0 = vb_now();
    int ok = load_all(r, datadir, err) == 0;
    if (r->bulk->end(r->sink, ok, ok ? err : NULL) || !ok)
        return -1;
    double secs = vb_now() - r->t0;
    long long bulk = r->bulk->rows(r->sink);
    printf("%s: %lld rows written (%lld straight from %lld file(s), %ld through the transformers "
           "from %lld point(s)), %ld station status row(s), %lld value(s) skipped; %lld "
           "record(s) read in %.2f s (%.0f records/s)\n",
           r->sink->name, bulk + r->stats.rows, bulk, r->files_loaded, r->stats.rows,
           r->through_pipeline, r->stats.status_rows, r->bulk->skipped(r->sink) + r->stats.skipped,
           r->records, secs, secs > 0 ? (double)r->records / secs : 0.0);
    return 0;
}

int cmd_insert(vb_app *app, int argc, char **argv)
{
    const char *sqlitedb = NULL, *postgres = NULL, *transformers = NULL;
    const vb_opt opts[] = {
        {.lname = "sqlitedb",
         .kind = VB_OPT_STRING,
         .dest = &sqlitedb,
         .metavar = "SQLITEDB",
         .help = "the database to load into (made by initdb)"},
        {.lname = "postgres",
         .kind = VB_OPT_STRING,
         .dest = &postgres,
         .metavar = "CONNINFO",
         .help = "a PostgreSQL database to load into instead (made by initdb --postgres)"},
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
    else if (vb_app_databases(&spec, sqlitedb, postgres, 1) < 0)
        rc = VB_EXIT_OK;
    char *masked = postgres ? vb_pg_mask(postgres) : NULL;
    run r = {.app = app,
             .target = {.sqlitedb = sqlitedb, .postgres = postgres},
             .dbname = masked ? masked : sqlitedb};
    r.sig.fd = -1;
    if (rc == VB_EXIT_OK && !r.dbname) {
        fprintf(stderr, "%s: error: out of memory\n", spec.prog);
        rc = VB_EXIT_FAIL;
    }
    if (rc == VB_EXIT_OK) {
        char defdir[4096];
        snprintf(defdir, sizeof defdir, "%s/transformers", app->root);
        vb_err err;
        if (insert(&r, transformers ? transformers : defdir, datadir, &err)) {
            if (r.sig.stop)
                vb_log_msg(&app->log, VB_NOTICE,
                           "insert: stopped by a signal; nothing was written to %s", r.dbname);
            else
                vb_log_msg(&app->log, VB_ERROR, "insert: %s", err.msg);
            rc = VB_EXIT_FAIL;
        } else if (r.failures) {
            vb_log_msg(&app->log, VB_ERROR,
                       "insert: %ld file(s) could not be loaded (see above); the rest is in %s",
                       r.failures, r.dbname);
            rc = VB_EXIT_FAIL;
        }
    }
    free(pos);
    free(masked);
    free(r.routes);
    vb_csvtree_free(&r.tree);
    vb_sink_close(r.sink);
    vb_pipeline_free(r.p);
    vb_lua_free(r.lua);
    vb_signals_close(&r.sig);
    return rc;
}
