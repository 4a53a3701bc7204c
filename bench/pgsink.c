/*
 * pgsink.c - `make bench`: a snapshot into PostgreSQL. The live bridge's
 * whole path (JSON decode -> transformers -> the PostgreSQL sink, with the
 * cursor) against four plain libpq client loops that write the very same
 * rows, status rows and cursor in one transaction, the candidates the sink
 * chose among:
 *
 *   rows     one prepared INSERT per row, in pipeline mode (a sync per
 *            1000 statements, so that the answers never fill the socket)
 *   copy     the status rows and the cursor in a pipeline, then one COPY
 *            per table (two round trips each: COPY cannot be pipelined)
 *   values   one INSERT ... VALUES (..), (..) per table with text
 *            parameters, in pipeline mode
 *   unnest   one prepared INSERT ... SELECT FROM unnest($1, $2, $3) per
 *            table with binary arrays, in pipeline mode (what the sink does)
 *
 * For each: wall time and this process's CPU per snapshot (medians) and the
 * server process's CPU (mean, from /proc: the server must run on this
 * machine). The floor is the candidate with the least wall time.
 *
 * usage: pgsink SNAPSHOT.json CONNINFO RUNS (a database made by initdb --postgres)
 * prints one "key value" line per figure.
 */
#define _GNU_SOURCE
#include <libpq-fe.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/app.h"
#include "db/schema.h"
#include "db/sink.h"
#include "host/lua_host.h"
#include "host/pipeline.h"

#define PIPE_MAX 1000

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of process pid, in seconds. */
static double proc_cpu(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static void die(PGconn *c, const char *what)
{
    fprintf(stderr, "pgsink bench: %s: %s\n", what, c ? PQerrorMessage(c) : "");
    exit(1);
}

/* One row as the sink would write it: the value in its column's type, as text and as binary. */
typedef struct row {
    long long time;
    char *station;
    char *text; /* PostgreSQL's text form of the value */
    vb_value v; /* VB_V_INTEGER, VB_V_REAL, VB_V_BOOLEAN or VB_V_TEXT (pointing at text) */
} row;

typedef struct table {
    char *name;
    vb_coltype type;
    row *rows;
    int n;
} table;

typedef struct snap {
    table *t;
    int nt, nrows;
    char **stations; /* of the status rows */
    int nstatus;
} snap;

static int coltype_of(const char *pg)
{
    return !strcmp(pg, "bigint")             ? VB_COL_INTEGER
           : !strcmp(pg, "double precision") ? VB_COL_REAL
           : !strcmp(pg, "smallint")         ? VB_COL_BOOLEAN
                                             : VB_COL_TEXT;
}

/* The result's rows, converted as the sink converts them (what it skips is left out). */
static void collect(PGconn *c, const vb_result *res, snap *s)
{
    s->t = calloc(res->nseries + 1, sizeof *s->t);
    for (size_t i = 0; i < res->nseries; i++) {
        const vb_result_series *se = &res->series[i];
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                 "to_regclass('ts_param_%s') AND attname = 'value'",
                 se->name);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
            PQclear(r);
            continue;
        }
        table *t = &s->t[s->nt++];
        t->name = strdup(se->name);
        t->type = (vb_coltype)coltype_of(PQgetvalue(r, 0, 0));
        PQclear(r);
        t->rows = calloc(se->n, sizeof *t->rows);
        for (size_t k = 0; k < se->n; k++) {
            const vb_row *x = &res->rows[se->first + k];
            vb_value out;
            char num[VB_NUMBER_TEXT];
            size_t len;
            if (vb_value_to_column(&x->value, t->type, &out, num) ||
                (t->type == VB_COL_INTEGER && out.type != VB_V_INTEGER) ||
                (out.type == VB_V_TEXT &&
                 (memchr(out.text.s, 0, out.text.len) || !vb_utf8_valid(out.text.s, out.text.len))))
                continue;
            row *w = &t->rows[t->n++];
            w->time = x->time;
            w->station = strdup(x->station);
            const char *txt = out.type == VB_V_BOOLEAN ? (out.b ? "1" : "0")
                              : out.type == VB_V_TEXT  ? out.text.s
                                                       : vb_value_text(&out, num, &len);
            w->text = strdup(txt);
            w->v = out.type == VB_V_TEXT
                       ? (vb_value){.type = VB_V_TEXT, .text = {w->text, strlen(w->text)}}
                       : out;
            s->nrows++;
        }
    }
    s->stations = calloc(res->nstatus + 1, sizeof *s->stations);
    for (size_t i = 0; i < res->nstatus; i++)
        if (res->status[i].f[1].type == VB_V_TEXT)
            s->stations[s->nstatus++] = strdup(res->status[i].f[1].text.s);
}

static const char *STATUS_SQL =
    "INSERT INTO bridge_stationStatus (time, station, source, onsource, mode, recording, tsys, "
    "tau225, scan) VALUES ($1, $2, 'src', 'on', 'm', 'NN..', 60.5, 0.1, 'scan') ON CONFLICT "
    "(station) DO UPDATE SET time = excluded.time";
static const char *STATE_SQL = "INSERT INTO bridge_state (key, value) VALUES ('snap_recvTime', $1) "
                               "ON CONFLICT (key) DO UPDATE SET value = excluded.value";

static void drain(PGconn *c)
{
    PQpipelineSync(c);
    for (;;) {
        PGresult *r = PQgetResult(c);
        if (!r)
            continue;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_FATAL_ERROR)
            die(c, PQresultErrorMessage(r));
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC)
            return;
    }
}

/* BEGIN, the status rows and the cursor, queued in pipeline mode. */
static void begin_pipe(PGconn *c, const snap *s, int run)
{
    char t[32];
    snprintf(t, sizeof t, "%d", 1712836800 + 10 * run);
    PQenterPipelineMode(c);
    PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (int i = 0; i < s->nstatus; i++) {
        const char *v[] = {t, s->stations[i]};
        PQsendQueryPrepared(c, "status", 2, v, NULL, NULL, 0);
    }
    const char *v[] = {t};
    PQsendQueryPrepared(c, "state", 1, v, NULL, NULL, 0);
}

static void commit_pipe(PGconn *c)
{
    PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    drain(c);
    PQexitPipelineMode(c);
}

static void loop_rows(PGconn *c, const snap *s, int run)
{
    begin_pipe(c, s, run);
    int queued = 0;
    for (int t = 0; t < s->nt; t++) {
        char name[32], ts[24];
        snprintf(name, sizeof name, "r%d", t);
        for (int k = 0; k < s->t[t].n; k++) {
            const row *w = &s->t[t].rows[k];
            snprintf(ts, sizeof ts, "%lld", w->time);
            const char *v[] = {ts, w->station, w->text};
            PQsendQueryPrepared(c, name, 3, v, NULL, NULL, 0);
            if (++queued % PIPE_MAX == 0)
                drain(c);
        }
    }
    commit_pipe(c);
}

static void put_copy_text(vb_buf *b, const char *p)
{
    for (; *p; p++) {
        const char *esc = *p == '\\'   ? "\\\\"
                          : *p == '\t' ? "\\t"
                          : *p == '\n' ? "\\n"
                          : *p == '\r' ? "\\r"
                                       : NULL;
        if (esc)
            vb_buf_puts(b, esc);
        else
            vb_buf_append(b, p, 1);
    }
}

static void loop_copy(PGconn *c, const snap *s, int run)
{
    begin_pipe(c, s, run);
    drain(c);
    PQexitPipelineMode(c);
    vb_buf b = {0};
    for (int t = 0; t < s->nt; t++) {
        if (!s->t[t].n)
            continue;
        char sql[512];
        snprintf(sql, sizeof sql, "COPY ts_param_%s (time, station, value) FROM STDIN",
                 s->t[t].name);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COPY_IN)
            die(c, sql);
        PQclear(r);
        b.len = 0;
        for (int k = 0; k < s->t[t].n; k++) {
            const row *w = &s->t[t].rows[k];
            vb_buf_printf(&b, "%lld\t", w->time);
            put_copy_text(&b, w->station);
            vb_buf_puts(&b, "\t");
            put_copy_text(&b, w->text);
            vb_buf_puts(&b, "\n");
        }
        PQputCopyData(c, b.data, (int)b.len);
        PQputCopyEnd(c, NULL);
        while ((r = PQgetResult(c))) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                die(c, "COPY");
            PQclear(r);
        }
    }
    vb_buf_free(&b);
    PQclear(PQexec(c, "COMMIT"));
}

static void loop_values(PGconn *c, const snap *s, int run)
{
    begin_pipe(c, s, run);
    vb_buf sql = {0};
    for (int t = 0; t < s->nt; t++) {
        const table *tb = &s->t[t];
        if (!tb->n)
            continue;
        sql.len = 0;
        vb_buf_printf(&sql, "INSERT INTO ts_param_%s (time, station, value) VALUES ", tb->name);
        const char **v = malloc((size_t)tb->n * 3 * sizeof *v);
        char(*ts)[24] = malloc((size_t)tb->n * sizeof *ts);
        for (int k = 0; k < tb->n; k++) {
            vb_buf_printf(&sql, "%s($%d, $%d, $%d)", k ? ", " : "", 3 * k + 1, 3 * k + 2,
                          3 * k + 3);
            snprintf(ts[k], sizeof ts[k], "%lld", tb->rows[k].time);
            v[3 * k] = ts[k];
            v[3 * k + 1] = tb->rows[k].station;
            v[3 * k + 2] = tb->rows[k].text;
        }
        PQsendQueryParams(c, sql.data, 3 * tb->n, NULL, v, NULL, NULL, 0);
        free(v);
        free(ts);
    }
    vb_buf_free(&sql);
    commit_pipe(c);
}

static void be(vb_buf *b, uint64_t v, int n)
{
    unsigned char x[8];
    for (int i = 0; i < n; i++)
        x[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
    vb_buf_append(b, x, (size_t)n);
}

static void array_head(vb_buf *b, uint32_t oid, int n)
{
    b->len = 0;
    be(b, 1, 4);
    be(b, 0, 4);
    be(b, oid, 4);
    be(b, (uint64_t)n, 4);
    be(b, 1, 4);
}

static void loop_unnest(PGconn *c, const snap *s, int run)
{
    begin_pipe(c, s, run);
    vb_buf a[3] = {{0}};
    for (int t = 0; t < s->nt; t++) {
        const table *tb = &s->t[t];
        if (!tb->n)
            continue;
        static const uint32_t oids[] = {
            [VB_COL_INTEGER] = 20, [VB_COL_REAL] = 701, [VB_COL_BOOLEAN] = 21, [VB_COL_TEXT] = 25};
        array_head(&a[0], 20, tb->n);
        array_head(&a[1], 25, tb->n);
        array_head(&a[2], oids[tb->type], tb->n);
        for (int k = 0; k < tb->n; k++) {
            const row *w = &tb->rows[k];
            uint64_t bits;
            be(&a[0], 8, 4);
            be(&a[0], (uint64_t)w->time, 8);
            be(&a[1], strlen(w->station), 4);
            vb_buf_puts(&a[1], w->station);
            switch (w->v.type) {
            case VB_V_INTEGER:
                be(&a[2], 8, 4);
                be(&a[2], (uint64_t)w->v.i, 8);
                break;
            case VB_V_REAL:
                memcpy(&bits, &w->v.d, 8);
                be(&a[2], 8, 4);
                be(&a[2], bits, 8);
                break;
            case VB_V_BOOLEAN:
                be(&a[2], 2, 4);
                be(&a[2], (uint64_t)w->v.b, 2);
                break;
            default:
                be(&a[2], w->v.text.len, 4);
                vb_buf_append(&a[2], w->v.text.s, w->v.text.len);
            }
        }
        char name[32];
        snprintf(name, sizeof name, "u%d", t);
        const char *v[] = {a[0].data, a[1].data, a[2].data};
        const int lens[] = {(int)a[0].len, (int)a[1].len, (int)a[2].len}, fmts[] = {1, 1, 1};
        PQsendQueryPrepared(c, name, 3, v, lens, fmts, 0);
    }
    for (int i = 0; i < 3; i++)
        vb_buf_free(&a[i]);
    commit_pipe(c);
}

static void prepare(PGconn *c, const char *name, const char *sql)
{
    PGresult *r = PQprepare(c, name, sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die(c, sql);
    PQclear(r);
}

typedef struct figures {
    double wall_ms, cpu_ms, server_ms;
} figures;

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: pgsink SNAPSHOT.json CONNINFO RUNS\n");
        return 2;
    }
    const char *conninfo = argv[2];
    int runs = atoi(argv[3]);
    vb_app app = {.log = {.verbosity = -1, .out = stderr},
                  .root = ".",
                  .masterlist = "share/masterlist.json"};
    vb_err err;
    size_t len;
    char *json = vb_read_file(argv[1], &len, &err);
    vb_lua *lua = NULL;
    vb_pipeline *p = NULL;
    vb_sink *sink = NULL;
    vb_sink_target target = {.postgres = conninfo};
    vb_sink_opts so = {.log = &app.log, .ml = vb_app_masterlist(&app, &err)};
    if (!json || !so.ml || !(lua = vb_lua_new(&app, &err)) ||
        !(p = vb_pipeline_new(lua, "transformers", &err)) ||
        !(sink = vb_sink_open(&target, &so, &err))) {
        fprintf(stderr, "pgsink bench: %s\n", err.msg);
        return 1;
    }
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        die(c, "connect");
    PGresult *r = PQexec(c, "SELECT pid FROM pg_stat_activity WHERE application_name = "
                            "'vlbimon_bridge' AND pid <> pg_backend_pid()");
    int sink_pid = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);

    double *wall = calloc((size_t)runs, sizeof *wall), *cpu = calloc((size_t)runs, sizeof *cpu);
    double server = 0;
    long long rowsum = 0;
    snap s = {0};
    for (int i = -5; i < runs; i++) {
        char cursor[32];
        snprintf(cursor, sizeof cursor, "%d", 1712836800 + 10 * i);
        double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        double s0 = proc_cpu(sink_pid);
        vb_sink_stats st = {0};
        const vb_result *res;
        if (vb_pipeline_run_json(p, json, len, 1712836800.0 + 10 * i, 0.02, &res, &err) ||
            vb_sink_begin(sink, &err) || vb_sink_store(sink, res, &st, &err) ||
            vb_sink_state_set(sink, "snap_recvTime", cursor, &err) || vb_sink_commit(sink, &err)) {
            fprintf(stderr, "pgsink bench: %s\n", err.msg);
            return 1;
        }
        if (i >= 0) {
            wall[i] = clock_s(CLOCK_MONOTONIC) - w0;
            cpu[i] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
            server += proc_cpu(sink_pid) - s0;
            rowsum += st.rows + st.status_rows;
        }
        if (i == -1)
            collect(c, res, &s);
    }
    figures bridge = {median(wall, runs) * 1e3, median(cpu, runs) * 1e3, server / runs * 1e3};
    vb_sink_close(sink);

    prepare(c, "status", STATUS_SQL);
    prepare(c, "state", STATE_SQL);
    for (int t = 0; t < s.nt; t++) {
        static const char *const types[] = {[VB_COL_INTEGER] = "int8",
                                            [VB_COL_REAL] = "float8",
                                            [VB_COL_BOOLEAN] = "int2",
                                            [VB_COL_TEXT] = "text"};
        char name[32], sql[512];
        snprintf(name, sizeof name, "r%d", t);
        snprintf(sql, sizeof sql,
                 "INSERT INTO ts_param_%s (time, station, value) VALUES ($1, $2, $3)", s.t[t].name);
        prepare(c, name, sql);
        snprintf(name, sizeof name, "u%d", t);
        snprintf(sql, sizeof sql,
                 "INSERT INTO ts_param_%s (time, station, value) SELECT * FROM "
                 "unnest($1::int8[], $2::text[], $3::%s[])",
                 s.t[t].name, types[s.t[t].type]);
        prepare(c, name, sql);
    }
    static const struct {
        const char *name;
        void (*loop)(PGconn *, const snap *, int);
    } loops[] = {
        {"rows", loop_rows}, {"copy", loop_copy}, {"values", loop_values}, {"unnest", loop_unnest}};
    int pid = PQbackendPID(c), best = 0;
    figures f[VB_COUNT(loops)];
    for (size_t l = 0; l < VB_COUNT(loops); l++) {
        server = 0;
        for (int i = -5; i < runs; i++) {
            double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            double s0 = proc_cpu(pid);
            loops[l].loop(c, &s, i);
            if (i >= 0) {
                wall[i] = clock_s(CLOCK_MONOTONIC) - w0;
                cpu[i] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
                server += proc_cpu(pid) - s0;
            }
        }
        f[l] = (figures){median(wall, runs) * 1e3, median(cpu, runs) * 1e3, server / runs * 1e3};
        if (f[l].wall_ms < f[best].wall_ms)
            best = (int)l;
    }
    printf("rows_per_snapshot %lld\ntables %d\n", rowsum / runs, s.nt);
    printf("bridge_wall_ms %.3f\nbridge_cpu_ms %.3f\nbridge_server_ms %.3f\n", bridge.wall_ms,
           bridge.cpu_ms, bridge.server_ms);
    for (size_t l = 0; l < VB_COUNT(loops); l++)
        printf("%s_wall_ms %.3f\n%s_cpu_ms %.3f\n%s_server_ms %.3f\n", loops[l].name, f[l].wall_ms,
               loops[l].name, f[l].cpu_ms, loops[l].name, f[l].server_ms);
    printf("floor %s\nfloor_wall_ms %.3f\nfloor_cpu_ms %.3f\nratio_wall %.3f\n", loops[best].name,
           f[best].wall_ms, f[best].cpu_ms, bridge.wall_ms / f[best].wall_ms);
    PQfinish(c);
    vb_pipeline_free(p);
    vb_lua_free(lua);
    free(json);
    free(wall);
    free(cpu);
    return 0;
}
