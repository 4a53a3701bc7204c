/*
 * rows.h - the rows of a pipeline result, grouped by table, and their
 * values as C values (core/value.h).
 *
 * The pipeline (lua/vlbimon/pipeline.lua) hands the host its rows as four
 * parallel columns, in whatever order flattening and the transformers left
 * them. SQLite's page cache only hits when one table's rows are inserted one
 * after another (52 ms instead of 160 ms for a full snapshot), so the host
 * inserts them table by table. The grouping is done here, in one pass over
 * the param column: in Lua the same loop cost a fifth of the transformer
 * budget, because it copied three values per row into per-table tables.
 *
 * Layer host (docs/architecture.md): includes core/, db/ and host/.
 */
#ifndef VB_ROWS_H
#define VB_ROWS_H

#include <lua.h>

#include "core/value.h"
#include "db/result.h"
#include "db/schema.h"

/* The host's copy of a result as C values (db/result.h), reused run after run. */
typedef struct vb_result_buf {
    vb_result r; /* the last result grouped; its arrays are the ones below */
    vb_row *rows;
    size_t rows_cap;
    vb_result_series *series;
    size_t series_cap;
    vb_status_row *status;
    size_t status_cap;
} vb_result_buf;

/*
 * Lua: group(result), a C closure whose upvalue is a light userdata
 * vb_result_buf. Groups the rows of the result table (columns station,
 * param, time, value; n rows; status rows) by table into the buffer: tables
 * in name order, each table's rows in their order in the columns, so that
 * the last of two rows with one key still wins. Its text stays the
 * result's: the result must be kept while the buffer is read. Raises when
 * the result has no row count or a row's param is not a string. The
 * pipeline calls it as the last step of every run.
 */
int vb_rows_group(lua_State *L);
void vb_result_buf_free(vb_result_buf *b);

/*
 * The Lua value at idx as a C value (a string's bytes stay Lua's: valid
 * while the string is reachable). -1, with *v no value, for what is not
 * one: nil, a table or function, a NaN or infinity.
 */
int vb_rows_value(lua_State *L, int idx, vb_value *v);

/* Pushes v as Lua holds values: no value as nil. */
void vb_rows_push_value(lua_State *L, const vb_value *v);

/*
 * The station status row at idx (a table keyed by column name) as C values,
 * in the order of vb_status_columns; a field that is not a value is no
 * value. The strings stay the row's.
 */
void vb_rows_status(lua_State *L, int idx, vb_value f[VB_STATUS_NCOLUMNS]);

#endif
