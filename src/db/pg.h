/*
 * pg.h - a connection to a PostgreSQL server through libpq, for the
 * PostgreSQL sink, `initdb --postgres`, `migrate --postgres` and `doctor
 * --postgres`: connecting from a libpq connection string or postgresql://
 * URI, running SQL with one-line errors, and the connection string with its
 * password masked, which is the only form of it that reaches a log line or
 * an error message.
 *
 * Passwords come from libpq's own mechanisms (~/.pgpass or PGPASSFILE,
 * PGPASSWORD, a service file); one written into CONNINFO works too but is
 * never printed.
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_PG_H
#define VB_PG_H

#include <libpq-fe.h>

#include "core/util.h"

typedef struct vb_pg {
    PGconn *conn;
    char *name; /* the connection string as given, password masked: for every message */
} vb_pg;

/*
 * conninfo with the value of every password replaced by ********: the
 * password= and sslpassword= keywords of a key=value string (quoted or
 * not), and the user:password@ part and ?password= and ?sslpassword=
 * parameters of a postgresql:// or postgres:// URI. A string libpq would refuse is masked the same
 * way as far as it goes, and a password whose end cannot be found is masked to the end of the
 * string. The caller frees the result; NULL when out of memory.
 */
char *vb_pg_mask(const char *conninfo);

/*
 * Connects; conninfo may be empty (libpq's defaults: PGHOST, PGDATABASE,
 * ...). Without connect_timeout in conninfo or PGCONNECT_TIMEOUT, a server
 * that does not answer is given up after 10 seconds; over TCP, one that goes
 * silent later is found out within about 30 seconds (TCP keepalives and
 * tcp_user_timeout, which conninfo may set otherwise). A failure is one line
 * naming the masked connection string and libpq's reason.
 */
vb_pg *vb_pg_open(const char *conninfo, vb_err *err);
void vb_pg_close(vb_pg *pg);

/* libpq's last error message on the connection as one line, in buf ("no answer" when empty). */
const char *vb_pg_error_line(const vb_pg *pg, char *buf, size_t n);

/* Runs SQL that returns no rows (one or more statements). */
int vb_pg_exec(vb_pg *pg, const char *sql, vb_err *err);

/*
 * Runs one statement with text parameters that returns rows; the caller
 * PQclear()s the result. NULL on failure, with the error in err.
 */
PGresult *vb_pg_query(vb_pg *pg, const char *sql, int nparams, const char *const *params,
                      vb_err *err);

#endif
