/*
 * open.h - the one way to open a SQLite database, and what a connection does
 * when another process holds a lock it needs: it waits, says once what it
 * waits for and who holds the lock, and gives up at a bound or when asked to
 * stop. Each command's policy is in docs/schema.md, "Connection settings".
 *
 * Layer db (docs/architecture.md): includes core/ and db/.
 */
#ifndef VB_OPEN_H
#define VB_OPEN_H

#include <sqlite3.h>
#include <stddef.h>

#include "core/log.h"
#include "core/util.h"

/* How long a one-shot command waits for one lock (docs/commands.md). */
#define VB_DB_WAIT_ONE_SHOT_S 60.0
/* bound_s of a wait without a bound. */
#define VB_DB_WAIT_FOREVER (-1.0)

typedef struct vb_db_wait {
    const vb_log *log;     /* where the "waiting for" line goes; NULL: nowhere */
    double bound_s;        /* longest wait for one lock; VB_DB_WAIT_FOREVER: no bound */
    int (*stop)(void *ud); /* polled while waiting: nonzero ends the wait at once; may be NULL */
    void *stop_ud;
} vb_db_wait;

/* A connection's waiting state; it must live as long as the connection. */
typedef struct vb_db_waiter {
    const vb_db_wait *policy; /* read at every wait, so its owner may change it */
    sqlite3 *db;
    char doing[64]; /* what the connection is at, for the log line ("to switch it to WAL") */
    double since;   /* when the current wait began (monotonic seconds) */
    int logged;     /* the current wait has been logged */
    int held;       /* a wait that spans several SQLite calls is in progress */
} vb_db_waiter;

/*
 * Opens path with SQLITE_OPEN_* flags and gives the connection the busy
 * handler of policy, which (like w) must outlive the connection. On failure
 * *db is NULL and err names the path.
 */
int vb_db_open(const char *path, int flags, const vb_db_wait *policy, vb_db_waiter *w, sqlite3 **db,
               vb_err *err);

/*
 * Sets the journal mode ("WAL" or "DELETE") and logs a change. Waits as the
 * policy says, also where SQLite gives up without calling the busy handler:
 * leaving WAL needs every other connection to the file closed.
 */
int vb_db_set_journal(vb_db_waiter *w, const char *mode, vb_err *err);

/* The journal mode as SQLite names it ("wal", "delete", ...), into buf. */
int vb_db_journal(sqlite3 *db, char *buf, size_t n, vb_err *err);

/*
 * Who holds a lock on the database file path (or on its -shm file): "sqlite3
 * (pid 42) is in a read transaction", from /proc/locks. Returns buf; when no
 * other process shows a lock, says so.
 */
const char *vb_db_lock_holder(const char *path, char *buf, size_t n);

/*
 * sqlite3_errmsg(db), and for a lock another process holds, who holds it:
 * "database is locked: sqlite3 (pid 42) is in a read transaction". Returns buf.
 */
const char *vb_db_errmsg(sqlite3 *db, char *buf, size_t n);

#endif
