-- pipeline.lua - one snapshot from JSON text to rows for the host: decode,
-- flatten, the bridge's own metrics, the transformers in file-name order,
-- then the rows plus the changed station status rows, which the host turns
-- into C values for storage (src/db/result.h). Driven by src/host/pipeline.c, which passes
-- three C helpers: `flatten`, which decodes a snapshot's JSON straight into
-- the point columns (src/host/snapshot.c: a generic JSON decoder alone would take
-- the whole CPU budget), `isolate`, which runs a transformer under pcall with
-- an instruction limit, and `group` (src/host/rows.c), which groups the rows
-- by table into the host's C result.
--
-- The bridge metrics are part of the pipeline, not a transformer: they
-- describe the raw fetch, so they are computed before any transformer runs
-- and cannot be switched off or forged by data from a station named "bridge".
--
-- Each transformer file runs in a sandbox of its own (vlbimon.sandbox(), see
-- src/host/sandbox.c), so transformers share no globals and no module
-- instances, and gets a points view of its own (vlbimon.points). Whatever the host does with something a transformer can reach
-- (its file's top level, the table it returns, its ctx, what transform
-- returns) happens inside isolate, where a metamethod it set runs under the
-- limits too.
local vlbimon = require "vlbimon"
local points = require "vlbimon.points"
local state = require "vlbimon.state"
local status = require "vlbimon.status"

local M = {}

local type, floor = type, math.floor
local int_time, normal_value, good_name = points.int_time, points.normal_value, points.good_name

local Pipeline = {}
Pipeline.__index = Pipeline

-- opts.isolate(fn, ...) -> true, results... | false, message;
-- opts.flatten(text, points, only, now) -> counts, newest | nil, why (only for run_json);
-- opts.group(result): hands the result to the host, its rows grouped by
-- table (without it, as in the Lua tests, a result is only its columns);
-- opts.stations: only these stations (the --stations filter), or nil for all.
function M.new(opts)
    assert(type(opts.isolate) == "function", "pipeline.new: opts.isolate is required")
    local self = setmetatable({
        isolate = opts.isolate,
        flatten = opts.flatten,
        group = opts.group,
        status = status.new(vlbimon.masterlist().stations),
        points = points.new(),
        transformers = {},
        pending_status = {},
        npending = 0,
    }, Pipeline)
    if opts.stations and #opts.stations > 0 then
        self.only = {}
        for _, s in ipairs(opts.stations) do
            self.only[s] = true
        end
    end
    return self
end

-- ctx is the whole API a transformer gets; see docs/transformers.md.
function Pipeline:new_ctx(name, state)
    local pipeline = self
    local prefix = "transformer " .. name .. ":"
    return {
        name = name,
        masterlist = vlbimon.masterlist(),
        state = state,
        now = vlbimon.now(),
        log = function(level, ...)
            vlbimon.log(level, prefix, ...)
        end,
        status = function(station)
            return pipeline.status:get(station)
        end,
        set_status = function(station, fields)
            local n = pipeline.npending + 1
            pipeline.pending_status[n] = { station, status.check(station, fields) }
            pipeline.npending = n
        end,
    }
end

-- Run inside isolate: a transformer file's top level and the fields of the
-- table it returns.
local function open_transformer(chunk)
    local mod = chunk()
    if type(mod) == "table" then
        return mod.name, mod.transform, mod.init, mod.wants, mod.produces
    end
end

-- Run inside isolate: the series a transformer declares it adds to, checked
-- and copied.
local function list_produces(produces, ctx)
    local list = produces(ctx)
    if type(list) ~= "table" then
        error("produces must return a list of series names, not a " .. type(list), 0)
    end
    local out = {}
    for i = 1, #list do
        local name = list[i]
        if type(name) ~= "string" or not vlbimon.is_identifier(name) then
            error("produces: entry " .. i .. " is not a series name (an SQL identifier)", 0)
        end
        out[i] = name
    end
    return out
end

-- Run inside isolate: one transform call, with ctx.now set and the return
-- value checked.
local function call_transform(transform, view, ctx, now)
    ctx.now = now
    local ret = transform(view, ctx)
    if ret ~= nil and ret ~= view then
        error("transform returned a " .. type(ret) .. "; it must change points through "
            .. "points:add/set/drop and return nothing", 0)
    end
end

local function get_state(ctx)
    return ctx.state
end

local function load_one(self, file, old_state, seen)
    local chunk, err = loadfile(file, "t", vlbimon.sandbox())
    if not chunk then
        error("cannot load transformer " .. err, 0)
    end
    local ok, name, transform, init, wants, produces = self.isolate(open_transformer, chunk)
    if not ok then
        error("cannot load transformer " .. file .. ": " .. tostring(name), 0)
    end
    if type(name) ~= "string" or name == "" or type(transform) ~= "function"
        or (init ~= nil and type(init) ~= "function") or (wants ~= nil and type(wants) ~= "function")
        or (produces ~= nil and type(produces) ~= "function") then
        error("cannot load transformer " .. file .. ": it must return a table with a name (a string), "
            .. "transform(points, ctx) and optionally init(ctx), wants(param, ctx) and produces(ctx)", 0)
    end
    if seen[name] then
        error(string.format("cannot load transformer %s: name %q is taken by %s", file, name, seen[name]), 0)
    end
    seen[name] = file
    local ctx = self:new_ctx(name, old_state[name] or {})
    if init then
        local iok, ierr = self.isolate(init, ctx)
        if not iok then
            error("cannot load transformer " .. file .. ": init: " .. tostring(ierr), 0)
        end
    end
    local series = {}
    if produces then
        local pok, list = self.isolate(list_produces, produces, ctx)
        if not pok then
            error("cannot load transformer " .. file .. ": " .. tostring(list), 0)
        end
        series = list
    end
    return { name = name, file = file, transform = transform, wants = wants, produces = series,
        ctx = ctx, view = points.view(self.points) }
end

-- Loads the transformer files, in the order given, as the new set. Raises,
-- keeping the old set, when any of them fails. A transformer keeps its
-- state table across loads as long as its name stays the same; after
-- restore_state, it gets the restored one instead.
function Pipeline:load(files)
    local old_state = self.restored or {}
    for _, t in ipairs(self.restored and {} or self.transformers) do
        local ok, st = self.isolate(get_state, t.ctx)
        old_state[t.name] = ok and st or nil
    end
    self.restored = nil
    local set, seen = {}, {}
    for i, file in ipairs(files) do
        set[i] = load_one(self, file, old_state, seen)
    end
    self.transformers = set
    local names = {}
    for i, t in ipairs(set) do
        names[i] = t.name
    end
    vlbimon.log("info", string.format("transformers: %d loaded (%s)", #set, table.concat(names, ", ")))
    return #set
end

-- Whether some transformer must see the points of param. One that declares
-- wants(param, ctx) answers for itself (an error in it counts as yes); one
-- without it sees every point. `insert` stores the points nobody wants
-- straight away, without the pipeline.
function Pipeline:wants(param)
    for _, t in ipairs(self.transformers) do
        if not t.wants then
            return true
        end
        local ok, yes = self.isolate(t.wants, param, t.ctx)
        if not ok then
            vlbimon.log("error", string.format("transformer %s (%s): wants failed, so it sees every point: %s",
                t.name, t.file, tostring(yes)))
            return true
        end
        if yes then
            return true
        end
    end
    return false
end

-- The series the transformers declare they add to (produces), sorted.
function Pipeline:produces()
    local seen, list = {}, {}
    for _, t in ipairs(self.transformers) do
        for _, name in ipairs(t.produces) do
            if not seen[name] then
                seen[name] = true
                list[#list + 1] = name
            end
        end
    end
    table.sort(list)
    return list
end

-- Run inside isolate: a transformer's state as text.
local function encode_state(ctx)
    return state.encode(ctx.state)
end

-- Every transformer's ctx.state as one text, for restore_state after a
-- restart. A state that cannot be saved is left out (that transformer starts
-- afresh after a restart), with a warning each time.
function Pipeline:save_state()
    local parts = {}
    for _, t in ipairs(self.transformers) do
        local ok, text, left = self.isolate(encode_state, t.ctx)
        if ok then
            parts[#parts + 1] = string.format("[%q]=%s,", t.name, text)
            if left > 0 then
                vlbimon.log("warn", string.format("transformer %s (%s): %d value(s) of its ctx.state "
                    .. "are not plain data and are not saved", t.name, t.file, left))
            end
        else
            vlbimon.log("warn", string.format("transformer %s (%s): its ctx.state is not saved, so "
                .. "after a restart it starts afresh: %s", t.name, t.file, tostring(text)))
        end
    end
    return "{" .. table.concat(parts) .. "}"
end

-- The states save_state wrote become the transformers' at the next load.
function Pipeline:restore_state(text)
    local ok, t = self.isolate(state.decode, text)
    if not ok then
        error(tostring(t), 0)
    end
    self.restored = t
end

function Pipeline:restore_status(rows)
    return self.status:restore(rows)
end

-- bridge_points per station and in total, bridge_totalLag, bridge_bridgeLag.
function Pipeline:add_metrics(counts, newest, now, fetch_seconds)
    local pts, t = self.points, floor(now)
    local total = 0
    for _, s in ipairs(counts) do
        pts:push(s, "bridge_points", t, counts[s])
        total = total + counts[s]
    end
    pts:push("bridge", "bridge_points", t, total)
    pts:push("bridge", "bridge_totalLag", t, newest and now - newest or 0)
    pts:push("bridge", "bridge_bridgeLag", t, fetch_seconds)
end

function Pipeline:run_transformers(now)
    local pts, isolate = self.points, self.isolate
    for _, tr in ipairs(self.transformers) do
        pts:begin(tr.view)
        self.npending = 0
        local ok, ret = isolate(call_transform, tr.transform, tr.view, tr.ctx, now)
        if ok then
            pts:commit()
            local pending = self.pending_status
            for k = 1, self.npending do
                self.status:update(pending[k][1], pending[k][2], now)
            end
        else
            pts:rollback()
            vlbimon.log("error", string.format("transformer %s (%s) failed; this snapshot goes on without its output: %s",
                tr.name, tr.file, tostring(ret)))
        end
        for k = 1, self.npending do
            self.pending_status[k] = nil
        end
        self.npending = 0
    end
end

-- The rows are the point columns themselves, handed over without a copy:
-- the result is only valid until the next run. The host groups them by
-- table in C (opts.group, src/host/rows.c), where that costs a fraction of a
-- loop here.
function Pipeline:finish(now)
    self:run_transformers(now)
    local pts = self.points
    local result = { n = pts.n, station = pts.station, param = pts.param, time = pts.time,
        value = pts.value, status = self.status:take_changed() }
    if self.group then
        self.group(result)
    end
    return result
end

-- JSON text of a snapshot → result, or nil and why when it is not a snapshot.
function Pipeline:run_json(text, now, fetch_seconds)
    self.points:clear()
    local counts, newest = self.flatten(text, self.points, self.only, now)
    if not counts then
        self.points:clear()
        return nil, newest
    end
    self:add_metrics(counts, newest, now, fetch_seconds)
    return self:finish(now)
end

-- Already-flattened points {{station, param, time, value}, ...} (e.g. from
-- downloaded history) → result. No bridge metrics: nothing was fetched.
function Pipeline:run_points(list, now)
    local pts, only = self.points, self.only
    pts:clear()
    local nbad, example = 0, nil
    for _, p in ipairs(list) do
        local s, t, v = p[1], int_time(p[3]), normal_value(p[4])
        if only and not only[s] then
            goto continue
        end
        if type(s) == "string" and s ~= "bridge" and good_name(pts, p[2]) and t and v ~= nil then
            pts:push(s, p[2], t, v)
        else
            nbad = nbad + 1
            example = example or string.format("%s %s %s", tostring(s), tostring(p[2]), tostring(p[3]))
        end
        ::continue::
    end
    if nbad > 0 then
        vlbimon.log("warn", string.format("points: %d dropped (bad station, parameter name, time or value; e.g. %s)", nbad, example))
    end
    return self:finish(now)
end

return M
