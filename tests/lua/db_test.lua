-- db_test.lua - the database handle scripts, migrations and transformers use.
local T = require "testlib"
local vlbimon = require "vlbimon"

local dir = os.tmpname()
os.remove(dir)
local path = dir .. ".db"
local db = vlbimon.open(path, { create = true })

T.raises(function()
    vlbimon.open(dir .. "-missing.db")
end, "no such database file", "opening a missing database without create fails")

db:exec(vlbimon.series_sql("weather_tau225", "REAL"))
T.eq(db:tables(), { "ts_param_weather_tau225" }, "tables() lists the new series")

T.eq(db:exec("INSERT INTO ts_param_weather_tau225 VALUES (?, ?, ?, 0)", 100, "SMA", 0.25), 1,
    "exec with bound values returns the changes")
db:exec("INSERT INTO ts_param_weather_tau225 VALUES (?, ?, ?, 0)", 101, "x'); DROP TABLE y; --", 0.5)
db:exec("INSERT INTO ts_param_weather_tau225 VALUES (?, ?, ?, 0)", 102, "ALMA", nil)

local seen = {}
for row, t, s, v in db:rows("SELECT time, station, value FROM ts_param_weather_tau225 WHERE time >= ? ORDER BY time", 100) do
    seen[#seen + 1] = { row.time, row.station, t, s, v }
end
T.eq(seen, {
    { 100, "SMA", 100, "SMA", 0.25 },
    { 101, "x'); DROP TABLE y; --", 101, "x'); DROP TABLE y; --", 0.5 },
    { 102, "ALMA", 102, "ALMA", nil },
}, "rows yields named and positional columns; values are bound, not spliced")

T.eq(db:first("SELECT count(*) AS n FROM ts_param_weather_tau225").n, 3, "first returns one row")
do
    local cols = {}
    for i = 1, 300 do
        cols[i] = i .. " AS c" .. i
    end
    local sql = "SELECT " .. table.concat(cols, ", ")
    T.eq({ select("#", db:first(sql)), db:first(sql).c300, select(301, db:first(sql)) }, { 301, 300, 300 },
        "a row of 300 columns comes back whole, named and positional")
end
T.eq(db:first("SELECT * FROM ts_param_weather_tau225 WHERE time < 0"), nil, "first returns nil for no rows")

for _ in db:rows("SELECT * FROM ts_param_weather_tau225") do
    break -- leaving early must finalize the statement, or close() below would fail
end

T.raises(function()
    db:transaction(function(tx)
        tx:exec("INSERT INTO ts_param_weather_tau225 VALUES (1, 'KP', 1, 0)")
        error("abort the transaction")
    end)
end, "abort the transaction", "transaction re-raises")
T.eq(db:first("SELECT count(*) AS n FROM ts_param_weather_tau225").n, 3, "and rolled back")

db:transaction(function(tx)
    tx:exec("INSERT INTO ts_param_weather_tau225 VALUES (1, 'KP', 1, 0)")
end)
T.eq(db:first("SELECT count(*) AS n FROM ts_param_weather_tau225").n, 4, "a transaction commits")

T.raises(function()
    db:exec("SELECT * FROM nope")
end, "no such table: nope", "SQL errors are raised")
T.raises(function()
    db:exec("SELECT ?", {})
end, "cannot bind a table", "unbindable values are refused")

local copy = dir .. "-copy.db"
db:backup(copy)
local c = vlbimon.open(copy, { readonly = true })
T.eq(c:first("SELECT count(*) AS n FROM ts_param_weather_tau225").n, 4, "backup copies the data")
T.raises(function()
    c:exec("DELETE FROM ts_param_weather_tau225")
end, "readonly", "a readonly handle cannot write")
c:close()
T.raises(function()
    db:backup(copy)
end, "refusing to overwrite", "backup refuses an existing destination")

db:close()
T.raises(function()
    db:tables()
end, "database is closed", "a closed handle says so")
os.remove(path)
os.remove(copy)
T.done()
