#!/bin/bash
# The Lua memory cap (--lua-memory): a transformer that allocates without
# end fails like any raising transformer, and the run stays within the cap:
# in `transform`, and in the live bridge, which stores the raw data and the
# other transformers' output and gives the memory back. A script over the
# cap fails with one line and status 1.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
source "$FIXTURES/bridge/bridgelib.sh"
cd "$TMP" || exit 1
CAP=32 # MiB
SNAP=$FIXTURES/snapshots/full.json

for bad in 0 15 1048577 lots; do
    err=$("$BRIDGE" --lua-memory "$bad" run nothing.lua 2>&1)
    is "$?" 2 "--lua-memory $bad is a usage error"
    is "$(printf '%s\n' "$err" | wc -l)" 1 "--lua-memory $bad: one line ($err)"
    like "$err" "argument --lua-memory: " "naming the option"
done

# The standard transformers, and with them a bomb that keeps 10 MB strings
# (400 MB a snapshot if nothing stops it).
mkdir std tf
cp "$ROOT"/transformers/*.lua std/
cp std/*.lua tf/
cat > tf/15-bomb.lua << 'LUA'
return { name = "bomb", transform = function()
    local keep = {}
    for i = 1, 40 do keep[i] = string.rep("x", 1e7) end
end }
LUA
# max_rss KB-FILE COMMAND... : runs COMMAND, its peak RSS in KB in KB-FILE.
max_rss() {
    local f=$1
    shift
    /usr/bin/time -o "$f" -f '%M' "$@"
}

# --- transform: the bomb fails, the output is what it is without it --------
max_rss std.kb "$BRIDGE" --lua-memory $CAP transform --transformers std --now 1712836800 \
    --snapshot "$SNAP" --snapshot "$SNAP" > std.csv 2> std.err
is "$?" 0 "transform without the bomb"
max_rss tf.kb timeout 120 "$BRIDGE" --lua-memory $CAP transform --transformers tf \
    --now 1712836800 --snapshot "$SNAP" --snapshot "$SNAP" > tf.csv 2> tf.err
is "$?" 0 "transform with the bomb exits 0"
is "$(grep -c 'transformer bomb (tf/15-bomb.lua) failed; this snapshot goes on without its output: Lua memory limit reached: a transformer may bring Lua to 24 of the 32 MiB of --lua-memory' tf.err)" 2 \
    "the bomb fails in both snapshots, named, with the limit"
is "$(cksum < tf.csv)" "$(cksum < std.csv)" "every other row is printed as without the bomb"
std_kb=$(tail -n 1 std.kb)
tf_kb=$(tail -n 1 tf.kb)
ok "transform stays within the cap: $tf_kb KB peak, $std_kb KB without the bomb" \
    test "$tf_kb" -le $((std_kb + CAP * 1024))

# --- the live bridge, beside a bridge without the bomb ----------------------
# bridge NAME DIR : a bridge at --dt 0.2 against simulator NAME, transformers from DIR.
bridge() {
    "$BRIDGE" -v -v --lua-memory $CAP --server "$(eval echo "\$URL_$1")" --secrets "$SECRETS" \
        --datadir "$TMP/$1.data" bridge --sqlitedb "$1.db" --dt 0.2 --transformers "$2" \
        > "$1.out" 2> "$1.log" &
    track_pid $!
}
for name in ref bomb; do
    start_sim $name --speed 120 --seed 5
    "$BRIDGE" initdb --sqlitedb $name.db
done
bridge ref std
ref_pid=$!
bridge bomb tf
bomb_pid=$!
wait_answers ref 6
wait_answers bomb 6
hwm() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status"; }
ref_kb=$(hwm $ref_pid)
bomb_kb=$(hwm $bomb_pid)
ok "the bridge runs on" kill -0 $bomb_pid
touch ref.data/PLEASE-EXIT bomb.data/PLEASE-EXIT
WAIT_RC=
ok "and stops on PLEASE-EXIT" wait_exit $bomb_pid 20
is "$WAIT_RC" 0 "with status 0"
wait_exit $ref_pid 20
ok "its peak RSS stays within the cap: $bomb_kb KB, $ref_kb KB without the bomb" \
    test "$bomb_kb" -le $((ref_kb + CAP * 1024))
answers=$(grep -c 'info: snapshot:' bomb.log)
like "$(cat bomb.log)" "error: transformer bomb \(.*15-bomb.lua\) failed; this snapshot goes on without its output: Lua memory limit reached" \
    "the bomb is logged with its name and file"
is "$(grep -c 'transformer bomb .* failed' bomb.log)" "$answers" "once for every snapshot"
unlike "$(cat bomb.log)" "transformer (events|split|status) .*failed|PANIC" "the others never fail; no panic"
count() { sqlite3 "$1" "SELECT count(*) FROM $2"; }
for t in ts_param_bridge_points ts_param_weather_tau225 ts_param_bridge_events \
    ts_param_telescope_azimuthElevation_az bridge_stationStatus; do
    ok "$t is stored (ref $(count ref.db $t), bomb $(count bomb.db $t))" test "$(count bomb.db $t)" -gt 0
done
# What the bomb held is given back: after each failure a full collection.
last=$(sed -n 's/.*debug: memory: Lua \([0-9]*\) KiB.*/\1/p' bomb.log | tail -n 1)
ok "Lua holds little after the last failure: $last KiB" test "${last:-99999}" -lt 8192

# --- a script over the cap ---------------------------------------------------
cat > bomb.lua << 'LUA'
local keep = {}
for i = 1, 40 do keep[i] = string.rep("x", 1e7) end
LUA
max_rss run.kb "$BRIDGE" --lua-memory $CAP run bomb.lua > run.out 2> run.err
is "$?" 1 "a script over the cap exits 1"
is "$(cat run.err | wc -l)" 1 "with one line"
like "$(cat run.err)" "error: bomb.lua: Lua memory limit reached: 32 MiB \(--lua-memory\)$" \
    "naming the script, the cap and the option"
ok "and stays within the cap: $(tail -n 1 run.kb) KB" test "$(tail -n 1 run.kb)" -le $((std_kb + CAP * 1024))

done_testing
