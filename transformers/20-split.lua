-- 20-split.lua - coordinate strings of two glued signed numbers
-- ("123.45678+45.67890") become two REAL series: <param>_az/_el for
-- AzElCoordinates, <param>_ra/_dec for CelestialCoordinates.
local M = { name = "split" }

-- param -> {first series, second series}, from the masterlist (set by init).
local split_to

local PATTERN = "^([+-]?[0-9.]+)([+-]?[0-9.]+)"
local SUFFIXES = {
    AzElCoordinates = { "_az", "_el" },
    CelestialCoordinates = { "_ra", "_dec" },
}

function M.init(ctx)
    split_to = {}
    for name, p in pairs(ctx.masterlist.params) do
        local sfx = SUFFIXES[p.datatype]
        if sfx then
            split_to[name] = { name .. sfx[1], name .. sfx[2] }
        end
    end
end

function M.wants(param)
    return split_to[param] ~= nil
end

function M.produces()
    local list = {}
    for _, to in pairs(split_to) do
        list[#list + 1] = to[1]
        list[#list + 1] = to[2]
    end
    return list
end

function M.transform(points, ctx)
    local split = split_to
    local station, param, time, value = points.station, points.param, points.time, points.value
    local nbad, example = 0, nil
    for i = 1, points.n do
        local to = split[param[i]]
        if to then
            local v = value[i]
            local a, b
            if type(v) == "string" then
                a, b = v:match(PATTERN)
            end
            a, b = tonumber(a), tonumber(b)
            if a and b then
                points:add(station[i], to[1], time[i], a)
                points:add(station[i], to[2], time[i], b)
            else
                nbad = nbad + 1
                example = example or string.format("%s %s %q", station[i], param[i], tostring(v))
            end
        end
    end
    if nbad > 0 then
        ctx.log("warn", string.format("%d coordinate(s) could not be split, e.g. %s", nbad, example))
    end
end

return M
