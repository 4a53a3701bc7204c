/*
 * histfiles.h - one station's downloaded history on disk: the CSV lines a
 * history answer becomes, the <param>.csv files, only ever appended to, and
 * metadata.json, which says per parameter how far the download got
 * (`last_tried`, the end of the last window asked for), the newest point
 * seen (`last_seen`) and how long the CSV was then (`bytes`). metadata.json
 * is replaced atomically after the CSV data it describes is on disk, so a
 * CSV longer than its `bytes` holds lines of a window that was never
 * recorded (the process died in between, or the rest of the answer proved
 * unusable): they are cut off before more is appended, and so no line is
 * ever written twice.
 *
 * Layer hist (docs/architecture.md): includes core/, host/ and hist/.
 */
#ifndef VB_HISTFILES_H
#define VB_HISTFILES_H

#include "host/lua_host.h"
#include "core/util.h"

typedef struct vb_hist_param {
    char *name;
    long long last_tried; /* valid when has_tried */
    long long last_seen;  /* valid when has_seen */
    long long bytes;      /* -1: not recorded (the original's metadata) */
    int has_tried, has_seen;
} vb_hist_param;

typedef struct vb_hist_station {
    char *dir;       /* <datadir>/<station> */
    char *meta_path; /* <dir>/metadata.json */
    vb_hist_param *params;
    size_t n, cap;
    int appended; /* a CSV was appended to since the last vb_hist_save */
} vb_hist_station;

/*
 * Decodes JSON text with cjson.safe (the project's one JSON parser) and
 * leaves the value, or nil when the text is not JSON, on lua's stack; returns
 * whether it is an object or array.
 */
int vb_hist_json(vb_lua *lua, const char *text, size_t len);

/* What one history answer held for a window, besides the lines kept. */
typedef struct vb_hist_answer {
    int found;        /* the answer holds the series (under its station and parameter) */
    long points;      /* CSV lines appended */
    long long newest; /* the newest of their times, -1 when none */
    long early, late; /* points before or after the window, dropped */
    long unusable;    /* points without a time or a storable value, skipped */
} vb_hist_answer;

/*
 * Appends, as "time,value" CSV lines, the points of station's param in the
 * decoded answer of GET /data/history on top of L's stack that lie in the
 * window [a, b] (by whole seconds); the answer stays on the stack. Returns 1
 * for a usable answer (points or none), 0 for one that is not a history
 * answer at all, -1 when out of memory.
 */
int vb_hist_answer_lines(lua_State *L, const char *station, const char *param, long long a,
                         long long b, vb_buf *out, vb_hist_answer *ans, vb_err *err);

/* Reads <datadir>/<station>/metadata.json if there is one (JSON through lua's cjson). */
int vb_hist_station_load(vb_hist_station *st, const char *datadir, const char *station, vb_lua *lua,
                         vb_err *err);
void vb_hist_station_free(vb_hist_station *st);

/* The parameter's record, added (with nothing recorded) when it has none; NULL when out of memory.
 */
vb_hist_param *vb_hist_param_get(vb_hist_station *st, const char *name);

/*
 * Makes the lines appended since the last save durable (a syncfs of the
 * station directory's filesystem), then rewrites metadata.json atomically.
 */
int vb_hist_save(vb_hist_station *st, vb_err *err);

/*
 * Makes the parameter's CSV agree with its record before more is appended:
 * cuts off what lies beyond `bytes`; fails when the file is shorter than
 * that (it was changed behind our back, and appending would leave a gap).
 */
int vb_hist_prepare(vb_hist_station *st, vb_hist_param *p, vb_err *err);

/*
 * Appends `len` bytes of lines (complete CSV records) to the parameter's
 * file; vb_hist_note, then vb_hist_save (which makes them durable first)
 * record them.
 */
int vb_hist_append(vb_hist_station *st, const vb_hist_param *p, const char *lines, size_t len,
                   vb_err *err);

/*
 * Notes one finished window in the record, once its `len` bytes of lines are
 * appended: last_tried, and last_seen when newest >= 0. metadata.json holds
 * it after the next vb_hist_save.
 */
void vb_hist_note(vb_hist_param *p, size_t len, long long last_tried, long long newest);

#endif
