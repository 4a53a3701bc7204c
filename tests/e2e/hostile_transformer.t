#!/bin/bash
# Transformers share one Lua state with the host, so whatever they can
# reach must not take the host down: module tables in package.loaded they
# replace, values with metamethods they put in the columns or return, a
# module table whose __index never returns. Each of these aborted the
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
cat > "$T/40-index-loop.lua" <<'LUA'
-- A module table whose __index never returns.
return setmetatable({ name = "index-loop", transform = function() end },
    { __index = function() while true do end end })
LUA

# transform: every transformer loads, the snapshot goes through, the rows print.
out=$(timeout 60 "$BRIDGE" transform --transformers "$T" --now 1712836800 --snapshot "$SNAP" 2> transform.err)
is "$?" 0 "transform runs the snapshot through all four"
like "$(cat transform.err)" "transformer eq-loop \(.*30-eq-loop.lua\) failed; this snapshot goes on without its output: transform returned a table" \
    "a returned table is refused without calling its __eq"
like "$out" "SMA,weather_tau225,1712836793,0.125" "and the rows are printed"
unlike "$(cat transform.err)" "PANIC" "no panic"

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
