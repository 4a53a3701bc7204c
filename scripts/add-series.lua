-- add-series.lua DB NAME TYPE - `vlbimon_bridge add-series`: creates series
-- table ts_param_NAME (time, station, value TYPE, seq) as initdb would
-- (docs/schema.md), e.g. for a parameter added to the masterlist after the
-- database was made.
local vlbimon = require "vlbimon"

local path, name, sqltype = ...
if not path or not name or not sqltype or select("#", ...) > 3 then
    error("usage: add-series.lua DB NAME TYPE", 0)
end
if not vlbimon.is_identifier(name) then
    error(string.format("series name %q is not an SQL identifier (letters, digits, _)", name), 0)
end
sqltype = sqltype:upper()
local TYPES = { TEXT = true, REAL = true, INTEGER = true, BOOLEAN = true }
if not TYPES[sqltype] then
    error(string.format("unknown type %q (TEXT, REAL, INTEGER or BOOLEAN)", sqltype), 0)
end
local db = vlbimon.open(path)
local tbl = "ts_param_" .. name
local sql = vlbimon.series_sql(name, sqltype)
db:transaction(function()
    if db:first("SELECT 1 FROM sqlite_schema WHERE name = ?", tbl) then
        error(tbl .. " already exists in " .. path, 0)
    end
    db:exec(sql)
end)
db:close()
print(string.format("created %s (%s)", tbl, sqltype))
