-- Builds the fixture catalogue share/masterlist.json from the production
-- parameter list (tests/fixtures/vlbimon_types.csv), so that tests, the demo
-- and the simulator run on the real 533 parameter names and types.
-- Usage: lua5.4 tools/gen-masterlist.lua tests/fixtures/vlbimon_types.csv > share/masterlist.json
local cjson = require("cjson")

local AZEL = {
    telescope_azimuthElevation = true,
    if_1_systemTempAzel = true, if_2_systemTempAzel = true,
    if_3_systemTempAzel = true, if_4_systemTempAzel = true,
}
local CELESTIAL = {
    telescope_raDecTargetJ2000 = true, telescope_raDecTargetCurrent = true,
    telescope_raDecActualCurrent = true, telescope_apparentRaDec = true,
    telescope_epochRaDec = true,
}
local COORDINATES = { observatory_coordinates = true, phasing_referenceCoordinates = true }

-- Plausible cadences per prefix (seconds); nil = static or derived.
local CADENCE = {
    weather = { public = 60, private = 10 },
    weatherMap = { public = 600 },
    telescope = { public = 60, private = 5 },
    observerMessages = { private = 0 },
    ["if"] = { public = 60, private = 10 },
    rx = { public = 300, private = 30 },
    recorder = { private = 30 },
    r2dbe = { private = 60 },
    bdc = { private = 60 },
    maser = { public = 600, private = 60 },
    phasing = { private = 10 },
    cc = { private = 0 },
}

local function datatype(name, t)
    if AZEL[name] then return "AzElCoordinates" end
    if CELESTIAL[name] then return "CelestialCoordinates" end
    if COORDINATES[name] then return "Coordinates" end
    -- The production masterlist declares these as int; the bridge's fix-up
    -- makes them float, and the fixture keeps the error so the fix-up is tested.
    if name:match("^recorder_%d_group[a-d]SpaceLeft$") or name:match("^recorder_%d_group[a-d]TimeLeft$")
        or name:match("^recorder_%d_group[a-d]Datarate$") then
        return "int"
    end
    if name:match("^weatherMap_") then return "number" end
    return ({ str = "string", float = "float", int = "int", bool = "boolean" })[t]
end

local default, alma = {}, {}
for line in io.lines(arg[1]) do
    local name, t = line:match("^([%w_]+)%.csv,(%a+)$")
    assert(name, "bad line: " .. line)
    local prefix = name:match("^([^_]+)_")
    local entry = { datatype = datatype(name, t), unit = "", description = name }
    local cad = CADENCE[prefix]
    if cad then
        entry.cadence = cad
        entry.partype = "mandatory"
    else
        entry.partype = "static"
    end
    if prefix == "phasing" then alma[name] = entry else default[name] = entry end
end

local ml = { default = default, ALMA = alma }
for _, s in ipairs({ "APEX", "GLT", "JCMT", "KP", "LMT", "NOEMA", "PICO", "SMA", "SMTO", "SPT" }) do
    ml[s] = {}
end
io.write(cjson.encode(ml), "\n")
