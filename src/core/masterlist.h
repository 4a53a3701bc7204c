/*
 * masterlist.h - vlbimon's parameter catalogue (masterlist.json): stations
 * (every top-level key but "default") and parameters with datatype and
 * cadences. The JSON is decoded with lua-cjson in a private Lua state so the
 * project has exactly one JSON parser.
 *
 * Layer core (docs/architecture.md): includes only libc, the libraries and core/.
 */
#ifndef VB_MASTERLIST_H
#define VB_MASTERLIST_H

#include <stddef.h>
#include <stdint.h>
#include "core/util.h"

typedef enum {
    VB_DT_AZEL,
    VB_DT_CELESTIAL,
    VB_DT_COORDINATES,
    VB_DT_BOOLEAN,
    VB_DT_DOCUMENT,
    VB_DT_FLOAT,
    VB_DT_INT,
    VB_DT_NONE,
    VB_DT_NUMBER,
    VB_DT_STRING,
} vb_datatype;

#define VB_MAX_STATIONS 64

typedef struct vb_param {
    char *name;
    vb_datatype type;
    int cadence_public;  /* seconds, -1 when absent */
    int cadence_private; /* seconds, -1 when absent */
    uint64_t stations;   /* bit i: station i reports it ("default" sets all) */
} vb_param;

typedef struct vb_masterlist {
    char **stations; /* sorted */
    size_t nstations;
    vb_param *params; /* sorted by name */
    size_t nparams;
} vb_masterlist;

int vb_masterlist_parse(const char *json, size_t len, const char *origin, vb_masterlist *out,
                        vb_err *err);
int vb_masterlist_load(const char *path, vb_masterlist *out, vb_err *err);
const vb_param *vb_masterlist_find(const vb_masterlist *ml, const char *name);
int vb_masterlist_station_index(const vb_masterlist *ml, const char *station);
void vb_masterlist_free(vb_masterlist *ml);

const char *vb_datatype_name(vb_datatype t);
/* SQL column type of a parameter's series, NULL for "none" (no table). */
const char *vb_sqltype(vb_datatype t);

#endif
