#!/bin/bash
# Runs every Lua test (tests/lua/*_test.lua) inside the real host, one TAP
# result per file; and `run` with many arguments.
source "$(dirname "$0")/lib.sh"
for t in "$ROOT"/tests/lua/*_test.lua; do
    [ -e "$t" ] || continue
    out=$(cd "$TMP" && "$BRIDGE" --masterlist "$MASTERLIST" run "$t" 2>&1)
    rc=$?
    [ $rc -eq 0 ] || diag "$out"
    _tap_result $rc "lua: $(basename "$t")"
done

# run: a script gets its arguments as arg[] and as ..., one stack slot each.
printf 'print(#arg, select("#", ...), arg[300])\n' > "$TMP/args.lua"
out=$(cd "$TMP" && "$BRIDGE" --masterlist "$MASTERLIST" run args.lua $(seq 1 300) 2>&1)
is "$out" "$(printf '300\t300\t300')" "run hands a script 300 arguments"
done_testing
