-- demo-summary.lua DB: what `make demo` prints after its run - rows per
-- station over every series, the bridge's own figures, and the array status.
local vlbimon = require "vlbimon"

local path = ...
local db = vlbimon.open(path, { readonly = true })

local per_station, total, tables = {}, 0, 0
for _, name in ipairs(db:tables()) do
    local series = name:match("^ts_param_") and vlbimon.is_identifier(name)
        and db:first("SELECT count(*) AS n FROM pragma_table_info(?) WHERE name = 'station'", name).n > 0
    if series then
        local used = false
        for row in db:rows("SELECT station, count(*) AS n FROM " .. name .. " GROUP BY station") do
            per_station[row.station] = (per_station[row.station] or 0) + row.n
            total = total + row.n
            used = true
        end
        if used then
            tables = tables + 1
        end
    end
end

local stations = {}
for s in pairs(per_station) do
    stations[#stations + 1] = s
end
table.sort(stations)
print(string.format("%d rows in %d series tables", total, tables))
for _, s in ipairs(stations) do
    print(string.format("  %-8s %8d rows", s, per_station[s]))
end

local function last(series)
    return db:first("SELECT time, value FROM ts_param_" .. series
        .. " WHERE station = 'bridge' ORDER BY time DESC LIMIT 1")
end
local lag, fetch, points = last("bridge_totalLag"), last("bridge_bridgeLag"), last("bridge_points")
if lag then
    print(string.format("last cycle: %d points, lag %.1f s (newest point to now), fetch %.0f ms",
        points and points.value or 0, lag.value, (fetch and fetch.value or 0) * 1000))
end
print("station status (bridge_stationStatus):")
for row in db:rows("SELECT * FROM bridge_stationStatus ORDER BY station") do
    print(string.format("  %-8s %-12s %-3s %-6s rec %s tsys %8.1f tau225 %.3f",
        row.station, row.source, row.onsource, row.mode, row.recording, row.tsys or 0,
        row.tau225 or 0))
end
db:close()
