# lib.sh - TAP helpers for the end-to-end tests, which drive the real
# binaries (vlbimon_bridge, vlbimon_sim) in a private temporary directory.
# Source it from a .t script; finish with done_testing.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# VB_BIN_DIR runs other builds of the binaries (the sanitizer pass: build/san/bin).
BRIDGE=${VB_BIN_DIR:-$ROOT}/vlbimon_bridge
SIM=${VB_BIN_DIR:-$ROOT}/vlbimon_sim
FIXTURES=$ROOT/tests/fixtures
MASTERLIST=$ROOT/share/masterlist.json
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vb-e2e.XXXXXX")
# The tests run in $TMP as an operator runs the bridge: beside the server's
# catalogue, which for the simulator is the bundled one, as `vlbimon_bridge
# masterlist` would have downloaded it. Without it, every command would warn
# that it fell back to the bundled test fixture.
cp "$MASTERLIST" "$TMP/masterlist.json"
_tap_n=0
_tap_failed=0
_tap_pids=()

_tap_cleanup() {
    for p in "${_tap_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap _tap_cleanup EXIT

_tap_result() { # status description
    _tap_n=$((_tap_n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $_tap_n - $2"
    else
        echo "not ok $_tap_n - $2"
        _tap_failed=$((_tap_failed + 1))
    fi
}

diag() { printf '%s\n' "$@" | sed 's/^/# /' >&2; }

# ok DESCRIPTION COMMAND... : passes when the command exits 0.
ok() {
    local d=$1
    shift
    "$@"
    _tap_result $? "$d"
}

# fails DESCRIPTION COMMAND... : passes when the command exits non-zero.
fails() {
    local d=$1
    shift
    if "$@"; then _tap_result 1 "$d"; else _tap_result 0 "$d"; fi
}

# is GOT EXPECTED DESCRIPTION
is() {
    if [ "$1" == "$2" ]; then
        _tap_result 0 "$3"
    else
        _tap_result 1 "$3"
        diag "got:      '$1'" "expected: '$2'"
    fi
}

# like GOT EXTENDED-REGEX DESCRIPTION
like() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then
        _tap_result 0 "$3"
    else
        _tap_result 1 "$3"
        diag "got:      '$1'" "expected to match: '$2'"
    fi
}

# unlike GOT EXTENDED-REGEX DESCRIPTION
unlike() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then
        _tap_result 1 "$3"
        diag "got:      '$1'" "expected not to match: '$2'"
    else
        _tap_result 0 "$3"
    fi
}

# Remember a background process so it is killed when the test ends.
track_pid() { _tap_pids+=("$1"); }

done_testing() {
    echo "1..$_tap_n"
    [ "$_tap_failed" -eq 0 ]
    exit $?
}
