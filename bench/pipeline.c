/*
 * pipeline.c - `make bench`, figure 1: CPU time per snapshot of the live
 * bridge's whole path (JSON decode -> transformers -> insert -> commit with
 * the cursor), against the storage floor measured in the same run: a plain C
 * loop that inserts the very same rows, grouped by table, with cached
 * prepared statements, and commits. The floor is what SQLite itself costs;
 * the ratio is what the bridge adds. The decode + transformers part alone is
 * reported too (the transformer issue's 5 ms budget for a full snapshot),
 * and what each commit adds to the WAL and writes to disk in all, both ways.
 *
 * usage: pipeline SNAPSHOT.json DBDIR RUNS WAL_PAGES [v1]
 * prints one "key value" line per figure; with v1, the series tables have
 * the layout from before migration 04 (docs/schema.md).
 *        pipeline --v1 DB
 * makes the series tables of a database initdb made empty v1 tables.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* Every v2 series table of db made again, empty, as a v1 table: a rowid table with two indexes. */
static int to_v1(sqlite3 *db)
{
    const char *sql =
        "SELECT group_concat('DROP TABLE ' || m.name || '; CREATE TABLE ' || m.name || ' (time "
        "INTEGER NOT NULL, station TEXT NOT NULL, value ' || p.type || '); CREATE INDEX idx_' || "
        "m.name || '_time ON ' || m.name || '(time); CREATE INDEX idx_' || m.name || '_station ON "
        "' "
        "|| m.name || '(station)', '; ') FROM sqlite_schema m JOIN pragma_table_info(m.name) p "
        "WHERE m.type = 'table' AND p.name = 'value' AND EXISTS (SELECT 1 FROM "
        "pragma_table_info(m.name) WHERE name = 'seq')";
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return -1;
    /* The schema cannot change under the query that reads it: the DDL runs after it. */
    const unsigned char *t = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_text(q, 0) : NULL;
    char *ddl = t ? vb_strdup((const char *)t) : NULL;
    sqlite3_finalize(q);
    int rc = ddl && sqlite3_exec(db, ddl, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    free(ddl);
    return rc;
}

static int make_db(const char *path, vb_app *app, int v1, vb_err *err)
{
    remove(path);
    vb_buf sql = {0};
    const vb_masterlist *ml = vb_app_masterlist(app, err);
    sqlite3 *db = NULL;
    int rc = !ml || vb_schema_sql(&sql, ml, err) || sqlite3_open(path, &db) != SQLITE_OK ||
             sqlite3_exec(db, sql.data, NULL, NULL, NULL) != SQLITE_OK || (v1 && to_v1(db));
    if (rc)
        vb_fail(err, "%s: cannot create (%s)", path, db ? sqlite3_errmsg(db) : "no memory");
    sqlite3_close(db);
    vb_buf_free(&sql);
    return rc ? -1 : 0;
}

/*
 * Bytes the commits append to the WAL, read after each commit from the WAL
 * index (the -shm file) as SQLite's file format documents it: its header
 * holds the page size (bytes 14-15, 1 for 65536), the number of valid frames
 * (a page and a 24-byte header each, bytes 16-19) and the WAL's salt (bytes
 * 32-39), which changes when a commit after a complete checkpoint starts
 * the WAL again from its first frame. Read from outside, so that the
 * connection that writes is the sink's own, checkpointing as the bridge's.
 */
typedef struct wal_count {
    char shm[1100];
    uint32_t frames, salt[2];
    long long bytes;
} wal_count;

static void count_wal(wal_count *w, const char *db)
{
    *w = (wal_count){0};
    snprintf(w->shm, sizeof w->shm, "%s-shm", db);
}

static void wal_committed(wal_count *w)
{
    unsigned char h[40];
    int fd = open(w->shm, O_RDONLY);
    ssize_t got = fd < 0 ? -1 : pread(fd, h, sizeof h, 0);
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)sizeof h)
        return;
    uint16_t page;
    uint32_t frames, salt[2];
    memcpy(&page, h + 14, sizeof page);
    memcpy(&frames, h + 16, sizeof frames);
    memcpy(salt, h + 32, sizeof salt);
    int restarted = salt[0] != w->salt[0] || salt[1] != w->salt[1];
    w->bytes +=
        (long long)(frames - (restarted ? 0 : w->frames)) * ((page == 1 ? 65536 : page) + 24);
    w->frames = frames;
    memcpy(w->salt, salt, sizeof salt);
}

/*
 * The snapshot of run i: every point's time (the 10-digit integer part of
 * the number after '[') moved on by 10 s a run, as a live bridge sees them.
 * The same snapshot again would store each point a second time at the same
 * time and station, which no bridge does and which costs v2 more than v1.
 */
static void advance(const char *in, size_t len, char *out, int run)
{
    memcpy(out, in, len + 1);
    for (size_t i = 0; i + 11 < len; i++) {
        if (in[i] != '[' || in[i + 11] != '.')
            continue;
        long long t = 0;
        size_t k = 1;
        for (; k <= 10 && in[i + k] >= '0' && in[i + k] <= '9'; k++)
            t = t * 10 + (in[i + k] - '0');
        if (k == 11) {
            char digits[24];
            snprintf(digits, sizeof digits, "%010lld", t + 10LL * run);
            memcpy(out + i + 1, digits, 10);
        }
    }
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
        sqlite3_bind_int64(s, 1, r->time + 10LL * (run + 1)); /* the rows are run -1's */
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
    if (argc == 3 && strcmp(argv[1], "--v1") == 0) {
        sqlite3 *db;
        int rc = sqlite3_open(argv[2], &db) != SQLITE_OK || to_v1(db);
        if (rc)
            fprintf(stderr, "pipeline bench: %s: %s\n", argv[2], sqlite3_errmsg(db));
        sqlite3_close(db);
        return rc;
    }
    if (argc != 5 && !(argc == 6 && strcmp(argv[5], "v1") == 0)) {
        fprintf(stderr, "usage: pipeline SNAPSHOT.json DBDIR RUNS WAL_PAGES [v1]\n"
                        "       pipeline --v1 DB\n");
        return 2;
    }
    const char *snap = argv[1], *dir = argv[2];
    int runs = atoi(argv[3]), wal = atoi(argv[4]), v1 = argc == 6;
    vb_layout layout = v1 ? VB_LAYOUT_V1 : VB_LAYOUT_V2;
    vb_app app = {.log = {.verbosity = -1, .out = stderr},
                  .root = ".",
                  .masterlist = "share/masterlist.json"};
    vb_err err;
    size_t len;
    char *json = vb_read_file(snap, &len, &err);
    char *snapshot = json ? malloc(len + 1) : NULL;
    char bridge_db[1024], floor_db[1024];
    snprintf(bridge_db, sizeof bridge_db, "%s/bridge.db", dir);
    snprintf(floor_db, sizeof floor_db, "%s/floor.db", dir);
    vb_lua *lua = NULL;
    vb_pipeline *p = NULL;
    vb_sink *sink = NULL;
    const vb_db_wait wait = {.bound_s = VB_DB_WAIT_ONE_SHOT_S};
    vb_sink_target target = {.sqlitedb = bridge_db};
    vb_sink_opts so = {.log = &app.log, .ml = &app.ml, .wal_pages = wal, .wait = &wait};
    if (!snapshot || make_db(bridge_db, &app, v1, &err) || make_db(floor_db, &app, v1, &err) ||
        !(lua = vb_lua_new(&app, &err)) || !(p = vb_pipeline_new(lua, "transformers", &err)) ||
        !(sink = vb_sink_open(&target, &so, &err))) {
        fprintf(stderr, "pipeline bench: %s\n", err.msg);
        return 1;
    }
    wal_count bridge_wal, floor_wal;
    count_wal(&bridge_wal, bridge_db);
    double *bridge = calloc((size_t)runs, sizeof *bridge);
    double *flr = calloc((size_t)runs, sizeof *flr);
    double *pipe = calloc((size_t)runs, sizeof *pipe);
    long long rowsum = 0, w0 = 0;
    rows rs = {0};
    for (int i = -5; i < runs; i++) {
        if (i == 0) {
            w0 = written();
            bridge_wal.bytes = 0;
        }
        advance(json, len, snapshot, i);
        double t0 = cpu_now();
        vb_sink_stats st = {0};
        char cursor[32];
        snprintf(cursor, sizeof cursor, "%d", 1712836800 + 10 * i);
        const vb_result *res;
        int rc = vb_pipeline_run_json(p, snapshot, len, 1712836800.0 + 10 * i, 0.02, &res, &err);
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
        wal_committed(&bridge_wal);
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
    count_wal(&floor_wal, floor_db);
    sqlite3_stmt **st = calloc((size_t)rs.ntables, sizeof *st);
    for (int t = 0; t < rs.ntables; t++) {
        vb_buf sql = {0};
        if (vb_series_insert_sql(&sql, rs.tables[t], layout, VB_INSERT_ROW, NULL, &err) ||
            sqlite3_prepare_v3(db, sql.data, -1, SQLITE_PREPARE_PERSISTENT, &st[t], NULL) !=
                SQLITE_OK)
            st[t] = NULL;
        vb_buf_free(&sql);
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
    long long fw0 = 0;
    for (int i = -5; i < runs; i++) {
        if (i == 0) {
            fw0 = written();
            floor_wal.bytes = 0;
        }
        double t = floor_run(db, st, status, state, &rs, i);
        wal_committed(&floor_wal);
        if (i >= 0)
            flr[i] = t;
    }
    long long fwbytes = written() - fw0;
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
    printf("written_bytes_per_snapshot %lld\nwal_bytes_per_snapshot %lld\n", wbytes / runs,
           bridge_wal.bytes / runs);
    printf("floor_written_bytes_per_snapshot %lld\nfloor_wal_bytes_per_snapshot %lld\n",
           fwbytes / runs, floor_wal.bytes / runs);
    vb_pipeline_free(p);
    vb_lua_free(lua);
    vb_masterlist_free(&app.ml);
    free(json);
    free(snapshot);
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
