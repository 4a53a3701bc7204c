-- backup.lua SRC DEST - `vlbimon_bridge backup`: a consistent copy of a live
-- database. The WAL is checkpointed first, as far as readers let it (so the
-- copy reads mostly from the main file), then SQLite's online backup API
-- copies it; a commit by the bridge during the copy makes the API start over,
-- so the copy is always one committed state. DEST must not exist.
local vlbimon = require "vlbimon"

local src, dest = ...
if not src or not dest or select("#", ...) > 2 then
    error("usage: backup.lua SRC DEST", 0)
end
local db = vlbimon.open(src)
-- PASSIVE: a checkpoint that waited for readers would hold the write lock and
-- stall the bridge meanwhile. What it leaves in the WAL the backup reads too.
db:checkpoint("PASSIVE")
db:backup(dest)
local copy = vlbimon.open(dest, { readonly = true })
local check = copy:first("PRAGMA quick_check")
copy:close()
db:close()
if check.quick_check ~= "ok" then
    error(dest .. ": the copy fails SQLite's quick_check: " .. check.quick_check, 0)
end
print(string.format("backed up %s to %s", src, dest))
