/*
 * fuzz_secrets.c - the secrets file (YAML, libyaml), which the bridge,
 * history and doctor read, and the simulator reads as its user list: parse,
 * then look up a host as the commands do.
 */
#include <string.h>

#include "fuzz.h"
#include "net/secrets.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vb_secrets s;
    vb_err err;
    if (vb_secrets_parse((const char *)data, size, "fuzz.yaml", &s, &err))
        return 0;
    const char *hosts[] = {"127.0.0.1", "vlbimon2.science.ru.nl", ""};
    for (size_t i = 0; i < VB_COUNT(hosts); i++) {
        const vb_cred *c = vb_secrets_find(&s, hosts[i], &err);
        if (c && (!c->user || !c->password || strlen(c->host) > size))
            __builtin_trap();
    }
    vb_secrets_free(&s);
    return 0;
}
