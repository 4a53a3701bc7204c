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

#include <stdlib.h>
#include <string.h>

#include "db/open.h"
#include "db/sink.h"
#include "hist/csvtree.h"
#include "host/lua_host.h"
#include "host/pipeline.h"

/* Lines of history per pipeline run: bounded memory, few runs. */
#define CSV_BATCH 5000

/* A station's last status row, as the CSV record it prints as. */
typedef struct final_row {
    char *station;
    char *line;
} final_row;

typedef struct run {
    vb_app *app;
    vb_lua *lua;
    vb_pipeline *p;
    vb_sink *sink; /* with --sqlitedb or --postgres; else the rows are printed */
    vb_db_wait wait;
    vb_sink_stats stats;
    final_row *final; /* the last status row of each station that changed */
    size_t nfinal;
    double now;
    vb_buf out;
} run;

/* A row of the result, for sorting. */
typedef struct sorted {
    const vb_result_series *series;
    const vb_row *row;
} sorted;

/* Table, time, station, then value's text, so that equal keys still print in one order. */
static int by_key(const void *pa, const void *pb)
{
    const sorted *a = pa, *b = pb;
    int c = strcmp(a->series->name, b->series->name);
    if (c)
        return c;
    if (a->row->time != b->row->time)
        return a->row->time < b->row->time ? -1 : 1;
    if ((c = strcmp(a->row->station, b->row->station)))
        return c;
    char na[VB_NUMBER_TEXT], nb[VB_NUMBER_TEXT];
    size_t la, lb;
    const char *ta = vb_value_text(&a->row->value, na, &la);
    const char *tb = vb_value_text(&b->row->value, nb, &lb);
    c = memcmp(ta, tb, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* Prints the series rows of the result in the stable order. */
static int print_series(run *r, const vb_result *res, vb_err *err)
{
    sorted *rows = malloc(res->nrows * sizeof *rows + 1);
    if (!rows)
        return vb_fail(err, "out of memory");
    size_t n = 0;
    for (size_t t = 0; t < res->nseries; t++)
        for (size_t k = 0; k < res->series[t].n; k++) {
            const vb_row *row = &res->rows[res->series[t].first + k];
            /* A row a database would skip for its value (a NaN) is not printed either. */
            if (row->value.type != VB_V_NULL)
                rows[n++] = (sorted){&res->series[t], row};
        }
    qsort(rows, n, sizeof *rows, by_key);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const sorted *x = &rows[i];
        vb_value f[] = {{.type = VB_V_TEXT, .text = {x->row->station, x->row->station_len}},
                        {.type = VB_V_TEXT, .text = {x->series->name, x->series->name_len}},
                        {.type = VB_V_INTEGER, .i = x->row->time},
                        x->row->value};
        rc = vb_value_put_record(&r->out, f, VB_COUNT(f));
    }
    free(rows);
    if (rc)
        return vb_fail(err, "out of memory");
    if (fwrite(r->out.data, 1, r->out.len, stdout) != r->out.len)
        return vb_fail(err, "cannot write to stdout");
    r->out.len = 0;
    return 0;
}

/* Makes line station's last status row; -1 when out of memory. */
static int remember(run *r, const char *station, const char *line)
{
    size_t k = 0;
    while (k < r->nfinal && strcmp(r->final[k].station, station) != 0)
        k++;
    if (k == r->nfinal) {
        final_row *nf = realloc(r->final, (r->nfinal + 1) * sizeof *nf);
        if (!nf)
            return -1;
        r->final = nf;
        if (!(nf[k].station = vb_strdup(station)))
            return -1;
        nf[k].line = NULL;
        r->nfinal++;
    }
    char *copy = vb_strdup(line);
    if (!copy)
        return -1;
    free(r->final[k].line);
    r->final[k].line = copy;
    return 0;
}

/* Keeps each status row of the result as its station's last (station: the second column). */
static int keep_status(run *r, const vb_result *res, vb_err *err)
{
    vb_buf line = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < res->nstatus; i++) {
        const vb_value *f = res->status[i].f;
        if (f[1].type != VB_V_TEXT)
            continue;
        line.len = 0;
        rc = vb_value_put_record(&line, f, VB_STATUS_NCOLUMNS) ||
             remember(r, f[1].text.s, line.data);
    }
    vb_buf_free(&line);
    return rc ? vb_fail(err, "out of memory") : 0;
}

/* Stores or prints a result. */
static int emit(run *r, const vb_result *res, vb_err *err)
{
    int rc = r->sink ? vb_sink_store(r->sink, res, &r->stats, err) : print_series(r, res, err);
    return rc ? rc : keep_status(r, res, err);
}

static int run_snapshot(run *r, const char *path, vb_err *err)
{
    size_t len;
    const vb_result *res;
    char *json = vb_read_file(path, &len, err);
    if (!json)
        return -1;
    int rc = vb_pipeline_run_json(r->p, json, len, r->now, 0, &res, err);
    free(json);
    if (rc) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return vb_fail(err, "%s: %s", path, why);
    }
    return emit(r, res, err);
}

static int run_batch(run *r, vb_err *err)
{
    const vb_result *res;
    if (vb_pipeline_queued(r->p) == 0)
        return 0;
    if (vb_pipeline_run_points(r->p, r->now, &res, err))
        return -1;
    return emit(r, res, err);
}

/* One file at a time, stations and files in name order, in batches of CSV_BATCH points. */
static int run_csv_dir(run *r, const char *datadir, vb_err *err)
{
    vb_csvtree t;
    const vb_masterlist *ml = vb_app_masterlist(r->app, err);
    if (!ml || vb_csvtree_list(&t, datadir, &r->app->log, err))
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t.n; i++) {
        vb_value_kind kind = vb_value_kind_of(vb_masterlist_find(ml, t.src[i].param));
        vb_csv_source *src;
        rc = vb_csvtree_open(&t, i, 0, 0, err);
        while (rc == 0 && (rc = vb_csvtree_next(&t, &src, err)) == 1) {
            vb_value v = vb_value_from_text(kind, src->value, src->vlen);
            rc = vb_pipeline_add_point(r->p, src->station, src->param, src->t, &v, err);
            if (rc == 0 && vb_pipeline_queued(r->p) == CSV_BATCH)
                rc = run_batch(r, err);
        }
        if (rc == 0)
            rc = run_batch(r, err);
    }
    vb_csvtree_free(&t);
    return rc;
}

static int by_station(const void *a, const void *b)
{
    return strcmp(((const final_row *)a)->station, ((const final_row *)b)->station);
}

/* The last status row of each station that changed, sorted by station. */
static int print_status(run *r, vb_err *err)
{
    if (r->nfinal == 0)
        return 0;
    qsort(r->final, r->nfinal, sizeof *r->final, by_station);
    vb_value f[VB_STATUS_NCOLUMNS];
    for (size_t c = 0; c < VB_STATUS_NCOLUMNS; c++)
        f[c] = (vb_value){.type = VB_V_TEXT,
                          .text = {vb_status_columns[c].name, strlen(vb_status_columns[c].name)}};
    int rc = vb_buf_puts(&r->out, "\n") || vb_value_put_record(&r->out, f, VB_STATUS_NCOLUMNS);
    for (size_t i = 0; rc == 0 && i < r->nfinal; i++)
        rc = vb_buf_puts(&r->out, r->final[i].line);
    if (rc)
        return vb_fail(err, "out of memory");
    if (fwrite(r->out.data, 1, r->out.len, stdout) != r->out.len || fflush(stdout) != 0)
        return vb_fail(err, "cannot write to stdout");
    return 0;
}

static int transform(run *r, const char *dir, const vb_sink_target *db, const char **snapshots,
                     size_t nsnap, const char *csvdir, vb_err *err)
{
    if (!(r->lua = vb_lua_new(r->app, err)) || !(r->p = vb_pipeline_new(r->lua, dir, err)))
        return -1;
    int store = db->sqlitedb || db->postgres;
    if (store) {
        r->wait = (vb_db_wait){.log = &r->app->log, .bound_s = VB_DB_WAIT_ONE_SHOT_S};
        vb_sink_opts so = {.log = &r->app->log,
                           .ml = vb_app_masterlist(r->app, err),
                           .wal_pages = 1000,
                           .wait = &r->wait};
        if (!(r->sink = vb_sink_open(db, &so, err)) ||
            vb_pipeline_restore_status(r->p, r->sink, err) || vb_sink_begin(r->sink, err))
            return -1;
    }
    int rc = 0;
    if (!store && vb_buf_puts(&r->out, "station,param,time,value\n"))
        return vb_fail(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < nsnap; i++)
        rc = run_snapshot(r, snapshots[i], err);
    if (rc == 0 && csvdir)
        rc = run_csv_dir(r, csvdir, err);
    if (rc == 0 && store) {
        /* Status rows went in with each batch; only the commit is left. */
        if ((rc = vb_sink_commit(r->sink, err)) == 0)
            printf("%s: %ld rows and %ld station status rows written, %ld skipped\n", r->sink->name,
                   r->stats.rows, r->stats.status_rows, r->stats.skipped);
    } else if (rc == 0) {
        rc = print_status(r, err);
    }
    if (rc && r->sink)
        vb_sink_rollback(r->sink);
    return rc;
}

int cmd_transform(vb_app *app, int argc, char **argv)
{
    const char *dir = NULL, *sqlitedb = NULL, *postgres = NULL, *csvdir = NULL, *now = NULL;
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
        {.lname = "postgres",
         .kind = VB_OPT_STRING,
         .dest = &postgres,
         .metavar = "CONNINFO",
         .help = "insert the rows into this PostgreSQL database instead (made by initdb "
                 "--postgres)"},
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
    if (rc < 0 && (rc = vb_app_databases(&spec, sqlitedb, postgres, 0)) >= 0)
        free(pos);
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
        const vb_sink_target db = {.sqlitedb = sqlitedb, .postgres = postgres};
        if (transform(&r, dir ? dir : defdir, &db, files, nfiles, csvdir, &err)) {
            vb_log_msg(&app->log, VB_ERROR, "transform: %s", err.msg);
            rc = VB_EXIT_FAIL;
        }
    }
    vb_buf_free(&r.out);
    for (size_t i = 0; i < r.nfinal; i++) {
        free(r.final[i].station);
        free(r.final[i].line);
    }
    free(r.final);
    vb_sink_close(r.sink);
    vb_pipeline_free(r.p);
    vb_lua_free(r.lua);
    free(files);
    free(pos);
    vb_strlist_free(&snaps);
    return rc;
}
