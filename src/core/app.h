/*
 * app.h - what every subcommand gets: the global options after parsing
 * (argparse's "namespace"), the logger, and where the project's Lua code,
 * transformers, migrations and scripts live at run time.
 *
 * Layer core (docs/architecture.md): includes only libc, the libraries and core/.
 */
#ifndef VB_APP_H
#define VB_APP_H

#include "core/cli.h"
#include "core/log.h"
#include "core/masterlist.h"
#include "core/util.h"

typedef struct vb_app {
    vb_log log;
    int verbose;
    int use_vlbimon1;
    const char *server_url; /* resolved: --server, or the -1/-2 production URL */
    char *server_host;      /* host part of server_url, for secrets and the state file */
    vb_strlist stations;
    const char *datadir;
    char *secrets;           /* path, "~" expanded */
    const char *cacert;      /* --cacert: CA certificates (PEM) to verify the server with */
    int insecure_secrets_ok; /* --insecure-secrets-ok: use a secrets file others may read */
    long lua_memory;         /* --lua-memory, MiB (0: the default) */
    char *masterlist;        /* path actually used */
    int ml_fixture;          /* it is the bundled fixture: no --masterlist, no ./masterlist.json */
    int ml_warned;           /* vb_app_masterlist_for_work has said so */
    char *root;              /* holds lua/, transformers/, migrations/, scripts/ */
    vb_masterlist ml;
    int ml_loaded;
} vb_app;

typedef int (*vb_cmd_fn)(vb_app *app, int argc, char **argv);

typedef struct vb_command {
    const char *name;
    const char *help;
    vb_cmd_fn run;
} vb_command;

/* Exit status convention: 0 ok, 1 runtime failure, 2 usage error. */
enum { VB_EXIT_OK = 0, VB_EXIT_FAIL = 1, VB_EXIT_USAGE = 2 };

/* Loads the masterlist once per run (path from --masterlist or the default). */
const vb_masterlist *vb_app_masterlist(vb_app *app, vb_err *err);

/*
 * The same for a command whose result depends on the catalogue (initdb,
 * bridge, insert, history): when the default fell back to the bundled
 * fixture, which is not vlbimon's catalogue, it says so in one warning per
 * run, with the command that downloads the server's own. A --masterlist,
 * even the fixture's path (as the tests give it), is a choice and is not
 * warned about.
 */
const vb_masterlist *vb_app_masterlist_for_work(vb_app *app, vb_err *err);

/*
 * Resolves the server URL: https anywhere; plain http only for loopback
 * hosts, so credentials never cross a network in clear text.
 */
int vb_server_check(const char *url, char **host, vb_err *err);

/* Finds the runtime root: the source tree when run from it, else the installed share dir. */
char *vb_find_root(vb_err *err);

/* Parses a subcommand's options, printing help or a one-line error; returns -1 to continue. */
int vb_app_parse(vb_app *app, const vb_cmdspec *spec, int argc, char **argv, const char ***pos,
                 size_t *npos);

/* The same for a command without positional arguments: a stray word is a usage error. */
int vb_app_parse_options(vb_app *app, const vb_cmdspec *spec, int argc, char **argv);

/*
 * The rule of the database options: --sqlitedb and --postgres exclude each
 * other, and when required is set one of them must be given. Returns -1 to
 * continue, else prints the usage error and returns its exit status.
 */
int vb_app_databases(const vb_cmdspec *spec, const char *sqlitedb, const char *postgres,
                     int required);

#endif
