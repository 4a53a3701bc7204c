/*
 * fuzz_masterlist.c - masterlist.json, which `vlbimon_bridge masterlist`
 * downloads from the server: parse it, then build initdb's schema from it,
 * which must never splice a name that is not an SQL identifier into SQL.
 */
#include <string.h>

#include "fuzz.h"
#include "db/schema.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vb_masterlist ml;
    vb_err err;
    if (vb_masterlist_parse((const char *)data, size, "fuzz.json", &ml, &err))
        return 0;
    for (size_t i = 0; i < ml.nparams; i++) {
        const vb_param *p = vb_masterlist_find(&ml, ml.params[i].name);
        if (!p || strcmp(p->name, ml.params[i].name) != 0)
            __builtin_trap();
        vb_sqltype(ml.params[i].type);
    }
    for (size_t i = 0; i < ml.nstations; i++) {
        int at = vb_masterlist_station_index(&ml, ml.stations[i]);
        if (at < 0 || strcmp(ml.stations[at], ml.stations[i]) != 0)
            __builtin_trap();
    }
    vb_buf sql = {0};
    if (vb_schema_sql(&sql, &ml, &err) == 0 && sql.len != strlen(sql.data))
        __builtin_trap();
    vb_buf_free(&sql);
    vb_masterlist_free(&ml);
    return 0;
}
