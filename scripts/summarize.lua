-- summarize.lua [--postgres] DB [STATION] - `vlbimon_bridge summarize`: what a database
-- holds. For each parameter prefix (weather_, telescope_, ...) the stations
-- with rows, then each parameter with its rows per station and its first and
-- last time (unix and ISO-8601). Then, per station, a sparkline of its
-- points per hour over the last day of data (the 24 hours up to the hour
-- after the newest point), "." for an hour without any: gaps show at a
-- glance. With STATION, only that station's rows count. With --postgres, DB
-- is a PostgreSQL connection string (its password never printed).
local vlbimon = require "vlbimon"
local migrate = require "vlbimon.migrate"

local postgres = ... == "--postgres"
local nargs = select("#", ...) - (postgres and 1 or 0)
local path, only = select(postgres and 2 or 1, ...)
if not path or nargs > 2 then
    error("usage: summarize.lua [--postgres] DB [STATION]", 0)
end

local BARS = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" }
local HOUR, HOURS = 3600, 24

local db = vlbimon.open(path, { readonly = true, postgres = postgres })

-- Series are the ts_param_ tables of either layout (docs/schema.md); other
-- tables (the schedule, the station status) are listed, not summarized.
local series, others = {}, {}
for _, tbl in ipairs(db:tables()) do
    local layout = migrate.series_layout(db, tbl)
    if vlbimon.is_identifier(tbl) and (layout == "v1" or layout == "v2") then
        series[#series + 1] = tbl
    else
        others[#others + 1] = tbl
    end
end

local where = only and " WHERE station = ?" or ""
local binds = only and { only } or {}
local params, stations, prefixes = {}, {}, {}
local total, newest = 0, nil
for _, tbl in ipairs(series) do
    local p = { name = tbl:sub(10), counts = {} }
    for r in db:rows("SELECT station, count(*) AS n, min(time) AS lo, max(time) AS hi FROM " .. tbl .. where
        .. " GROUP BY station ORDER BY station", table.unpack(binds)) do
        p.counts[#p.counts + 1] = r.station .. " " .. r.n
        p.lo = p.lo and math.min(p.lo, r.lo) or r.lo
        p.hi = p.hi and math.max(p.hi, r.hi) or r.hi
        stations[r.station] = true
        total = total + r.n
    end
    if p.lo then
        p.prefix = p.name:match("^[^_]*_") or p.name
        params[#params + 1] = p
        local pre = prefixes[p.prefix]
        if not pre then
            pre = { name = p.prefix, stations = {} }
            prefixes[p.prefix] = pre
            prefixes[#prefixes + 1] = pre
        end
        for r in db:rows("SELECT DISTINCT station FROM " .. tbl .. where, table.unpack(binds)) do
            pre.stations[r.station] = true
        end
        newest = newest and math.max(newest, p.hi) or p.hi
    end
end

local function sorted_keys(set)
    local out = {}
    for k in pairs(set) do
        out[#out + 1] = k
    end
    table.sort(out)
    return out
end

local function when(t)
    return string.format("%d (%s)", t, vlbimon.iso8601(t))
end

print("database: " .. (postgres and db:path() or path) .. (only and (" (station " .. only .. ")") or ""))
print(string.format("series: %d, %d with rows; %d rows", #series, #params, total))
print("stations: " .. table.concat(sorted_keys(stations), ", "))
print("other tables: " .. table.concat(others, ", "))
table.sort(prefixes, function(a, b) return a.name < b.name end)
table.sort(params, function(a, b) return a.name < b.name end)
for _, pre in ipairs(prefixes) do
    print("")
    print(pre.name .. " (stations: " .. table.concat(sorted_keys(pre.stations), ", ") .. ")")
    for _, p in ipairs(params) do
        if p.prefix == pre.name then
            print(string.format("  %s: %s; %s .. %s", p.name, table.concat(p.counts, ", "), when(p.lo), when(p.hi)))
        end
    end
end

if not newest then
    db:close()
    return
end
local stop = (newest // HOUR + 1) * HOUR
local start = stop - HOURS * HOUR
local buckets = {}
for _, p in ipairs(params) do
    if p.hi >= start then
        for r in db:rows("SELECT station, (time - ?) / ? AS h, count(*) AS n FROM ts_param_" .. p.name
            .. " WHERE time >= ? AND time < ?" .. (only and " AND station = ?" or "") .. " GROUP BY station, h",
            start, HOUR, start, stop, table.unpack(binds)) do
            local b = buckets[r.station] or {}
            buckets[r.station] = b
            b[r.h + 1] = (b[r.h + 1] or 0) + r.n
        end
    end
end
db:close()
print("")
print(string.format("points per hour, %s to %s:", vlbimon.iso8601(start), vlbimon.iso8601(stop)))
local width = 0
for s in pairs(buckets) do
    width = math.max(width, #s)
end
for _, s in ipairs(sorted_keys(buckets)) do
    local b, max, sum = buckets[s], 0, 0
    for h = 1, HOURS do
        max = math.max(max, b[h] or 0)
        sum = sum + (b[h] or 0)
    end
    local line = {}
    for h = 1, HOURS do
        local n = b[h] or 0
        line[h] = n == 0 and "." or BARS[math.max(1, math.ceil(n / max * #BARS))]
    end
    print(string.format("  %-" .. width .. "s %s  %d in all, at most %d in an hour", s, table.concat(line), sum, max))
end
