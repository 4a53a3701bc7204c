-- vlbimon.migrate - schema migrations for databases made by older bridges.
--
-- A migration (migrations/NN-name.lua) is a module with a description,
-- check(db) and fix(db). Most are a list of the steps below, put together by
-- migrate.define, so that one declaration gives both the check (every step
-- must find its "old" state before anything is changed) and the fix.
--
-- A step looks for its objects under their later names too: 01 creates
-- ts_param_totalLag, which 02 renames to ts_param_bridge_totalLag, and 01
-- must still count as applied on such a database. The runner (load) tells
-- each migration the table renames that come after it.
--
-- Names reach SQL text only after vlbimon.is_identifier; values are bound.

local vlbimon = require "vlbimon"

local M = {}

-- The table that records applied migrations. It is bookkeeping, not part of
-- the schema Grafana reads, so schema comparisons leave it out (docs/schema.md).
M.RECORD_TABLE = "bridge_migrations"

local SQL_TYPES = { TEXT = true, REAL = true, INTEGER = true, BOOLEAN = true }

local function ident(name)
    if not vlbimon.is_identifier(name) then
        error(string.format("%q is not an SQL identifier; refusing to use it", tostring(name)), 3)
    end
    return name
end

local function has_table(db, name)
    return db:first("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", name) ~= nil
end
M.has_table = has_table

local function has_index(db, name)
    return db:first("SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?", name) ~= nil
end
M.has_index = has_index

local function has_column(db, tbl, col)
    return db:first("SELECT 1 FROM pragma_table_info(?) WHERE name = ?", tbl, col) ~= nil
end

-- The first existing table among name and its later names, or nil.
local function find_table(db, name, aliases)
    for _, n in ipairs(aliases(name)) do
        if has_table(db, n) then
            return n
        end
    end
    return nil
end

local function no_aliases(name)
    return { name }
end

-- One table's shape as SQLite reports it: columns in order with type,
-- NOT NULL, default and primary-key position; indexes by name with
-- uniqueness, origin, partiality and indexed columns; WITHOUT ROWID or not. Comparing these
-- (rather than CREATE text) ignores quoting and spacing that ALTER TABLE
-- leaves behind.
local function describe_table(db, name)
    local list = db:first("SELECT wr FROM pragma_table_list(?)", name)
    local t = { columns = {}, indexes = {}, without_rowid = list and list.wr }
    for r in db:rows("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid", name) do
        t.columns[#t.columns + 1] = {
            name = r.name, type = r.type, notnull = r.notnull, default = r.dflt_value, pk = r.pk,
        }
    end
    for r in db:rows("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)", name) do
        local cols = {}
        for c in db:rows("SELECT name FROM pragma_index_info(?) ORDER BY seqno", r.name) do
            cols[#cols + 1] = c.name
        end
        t.indexes[r.name] = { unique = r.unique, origin = r.origin, partial = r.partial, columns = cols }
    end
    return t
end
M.describe_table = describe_table

-- Every table but SQLite's own and those in ignore (a set of names).
function M.describe(db, ignore)
    local d = {}
    for _, name in ipairs(db:tables()) do
        if not (ignore and ignore[name]) then
            d[name] = describe_table(db, name)
        end
    end
    return d
end

-- An in-memory database with the schema initdb makes today.
function M.fresh()
    local db = vlbimon.open(":memory:", { create = true })
    db:exec(vlbimon.schema_sql())
    return db
end

local function same(a, b)
    if type(a) ~= "table" or type(b) ~= "table" then
        return a == b
    end
    for k, v in pairs(a) do
        if not same(v, b[k]) then
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
M.same = same

-- Differences between two describe() results, one line each, sorted.
function M.diff(got, want)
    local out = {}
    for name, t in pairs(want) do
        local g = got[name]
        if not g then
            out[#out + 1] = "missing table " .. name
        else
            if not same(g.columns, t.columns) then
                out[#out + 1] = "columns differ in " .. name
            end
            if g.without_rowid ~= t.without_rowid then
                out[#out + 1] = "WITHOUT ROWID differs in " .. name
            end
            for iname, i in pairs(t.indexes) do
                if not g.indexes[iname] then
                    out[#out + 1] = "missing index " .. iname
                elseif not same(g.indexes[iname], i) then
                    out[#out + 1] = "index differs: " .. iname
                end
            end
            for iname in pairs(g.indexes) do
                if not t.indexes[iname] then
                    out[#out + 1] = "extra index " .. iname
                end
            end
        end
    end
    for name in pairs(got) do
        if not want[name] then
            out[#out + 1] = "extra table " .. name
        end
    end
    table.sort(out)
    return out
end

local function create_series(db, name, sqltype)
    db:exec(vlbimon.series_sql(name, sqltype))
end

local function series_indexes(db, name)
    ident(name)
    db:exec(string.format("CREATE INDEX idx_ts_param_%s_time ON ts_param_%s(time)", name, name))
    db:exec(string.format("CREATE INDEX idx_ts_param_%s_station ON ts_param_%s(station)", name, name))
end

-- Steps. state(db, aliases) returns "old", "new" or "other" and a sentence.

-- Renames series ts_param_<from> to ts_param_<to>; the two indexes of a v1
-- table (docs/schema.md) are made again under the new name.
function M.rename_series(from, to)
    ident(from)
    ident(to)
    local old, new = "ts_param_" .. from, "ts_param_" .. to
    return {
        renames = { { from = old, to = new } },
        state = function(db, aliases)
            local o, n = has_table(db, old), find_table(db, new, aliases)
            if o and not n then
                return "old", old .. " is still to be renamed to " .. new
            elseif n and not o then
                return "new", old .. " is renamed to " .. n
            elseif o then
                return "other", "both " .. old .. " and " .. n .. " exist"
            end
            return "other", "neither " .. old .. " nor " .. new .. " exists"
        end,
        apply = function(db)
            local v1 = not has_column(db, old, "seq")
            db:exec(string.format("ALTER TABLE %s RENAME TO %s", old, new))
            db:exec(string.format("DROP INDEX IF EXISTS idx_%s_time", old))
            db:exec(string.format("DROP INDEX IF EXISTS idx_%s_station", old))
            if v1 then
                series_indexes(db, to)
            end
        end,
    }
end

-- Renames a table that is not a series (its automatic indexes follow it).
function M.rename_table(from, to)
    ident(from)
    ident(to)
    return {
        renames = { { from = from, to = to } },
        state = function(db, aliases)
            local o, n = has_table(db, from), find_table(db, to, aliases)
            if o and not n then
                return "old", from .. " is still to be renamed to " .. to
            elseif n and not o then
                return "new", from .. " is renamed to " .. n
            elseif o then
                return "other", "both " .. from .. " and " .. n .. " exist"
            end
            return "other", "neither " .. from .. " nor " .. to .. " exists"
        end,
        apply = function(db)
            db:exec(string.format("ALTER TABLE %s RENAME TO %s", from, to))
        end,
    }
end

-- Creates series ts_param_<name> of sqltype with its indexes.
function M.add_series(name, sqltype)
    ident(name)
    assert(SQL_TYPES[sqltype], "unknown SQL type " .. tostring(sqltype))
    local tbl = "ts_param_" .. name
    return {
        state = function(db, aliases)
            local n = find_table(db, tbl, aliases)
            if n then
                return "new", n .. " exists"
            end
            return "old", tbl .. " is still to be created"
        end,
        apply = function(db)
            create_series(db, name, sqltype)
        end,
    }
end

-- Column declarations from code: a type, optional NOT NULL, optional default
-- made of letters, digits and spaces (quoted here, since DDL cannot bind).
local function column_decl(col)
    ident(col.name)
    assert(SQL_TYPES[col.type], "unknown SQL type " .. tostring(col.type))
    local decl = col.name .. " " .. col.type
    if col.not_null then
        decl = decl .. " NOT NULL"
    end
    if col.default then
        assert(col.default:match("^[%w ]*$"), "unsupported default " .. col.default)
        decl = decl .. " DEFAULT '" .. col.default .. "'"
    end
    return decl
end

-- Creates a table from column declarations, with plain indexes
-- idx_<table>_<column> on the listed columns.
function M.create_table(name, columns, indexed)
    ident(name)
    local decls = {}
    for i, c in ipairs(columns) do
        decls[i] = column_decl(c)
    end
    return {
        state = function(db, aliases)
            local n = find_table(db, name, aliases)
            if n then
                return "new", n .. " exists"
            end
            return "old", name .. " is still to be created"
        end,
        apply = function(db)
            db:exec(string.format("CREATE TABLE %s (%s)", name, table.concat(decls, ", ")))
            for _, c in ipairs(indexed or {}) do
                ident(c)
                db:exec(string.format("CREATE INDEX idx_%s_%s ON %s(%s)", name, c, name, c))
            end
        end,
    }
end

-- Adds a column ({name=, type=, not_null=, default=}) to a table.
function M.add_column(tbl, col)
    ident(tbl)
    local decl = column_decl(col)
    return {
        state = function(db, aliases)
            local t = find_table(db, tbl, aliases)
            if not t then
                return "other", "table " .. tbl .. " does not exist"
            elseif has_column(db, t, col.name) then
                return "new", t .. " has column " .. col.name
            end
            return "old", t .. " is still to get column " .. col.name
        end,
        apply = function(db)
            db:exec(string.format("ALTER TABLE %s ADD COLUMN %s", tbl, decl))
        end,
    }
end

function M.rename_column(tbl, from, to)
    ident(tbl)
    ident(from)
    ident(to)
    return {
        state = function(db, aliases)
            local t = find_table(db, tbl, aliases)
            if not t then
                return "other", "table " .. tbl .. " does not exist"
            end
            local o, n = has_column(db, t, from), has_column(db, t, to)
            if o and not n then
                return "old", t .. "." .. from .. " is still to be renamed to " .. to
            elseif n and not o then
                return "new", t .. "." .. from .. " is renamed to " .. to
            end
            return "other", t .. " has " .. (o and "both " or "neither ") .. from .. " and " .. to
        end,
        apply = function(db)
            db:exec(string.format("ALTER TABLE %s RENAME COLUMN %s TO %s", tbl, from, to))
        end,
    }
end

function M.drop_index(name)
    ident(name)
    return {
        state = function(db)
            if has_index(db, name) then
                return "old", "index " .. name .. " is still to be dropped"
            end
            return "new", "index " .. name .. " is gone"
        end,
        apply = function(db)
            db:exec(string.format("DROP INDEX %s", name))
        end,
    }
end

-- Rebuilds table tbl as initdb creates it today, keeping its rows. The only
-- way to change a column's declaration (e.g. drop a DEFAULT) in SQLite.
function M.rebuild_as_fresh(tbl)
    ident(tbl)
    local target
    local function fresh_table()
        if not target then
            local f = M.fresh()
            target = {
                shape = describe_table(f, tbl),
                sql = f:first("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", tbl).sql,
            }
            f:close()
        end
        return target
    end
    return {
        state = function(db, aliases)
            local t = find_table(db, tbl, aliases)
            if not t then
                return "other", "table " .. tbl .. " does not exist"
            elseif same(describe_table(db, t), fresh_table().shape) then
                return "new", t .. " is as initdb makes it"
            end
            return "old", t .. " is still to be rebuilt as initdb makes it"
        end,
        apply = function(db)
            local old = ident(tbl .. "_pre_rebuild")
            local cols = {}
            for _, c in ipairs(fresh_table().shape.columns) do
                if has_column(db, tbl, c.name) then
                    cols[#cols + 1] = ident(c.name)
                end
            end
            db:exec(string.format("ALTER TABLE %s RENAME TO %s", tbl, old))
            db:exec(fresh_table().sql)
            local list = table.concat(cols, ", ")
            db:exec(string.format("INSERT INTO %s (%s) SELECT %s FROM %s", tbl, list, list, old))
            db:exec(string.format("DROP TABLE %s", old))
        end,
    }
end

-- The layout of table tbl as a series table (docs/schema.md): "v1", the
-- columns time, station and value; "v2", the same and seq; "other" for a
-- ts_param_ table with a station column but other columns; nil for any other
-- table (the schedule has no station). The second result lists its columns.
-- Through db:columns, so it reads a PostgreSQL database too, whose series
-- tables have v1's columns.
function M.series_layout(db, tbl)
    local cols, station = db:columns(tbl), false
    for _, c in ipairs(cols) do
        station = station or c == "station"
    end
    local list = table.concat(cols, ", ")
    if tbl:sub(1, 9) ~= "ts_param_" or not station then
        return nil, list
    elseif list == "time, station, value" then
        return "v1", list
    elseif list == "time, station, value, seq" then
        return "v2", list
    end
    return "other", list
end

-- The series tables by layout, each list in name order.
local function series_layouts(db)
    local found = { v1 = {}, v2 = {}, other = {} }
    for _, tbl in ipairs(db:tables()) do
        local layout, list = M.series_layout(db, tbl)
        if layout == "other" then
            table.insert(found.other, tbl .. " (" .. list .. ")")
        elseif layout then
            table.insert(found[layout], tbl)
        end
    end
    return found
end

-- Rebuilds v1 series table tbl in the v2 layout, keeping every row exactly:
-- the rows wait in a temporary table without column types (so nothing is
-- converted on the way) while the table is made again by initdb's own SQL,
-- and come back with seq 0, or, when two share a time and station,
-- numbered in the order they were stored (rowid). A temporary copy rather
-- than ALTER TABLE ... RENAME, which parses the whole schema each time: 12
-- ms a table, more than a small table's rows take. Returns the rows.
local function rebuild_v2(db, tbl)
    ident(tbl)
    local v = db:first("SELECT type FROM pragma_table_info(?) WHERE name = 'value'", tbl)
    if not SQL_TYPES[v.type] then
        error(string.format("its value column is %s, none of TEXT, REAL, INTEGER and BOOLEAN "
            .. "(docs/schema.md); make it the one its values are", v.type), 0)
    end
    db:exec("CREATE TEMP TABLE vb_rebuild (time, station, value)")
    db:exec(string.format("INSERT INTO temp.vb_rebuild SELECT time, station, value FROM %s ORDER BY rowid", tbl))
    db:exec(string.format("DROP TABLE %s", tbl))
    db:exec(vlbimon.series_sql(tbl:sub(#"ts_param_" + 1), v.type))
    local into = string.format("INSERT INTO %s (time, station, value, seq) ", tbl)
    local ok, n = pcall(db.exec, db, into .. "SELECT time, station, value, 0 FROM temp.vb_rebuild")
    if not ok and tostring(n):find("UNIQUE constraint failed", 1, true) then
        n = db:exec(into .. "SELECT time, station, value, row_number() OVER (PARTITION BY time, station "
            .. "ORDER BY rowid) - 1 FROM temp.vb_rebuild")
    elseif not ok then
        error(n, 0)
    end
    db:exec("DROP TABLE temp.vb_rebuild")
    return n
end

-- A migration that rebuilds every v1 series table in the v2 layout, one
-- table per transaction (units, which M.apply runs), so that an interrupted
-- fix leaves a consistent database and the next one goes on where it
-- stopped: a database with tables of both layouts is "old", not "partial".
-- A series table of neither layout is "partial": it needs a person.
function M.series_v2(spec)
    assert(type(spec.description) == "string", "a migration needs a description")
    local m = { description = spec.description }
    function m.check(db)
        local found = series_layouts(db)
        if #found.other > 0 then
            local details = {}
            for i, t in ipairs(found.other) do
                details[i] = "other: " .. t .. " is a series table of neither layout"
            end
            return "partial", details
        elseif #found.v1 == 0 then
            return "new", { "new: every series table has the v2 layout" }
        end
        return "old", { string.format("old: %d series table(s) still to be rebuilt in the v2 layout "
            .. "(%s first), %d rebuilt", #found.v1, found.v1[1], #found.v2) }
    end
    -- The tables still to do: {name=, work=<its cost in rows copied, roughly>,
    -- apply=function(db) -> rows copied}. The rows of a table the bridge
    -- only ever appended to number max(rowid); its transaction and schema
    -- changes cost about as much as 2,000 rows more.
    function m.units(db)
        local units = {}
        for i, tbl in ipairs(series_layouts(db).v1) do
            units[i] = {
                name = tbl,
                work = 2000 + db:first(string.format("SELECT coalesce(max(rowid), 0) AS n FROM %s", ident(tbl))).n,
                apply = function(d)
                    return rebuild_v2(d, tbl)
                end,
            }
        end
        return units
    end
    function m.fix(db)
        local st, details = m.check(db)
        if st ~= "old" then
            error("refusing to fix: the database is " .. st .. "\n  " .. table.concat(details, "\n  "), 0)
        end
        for _, u in ipairs(m.units(db)) do
            u.apply(db)
        end
    end
    return m
end

-- Combines steps into a migration module. check(db [, aliases]) is "old"
-- when every step finds its old state, "new" when every step finds its new
-- one, else "partial"; the second result lists what each step found. With
-- spec.any_old, "old" needs only one step in its old state and none in
-- neither (for clean-ups whose objects may already be right). fix(db)
-- refuses unless check says "old", then applies the old steps in order.
function M.define(spec)
    assert(type(spec.description) == "string", "a migration needs a description")
    local renames = {}
    for _, s in ipairs(spec.steps) do
        for _, r in ipairs(s.renames or {}) do
            renames[#renames + 1] = r
        end
    end
    local m = { description = spec.description, renames = renames }
    function m.check(db, aliases)
        aliases = aliases or m.aliases or no_aliases
        local count, details, states = { old = 0, new = 0, other = 0 }, {}, {}
        for i, s in ipairs(spec.steps) do
            local st, what = s.state(db, aliases)
            count[st] = count[st] + 1
            states[i] = st
            details[i] = st .. ": " .. what
        end
        local n = #spec.steps
        if count.new == n then
            return "new", details, states
        elseif count.old == n or (spec.any_old and count.other == 0) then
            return "old", details, states
        end
        return "partial", details, states
    end
    function m.fix(db)
        local st, details, states = m.check(db)
        if st ~= "old" then
            error("refusing to fix: the database is " .. st .. "\n  " .. table.concat(details, "\n  "), 0)
        end
        for i, s in ipairs(spec.steps) do
            if states[i] == "old" then
                s.apply(db)
            end
        end
    end
    return m
end

-- The migrations in dir (or only the given files of it), in name order:
-- {name=, description=, check=, fix=}. Each learns the table renames of the
-- migrations after it (see the top). Listing a directory needs vlbimon.fs,
-- which the host's own commands preload. Each file runs in a sandbox of its
-- own, like a transformer.
function M.load(dir, files)
    files = files or require("vlbimon.fs").dir(dir)
    table.sort(files)
    local list = {}
    for _, file in ipairs(files) do
        local name = file:match("^(.+)%.lua$")
        if name then
            local chunk, err = loadfile(dir .. "/" .. file, "t", vlbimon.sandbox())
            if not chunk then
                error(err, 0)
            end
            local m = chunk()
            if type(m) ~= "table" or type(m.description) ~= "string" or type(m.check) ~= "function"
                or type(m.fix) ~= "function" then
                error(file .. ": a migration must return a table with description, check and fix", 0)
            end
            m.name = name
            list[#list + 1] = m
        end
    end
    for i, m in ipairs(list) do
        local later = {}
        for j = i + 1, #list do
            for _, r in ipairs(list[j].renames or {}) do
                later[#later + 1] = r
            end
        end
        m.aliases = function(name)
            local names, cur = { name }, name
            for _, r in ipairs(later) do
                if r.from == cur then
                    cur = r.to
                    names[#names + 1] = cur
                end
            end
            return names
        end
    end
    return list
end

local function record_table(db)
    db:exec(string.format("CREATE TABLE IF NOT EXISTS %s (name TEXT NOT NULL PRIMARY KEY, "
        .. "applied INTEGER NOT NULL, description TEXT NOT NULL)", M.RECORD_TABLE))
end

-- name -> unix time it was applied, from the record table (if any).
function M.applied(db)
    local out = {}
    if has_table(db, M.RECORD_TABLE) then
        for r in db:rows(string.format("SELECT name, applied FROM %s", M.RECORD_TABLE)) do
            out[r.name] = r.applied
        end
    end
    return out
end

-- Each migration's state in order. After the first one that is not "new",
-- the rest are "waiting": their checks assume the earlier ones were applied.
function M.status(db, list)
    local out, pending = {}, nil
    for i, m in ipairs(list) do
        if pending then
            out[i] = { m = m, state = "waiting", details = { "waiting for " .. pending } }
        else
            local st, details = m.check(db)
            out[i] = { m = m, state = st, details = details }
            if st ~= "new" then
                pending = m.name
            end
        end
    end
    return out
end

function M.find(list, name)
    local hits = {}
    for _, m in ipairs(list) do
        if m.name == name then
            return m
        elseif m.name:sub(1, #name) == name then
            hits[#hits + 1] = m
        end
    end
    if #hits == 1 then
        return hits[1]
    end
    local names = {}
    for i, m in ipairs(list) do
        names[i] = m.name
    end
    error(string.format("%s migration %q (choose from %s)", #hits == 0 and "no" or "ambiguous",
        name, table.concat(names, ", ")), 0)
end

local function exists(path)
    local f = io.open(path, "rb")
    if f then
        f:close()
    end
    return f ~= nil
end

local function record(db, m)
    record_table(db)
    db:exec(string.format("INSERT OR REPLACE INTO %s VALUES (?, ?, ?)", M.RECORD_TABLE),
        m.name, os.time(), m.description)
end

local function fail_unless_new(db, m)
    local st, details = m.check(db)
    if st ~= "new" then
        error(m.name .. ": after fix the database is " .. st .. ", not new\n  "
            .. table.concat(details, "\n  "), 0)
    end
end

-- "1 h 02 min", "3 min 07 s", "12 s".
local function duration(s)
    s = math.floor(s + 0.5)
    if s >= 3600 then
        return string.format("%d h %02d min", s // 3600, s % 3600 // 60)
    elseif s >= 60 then
        return string.format("%d min %02d s", s // 60, s % 60)
    end
    return s .. " s"
end

-- A migration with units (M.series_v2): each unit in a transaction of its
-- own, the last one with the check and the record. A progress line after
-- the first unit and then at most one a second: tables and rows done, and
-- the time left at the rate so far. The backup is written under another
-- name and renamed when complete, so that one of the final name is whole:
-- left by a fix that was interrupted, it is the database as it was before
-- this migration began, and is kept.
local function apply_units(db, m, opts)
    local made
    if opts.backup and exists(opts.backup) then
        opts.progress(string.format("%s: continuing; %s, from before it began, is kept", m.name, opts.backup))
    elseif opts.backup then
        local part = opts.backup .. ".part"
        os.remove(part)
        db:backup(part)
        local ok, err = os.rename(part, opts.backup)
        if not ok then
            error(err, 0)
        end
        made = opts.backup
    end
    local units = m.units(db)
    local total = 0
    for _, u in ipairs(units) do
        total = total + u.work
    end
    local t0 = vlbimon.now()
    local shown, rows, worked = t0, 0, 0
    for i, u in ipairs(units) do
        local ok, n = pcall(db.transaction, db, function()
            local copied = u.apply(db)
            if i == #units then
                fail_unless_new(db, m)
                record(db, m)
            end
            return copied
        end)
        if not ok then
            if made and i == 1 then
                os.remove(made)
            end
            error(string.format("%s: %s: %s\n  %d of %d table(s) done; fix again to go on", m.name, u.name,
                n, i - 1, #units), 0)
        end
        rows, worked = rows + n, worked + u.work
        local now = vlbimon.now()
        if i == 1 or i == #units or now - shown >= 1 then
            shown = now
            local line = string.format("%s: %d/%d tables, %d rows in %s", m.name, i, #units, rows,
                duration(now - t0))
            if i < #units then
                line = line .. string.format(", about %s left", duration((now - t0) * (total - worked) / worked))
            elseif i == #units and now > t0 then
                line = line .. string.format(" (%.0f rows/s)", rows / (now - t0))
            end
            opts.progress(line)
        end
    end
end

-- Applies migration m: an optional online backup to opts.backup, then one
-- transaction with check, fix, a check that the result is "new", and the
-- record. Any error rolls everything back and removes the backup, which then
-- equals the database. The backup is taken before the transaction because
-- SQLite's backup API cannot read from a connection that is writing; the
-- bridge should be stopped while such a migration runs (docs/commands.md),
-- so nothing is written in between. A migration with units (M.series_v2)
-- runs as apply_units says, reporting its progress to opts.progress (a
-- function of one line); the bridge may write meanwhile.
function M.apply(db, m, opts)
    opts = opts or {}
    if m.units then
        return apply_units(db, m, { backup = opts.backup, progress = opts.progress or function() end })
    end
    if opts.backup then
        if exists(opts.backup) then
            error(opts.backup .. " exists; move it away or use --no-backup", 0)
        end
        db:backup(opts.backup)
    end
    local ok, err = pcall(db.transaction, db, function()
        m.fix(db)
        fail_unless_new(db, m)
        record(db, m)
    end)
    if not ok then
        if opts.backup then
            os.remove(opts.backup)
        end
        error(err, 0)
    end
end

return M
