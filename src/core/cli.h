/*
 * cli.h - a table-driven command-line parser with argparse's manners, so the
 * interface stays the original's: long options by any unambiguous prefix,
 * "--opt=value" or "--opt value", bundled short flags, generated -h text,
 * and one-line errors.
 *
 * Layer core (docs/architecture.md): includes only libc, the libraries and core/.
 */
#ifndef VB_CLI_H
#define VB_CLI_H

#include <stddef.h>
#include <stdio.h>
#include "core/util.h"

typedef enum {
    VB_OPT_FLAG,   /* int: set to 1 */
    VB_OPT_COUNT,  /* int: incremented */
    VB_OPT_CONST,  /* int: set to .value */
    VB_OPT_STRING, /* const char *: last one wins */
    VB_OPT_LIST,   /* vb_strlist: appended */
    VB_OPT_INT,    /* long */
    VB_OPT_DOUBLE, /* double */
} vb_opt_kind;

typedef struct vb_strlist {
    const char **v;
    size_t n;
} vb_strlist;

typedef struct vb_opt {
    const char *lname; /* without "--", may be NULL */
    char sname;        /* 0 when none */
    vb_opt_kind kind;
    void *dest;
    const char *metavar;
    const char *help;
    int value; /* for VB_OPT_CONST */
} vb_opt;

typedef struct vb_cmdspec {
    const char *prog;        /* "vlbimon_bridge bridge" */
    const char *positionals; /* usage text after the options, e.g. "[DATADIR]" */
    const char *description;
    const char *epilog;
    const vb_opt *opts;
    size_t nopts;
    /* Stop at the first positional and leave the rest unparsed (subcommands, script args). */
    int stop_at_positional;
} vb_cmdspec;

enum { VB_CLI_OK = 0, VB_CLI_HELP = 1, VB_CLI_ERROR = 2 };

/*
 * Parses argv[0..argc) (argv[0] is not the program name). Positional words go
 * to pos/npos (pointing into argv). Returns VB_CLI_OK, VB_CLI_HELP after
 * printing help to out, or VB_CLI_ERROR with a one-line message in err.
 */
int vb_cli_parse(const vb_cmdspec *spec, int argc, char **argv, const char ***pos, size_t *npos,
                 FILE *out, vb_err *err);
void vb_cli_usage(const vb_cmdspec *spec, FILE *out);
void vb_cli_help(const vb_cmdspec *spec, FILE *out);
void vb_strlist_free(vb_strlist *l);

#endif
