#!/bin/bash
# vlbimon_bridge doctor: a good set-up (also while the real bridge writes
# it) passes every check; breaking each rule fails exactly that check, with
# its fix, and exit status 1. The group is --group: the test user's own
# group plays Grafana's, and a group the user is not in plays a wrong one.
source "$(dirname "$0")/lib.sh"
source "$FIXTURES/sim/simlib.sh"
cd "$TMP" || exit 1

GOOD=$(id -gn)
OTHER=
for g in $(getent group | cut -d: -f1); do
    id -Gn | tr ' ' '\n' | grep -qx "$g" || { OTHER=$g; break; }
done
CHECKS="group user database not grafana.db directory wal files secrets server masterlist"

start_sim d
mkdir live
chmod 2775 live
"$BRIDGE" --masterlist "$MASTERLIST" initdb --sqlitedb live/live.db
chmod 664 live/live.db
cp "$USERS" secrets.yaml
chmod 600 secrets.yaml

# doctor [ARGS...] : runs doctor on the set-up (variables override its parts);
# output in OUT, status in RC.
doctor() {
    OUT=$("$BRIDGE" --server "${SERVER:-$URL_d}" --secrets "${SECRETS_FILE:-secrets.yaml}" \
        --masterlist "${ML:-$MASTERLIST}" doctor --group "${GROUP:-$GOOD}" \
        --sqlitedb "${DB:-live/live.db}" "$@" 2>&1)
    RC=$?
}

# broken CHECK PATTERN WHAT : doctor failed exactly CHECK, with a line matching PATTERN.
broken() {
    is "$RC" 1 "$3: exit status 1"
    is "$(printf '%s\n' "$OUT" | grep '^FAIL' | sed 's/^FAIL \([^:]*\):.*/\1/')" "$1" \
        "$3: only the $1 check fails"
    like "$(printf '%s\n' "$OUT" | grep "^FAIL $1: ")" "$2" "$3: says what is wrong and the fix"
}

# root_only DESCRIPTION : whether chgrp to another group is possible here.
root_only() {
    [ "$(id -u)" -eq 0 ] && [ -n "$OTHER" ] && return 0
    ok "# SKIP $1: needs root and a group the user is not in" true
    return 1
}

# --- command line
out=$("$BRIDGE" doctor -h)
is "$?" 0 "doctor -h exits 0"
like "$out" "usage: vlbimon_bridge doctor \[-h\] \[--sqlitedb SQLITEDB\] \[--group GROUP\]" "doctor -h shows its options"
like "$("$BRIDGE" -h)" "doctor +check the deployment" "vlbimon_bridge -h lists doctor"
for bad in "" "--sqlitedb x.db extra" "--bogus" "--sqlitedb x.db --group="; do
    err=$("$BRIDGE" doctor $bad 2>&1)
    is "$?" 2 "doctor $bad: a usage error"
    is "$(printf '%s\n' "$err" | wc -l)" 1 "doctor $bad: one line ($err)"
done
like "$("$BRIDGE" doctor 2>&1)" "one of the arguments --sqlitedb --postgres is required" "a database is required"

# --- a good set-up
doctor
is "$RC" 0 "a good set-up: exit status 0"
is "$(printf '%s\n' "$OUT" | sed 's/^OK   \([^:]*\):.*/\1/' | tr '\n' ' ')" "$CHECKS " \
    "one OK line per check, in docs/deployment.md's order"
like "$OUT" "OK   user: $(id -un) is in group $GOOD" "the user is in the group"
like "$OUT" "OK   wal files: no live/live.db-wal or -shm now" "no WAL files yet is fine"
like "$OUT" "OK   server: http://127.0.0.1:[0-9]+ accepts user 'Test User' \(basic auth\)" \
    "the simulator accepts the credentials"
is "$(stat "$URL_d" sessions)" 1 "doctor opened one session to find out"

# --- the bundled fixture catalogue is a warning, not a failure
mkdir elsewhere
OUT=$(cd elsewhere && "$BRIDGE" --server "$URL_d" --secrets ../secrets.yaml doctor --group "$GOOD" \
    --sqlitedb ../live/live.db 2>&1)
is "$?" 0 "no ./masterlist.json, no --masterlist: exit status 0 (a warning fails nothing)"
like "$OUT" "WARN masterlist: .*/share/masterlist\.json: [0-9]+ parameters, [0-9]+ stations: the bundled test fixture, not vlbimon's catalogue \(there is no \./masterlist\.json\); fix: vlbimon_bridge --server $URL_d masterlist, run in the bridge's working directory" \
    "the masterlist check warns that the catalogue is the test fixture, with the fix"
is "$(printf '%s\n' "$OUT" | grep -c '^OK ')" 8 "every other check is OK"

# --- the same while the real bridge writes it: its -wal and -shm pass too
"$BRIDGE" -v --server "$URL_d" --secrets secrets.yaml --datadir bdata bridge \
    --sqlitedb live/live.db --dt 0.2 2> bridge.log &
bpid=$!
track_pid $bpid
for _ in $(seq 100); do
    [ "$(grep -c 'info: snapshot:' bridge.log)" -ge 2 ] && break
    sleep 0.1
done
doctor
is "$RC" 0 "while the bridge runs: exit status 0"
like "$OUT" "OK   wal files: the live/live.db-wal and -shm there are group $GOOD and group-writable" \
    "the bridge's own -wal and -shm are group-writable"
touch bdata/PLEASE-EXIT
wait $bpid

# --- each broken rule
GROUP=vb-no-such-group doctor
is "$RC" 1 "no such group: exit status 1"
like "$OUT" "FAIL group: group vb-no-such-group does not exist; fix: .*groupadd --system vb-no-such-group" \
    "no such group: says so, with the fix"
like "$OUT" "FAIL database: cannot check live/live.db: group vb-no-such-group does not exist" \
    "no such group: the group-dependent checks fail too"

if root_only "the user is not in the group"; then
    chgrp -R "$OTHER" live
    GROUP=$OTHER doctor
    broken user "$(id -un) is not in group $OTHER; fix: sudo usermod -aG $OTHER $(id -un)" \
        "user not in the group"
    chgrp -R "$GOOD" live
fi

if root_only "the database has the wrong group"; then
    chgrp "$OTHER" live/live.db
    doctor
    broken database "live/live.db is group $OTHER, mode 0664: .*fix: sudo chgrp $GOOD live/live.db && sudo chmod g\+rw live/live.db" \
        "database of another group"
    chgrp "$GOOD" live/live.db
fi

chmod 644 live/live.db
doctor
broken database "live/live.db is group $GOOD, mode 0644: group $GOOD must read and write it" \
    "database not group-writable"
chmod 664 live/live.db

DB=live/nope.db doctor
broken database "live/nope.db: No such file or directory; fix: vlbimon_bridge initdb --sqlitedb live/nope.db" \
    "no database"

cp -p live/live.db live/grafana.db
DB=live/grafana.db doctor
broken "not grafana.db" "live/grafana.db is Grafana's own database.*fix: .*/var/lib/grafana/live.db" \
    "the bridge pointed at grafana.db"
rm live/grafana.db

chmod 2755 live
doctor
broken directory "live is group $GOOD, mode 2755: .*fix: sudo chgrp $GOOD live && sudo chmod g\+rwxs live" \
    "directory not group-writable"
chmod 2775 live

if root_only "new files would get the wrong group"; then
    chgrp -R "$OTHER" live
    chmod g-s live
    GROUP=$OTHER doctor
    like "$(printf '%s\n' "$OUT" | grep '^FAIL directory')" \
        "files the bridge creates in live \(the -wal and -shm\) would get group $(id -gn), not $OTHER; fix: sudo chmod g\+s live" \
        "no setgid bit and another process group: new WAL files would get the wrong group"
    chmod 2775 live
    GROUP=$OTHER doctor
    like "$OUT" "OK   directory: live is group $OTHER" "with the setgid bit they get the directory's"
    chgrp -R "$GOOD" live
fi

touch live/live.db-shm
chmod 644 live/live.db-shm
doctor
broken "wal files" "live/live.db-shm is group $GOOD, mode 0644: Grafana cannot read while the bridge writes; fix: sudo chgrp $GOOD live/live.db-shm && sudo chmod g\+rw live/live.db-shm" \
    "a -shm file Grafana cannot write"
rm live/live.db-shm

chmod 644 secrets.yaml
doctor
broken secrets "secrets.yaml is open to its group or other users \(mode 0644\): .*fix: chmod 600 secrets.yaml" \
    "secrets readable by others"
chmod 640 secrets.yaml
doctor
broken secrets "secrets.yaml is open to its group or other users \(mode 0640\): .*--insecure-secrets-ok; fix: chmod 600 secrets.yaml" \
    "secrets readable by the group (which bridge and history refuse too)"
chmod 600 secrets.yaml

SECRETS_FILE=missing.yaml doctor
is "$RC" 1 "no secrets file: exit status 1"
like "$OUT" "FAIL secrets: missing.yaml: No such file or directory; fix: create it" "no secrets file: the secrets check says so"
like "$OUT" "FAIL server: cannot try http://127.0.0.1:[0-9]+: .*missing.yaml" "and the server cannot be tried"

sed 's/s3cret pw/wrong pw/' secrets.yaml > wrong.yaml
chmod 600 wrong.yaml
SECRETS_FILE=wrong.yaml doctor
broken server "http://127.0.0.1:[0-9]+ rejects user 'Test User' from wrong.yaml \(HTTP 401\); fix: correct the basicauth entry for 127.0.0.1 in wrong.yaml" \
    "wrong password"

printf 'elsewhere.example.org:\n  basicauth: [a, b]\n' > other.yaml
chmod 600 other.yaml
SECRETS_FILE=other.yaml doctor
broken server "cannot try .*other.yaml.*127.0.0.1.*fix: add basicauth or digestauth for 127.0.0.1" \
    "no credentials for the server's host"

ML=missing.json doctor
broken masterlist "missing.json.*fix: vlbimon_bridge masterlist" "no masterlist"

stop_sim d
SERVER=$URL_d doctor
broken server "$URL_d.*fix: check the network, a proxy, and --server" "the server does not answer"

done_testing
