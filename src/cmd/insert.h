/*
 * insert.h - the `insert` command: a tree downloaded by `history` into a
 * database, as the bridge would have stored it live, as a bulk load.
 *
 * Layer cmd (docs/architecture.md): may include every layer.
 */
#ifndef VB_INSERT_H
#define VB_INSERT_H

#include "core/app.h"

int cmd_insert(vb_app *app, int argc, char **argv);

#endif
