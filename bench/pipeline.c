/*
 * pipeline.c - `make bench`, figure 1: CPU time per snapshot of the live
 * bridge's whole path (JSON decode -> transformers -> insert -> commit with
 * the cursor), against the storage floor measured in the same run: a plain C
 * loop that inserts the very same rows, grouped by table, with cached
 * prepared statements, and commits. The floor is what SQLite itself costs;
 * the ratio is what the bridge adds. The decode + transformers part alone is
 * reported too (the transformer issue's 5 ms budget for a full snapshot).
 *
 * usage: pipeline SNAPSHOT.json DBDIR RUNS WAL_PAGES
 * prints one "key value" line per figure.
 */
#define _GNU_SOURCE
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/app.h"
#include "host/lua_host.h"
#include "host/pipeline.h"
#include "host/rows.h"
#include "db/schema.h"
#include "db/sink.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes this process handed to write(2) so far: WAL frames, checkpoints, journals. */
static long long written(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    long long v = -1;
    char line[128];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "wchar: %lld", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i = (int)ceil(q * n) - 1;
    return v[i < 0 ? 0 : i];
}

static int make_db(const char *path, vb_app *app, vb_err *err)
{
    remove(path);
    vb_buf sql = {0};
    const vb_masterlist *ml = vb_app_masterlist(app, err);
    sqlite3 *db = NULL;
    int rc = !ml || vb_schema_sql(&sql, ml, err) || sqlite3_open(path, &db) != SQLITE_OK ||
             sqlite3_exec(db, sql.data, NULL, NULL, NULL) != SQLITE_OK;
    if (rc)
        vb_fail(err, "%s: cannot create (%s)", path, db ? sqlite3_errmsg(db) : "no memory");
    sqlite3_close(db);
    vb_buf_free(&sql);
    return rc ? -1 : 0;
}

/* The rows of one pipeline result, flattened for the floor loop. */
typedef struct row {
    int table; /* index into tables */
    char station[32];
    sqlite3_int64 time;
    int kind; /* 0 int, 1 double, 2 text */
    sqlite3_int64 i;
    double d;
    char *text;
} row;

typedef struct rows {
    row *v;
    int n, cap;
    char **tables;
    int ntables;
    char (*status)[32]; /* stations with a status row */
    int nstatus;
} rows;

static void collect(const vb_result *res, rows *out)
{
    out->tables = calloc(res->nseries + 1, sizeof *out->tables);
    for (size_t t = 0; t < res->nseries; t++) {
        const vb_result_series *sr = &res->series[t];
        out->tables[out->ntables++] = strdup(sr->name);
        for (size_t k = sr->first; k < sr->first + sr->n; k++) {
            const vb_row *x = &res->rows[k];
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 1024;
                out->v = realloc(out->v, (size_t)out->cap * sizeof *out->v);
            }
            row *r = &out->v[out->n++];
            memset(r, 0, sizeof *r);
            r->table = (int)t;
            snprintf(r->station, sizeof r->station, "%s", x->station);
            r->time = x->time;
            if (x->value.type == VB_V_INTEGER || x->value.type == VB_V_BOOLEAN) {
                r->kind = 0;
                r->i = x->value.type == VB_V_INTEGER ? x->value.i : x->value.b;
            } else if (x->value.type == VB_V_REAL) {
                r->kind = 1;
                r->d = x->value.d;
            } else {
                r->kind = 2;
                r->text = strndup(x->value.text.s, x->value.text.len);
            }
        }
    }
    out->status = calloc(res->nstatus + 1, sizeof *out->status);
    for (size_t i = 0; i < res->nstatus; i++)
        snprintf(out->status[out->nstatus++], sizeof out->status[0], "%s",
                 res->status[i].f[1].type == VB_V_TEXT ? res->status[i].f[1].text.s : "");
}

/* The same writes as the bridge: the series rows, the status rows and the cursor. */
static double floor_run(sqlite3 *db, sqlite3_stmt **st, sqlite3_stmt *status, sqlite3_stmt *state,
                        const rows *rs, int run)
{
    double t0 = cpu_now();
    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (int i = 0; i < rs->nstatus; i++) {
        sqlite3_bind_int64(status, 1, 1712836800 + 10 * run);
        sqlite3_bind_text(status, 2, rs->status[i], -1, SQLITE_STATIC);
        sqlite3_step(status);
        sqlite3_reset(status);
    }
    sqlite3_bind_int64(state, 1, 1712836800 + 10 * run);
    sqlite3_step(state);
    sqlite3_reset(state);
    for (int i = 0; i < rs->n; i++) {
        const row *r = &rs->v[i];
        sqlite3_stmt *s = st[r->table];
        if (!s)
            continue;
        sqlite3_bind_int64(s, 1, r->time);
        sqlite3_bind_text(s, 2, r->station, -1, SQLITE_STATIC);
        if (r->kind == 0)
            sqlite3_bind_int64(s, 3, r->i);
        else if (r->kind == 1)
            sqlite3_bind_double(s, 3, r->d);
        else
            sqlite3_bind_text(s, 3, r->text, -1, SQLITE_STATIC);
        sqlite3_step(s);
        sqlite3_reset(s);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return cpu_now() - t0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: pipeline SNAPSHOT.json DBDIR RUNS WAL_PAGES\n");
        return 2;
    }
    const char *snap = argv[1], *dir = argv[2];
    int runs = atoi(argv[3]), wal = atoi(argv[4]);
    vb_app app = {.log = {.verbosity = -1, .out = stderr},
                  .root = ".",
                  .masterlist = "share/masterlist.json"};
    vb_err err;
    size_t len;
    char *json = vb_read_file(snap, &len, &err);
    char bridge_db[1024], floor_db[1024];
    snprintf(bridge_db, sizeof bridge_db, "%s/bridge.db", dir);
    snprintf(floor_db, sizeof floor_db, "%s/floor.db", dir);
    vb_lua *lua = NULL;
    vb_pipeline *p = NULL;
    vb_sink *sink = NULL;
    const vb_db_wait wait = {.bound_s = VB_DB_WAIT_ONE_SHOT_S};
    vb_sink_target target = {.sqlitedb = bridge_db};
    vb_sink_opts so = {.log = &app.log, .ml = &app.ml, .wal_pages = wal, .wait = &wait};
    if (!json || make_db(bridge_db, &app, &err) || make_db(floor_db, &app, &err) ||
        !(lua = vb_lua_new(&app, &err)) || !(p = vb_pipeline_new(lua, "transformers", &err)) ||
        !(sink = vb_sink_open(&target, &so, &err))) {
        fprintf(stderr, "pipeline bench: %s\n", err.msg);
        return 1;
    }
    double *bridge = calloc((size_t)runs, sizeof *bridge);
    double *flr = calloc((size_t)runs, sizeof *flr);
    double *pipe = calloc((size_t)runs, sizeof *pipe);
    long long rowsum = 0, w0 = 0;
    rows rs = {0};
    for (int i = -5; i < runs; i++) {
        if (i == 0)
            w0 = written();
        double t0 = cpu_now();
        vb_sink_stats st = {0};
        char cursor[32];
        snprintf(cursor, sizeof cursor, "%d", 1712836800 + 10 * i);
        const vb_result *res;
        int rc = vb_pipeline_run_json(p, json, len, 1712836800.0 + 10 * i, 0.02, &res, &err);
        if (i >= 0)
            pipe[i] = cpu_now() - t0;
        if (rc || vb_sink_begin(sink, &err) || vb_sink_store(sink, res, &st, &err) ||
            vb_sink_state_set(sink, "snap_recvTime", cursor, &err) || vb_sink_commit(sink, &err)) {
            fprintf(stderr, "pipeline bench: %s\n", err.msg);
            return 1;
        }
        if (i >= 0) {
            bridge[i] = cpu_now() - t0;
            rowsum += st.rows + st.status_rows;
        }
        if (i == -1)
            collect(res, &rs);
    }
    long long wbytes = written() - w0;
    vb_sink_close(sink);

    sqlite3 *db;
    sqlite3_open(floor_db, &db);
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=%s; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=%d",
             wal > 0 ? "WAL" : "DELETE", wal);
    sqlite3_exec(db, pragmas, NULL, NULL, NULL);
    sqlite3_stmt **st = calloc((size_t)rs.ntables, sizeof *st);
    for (int t = 0; t < rs.ntables; t++) {
        char sql[512];
        snprintf(sql, sizeof sql, "INSERT INTO ts_param_%s (time, station, value) VALUES (?,?,?)",
                 rs.tables[t]);
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st[t], NULL) != SQLITE_OK)
            st[t] = NULL;
    }
    sqlite3_stmt *status = NULL, *state = NULL;
    sqlite3_exec(db,
                 "CREATE TABLE bridge_state (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
                 NULL, NULL, NULL);
    vb_buf status_sql = {0};
    if (vb_status_insert_sql(&status_sql, &err) ||
        sqlite3_prepare_v2(db, status_sql.data, -1, &status, NULL) != SQLITE_OK) {
        fprintf(stderr, "pipeline bench: bridge_stationStatus: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    vb_buf_free(&status_sql);
    /* Time and station change per row; the other columns keep these bindings across resets. */
    for (int c = 2; c < VB_STATUS_NCOLUMNS; c++) {
        if (vb_status_columns[c].type == VB_COL_REAL)
            sqlite3_bind_double(status, c + 1, 60.5);
        else
            sqlite3_bind_text(status, c + 1, "1234", -1, SQLITE_STATIC);
    }
    sqlite3_prepare_v2(db,
                       "INSERT OR REPLACE INTO bridge_state (key, value) VALUES "
                       "('snap_recvTime', ?)",
                       -1, &state, NULL);
    for (int i = -5; i < runs; i++) {
        double t = floor_run(db, st, status, state, &rs, i);
        if (i >= 0)
            flr[i] = t;
    }
    for (int t = 0; t < rs.ntables; t++)
        sqlite3_finalize(st[t]);
    sqlite3_finalize(status);
    sqlite3_finalize(state);
    sqlite3_close(db);

    double bmed = quantile(bridge, runs, 0.5), bp99 = quantile(bridge, runs, 0.99);
    double fmed = quantile(flr, runs, 0.5), fp99 = quantile(flr, runs, 0.99);
    printf("rows_per_snapshot %lld\n", rowsum / runs);
    printf("bridge_median_ms %.3f\nbridge_p99_ms %.3f\n", bmed * 1e3, bp99 * 1e3);
    printf("floor_median_ms %.3f\nfloor_p99_ms %.3f\n", fmed * 1e3, fp99 * 1e3);
    printf("ratio_median %.3f\n", bmed / fmed);
    printf("transform_median_ms %.3f\ntransform_p99_ms %.3f\n", quantile(pipe, runs, 0.5) * 1e3,
           quantile(pipe, runs, 0.99) * 1e3);
    printf("written_bytes_per_snapshot %lld\n", wbytes / runs);
    vb_pipeline_free(p);
    vb_lua_free(lua);
    vb_masterlist_free(&app.ml);
    free(json);
    for (int i = 0; i < rs.n; i++)
        free(rs.v[i].text);
    for (int t = 0; t < rs.ntables; t++)
        free(rs.tables[t]);
    free(rs.v);
    free(rs.tables);
    free(rs.status);
    free(st);
    free(bridge);
    free(flr);
    free(pipe);
    return 0;
}
