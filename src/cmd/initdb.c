/*
 * initdb.c - see initdb.h.
 */
#include "cmd/initdb.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "db/open.h"
#include "db/pgschema.h"
#include "db/schema.h"

/*
 * First in the SQL, printed or run: WAL persists in the file, so the bridge
 * never needs the exclusive lock that switching to it takes, which a reader
 * would hold up (docs/schema.md, "Connection settings").
 */
#define JOURNAL_SQL "PRAGMA journal_mode=WAL;\n"

/*
 * Creating the file with O_EXCL first makes "refuses to overwrite" hold even
 * against a concurrent initdb; on any failure the half-made file is removed
 * so a retry is not refused.
 */
static int create_db(const char *path, const char *sql, const vb_log *log, vb_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0664);
    if (fd < 0) {
        if (errno == EEXIST)
            return vb_fail(err, "%s already exists; refusing to overwrite it", path);
        return vb_fail(err, "%s: cannot create: %s", path, strerror(errno));
    }
    close(fd);
    sqlite3 *db = NULL;
    const vb_db_wait wait = {.log = log, .bound_s = VB_DB_WAIT_ONE_SHOT_S};
    vb_db_waiter waiter;
    char mode[32], msg[1024];
    if (vb_db_open(path, SQLITE_OPEN_READWRITE, &wait, &waiter, &db, err)) {
        unlink(path);
        return -1;
    }
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK
                 ? vb_fail(err, "%s: %s", path, vb_db_errmsg(db, msg, sizeof msg))
                 : vb_db_journal(db, mode, sizeof mode, err);
    if (rc == 0 && strcmp(mode, "wal") != 0)
        rc = vb_fail(err, "%s: SQLite keeps journal mode %s instead of WAL", path, mode);
    if (rc) {
        sqlite3_close(db);
        unlink(path);
        return -1;
    }
    if (sqlite3_close(db) != SQLITE_OK) {
        unlink(path);
        return vb_fail(err, "%s: cannot close the new database", path);
    }
    return 0;
}

static int print_sql(vb_app *app, const vb_buf *sql)
{
    if (fwrite(sql->data, 1, sql->len, stdout) != sql->len || fflush(stdout) != 0) {
        vb_log_msg(&app->log, VB_ERROR, "initdb: cannot write to stdout");
        return VB_EXIT_FAIL;
    }
    return VB_EXIT_OK;
}

/* initdb --postgres CONNINFO, or with "-" (never a valid conninfo) PostgreSQL's SQL on stdout. */
static int initdb_postgres(vb_app *app, const char *conninfo)
{
    vb_err err;
    vb_buf sql = {0};
    vb_pg *pg = NULL;
    long ntables = 0;
    int rc = VB_EXIT_FAIL;
    const vb_masterlist *ml = vb_app_masterlist(app, &err);
    if (!ml)
        goto fail;
    if (strcmp(conninfo, "-") == 0) {
        if (vb_schema_sql_in(&sql, VB_POSTGRES, ml, 1, &err))
            goto fail;
        rc = print_sql(app, &sql);
        goto out;
    }
    if (!(pg = vb_pg_open(conninfo, &err)) || vb_pg_schema_create(pg, ml, &ntables, &err))
        goto fail;
    vb_log_msg(&app->log, VB_INFO, "initdb: created %ld tables in postgres %s from %s", ntables,
               pg->name, app->masterlist);
    rc = VB_EXIT_OK;
    goto out;
fail:
    vb_log_msg(&app->log, VB_ERROR, "initdb: %s", err.msg);
out:
    vb_pg_close(pg);
    vb_buf_free(&sql);
    return rc;
}

int cmd_initdb(vb_app *app, int argc, char **argv)
{
    const char *sqlitedb = NULL, *postgres = NULL;
    const vb_opt opts[] = {
        {.lname = "sqlitedb",
         .kind = VB_OPT_STRING,
         .dest = &sqlitedb,
         .metavar = "SQLITEDB",
         .help =
             "sqlite database to create (refuses an existing file); without it, print the SQL to "
             "stdout"},
        {.lname = "postgres",
         .kind = VB_OPT_STRING,
         .dest = &postgres,
         .metavar = "CONNINFO",
         .help = "PostgreSQL database to create the schema in, a libpq connection string or "
                 "postgresql:// URI (refuses one that holds it); - prints PostgreSQL's SQL"},
    };
    const vb_cmdspec spec = {.prog = "vlbimon_bridge initdb",
                             .description = "initialize a sqlite or PostgreSQL database from the "
                                            "masterlist",
                             .opts = opts,
                             .nopts = VB_COUNT(opts)};
    int rc = vb_app_parse_options(app, &spec, argc, argv);
    if (rc >= 0)
        return rc;
    if ((rc = vb_app_databases(&spec, sqlitedb, postgres, 0)) >= 0)
        return rc;
    if (postgres)
        return initdb_postgres(app, postgres);
    vb_err err;
    vb_buf sql = {0};
    const vb_masterlist *ml = vb_app_masterlist_for_work(app, &err);
    if (!ml || (vb_buf_puts(&sql, JOURNAL_SQL) && vb_fail(&err, "out of memory")) ||
        vb_schema_sql(&sql, ml, &err)) {
        vb_log_msg(&app->log, VB_ERROR, "initdb: %s", err.msg);
        vb_buf_free(&sql);
        return VB_EXIT_FAIL;
    }
    rc = VB_EXIT_OK;
    if (!sqlitedb) {
        rc = print_sql(app, &sql);
    } else if (create_db(sqlitedb, sql.data, &app->log, &err)) {
        vb_log_msg(&app->log, VB_ERROR, "initdb: %s", err.msg);
        rc = VB_EXIT_FAIL;
    } else {
        vb_log_msg(&app->log, VB_INFO, "initdb: created %s from %s", sqlitedb, app->masterlist);
    }
    vb_buf_free(&sql);
    return rc;
}
