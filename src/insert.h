/*
 * insert.h - the `insert` command: a tree downloaded by `history` into a
 * database, as the bridge would have stored it live, as a bulk load.
 */
#ifndef VB_INSERT_H
#define VB_INSERT_H

#include "app.h"

int cmd_insert(vb_app *app, int argc, char **argv);

#endif
