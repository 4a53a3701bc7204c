/*
 * sink.h - where what the pipeline produced is stored: a database behind a
 * small table of operations, as Fluent Bit's output plugins are. The bridge,
 * `insert` and `transform` talk to a vb_sink and nothing else; SQLite
 * (sink_sqlite.c) is the embedded default, the debug printer
 * (sink_print.c) writes rows to stdout, and PostgreSQL (sink_pg.c) is a
 * database server that fills in the same table.
 *
 * The contract every implementation keeps, on which exactly-once rests
 * (docs/reliability.md):
 *
 *   - begin() opens a transaction. Everything store(), state_set() and the
 *     bulk load do until commit() is in it: commit() makes all of it durable
 *     or fails and leaves none of it; rollback() (also after a failed
 *     commit) leaves none of it. In particular the bridge's cursor, set with
 *     state_set() in the transaction of the rows its answer produced, is
 *     stored if and only if those rows are.
 *   - A failure of any operation leaves the sink usable: the caller rolls
 *     back and may begin again (a lost connection is reopened by then, or
 *     the failure repeats).
 *   - store() creates a series table the database lacks, inside the
 *     transaction (undone with it): with the masterlist's type when it knows
 *     the series, else the type that fits the first value. A series name
 *     that is not an SQL identifier is logged and its rows skipped. A value
 *     its column does not take is skipped and counted, one warning per table
 *     and transaction. Each station status row replaces its station's.
 *   - store() keeps no pointer into the result after it returns.
 *   - Values are converted with core/value.h's vb_value_to_column, so that
 *     every sink stores a value as every other does.
 *   - fill() (the bridge's backfill, docs/commands.md "Backfill") stores, in
 *     the open transaction, only what the database does not hold yet within
 *     a window of whole seconds [a, b]: per series, each row of the result
 *     (station, time, and value as its column stores it, compared with
 *     vb_value_cmp) that the table holds fewer times than the result does
 *     is stored as many times more, so two equal rows in the result and one
 *     in the table store one; a row never becomes a duplicate of itself.
 *     For a series named in the window's `replace`, the rows of the
 *     window's stations in [a, b] that the table holds more often than the
 *     result does are deleted down to the result's count, whether or not
 *     the result holds the series at all: the table's rows there become
 *     exactly the result's. Rows outside [a, b] are skipped and counted;
 *     status rows are not stored (backfilled points are older than the
 *     live ones that set the status). Creating tables, skipping names and
 *     values, and counting are as store()'s.
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_SINK_H
#define VB_SINK_H

#include "core/log.h"
#include "core/masterlist.h"
#include "core/util.h"
#include "db/open.h"
#include "db/result.h"

typedef struct vb_sink vb_sink;

typedef struct vb_sink_stats {
    long rows;        /* series rows stored */
    long status_rows; /* station status rows replaced */
    long skipped;     /* rows not stored: a value its column does not take, a series not stored */
    long removed;     /* rows fill() deleted from a series it replaces */
} vb_sink_stats;

/* What fill() covers: whole seconds [a, b], and the series it replaces there. */
typedef struct vb_fill_window {
    long long a, b;
    const char *const *replace; /* series names without ts_param_ */
    size_t nreplace;
    const char *const *stations; /* the stations whose rows a replaced series loses */
    size_t nstations;
} vb_fill_window;

/* Called with each station status row the database holds (for the start-up restore). */
typedef int (*vb_status_fn)(void *ud, const vb_status_row *row, vb_err *err);

/*
 * A history file's row in bridge_inserted: how far `insert` loaded it, with
 * fingerprints of its first head_len bytes and of the bytes before `bytes`
 * (db/insertlog.h computes and checks them).
 */
typedef struct vb_load_record {
    long long id; /* the sink's key of the row; 0 for a file not loaded before */
    long long head_len;
    char head[17];
    long long bytes;
    char tail[17];
    long lines;
    long long records;
} vb_load_record;

typedef int (*vb_load_fn)(void *ud, const vb_load_record *r, vb_err *err);

/*
 * A bulk load (`insert`): rows of plain series straight into their tables,
 * with the sink's fastest means, inside the load's transaction.
 */
typedef struct vb_sink_bulk_ops {
    /* Prepares the database for a load and begins its transaction. */
    int (*start)(vb_sink *s, vb_err *err);
    /*
     * The id (>= 0) of series `name`'s table, created as store() would
     * (sample: a first value, as text, for the type of a table the
     * masterlist does not know); -2 when the series is not stored (its
     * datatype is none), -1 on error.
     */
    int (*table)(vb_sink *s, const char *name, const char *sample, vb_err *err);
    /* Queues a row (value as text, as a history file holds it); a value that does not fit is
     * counted. */
    int (*add)(vb_sink *s, int table, long long time, const char *station, const char *value,
               size_t len, vb_err *err);
    /* Everything queued is in the transaction, indexes whole; still uncommitted. */
    int (*finish)(vb_sink *s, vb_err *err);
    /* Commits (ok) or rolls back, and puts the database back as start found it. */
    int (*end)(vb_sink *s, int ok, vb_err *err);
    long long (*rows)(const vb_sink *s);
    long long (*skipped)(const vb_sink *s);
    /* bridge_inserted: fn with each row for (station, param); saving one (id 0: a new row). */
    int (*loaded)(vb_sink *s, const char *station, const char *param, vb_load_fn fn, void *ud,
                  vb_err *err);
    int (*save_loaded)(vb_sink *s, const char *station, const char *param, const vb_load_record *r,
                       vb_err *err);
} vb_sink_bulk_ops;

typedef struct vb_sink_ops {
    const char *kind; /* "sqlite", "print", ... */
    int (*begin)(vb_sink *s, vb_err *err);
    int (*store)(vb_sink *s, const vb_result *r, vb_sink_stats *st, vb_err *err);
    /* bridge_state: *value NULL when the key is absent; set inside a transaction. */
    int (*state_get)(vb_sink *s, const char *key, char **value, vb_err *err);
    int (*state_set)(vb_sink *s, const char *key, const char *value, vb_err *err);
    int (*commit)(vb_sink *s, vb_err *err);
    void (*rollback)(vb_sink *s);
    /* The rows of r the database lacks within w (the contract above); NULL: no backfill. */
    int (*fill)(vb_sink *s, const vb_result *r, const vb_fill_window *w, vb_sink_stats *st,
                vb_err *err);
    /* Every row of bridge_stationStatus, outside a transaction. */
    int (*read_status)(vb_sink *s, vb_status_fn fn, void *ud, vb_err *err);
    void (*close)(vb_sink *s);
    const vb_sink_bulk_ops *bulk; /* NULL: no bulk load */
} vb_sink_ops;

/* Every implementation's instance begins with this. */
struct vb_sink {
    const vb_sink_ops *ops;
    const char *name; /* for messages: a path, or a connection with its password masked */
};

/* Which database: exactly one of the two. */
typedef struct vb_sink_target {
    const char *sqlitedb; /* a SQLite file made by initdb */
    const char *postgres; /* a libpq connection string or URI (initdb --postgres) */
} vb_sink_target;

typedef struct vb_sink_opts {
    const vb_log *log;
    const vb_masterlist *ml; /* initdb's types for tables made for new series */
    /*
     * For the live bridge: a series table the sink cannot write as the
     * contract says (a column dropped) is logged once as an error and its
     * rows skipped, so that one broken table does not hold back the others.
     * Otherwise such a table fails the transaction: right for a load that
     * must be all or nothing.
     */
    int skip_broken;
    /* SQLite: --wal pages (0: rollback journal), or VB_SINK_JOURNAL_AS_IS. */
    int wal_pages;
    /* SQLite: how to wait for locks other processes hold (db/open.h); must outlive the sink. */
    const vb_db_wait *wait;
} vb_sink_opts;

/* wal_pages for a database whose journal mode stays as the file has it. */
#define VB_SINK_JOURNAL_AS_IS (-1)

/* Opens the target's sink; the database must exist (made by initdb). */
vb_sink *vb_sink_open(const vb_sink_target *t, const vb_sink_opts *o, vb_err *err);
void vb_sink_close(vb_sink *s);

/* The implementations, each in a file of its own: sink_<kind>.c. */
vb_sink *vb_sink_sqlite_open(const char *path, const vb_sink_opts *o, vb_err *err);
vb_sink *vb_sink_pg_open(const char *conninfo, const vb_sink_opts *o, vb_err *err);
/*
 * The bridge's debug printer: each stored result's rows as CSV lines
 * `ts_param_<param>,station,time,value` on stdout at commit, then a
 * `bridge_stationStatus,<the row's fields>` line per status row; state is
 * kept in memory only.
 */
vb_sink *vb_sink_print_open(vb_err *err);

static inline int vb_sink_begin(vb_sink *s, vb_err *err)
{
    return s->ops->begin(s, err);
}
static inline int vb_sink_store(vb_sink *s, const vb_result *r, vb_sink_stats *st, vb_err *err)
{
    return s->ops->store(s, r, st, err);
}
static inline int vb_sink_state_get(vb_sink *s, const char *key, char **value, vb_err *err)
{
    return s->ops->state_get(s, key, value, err);
}
static inline int vb_sink_state_set(vb_sink *s, const char *key, const char *value, vb_err *err)
{
    return s->ops->state_set(s, key, value, err);
}
static inline int vb_sink_commit(vb_sink *s, vb_err *err)
{
    return s->ops->commit(s, err);
}
static inline void vb_sink_rollback(vb_sink *s)
{
    s->ops->rollback(s);
}
static inline int vb_sink_fill(vb_sink *s, const vb_result *r, const vb_fill_window *w,
                               vb_sink_stats *st, vb_err *err)
{
    return s->ops->fill(s, r, w, st, err);
}
static inline int vb_sink_read_status(vb_sink *s, vb_status_fn fn, void *ud, vb_err *err)
{
    return s->ops->read_status(s, fn, ud, err);
}

#endif
