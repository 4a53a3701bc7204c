/*
 * doctor.c - see doctor.h. One function per rule, in the order of the
 * "tricky rules" of docs/deployment.md, each printing exactly one line.
 *
 * Groups and modes are read from the files, never probed with access():
 * doctor often runs as root, who may do anything, and what matters is what
 * Grafana's group may do. SQLite readers in WAL mode write the -shm file, so
 * "Grafana only reads" still needs group write access.
 */
#define _GNU_SOURCE
#include "cmd/doctor.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/pgschema.h"
#include "db/schema.h"
#include "net/http.h"
#include "host/lua_host.h"
#include "net/secrets.h"
#include "net/session.h"

typedef struct doctor {
    vb_app *app;
    const char *db;
    const char *group;
    gid_t gid;
    int have_group;
    int failed;
    vb_pg *pg;                /* doctor --postgres: the bridge's connection */
    const char *grafana_role; /* doctor --postgres: the role Grafana reads as */
} doctor;

/*
 * A check's outcome. WARN is for a set-up that works but is not what
 * production wants; it does not fail doctor's exit status.
 */
enum { FAIL = 0, OK = 1, WARN = 2 };

static void report(doctor *d, int status, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(doctor *d, int status, const char *check, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%-4s %s: ", status == OK ? "OK" : status == WARN ? "WARN" : "FAIL", check);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    if (status == FAIL)
        d->failed++;
}

/* The group's name, or its number when it has none. */
static void group_name(gid_t gid, char *buf, size_t n)
{
    struct group *g = getgrgid(gid);
    if (g)
        snprintf(buf, n, "%s", g->gr_name);
    else
        snprintf(buf, n, "%lu", (unsigned long)gid);
}

/*
 * Whether Grafana's group may read and write st (and enter it, for a
 * directory); if not, says why in buf ("PATH is group G, mode 0644").
 */
static int group_rw(const doctor *d, const char *path, const struct stat *st, char *buf, size_t n)
{
    mode_t need = S_IRGRP | S_IWGRP | (S_ISDIR(st->st_mode) ? S_IXGRP : 0);
    if (d->have_group && st->st_gid == d->gid && (st->st_mode & need) == need)
        return 1;
    char g[64];
    group_name(st->st_gid, g, sizeof g);
    snprintf(buf, n, "%s is group %s, mode %04o", path, g, (unsigned)(st->st_mode & 07777));
    return 0;
}

/* Whether this process has gid, as its group or a supplementary one. */
static int process_in_group(gid_t gid)
{
    if (getegid() == gid)
        return 1;
    int n = getgroups(0, NULL);
    gid_t *groups = n > 0 ? malloc((size_t)n * sizeof *groups) : NULL;
    int found = 0;
    if (groups) {
        n = getgroups(n, groups);
        for (int i = 0; i < n && !found; i++)
            found = groups[i] == gid;
    }
    free(groups);
    return found;
}

/* Whether the group database lists user in gid (true before the user logs in again). */
static int listed_in_group(const char *user, gid_t primary, gid_t gid)
{
    int n = 64;
    gid_t *groups = NULL;
    for (;;) {
        gid_t *more = realloc(groups, (size_t)n * sizeof *groups);
        if (!more)
            break;
        groups = more;
        int want = n;
        if (getgrouplist(user, primary, groups, &want) >= 0) {
            for (int i = 0; i < want; i++)
                if (groups[i] == gid) {
                    free(groups);
                    return 1;
                }
            break;
        }
        n = want > n ? want : n * 2;
    }
    free(groups);
    return 0;
}

static void check_group(doctor *d)
{
    struct group *g = getgrnam(d->group);
    if (!g) {
        report(d, FAIL, "group",
               "group %s does not exist; fix: install Grafana (its package creates the group), "
               "or: sudo groupadd --system %s",
               d->group, d->group);
        return;
    }
    d->gid = g->gr_gid;
    d->have_group = 1;
    report(d, OK, "group", "group %s exists (gid %lu)", d->group, (unsigned long)d->gid);
}

static void check_user(doctor *d)
{
    char user[256];
    struct passwd *pw = getpwuid(geteuid());
    gid_t primary = pw ? pw->pw_gid : getegid();
    if (pw)
        snprintf(user, sizeof user, "%s", pw->pw_name);
    else
        snprintf(user, sizeof user, "%lu", (unsigned long)geteuid());
    if (!d->have_group)
        report(d, FAIL, "user", "cannot check: group %s does not exist", d->group);
    else if (process_in_group(d->gid))
        report(d, OK, "user", "%s is in group %s", user, d->group);
    else if (pw && listed_in_group(user, primary, d->gid))
        report(d, FAIL, "user",
               "%s was added to group %s after this login began; fix: log in again (or: newgrp %s)",
               user, d->group, d->group);
    else
        report(d, FAIL, "user",
               "%s is not in group %s; fix: sudo usermod -aG %s %s, then log in again (the "
               "systemd unit sets the group itself)",
               user, d->group, d->group, user);
}

static void check_database(doctor *d)
{
    struct stat st;
    char why[PATH_MAX + 128];
    if (stat(d->db, &st))
        report(d, FAIL, "database", "%s: %s; fix: vlbimon_bridge initdb --sqlitedb %s", d->db,
               strerror(errno), d->db);
    else if (!S_ISREG(st.st_mode))
        report(d, FAIL, "database", "%s is not a file; fix: give --sqlitedb the database file",
               d->db);
    else if (!d->have_group)
        report(d, FAIL, "database", "cannot check %s: group %s does not exist", d->db, d->group);
    else if (!group_rw(d, d->db, &st, why, sizeof why))
        report(d, FAIL, "database",
               "%s: group %s must read and write it; fix: sudo chgrp %s %s && sudo chmod g+rw %s",
               why, d->group, d->group, d->db, d->db);
    else
        report(d, OK, "database", "%s is group %s and group-writable (mode %04o)", d->db, d->group,
               (unsigned)(st.st_mode & 07777));
}

static void check_not_grafana_db(doctor *d)
{
    const char *base = strrchr(d->db, '/');
    base = base ? base + 1 : d->db;
    if (strcmp(base, "grafana.db") == 0)
        report(d, FAIL, "not grafana.db",
               "%s is Grafana's own database, which the bridge must never write; fix: give the "
               "bridge a file of its own, e.g. vlbimon_bridge initdb --sqlitedb "
               "/var/lib/grafana/live.db (the file the provisioned datasource reads)",
               d->db);
    else
        report(d, OK, "not grafana.db", "%s is not Grafana's own grafana.db", d->db);
}

static void check_directory(doctor *d)
{
    char dir[PATH_MAX], why[PATH_MAX + 128], eg[64];
    const char *slash = strrchr(d->db, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == d->db ? 1 : (int)(slash - d->db), d->db);
    struct stat st;
    if (stat(dir, &st))
        report(d, FAIL, "directory", "%s: %s", dir, strerror(errno));
    else if (!d->have_group)
        report(d, FAIL, "directory", "cannot check %s: group %s does not exist", dir, d->group);
    else if (!group_rw(d, dir, &st, why, sizeof why))
        report(d, FAIL, "directory",
               "%s: group %s must be able to create the -wal and -shm files in it; fix: sudo "
               "chgrp %s %s && sudo chmod g+rwxs %s",
               why, d->group, d->group, dir, dir);
    else if (!(st.st_mode & S_ISGID) && getegid() != d->gid) {
        group_name(getegid(), eg, sizeof eg);
        report(d, FAIL, "directory",
               "files the bridge creates in %s (the -wal and -shm) would get group %s, not %s; "
               "fix: sudo chmod g+s %s (or run the bridge with group %s, as the systemd unit "
               "does)",
               dir, eg, d->group, dir, d->group);
    } else
        report(d, OK, "directory", "%s is group %s and group-writable (mode %04o)", dir, d->group,
               (unsigned)(st.st_mode & 07777));
}

static void check_wal_files(doctor *d)
{
    static const char *const suffixes[] = {"-wal", "-shm"};
    char path[PATH_MAX], why[PATH_MAX + 128], bad[2 * (PATH_MAX + 128)] = "",
                                                                  paths[2 * PATH_MAX] = "";
    int found = 0;
    for (size_t i = 0; i < VB_COUNT(suffixes); i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s%s", d->db, suffixes[i]);
        if (stat(path, &st))
            continue;
        found++;
        if (d->have_group && group_rw(d, path, &st, why, sizeof why))
            continue;
        if (!d->have_group)
            snprintf(why, sizeof why, "%s", path);
        size_t l = strlen(bad);
        snprintf(bad + l, sizeof bad - l, "%s%s", l ? "; " : "", why);
        l = strlen(paths);
        snprintf(paths + l, sizeof paths - l, "%s%s", l ? " " : "", path);
    }
    if (!found)
        report(d, OK, "wal files",
               "no %s-wal or -shm now; the bridge creates them group-writable (umask 002)", d->db);
    else if (!d->have_group)
        report(d, FAIL, "wal files", "cannot check %s: group %s does not exist", paths, d->group);
    else if (bad[0])
        report(d, FAIL, "wal files",
               "%s: Grafana cannot read while the bridge writes; fix: sudo chgrp %s %s && sudo "
               "chmod g+rw %s",
               bad, d->group, paths, paths);
    else
        report(d, OK, "wal files", "the %s-wal and -shm there are group %s and group-writable",
               d->db, d->group);
}

static void check_secrets_mode(doctor *d)
{
    const char *path = d->app->secrets;
    struct stat st;
    if (stat(path, &st))
        report(d, FAIL, "secrets",
               "%s: %s; fix: create it as docs/commands.md, \"The secrets file\", shows, then: "
               "chmod 600 "
               "%s",
               path, strerror(errno), path);
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        report(d, FAIL, "secrets",
               "%s is open to its group or other users (mode %04o): they can read the vlbimon "
               "password, and bridge and history refuse it unless --insecure-secrets-ok; fix: "
               "chmod 600 %s",
               path, (unsigned)(st.st_mode & 07777), path);
    else
        report(d, OK, "secrets", "%s is readable by its owner only (mode %04o)", path,
               (unsigned)(st.st_mode & 07777));
}

/* Whether body is a JSON object with a non-empty string "id", as POST /session answers. */
static int has_session_id(vb_app *app, const vb_buf *body)
{
    vb_err err;
    vb_lua *lua = vb_lua_new(app, &err);
    char *id = NULL;
    int found = lua && vb_session_id(lua, body->data, body->len, &id, &err) == 0;
    free(id);
    vb_lua_free(lua);
    return found;
}

static void check_server(doctor *d)
{
    vb_app *app = d->app;
    const char *url = app->server_url;
    vb_secrets s;
    vb_err err;
    if (vb_secrets_load(app->secrets, &s, &err)) {
        report(d, FAIL, "server", "cannot try %s: %s", url, err.msg);
        return;
    }
    const vb_cred *c = vb_secrets_find(&s, app->server_host, &err);
    if (!c) {
        report(d, FAIL, "server", "cannot try %s: %s; fix: add basicauth or digestauth for %s", url,
               err.msg, app->server_host);
        vb_secrets_free(&s);
        return;
    }
    const char *kind = c->kind == VB_AUTH_DIGEST ? "digest" : "basic";
    vb_http_opts o = {.connect_timeout_ms = 10000, .timeout_ms = 30000, .cafile = app->cacert};
    vb_http *h = vb_http_new(url, c, &o, &err);
    vb_http_resp r = {0};
    int rc = h ? vb_http_request(h, "POST", "/session", NULL, VB_HTTP_CRED, &r, &err) : -1;
    if (!h)
        report(d, FAIL, "server", "cannot try %s: %s; fix: check --cacert", url, err.msg);
    else if (rc && r.cert_failed)
        report(d, FAIL, "server",
               "%s; fix: if the server's certificate comes from a private CA, give its CA "
               "certificate with --cacert FILE; otherwise check that --server names the host the "
               "certificate is for",
               err.msg);
    else if (rc)
        report(d, FAIL, "server", "%s; fix: check the network, a proxy, and --server", err.msg);
    else if (r.status == 401 || r.status == 403)
        report(d, FAIL, "server",
               "%s rejects user '%s' from %s (HTTP %ld); fix: correct the %sauth entry for %s "
               "in %s",
               url, c->user, app->secrets, r.status, kind, app->server_host, app->secrets);
    else if (r.status < 200 || r.status > 299)
        report(d, FAIL, "server",
               "%s answered POST /session with HTTP %ld; fix: try again later, or check --server",
               url, r.status);
    else if (!has_session_id(app, &r.body))
        report(d, FAIL, "server",
               "%s answered POST /session without a session id; fix: check that --server is a "
               "vlbimon server",
               url);
    else
        report(d, OK, "server", "%s accepts user '%s' (%s auth) and opened a session", url, c->user,
               kind);
    vb_http_resp_free(&r);
    vb_http_free(h);
    vb_secrets_free(&s);
}

static void check_masterlist(doctor *d)
{
    vb_app *app = d->app;
    vb_err err;
    const vb_masterlist *ml = vb_app_masterlist(app, &err);
    if (!ml) {
        report(d, FAIL, "masterlist",
               "%s; fix: vlbimon_bridge masterlist, run in the bridge's working directory, "
               "downloads the server's",
               err.msg);
        return;
    }
    if (app->ml_fixture)
        report(d, WARN, "masterlist",
               "%s: %zu parameters, %zu stations: the bundled test fixture, not vlbimon's "
               "catalogue (there is no ./masterlist.json); fix: vlbimon_bridge --server %s "
               "masterlist, run in the bridge's working directory",
               app->masterlist, ml->nparams, ml->nstations, app->server_url);
    else
        report(d, OK, "masterlist", "%s: %zu parameters, %zu stations", app->masterlist,
               ml->nparams, ml->nstations);
}

/*
 * doctor --postgres: the rules of docs/deployment.md's PostgreSQL section.
 * The privileges are asked of the server (has_*_privilege), which knows
 * ownership, role membership and superusers; "ours" are the tables named
 * ts_param_* or bridge_* in the schema the bridge creates tables in.
 */
#define OURS                                                                                       \
    "c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND "             \
    "(c.relname LIKE 'ts\\_param\\_%' OR c.relname LIKE 'bridge\\_%')"
/* What the bridge does to table c: insert; upsert the status and the cursor; record loads. */
#define CANNOT_WRITE                                                                               \
    "NOT has_table_privilege(c.oid, 'INSERT') OR (c.relname IN ('bridge_stationstatus', "          \
    "'bridge_state', 'bridge_inserted') AND NOT (has_table_privilege(c.oid, 'SELECT') AND "        \
    "has_table_privilege(c.oid, 'UPDATE')))"
/* Any change to table c by role r (has_table_privilege: any one of the list). */
#define CAN_CHANGE "has_table_privilege(r.oid, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')"

static void check_postgres(doctor *d, const char *conninfo)
{
    vb_err err;
    d->pg = vb_pg_open(conninfo, &err);
    if (!d->pg) {
        report(d, 0, "postgres",
               "%s; fix: check CONNINFO, that the server runs and its pg_hba.conf lets this "
               "user in, and the password (~/.pgpass, PGPASSFILE, PGPASSWORD, PGSERVICEFILE)",
               err.msg);
        return;
    }
    report(d, 1, "postgres", "%s answers: PostgreSQL %s, database %s, role %s", d->pg->name,
           PQparameterStatus(d->pg->conn, "server_version"), PQdb(d->pg->conn),
           PQuser(d->pg->conn));
}

static void check_pg_schema(doctor *d)
{
    vb_err err;
    vb_pg_version v;
    char when[32];
    if (!d->pg)
        report(d, 0, "schema", "cannot check: no connection to the server");
    else if (vb_pg_schema_version(d->pg, &v, &err))
        report(d, 0, "schema", "%s; fix: vlbimon_bridge initdb --postgres '%s'", err.msg,
               d->pg->name);
    else if (strcmp(v.version, VB_SCHEMA_VERSION) > 0)
        report(d, 0, "schema",
               "version %s is newer than this bridge's %s; fix: install the bridge that "
               "migrated it",
               v.version, VB_SCHEMA_VERSION);
    else if (strcmp(v.version, VB_PG_SCHEMA_SINCE) < 0)
        report(d, 0, "schema",
               "version %s is older than this bridge's %s; fix: vlbimon_bridge "
               "migrate --postgres '%s' fix",
               v.version, VB_SCHEMA_VERSION, d->pg->name);
    else {
        vb_iso8601(v.applied, when);
        if (strcmp(v.version, VB_SCHEMA_VERSION) < 0)
            report(d, 1, "schema", "version %s, reached %s: the same schema as %s", v.version, when,
                   VB_SCHEMA_VERSION);
        else
            report(d, 1, "schema", "version %s, reached %s", v.version, when);
    }
}

/* The first row of a query, or NULL after reporting check as failed. */
static PGresult *pg_row(doctor *d, const char *check, const char *sql, const char *param)
{
    vb_err err;
    if (!d->pg) {
        report(d, 0, check, "cannot check: no connection to the server");
        return NULL;
    }
    PGresult *res = vb_pg_query(d->pg, sql, param ? 1 : 0, param ? &param : NULL, &err);
    if (!res)
        report(d, 0, check, "%s", err.msg);
    return res;
}

/* The first row's value of the column named name ("" when there is none). */
static const char *col(const PGresult *res, const char *name)
{
    int i = PQfnumber(res, name);
    return i < 0 ? "" : PQgetvalue(res, 0, i);
}

static int yes(const PGresult *res, const char *name)
{
    return col(res, name)[0] == 't';
}

static void check_bridge_role(doctor *d)
{
    PGresult *r =
        pg_row(d, "bridge role",
               "SELECT current_user AS role, current_schema() AS schema, pg_is_in_recovery() AS "
               "standby, current_setting('default_transaction_read_only') = 'on' AS readonly, "
               "has_schema_privilege(current_schema(), 'CREATE') AS can_create, count(c.oid) AS "
               "tables, count(c.oid) FILTER (WHERE " CANNOT_WRITE ") AS unwritable, "
               "min(c.relname::text) FILTER (WHERE " CANNOT_WRITE ") AS first_unwritable "
               "FROM pg_catalog.pg_class c WHERE " OURS,
               NULL);
    if (!r)
        return;
    const char *role = col(r, "role"), *schema = col(r, "schema");
    if (yes(r, "standby"))
        report(d, 0, "bridge role",
               "the server is a standby, which nobody can write; fix: point CONNINFO at the "
               "primary");
    else if (yes(r, "readonly"))
        report(d, 0, "bridge role",
               "%s's transactions are read-only (default_transaction_read_only); fix: ALTER "
               "ROLE %s SET default_transaction_read_only = off",
               role, role);
    else if (!yes(r, "can_create"))
        report(d, 0, "bridge role",
               "%s may not create tables in schema %s, which a new parameter needs; fix: run "
               "the bridge as the role that owns the database (docs/deployment.md, "
               "\"PostgreSQL\")",
               role, schema);
    else if (atol(col(r, "unwritable")) > 0)
        report(d, 0, "bridge role",
               "%s cannot write %s of the %s tables (%s, ...); fix: run the bridge as the role "
               "that ran initdb --postgres and owns them",
               role, col(r, "unwritable"), col(r, "tables"), col(r, "first_unwritable"));
    else
        report(d, 1, "bridge role", "%s may write all %s tables and create more in schema %s", role,
               col(r, "tables"), schema);
    PQclear(r);
}

static void check_grafana_role(doctor *d)
{
    const char *g = d->grafana_role;
    PGresult *r = pg_row(
        d, "grafana role",
        "SELECT r.rolsuper AS super, r.rolcanlogin AS login, pg_has_role(r.oid, current_user, "
        "'USAGE') AS is_bridge, has_database_privilege(r.oid, current_database(), 'CONNECT') AS "
        "connect, has_schema_privilege(r.oid, current_schema(), 'USAGE') AS usage, "
        "has_schema_privilege(r.oid, current_schema(), 'CREATE') AS can_create, count(c.oid) AS "
        "tables, count(c.oid) FILTER (WHERE NOT has_table_privilege(r.oid, c.oid, 'SELECT')) AS "
        "unreadable, min(c.relname::text) FILTER (WHERE NOT has_table_privilege(r.oid, c.oid, "
        "'SELECT')) AS first_unreadable, count(c.oid) FILTER (WHERE " CAN_CHANGE ") AS "
        "changeable, min(c.relname::text) FILTER (WHERE " CAN_CHANGE ") AS first_changeable, "
        "EXISTS (SELECT 1 FROM pg_catalog.pg_default_acl a, aclexplode(a.defaclacl) x WHERE "
        "a.defaclrole = current_user::regrole AND a.defaclobjtype = 'r' AND a.defaclnamespace IN "
        "(0, current_schema()::regnamespace) AND x.grantee = r.oid AND x.privilege_type = "
        "'SELECT') AS later_readable, current_user AS bridge, current_schema() AS schema, "
        "current_database() AS db FROM pg_catalog.pg_roles r LEFT JOIN pg_catalog.pg_class c "
        "ON " OURS " WHERE r.rolname = $1 GROUP BY r.oid, r.rolsuper, r.rolcanlogin",
        g);
    if (!r)
        return;
    if (PQntuples(r) == 0) {
        report(d, 0, "grafana role",
               "role %s does not exist; fix: CREATE ROLE %s LOGIN PASSWORD '...' and the GRANTs "
               "of docs/deployment.md, \"PostgreSQL\" (or give doctor --grafana-role)",
               g, g);
        PQclear(r);
        return;
    }
    const char *bridge = col(r, "bridge"), *schema = col(r, "schema"), *db = col(r, "db");
    if (yes(r, "super") || yes(r, "is_bridge"))
        report(d, 0, "grafana role",
               "%s is %s, so it may write everything; fix: give Grafana a role of its own that "
               "may only read (docs/deployment.md, \"PostgreSQL\")",
               g, yes(r, "super") ? "a superuser" : "the bridge's role or a member of it");
    else if (atol(col(r, "changeable")) > 0)
        report(d, 0, "grafana role",
               "%s may change %s tables (%s, ...), where it must only read; fix: REVOKE INSERT, "
               "UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA %s FROM %s",
               g, col(r, "changeable"), col(r, "first_changeable"), schema, g);
    else if (yes(r, "can_create"))
        report(d, 0, "grafana role",
               "%s may create tables in schema %s, where it must only read; fix: REVOKE CREATE "
               "ON SCHEMA %s FROM PUBLIC, %s",
               g, schema, schema, g);
    else if (!yes(r, "login"))
        report(d, 0, "grafana role", "%s cannot log in; fix: ALTER ROLE %s LOGIN", g, g);
    else if (!yes(r, "connect"))
        report(d, 0, "grafana role",
               "%s may not connect to database %s; fix: GRANT CONNECT ON DATABASE %s TO %s", g, db,
               db, g);
    else if (!yes(r, "usage"))
        report(d, 0, "grafana role", "%s cannot use schema %s; fix: GRANT USAGE ON SCHEMA %s TO %s",
               g, schema, schema, g);
    else if (atol(col(r, "unreadable")) > 0)
        report(d, 0, "grafana role",
               "%s cannot read %s of the %s tables (%s, ...); fix: GRANT SELECT ON ALL TABLES IN "
               "SCHEMA %s TO %s",
               g, col(r, "unreadable"), col(r, "tables"), col(r, "first_unreadable"), schema, g);
    else if (!yes(r, "later_readable"))
        report(d, 0, "grafana role",
               "%s could not read the tables %s makes for new parameters; fix: ALTER DEFAULT "
               "PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT SELECT ON TABLES TO %s",
               g, bridge, bridge, schema, g);
    else
        report(d, 1, "grafana role",
               "%s may read all %s tables and the ones %s makes later, and change nothing", g,
               col(r, "tables"), bridge);
    PQclear(r);
}

static int finish(doctor *d)
{
    if (fflush(stdout) != 0) {
        vb_log_msg(&d->app->log, VB_ERROR, "doctor: cannot write to stdout");
        return VB_EXIT_FAIL;
    }
    return d->failed ? VB_EXIT_FAIL : VB_EXIT_OK;
}

static int doctor_postgres(vb_app *app, const char *conninfo, const char *grafana_role,
                           const vb_cmdspec *spec)
{
    if (!*grafana_role) {
        fprintf(stderr, "%s: error: argument --grafana-role: expected a role name\n", spec->prog);
        return VB_EXIT_USAGE;
    }
    doctor d = {.app = app, .grafana_role = grafana_role};
    check_postgres(&d, conninfo);
    check_pg_schema(&d);
    check_bridge_role(&d);
    check_grafana_role(&d);
    vb_pg_close(d.pg);
    d.pg = NULL;
    check_secrets_mode(&d);
    check_server(&d);
    check_masterlist(&d);
    return finish(&d);
}

int cmd_doctor(vb_app *app, int argc, char **argv)
{
    const char *sqlitedb = NULL, *group = "grafana", *postgres = NULL, *grafana_role = "grafana";
    const vb_opt opts[] = {
        {.lname = "sqlitedb",
         .kind = VB_OPT_STRING,
         .dest = &sqlitedb,
         .metavar = "SQLITEDB",
         .help = "the database Grafana reads"},
        {.lname = "group",
         .kind = VB_OPT_STRING,
         .dest = &group,
         .metavar = "GROUP",
         .help = "the group Grafana runs as (default grafana)"},
        {.lname = "postgres",
         .kind = VB_OPT_STRING,
         .dest = &postgres,
         .metavar = "CONNINFO",
         .help = "instead of --sqlitedb: the PostgreSQL database, as the bridge connects to it"},
        {.lname = "grafana-role",
         .kind = VB_OPT_STRING,
         .dest = &grafana_role,
         .metavar = "ROLE",
         .help = "with --postgres: the role Grafana reads as (default grafana)"},
    };
    const vb_cmdspec spec = {.prog = "vlbimon_bridge doctor",
                             .description =
                                 "check the deployment rules (docs/deployment.md), one line per "
                                 "check with its fix; exit status 1 when one fails",
                             .opts = opts,
                             .nopts = VB_COUNT(opts)};
    int rc = vb_app_parse_options(app, &spec, argc, argv);
    if (rc >= 0)
        return rc;
    if ((rc = vb_app_databases(&spec, sqlitedb && *sqlitedb ? sqlitedb : NULL, postgres, 1)) >= 0)
        return rc;
    if (postgres)
        return doctor_postgres(app, postgres, grafana_role, &spec);
    if (!*group) {
        fprintf(stderr, "%s: error: argument --group: expected a group name\n", spec.prog);
        return VB_EXIT_USAGE;
    }
    doctor d = {.app = app, .db = sqlitedb, .group = group};
    check_group(&d);
    check_user(&d);
    check_database(&d);
    check_not_grafana_db(&d);
    check_directory(&d);
    check_wal_files(&d);
    check_secrets_mode(&d);
    check_server(&d);
    check_masterlist(&d);
    return finish(&d);
}
