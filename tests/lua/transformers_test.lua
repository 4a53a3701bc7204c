-- transformers_test.lua - the standard transformers and the pipeline's
-- contract, against hand-computed expectations from docs/transformers.md. The
-- pipeline runs here with a plain pcall as its isolate (the instruction
-- limit is C's, tested in tests/unit/pipeline_test.c).
local T = require "testlib"
local vlbimon = require "vlbimon"
local pipeline = require "vlbimon.pipeline"

local root = vlbimon.root()
local STD = { root .. "/transformers/10-events.lua", root .. "/transformers/20-split.lua",
    root .. "/transformers/30-status.lua" }
local NOW = 1712836800

local function new(files)
    local p = pipeline.new { isolate = pcall }
    p:load(files or STD)
    return p
end

-- Rows of one series as {station, time, value} lists, in the result's order.
local function series(result, name)
    local rows = {}
    for i = 1, result.n do
        if result.param[i] == name then
            rows[#rows + 1] = { result.station[i], result.time[i], result.value[i] }
        end
    end
    return rows
end

-- The result's series names, each once, sorted.
local function names(result)
    local seen, out = {}, {}
    for i = 1, result.n do
        local p = result.param[i]
        if not seen[p] then
            seen[p] = true
            out[#out + 1] = p
        end
    end
    table.sort(out)
    return out
end

local function events(result)
    local out = {}
    for _, r in ipairs(series(result, "bridge_events")) do
        out[#out + 1] = r[3]
    end
    table.sort(out)
    return out
end

-- events: every text of the table, prefixes, onSource fixed
do
    local p = new()
    local r = p:run_points({
        { "SMA", "telescope_sourceName", 100, "Sgr A*" },
        { "SMA", "telescope_observingMode", 100, "   " },
        { "SMA", "telescope_pointingCorrection", 100, "on" },
        { "SMA", "telescope_focusCorrection", 100, "off" },
        { "SMA", "observerMessages_observer", 100, "Ann" },
        { "SMA", "observerMessages_observatoryStatus", 100, "open" },
        { "SMA", "observerMessages_weather", 100, "clear, dry" },
        { "SMA", "telescope_onSource", 100, true },
        { "SMA", "telescope_epochType", 100, "J2000" },
        { "SMA", "telescope_status", 100, "tracking" },
        { "SMA", "telescope_differenceRaDec", 100, "0+0" },
    }, NOW)
    T.eq(events(r), {
        "SMA differenceRaDec is 0+0",
        "SMA focus is off",
        "SMA is on source",
        "SMA mode is ",
        "SMA observer is Ann",
        "SMA pointing is on",
        "SMA source name is Sgr A*",
        "SMA status is open",
        "SMA status is tracking",
        "SMA weather is clear, dry",
    }, "every event text; blank mode becomes empty; epochType makes none")
    T.eq(series(r, "bridge_events")[1][2], 100, "events are at the point's time")
    T.eq(series(r, "bridge_events")[1][1], "SMA", "and belong to the station")
end

-- events: observerMessages_ prefix stripped for "any other" (bug fix)
do
    local ml = vlbimon.masterlist()
    local other
    for name, p in pairs(ml.params) do
        if name:find("^observerMessages_") and p.datatype == "string" and name ~= "observerMessages_observer"
            and name ~= "observerMessages_observatoryStatus" and name ~= "observerMessages_weather" then
            other = name
        end
    end
    if other then
        local r = new():run_points({ { "KP", other, 5, "x" } }, NOW)
        T.eq(events(r), { "KP " .. other:gsub("^observerMessages_", "") .. " is x" },
            "observerMessages_ is stripped from other event names")
    else
        T.ok(true, "no other observerMessages_ string parameter in this masterlist")
    end
end

-- events: onSource spellings, and dedup per (station, param)
do
    local p = new()
    local function on(v, t)
        return events(p:run_points({ { "ALMA", "telescope_onSource", t, v } }, NOW))
    end
    T.eq(on(true, 1), { "ALMA is on source" }, "boolean true is on")
    T.eq(on(true, 2), {}, "the same value again makes no event (dedup)")
    T.eq(on(false, 3), { "ALMA is off source" }, "boolean false is off")
    T.eq(on("True", 4), { "ALMA is on source" }, "'True' is on")
    T.eq(on("false", 5), { "ALMA is off source" }, "'false' is off")
    T.eq(on("true", 6), { "ALMA is on source" }, "'true' is on")
    T.eq(on("False", 7), { "ALMA is off source" }, "'False' is off")
    T.eq(on("maybe", 8), { "ALMA is off source" }, "anything else is off (with a warning)")
    local r = p:run_points({ { "ALMA", "telescope_sourceName", 9, "M87" }, { "APEX", "telescope_sourceName", 9, "M87" } }, NOW)
    T.eq(events(r), { "ALMA source name is M87", "APEX source name is M87" }, "dedup is per station")
    r = p:run_points({ { "ALMA", "telescope_sourceName", 10, "M87" }, { "ALMA", "telescope_sourceName", 11, "3C279" },
        { "ALMA", "telescope_sourceName", 12, "M87" } }, NOW)
    T.eq(events(r), { "ALMA source name is 3C279", "ALMA source name is M87" }, "a batch is deduped in order")
end

-- splitters: signs, both kinds, no match
do
    local r = new():run_points({
        { "SMA", "telescope_azimuthElevation", 7, "123.45678+45.67890" },
        { "SMA", "telescope_raDecTargetJ2000", 7, "12.345678-05.123456" },
        { "KP", "telescope_raDecTargetJ2000", 8, "+19.82420-155.47752" },
        { "LMT", "telescope_azimuthElevation", 9, "n/a" },
        { "GLT", "telescope_azimuthElevation", 9, "1.2.-" },
    }, NOW)
    T.eq(series(r, "telescope_azimuthElevation_az"), { { "SMA", 7, 123.45678 } }, "AzEl _az")
    T.eq(series(r, "telescope_azimuthElevation_el"), { { "SMA", 7, 45.6789 } }, "AzEl _el")
    T.eq(series(r, "telescope_raDecTargetJ2000_ra"), { { "SMA", 7, 12.345678 }, { "KP", 8, 19.8242 } }, "Celestial _ra, leading +")
    T.eq(series(r, "telescope_raDecTargetJ2000_dec"), { { "SMA", 7, -5.123456 }, { "KP", 8, -155.47752 } }, "Celestial _dec, negative")
    T.eq(#series(r, "telescope_azimuthElevation"), 3, "the raw coordinate strings are kept")
end

-- station status: fields, recording string, blank source, clock
do
    local p = new()
    local r = p:run_points({
        { "SMA", "telescope_sourceName", 100, " " },
        { "SMA", "telescope_observingMode", 101, "VLBI" },
        { "SMA", "telescope_onSource", 99, "True" },
        { "SMA", "recorder_1_shouldRecord", 100, true },
        { "SMA", "recorder_3_shouldRecord", 100, "true" },
        { "SMA", "if_1_systemTemp", 100, 123.5 },
        { "SMA", "weather_tau225", 100, "0.25" },
    }, NOW)
    T.eq(r.status, { { time = 101, station = "SMA", source = "", onsource = "on", mode = "VLBI", recording = "1.3.",
        tsys = 123.5, tau225 = 0.25, scan = "" } }, "status row from the points; blank source is empty")
    r = p:run_points({ { "SMA", "recorder_1_shouldRecord", 90, false }, { "SMA", "recorder_4_shouldRecord", 90, "True" } }, NOW)
    T.eq(r.status[1].recording, "..34", "recorders switch their own character")
    T.eq(r.status[1].time, 101, "an older point never sets the clock back")
    r = p:run_points({ { "SMA", "weather_tau225", 50, 0.25 } }, NOW)
    T.eq(r.status, {}, "an unchanged row is not returned")
    r = p:run_points({ { "LMT", "weather_tau225", NOW + 3601, 0.5 } }, NOW)
    T.eq(r.status[1].time, 0, "a point over an hour ahead does not move the clock")
    T.eq(r.status[1].tau225, 0.5, "but its value is taken")
    T.eq(series(r, "weather_tau225"), { { "LMT", NOW + 3601, 0.5 } }, "and it is still stored")
    r = p:run_points({ { "LMT", "weather_tau225", NOW + 3600, 0.5 } }, NOW)
    T.eq(r.status[1].time, NOW + 3600, "an hour ahead is still accepted")
    r = p:run_points({ { "NOPE", "weather_tau225", 5, 0.5 } }, NOW)
    T.eq(r.status, {}, "a station outside the masterlist has no status row")
end

-- status restore from the rows the host read from a database
do
    local path = os.tmpname()
    os.remove(path)
    local db = vlbimon.open(path, { create = true })
    db:exec([[CREATE TABLE bridge_stationStatus (time INTEGER NOT NULL, station TEXT NOT NULL PRIMARY KEY,
      source TEXT NOT NULL, onsource TEXT NOT NULL, mode TEXT NOT NULL, recording TEXT NOT NULL,
      tsys REAL, tau225 REAL, scan TEXT NOT NULL)]])
    db:exec("INSERT INTO bridge_stationStatus VALUES (500, 'KP', 'M87', 'on', 'VLBI', '12..', 80, 0.1, 'No0001')")
    db:exec("INSERT INTO bridge_stationStatus VALUES (500, 'ZZ', 'M87', 'on', 'VLBI', '12..', 80, 0.1, '')")
    db:exec("INSERT INTO bridge_stationStatus VALUES (500, 'SMA', 'M87', 'on', 'VLBI', '12', NULL, 0.1, '')")
    local rows = {}
    for row in db:rows("SELECT * FROM bridge_stationStatus") do
        rows[#rows + 1] = row
    end
    local p = new()
    T.eq(p:restore_status(rows), 2, "known stations restored, unknown ignored")
    local r = p:run_points({ { "KP", "recorder_4_shouldRecord", 400, true } }, NOW)
    T.eq(r.status, { { time = 500, station = "KP", source = "M87", onsource = "on", mode = "VLBI", recording = "12.4",
        tsys = 80.0, tau225 = 0.1, scan = "No0001" } }, "a restored row carries on, clock not set back")
    r = p:run_points({ { "SMA", "recorder_2_shouldRecord", 600, true } }, NOW)
    T.eq(r.status[1].recording, ".2..", "a bad recording string is ignored at restore")
    T.eq(r.status[1].source, "M87", "the rest of that row is restored")
    db:close()
    os.remove(path)
end

-- the contract: isolation, garbage, drops and changes, grouping
local dir = os.tmpname()
os.remove(dir)
local n = 0
local function transformer(code)
    n = n + 1
    local path = string.format("%s-%02d.lua", dir, n)
    local f = assert(io.open(path, "w"))
    f:write(code)
    f:close()
    return path
end

do
    local bad = transformer([[return { name = "bad", transform = function(points, ctx)
        points:add("SMA", "bridge_events", 1, "half done")
        error("boom")
    end }]])
    local garbage = transformer([[return { name = "garbage", transform = function(points) points:add("SMA", "x", 1, 1); return {} end }]])
    local badadd = transformer([[return { name = "badadd", transform = function(points) points:add("SMA", "no such; table", 1, 1) end }]])
    local edit = transformer([[return { name = "edit", transform = function(points, ctx)
        for i = 1, points.n do
            if points.param[i] == "weather_tau225" then points:set(i, points.value[i] * 2) end
            if points.param[i] == "weather_windSpeed" then points:drop(i) end
        end
        points:add("SMA", "bridge_avgWindSpeed", ctx.now, 3)
    end }]])
    local p = new({ bad, garbage, badadd, edit })
    local r = p:run_points({ { "SMA", "weather_tau225", 10, 0.5 }, { "SMA", "weather_windSpeed", 10, 7 } }, NOW)
    T.eq(names(r), { "bridge_avgWindSpeed", "weather_tau225" }, "failed transformers leave nothing")
    T.eq(series(r, "weather_tau225"), { { "SMA", 10, 1.0 } }, "set changes a value")
    T.eq(series(r, "bridge_avgWindSpeed"), { { "SMA", NOW, 3 } }, "add appends, with ctx.now the wall clock")
    r = p:run_points({ { "SMA", "weather_tau225", 11, 0.25 } }, NOW)
    T.eq(names(r), { "bridge_avgWindSpeed", "weather_tau225" }, "the next snapshot runs normally")
    T.eq(series(r, "weather_tau225"), { { "SMA", 11, 0.5 } }, "the reused columns hold only this snapshot's rows")
    T.eq({ r.n, #r.station, #r.param, #r.time, #r.value }, { 2, 2, 2, 2, 2 }, "and nothing beyond them")
end

-- hot reload: state kept by name, a broken set keeps the old one
do
    local v1 = transformer([[return { name = "counter", init = function(ctx) ctx.state.n = ctx.state.n or 0 end,
        transform = function(points, ctx) ctx.state.n = ctx.state.n + 1; points:add("SMA", "bridge_points", 1, ctx.state.n) end }]])
    local p = new({ v1 })
    p:run_points({}, NOW)
    p:run_points({}, NOW)
    local v2 = transformer([[return { name = "counter", init = function(ctx) ctx.state.n = ctx.state.n or 0 end,
        transform = function(points, ctx) ctx.state.n = ctx.state.n + 10; points:add("SMA", "bridge_points", 1, ctx.state.n) end }]])
    p:load({ v2 })
    T.eq(series(p:run_points({}, NOW), "bridge_points"), { { "SMA", 1, 12 } }, "new code, state kept by name")
    local broken = transformer("return { name = 'counter', transform = function( end }")
    T.raises(function()
        p:load({ v2, broken })
    end, "cannot load transformer " .. broken:gsub("%p", "%%%0"), "a broken file is an error naming it")
    T.eq(series(p:run_points({}, NOW), "bridge_points"), { { "SMA", 1, 22 } }, "and the old set keeps running")
    T.raises(function()
        p:load({ transformer("return { name = 'x' }") })
    end, "must return a table with a name", "a module without transform is refused")
    T.raises(function()
        p:load({ v2, v2 })
    end, "is taken by", "two transformers with one name are refused")
    T.raises(function()
        p:load({ transformer("return { name = 'y', init = function() error('no init') end, transform = print }") })
    end, "init: .*no init", "a failing init is a load error")
end

-- produces: the series a transformer adds to, checked when it loads
do
    local list = new():produces()
    local has = {}
    for _, name in ipairs(list) do
        has[name] = true
    end
    T.ok(has.bridge_events and has.telescope_azimuthElevation_az and has.telescope_raDecTargetJ2000_dec,
        "events and split declare the series they add to")
    T.eq(has.telescope_sourceName, nil, "and no series they only read")
    local sorted = { table.unpack(list) }
    table.sort(sorted)
    T.eq(list, sorted, "sorted, each once")
    T.raises(function()
        new({ transformer([[return { name = "p", transform = print, produces = function() return { "no such; table" } end }]]) })
    end, "produces: entry 1 is not a series name", "a name that is not an SQL identifier is a load error")
    T.raises(function()
        new({ transformer([[return { name = "p", transform = print, produces = { "x" } }]]) })
    end, "optionally init%(ctx%), wants%(param, ctx%) and produces%(ctx%)", "produces must be a function")
end

-- save_state / restore_state: after a restart, a transformer goes on as it was
do
    local p = new()
    p:run_points({ { "SMA", "telescope_sourceName", 100, "M87" }, { "SMA", "telescope_onSource", 100, true } }, NOW)
    local text = p:save_state()
    local again = { { "SMA", "telescope_sourceName", 110, "M87" }, { "SMA", "telescope_onSource", 110, false } }
    local q = pipeline.new { isolate = pcall }
    q:restore_state(text)
    q:load(STD)
    T.eq(events(q:run_points(again, NOW)), { "SMA is off source" }, "restored: the same source makes no event again")
    T.eq(events(new():run_points(again, NOW)), { "SMA is off source", "SMA source name is M87" },
        "where transformers that start afresh make one")
    q:restore_state("{}")
    q:load(STD)
    T.eq(#events(q:run_points(again, NOW)), 2, "a state that lacks a transformer starts it afresh")
    T.raises(function()
        q:restore_state("os.exit(3)")
    end, "", "text that is not a saved state is refused")
    local keeper = transformer([[return { name = "keeper", init = function(ctx) ctx.state.f = print; ctx.state.n = 7 end,
        transform = function() end }]])
    local k = new({ keeper })
    local kept = pipeline.new { isolate = pcall }
    kept:restore_state(k:save_state())
    kept:load({ keeper })
    T.eq(kept.transformers[1].ctx.state.n, 7, "plain data is saved")
end

-- vlbimon.state: exact numbers, nested tables; functions left out, cycles refused
do
    local state = require "vlbimon.state"
    local t = { a = 1, b = 0.1, c = "x\n\"y\"\0", d = { true, false, 2 ^ 63, 1 / 0 }, [3] = math.mininteger,
        [1.5] = "k", f = print }
    local text, left = state.encode(t)
    T.eq(left, 1, "a function is left out, and counted")
    local back = state.decode(text)
    T.eq({ back.a, math.type(back.a), back.b, back.c, back[3], back[1.5], back.f },
        { 1, "integer", 0.1, "x\n\"y\"\0", math.mininteger, "k", nil }, "scalars read back exactly")
    T.eq(back.d, { true, false, 2 ^ 63, 1 / 0 }, "and nested tables")
    local cycle = {}
    cycle.me = cycle
    T.raises(function()
        state.encode(cycle)
    end, "reaches one table twice", "a cycle cannot be saved")
    T.raises(function()
        state.decode("print")
    end, "not a table", "text that is not a table is refused")
end

for i = 1, n do
    os.remove(string.format("%s-%02d.lua", dir, i))
end

-- bad points from history are dropped before any transformer
do
    local r = new({}):run_points({ { "SMA", "bad name", 1, 1 }, { "SMA", "ok_name", 0 / 0, 1 }, { "bridge", "bridge_points", 1, 1 },
        { "SMA", "ok_name", 2.9, "v" } }, NOW)
    T.eq(series(r, "ok_name"), { { "SMA", 2, "v" } }, "bad names, times and the bridge station are dropped; times are int")
    T.eq(r.n, 1, "only the good point is left")
end

T.done()
