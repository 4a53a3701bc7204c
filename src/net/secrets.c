/*
 * secrets.c - see secrets.h.
 *
 * The file is loaded as a YAML document tree; a host entry without either
 * auth key is kept (as VB_AUTH_NONE) so that the error is reported only when
 * that host is actually asked for, naming the file and the host.
 */
#define _DEFAULT_SOURCE
#include "net/secrets.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

static const char *scalar(yaml_document_t *doc, yaml_node_t *n)
{
    (void)doc;
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int parse_cred(yaml_document_t *doc, yaml_node_t *val, const char *origin, const char *host,
                      vb_cred *c, vb_err *err)
{
    if (val->type != YAML_MAPPING_NODE)
        return vb_fail(err, "%s:%zu: host %s: expected basicauth or digestauth", origin,
                       val->start_mark.line + 1, host);
    for (yaml_node_pair_t *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(doc, yaml_document_get_node(doc, p->key));
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        vb_auth_kind kind;
        if (k && strcmp(k, "basicauth") == 0)
            kind = VB_AUTH_BASIC;
        else if (k && strcmp(k, "digestauth") == 0)
            kind = VB_AUTH_DIGEST;
        else
            continue;
        if (v->type != YAML_SEQUENCE_NODE ||
            v->data.sequence.items.top - v->data.sequence.items.start != 2)
            return vb_fail(err, "%s:%zu: host %s: %s must be a list of [user, password]", origin,
                           v->start_mark.line + 1, host, k);
        const char *user =
            scalar(doc, yaml_document_get_node(doc, v->data.sequence.items.start[0]));
        const char *pw = scalar(doc, yaml_document_get_node(doc, v->data.sequence.items.start[1]));
        if (!user || !pw)
            return vb_fail(err, "%s:%zu: host %s: user and password must be plain strings", origin,
                           v->start_mark.line + 1, host);
        if (c->kind != VB_AUTH_NONE)
            return vb_fail(err, "%s:%zu: host %s has both basicauth and digestauth", origin,
                           v->start_mark.line + 1, host);
        c->kind = kind;
        c->user = vb_strdup(user);
        c->password = vb_strdup(pw);
        if (!c->user || !c->password)
            return vb_fail(err, "%s: out of memory", origin);
    }
    return 0;
}

int vb_secrets_parse(const char *text, size_t len, const char *origin, vb_secrets *out, vb_err *err)
{
    memset(out, 0, sizeof *out);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return vb_fail(err, "%s: cannot initialise the YAML parser", origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        vb_fail(err, "%s:%zu:%zu: malformed YAML: %s", origin, parser.problem_mark.line + 1,
                parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        return -1;
    }
    yaml_parser_delete(&parser);
    int rc = -1;
    out->path = vb_strdup(origin);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        vb_fail(err, "%s: empty secrets file", origin);
        goto done;
    }
    if (root->type != YAML_MAPPING_NODE) {
        vb_fail(err, "%s: expected a mapping of host names to credentials", origin);
        goto done;
    }
    size_t n = (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start);
    out->creds = calloc(n ? n : 1, sizeof *out->creds);
    if (!out->path || !out->creds) {
        vb_fail(err, "%s: out of memory", origin);
        goto done;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(&doc, p->key);
        const char *host = scalar(&doc, kn);
        if (!host) {
            vb_fail(err, "%s:%zu: host names must be plain strings", origin,
                    kn->start_mark.line + 1);
            goto done;
        }
        vb_cred *c = &out->creds[out->n++];
        c->host = vb_strdup(host);
        if (!c->host) {
            vb_fail(err, "%s: out of memory", origin);
            goto done;
        }
        if (parse_cred(&doc, yaml_document_get_node(&doc, p->value), origin, host, c, err))
            goto done;
    }
    rc = 0;
done:
    yaml_document_delete(&doc);
    if (rc)
        vb_secrets_free(out);
    return rc;
}

int vb_secrets_load(const char *path, vb_secrets *out, vb_err *err)
{
    size_t len;
    char *text = vb_read_file(path, &len, err);
    if (!text) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    int rc = vb_secrets_parse(text, len, path, out, err);
    free(text);
    return rc;
}

int vb_secrets_load_private(const char *path, int insecure_ok, const vb_log *log, vb_secrets *out,
                            vb_err *err)
{
    struct stat st;
    /* A missing or unreadable file is vb_secrets_load's error to report. */
    if (stat(path, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH))) {
        const char *who = (st.st_mode & S_IRGRP) && (st.st_mode & S_IROTH) ? "its group and others"
                          : st.st_mode & S_IRGRP                           ? "its group"
                                                                           : "others";
        if (!insecure_ok) {
            memset(out, 0, sizeof *out);
            return vb_fail(err,
                           "secrets file %s is readable by %s (mode %04o) and holds a password; "
                           "fix: chmod 600 %s (or pass --insecure-secrets-ok to use it anyway)",
                           path, who, (unsigned)(st.st_mode & 07777), path);
        }
        vb_log_msg(log, VB_WARN,
                   "secrets file %s is readable by %s (mode %04o); used anyway because of "
                   "--insecure-secrets-ok (fix: chmod 600 %s)",
                   path, who, (unsigned)(st.st_mode & 07777), path);
    }
    return vb_secrets_load(path, out, err);
}

const vb_cred *vb_secrets_find(const vb_secrets *s, const char *host, vb_err *err)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->creds[i].host, host) != 0)
            continue;
        if (s->creds[i].kind == VB_AUTH_NONE) {
            vb_fail(err, "%s: host %s has neither basicauth nor digestauth", s->path, host);
            return NULL;
        }
        return &s->creds[i];
    }
    vb_fail(err, "%s: no credentials for host %s", s->path, host);
    return NULL;
}

void vb_secrets_free(vb_secrets *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->creds[i].host);
        free(s->creds[i].user);
        if (s->creds[i].password)
            explicit_bzero(s->creds[i].password, strlen(s->creds[i].password));
        free(s->creds[i].password);
    }
    free(s->creds);
    free(s->path);
    memset(s, 0, sizeof *s);
}
