#!/bin/bash
# Runs every Lua test (tests/lua/*_test.lua) inside the real host, one TAP
# result per file.
source "$(dirname "$0")/lib.sh"
for t in "$ROOT"/tests/lua/*_test.lua; do
    [ -e "$t" ] || continue
    out=$(cd "$TMP" && "$BRIDGE" --masterlist "$MASTERLIST" run "$t" 2>&1)
    rc=$?
    [ $rc -eq 0 ] || diag "$out"
    _tap_result $rc "lua: $(basename "$t")"
done
done_testing
