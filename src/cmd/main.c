/*
 * main.c - vlbimon_bridge's entry point: global options, then dispatch to a
 * subcommand. The only place that turns a failure into an exit status.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "cmd/bridge.h"
#include "cmd/fetch_masterlist.h"
#include "cmd/initdb.h"
#include "cmd/history.h"
#include "cmd/insert.h"
#include "cmd/doctor.h"
#include "cmd/scripts.h"
#include "cmd/transform.h"
#include "host/lua_host.h"

static const vb_command commands[] = {
    {"initdb", "initialize a sqlite or PostgreSQL database (without either, print the SQL)",
     cmd_initdb},
    {"bridge", "copy live snapshots into the database every DT seconds", cmd_bridge},
    {"masterlist", "download the server's masterlist.json", cmd_masterlist},
    {"history", "download a time range into DATADIR/<station>/<param>.csv, resumably", cmd_history},
    {"insert", "load a downloaded DATADIR tree into a database, fast", cmd_insert},
    {"run", "run a Lua script with the vlbimon database API", cmd_run},
    {"migrate", "upgrade a database made by an older bridge (status, check, fix)", cmd_migrate},
    {"summarize", "rows per parameter and station, and the last day's points", cmd_summarize},
    {"backup", "copy a database safely while the bridge writes to it", cmd_backup},
    {"extract", "write series whose name contains PATTERN to CSV files", cmd_extract},
    {"add-series", "create one series table as initdb makes it", cmd_add_series},
    {"transform", "run the transformers offline on snapshot files or history CSV", cmd_transform},
    {"doctor", "check the deployment: groups, modes, secrets, server, masterlist", cmd_doctor},
};

static char *default_secrets(void)
{
    const char *home = getenv("HOME");
    const char *name = "/.vlbimonitor-secrets.yaml";
    if (!home)
        home = "";
    char *p = malloc(strlen(home) + strlen(name) + 1);
    if (p) {
        strcpy(p, home);
        strcat(p, name);
    }
    return p;
}

static char *expand_home(const char *path)
{
    if (path[0] != '~' || (path[1] != '/' && path[1] != '\0'))
        return vb_strdup(path);
    const char *home = getenv("HOME");
    if (!home)
        home = "";
    char *p = malloc(strlen(home) + strlen(path));
    if (p) {
        strcpy(p, home);
        strcat(p, path + 1);
    }
    return p;
}

/* ./masterlist.json, else the installed (or source-tree) fixture catalogue. */
static char *default_masterlist(const char *root)
{
    if (vb_file_exists("masterlist.json"))
        return vb_strdup("masterlist.json");
    const char *cands[] = {"masterlist.json", "share/masterlist.json"};
    char buf[4096];
    for (size_t i = 0; i < VB_COUNT(cands); i++) {
        snprintf(buf, sizeof buf, "%s/%s", root, cands[i]);
        if (vb_file_exists(buf))
            return vb_strdup(buf);
    }
    snprintf(buf, sizeof buf, "%s/masterlist.json", root);
    return vb_strdup(buf);
}

static void app_free(vb_app *app)
{
    if (app->ml_loaded)
        vb_masterlist_free(&app->ml);
    vb_strlist_free(&app->stations);
    free(app->server_host);
    free(app->secrets);
    free(app->masterlist);
    free(app->root);
}

/* The global options that are not fields of vb_app as they are. */
typedef struct globals {
    const char *server, *secrets, *masterlist;
} globals;

/* "{initdb,bridge,...} ..." for the usage line, and the commands' list for -h. */
static void command_list(char *names, size_t nn, char *epilog, size_t ne)
{
    snprintf(names, nn, "{");
    snprintf(epilog, ne, "commands:\n");
    for (size_t i = 0; i < VB_COUNT(commands); i++) {
        size_t l = strlen(names);
        snprintf(names + l, nn - l, "%s%s", i ? "," : "", commands[i].name);
        l = strlen(epilog);
        snprintf(epilog + l, ne - l, "  %-21s %s\n", commands[i].name, commands[i].help);
    }
    strncat(names, "} ...", nn - strlen(names) - 1);
    strncat(epilog, "\nRun 'vlbimon_bridge COMMAND -h' for a command's options.",
            ne - strlen(epilog) - 1);
}

/* Parses the global options; returns -1 to go on with pos/npos, or the exit status. */
static int parse_globals(vb_app *app, globals *g, const char *names, const char *epilog, int argc,
                         char **argv, const char ***pos, size_t *npos)
{
    char lua_memory_help[96];
    snprintf(lua_memory_help, sizeof lua_memory_help,
             "memory for Lua code: transformers, scripts (default %d, at least %d)",
             VB_LUA_MEMORY_DEFAULT, VB_LUA_MEMORY_MIN);
    const vb_opt opts[] = {
        {.lname = "verbose",
         .sname = 'v',
         .kind = VB_OPT_COUNT,
         .dest = &app->verbose,
         .help = "be verbose (repeatable: -v -v is more)"},
        {.sname = '1',
         .kind = VB_OPT_CONST,
         .dest = &app->use_vlbimon1,
         .help = "use vlbimon1",
         .value = 1},
        {.sname = '2',
         .kind = VB_OPT_CONST,
         .dest = &app->use_vlbimon1,
         .help = "use vlbimon2 (the default)"},
        {.lname = "server",
         .kind = VB_OPT_STRING,
         .dest = &g->server,
         .metavar = "URL",
         .help =
             "any vlbimon-compatible server, e.g. the simulator (http only for loopback hosts)"},
        {.lname = "stations",
         .kind = VB_OPT_LIST,
         .dest = &app->stations,
         .metavar = "STATIONS",
         .help = "stations to process (default all), repeatable"},
        {.lname = "datadir",
         .kind = VB_OPT_STRING,
         .dest = &app->datadir,
         .metavar = "DATADIR",
         .help = "directory to write output in (default ./data)"},
        {.lname = "secrets",
         .kind = VB_OPT_STRING,
         .dest = &g->secrets,
         .metavar = "SECRETS",
         .help = "file containing auth secrets, default ~/.vlbimonitor-secrets.yaml"},
        {.lname = "masterlist",
         .kind = VB_OPT_STRING,
         .dest = &g->masterlist,
         .metavar = "FILE",
         .help = "parameter catalogue (default ./masterlist.json, else the bundled test "
                 "fixture, with a warning)"},
        {.lname = "cacert",
         .kind = VB_OPT_STRING,
         .dest = &app->cacert,
         .metavar = "FILE",
         .help = "verify the server's certificate with the CA certificates (PEM) in FILE, as "
                 "curl's --cacert (a private CA)"},
        {.lname = "insecure-secrets-ok",
         .kind = VB_OPT_FLAG,
         .dest = &app->insecure_secrets_ok,
         .help = "use a secrets file that its group or others can read (a warning at every start)"},
        {.lname = "lua-memory",
         .kind = VB_OPT_INT,
         .dest = &app->lua_memory,
         .metavar = "MiB",
         .help = lua_memory_help},
    };
    const vb_cmdspec spec = {.prog = "vlbimon_bridge",
                             .positionals = names,
                             .description =
                                 "Copy EHT VLBI monitor (vlbimon) data into a SQLite database for "
                                 "Grafana.",
                             .epilog = epilog,
                             .opts = opts,
                             .nopts = VB_COUNT(opts),
                             .stop_at_positional = 1};
    app->lua_memory = VB_LUA_MEMORY_DEFAULT;
    int rc = vb_app_parse(app, &spec, argc, argv, pos, npos);
    if (rc >= 0)
        return rc;
    /* At most 1 TiB, so that the cap in bytes fits any size_t. */
    if (app->lua_memory < VB_LUA_MEMORY_MIN || app->lua_memory > (1L << 20)) {
        fprintf(stderr, "vlbimon_bridge: error: argument --lua-memory: must be %d to %ld MiB\n",
                VB_LUA_MEMORY_MIN, 1L << 20);
        free(*pos);
        return VB_EXIT_USAGE;
    }
    return -1;
}

/*
 * What every command gets besides the options: the log, the server's URL
 * (without trailing slashes, in *url, which the caller frees) and host, the
 * secrets file, the runtime tree and the masterlist. -1 to go on, or the
 * exit status.
 */
static int settle_app(vb_app *app, const globals *g, char **url)
{
    app->log.verbosity = app->verbose;
    app->log.out = stderr;
    if (!app->datadir)
        app->datadir = "data";
    vb_err err;
    const char *server = g->server           ? g->server
                         : app->use_vlbimon1 ? "https://vlbimon1.science.ru.nl"
                                             : "https://vlbimon2.science.ru.nl";
    size_t ul = strlen(server);
    while (ul > 0 && server[ul - 1] == '/')
        ul--;
    *url = strndup(server, ul);
    app->secrets = g->secrets ? expand_home(g->secrets) : default_secrets();
    if (!(app->root = vb_find_root(&err))) {
        fprintf(stderr, "vlbimon_bridge: error: %s\n", err.msg);
        return VB_EXIT_FAIL;
    }
    if (!*url || !app->secrets || vb_server_check(*url, &app->server_host, &err)) {
        fprintf(stderr, "vlbimon_bridge: error: %s\n",
                *url && app->secrets ? err.msg : "out of memory");
        return VB_EXIT_USAGE;
    }
    app->server_url = *url;
    app->masterlist = g->masterlist ? vb_strdup(g->masterlist) : default_masterlist(app->root);
    app->ml_fixture =
        !g->masterlist && app->masterlist && strcmp(app->masterlist, "masterlist.json");
    return -1;
}

static int run(vb_app *app, int argc, char **argv)
{
    char names[512], epilog[4096];
    command_list(names, sizeof names, epilog, sizeof epilog);
    globals g = {0};
    const char **pos;
    size_t npos;
    int rc = parse_globals(app, &g, names, epilog, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    const vb_command *cmd = NULL;
    for (size_t i = 0; npos > 0 && i < VB_COUNT(commands); i++)
        if (strcmp(commands[i].name, pos[0]) == 0)
            cmd = &commands[i];
    char *url = NULL;
    if (npos == 0) {
        fprintf(stderr, "vlbimon_bridge: error: a command is required (see vlbimon_bridge -h)\n");
        rc = VB_EXIT_USAGE;
    } else if (!cmd) {
        fprintf(stderr,
                "vlbimon_bridge: error: argument command: invalid choice: '%s' (choose "
                "from %.*s)\n",
                pos[0], (int)(strlen(names) - 4), names);
        rc = VB_EXIT_USAGE;
    } else if ((rc = settle_app(app, &g, &url)) < 0) {
        rc = cmd->run(app, (int)npos - 1, (char **)pos + 1);
    }
    free(url);
    free(pos);
    return rc;
}

int main(int argc, char **argv)
{
    vb_app app = {0};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = run(&app, argc - 1, argv + 1);
    app_free(&app);
    curl_global_cleanup();
    return rc;
}
