/*
 * bridge.h - the `bridge` command: the live snapshot loop that copies
 * vlbimon into the database Grafana reads, one snapshot every --dt seconds,
 * with the server's cursor committed in the same transaction as the rows it
 * produced (exactly once across crashes), sessions kept alive, failures
 * backed off, and SIGTERM, SIGINT or <datadir>/PLEASE-EXIT ending it cleanly.
 *
 * Layer cmd (docs/architecture.md): may include every layer.
 */
#ifndef VB_BRIDGE_H
#define VB_BRIDGE_H

#include "core/app.h"

int cmd_bridge(vb_app *app, int argc, char **argv);

#endif
