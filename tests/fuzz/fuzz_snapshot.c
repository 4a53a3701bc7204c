/*
 * fuzz_snapshot.c - the live bridge's outside input: a GET /data/snapshot
 * body, through the whole pipeline as the bridge runs it (the C decoder,
 * the bridge's metrics, the standard transformers) and into a database made
 * by initdb, where the rows are inserted and rolled back.
 *
 * The pipeline is made afresh for every input, so that a finding replays
 * from its one file; the Lua state, the masterlist and the database are
 * made once.
 */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "host/pipeline.h"
#include "db/schema.h"
#include "db/sink.h"

typedef struct target {
    vb_app app;
    vb_lua *lua;
    char db[64];
} target;

/* libFuzzer's entry points take no context argument: the set-up made once lives here. */
static target *T;

static void cleanup(void)
{
    unlink(T->db);
}

static int make_db(target *t, vb_err *err)
{
    const vb_masterlist *ml = vb_app_masterlist(&t->app, err);
    if (!ml)
        return -1;
    snprintf(t->db, sizeof t->db, "%s/vb-fuzz-XXXXXX",
             access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
    int fd = mkstemp(t->db);
    if (fd < 0)
        return vb_fail(err, "%s: cannot create", t->db);
    close(fd);
    atexit(cleanup);
    vb_buf sql = {0};
    sqlite3 *db = NULL;
    int rc = vb_schema_sql(&sql, ml, err);
    if (rc == 0 && (sqlite3_open(t->db, &db) != SQLITE_OK ||
                    sqlite3_exec(db, sql.data, NULL, NULL, NULL) != SQLITE_OK))
        rc = vb_fail(err, "%s: %s", t->db, db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    vb_buf_free(&sql);
    return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    vb_err err;
    if (!(T = calloc(1, sizeof *T)) || fuzz_app_init(&T->app, &err) ||
        !(T->lua = vb_lua_new(&T->app, &err)) || make_db(T, &err)) {
        fprintf(stderr, "fuzz_snapshot: %s\n", T ? err.msg : "out of memory");
        exit(1);
    }
    return 0;
}

/* Stores the pipeline's result through the SQLite sink and rolls it back. */
static void store(const vb_masterlist *ml, const vb_result *r)
{
    vb_err err;
    const vb_db_wait wait = {.bound_s = VB_DB_WAIT_ONE_SHOT_S};
    vb_sink_target t = {.sqlitedb = T->db};
    vb_sink_opts o = {.log = &T->app.log, .ml = ml, .wal_pages = 0, .wait = &wait};
    vb_sink *s = vb_sink_open(&t, &o, &err);
    if (!s)
        return;
    vb_sink_stats st = {0};
    if (vb_sink_begin(s, &err) == 0) {
        vb_sink_store(s, r, &st, &err);
        vb_sink_rollback(s);
    }
    vb_sink_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vb_err err;
    lua_State *L = vb_lua_state(T->lua);
    vb_pipeline *p = vb_pipeline_new(T->lua, "transformers", &err);
    if (!p)
        return 0;
    const vb_result *r;
    if (vb_pipeline_run_json(p, (const char *)data, size, 1712836800.5, 0.25, &r, &err) == 0)
        store(&T->app.ml, r);
    vb_pipeline_free(p);
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
