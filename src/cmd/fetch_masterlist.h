/*
 * fetch_masterlist.h - the `masterlist` command: the server's parameter
 * catalogue, downloaded (no account needed), checked and written atomically,
 * so a proxy's error page never replaces a good catalogue.
 *
 * Layer cmd (docs/architecture.md): may include every layer.
 */
#ifndef VB_FETCH_MASTERLIST_H
#define VB_FETCH_MASTERLIST_H

#include "core/app.h"

int cmd_masterlist(vb_app *app, int argc, char **argv);

#endif
