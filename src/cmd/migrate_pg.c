/*
 * migrate_pg.c - see migrate_pg.h. The list of migrations is the Lua
 * runner's: every NAME.lua in the directory, in name order.
 */
#define _DEFAULT_SOURCE
#include "cmd/migrate_pg.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/pgschema.h"
#include "db/schema.h"

typedef struct migration {
    char *name;
    const char
        *state; /* n/a: SQLite's history or SQLite's alone; new: in the schema; old: not yet */
} migration;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const migration *)a)->name, ((const migration *)b)->name);
}

static void free_list(migration *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i].name);
    free(list);
}

static int load(const char *dir, const char *version, migration **out, size_t *nout, vb_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return vb_fail(err, "%s: %s", dir, strerror(errno));
    migration *list = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || strcmp(e->d_name + len - 4, ".lua") != 0)
            continue;
        migration *more = realloc(list, (n + 1) * sizeof *list);
        if (!more || !(more[n].name = vb_strdup(e->d_name))) {
            free_list(more ? more : list, n);
            closedir(d);
            return vb_fail(err, "out of memory");
        }
        list = more;
        list[n].name[len - 4] = '\0';
        n++;
    }
    closedir(d);
    if (n == 0) {
        free(list);
        return vb_fail(err, "no migrations in %s", dir);
    }
    qsort(list, n, sizeof *list, by_name);
    for (size_t i = 0; i < n; i++)
        list[i].state = strcmp(list[i].name, VB_SCHEMA_VERSION) <= 0 ? "n/a"
                        : strcmp(list[i].name, version) <= 0         ? "new"
                                                                     : "old";
    *out = list;
    *nout = n;
    return 0;
}

/* The migration NAME is, or the only one it is a prefix of, as the Lua runner finds it. */
static const migration *find(const migration *list, size_t n, const char *name, vb_err *err)
{
    const migration *hit = NULL;
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].name, name) == 0)
            return &list[i];
        if (strncmp(list[i].name, name, strlen(name)) == 0) {
            hit = &list[i];
            hits++;
        }
    }
    if (hits == 1)
        return hit;
    vb_fail(err, "no migration named %s%s", name, hits ? " alone (it begins several)" : "");
    return NULL;
}

static int run(const vb_pg_version *v, const migration *list, size_t n, const char *verb,
               const char *name, vb_err *err)
{
    char when[32];
    vb_iso8601(v->applied, when);
    if (name && strcmp(verb, "fix") == 0 && strcmp(name, "all") == 0)
        name = NULL;
    const migration *only = name ? find(list, n, name, err) : NULL;
    if (name && !only)
        return -1;
    size_t old = 0, width = 0;
    for (size_t i = 0; i < n; i++) {
        old += strcmp(list[i].state, "old") == 0;
        width = strlen(list[i].name) > width ? strlen(list[i].name) : width;
    }
    if (strcmp(verb, "status") == 0) {
        printf("schema version %s, reached %s\n", v->version, when);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(list[i].state, "n/a") == 0 && strcmp(list[i].name, VB_PG_SCHEMA_SINCE) > 0)
                printf("%-*s  %-7s  SQLite only: nothing to do on PostgreSQL\n", (int)width,
                       list[i].name, list[i].state);
            else if (strcmp(list[i].state, "n/a") == 0)
                printf("%-*s  %-7s  SQLite history: a PostgreSQL schema starts at %s\n", (int)width,
                       list[i].name, list[i].state, VB_SCHEMA_VERSION);
            else
                printf("%-*s  %s\n", (int)width, list[i].name, list[i].state);
        }
        return 0;
    }
    if (strcmp(verb, "check") == 0) {
        for (size_t i = 0; i < n; i++)
            if (!only || only == &list[i])
                printf("%s: %s\n", list[i].name, list[i].state);
        if (!only && old == 0)
            printf("nothing to do: the database has the current schema\n");
        else if (!only)
            printf("%zu to apply, but migrations run on SQLite only so far\n", old);
        return 0;
    }
    if (only && strcmp(only->state, "old") != 0)
        return vb_fail(err, "refusing to fix %s: it is %s on PostgreSQL, not old", only->name,
                       only->state);
    if (!only && old == 0)
        return vb_fail(err, "refusing to fix: nothing to do, every migration is already applied");
    return vb_fail(err, "refusing to fix: migrations run on SQLite only so far");
}

int vb_migrate_postgres(vb_app *app, const char *conninfo, const char *dir, const char *verb,
                        const char *name)
{
    vb_err err;
    vb_buf path = {0};
    vb_pg_version v;
    migration *list = NULL;
    size_t n = 0;
    if (!dir) {
        if (vb_buf_printf(&path, "%s/migrations", app->root)) {
            vb_log_msg(&app->log, VB_ERROR, "migrate: out of memory");
            return VB_EXIT_FAIL;
        }
        dir = path.data;
    }
    vb_pg *pg = vb_pg_open(conninfo, &err);
    int rc = pg && vb_pg_schema_version(pg, &v, &err) == 0 &&
                     load(dir, v.version, &list, &n, &err) == 0 &&
                     run(&v, list, n, verb, name, &err) == 0
                 ? VB_EXIT_OK
                 : VB_EXIT_FAIL;
    if (rc != VB_EXIT_OK)
        vb_log_msg(&app->log, VB_ERROR, "migrate: %s", err.msg);
    else if (fflush(stdout) != 0) {
        vb_log_msg(&app->log, VB_ERROR, "migrate: cannot write to stdout");
        rc = VB_EXIT_FAIL;
    }
    free_list(list, n);
    vb_pg_close(pg);
    vb_buf_free(&path);
    return rc;
}
