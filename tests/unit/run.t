#!/bin/bash
# Runs every cmocka unit test binary (built by `make test` into
# $UNIT_BIN_DIR); one TAP result per binary, its output as diagnostics.
source "$(dirname "$0")/../e2e/lib.sh"
cd "$ROOT" || exit 1
dir=${UNIT_BIN_DIR:-$ROOT/build/rel/tests}
for t in "$dir"/*_test; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1)
    rc=$?
    [ $rc -eq 0 ] || diag "$out"
    _tap_result $rc "unit: $(basename "$t")"
done
done_testing
