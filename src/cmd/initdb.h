/*
 * initdb.h - the `initdb` command: a new database with the schema Grafana's
 * dashboards expect, made from the masterlist in one transaction, or the SQL
 * on stdout. It never touches an existing file.
 *
 * Layer cmd (docs/architecture.md): may include every layer.
 */
#ifndef VB_INITDB_H
#define VB_INITDB_H

#include "core/app.h"

int cmd_initdb(vb_app *app, int argc, char **argv);

#endif
