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
#include "db/schema.h"

typedef struct vb_groups {
    int ngroups;
    int nrows;
    int *start; /* table g's rows are row[start[g]] .. row[start[g + 1] - 1] */
    int *row;   /* 1-based indexes into the result's columns, table by table */
} vb_groups;

/*
 * Lua: group(result). Groups the rows of the result table and stores the
 * grouping in it (field `groups`): tables in name order, each table's rows
 * in their order in the columns, so that the last of two rows with one key
 * still wins. Raises when the result has no row count or a row's param is
 * not a string. The pipeline calls it as the last step of every run.
 */
int vb_rows_group(lua_State *L);

/* The grouping stored in the result at idx, or NULL when it has none. */
const vb_groups *vb_rows_groups(lua_State *L, int idx);

/*
 * Pushes the columns of the result at idx - station, param, time, value -
 * and returns the stack index of the first; 0, pushing nothing, when one is
 * not a table.
 */
int vb_rows_push_columns(lua_State *L, int idx);

/*
 * The Lua value at idx as a C value (a string's bytes stay Lua's: valid
 * while the string is reachable). -1, with *v no value, for what is not
 * one: nil, a table or function, a NaN or infinity.
 */
int vb_rows_value(lua_State *L, int idx, vb_value *v);

/*
 * The station status row at idx (a table keyed by column name) as C values,
 * in the order of vb_status_columns; a field that is not a value is no
 * value. The strings stay the row's.
 */
void vb_rows_status(lua_State *L, int idx, vb_value f[VB_STATUS_NCOLUMNS]);

#endif
