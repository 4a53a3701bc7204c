#!/bin/bash
# Transformers share one Lua state with the host, so whatever they can
# reach must not take the host down: module tables in package.loaded they
# replace, values with metamethods they put in the columns or return, a
# module table whose __index never returns, a ctx with a trap in its
# metatable, a finalizer that never returns. Each of these aborted the
# bridge with a Lua panic or hung it outside the instruction limit before.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1
SNAP=$FIXTURES/snapshots/small.json

T=$TMP/transformers
mkdir -p "$T"
cat > "$T/10-tamper.lua" <<'LUA'
-- Replaces the modules the host uses, as a careless transformer might.
package.loaded["cjson.safe"] = true
package.loaded["vlbimon.pipeline"] = 0
return { name = "tamper", transform = function() end }
LUA
cat > "$T/20-odd-value.lua" <<'LUA'
-- Writes a column directly, with a value whose __tostring raises.
local odd = setmetatable({}, { __tostring = function() return {} end })
return { name = "odd-value", transform = function(points)
    if points.n > 0 then points.value[1] = odd end
end }
LUA
cat > "$T/30-eq-loop.lua" <<'LUA'
-- Returns a table whose __eq never ends.
local loop = setmetatable({}, { __eq = function() while true do end end })
return { name = "eq-loop", transform = function() return loop end }
LUA
cat > "$T/40-ctx-trap.lua" <<'LUA'
-- Takes ctx.now away and traps every write to ctx, which the host makes
-- before each call.
return { name = "ctx-trap", transform = function(points, ctx)
    ctx.now = nil
    setmetatable(ctx, { __newindex = function() while true do end end })
end }
LUA
cat > "$T/50-gc-loop.lua" <<'LUA'
-- A finalizer would run whenever the collector gets to it, outside every limit.
return { name = "gc-loop", transform = function()
    setmetatable({}, { __gc = function() while true do end end })
end }
LUA

# transform: every transformer loads, the snapshot goes through, the rows print.
out=$(timeout 60 "$BRIDGE" transform --transformers "$T" --now 1712836800 --snapshot "$SNAP" \
    --snapshot "$SNAP" 2> transform.err)
is "$?" 0 "transform runs the snapshots through all five"
like "$(cat transform.err)" "transformer eq-loop \(.*30-eq-loop.lua\) failed; this snapshot goes on without its output: .*30-eq-loop.lua:[0-9]+: instruction limit" \
    "a returned table's __eq runs under the instruction limit"
like "$(cat transform.err)" "transformer ctx-trap \(.*40-ctx-trap.lua\) failed; this snapshot goes on without its output: .*40-ctx-trap.lua:[0-9]+: instruction limit" \
    "so does a trap in ctx's metatable"
like "$(cat transform.err)" "transformer gc-loop \(.*50-gc-loop.lua\) failed; this snapshot goes on without its output: .*__gc is not allowed" \
    "a finalizer is refused"
like "$out" "SMA,weather_tau225,1712836793,0.125" "and the rows are printed"
unlike "$(cat transform.err)" "PANIC" "no panic"

# A module table whose __index never returns: reading it is part of loading,
# under the instruction limit, so the file fails to load instead of hanging.
mkdir index-loop
cat > index-loop/10-index-loop.lua <<'LUA'
return setmetatable({ name = "index-loop", transform = function() end },
    { __index = function() while true do end end })
LUA
err=$(timeout 60 "$BRIDGE" transform --transformers index-loop --now 1712836800 --snapshot "$SNAP" 2>&1 > /dev/null)
is "$?" 1 "a module table whose __index never returns does not load"
like "$err" "cannot load transformer .*10-index-loop.lua: .*10-index-loop.lua:[0-9]+: instruction limit" \
    "the error names the file and the limit"

# The live bridge printing its rows (no --sqlitedb): it logs in after the
# transformers have replaced cjson.safe, and prints a column holding the odd value.
start_sim live --speed 120 --seed 3
# SIGKILL after 90 s: a bridge caught in a transformer's endless loop ignores SIGTERM.
timeout -s KILL 90 "$BRIDGE" -v --server "$URL_live" --secrets "$SECRETS" \
    --datadir "$TMP/live.data" bridge --dt 0.2 --transformers "$T" > live.out 2> live.log &
BPID=$!
track_pid "$BPID"
wait_answers live 3
mkdir -p live.data && touch live.data/PLEASE-EXIT
WAIT_RC=
ok "the bridge runs on and stops on PLEASE-EXIT" wait_exit "$BPID" 20
is "$WAIT_RC" 0 "exit status 0"
unlike "$(cat live.log)" "PANIC" "no panic"
like "$(grep 'info: snapshot:' live.log | head -n 1)" ", [1-9][0-9]* skipped;" \
    "the row holding the odd value is skipped, as the store would skip it"
ok "the other rows are printed" grep -q '^ts_param_bridge_points,bridge,' live.out
done_testing
