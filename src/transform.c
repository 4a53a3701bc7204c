/*
 * transform.c - see transform.h.
 *
 * Output is CSV: the series rows (station,param,time,value) sorted by table,
 * time and station, then a blank line and the final station status row of
 * every station whose status changed. Snapshots are run in argument order;
 * history is run one file at a time, in batches, stations and files in name
 * order, so a year of data never has to fit in memory.
 */
#include "transform.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"
#include "lua_host.h"
#include "pipeline.h"
#include "store.h"

#define NOPTS(a) (sizeof(a) / sizeof((a)[0]))

/* Lines of history per pipeline run: bounded memory, few runs. */
#define CSV_BATCH 5000

/* Everything one run needs; `final` is a Lua table (stack index) of the last status row per
 * station. */
typedef struct run {
    vb_app *app;
    vb_lua *L;
    vb_pipeline *p;
    vb_store *store;
    vb_store_stats stats;
    int final;
    double now;
    vb_buf out;
} run;

/* Shortest text that reads back as the same double. */
static int put_number(vb_buf *b, double d)
{
    char s[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, d);
        if (strtod(s, NULL) == d)
            break;
    }
    return vb_buf_puts(b, s);
}

static int put_value(vb_buf *b, lua_State *S, int idx)
{
    switch (lua_type(S, idx)) {
    case LUA_TNUMBER:
        if (lua_isinteger(S, idx))
            return vb_buf_printf(b, "%lld", (long long)lua_tointeger(S, idx));
        return put_number(b, lua_tonumber(S, idx));
    case LUA_TBOOLEAN:
        return vb_buf_puts(b, lua_toboolean(S, idx) ? "true" : "false");
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(S, idx, &len);
        return vb_csv_put_field(b, s, len);
    }
    default:
        return 0;
    }
}

/* Appends the CSV row of the Lua array at idx. */
static int put_row(vb_buf *b, lua_State *S, int idx, int n)
{
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(S, idx, i);
        int rc = (i > 1 && vb_buf_append(b, ",", 1)) || put_value(b, S, -1);
        lua_pop(S, 1);
        if (rc)
            return -1;
    }
    return vb_buf_append(b, "\n", 1);
}

/* Prints the series rows of the result on top of the stack, in the stable order. */
static int print_series(run *r, vb_err *err)
{
    lua_State *S = vb_lua_state(r->L);
    lua_getglobal(S, "require");
    lua_pushliteral(S, "vlbimon.pipeline");
    if (vb_lua_pcall(r->L, 1, 1, err))
        return -1;
    lua_getfield(S, -1, "sorted_rows");
    lua_remove(S, -2);
    lua_pushvalue(S, -2);
    if (vb_lua_pcall(r->L, 1, 1, err))
        return -1;
    lua_Integer n = luaL_len(S, -1);
    int rc = 0;
    for (lua_Integer i = 1; rc == 0 && i <= n; i++) {
        lua_rawgeti(S, -1, i);
        rc = put_row(&r->out, S, lua_gettop(S), 4);
        lua_pop(S, 1);
    }
    lua_pop(S, 1);
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
    lua_State *S = vb_lua_state(r->L);
    lua_getfield(S, -1, "status");
    lua_Integer n = luaL_len(S, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(S, -1, i);
        lua_getfield(S, -1, "station");
        lua_pushvalue(S, -2);
        lua_settable(S, r->final);
        lua_pop(S, 1);
    }
    lua_pop(S, 1);
}

/* Stores or prints the result on top of the stack, and pops it. */
static int emit(run *r, vb_err *err)
{
    lua_State *S = vb_lua_state(r->L);
    int rc =
        r->store ? vb_store_insert_result(r->store, S, -1, &r->stats, err) : print_series(r, err);
    if (rc == 0)
        keep_status(r);
    lua_pop(S, 1);
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

/* Pushes {station, param, time, value} for one history line; 0 when the line is not one. */
static int push_point(lua_State *S, const char *station, const char *param, const vb_csv_reader *rd)
{
    double t;
    size_t vlen;
    if (rd->nfields != 2 || vb_parse_double(vb_csv_field(rd, 0, NULL), &t))
        return 0;
    const char *v = vb_csv_field(rd, 1, &vlen);
    lua_createtable(S, 4, 0);
    lua_pushstring(S, station);
    lua_rawseti(S, -2, 1);
    lua_pushstring(S, param);
    lua_rawseti(S, -2, 2);
    lua_pushnumber(S, t);
    lua_rawseti(S, -2, 3);
    lua_pushlstring(S, v, vlen);
    lua_rawseti(S, -2, 4);
    return 1;
}

static int run_batch(run *r, vb_err *err)
{
    if (vb_pipeline_run_points(r->p, r->now, err))
        return -1;
    return emit(r, err);
}

/* One <station>/<param>.csv file of `time,value` lines, in batches. */
static int run_csv_file(run *r, const char *path, const char *station, const char *param,
                        vb_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return vb_fail(err, "%s: %s", path, strerror(errno));
    lua_State *S = vb_lua_state(r->L);
    vb_csv_reader rd;
    vb_csv_reader_init(&rd, f, 2);
    lua_createtable(S, CSV_BATCH, 0);
    lua_Integer n = 0;
    long bad = 0, badline = 0;
    int rc;
    while ((rc = vb_csv_read(&rd, err)) == 1) {
        if (!push_point(S, station, param, &rd)) {
            if (!bad++)
                badline = rd.record_line;
            continue;
        }
        lua_rawseti(S, -2, ++n);
        if (n == CSV_BATCH) {
            if (run_batch(r, err))
                break;
            lua_createtable(S, CSV_BATCH, 0);
            n = 0;
        }
    }
    vb_csv_reader_free(&rd);
    fclose(f);
    if (rc != 0) {
        if (n != CSV_BATCH)
            lua_pop(S, 1);
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return vb_fail(err, "%s: %s", path, why);
    }
    if (bad)
        vb_log_msg(&r->app->log, VB_WARN,
                   "%s: %ld line(s) without a time,value pair skipped (first: line %ld)", path, bad,
                   badline);
    if (n == 0) {
        lua_pop(S, 1);
        return 0;
    }
    return run_batch(r, err);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir (no dot files), sorted; NULL-terminated. */
static char **list_dir(const char *dir, vb_err *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        vb_fail(err, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    size_t n = 0, cap = 16;
    char **v = malloc(cap * sizeof *v);
    struct dirent *e;
    while (v && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n + 1 == cap) {
            char **nv = realloc(v, (cap *= 2) * sizeof *nv);
            if (!nv) {
                for (size_t i = 0; i < n; i++)
                    free(v[i]);
                free(v);
                v = NULL;
                break;
            }
            v = nv;
        }
        if (!(v[n] = vb_strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (!v) {
        vb_fail(err, "out of memory");
        return NULL;
    }
    v[n] = NULL;
    qsort(v, n, sizeof *v, by_string);
    return v;
}

static void free_list(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int run_csv_dir(run *r, const char *datadir, vb_err *err)
{
    char **stations = list_dir(datadir, err);
    if (!stations)
        return -1;
    int rc = 0;
    char path[4096];
    for (size_t i = 0; rc == 0 && stations[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", datadir, stations[i]);
        if (!is_dir(path))
            continue;
        char **files = list_dir(path, err);
        if (!files) {
            rc = -1;
            break;
        }
        for (size_t j = 0; rc == 0 && files[j]; j++) {
            size_t len = strlen(files[j]);
            if (len <= 4 || strcmp(files[j] + len - 4, ".csv") != 0)
                continue;
            char param[1024];
            snprintf(param, sizeof param, "%.*s", (int)(len - 4), files[j]);
            snprintf(path, sizeof path, "%s/%s/%s", datadir, stations[i], files[j]);
            rc = run_csv_file(r, path, stations[i], param, err);
        }
        free_list(files);
    }
    free_list(stations);
    return rc;
}

/* The last status row of each station that changed, sorted by station. */
static int print_status(run *r, vb_err *err)
{
    lua_State *S = vb_lua_state(r->L);
    static const char *const cols[] = {"time",      "station", "source", "onsource", "mode",
                                       "recording", "tsys",    "tau225", "scan"};
    const size_t ncols = NOPTS(cols);
    lua_newtable(S);
    int names = lua_gettop(S);
    lua_Integer n = 0;
    lua_pushnil(S);
    while (lua_next(S, r->final)) {
        lua_pop(S, 1);
        lua_pushvalue(S, -1);
        lua_rawseti(S, names, ++n);
    }
    if (n == 0) {
        lua_pop(S, 1);
        return 0;
    }
    lua_getglobal(S, "table");
    lua_getfield(S, -1, "sort");
    lua_remove(S, -2);
    lua_pushvalue(S, names);
    if (vb_lua_pcall(r->L, 1, 0, err)) {
        lua_pop(S, 1);
        return -1;
    }
    int rc =
        vb_buf_puts(&r->out, "\ntime,station,source,onsource,mode,recording,tsys,tau225,scan\n");
    for (lua_Integer i = 1; rc == 0 && i <= n; i++) {
        lua_rawgeti(S, names, i);
        lua_gettable(S, r->final);
        lua_createtable(S, (int)ncols, 0);
        for (size_t c = 0; c < ncols; c++) {
            lua_getfield(S, -2, cols[c]);
            lua_rawseti(S, -2, (lua_Integer)c + 1);
        }
        rc = put_row(&r->out, S, lua_gettop(S), (int)ncols);
        lua_pop(S, 2);
    }
    lua_pop(S, 1);
    if (rc)
        return vb_fail(err, "out of memory");
    if (fwrite(r->out.data, 1, r->out.len, stdout) != r->out.len || fflush(stdout) != 0)
        return vb_fail(err, "cannot write to stdout");
    return 0;
}

static int transform(run *r, const char *dir, const char *sqlitedb, const char **snapshots,
                     size_t nsnap, const char *csvdir, vb_err *err)
{
    if (!(r->L = vb_lua_new(r->app, err)) || !(r->p = vb_pipeline_new(r->L, dir, err)))
        return -1;
    if (sqlitedb) {
        if (!(r->store = vb_store_open(sqlitedb, 1000, &r->app->log, err)) ||
            vb_pipeline_restore_status(r->p, vb_store_db(r->store), err) ||
            vb_store_begin(r->store, err))
            return -1;
    }
    lua_State *S = vb_lua_state(r->L);
    lua_newtable(S);
    r->final = lua_gettop(S);
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
        {"transformers", 0, VB_OPT_STRING, &dir, "DIR",
         "transformer files to run (default: the installed transformers/)", 0},
        {"snapshot", 0, VB_OPT_LIST, &snaps, "FILE.json",
         "a snapshot as the server sends it (repeatable; more files may follow)", 0},
        {"csv", 0, VB_OPT_STRING, &csvdir, "DATADIR",
         "downloaded history: DATADIR/<station>/<param>.csv files of time,value lines", 0},
        {"sqlitedb", 0, VB_OPT_STRING, &sqlitedb, "SQLITEDB",
         "insert the rows into this database instead of printing them", 0},
        {"now", 0, VB_OPT_STRING, &now, "TIME",
         "the wall clock to assume (bridge metrics, future-time guard; default: now)", 0},
    };
    const vb_cmdspec spec = {"vlbimon_bridge transform",
                             "[FILE.json ...]",
                             "run the transformer pipeline offline and print the rows it would "
                             "store (station,param,time,value CSV, then station status rows)",
                             NULL,
                             opts,
                             NOPTS(opts),
                             0};
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
    vb_lua_free(r.L);
    free(files);
    free(pos);
    vb_strlist_free(&snaps);
    return rc;
}
