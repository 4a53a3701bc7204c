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

int cmd_doctor(vb_app *app, int argc, char **argv)
{
    const char *sqlitedb = NULL, *group = "grafana";
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
    if (!sqlitedb || !*sqlitedb) {
        fprintf(stderr, "%s: error: the following arguments are required: --sqlitedb\n", spec.prog);
        return VB_EXIT_USAGE;
    }
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
    if (fflush(stdout) != 0) {
        vb_log_msg(&app->log, VB_ERROR, "doctor: cannot write to stdout");
        return VB_EXIT_FAIL;
    }
    return d.failed ? VB_EXIT_FAIL : VB_EXIT_OK;
}
