-- 05-backfill-series: the bridge's own series for its backfill, which asks
-- vlbimon's history for the points the snapshots could not carry
-- (docs/commands.md, "Backfill"): how many rows it stored, and how many
-- history requests it made.
local migrate = require "vlbimon.migrate"

return migrate.define {
    description = "the backfill's series: bridge_backfillPoints and bridge_backfillRequests",
    -- A bridge with backfill creates the tables it writes when they are missing.
    any_old = true,
    steps = {
        migrate.add_series("bridge_backfillPoints", "INTEGER"),
        migrate.add_series("bridge_backfillRequests", "INTEGER"),
    },
}
