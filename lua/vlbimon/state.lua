-- state.lua - the transformers' ctx.state as text and back. The bridge's
-- backfill saves its transformers' state with every backfill commit, so that
-- after a restart they go on from the state they had at the backfill cursor
-- (docs/transformers.md, "Late and out-of-order points"). Plain data only:
-- tables whose keys and values are strings, numbers, booleans or such tables.
-- Anything else (a function, a coroutine) is left out and counted. A table
-- reached twice (a cycle, or one shared by two fields) is an error: text
-- cannot say it. Access is raw throughout, so no metamethod of a state runs.
local M = {}

local type, next, format, concat = type, next, string.format, table.concat

local MAX_DEPTH = 64
local SCALAR = { string = true, number = true, boolean = true }

local function put(v, out, seen, depth, left)
    if SCALAR[type(v)] then
        -- %q writes numbers exactly (floats in hexadecimal) and integers as integers.
        out[#out + 1] = format("%q", v)
        return
    end
    if seen[v] then
        error("ctx.state reaches one table twice (a cycle, or a shared table); it cannot be saved", 0)
    end
    if depth > MAX_DEPTH then
        error("ctx.state is nested more than " .. MAX_DEPTH .. " tables deep; it cannot be saved", 0)
    end
    seen[v] = true
    out[#out + 1] = "{"
    for k, x in next, v do
        if SCALAR[type(k)] and (SCALAR[type(x)] or type(x) == "table") then
            out[#out + 1] = "["
            put(k, out, seen, depth + 1, left)
            out[#out + 1] = "]="
            put(x, out, seen, depth + 1, left)
            out[#out + 1] = ","
        else
            left.n = left.n + 1
        end
    end
    out[#out + 1] = "}"
end

-- Lua text for the table t, and how many of its entries were left out.
function M.encode(t)
    if type(t) ~= "table" then
        error("ctx.state is a " .. type(t) .. ", not a table", 0)
    end
    local out, left = {}, { n = 0 }
    put(t, out, {}, 1, left)
    return concat(out), left.n
end

-- The table M.encode wrote, or raises. The text runs with no globals at all.
function M.decode(text)
    local chunk, err = load("return " .. text, "=saved state", "t", {})
    if not chunk then
        error("the saved state is not a state: " .. err, 0)
    end
    local t = chunk()
    if type(t) ~= "table" then
        error("the saved state is not a table", 0)
    end
    return t
end

return M
