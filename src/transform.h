/*
 * transform.h - the `transform` command: the transformer pipeline run
 * offline on snapshot files or downloaded history, printing the rows it
 * would store (or storing them), so transformers can be developed without a
 * live bridge.
 */
#ifndef VB_TRANSFORM_H
#define VB_TRANSFORM_H

#include "app.h"

int cmd_transform(vb_app *app, int argc, char **argv);

#endif
