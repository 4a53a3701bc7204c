#!/bin/bash
# The Lua sandbox: scripts (run, and the bundled scripts' commands) and
# transformers cannot reach os.execute, io.popen, os.exit, os.setlocale,
# debug, C modules, modules outside the project or binary chunks, and cannot
# create, change or remove a file outside the directories the host hands
# them (a script: where it runs, --datadir, /tmp, where its arguments point;
# a transformer: nowhere). Every escape below is tried for real, and the
# victim files are checked after. Then transformers try to reach each other
# through globals, the standard library and the project's modules.
source "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# A directory no script here is handed: not under the current directory, the
# datadir, /tmp (where os.tmpname writes) or any argument.
OUT=$(mktemp -d /var/tmp/vb-sandbox.XXXXXX)
trap 'rm -rf "$OUT"; _tap_cleanup' EXIT
echo precious > "$OUT/victim"
sqlite3 "$OUT/victim.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1);"
mkdir work
ln -s "$OUT" work/link
# A C module Lua's own C searcher would load: "cjson-evil" means luaopen_cjson in cjson-evil.so.
mkdir cmod other
ln -s "$(find /usr/lib -name cjson.so -path '*lua/5.4*' | head -n 1)" cmod/cjson-evil.so
CMOD=$TMP/cmod
echo 'return "evil"' > other/evil.lua

# Each escape prints "NAME: denied (why)" or "NAME: ALLOWED".
cat > escapes.lua << 'LUA'
local out = os.getenv("OUT")
local vlbimon = require "vlbimon"
local function try(name, f)
    local ok, err = pcall(f)
    print(name .. ": " .. (ok and "ALLOWED" or ("denied (" .. tostring(err) .. ")")))
end
local function absent(name, v)
    print(name .. ": " .. (v == nil and "denied (absent)" or "ALLOWED"))
end
absent("os.execute", os.execute)
absent("io.popen", io.popen)
absent("os.exit", os.exit)
absent("os.setlocale", os.setlocale)
absent("debug", debug)
absent("package.loadlib", package.loadlib)
try("require debug", function() require "debug" end)
try("require a C module", function()
    package.cpath = (os.getenv("CMOD") or "") .. "/?.so"
    require "cjson-evil"
end)
try("require outside the project", function()
    package.path = os.getenv("TMP") .. "/other/?.lua"
    require "evil"
end)
try("binary chunk", function() assert(load(string.dump(function() return 1 end))) end)
for _, mode in ipairs { "w", "a", "r+", "wb", "a+" } do
    try("io.open " .. mode, function() assert(io.open(out .. "/victim", mode)):write("x") end)
end
try("io.open new file", function() assert(io.open(out .. "/new", "w")) end)
try("io.open through ..", function() assert(io.open("../../" .. out .. "/new", "w")) end)
try("io.open through a symlink", function() assert(io.open("link/new", "w")) end)
try("io.output", function() io.output(out .. "/new") end)
try("os.remove", function() assert(os.remove(out .. "/victim")) end)
try("os.rename out", function() assert(os.rename(out .. "/victim", "stolen")) end)
try("os.rename in", function()
    assert(io.open("mine", "w")):close()
    assert(os.rename("mine", out .. "/victim"))
end)
try("vlbimon.open create", function() vlbimon.open(out .. "/new.db", { create = true }) end)
try("vlbimon.open read-write", function() vlbimon.open(out .. "/victim.db"):exec("DELETE FROM t") end)
local db = vlbimon.open("here.db", { create = true })
try("db:backup", function() db:backup(out .. "/new.db") end)
try("ATTACH", function() db:exec("ATTACH ? AS x", out .. "/new.db") end)
try("ATTACH literal", function() db:exec("ATTACH '" .. out .. "/new.db' AS x") end)
try("VACUUM INTO", function() db:exec("VACUUM INTO '" .. out .. "/new.db'") end)
try("ATTACH a URI", function() db:exec("ATTACH 'file:" .. out .. "/new.db?mode=rwc' AS x") end)
-- What the script was handed still works.
local ro = vlbimon.open(out .. "/victim.db", { readonly = true })
print("read-only elsewhere: " .. ro:first("SELECT x FROM t").x)
assert(io.open("here.txt", "w")):close()
local tmp = os.tmpname()
os.remove(tmp)
db:exec("VACUUM INTO 'copy.db'")
print("allowed writes: ok")
LUA
# denied OUTPUT NAME : whether OUTPUT reports NAME as denied.
denied() { printf '%s\n' "$1" | grep -qF -- "$2: denied"; }
export CMOD OUT TMP
out=$(cd work && "$BRIDGE" --datadir "$TMP/data" run ../escapes.lua 2>&1)
is "$?" 0 "the escapes script ran to its end"
for name in os.execute io.popen os.exit os.setlocale debug package.loadlib "require debug" \
    "require a C module" "require outside the project" "binary chunk" "io.open w" "io.open a" "io.open r+" "io.open wb" \
    "io.open a+" "io.open new file" "io.open through .." "io.open through a symlink" \
    io.output os.remove "os.rename out" "os.rename in" "vlbimon.open create" \
    "vlbimon.open read-write" db:backup ATTACH "ATTACH literal" "VACUUM INTO" "ATTACH a URI"; do
    ok "script: $name is denied" denied "$out" "$name"
done
unlike "$out" "ALLOWED" "script: no escape succeeded"
like "$out" "io.open w: denied \(.*$OUT/victim: not allowed: this script may write only under " \
    "the refusal names the path and the directories allowed"
like "$out" "read-only elsewhere: 1" "reading elsewhere is allowed"
like "$out" "allowed writes: ok" "writing where the script runs and in /tmp is allowed"
is "$(cat "$OUT/victim")" precious "the victim file is untouched"
is "$(sqlite3 "$OUT/victim.db" 'SELECT count(*) FROM t')" 1 "the victim database is untouched"
is "$(ls "$OUT")" "$(printf 'victim\nvictim.db')" "nothing was created outside"
ok "the allowed files were written" test -f work/here.txt -a -f work/copy.db

# An argument hands its directory to the script (how extract's --outdir works).
cat > write_to.lua << 'LUA'
local dir = ...
assert(io.open(dir .. "/handed.txt", "w")):close()
LUA
ok "a directory given as an argument may be written" "$BRIDGE" run write_to.lua "$OUT"
ok "and was" test -f "$OUT/handed.txt"
rm -f "$OUT/handed.txt"
"$BRIDGE" add-series --sqlitedb "$OUT/victim.db" extra REAL 2> add.err
is "$?" 0 "a command's script may change the database it was handed ($(cat add.err))"

# Transformers get no directory at all: not even where the bridge runs, nor /tmp.
mkdir tf
cp "$ROOT"/transformers/*.lua tf/
cat > tf/50-escape.lua << 'LUA'
local vlbimon = require "vlbimon"
local M = { name = "escape" }
function M.transform(points, ctx)
    local function try(name, f)
        local ok, err = pcall(f)
        ctx.log("warn", name .. ": " .. (ok and "ALLOWED" or ("denied (" .. tostring(err) .. ")")))
    end
    local function absent(name, v) ctx.log("warn", name .. ": " .. (v == nil and "denied (absent)" or "ALLOWED")) end
    absent("os.execute", os.execute)
    absent("io.popen", io.popen)
    absent("debug", debug)
    absent("os.setlocale", os.setlocale)
    try("require a C module", function()
        package.cpath = (os.getenv("CMOD") or "") .. "/?.so"
        require "cjson-evil"
    end)
    try("io.open here", function() assert(io.open("tf-here.txt", "w")) end)
    try("io.open /tmp", function() assert(io.open(os.getenv("TMP") .. "/tf-tmp.txt", "w")) end)
    try("io.output", function() io.output("tf-out.txt") end)
    try("os.tmpname", function() os.tmpname() end)
    try("os.remove", function() assert(os.remove(os.getenv("OUT") .. "/victim")) end)
    try("os.rename", function() assert(os.rename(os.getenv("OUT") .. "/victim", "tf-stolen")) end)
    try("vlbimon.open", function() vlbimon.open("tf.db", { create = true }) end)
end
return M
LUA
before=$(ls /tmp | grep -c '^lua_')
B() { "$BRIDGE" --masterlist "$MASTERLIST" "$@"; }
B transform --transformers tf --now 1712836800 --snapshot "$FIXTURES/snapshots/small.json" \
    > tf.out 2> tf.log
is "$?" 0 "transform runs with the escaping transformer"
log=$(cat tf.log)
for name in os.execute io.popen debug os.setlocale "require a C module" "io.open here" \
    "io.open /tmp" io.output os.tmpname os.remove os.rename vlbimon.open; do
    ok "transformer: $name is denied" denied "$log" "transformer escape: $name"
done
unlike "$log" "ALLOWED" "transformer: no escape succeeded"
like "$log" "io.open here: denied \(.*tf-here.txt: not allowed: this Lua code may not write files" \
    "the refusal says transformers write no files"
is "$(ls tf-* "$TMP"/tf-* 2> /dev/null)" "" "the transformer created no file"
is "$(ls /tmp | grep -c '^lua_')" "$before" "nor a temporary one"
is "$(cat "$OUT/victim")" precious "and the victim is untouched"
like "$(cat tf.out)" "SMA,weather_tau225,1712836793,0.125" "the snapshot still went through"

# Transformers are isolated from each other: "a" sets a global and tries to
# change the string library (directly, through rawset, and through the
# string metatable), a project module, its require cache, the points' methods,
# the masterlist, the collector and a finalizer; "b", which runs after it in
# the same snapshot, sees none of it.
mkdir iso
cat > iso/10-a.lua << 'LUA'
local values = require "vlbimon.values"
local M = { name = "a" }
function M.transform(points, ctx)
    local function try(name, f)
        local ok, err = pcall(f)
        ctx.log("warn", name .. ": " .. (ok and "CHANGED" or ("refused (" .. tostring(err) .. ")")))
    end
    secret = "a's global"
    try("string.upper", function() string.upper = function() return "evil" end end)
    rawset(string, "lower", function() return "evil" end)
    try("the string metatable", function() getmetatable("").__index.upper = function() return "evil" end end)
    try("the points' methods", function() getmetatable(points).__index.add = function() end end)
    values.boolean = function() return "evil" end
    package.loaded["vlbimon.values"] = { boolean = function() return "evil" end }
    ctx.masterlist.params.weather_tau225.sqltype = "evil"
    try("collectgarbage stop", function() collectgarbage("stop") end)
    try("a finalizer", function() setmetatable({}, { __gc = function() end }) end)
    ctx.log("warn", "a sees its own: " .. string.lower("X") .. " " .. tostring(values.boolean("true")))
end
return M
LUA
cat > iso/20-b.lua << 'LUA'
local values = require "vlbimon.values"
local M = { name = "b" }
function M.transform(points, ctx)
    ctx.log("warn", "b sees: secret=" .. tostring(secret) .. " upper=" .. string.upper("x")
        .. " lower=" .. string.lower("X") .. " method=" .. ("x"):upper()
        .. " values=" .. tostring(values.boolean("true"))
        .. " required=" .. tostring(require("vlbimon.values").boolean("true"))
        .. " masterlist=" .. ctx.masterlist.params.weather_tau225.sqltype
        .. " gc=" .. tostring(collectgarbage("isrunning")))
    points:add("SMA", "isolated", 1712836800, "yes")
end
return M
LUA
B transform --transformers iso --now 1712836800 --snapshot "$FIXTURES/snapshots/small.json" \
    > iso.out 2> iso.log
is "$?" 0 "transform runs the two transformers"
log=$(cat iso.log)
like "$log" "transformer b: b sees: secret=nil upper=X lower=x method=X values=true required=true masterlist=REAL gc=true" \
    "b sees neither a's global nor a's changes to the library, a module, the masterlist or the collector"
like "$log" "transformer a: string.upper: refused \(.*cannot change string.upper: the standard library is read-only" \
    "a library table is read-only"
like "$log" "transformer a: the string metatable: refused" "the string metatable is out of reach"
like "$log" "transformer a: the points' methods: refused" "so are the points' methods"
like "$log" "transformer a: collectgarbage stop: refused" "the collector cannot be stopped"
like "$log" "transformer a: a finalizer: refused \(.*__gc is not allowed" "finalizers are refused"
like "$log" "transformer a: a sees its own: evil evil" "a's own changes stay in its own sandbox"
like "$(cat iso.out)" "SMA,isolated,1712836800,yes" "b's points:add still works"

done_testing
