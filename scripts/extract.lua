-- extract.lua DB PATTERN [OUTDIR] - `vlbimon_bridge extract`: every series
-- (ts_param_* table of either layout) whose name contains PATTERN (plain
-- text, not a wildcard) to OUTDIR/<table>.csv, ordered by time:
--   time,timestamp,station,value
-- with timestamp the UTC time as %Y%m%d%H%M%S. RFC 4180: CRLF line ends,
-- fields with a comma, quote, CR or LF in double quotes, quotes doubled.
-- REAL values are written with the fewest digits that read back exactly.
local vlbimon = require "vlbimon"
local migrate = require "vlbimon.migrate"

local path, pattern, outdir = ...
if not path or not pattern or select("#", ...) > 3 then
    error("usage: extract.lua DB PATTERN [OUTDIR]", 0)
end
outdir = outdir or "."

local function field(v)
    if v == nil then
        return ""
    elseif math.type(v) == "integer" then
        return string.format("%d", v)
    elseif type(v) == "number" then
        local s
        for digits = 15, 17 do
            s = string.format("%." .. digits .. "g", v)
            if tonumber(s) == v then
                break
            end
        end
        if s:match("^-?%d+$") then
            s = s .. ".0"
        end
        return s
    end
    v = tostring(v)
    if v:find('[,"\r\n]') then
        return '"' .. v:gsub('"', '""') .. '"'
    end
    return v
end

-- Rows in time order; of one second, by station, then in the order they
-- were stored: the same file from either layout (docs/schema.md).
local ORDER = { v1 = "time, station, rowid", v2 = "time, station, seq" }

local db = vlbimon.open(path, { readonly = true })
local found = 0
for _, tbl in ipairs(db:tables()) do
    local order = ORDER[migrate.series_layout(db, tbl) or ""]
    if tbl:find(pattern, 1, true) and vlbimon.is_identifier(tbl) and order then
        local dest = outdir .. "/" .. tbl .. ".csv"
        local tmp = dest .. ".tmp"
        local f = assert(io.open(tmp, "wb"))
        f:write("time,timestamp,station,value\r\n")
        local n = 0
        for _, t, s, v in db:rows("SELECT time, station, value FROM " .. tbl .. " ORDER BY " .. order) do
            f:write(field(t), ",", os.date("!%Y%m%d%H%M%S", math.floor(t)), ",", field(s), ",", field(v), "\r\n")
            n = n + 1
        end
        assert(f:close())
        assert(os.rename(tmp, dest))
        print(string.format("%s: %d rows", dest, n))
        found = found + 1
    end
end
db:close()
if found == 0 then
    error(string.format("no series in %s has %q in its name", path, pattern), 0)
end
