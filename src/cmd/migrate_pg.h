/*
 * migrate_pg.h - `migrate --postgres`: the migrations against a PostgreSQL
 * database's recorded schema version. The migrations in migrations/ are Lua
 * on SQLite; 00 to 03 are the SQLite databases' history, which a PostgreSQL
 * schema starts after (docs/schema.md), so on PostgreSQL this reports and
 * checks, and fix has nothing it may run yet.
 *
 * Layer cmd (docs/architecture.md): may include every layer.
 */
#ifndef VB_MIGRATE_PG_H
#define VB_MIGRATE_PG_H

#include "core/app.h"

/* verb is status, check or fix; name (may be NULL) a migration or its prefix; dir the migrations.
 */
int vb_migrate_postgres(vb_app *app, const char *conninfo, const char *dir, const char *verb,
                        const char *name);

#endif
