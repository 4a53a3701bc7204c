/*
 * cli.c - see cli.h.
 *
 * Hand-rolled rather than getopt_long because argparse's behaviour is the
 * interface: ambiguous prefixes must be reported with their candidates, and
 * every error must be one line naming the offending word.
 */
#include "core/cli.h"

#include <stdlib.h>
#include <string.h>

static int takes_value(const vb_opt *o)
{
    return o->kind == VB_OPT_STRING || o->kind == VB_OPT_LIST || o->kind == VB_OPT_INT ||
           o->kind == VB_OPT_DOUBLE;
}

static const char *metavar(const vb_opt *o)
{
    return o->metavar ? o->metavar : "VALUE";
}

static int list_push(vb_strlist *l, const char *s)
{
    const char **nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    nv[l->n++] = s;
    l->v = nv;
    return 0;
}

void vb_strlist_free(vb_strlist *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void opt_name(const vb_opt *o, char *buf, size_t n)
{
    if (o->lname)
        snprintf(buf, n, "--%s", o->lname);
    else
        snprintf(buf, n, "-%c", o->sname);
}

static int apply(const vb_cmdspec *spec, const vb_opt *o, const char *val, vb_err *err)
{
    char name[64];
    opt_name(o, name, sizeof name);
    switch (o->kind) {
    case VB_OPT_FLAG:
        *(int *)o->dest = 1;
        return 0;
    case VB_OPT_COUNT:
        ++*(int *)o->dest;
        return 0;
    case VB_OPT_CONST:
        *(int *)o->dest = o->value;
        return 0;
    case VB_OPT_STRING:
        *(const char **)o->dest = val;
        return 0;
    case VB_OPT_LIST:
        if (list_push(o->dest, val))
            return vb_fail(err, "%s: error: out of memory", spec->prog);
        return 0;
    case VB_OPT_INT:
        if (vb_parse_long(val, o->dest))
            return vb_fail(err, "%s: error: argument %s: invalid integer value: '%s'", spec->prog,
                           name, val);
        return 0;
    case VB_OPT_DOUBLE:
        if (vb_parse_double(val, o->dest))
            return vb_fail(err, "%s: error: argument %s: invalid number: '%s'", spec->prog, name,
                           val);
        return 0;
    }
    return 0;
}

static const vb_opt *find_long(const vb_cmdspec *spec, const char *word, size_t len, vb_err *err)
{
    const vb_opt *hit = NULL;
    char cands[512] = "";
    int nhits = 0;
    for (size_t i = 0; i < spec->nopts; i++) {
        const vb_opt *o = &spec->opts[i];
        if (!o->lname || strncmp(o->lname, word, len) != 0)
            continue;
        if (strlen(o->lname) == len)
            return o; /* an exact match wins over longer names sharing the prefix */
        size_t cl = strlen(cands);
        snprintf(cands + cl, sizeof cands - cl, "%s--%s", nhits ? ", " : "", o->lname);
        hit = o;
        nhits++;
    }
    if (nhits > 1) {
        vb_fail(err, "%s: error: ambiguous option: --%.*s could match %s", spec->prog, (int)len,
                word, cands);
        return NULL;
    }
    if (!hit)
        vb_fail(err, "%s: error: unrecognized option: --%.*s", spec->prog, (int)len, word);
    return hit;
}

static const vb_opt *find_short(const vb_cmdspec *spec, char c)
{
    for (size_t i = 0; i < spec->nopts; i++)
        if (spec->opts[i].sname == c)
            return &spec->opts[i];
    return NULL;
}

static int is_help(const char *w, size_t len)
{
    /* argparse accepts any prefix of --help that no other option shares */
    return len >= 1 && len <= 4 && strncmp("help", w, len) == 0;
}

/*
 * "--name", "--name=value" or "--name value" at argv[*i]; advances *i past a
 * value taken from the next word. VB_CLI_OK to go on, or HELP / ERROR.
 */
static int parse_long(const vb_cmdspec *spec, int argc, char **argv, int *i, FILE *out, vb_err *err)
{
    const char *w = argv[*i] + 2;
    const char *eq = strchr(w, '=');
    size_t len = eq ? (size_t)(eq - w) : strlen(w);
    const vb_opt *o = find_long(spec, w, len, err);
    if (!o) {
        if (is_help(w, len) && !eq) {
            vb_cli_help(spec, out);
            return VB_CLI_HELP;
        }
        return VB_CLI_ERROR;
    }
    const char *val = NULL;
    if (takes_value(o)) {
        if (eq)
            val = eq + 1;
        else if (*i + 1 < argc)
            val = argv[++*i];
        else {
            vb_fail(err, "%s: error: argument --%s: expected one argument", spec->prog, o->lname);
            return VB_CLI_ERROR;
        }
    } else if (eq) {
        vb_fail(err, "%s: error: argument --%s: ignored explicit argument '%s'", spec->prog,
                o->lname, eq + 1);
        return VB_CLI_ERROR;
    }
    return apply(spec, o, val, err) ? VB_CLI_ERROR : VB_CLI_OK;
}

/*
 * Bundled short flags at argv[*i] ("-vv1"); a flag that takes a value takes
 * the rest of the word or the next word. VB_CLI_OK to go on, or HELP / ERROR.
 */
static int parse_short(const vb_cmdspec *spec, int argc, char **argv, int *i, FILE *out,
                       vb_err *err)
{
    for (const char *c = argv[*i] + 1; *c; c++) {
        if (*c == 'h') {
            vb_cli_help(spec, out);
            return VB_CLI_HELP;
        }
        const vb_opt *o = find_short(spec, *c);
        if (!o) {
            vb_fail(err, "%s: error: unrecognized option: -%c", spec->prog, *c);
            return VB_CLI_ERROR;
        }
        const char *val = NULL;
        if (takes_value(o)) {
            if (c[1])
                val = c + 1;
            else if (*i + 1 < argc)
                val = argv[++*i];
            else {
                vb_fail(err, "%s: error: argument -%c: expected one argument", spec->prog, *c);
                return VB_CLI_ERROR;
            }
        }
        if (apply(spec, o, val, err))
            return VB_CLI_ERROR;
        if (val)
            break;
    }
    return VB_CLI_OK;
}

int vb_cli_parse(const vb_cmdspec *spec, int argc, char **argv, const char ***pos, size_t *npos,
                 FILE *out, vb_err *err)
{
    vb_strlist p = {0};
    int rc = VB_CLI_OK;
    /* After "--", or after the first positional when the spec stops there, all is positional. */
    int rest = 0;
    for (int i = 0; rc == VB_CLI_OK && i < argc; i++) {
        const char *a = argv[i];
        if (!rest && strcmp(a, "--") == 0) {
            rest = 1;
            continue;
        }
        if (!rest && a[0] == '-' && a[1] == '-')
            rc = parse_long(spec, argc, argv, &i, out, err);
        else if (!rest && a[0] == '-' && a[1] != '\0')
            rc = parse_short(spec, argc, argv, &i, out, err);
        else if (list_push(&p, a)) {
            vb_fail(err, "%s: error: out of memory", spec->prog);
            rc = VB_CLI_ERROR;
        } else if (spec->stop_at_positional)
            rest = 1;
    }
    if (rc != VB_CLI_OK) {
        vb_strlist_free(&p);
        *pos = NULL;
        *npos = 0;
        return rc;
    }
    *pos = p.v;
    *npos = p.n;
    return VB_CLI_OK;
}

static void usage_opt(const vb_opt *o, char *buf, size_t n)
{
    char name[64];
    if (o->sname && o->lname && !takes_value(o))
        snprintf(name, sizeof name, "-%c", o->sname);
    else
        opt_name(o, name, sizeof name);
    if (takes_value(o))
        snprintf(buf, n, "[%s %s]", name, metavar(o));
    else
        snprintf(buf, n, "[%s]", name);
}

void vb_cli_usage(const vb_cmdspec *spec, FILE *out)
{
    const char *lead = "usage: ";
    size_t col = strlen(lead) + strlen(spec->prog) + 1;
    size_t indent = col;
    fprintf(out, "%s%s [-h]", lead, spec->prog);
    col += 4;
    for (size_t i = 0; i < spec->nopts; i++) {
        char w[128];
        usage_opt(&spec->opts[i], w, sizeof w);
        if (col + strlen(w) + 1 > 100) {
            fprintf(out, "\n%*s", (int)indent, "");
            col = indent;
        } else {
            fputc(' ', out);
            col++;
        }
        fputs(w, out);
        col += strlen(w);
    }
    if (spec->positionals && *spec->positionals)
        fprintf(out, " %s", spec->positionals);
    fputc('\n', out);
}

static void help_line(FILE *out, const char *left, const char *help)
{
    if (strlen(left) + 2 < 24)
        fprintf(out, "  %-22s%s\n", left, help);
    else
        fprintf(out, "  %s\n%24s%s\n", left, "", help);
}

void vb_cli_help(const vb_cmdspec *spec, FILE *out)
{
    vb_cli_usage(spec, out);
    if (spec->description)
        fprintf(out, "\n%s\n", spec->description);
    fputs("\noptions:\n", out);
    help_line(out, "-h, --help", "show this help message and exit");
    for (size_t i = 0; i < spec->nopts; i++) {
        const vb_opt *o = &spec->opts[i];
        char left[128] = "";
        if (o->lname && o->sname)
            snprintf(left, sizeof left, "--%s, -%c%s%s", o->lname, o->sname,
                     takes_value(o) ? " " : "", takes_value(o) ? metavar(o) : "");
        else if (o->lname)
            snprintf(left, sizeof left, "--%s%s%s", o->lname, takes_value(o) ? " " : "",
                     takes_value(o) ? metavar(o) : "");
        else
            snprintf(left, sizeof left, "-%c%s%s", o->sname, takes_value(o) ? " " : "",
                     takes_value(o) ? metavar(o) : "");
        help_line(out, left, o->help ? o->help : "");
    }
    if (spec->epilog)
        fprintf(out, "\n%s\n", spec->epilog);
}
