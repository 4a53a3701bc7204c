/*
 * scripts.h - the commands that are Lua scripts: migrate, summarize, backup,
 * extract and add-series, and `run` for any script. The C side only parses options (so -h, prefixes
 * and usage errors behave like every other command); the work is done by the
 * Lua scripts in scripts/, which users can read, change, or run themselves
 * with `vlbimon_bridge run`. (Lua has no PostgreSQL: `migrate --postgres` is
 * cmd/migrate_pg.c.)
 *
 * Layer cmd (docs/architecture.md): may include every layer.
 */
#ifndef VB_SCRIPTS_H
#define VB_SCRIPTS_H

#include "core/app.h"

int cmd_migrate(vb_app *app, int argc, char **argv);
int cmd_summarize(vb_app *app, int argc, char **argv);
int cmd_backup(vb_app *app, int argc, char **argv);
int cmd_extract(vb_app *app, int argc, char **argv);
int cmd_add_series(vb_app *app, int argc, char **argv);
int cmd_run(vb_app *app, int argc, char **argv);

#endif
