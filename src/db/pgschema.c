/*
 * pgschema.c - see pgschema.h.
 */
#include "db/pgschema.h"

#include <stdio.h>
#include <stdlib.h>

#include "db/schema.h"

/*
 * An arbitrary key for pg_advisory_xact_lock: a second initdb on the same
 * database waits for the first to commit, then finds its tables and refuses
 * with the same message as any later one.
 */
#define CREATE_LOCK "7486500318"

/* The tables of ours in the first schema of the search path; NULL when the path names none. */
static const char *const OURS =
    "SELECT current_schema(), count(c.oid), min(c.relname::text) FROM pg_catalog.pg_class c "
    "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', "
    "'m', 'f') AND (c.relname LIKE 'ts\\_param\\_%' OR c.relname LIKE 'bridge\\_%')";

static int rollback(vb_pg *pg)
{
    PQclear(PQexec(pg->conn, "ROLLBACK"));
    return -1;
}

int vb_pg_schema_create(vb_pg *pg, const vb_masterlist *ml, long *ntables, vb_err *err)
{
    vb_buf sql = {0};
    if (vb_schema_sql_in(&sql, VB_POSTGRES, ml, 0, err)) {
        vb_buf_free(&sql);
        return -1;
    }
    PGresult *res = NULL;
    int rc = -1;
    if (vb_pg_exec(pg, "BEGIN", err))
        goto out;
    if (!(res = vb_pg_query(pg, "SELECT pg_advisory_xact_lock(" CREATE_LOCK ")", 0, NULL, err)))
        goto fail;
    PQclear(res);
    if (!(res = vb_pg_query(pg, OURS, 0, NULL, err)))
        goto fail;
    if (PQgetisnull(res, 0, 0)) {
        vb_fail(err,
                "postgres %s: no schema to create the tables in: search_path names none that "
                "exists",
                pg->name);
        goto fail;
    }
    if (atol(PQgetvalue(res, 0, 1)) > 0) {
        vb_fail(err,
                "postgres %s: schema %s already holds %s vlbimon tables (%s, ...); refusing to "
                "change it",
                pg->name, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
        goto fail;
    }
    PQclear(res);
    res = NULL;
    if (vb_pg_exec(pg, sql.data, err) || !(res = vb_pg_query(pg, OURS, 0, NULL, err)))
        goto fail;
    *ntables = atol(PQgetvalue(res, 0, 1));
    if (vb_pg_exec(pg, "COMMIT", err))
        goto out;
    rc = 0;
    goto out;
fail:
    rollback(pg);
out:
    PQclear(res);
    vb_buf_free(&sql);
    return rc;
}

int vb_pg_schema_version(vb_pg *pg, vb_pg_version *v, vb_err *err)
{
    PGresult *res =
        vb_pg_query(pg, "SELECT to_regclass('bridge_schema') IS NOT NULL", 0, NULL, err);
    if (!res)
        return -1;
    int have = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!have)
        return vb_fail(err,
                       "postgres %s: no table bridge_schema: not a database made by initdb "
                       "--postgres",
                       pg->name);
    res =
        vb_pg_query(pg, "SELECT version, applied FROM bridge_schema ORDER BY version DESC LIMIT 1",
                    0, NULL, err);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) != 1) {
        rc = vb_fail(err, "postgres %s: bridge_schema is empty: the schema's version is unknown",
                     pg->name);
    } else {
        snprintf(v->version, sizeof v->version, "%s", PQgetvalue(res, 0, 0));
        v->applied = atof(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return rc;
}
