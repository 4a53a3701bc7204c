-- 02-fix-bridges: the bridge's own series and its station status table get
-- the bridge_ prefix, so they sort together and never clash with a
-- parameter of the same name.
local migrate = require "vlbimon.migrate"

return migrate.define {
    description = "give the bridge's own series and station_status the bridge_ prefix",
    steps = {
        migrate.rename_series("points", "bridge_points"),
        migrate.rename_series("bridgeLag", "bridge_bridgeLag"),
        migrate.rename_series("totalLag", "bridge_totalLag"),
        migrate.rename_series("events", "bridge_events"),
        migrate.rename_series("forecast_tau225", "bridge_forecastTau225"),
        migrate.rename_series("windSpeed", "bridge_avgWindSpeed"),
        migrate.rename_table("station_status", "bridge_stationStatus"),
    },
}
