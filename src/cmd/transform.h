/*
 * transform.h - the `transform` command: the transformer pipeline run
 * offline on snapshot files or downloaded history, printing the rows it
 * would store (or storing them), so transformers can be developed without a
 * live bridge.
 *
 * Layer cmd (docs/architecture.md): may include every layer.
 */
#ifndef VB_TRANSFORM_H
#define VB_TRANSFORM_H

#include "core/app.h"

int cmd_transform(vb_app *app, int argc, char **argv);

#endif
