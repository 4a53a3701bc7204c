-- migrate_test.lua - the migrations on databases as the original left them
-- (tests/fixtures/migrations): each stage is recognised, migrates to exactly
-- the fresh initdb schema with every row kept, and refusals change nothing.
local T = require "testlib"
local vlbimon = require "vlbimon"
local migrate = require "vlbimon.migrate"

local root = vlbimon.root()
local history = dofile(root .. "/tests/fixtures/migrations/history.lua")

local FILES = { "00-fix-bug-azelalt.lua", "01-create-remo.lua", "02-fix-bridges.lua", "03-match-initdb.lua",
    "04-series-v2.lua", "05-backfill-series.lua" }
local list = migrate.load(root .. "/migrations", FILES)
local IGNORE = { [migrate.RECORD_TABLE] = true }

local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("a")
    f:close()
    return s
end

local tmp = os.tmpname()
os.remove(tmp)
local n = 0
local function fixture_db(stage)
    n = n + 1
    local path = string.format("%s-%d.db", tmp, n)
    local db = vlbimon.open(path, { create = true })
    db:exec(read(root .. "/tests/fixtures/migrations/" .. stage .. ".sql"))
    return db, path
end

local function cleanup(path)
    for _, suffix in ipairs({ "", "-wal", "-shm", "-journal" }) do
        os.remove(path .. suffix)
    end
end

-- The rows of tbl, only columns cols (default: all), in a stable order.
local function rows(db, tbl, cols)
    assert(vlbimon.is_identifier(tbl))
    local list = "*"
    if cols then
        for _, c in ipairs(cols) do
            assert(vlbimon.is_identifier(c))
        end
        list = table.concat(cols, ", ")
    end
    local out = {}
    for _, c1, c2, c3, c4, c5, c6, c7, c8, c9 in db:rows("SELECT " .. list .. " FROM " .. tbl .. " ORDER BY 1, 2, 3") do
        out[#out + 1] = { c1, c2, c3, c4, c5, c6, c7, c8, c9 }
    end
    return out
end

local function states(db)
    local out = {}
    for i, s in ipairs(migrate.status(db, list)) do
        out[i] = s.state
    end
    return out
end

local fresh = migrate.fresh()
local want = migrate.describe(fresh)

local EXPECT = {
    ["before-00"] = { "old", "waiting", "waiting", "waiting", "waiting", "waiting" },
    ["before-01"] = { "new", "old", "waiting", "waiting", "waiting", "waiting" },
    ["before-02"] = { "new", "new", "old", "waiting", "waiting", "waiting" },
    ["after-02"] = { "new", "new", "new", "old", "waiting", "waiting" },
    ["after-03"] = { "new", "new", "new", "new", "old", "waiting" },
}
local ALL_NEW = { "new", "new", "new", "new", "new", "new" }

for _, stage in ipairs(history.STAGES) do
    local db, path = fixture_db(stage)
    local orig, opath = fixture_db(stage)
    T.eq(states(db), EXPECT[stage], stage .. ": status finds the stage")
    T.ok(#migrate.diff(migrate.describe(db), want) > 0, stage .. ": differs from a fresh schema")
    for _, s in ipairs(migrate.status(db, list)) do
        if s.state ~= "new" then
            migrate.apply(db, s.m)
        end
    end
    T.eq(states(db), ALL_NEW, stage .. ": every migration applied")
    T.eq(migrate.diff(migrate.describe(db, IGNORE), want), {}, stage .. ": schema is exactly initdb's")
    local recorded = {}
    for r in db:rows("SELECT name FROM bridge_migrations ORDER BY name") do
        recorded[#recorded + 1] = r.name
    end
    local applied = {}
    for i, st in ipairs(EXPECT[stage]) do
        if st ~= "new" then
            applied[#applied + 1] = list[i].name
        end
    end
    T.eq(recorded, applied, stage .. ": the applied migrations are recorded")
    local kept, total = true, 0
    for _, t in ipairs(history.stage(stage)) do
        local before = rows(orig, t.name)
        total = total + #before
        local cols = {}
        for i, c in ipairs(migrate.describe_table(orig, t.name).columns) do
            cols[i] = (t.fresh_columns or {})[c.name] or c.name
        end
        if not migrate.same(rows(db, t.fresh, cols), before) then
            kept = false
            io.stderr:write(stage, ": rows of ", t.name, " differ in ", t.fresh, "\n")
        end
    end
    T.ok(kept and total > 50, stage .. ": all " .. total .. " rows kept, row for row")
    db:close()
    orig:close()
    cleanup(path)
    cleanup(opath)
end

-- A fresh database: nothing to do, and every fix refuses.
T.eq(states(fresh), ALL_NEW, "fresh: every migration is new")
for _, m in ipairs(list) do
    T.raises(function()
        m.fix(fresh)
    end, "refusing to fix: the database is new", "fresh: " .. m.name .. " refuses")
end

-- 02 on a database that 01 never reached is partial, and refuses untouched.
do
    local db, path = fixture_db("before-01")
    local st, details = list[3].check(db)
    T.eq(st, "partial", "02 before 01 is partial")
    T.ok(table.concat(details, "\n"):find("neither ts_param_bridgeLag nor ts_param_bridge_bridgeLag exists", 1, true),
        "naming what is missing")
    local before = migrate.describe(db)
    T.raises(function()
        migrate.apply(db, list[3])
    end, "refusing to fix", "apply refuses a partial database")
    T.ok(migrate.same(migrate.describe(db), before), "and changes nothing")
    db:close()
    cleanup(path)
end

-- A migration failing half-way leaves schema and rows as they were.
do
    local db, path = fixture_db("after-02")
    local broken = migrate.define {
        description = "renames, then fails",
        steps = {
            migrate.rename_series("windGust", "bridge_windGust"),
            migrate.drop_index("idx_ts_param_schedule_time"),
            { state = function() return "old", "fails" end, apply = function() error("injected failure") end },
        },
    }
    broken.name = "99-broken"
    local before, data = migrate.describe(db), rows(db, "ts_param_windGust")
    T.raises(function()
        migrate.apply(db, broken)
    end, "injected failure", "the failure is raised")
    T.ok(migrate.same(migrate.describe(db), before), "the schema is as before")
    T.eq(rows(db, "ts_param_windGust"), data, "the rows are as before")
    T.ok(not migrate.has_table(db, migrate.RECORD_TABLE), "nothing is recorded")
    db:close()
    cleanup(path)
end

-- Names are checked before they reach SQL.
T.raises(function()
    migrate.rename_series("x; DROP TABLE y", "z")
end, "is not an SQL identifier", "rename_series refuses a non-identifier")
T.raises(function()
    migrate.add_column("t", { name = "c", type = "TEXT); DROP TABLE t; --" })
end, "unknown SQL type", "add_column refuses an unknown type")
T.raises(function()
    migrate.find(list, "0")
end, "ambiguous migration", "a prefix must be unique")
T.eq(migrate.find(list, "02").name, "02-fix-bridges", "a unique prefix names a migration")

fresh:close()
T.done()
