/*
 * main.c - vlbimon_sim's entry point: options, loading the catalogue and
 * users, starting the server, and waiting for SIGINT/SIGTERM. The only
 * place that turns a failure into an exit status.
 */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"
#include "sim/server.h"

#ifndef VB_SHAREDIR
#define VB_SHAREDIR "/usr/local/share/vlbimon-bridge"
#endif

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
#define NFIXED 14

typedef struct options {
    const char *listen, *users, *masterlist, *start_time, *served, *tls_cert, *tls_key,
        *history_multi;
    int digest, verbose;
    long seed;
    double speed, ttl, stall;
    double rates[SIM_NFAULTS];
} options;

/* The bundled catalogue beside the binary in a source tree, else the installed copy. */
static char *default_masterlist(void)
{
    char exe[PATH_MAX], path[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(path, sizeof path, "%s/share/masterlist.json", exe);
            if (vb_file_exists(path))
                return vb_strdup(path);
        }
    }
    return vb_strdup(VB_SHAREDIR "/masterlist.json");
}

static int multi_mode(const char *s)
{
    static const char *const modes[] = {[SIM_MULTI_ALL] = "all",
                                        [SIM_MULTI_FIRST] = "first",
                                        [SIM_MULTI_400] = "400",
                                        [SIM_MULTI_500] = "500"};
    for (size_t i = 0; i < VB_COUNT(modes); i++)
        if (strcmp(s ? s : "all", modes[i]) == 0)
            return (int)i;
    return -1;
}

static int parse_options(int argc, char **argv, options *o)
{
    vb_opt opts[NFIXED + SIM_NFAULTS] = {
        {.lname = "listen",
         .kind = VB_OPT_STRING,
         .dest = &o->listen,
         .metavar = "HOST:PORT",
         .help = "address to listen on (default 127.0.0.1:8080; port 0 picks a free one)"},
        {.lname = "users",
         .kind = VB_OPT_STRING,
         .dest = &o->users,
         .metavar = "FILE",
         .help =
             "accounts: a YAML file in the secrets-file format; every credential in it is a user "
             "(required)"},
        {.lname = "digest",
         .kind = VB_OPT_FLAG,
         .dest = &o->digest,
         .help = "demand Digest auth instead of Basic"},
        {.lname = "masterlist",
         .kind = VB_OPT_STRING,
         .dest = &o->masterlist,
         .metavar = "FILE",
         .help =
             "parameter catalogue to simulate and serve (default the bundled fixture catalogue)"},
        {.lname = "seed",
         .kind = VB_OPT_INT,
         .dest = &o->seed,
         .metavar = "N",
         .help = "seed of the data and the faults (default 1): same seed, same answers"},
        {.lname = "start-time",
         .kind = VB_OPT_STRING,
         .dest = &o->start_time,
         .metavar = "T",
         .help = "simulated time at start-up, unix seconds or ISO-8601 UTC (default now)"},
        {.lname = "speed",
         .kind = VB_OPT_DOUBLE,
         .dest = &o->speed,
         .metavar = "X",
         .help = "simulated seconds per real second (default 1; 0 stops the clock)"},
        {.lname = "session-ttl",
         .kind = VB_OPT_DOUBLE,
         .dest = &o->ttl,
         .metavar = "SECONDS",
         .help = "idle real seconds before a session expires (default 3600; 0 = never)"},
        {.lname = "served",
         .kind = VB_OPT_STRING,
         .dest = &o->served,
         .metavar = "FILE",
         .help = "append every point of every good 200 snapshot as CSV "
                 "station,param,time,value,cursor"},
        {.lname = "stall-seconds",
         .kind = VB_OPT_DOUBLE,
         .dest = &o->stall,
         .metavar = "SECONDS",
         .help = "how long --fault-stall holds an answer (default 30)"},
        {.lname = "tls-cert",
         .kind = VB_OPT_STRING,
         .dest = &o->tls_cert,
         .metavar = "FILE",
         .help = "serve HTTPS with this PEM certificate (the server's first, then its chain); "
                 "needs --tls-key"},
        {.lname = "tls-key",
         .kind = VB_OPT_STRING,
         .dest = &o->tls_key,
         .metavar = "FILE",
         .help = "the certificate's private key, PEM"},
        {.lname = "history-multi",
         .kind = VB_OPT_STRING,
         .dest = &o->history_multi,
         .metavar = "MODE",
         .help = "how history treats a request for several observatories or fields: all "
                 "(default: every pair, as vlbimon), first (only the first of each), 400 or 500 "
                 "(refused with that status)"},
        {.lname = "verbose",
         .sname = 'v',
         .kind = VB_OPT_COUNT,
         .dest = &o->verbose,
         .help = "log every request (-v); -v -v adds libmicrohttpd's own errors"},
    };
    for (int i = 0; i < SIM_NFAULTS; i++)
        opts[NFIXED + i] = (vb_opt){.lname = sim_faults[i].option,
                                    .kind = VB_OPT_DOUBLE,
                                    .dest = &o->rates[i],
                                    .metavar = "RATE",
                                    .help = sim_faults[i].help};
    const vb_cmdspec spec = {
        .prog = "vlbimon_sim",
        .description =
            "Simulate a vlbimon server (the EHT VLBI monitor) for demos, tests and transformer "
            "development: the real HTTP API with sessions, cursors, history, auth and injected "
            "faults.",
        .epilog = "Fault rates are fractions of data requests (0 to 1), drawn from --seed. GET "
                  "/sim/stats "
                  "reports connections, requests and which answers' cursors came back.",
        .opts = opts,
        .nopts = VB_COUNT(opts)};
    const char **pos;
    size_t npos;
    vb_err err;
    int rc = vb_cli_parse(&spec, argc, argv, &pos, &npos, stdout, &err);
    if (rc == VB_CLI_HELP)
        return EXIT_OK;
    if (rc == VB_CLI_ERROR) {
        fprintf(stderr, "%s\n", err.msg);
        return EXIT_USAGE;
    }
    free(pos);
    const char *bad = NULL;
    if (npos)
        bad = "unrecognized arguments";
    else if (!o->users)
        bad = "the following arguments are required: --users";
    else if (o->speed < 0)
        bad = "argument --speed: must not be negative";
    else if (o->ttl < 0 || o->stall < 0)
        bad = "argument --session-ttl/--stall-seconds: must not be negative";
    else if (!o->tls_cert != !o->tls_key)
        bad = "--tls-cert and --tls-key go together";
    for (int i = 0; i < SIM_NFAULTS && !bad; i++)
        if (o->rates[i] < 0 || o->rates[i] > 1)
            bad = "fault rates must lie between 0 and 1";
    if (!bad && multi_mode(o->history_multi) < 0)
        bad = "argument --history-multi: one of all, first, 400, 500";
    if (bad) {
        fprintf(stderr, "vlbimon_sim: error: %s\n", bad);
        return EXIT_USAGE;
    }
    return -1;
}

static int serve(const options *o, sim_server *srv, const sigset_t *stop)
{
    vb_err err;
    if (sim_server_start(srv, &err)) {
        fprintf(stderr, "vlbimon_sim: error: %s\n", err.msg);
        return EXIT_FAIL;
    }
    const char *colon = strrchr(o->listen, ':');
    printf("listening on %s://%.*s:%u\n", o->tls_cert ? "https" : "http", (int)(colon - o->listen),
           o->listen, srv->port);
    fflush(stdout);
    vb_log_msg(&srv->log, VB_INFO, "simulating %zu stations, %zu parameters from %s",
               srv->ml->nstations, srv->ml->nparams, o->masterlist);
    int sig;
    sigwait(stop, &sig);
    vb_log_msg(&srv->log, VB_INFO, "signal %d: stopping", sig);
    sim_server_stop(srv);
    vb_buf stats = {0};
    if (sim_stats_json(&srv->state, sim_server_now_ms(srv), &stats) == 0)
        fprintf(stderr, "vlbimon_sim: stats %s", stats.data);
    vb_buf_free(&stats);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    options o = {.listen = "127.0.0.1:8080", .seed = 1, .speed = 1, .ttl = 3600, .stall = 30};
    int rc = parse_options(argc - 1, argv + 1, &o);
    if (rc >= 0)
        return rc;
    char *mlpath = o.masterlist ? vb_strdup(o.masterlist) : default_masterlist();
    o.masterlist = mlpath;
    vb_err err;
    double start = vb_now();
    if (o.start_time && vb_parse_time(o.start_time, &start, &err)) {
        fprintf(stderr, "vlbimon_sim: error: argument --start-time: %s\n", err.msg);
        free(mlpath);
        return EXIT_USAGE;
    }

    sim_server srv = {0};
    srv.cfg = (sim_config){.listen = o.listen,
                           .digest = o.digest,
                           .start_ms = (int64_t)llround(start * 1000.0),
                           .speed = o.speed,
                           .stall_seconds = o.stall,
                           .history_multi = (sim_multi)multi_mode(o.history_multi)};
    memcpy(srv.cfg.rates, o.rates, sizeof o.rates);
    srv.log = (vb_log){o.verbose, stderr};
    vb_masterlist ml = {0};
    vb_secrets users = {0};
    size_t mllen = 0;
    char *mljson = NULL, *cert = NULL, *key = NULL;
    FILE *served = NULL;
    int have_ml = 0, have_users = 0, have_gen = 0, have_state = 0;
    rc = EXIT_FAIL;
    if (!mlpath || !(mljson = vb_read_file(mlpath, &mllen, &err)) ||
        vb_masterlist_parse(mljson, mllen, mlpath, &ml, &err))
        goto fail;
    have_ml = 1;
    if (vb_secrets_load(o.users, &users, &err))
        goto fail;
    have_users = 1;
    if (users.n == 0) {
        vb_fail(&err, "%s: no users", o.users);
        goto fail;
    }
    if (o.tls_cert && (!(cert = vb_read_file(o.tls_cert, NULL, &err)) ||
                       !(key = vb_read_file(o.tls_key, NULL, &err))))
        goto fail;
    srv.cfg.tls_cert = cert;
    srv.cfg.tls_key = key;
    if (o.served && !(served = fopen(o.served, "a"))) {
        vb_fail(&err, "%s: cannot open for appending", o.served);
        goto fail;
    }
    srv.ml = &ml;
    srv.ml_json = mljson;
    srv.ml_len = mllen;
    srv.users = &users;
    if (sim_gen_init(&srv.gen, &ml, (uint64_t)o.seed, &err))
        goto fail;
    have_gen = 1;
    if (sim_state_init(&srv.state, (uint64_t)o.seed, o.ttl, served, &err))
        goto fail;
    have_state = 1;

    /* Blocked before any thread starts, so every thread inherits the mask and
     * only sigwait below ever sees these signals. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = serve(&o, &srv, &stop);
    goto out;
fail:
    fprintf(stderr, "vlbimon_sim: error: %s\n", err.msg);
out:
    if (have_state)
        sim_state_free(&srv.state);
    if (have_gen)
        sim_gen_free(&srv.gen);
    if (served)
        fclose(served);
    if (have_users)
        vb_secrets_free(&users);
    if (have_ml)
        vb_masterlist_free(&ml);
    free(mljson);
    free(mlpath);
    free(cert);
    free(key);
    return rc;
}
