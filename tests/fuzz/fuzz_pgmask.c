/*
 * fuzz_pgmask.c - vb_pg_mask on any string, checked against libpq's own
 * parser: whenever libpq reads a password (or sslpassword) from the input
 * and also accepts the masked text, the masked text gives it ******** and
 * every other option as the input did. (Masked text libpq refuses is allowed: it only
 * ever masks more.)
 */
#include <stdlib.h>
#include <string.h>

#include "db/pg.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static const char *value(const PQconninfoOption *opts, const char *keyword)
{
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0)
            return o->val;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_text(data, size);
    if (!in)
        return 0;
    char *masked = vb_pg_mask(in);
    if (!masked)
        __builtin_trap();
    PQconninfoOption *a = PQconninfoParse(in, NULL), *b = PQconninfoParse(masked, NULL);
    if (a && b && (value(a, "password") || value(a, "sslpassword"))) {
        for (const PQconninfoOption *o = a; o->keyword; o++) {
            const char *x = o->val, *y = value(b, o->keyword);
            int secret =
                strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "sslpassword") == 0;
            if (secret ? x && (!y || strcmp(y, "********") != 0)
                       : !x != !y || (x && strcmp(x, y) != 0))
                __builtin_trap();
        }
    }
    PQconninfoFree(a);
    PQconninfoFree(b);
    free(masked);
    free(in);
    return 0;
}
