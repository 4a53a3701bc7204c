#!/bin/bash
# The systemd units (deploy/systemd): what they promise (user and group
# grafana, umask 002, SIGTERM, restart with back-off, hardening; the
# PostgreSQL unit: its connection from libpq's files), that the
# hardening still lets the bridge write what it writes and read its secrets,
# that their command lines parse, that the template differs from the main
# unit only where it must, and `systemd-analyze verify` (and its offline
# security score) where systemd-analyze exists.
source "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

UNITS=$ROOT/deploy/systemd
MAIN=$UNITS/vlbimon-bridge.service
TEMPLATE=$UNITS/vlbimon-bridge@.service
PGUNIT=$UNITS/vlbimon-bridge-postgres.service
INSTANCE=vlbimon2.science.ru.nl

# key FILE NAME : the value of NAME= in FILE (the last one wins, as in systemd).
key() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# execstart FILE [INSTANCE] : the ExecStart words, %i replaced, one per line.
execstart() { key "$1" ExecStart | sed "s/%i/${2:-}/g" | tr ' ' '\n'; }

# option WORDS NAME : the value after --NAME in a list of words.
option() { printf '%s\n' "$1" | sed -n "/^--$2\$/{n;p;q}"; }

# under PATH DIR... : whether PATH is DIR or lies below one of the DIRs.
under() {
    local p=$1 d
    shift
    for d in "$@"; do
        case $p/ in "${d%/}"/*) return 0 ;; esac
    done
    return 1
}

for unit in "$MAIN" "$TEMPLATE" "$PGUNIT"; do
    n=${unit##*/}
    is "$(key "$unit" User)" vlbimon "$n: a dedicated user"
    if [ "$unit" != "$PGUNIT" ]; then
        is "$(key "$unit" Group)" grafana "$n: in group grafana"
        is "$(key "$unit" UMask)" 0002 "$n: umask 002, so the WAL files stay group-writable"
    fi
    is "$(key "$unit" KillSignal)" SIGTERM "$n: stopped with SIGTERM (the bridge finishes its cycle)"
    is "$(key "$unit" Restart)" on-failure "$n: restarted on failure"
    like "$(key "$unit" RestartSec)" '^[1-9][0-9]*s$' "$n: after a delay"
    like "$(key "$unit" RestartMaxDelaySec)" '^[1-9][0-9]*min$' "$n: growing to minutes"
    is "$(key "$unit" StartLimitIntervalSec)" 0 "$n: and never given up"
    is "$(key "$unit" StandardError)" journal "$n: logs to journald"
    for kv in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
        PrivateDevices=yes; do
        is "$(key "$unit" "${kv%%=*}")" "${kv#*=}" "$n: $kv"
    done

    words=$(execstart "$unit" "$INSTANCE")
    is "$(printf '%s\n' "$words" | head -n 1)" /usr/local/bin/vlbimon_bridge \
        "$n: runs the binary make install installs"
    db=$(option "$words" sqlitedb)
    datadir=$(option "$words" datadir)
    secrets=$(option "$words" secrets)
    writable=($(key "$unit" ReadWritePaths) "/var/lib/$(key "$unit" StateDirectory)")
    [ "$unit" = "$PGUNIT" ] ||
        ok "$n: the database folder ${db%/*} is writable under ProtectSystem=strict" \
            under "${db%/*}" "${writable[@]}"
    ok "$n: the datadir $datadir is writable" under "$datadir" "${writable[@]}"
    ok "$n: the working directory is writable (masterlist.json)" \
        under "$(key "$unit" WorkingDirectory)" "${writable[@]}"
    fails "$n: the secrets file $secrets is not hidden by ProtectHome or PrivateTmp" \
        under "$secrets" /home /root /run/user /tmp /var/tmp
    fails "$n: the secrets file is in no folder the bridge may write" under "$secrets" "${writable[@]}"
    # The unit's own command line, with -h: any option the binary does not know fails.
    args=$(printf '%s\n' "$words" | tail -n +2)
    mapfile -t argv <<< "$args"
    out=$("$BRIDGE" "${argv[@]}" -h 2>&1)
    is "$?" 0 "$n: the binary accepts the command line"
    like "$out" "usage: vlbimon_bridge bridge" "$n: and it runs the bridge command"
done

# Production reads vlbimon1; the command line's default, vlbimon2, has no SPT.
main_words=$(execstart "$MAIN")
ok "the main unit names its server: -1, vlbimon1" grep -qx -- -1 <<< "$main_words"
is "$(option "$main_words" server)" "" "and no --server that would override it"
like "$(key "$MAIN" Description)" "\(vlbimon1\)" "its description says which"
ok "the PostgreSQL unit names the same server" grep -qx -- -1 <<< "$(execstart "$PGUNIT")"
like "$(key "$PGUNIT" Description)" "\(vlbimon1\)" "and says so too"
is "$(option "$(execstart "$MAIN")" sqlitedb)" \
    "$(sed -n 's/^ *path: *//p' "$ROOT/deploy/grafana/provisioning/datasources/vlbimon.yaml")" \
    "the main unit writes the database Grafana's provisioned datasource reads"
# The PostgreSQL unit: its connection and password from libpq's files, which it may read and not write.
words=$(execstart "$PGUNIT")
is "$(option "$words" postgres)" service=vlbimon "the PostgreSQL unit connects to the service vlbimon"
parses() { "$@" > /dev/null 2>&1; }
ok "which doctor --postgres accepts, with the unit's global options" \
    parses "$BRIDGE" $(printf '%s\n' "$words" | sed -n '2,/^bridge$/p' | sed '$d') doctor --postgres service=vlbimon -h
env=$(key "$PGUNIT" Environment)
for var in PGSERVICEFILE PGPASSFILE; do
    f=$(printf '%s\n' $env | sed -n "s/^$var=//p")
    like "$f" '^/etc/vlbimon-bridge/' "$var is $f, beside the secrets file"
    fails "$var is not hidden by ProtectHome or PrivateTmp" under "$f" /home /root /run/user /tmp /var/tmp
    fails "$var is in no folder the bridge may write" under "$f" "/var/lib/$(key "$PGUNIT" StateDirectory)"
done
pgsettings() { grep -Ev '^(#|$|Description=|ExecStart=|SyslogIdentifier=|After=|Group=|UMask=|Environment=|ReadWritePaths=)' "$1"; }
is "$(diff <(pgsettings "$MAIN") <(pgsettings "$PGUNIT"))" "" \
    "the PostgreSQL unit differs from the main unit only in its connection, group, umask, paths and names"
is "$(key "$PGUNIT" ReadWritePaths)" "" "and may write nothing but its state directory"

words=$(execstart "$TEMPLATE" "$INSTANCE")
is "$(option "$words" server)" "https://$INSTANCE" "the template's instance is the server's host"
is "$(option "$words" sqlitedb)" "/var/lib/grafana/$INSTANCE.db" "with a database of its own"
is "$(option "$words" datadir)" "/var/lib/vlbimon-bridge/$INSTANCE" \
    "and a datadir of its own (its own PLEASE-EXIT and cursor)"
settings() { grep -Ev '^(#|$|Description=|ExecStart=|SyslogIdentifier=)' "$1"; }
is "$(diff <(settings "$MAIN") <(settings "$TEMPLATE"))" "" \
    "the template differs from the main unit only in its description, command and log name"

if ! command -v systemd-analyze > /dev/null; then
    ok "# SKIP systemd-analyze not found: systemd-analyze verify not run" true
    done_testing
fi

# verify checks ExecStart's binary exists, so the copies run the built one.
version=$(systemd-analyze --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')
mkdir units
for unit in "$MAIN" "$TEMPLATE" "$PGUNIT"; do
    sed "s|/usr/local/bin/vlbimon_bridge|$BRIDGE|" "$unit" > "units/${unit##*/}"
done
for name in vlbimon-bridge.service "vlbimon-bridge@$INSTANCE.service" vlbimon-bridge-postgres.service; do
    out=$(systemd-analyze verify --man=no "units/$name" 2>&1)
    is "$?" 0 "systemd-analyze verify $name (systemd $version)"
    # RestartSteps and RestartMaxDelaySec came with systemd 254; older ones warn and ignore them.
    [ "${version:-0}" -lt 254 ] &&
        out=$(printf '%s\n' "$out" | grep -Ev "Unknown key '(RestartSteps|RestartMaxDelaySec)'")
    is "$out" "" "$name: no warnings"
done
for name in vlbimon-bridge.service vlbimon-bridge-postgres.service; do
    out=$(systemd-analyze security --offline=yes --man=no --threshold=30 "units/$name" 2>&1)
    is "$?" 0 "systemd-analyze security $name: exposure at most 3.0"
    last=$(printf '%s\n' "$out" | tail -n 1)
    like "$last" "Overall exposure level for $name: [0-9.]+ OK" "rated OK (${last#*: })"
done

# The checks above would catch a bad value: verify only warns about one.
sed 's/^ProtectSystem=strict/ProtectSystem=strickt/' units/vlbimon-bridge.service > units/bad.service
like "$(systemd-analyze verify --man=no units/bad.service 2>&1)" "Failed to parse protect system value" \
    "a misspelt value is reported by verify"

done_testing
