/*
 * store.h - the live database: opening it with the connection settings of
 * docs/schema.md, and inserting the pipeline's rows in one transaction with
 * cached prepared statements, grouped by table.
 *
 * The pipeline's result (a Lua table) has this shape:
 *   { n = N, station = {...}, param = {...}, time = {...}, value = {...},
 *     groups = <the rows grouped by table, see rows.h>,
 *     status = { {<column> = <value> for the columns of vb_status_columns()}, ... } }
 * Row i is station[i], param[i], time[i], value[i], for i = 1..n; param is
 * the series without its ts_param_ prefix. Rows go in table by table, in the
 * order of groups. Each value is converted to its column's declared type
 * by core/value.h (the conversion bulk insert uses too); a value that does
 * not fit is skipped and counted. A series the database lacks gets its
 * table (see vb_store_set_masterlist); a name that is not an SQL identifier
 * is logged and skipped. A result without groups is refused.
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_STORE_H
#define VB_STORE_H

#include <lua.h>
#include <sqlite3.h>

#include "core/log.h"
#include "core/masterlist.h"
#include "core/util.h"
#include "db/open.h"

typedef struct vb_store vb_store;

typedef struct vb_store_stats {
    long rows;        /* series rows inserted */
    long status_rows; /* station status rows replaced */
    long skipped;     /* values that did not convert, or series not stored */
} vb_store_stats;

/* wal_pages for a database whose journal mode stays as the file has it. */
#define VB_STORE_JOURNAL_AS_IS (-1)

/*
 * Opens an existing database; wal_pages as --wal (0: no WAL, rollback
 * journal). Locks other processes hold are waited for as wait says
 * (db/open.h), which must outlive the store.
 */
vb_store *vb_store_open(const char *path, int wal_pages, const vb_db_wait *wait, const vb_log *log,
                        vb_err *err);
void vb_store_close(vb_store *s);

/*
 * The catalogue that gives a table created for a new parameter initdb's
 * type; without it (or for a name it lacks) the type follows the value.
 */
void vb_store_set_masterlist(vb_store *s, const vb_masterlist *ml);

/*
 * For the live bridge: a series table whose insert cannot be compiled (its
 * schema lacks a column, say) is logged once as an error and its values are
 * skipped and counted, so that one broken table does not hold back every
 * other series. Without this call such a table fails the transaction, which
 * is right for a load that must be all or nothing.
 */
void vb_store_skip_broken_tables(vb_store *s);

/*
 * bridge_state(key, value): what the live bridge must commit together with
 * the rows (its snapshot cursor), created on first use. Get returns
 * *value = NULL when the key is absent; set belongs inside a transaction.
 */
int vb_store_state_init(vb_store *s, vb_err *err);
int vb_store_state_get(vb_store *s, const char *key, char **value, vb_err *err);
int vb_store_state_set(vb_store *s, const char *key, const char *value, vb_err *err);
sqlite3 *vb_store_db(vb_store *s);

int vb_store_begin(vb_store *s, vb_err *err);
int vb_store_commit(vb_store *s, vb_err *err);
int vb_store_rollback(vb_store *s);

/* Inserts the pipeline result at stack index idx (inside a transaction). */
int vb_store_insert_result(vb_store *s, lua_State *L, int idx, vb_store_stats *stats, vb_err *err);

#endif
