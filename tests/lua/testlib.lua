-- testlib.lua - a small assertion library for Lua tests run inside the real
-- host (`vlbimon_bridge run tests/lua/x_test.lua`). A failing check is
-- printed and counted; done() raises so the run exits non-zero.

local M = {}

local checks, failures = 0, 0

local function repr(v, depth)
    depth = depth or 0
    if type(v) == "string" then
        return string.format("%q", v)
    elseif type(v) ~= "table" or depth > 3 then
        return tostring(v)
    end
    local keys = {}
    for k in pairs(v) do
        keys[#keys + 1] = k
    end
    table.sort(keys, function(a, b)
        return tostring(a) < tostring(b)
    end)
    local parts = {}
    for _, k in ipairs(keys) do
        parts[#parts + 1] = "[" .. repr(k) .. "]=" .. repr(v[k], depth + 1)
    end
    return "{" .. table.concat(parts, ", ") .. "}"
end
M.repr = repr

local function deep_eq(a, b)
    if a == b then
        return true
    end
    if type(a) ~= "table" or type(b) ~= "table" then
        return false
    end
    for k, v in pairs(a) do
        if not deep_eq(v, b[k]) then
            return false
        end
    end
    for k in pairs(b) do
        if a[k] == nil then
            return false
        end
    end
    return true
end
M.deep_eq = deep_eq

local function record(pass, desc, detail)
    checks = checks + 1
    if pass then
        return true
    end
    failures = failures + 1
    local info = debug and debug.getinfo and debug.getinfo(3, "Sl")
    local where = info and (info.short_src .. ":" .. info.currentline .. ": ") or ""
    io.stderr:write("FAIL ", where, desc, "\n")
    if detail then
        io.stderr:write("  ", detail, "\n")
    end
    return false
end

function M.ok(cond, desc)
    return record(cond and true or false, desc)
end

function M.eq(got, want, desc)
    return record(deep_eq(got, want), desc, "got " .. repr(got) .. ", want " .. repr(want))
end

-- raises(fn, pattern, desc): fn must raise an error whose message matches pattern.
function M.raises(fn, pattern, desc)
    local ok, err = pcall(fn)
    if ok then
        return record(false, desc, "no error raised")
    end
    return record(tostring(err):find(pattern) ~= nil, desc, "error was: " .. tostring(err))
end

function M.done()
    if failures > 0 then
        error(string.format("%d of %d checks failed", failures, checks), 0)
    end
    print(string.format("%d checks passed", checks))
end

return M
