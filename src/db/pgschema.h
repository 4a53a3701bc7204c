/*
 * pgschema.h - the schema of docs/schema.md on a PostgreSQL server: creating
 * it in one transaction, and reading the schema version it records in
 * bridge_schema, which is what migrations will go by there.
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_PGSCHEMA_H
#define VB_PGSCHEMA_H

#include "core/masterlist.h"
#include "core/util.h"
#include "db/pg.h"

/*
 * Creates the fresh schema (vb_schema_sql_in, VB_POSTGRES) in the first
 * schema of the search path, in one transaction; refuses, changing nothing,
 * when that schema already holds a table named ts_param_* or bridge_*.
 * Concurrent calls on one database take turns. *ntables: the tables made.
 */
int vb_pg_schema_create(vb_pg *pg, const vb_masterlist *ml, long *ntables, vb_err *err);

typedef struct vb_pg_version {
    char version[128]; /* the newest migration the schema includes */
    double applied;    /* unix seconds when it was reached */
} vb_pg_version;

/* The version bridge_schema records; a database without that table is an error that says so. */
int vb_pg_schema_version(vb_pg *pg, vb_pg_version *v, vb_err *err);

#endif
