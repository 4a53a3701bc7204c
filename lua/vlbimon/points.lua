-- points.lua - the points a transformer sees: four parallel columns
-- (station, param, time, value) holding points.n points, read directly.
-- Changes go through points:add/set/drop and are held back until the
-- transformer returns normally, so a transformer that raises or runs away
-- leaves no trace. The columns are reused from one snapshot to the next:
-- a transformer must not keep them.
--
-- The host's points object never reaches a transformer: each transformer
-- gets a view of its own (M.view), showing the same columns, with only add,
-- set and drop. What it writes on its view (n, a column, a field named like
-- a method) stays there; the pending changes live where no view leads.
local vlbimon = require "vlbimon"

local M = {}

local type, floor, tointeger = type, math.floor, math.tointeger
local is_identifier = vlbimon.is_identifier

-- Beyond this a time cannot be an integer number of seconds in SQLite's
-- int64 and a double alike.
local TIME_LIMIT = 9e15

local VALUE_TYPES = { number = true, string = true, boolean = true }
local COLUMNS = { "station", "param", "time", "value" }

-- The host's methods, and a transformer's: locked metatables, so that
-- neither can be reached (nor replaced) through getmetatable.
local methods, api = {}, {}
local mt = { __index = methods, __name = "vlbimon.points", __metatable = false }
local view_mt = { __index = api, __name = "vlbimon.points", __metatable = false }

-- Pending changes per points object and its views, keyed weakly by them.
local pending = setmetatable({}, { __mode = "k" })

function M.new()
    local self = setmetatable({ n = 0, station = {}, param = {}, time = {}, value = {} }, mt)
    pending[self] = { limit = 0, an = 0, as = {}, ap = {}, at = {}, av = {},
        sn = 0, si = {}, sv = {}, dn = 0, di = {}, names = {}, nnames = 0 }
    return self
end

-- A transformer's own view of points; methods:begin makes it show them.
function M.view(points)
    local view = setmetatable({ n = 0 }, view_mt)
    pending[view] = pending[points]
    return view
end

-- A column a transformer put a metatable on becomes a plain copy: the host
-- reads and writes the columns outside the limits, and its metamethods
-- would run there.
local function plain_columns(self)
    for _, c in ipairs(COLUMNS) do
        local col = self[c]
        if getmetatable(col) ~= nil then
            local copy = {}
            for i = 1, self.n do
                copy[i] = rawget(col, i)
            end
            self[c] = copy
        end
    end
end

-- Parameter names become SQL table names; only identifiers are let through.
-- Good names are remembered, bounded so a hostile feed cannot grow the memo.
local function good_name(q, name)
    if q.names[name] then
        return true
    end
    if type(name) ~= "string" or not is_identifier(name) then
        return false
    end
    if q.nnames >= 20000 then
        q.names, q.nnames = {}, 0
    end
    q.names[name] = true
    q.nnames = q.nnames + 1
    return true
end
M.good_name = function(points, name)
    return good_name(pending[points], name)
end

-- An integer time, or nil when t is not a finite number of seconds.
local function int_time(t)
    if type(t) ~= "number" or t - t ~= 0 or t <= -TIME_LIMIT or t >= TIME_LIMIT then
        return nil
    end
    return floor(t)
end
M.int_time = int_time

-- JSON numbers decode as floats; integral ones are kept as integers so that
-- they read back as "489", not "489.0", from TEXT columns and in CSV.
local function normal_value(v)
    local tv = type(v)
    if tv == "number" then
        return tointeger(v) or v
    end
    if VALUE_TYPES[tv] then
        return v
    end
    return nil
end
M.normal_value = normal_value

-- Appends a point that is already known to be valid (flatten, metrics).
function methods:push(station, param, time, value)
    local n = self.n + 1
    self.n = n
    self.station[n], self.param[n], self.time[n], self.value[n] = station, param, time, value
end

-- Empties the columns for the next snapshot (and drops any metatable a
-- transformer put on one since the last snapshot).
function methods:clear()
    plain_columns(self)
    self:truncate(0)
end

function methods:truncate(n)
    local station, param, time, value = self.station, self.param, self.time, self.value
    for i = n + 1, self.n do
        station[i], param[i], time[i], value[i] = nil, nil, nil, nil
    end
    self.n = n
end

function api:add(station, param, time, value)
    local q = pending[self]
    if type(station) ~= "string" then
        error("points:add: station must be a string, got " .. type(station), 2)
    end
    if not good_name(q, param) then
        error("points:add: param must be an SQL identifier, got " .. tostring(param), 2)
    end
    local t = int_time(time)
    if not t then
        error("points:add: time must be a finite number of seconds, got " .. tostring(time), 2)
    end
    local v = normal_value(value)
    if v == nil then
        error("points:add: value must be a number, string or boolean, got " .. type(value), 2)
    end
    local k = q.an + 1
    q.an = k
    q.as[k], q.ap[k], q.at[k], q.av[k] = station, param, t, v
end

local function check_index(q, i, what)
    if math.type(i) ~= "integer" or i < 1 or i > q.limit then
        error(string.format("points:%s: index %s is not a point (1..%d)", what, tostring(i), q.limit), 3)
    end
end

function api:set(i, value)
    local q = pending[self]
    check_index(q, i, "set")
    local v = normal_value(value)
    if v == nil then
        error("points:set: value must be a number, string or boolean, got " .. type(value), 2)
    end
    local k = q.sn + 1
    q.sn = k
    q.si[k], q.sv[k] = i, v
end

function api:drop(i)
    local q = pending[self]
    check_index(q, i, "drop")
    local k = q.dn + 1
    q.dn = k
    q.di[k] = i
end

-- Starts a transformer's turn: nothing pending, indexes 1..n addressable,
-- and its view showing the points as they are now.
function methods:begin(view)
    local q = pending[self]
    q.limit, q.an, q.sn, q.dn = self.n, 0, 0, 0
    view.n, view.station, view.param, view.time, view.value =
        self.n, self.station, self.param, self.time, self.value
end

-- Forgets a failed transformer's changes.
function methods:rollback()
    local q = pending[self]
    plain_columns(self)
    q.an, q.sn, q.dn = 0, 0, 0
end

-- Applies a successful transformer's changes: values, then drops, then additions.
function methods:commit()
    local q = pending[self]
    plain_columns(self)
    local value = self.value
    for k = 1, q.sn do
        value[q.si[k]] = q.sv[k]
    end
    if q.dn > 0 then
        local param = self.param
        for k = 1, q.dn do
            param[q.di[k]] = false
        end
        local station, time = self.station, self.time
        local j = 0
        for i = 1, self.n do
            if param[i] then
                j = j + 1
                station[j], param[j], time[j], value[j] = station[i], param[i], time[i], value[i]
            end
        end
        self:truncate(j)
    end
    for k = 1, q.an do
        self:push(q.as[k], q.ap[k], q.at[k], q.av[k])
    end
    q.an, q.sn, q.dn = 0, 0, 0
end

return M
