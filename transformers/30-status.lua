-- 30-status.lua - keeps each station's row of bridge_stationStatus (source,
-- on/off source, mode, recorders, tsys, tau225) up to date, with the time of
-- the newest point it was updated from.
local values = require "vlbimon.values"

local M = { name = "status" }

-- param -> status field, for the parameters copied (almost) as they are.
local FIELDS = {
    telescope_sourceName = "source",
    telescope_observingMode = "mode",
    telescope_onSource = "onsource",
    if_1_systemTemp = "tsys",
    weather_tau225 = "tau225",
}

-- recorder_N_shouldRecord -> N
local RECORDERS = {
    recorder_1_shouldRecord = 1, recorder_2_shouldRecord = 2,
    recorder_3_shouldRecord = 3, recorder_4_shouldRecord = 4,
}

local function field_value(field, v, ctx, station)
    if field == "source" then
        return tostring(values.blank_to_empty(v))
    elseif field == "mode" then
        return tostring(v)
    elseif field == "onsource" then
        local on = values.boolean(v)
        if on == nil then
            ctx.log("warn", station, "telescope_onSource value", tostring(v), "is not a boolean; taken as off")
        end
        return on and "on" or "off"
    end
    local x = tonumber(v)
    if not x then
        ctx.log("warn", station, field, "value", tostring(v), "is not a number; ignored")
    end
    return x
end

function M.wants(param)
    return FIELDS[param] ~= nil or RECORDERS[param] ~= nil
end

function M.transform(points, ctx)
    local station, param, time, value = points.station, points.param, points.time, points.value
    local updates = {}
    for i = 1, points.n do
        local p = param[i]
        local field, rec = FIELDS[p], RECORDERS[p]
        if field or rec then
            local s = station[i]
            local u = updates[s]
            if not u then
                local row = ctx.status(s)
                if not row then
                    goto continue
                end
                u = { time = time[i], recording = row.recording }
                updates[s] = u
            elseif time[i] > u.time then
                u.time = time[i]
            end
            if field then
                u[field] = field_value(field, value[i], ctx, s)
            else
                local on = values.boolean(value[i])
                if on == nil then
                    ctx.log("warn", s, p, "value", tostring(value[i]), "is not a boolean; taken as false")
                end
                u.recording = u.recording:sub(1, rec - 1) .. (on and tostring(rec) or ".") .. u.recording:sub(rec + 1)
            end
        end
        ::continue::
    end
    for s, u in pairs(updates) do
        ctx.set_status(s, u)
    end
end

return M
