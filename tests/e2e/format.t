#!/bin/bash
# The C sources are as the checked-in .clang-format lays them out (`make
# format` fixes them): eleven files had drifted unnoticed before this check.
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
for f in src/*/*.[ch] tests/unit/*.c tests/fuzz/*.[ch] bench/*.c; do
    [ -e "$f" ] || continue
    out=$(clang-format --dry-run -Werror "$f" 2>&1)
    rc=$?
    [ $rc -eq 0 ] || diag "$(printf '%s\n' "$out" | head -6)" "fix: make format"
    _tap_result $rc "clang-format: $f"
done
done_testing
