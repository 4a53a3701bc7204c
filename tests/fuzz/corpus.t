#!/bin/bash
# Replays, for every fuzz target tests/fuzz/fuzz_NAME.c, its seed corpus
# (tests/fuzz/corpus/NAME/, which must exist) and every regression input
# (tests/fuzz/regressions/NAME/: each a finding of `make fuzz`, kept once
# fixed) through the target's own code, built without libFuzzer as
# $FUZZ_BIN_DIR/run_NAME. One TAP result per target.
source "$(dirname "$0")/../e2e/lib.sh"
cd "$ROOT" || exit 1
dir=${FUZZ_BIN_DIR:-$ROOT/build/rel/fuzz}
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    inputs=(tests/fuzz/corpus/"$name")
    [ -d tests/fuzz/regressions/"$name" ] && inputs+=(tests/fuzz/regressions/"$name")
    if [ ! -d tests/fuzz/corpus/"$name" ]; then
        _tap_result 1 "fuzz $name: has a seed corpus"
        continue
    fi
    out=$("$dir/run_$name" "${inputs[@]}" 2>&1)
    rc=$?
    [ $rc -eq 0 ] || diag "$(printf '%s\n' "$out" | tail -n 30)"
    _tap_result $rc "fuzz $name: $(printf '%s\n' "$out" | tail -n 1)"
done
done_testing
