/*
 * lua_db.c - see lua_db.h.
 *
 * Statements opened by rows() are finalized when the loop ends, when it is
 * left early (the generic for's closing value) or at the latest by the
 * garbage collector, so a script cannot leave a read transaction open and
 * block WAL checkpoints for the bridge.
 *
 * Every file a handle would write passes lua_host.c's sandbox check first
 * (see there): the database unless opened read-only, a backup's DEST, and
 * whatever ATTACH or VACUUM INTO names in SQL.
 *
 * A PostgreSQL handle (vlbimon.open(CONNINFO, {postgres = true})) has the
 * same methods but backup and checkpoint, so a script's SQL in the common
 * dialect runs on both: ? placeholders become $1, $2, ... and values are
 * sent as text for the server to type, as SQLite would take them. Only
 * scripts may connect; transformers may not (vb_lua_may_connect).
 */
#include "host/lua_db.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/open.h"
#include "db/pg.h"
#include "host/lua_host.h"

#define DB_MT "vlbimon.db"
#define STMT_MT "vlbimon.stmt"
#define PGDB_MT "vlbimon.pgdb"
#define PGRES_MT "vlbimon.pgresult"

typedef struct ldb {
    sqlite3 *db;
    int owned;
    vb_db_wait wait; /* scripts are one-shot commands: a bounded wait (docs/schema.md) */
    vb_db_waiter waiter;
} ldb;

typedef struct lstmt {
    sqlite3_stmt *stmt;
} lstmt;

static ldb *check_db(lua_State *L)
{
    ldb *d = luaL_checkudata(L, 1, DB_MT);
    if (!d->db)
        luaL_error(L, "database is closed");
    return d;
}

static int db_error(lua_State *L, sqlite3 *db, const char *what)
{
    char msg[1024];
    return luaL_error(L, "%s: %s", what, vb_db_errmsg(db, msg, sizeof msg));
}

int vb_lua_db_bind(lua_State *L, sqlite3_stmt *stmt, int idx, int n)
{
    int want = sqlite3_bind_parameter_count(stmt);
    if (n != want) {
        lua_pushfstring(L, "statement takes %d parameters, got %d", want, n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int a = idx + i, rc;
        switch (lua_type(L, a)) {
        case LUA_TNIL:
            rc = sqlite3_bind_null(stmt, i + 1);
            break;
        case LUA_TBOOLEAN:
            rc = sqlite3_bind_int(stmt, i + 1, lua_toboolean(L, a));
            break;
        case LUA_TNUMBER:
            if (lua_isinteger(L, a))
                rc = sqlite3_bind_int64(stmt, i + 1, lua_tointeger(L, a));
            else
                rc = sqlite3_bind_double(stmt, i + 1, lua_tonumber(L, a));
            break;
        case LUA_TSTRING: {
            size_t len;
            const char *s = lua_tolstring(L, a, &len);
            rc = sqlite3_bind_text(stmt, i + 1, s, (int)len, SQLITE_TRANSIENT);
            break;
        }
        default:
            lua_pushfstring(L, "cannot bind a %s value (parameter %d)", luaL_typename(L, a), i + 1);
            return -1;
        }
        if (rc != SQLITE_OK) {
            lua_pushfstring(L, "bind parameter %d: %s", i + 1, sqlite3_errstr(rc));
            return -1;
        }
    }
    return 0;
}

/* Finalizes now rather than at collection: an open statement blocks close() and checkpoints. */
static int stmt_fail(lua_State *L, lstmt *ls)
{
    sqlite3_finalize(ls->stmt);
    ls->stmt = NULL;
    return lua_error(L);
}

static void push_column(lua_State *L, sqlite3_stmt *s, int i)
{
    switch (sqlite3_column_type(s, i)) {
    case SQLITE_INTEGER:
        lua_pushinteger(L, sqlite3_column_int64(s, i));
        break;
    case SQLITE_FLOAT:
        lua_pushnumber(L, sqlite3_column_double(s, i));
        break;
    case SQLITE_NULL:
        lua_pushnil(L);
        break;
    default:
        lua_pushlstring(L, (const char *)sqlite3_column_text(s, i),
                        (size_t)sqlite3_column_bytes(s, i));
    }
}

static sqlite3_stmt *prepare(lua_State *L, sqlite3 *db, const char *sql, const char **tail)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, tail) != SQLITE_OK)
        db_error(L, db, sql);
    return s;
}

/* db:exec(sql, ...) - several statements without parameters, or one with. */
static int db_exec(lua_State *L)
{
    ldb *d = check_db(L);
    const char *sql = luaL_checkstring(L, 2);
    int nb = lua_gettop(L) - 2;
    if (nb == 0) {
        char msg[1024];
        if (sqlite3_exec(d->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            lua_pushstring(L, vb_db_errmsg(d->db, msg, sizeof msg));
            return lua_error(L);
        }
        lua_pushinteger(L, sqlite3_changes(d->db));
        return 1;
    }
    const char *tail;
    lstmt *ls = lua_newuserdatauv(L, sizeof *ls, 0);
    ls->stmt = NULL;
    luaL_setmetatable(L, STMT_MT);
    ls->stmt = prepare(L, d->db, sql, &tail);
    if (!ls->stmt)
        return luaL_error(L, "empty statement");
    if (vb_lua_db_bind(L, ls->stmt, 3, nb))
        return stmt_fail(L, ls);
    int rc;
    while ((rc = sqlite3_step(ls->stmt)) == SQLITE_ROW)
        ;
    sqlite3_finalize(ls->stmt);
    ls->stmt = NULL;
    if (rc != SQLITE_DONE)
        return db_error(L, d->db, sql);
    lua_pushinteger(L, sqlite3_changes(d->db));
    return 1;
}

static int row_table(lua_State *L, sqlite3_stmt *s)
{
    int nc = sqlite3_column_count(s);
    /* The row table, then every column again as a result of its own: SELECT * can be wide. */
    luaL_checkstack(L, nc + 2, "too many columns");
    lua_createtable(L, 0, nc);
    for (int i = 0; i < nc; i++) {
        push_column(L, s, i);
        lua_setfield(L, -2, sqlite3_column_name(s, i));
    }
    for (int i = 0; i < nc; i++)
        push_column(L, s, i);
    return nc + 1;
}

static int stmt_close(lua_State *L)
{
    lstmt *ls = luaL_checkudata(L, 1, STMT_MT);
    if (ls->stmt) {
        sqlite3_finalize(ls->stmt);
        ls->stmt = NULL;
    }
    return 0;
}

static int rows_iter(lua_State *L)
{
    lstmt *ls = luaL_checkudata(L, lua_upvalueindex(1), STMT_MT);
    if (!ls->stmt)
        return 0;
    int rc = sqlite3_step(ls->stmt);
    if (rc == SQLITE_ROW)
        return row_table(L, ls->stmt);
    sqlite3 *db = sqlite3_db_handle(ls->stmt);
    sqlite3_finalize(ls->stmt);
    ls->stmt = NULL;
    if (rc != SQLITE_DONE)
        return db_error(L, db, "query");
    return 0;
}

/*
 * for row, c1, c2 ... in db:rows(sql, ...) - row is keyed by column name,
 * c1... are the columns in order.
 */
static int db_rows(lua_State *L)
{
    ldb *d = check_db(L);
    const char *sql = luaL_checkstring(L, 2);
    int nb = lua_gettop(L) - 2;
    lstmt *ls = lua_newuserdatauv(L, sizeof *ls, 0);
    ls->stmt = NULL;
    luaL_setmetatable(L, STMT_MT);
    ls->stmt = prepare(L, d->db, sql, NULL);
    if (!ls->stmt)
        return luaL_error(L, "empty statement");
    if (vb_lua_db_bind(L, ls->stmt, 3, nb))
        return stmt_fail(L, ls);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, rows_iter, 1);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushvalue(L, -4);
    return 4;
}

static int db_first(lua_State *L)
{
    int n = db_rows(L);
    (void)n;
    lstmt *ls = lua_touserdata(L, -1);
    int rc = sqlite3_step(ls->stmt);
    if (rc == SQLITE_ROW) {
        int nr = row_table(L, ls->stmt);
        sqlite3_finalize(ls->stmt);
        ls->stmt = NULL;
        return nr;
    }
    sqlite3 *db = sqlite3_db_handle(ls->stmt);
    sqlite3_finalize(ls->stmt);
    ls->stmt = NULL;
    if (rc != SQLITE_DONE)
        return db_error(L, db, "query");
    lua_pushnil(L);
    return 1;
}

/*
 * Pushes the first column of sql's rows (bound to arg, when given) as a
 * list. The statement lives in a statement object, so that a memory error
 * on the way cannot leave it open; a busy or broken schema is an error, not
 * a shorter list.
 */
static int name_list(lua_State *L, ldb *d, const char *sql, const char *arg, const char *what)
{
    lstmt *ls = lua_newuserdatauv(L, sizeof *ls, 0);
    ls->stmt = NULL;
    luaL_setmetatable(L, STMT_MT);
    sqlite3_stmt *s = ls->stmt = prepare(L, d->db, sql, NULL);
    if (arg)
        sqlite3_bind_text(s, 1, arg, -1, SQLITE_TRANSIENT);
    lua_newtable(L);
    lua_Integer i = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        lua_pushstring(L, (const char *)sqlite3_column_text(s, 0));
        lua_rawseti(L, -2, ++i);
    }
    sqlite3_finalize(s);
    ls->stmt = NULL;
    if (rc != SQLITE_DONE)
        return db_error(L, d->db, what);
    return 1;
}

/* db:columns(table) - the names of a table's columns in order; {} for no such table. */
static int db_columns(lua_State *L)
{
    ldb *d = check_db(L);
    return name_list(L, d, "SELECT name FROM pragma_table_info(?) ORDER BY cid",
                     luaL_checkstring(L, 2), "db:columns()");
}

static int db_tables(lua_State *L)
{
    ldb *d = check_db(L);
    return name_list(L, d,
                     "SELECT name FROM sqlite_schema WHERE type = 'table' AND "
                     "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                     NULL, "db:tables()");
}

/* db:transaction(fn) - BEGIN IMMEDIATE, fn(db), COMMIT; any error rolls back and is re-raised. */
static int db_transaction(lua_State *L)
{
    ldb *d = check_db(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(L, d->db, "BEGIN IMMEDIATE");
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 1);
    int top = lua_gettop(L) - 2;
    if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK) {
        sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
        return lua_error(L);
    }
    if (sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        char msg[1024];
        lua_pushfstring(L, "COMMIT: %s", vb_db_errmsg(d->db, msg, sizeof msg));
        sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
        return lua_error(L);
    }
    return lua_gettop(L) - top;
}

/*
 * Raises "<prefix><dest>: <why>" after closing out and removing dest, which
 * the backup made: in that order, as raising may need memory Lua no longer has.
 */
static int backup_error(lua_State *L, sqlite3 *out, const char *dest, const char *prefix,
                        const char *why)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s%s: %s", prefix, dest, why);
    sqlite3_close(out);
    unlink(dest);
    lua_pushstring(L, msg);
    return lua_error(L);
}

/* db:backup(dest) - the online backup API into a new file, safe while others write. */
static int db_backup(lua_State *L)
{
    ldb *d = check_db(L);
    const char *dest = luaL_checkstring(L, 2);
    vb_lua_check_write(L, dest);
    if (access(dest, F_OK) == 0)
        return luaL_error(L, "%s exists; refusing to overwrite it", dest);
    sqlite3 *out = NULL;
    vb_db_waiter out_waiter;
    vb_err err;
    if (vb_db_open(dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &d->wait, &out_waiter, &out,
                   &err)) {
        lua_pushstring(L, err.msg);
        return lua_error(L);
    }
    sqlite3_backup *b = sqlite3_backup_init(out, "main", d->db, "main");
    if (!b)
        return backup_error(L, out, dest, "", sqlite3_errmsg(out));
    /*
     * One step copies the whole file inside one read transaction, so the copy
     * is a consistent snapshot even while the bridge commits (WAL readers do
     * not block the writer); small steps would restart on every commit and
     * might never finish. A lock another process holds (a writer in
     * rollback-journal mode) is waited for by the source's busy handler;
     * LOCKED (our own open transaction) is retried for a bounded time.
     */
    int rc, tries = 0;
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_LOCKED) {
        if (++tries > 250)
            break;
        sqlite3_sleep(20);
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        char why[768], who[512] = "";
        if ((rc & 0xff) == SQLITE_BUSY)
            vb_db_lock_holder(sqlite3_db_filename(d->db, "main"), who, sizeof who);
        snprintf(why, sizeof why, "%s%s%s", sqlite3_errstr(rc), *who ? ": " : "", who);
        return backup_error(L, out, dest, "backup to ", why);
    }
    sqlite3_close(out);
    return 0;
}

static int db_checkpoint(lua_State *L)
{
    ldb *d = check_db(L);
    static const char *const modes[] = {"PASSIVE", "FULL", "RESTART", "TRUNCATE", NULL};
    static const int codes[] = {SQLITE_CHECKPOINT_PASSIVE, SQLITE_CHECKPOINT_FULL,
                                SQLITE_CHECKPOINT_RESTART, SQLITE_CHECKPOINT_TRUNCATE};
    int m = luaL_checkoption(L, 2, "TRUNCATE", modes);
    int log = 0, ckpt = 0;
    int rc = sqlite3_wal_checkpoint_v2(d->db, NULL, codes[m], &log, &ckpt);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        return db_error(L, d->db, "checkpoint");
    lua_pushboolean(L, rc == SQLITE_OK);
    lua_pushinteger(L, log);
    lua_pushinteger(L, ckpt);
    return 3;
}

static int db_path(lua_State *L)
{
    ldb *d = check_db(L);
    lua_pushstring(L, sqlite3_db_filename(d->db, "main"));
    return 1;
}

static int db_close(lua_State *L)
{
    ldb *d = luaL_checkudata(L, 1, DB_MT);
    if (d->db && d->owned && sqlite3_close(d->db) != SQLITE_OK)
        return db_error(L, d->db, "close (a statement is still open)");
    d->db = NULL;
    return 0;
}

static int db_gc(lua_State *L)
{
    ldb *d = luaL_checkudata(L, 1, DB_MT);
    if (d->db && d->owned)
        sqlite3_close_v2(d->db);
    d->db = NULL;
    return 0;
}

/*
 * Registers metatable name once: methods (NULL: none) as its __index, and
 * fin as both __gc and __close, so that what the object holds is let go of
 * when it is collected or its to-be-closed variable goes out of scope.
 */
static void metatable(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction fin)
{
    if (luaL_newmetatable(L, name)) {
        if (methods) {
            lua_newtable(L);
            luaL_setfuncs(L, methods, 0);
            lua_setfield(L, -2, "__index");
        }
        lua_pushcfunction(L, fin);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, fin);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
}

static void db_metatables(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"exec", db_exec},
        {"rows", db_rows},
        {"first", db_first},
        {"tables", db_tables},
        {"columns", db_columns},
        {"transaction", db_transaction},
        {"backup", db_backup},
        {"checkpoint", db_checkpoint},
        {"path", db_path},
        {"close", db_close},
        {NULL, NULL},
    };
    metatable(L, STMT_MT, NULL, stmt_close);
    metatable(L, DB_MT, methods, db_gc);
}

static ldb *new_db(lua_State *L)
{
    ldb *d = lua_newuserdatauv(L, sizeof *d, 0);
    *d = (ldb){.wait = {.bound_s = VB_DB_WAIT_ONE_SHOT_S}};
    db_metatables(L);
    luaL_setmetatable(L, DB_MT);
    return d;
}

void vb_lua_db_push(lua_State *L, sqlite3 *db)
{
    ldb *d = new_db(L);
    d->db = db;
}

/* --- PostgreSQL handles ---------------------------------------------------- */

typedef struct lpg {
    vb_pg *pg;
} lpg;

typedef struct lres {
    PGresult *res;
} lres;

static lpg *check_pg(lua_State *L)
{
    lpg *d = luaL_checkudata(L, 1, PGDB_MT);
    if (!d->pg)
        luaL_error(L, "database is closed");
    return d;
}

static int pg_error(lua_State *L, lpg *d, const PGresult *r, const char *what)
{
    char buf[512];
    const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    return luaL_error(L, "%s: %s", what, m ? m : vb_pg_error_line(d->pg, buf, sizeof buf));
}

static int is_word(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Past the '...' string or "..." name at p: a doubled quote stays inside, \ escapes in E'...'. */
static const char *skip_quoted(const char *sql, const char *p)
{
    char q = *p;
    int esc =
        q == '\'' && p > sql && (p[-1] == 'E' || p[-1] == 'e') && (p - 1 == sql || !is_word(p[-2]));
    for (p++; *p; p++) {
        if (esc && *p == '\\' && p[1]) {
            p++;
        } else if (*p == q) {
            if (p[1] != q)
                return p + 1;
            p++;
        }
    }
    return p;
}

/* Past the comment at p, which nests in PostgreSQL. */
static const char *skip_comment(const char *p)
{
    int depth = 0;
    while (*p) {
        if (p[0] == '/' && p[1] == '*') {
            depth++;
            p += 2;
        } else if (p[0] == '*' && p[1] == '/') {
            p += 2;
            if (--depth == 0)
                break;
        } else {
            p++;
        }
    }
    return p;
}

/* Past the $tag$...$tag$ string at p; a $ that opens none (a $1, a name's $) is one character. */
static const char *skip_dollar(const char *sql, const char *p)
{
    if (p > sql && (is_word(p[-1]) || p[-1] == '$'))
        return p + 1;
    const char *t = p + 1;
    if (isalpha((unsigned char)*t) || *t == '_')
        while (is_word(*t))
            t++;
    if (*t != '$')
        return p + 1;
    size_t tag = (size_t)(t - p) + 1;
    for (const char *e = t + 1; *e; e++)
        if (strncmp(e, p, tag) == 0)
            return e + tag;
    return p + strlen(p);
}

/*
 * sql with each ? outside strings, quoted names, comments and dollar quotes
 * as $1, $2, ... into b; returns how many. PostgreSQL's own ? operators
 * (jsonb) cannot be written, as in SQLite.
 */
static int placeholders(lua_State *L, const char *sql, luaL_Buffer *b)
{
    int n = 0;
    for (const char *p = sql; *p;) {
        const char *start = p;
        if (*p == '?') {
            lua_pushfstring(L, "$%d", ++n);
            luaL_addvalue(b);
            p++;
            continue;
        }
        if (*p == '\'' || *p == '"')
            p = skip_quoted(sql, p);
        else if (p[0] == '-' && p[1] == '-')
            p += strcspn(p, "\n");
        else if (p[0] == '/' && p[1] == '*')
            p = skip_comment(p);
        else if (*p == '$')
            p = skip_dollar(sql, p);
        else
            p++;
        luaL_addlstring(b, start, (size_t)(p - start));
    }
    return n;
}

/*
 * Runs sql with the nb Lua values from idx as its ? parameters, sent as
 * text (nil as NULL, booleans as 1 and 0, as SQLite binds them). Pushes the
 * result's holder and returns the result; raises on failure.
 */
static PGresult *pg_run(lua_State *L, lpg *d, const char *sql, int idx, int nb)
{
    luaL_checkstack(L, nb + 8, "too many parameters");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int want = placeholders(L, sql, &b);
    luaL_pushresult(&b);
    const char *text = lua_tostring(L, -1);
    if (nb != want)
        luaL_error(L, "statement takes %d parameters, got %d", want, nb);
    const char **vals = nb ? lua_newuserdatauv(L, (size_t)nb * sizeof *vals, 0) : NULL;
    for (int i = 0; i < nb; i++) {
        int a = idx + i;
        size_t len;
        char num[32];
        switch (lua_type(L, a)) {
        case LUA_TNIL:
            vals[i] = NULL;
            break;
        case LUA_TBOOLEAN:
            vals[i] = lua_toboolean(L, a) ? "1" : "0";
            break;
        case LUA_TNUMBER:
            if (lua_isinteger(L, a))
                snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, a));
            else
                snprintf(num, sizeof num, "%.17g", (double)lua_tonumber(L, a));
            vals[i] = lua_pushstring(L, num);
            break;
        case LUA_TSTRING:
            vals[i] = lua_tolstring(L, a, &len);
            if (strlen(vals[i]) != len)
                luaL_error(L, "cannot bind a string holding a NUL byte (parameter %d)", i + 1);
            break;
        default:
            luaL_error(L, "cannot bind a %s value (parameter %d)", luaL_typename(L, a), i + 1);
        }
    }
    lres *lr = lua_newuserdatauv(L, sizeof *lr, 0);
    lr->res = NULL;
    luaL_setmetatable(L, PGRES_MT);
    lr->res = nb ? PQexecParams(d->pg->conn, text, nb, NULL, vals, NULL, NULL, 0)
                 : PQexec(d->pg->conn, text);
    ExecStatusType st = PQresultStatus(lr->res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        pg_error(L, d, lr->res, sql);
    return lr->res;
}

static int res_close(lua_State *L)
{
    lres *lr = luaL_checkudata(L, 1, PGRES_MT);
    PQclear(lr->res);
    lr->res = NULL;
    return 0;
}

/* A value as Lua has it: integers and numbers for PostgreSQL's, booleans, text, nil for NULL. */
static void push_pg_value(lua_State *L, const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) {
        lua_pushnil(L);
        return;
    }
    const char *v = PQgetvalue(r, row, col);
    switch (PQftype(r, col)) {
    case 16: /* bool */
        lua_pushboolean(L, v[0] == 't');
        return;
    case 20:   /* int8 */
    case 21:   /* int2 */
    case 23:   /* int4 */
    case 26:   /* oid */
    case 700:  /* float4 */
    case 701:  /* float8 */
    case 1700: /* numeric */
        if (lua_stringtonumber(L, v))
            return;
        break;
    default:
        break;
    }
    lua_pushlstring(L, v, (size_t)PQgetlength(r, row, col));
}

/* The row table keyed by column name, then every column again, as the SQLite handle's rows. */
static int pg_row(lua_State *L, const PGresult *r, int row)
{
    int nc = PQnfields(r);
    luaL_checkstack(L, nc + 2, "too many columns");
    lua_createtable(L, 0, nc);
    for (int i = 0; i < nc; i++) {
        push_pg_value(L, r, row, i);
        lua_setfield(L, -2, PQfname(r, i));
    }
    for (int i = 0; i < nc; i++)
        push_pg_value(L, r, row, i);
    return nc + 1;
}

static int pg_exec(lua_State *L)
{
    lpg *d = check_pg(L);
    PGresult *r = pg_run(L, d, luaL_checkstring(L, 2), 3, lua_gettop(L) - 2);
    lua_pushinteger(L, atoll(PQcmdTuples(r)));
    return 1;
}

static int pg_rows_iter(lua_State *L)
{
    lres *lr = luaL_checkudata(L, lua_upvalueindex(1), PGRES_MT);
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));
    if (!lr->res || i >= PQntuples(lr->res))
        return 0;
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(2));
    return pg_row(L, lr->res, (int)i);
}

/* for row, c1, c2 ... in db:rows(sql, ...), as on SQLite; the rows come in one answer. */
static int pg_rows(lua_State *L)
{
    lpg *d = check_pg(L);
    pg_run(L, d, luaL_checkstring(L, 2), 3, lua_gettop(L) - 2);
    lua_pushvalue(L, -1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, pg_rows_iter, 2);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushvalue(L, -4);
    return 4;
}

static int pg_first(lua_State *L)
{
    lpg *d = check_pg(L);
    PGresult *r = pg_run(L, d, luaL_checkstring(L, 2), 3, lua_gettop(L) - 2);
    if (PQntuples(r) == 0) {
        lua_pushnil(L);
        return 1;
    }
    return pg_row(L, r, 0);
}

/* A list of the first column of sql's rows. */
static int pg_list(lua_State *L, lpg *d, const char *sql, int nb)
{
    PGresult *r = pg_run(L, d, sql, 2, nb);
    lua_createtable(L, PQntuples(r), 0);
    for (int i = 0; i < PQntuples(r); i++) {
        lua_pushstring(L, PQgetvalue(r, i, 0));
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* The tables of the first schema of the search path, as PostgreSQL names them (lower case). */
static int pg_tables(lua_State *L)
{
    return pg_list(L, check_pg(L),
                   "SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = "
                   "current_schema()::regnamespace AND relkind IN ('r', 'p') ORDER BY 1",
                   0);
}

/* As on SQLite, a name in any case finds its table, and a name no table has finds nothing. */
static int pg_columns(lua_State *L)
{
    lpg *d = check_pg(L);
    luaL_checkstring(L, 2);
    lua_settop(L, 2);
    return pg_list(L, d,
                   "SELECT attname::text FROM pg_catalog.pg_attribute WHERE attrelid = "
                   "to_regclass(quote_ident(lower(?))) AND attnum > 0 AND NOT attisdropped "
                   "ORDER BY attnum",
                   1);
}

/* db:transaction(fn) - BEGIN, fn(db), COMMIT; any error rolls back and is re-raised. */
static int pg_transaction(lua_State *L)
{
    lpg *d = check_pg(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    PGresult *r = PQexec(d->pg->conn, "BEGIN");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok)
        return pg_error(L, d, NULL, "BEGIN");
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 1);
    int top = lua_gettop(L) - 2;
    if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK) {
        PQclear(PQexec(d->pg->conn, "ROLLBACK"));
        return lua_error(L);
    }
    r = PQexec(d->pg->conn, "COMMIT");
    ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    PQclear(r);
    if (!ok)
        return pg_error(L, d, NULL, "COMMIT");
    return lua_gettop(L) - top;
}

static int pg_path(lua_State *L)
{
    lua_pushstring(L, check_pg(L)->pg->name);
    return 1;
}

static int pg_close(lua_State *L)
{
    lpg *d = luaL_checkudata(L, 1, PGDB_MT);
    vb_pg_close(d->pg);
    d->pg = NULL;
    return 0;
}

static void pg_metatables(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"exec", pg_exec},     {"rows", pg_rows},       {"first", pg_first},
        {"tables", pg_tables}, {"columns", pg_columns}, {"transaction", pg_transaction},
        {"path", pg_path},     {"close", pg_close},     {NULL, NULL},
    };
    metatable(L, PGRES_MT, NULL, res_close);
    metatable(L, PGDB_MT, methods, pg_close);
}

/* vlbimon.open(CONNINFO, {postgres = true [, readonly = true]}) */
static int open_pg(lua_State *L, const char *conninfo, int readonly)
{
    if (!vb_lua_may_connect(vb_lua_host(L)))
        return luaL_error(L, "a PostgreSQL database: not allowed: this Lua code may not connect "
                             "to a database server");
    lpg *d = lua_newuserdatauv(L, sizeof *d, 0);
    d->pg = NULL;
    pg_metatables(L);
    luaL_setmetatable(L, PGDB_MT);
    vb_err err;
    if (!(d->pg = vb_pg_open(conninfo, &err))) {
        lua_pushstring(L, err.msg);
        return lua_error(L);
    }
    if (readonly) {
        PGresult *r = PQexec(d->pg->conn, "SET default_transaction_read_only = on");
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok)
            return pg_error(L, d, NULL, "SET default_transaction_read_only");
    }
    return 1;
}

/*
 * ATTACH, and VACUUM INTO (which SQLite runs as an ATTACH), may create a
 * file: only where the host lets Lua code write. In-memory and temporary
 * databases are no file; URI names are refused rather than parsed, and so
 * is a name only known when the statement runs (a bound parameter, NULL here).
 */
static int guard_attach(void *host, int action, const char *file, const char *a2, const char *a3,
                        const char *a4)
{
    (void)a2, (void)a3, (void)a4;
    if (action != SQLITE_ATTACH)
        return SQLITE_OK;
    if (!file)
        return SQLITE_DENY;
    if (!*file || strcmp(file, ":memory:") == 0)
        return SQLITE_OK;
    return strncmp(file, "file:", 5) != 0 && vb_lua_may_write(host, file) ? SQLITE_OK : SQLITE_DENY;
}

int vb_lua_db_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int readonly = 0, create = 0, postgres = 0;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "readonly");
        readonly = lua_toboolean(L, -1);
        lua_getfield(L, 2, "create");
        create = lua_toboolean(L, -1);
        lua_getfield(L, 2, "postgres");
        postgres = lua_toboolean(L, -1);
        lua_pop(L, 3);
    }
    if (postgres && create)
        return luaL_error(L, "create: not for PostgreSQL (initdb --postgres makes the schema)");
    if (postgres)
        return open_pg(L, path, readonly);
    if (!readonly)
        vb_lua_check_write(L, path);
    if (!create && access(path, F_OK) != 0)
        return luaL_error(L, "%s: no such database file", path);
    ldb *d = new_db(L);
    /* Owned from the start: if a memory error cuts the failure path short, collection closes it. */
    d->owned = 1;
    int flags =
        readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    vb_app *app = vb_lua_app(L);
    d->wait.log = app ? &app->log : NULL;
    vb_err err;
    if (vb_db_open(path, flags, &d->wait, &d->waiter, &d->db, &err)) {
        lua_pushstring(L, err.msg);
        return lua_error(L);
    }
    sqlite3_set_authorizer(d->db, guard_attach, vb_lua_host(L));
    sqlite3_extended_result_codes(d->db, 1);
    return 1;
}
