#!/bin/bash
# The command line keeps the original's interface: help on every level,
# prefixes, one-line errors with exit status 2, and the server rules.
source "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

out=$("$BRIDGE" -h)
ok "-h exits 0" test $? -eq 0
like "$out" '^usage: vlbimon_bridge \[-h\] \[-v\] \[-1\] \[-2\] \[--server URL\]' "-h prints the usage line"
like "$out" 'initdb +initialize a sqlite or PostgreSQL database' "-h lists the commands"
out=$("$BRIDGE" --help)
like "$out" '--stations STATIONS +stations to process \(default all\), repeatable' "--help documents --stations"
out=$("$BRIDGE" initdb -h)
like "$out" '^usage: vlbimon_bridge initdb \[-h\] \[--sqlitedb SQLITEDB\]' "initdb -h"
out=$("$BRIDGE" run --help)
like "$out" '^usage: vlbimon_bridge run \[-h\] SCRIPT.lua' "run --help"

expect_usage_error() { # description expected-regex args...
    local d=$1 re=$2
    shift 2
    local err rc
    err=$("$BRIDGE" "$@" 2>&1 >/dev/null)
    rc=$?
    is "$rc" 2 "$d: exit status 2"
    is "$(printf '%s\n' "$err" | wc -l)" 1 "$d: one line"
    like "$err" "$re" "$d: message"
}
expect_usage_error "unknown global option" "unrecognized option: --bogus" --bogus initdb
expect_usage_error "unknown command option" "vlbimon_bridge initdb: error: unrecognized option: --nope" initdb --nope
expect_usage_error "ambiguous prefix" "ambiguous option: --s could match --server, --stations, --secrets" --s x initdb
expect_usage_error "missing value" "argument --sqlitedb: expected one argument" initdb --sqlitedb
expect_usage_error "missing command" "a command is required" -v
expect_usage_error "unknown command" "invalid choice: 'frobnicate'" frobnicate
expect_usage_error "plain http to a remote host" "plain http is allowed only for loopback hosts" --server http://vlbimon2.science.ru.nl initdb
expect_usage_error "credentials in the URL" "not the URL" --server https://me:pw@example.org initdb
expect_usage_error "not a URL" "must start with https://" --server ftp://example.org initdb

"$BRIDGE" --server http://127.0.0.1:8080 --masterlist "$MASTERLIST" initdb > /dev/null
ok "http is accepted for a loopback host" test $? -eq 0
"$BRIDGE" --server http://[::1]:8080/ --masterlist "$MASTERLIST" initdb > /dev/null
ok "http is accepted for IPv6 loopback" test $? -eq 0
"$BRIDGE" --datad x --sec /nonexistent -v -v -1 --masterl "$MASTERLIST" initdb --sq "$TMP/p.db" 2>/dev/null
ok "global option prefixes work" test -s "$TMP/p.db"

err=$("$BRIDGE" --masterlist /nonexistent.json initdb 2>&1)
is "$?" 1 "a missing masterlist is a runtime failure"
like "$err" "/nonexistent.json: No such file or directory" "and names the file"

# --- the bundled fixture catalogue: used without ./masterlist.json, with one warning
mkdir fx
cd fx || exit 1
FIXTURE="warning: .*/share/masterlist.json is the bundled test fixture, not vlbimon's catalogue \(there is no \./masterlist\.json\); download the server's with: vlbimon_bridge --server"
err=$("$BRIDGE" initdb --sqlitedb a.db 2>&1)
is "$?" 0 "initdb with the bundled fixture works"
like "$err" "$FIXTURE https://vlbimon2\.science\.ru\.nl masterlist$" "and says it is a fixture, with the command that fetches the real one"
is "$(printf '%s\n' "$err" | wc -l)" 1 "in one line"
like "$("$BRIDGE" -1 initdb 2>&1 > /dev/null)" "$FIXTURE https://vlbimon1\.science\.ru\.nl masterlist$" \
    "the command names the server this one talks to"
err=$("$BRIDGE" --server http://127.0.0.1:9 --secrets /nonexistent.yaml bridge --sqlitedb a.db 2>&1)
like "$err" "$FIXTURE http://127\.0\.0\.1:9 masterlist" "the bridge says so too"
mkdir tree
like "$("$BRIDGE" insert --sqlitedb a.db tree 2>&1)" "$FIXTURE" "and insert"
like "$("$BRIDGE" --server http://127.0.0.1:9 --secrets /nonexistent.yaml history --start 0 --all 2>&1)" \
    "$FIXTURE" "and history"
unlike "$("$BRIDGE" --masterlist "$MASTERLIST" initdb 2>&1 > /dev/null)" "fixture" \
    "a --masterlist is a choice, even the fixture's path: no warning"
cp "$MASTERLIST" masterlist.json
unlike "$("$BRIDGE" initdb 2>&1 > /dev/null)" "fixture" "a ./masterlist.json: no warning"
cd "$TMP" || exit 1

cat > "$TMP/boom.lua" <<'LUA'
local x = 1
error("boom " .. x)
LUA
err=$("$BRIDGE" run "$TMP/boom.lua" 2>&1)
is "$?" 1 "a Lua error fails the run"
like "$err" "error: .*boom.lua:2: boom 1$" "and is reported with file:line"

cat > "$TMP/args.lua" <<'LUA'
local a, b = ...
print(a, b, #arg, arg[0]:match("args.lua$") ~= nil)
LUA
out=$("$BRIDGE" run "$TMP/args.lua" --x -v)
is "$out" "--x	-v	2	true" "run passes the remaining arguments to the script"

done_testing
