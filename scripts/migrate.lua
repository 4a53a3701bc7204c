-- migrate.lua - `vlbimon_bridge migrate`: report on and apply the schema
-- migrations in migrations/ (see lua/vlbimon/migrate.lua).
--
--   vlbimon_bridge run scripts/migrate.lua [--no-backup] [--migrations DIR] DB status
--   ... DB check [NAME]
--   ... DB fix [NAME|all]
local vlbimon = require "vlbimon"
local migrate = require "vlbimon.migrate"

local args = { ... }
local backup, dir = true, vlbimon.root() .. "/migrations"
local pos = {}
local i = 1
while i <= #args do
    local a = args[i]
    if a == "--no-backup" then
        backup = false
    elseif a == "--migrations" then
        i = i + 1
        dir = args[i] or error("--migrations needs a directory", 0)
    else
        pos[#pos + 1] = a
    end
    i = i + 1
end
local path, verb, name = pos[1], pos[2], pos[3]
if not path or not verb or #pos > 3 then
    error("usage: migrate.lua [--no-backup] [--migrations DIR] DB (status | check [NAME] | fix [NAME|all])", 0)
end

local list = migrate.load(dir)
if #list == 0 then
    error("no migrations in " .. dir, 0)
end

local function when(t)
    return t and vlbimon.iso8601(t) or "-"
end

local function show_details(details)
    for _, d in ipairs(details) do
        print("  " .. d)
    end
end

local function status(db)
    local applied = migrate.applied(db)
    local width = 0
    for _, m in ipairs(list) do
        width = math.max(width, #m.name)
    end
    for _, s in ipairs(migrate.status(db, list)) do
        print(string.format("%-" .. width .. "s  %-7s  %-20s  %s", s.m.name, s.state,
            when(applied[s.m.name]), s.m.description))
    end
end

local function check(db)
    if name then
        local m = migrate.find(list, name)
        local st, details = m.check(db)
        print(m.name .. ": " .. st)
        show_details(details)
        return
    end
    local todo = {}
    for _, s in ipairs(migrate.status(db, list)) do
        print(s.m.name .. ": " .. s.state)
        if s.state == "old" or s.state == "partial" then
            show_details(s.details)
        end
        if s.state ~= "new" then
            todo[#todo + 1] = s
        end
    end
    if #todo == 0 then
        print("nothing to do: the database has the current schema")
    elseif todo[1].state == "partial" then
        print(todo[1].m.name .. " is partly applied, so fix refuses; restore a backup or repair by hand")
    else
        print(string.format("%d to apply: vlbimon_bridge migrate --sqlitedb %s fix", #todo, path))
    end
end

local function refuse(s)
    error(string.format("refusing to fix %s: the database is %s, not old\n  %s", s.m.name, s.state,
        table.concat(s.details, "\n  ")), 0)
end

local function apply(db, m, with_backup)
    local dest = with_backup and backup and path .. ".pre-" .. m.name or nil
    migrate.apply(db, m, { backup = dest, progress = print })
    if dest then
        print(m.name .. ": backup in " .. dest)
    end
    print(m.name .. ": applied")
end

local function fix(db)
    local states = migrate.status(db, list)
    if name and name ~= "all" then
        local m = migrate.find(list, name)
        for _, s in ipairs(states) do
            if s.m == m then
                break
            elseif s.state ~= "new" then
                error(string.format("refusing to fix %s: apply %s (%s) first", m.name, s.m.name, s.state), 0)
            end
        end
        local st, details = m.check(db)
        if st ~= "old" then
            refuse({ m = m, state = st, details = details })
        end
        apply(db, m, true)
        return
    end
    local first = true
    for _, s in ipairs(states) do
        if s.state ~= "new" then
            -- The later ones were "waiting": judge each once its predecessors are applied.
            local st, details = s.m.check(db)
            if st ~= "old" then
                refuse({ m = s.m, state = st, details = details })
            end
            apply(db, s.m, first)
            first = false
        end
    end
    if first then
        error("refusing to fix: nothing to do, every migration is already applied", 0)
    end
    print("the database has the current schema")
end

local actions = { status = status, check = check, fix = fix }
local action = actions[verb] or error("unknown command " .. verb .. " (status, check or fix)", 0)
if verb ~= "fix" and verb ~= "check" and name then
    error(verb .. " takes no migration name", 0)
end
local db = vlbimon.open(path, { readonly = verb ~= "fix" })
action(db)
db:close()
