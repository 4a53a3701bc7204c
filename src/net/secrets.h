/*
 * secrets.h - the credentials file (~/.vlbimonitor-secrets.yaml), keyed by
 * host name, each host with either `basicauth` or `digestauth` as a
 * [user, password] list. Parsed with libyaml; the simulator reads the same
 * format for its users.
 *
 * Layer net (docs/architecture.md): includes core/, host/ (the JSON decoder) and net/.
 */
#ifndef VB_SECRETS_H
#define VB_SECRETS_H

#include <stddef.h>
#include "core/log.h"
#include "core/util.h"

typedef enum { VB_AUTH_NONE, VB_AUTH_BASIC, VB_AUTH_DIGEST } vb_auth_kind;

typedef struct vb_cred {
    char *host;
    vb_auth_kind kind;
    char *user;
    char *password;
} vb_cred;

typedef struct vb_secrets {
    char *path;
    vb_cred *creds;
    size_t n;
} vb_secrets;

int vb_secrets_load(const char *path, vb_secrets *out, vb_err *err);

/*
 * How the commands that use an account (bridge, history) load the file: it
 * holds the vlbimon password, so one that its group or other users may read
 * is refused, with the fix (chmod 600) in the message, unless insecure_ok
 * (--insecure-secrets-ok), which logs one warning instead. The simulator
 * reads its users with vb_secrets_load.
 */
int vb_secrets_load_private(const char *path, int insecure_ok, const vb_log *log, vb_secrets *out,
                            vb_err *err);
int vb_secrets_parse(const char *text, size_t len, const char *origin, vb_secrets *out,
                     vb_err *err);
/* NULL with a message naming the file and the host when the host is absent. */
const vb_cred *vb_secrets_find(const vb_secrets *s, const char *host, vb_err *err);
void vb_secrets_free(vb_secrets *s);

#endif
