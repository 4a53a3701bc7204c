-- status.lua - the station status table: one in-memory row per station,
-- restored from bridge_stationStatus at start-up, changed by transformers
-- through ctx.set_status, and handed back to the host only for stations
-- whose row changed, to be written with INSERT OR REPLACE.
local vlbimon = require "vlbimon"

local M = {}

-- A point this far ahead of the wall clock has a broken timestamp (LMT once
-- sent 2033); letting it move the status clock would pin the row for good.
M.FUTURE_SLACK = 3600

-- The columns are the host's one list (src/db/schema.c); time, the row's
-- clock, and station, its key, are the two every row has, and ORDER holds
-- the rest.
local TEXT, REAL, ORDER = {}, {}, {}
for _, c in ipairs(vlbimon.status_columns()) do
    if c.name ~= "time" and c.name ~= "station" then
        ORDER[#ORDER + 1] = c.name
        if c.type == "TEXT" then
            TEXT[c.name] = true
        elseif c.type == "REAL" then
            REAL[c.name] = true
        end
    end
end

local Status = {}
Status.__index = Status

-- A station not yet seen: empty texts, zero numbers, no recorder recording.
local function default_row(station)
    local r = { time = 0, station = station }
    for _, k in ipairs(ORDER) do
        r[k] = TEXT[k] and "" or 0
    end
    r.recording = "...."
    return r
end

local function copy(row)
    local c = {}
    for k, v in pairs(row) do
        c[k] = v
    end
    return c
end

-- stations: the stations that may have a row (the masterlist's).
function M.new(stations)
    local self = setmetatable({ rows = {}, changed = {} }, Status)
    for _, s in ipairs(stations) do
        self.rows[s] = default_row(s)
    end
    return self
end

-- Reads back what the last run wrote, so a restart does not reset the rows.
-- rows: bridge_stationStatus as the host read it, each row keyed by column name.
function Status:restore(rows)
    local n = 0
    for _, row in ipairs(rows) do
        local r = self.rows[row.station]
        if not r then
            vlbimon.log("info", "station status: ignoring unknown station", row.station)
        else
            r.time = math.tointeger(row.time) or 0
            for _, k in ipairs(ORDER) do
                local v = row[k]
                if TEXT[k] and type(v) == "string" or REAL[k] and type(v) == "number" then
                    r[k] = v
                end
            end
            if #r.recording ~= 4 then
                vlbimon.log("warn", "station status: ignoring", row.station, "recording", string.format("%q", r.recording))
                r.recording = "...."
            end
            n = n + 1
        end
    end
    return n
end

-- The current row (a copy), or nil for a station without one.
function Status:get(station)
    local r = self.rows[station]
    return r and copy(r)
end

-- Checks the fields a transformer passes to ctx.set_status and copies them,
-- so that later changes to its table do not leak in.
function M.check(station, fields)
    if type(station) ~= "string" then
        error("set_status: station must be a string, got " .. type(station), 3)
    end
    if type(fields) ~= "table" then
        error("set_status: fields must be a table, got " .. type(fields), 3)
    end
    local c = {}
    for k, v in pairs(fields) do
        if k == "time" then
            if type(v) ~= "number" or v - v ~= 0 then
                error("set_status: time must be a finite number, got " .. tostring(v), 3)
            end
        elseif TEXT[k] then
            if type(v) ~= "string" then
                error("set_status: " .. k .. " must be a string, got " .. type(v), 3)
            end
            if k == "recording" and #v ~= 4 then
                error("set_status: recording must be 4 characters, got " .. string.format("%q", v), 3)
            end
        elseif REAL[k] then
            if type(v) ~= "number" then
                error("set_status: " .. k .. " must be a number, got " .. type(v), 3)
            end
        else
            error("set_status: unknown field " .. tostring(k), 3)
        end
        c[k] = v
    end
    return c
end

-- Applies checked fields. The clock only moves forward, and never to a time
-- more than FUTURE_SLACK past now.
function Status:update(station, fields, now)
    local r = self.rows[station]
    if not r then
        vlbimon.log("debug", "station status: no row for station", station)
        return
    end
    local changed = false
    for _, k in ipairs(ORDER) do
        local v = fields[k]
        if v ~= nil and r[k] ~= v then
            r[k] = v
            changed = true
        end
    end
    local t = fields.time
    if t then
        t = math.floor(t)
        if t > now + M.FUTURE_SLACK then
            vlbimon.log("warn", string.format("station status: %s sent time %s, more than an hour ahead; "
                .. "the status clock stays at %s", station, vlbimon.iso8601(t), vlbimon.iso8601(r.time)))
        elseif t > r.time then
            r.time = t
            changed = true
        end
    end
    if changed then
        self.changed[station] = true
    end
end

-- The changed rows since the last call, as copies, sorted by station.
function Status:take_changed()
    local names = {}
    for s in pairs(self.changed) do
        names[#names + 1] = s
    end
    table.sort(names)
    local out = {}
    for i, s in ipairs(names) do
        out[i] = copy(self.rows[s])
    end
    self.changed = {}
    return out
end

return M
