/*
 * commands.h - the subcommands main dispatches to. Each parses its own
 * options and returns an exit status (app.h); none of them exits.
 */
#ifndef VB_COMMANDS_H
#define VB_COMMANDS_H

#include "app.h"

int cmd_initdb(vb_app *app, int argc, char **argv);
int cmd_masterlist(vb_app *app, int argc, char **argv);
int cmd_run(vb_app *app, int argc, char **argv);

#endif
