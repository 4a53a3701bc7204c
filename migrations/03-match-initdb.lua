-- 03-match-initdb: what the original's three migrations left different from
-- a database initdb makes (docs/schema.md, "History"), so that dashboards
-- and the bridge see one schema whatever the database's history.
local migrate = require "vlbimon.migrate"

return migrate.define {
    description = "remove the original's leftovers: windGust -> bridge_windGust, schedule "
        .. "scanname -> scan without its time index, bridge_stationStatus as initdb makes it",
    -- Databases the original created after its 02 may lack some leftovers.
    any_old = true,
    steps = {
        migrate.rename_series("windGust", "bridge_windGust"),
        migrate.rename_column("ts_param_schedule", "scanname", "scan"),
        migrate.drop_index("idx_ts_param_schedule_time"),
        -- ADD COLUMN left "scan ... DEFAULT ''", which a fresh table lacks.
        migrate.rebuild_as_fresh("bridge_stationStatus"),
    },
}
