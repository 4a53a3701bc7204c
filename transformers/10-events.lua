-- 10-events.lua - human-readable events in bridge_events ("<station>
-- <text>", at the point's time) when a telescope_* or observerMessages_*
-- string parameter, or telescope_onSource, changes value.
local values = require "vlbimon.values"

local M = { name = "events" }

-- The parameters that make events, from the masterlist (set by init).
local event_params

-- Texts that do not follow "<param without its prefix> is <v>".
local PREFIXED = {
    telescope_sourceName = "source name is ",
    telescope_observingMode = "mode is ",
    telescope_pointingCorrection = "pointing is ",
    telescope_focusCorrection = "focus is ",
    observerMessages_observer = "observer is ",
    observerMessages_observatoryStatus = "status is ",
    observerMessages_weather = "weather is ",
}

-- Tracked for dedup, but no event: it changes with every source.
local SILENT = { telescope_epochType = true }

local function text_for(param, v, ctx, station)
    if param == "telescope_onSource" then
        local on = values.boolean(v)
        if on == nil then
            ctx.log("warn", station, "telescope_onSource value", tostring(v), "is not a boolean; taken as off")
        end
        return on and "is on source" or "is off source"
    end
    if param == "telescope_observingMode" then
        v = values.blank_to_empty(v)
    end
    local prefix = PREFIXED[param]
    if prefix then
        return prefix .. tostring(v)
    end
    return (param:gsub("^telescope_", ""):gsub("^observerMessages_", "")) .. " is " .. tostring(v)
end

function M.init(ctx)
    event_params = { telescope_onSource = true }
    for name, p in pairs(ctx.masterlist.params) do
        if p.datatype == "string" and (name:find("^telescope_") or name:find("^observerMessages_")) then
            event_params[name] = true
        end
    end
    -- last[station][param]: the last value seen, for dedup; survives reloads.
    ctx.state.last = ctx.state.last or {}
end

function M.wants(param)
    return event_params[param] == true
end

-- Whether a point makes an event depends on the one before it, so the
-- bridge's backfill makes the events of a stretch again from its complete
-- points and replaces what the live points made (docs/transformers.md).
function M.produces()
    return { "bridge_events" }
end

function M.transform(points, ctx)
    local params, last = event_params, ctx.state.last
    local station, param, time, value = points.station, points.param, points.time, points.value
    for i = 1, points.n do
        local p = param[i]
        if params[p] then
            local s, v = station[i], value[i]
            local seen = last[s]
            if not seen then
                seen = {}
                last[s] = seen
            end
            if seen[p] ~= v then
                seen[p] = v
                if not SILENT[p] then
                    points:add(s, "bridge_events", time[i], s .. " " .. text_for(p, v, ctx, s))
                end
            end
        end
    end
end

return M
