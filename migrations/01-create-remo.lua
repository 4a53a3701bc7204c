-- 01-create-remo: what the station status page ("remo") needed: the lag
-- series renamed, the bridge's new series, the schedule, and more columns in
-- the station status table. The schedule's "scanname" column and time index
-- are what the original created; 03 brings them in line with initdb.
local migrate = require "vlbimon.migrate"

return migrate.define {
    description = "series for the station status page: totalLag, bridgeLag, forecast_tau225, "
        .. "windSpeed, windGust, the schedule, and tsys/tau225/scan in station_status",
    steps = {
        migrate.rename_series("lag", "totalLag"),
        migrate.add_series("bridgeLag", "REAL"),
        migrate.add_series("forecast_tau225", "REAL"),
        migrate.add_series("windSpeed", "REAL"),
        migrate.add_series("windGust", "REAL"),
        migrate.create_table("ts_param_schedule", {
            { name = "time", type = "INTEGER", not_null = true },
            { name = "stations", type = "TEXT", not_null = true },
            { name = "scanname", type = "TEXT", not_null = true },
        }, { "time" }),
        migrate.add_column("station_status", { name = "tsys", type = "REAL" }),
        migrate.add_column("station_status", { name = "tau225", type = "REAL" }),
        migrate.add_column("station_status", { name = "scan", type = "TEXT", not_null = true, default = "" }),
    },
}
