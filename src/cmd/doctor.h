/*
 * doctor.h - `vlbimon_bridge doctor`: checks the deployment rules whose
 * breach makes Grafana unable to read the live database, or the bridge
 * unable to fetch, and prints one line per check with its fix.
 *
 * Layer cmd (docs/architecture.md): may include every layer.
 */
#ifndef VB_DOCTOR_H
#define VB_DOCTOR_H

#include "core/app.h"

int cmd_doctor(vb_app *app, int argc, char **argv);

#endif
