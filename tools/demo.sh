#!/bin/bash
# demo.sh - what `make demo` runs: the built-in simulator on a free loopback
# port with a throw-away account, a fresh database, and the live bridge
# (--dt 1, the simulator at 60x) for about 30 seconds, stopped the way
# operators stop it (PLEASE-EXIT), then a summary of what landed.
# Everything stays in ./demo/ for a look with sqlite3 or Grafana.
set -eu
cd "$(dirname "$0")/.."
. tools/simlib.sh
SECONDS_TO_RUN=${DEMO_SECONDS:-30}
D=demo
rm -rf "$D"
mkdir -p "$D"

printf '127.0.0.1:\n  basicauth:\n  - Demo User\n  - demo pw\n' > "$D/secrets.yaml"
chmod 600 "$D/secrets.yaml"

# The simulated clock starts half an hour (plus two minutes) back and runs
# 60x, so the run ends near the present and the lag looks like production's.
start=$(($(date +%s) - 60 * SECONDS_TO_RUN - 120))
./vlbimon_sim --listen 127.0.0.1:0 --users "$D/secrets.yaml" --speed 60 --start-time "$start" \
    --served "$D/served.csv" > "$D/sim.out" 2> "$D/sim.log" &
sim=$!
trap 'kill $sim 2> /dev/null; wait $sim 2> /dev/null || true' EXIT
url=$(sim_url "$D/sim.out")
[ -n "$url" ] || { echo "demo: the simulator did not start: $(cat "$D/sim.log")" >&2; exit 1; }
echo "simulator: $url"

# The server's own catalogue, as in production (`vlbimon_bridge masterlist`).
./vlbimon_bridge --server "$url" masterlist -o "$D/masterlist.json" > /dev/null
./vlbimon_bridge --masterlist "$D/masterlist.json" initdb --sqlitedb "$D/live.db"
echo "database:  $D/live.db (initdb, with the simulator's masterlist)"
./vlbimon_bridge -v --server "$url" --secrets "$D/secrets.yaml" --datadir "$D/data" \
    --masterlist "$D/masterlist.json" bridge --sqlitedb "$D/live.db" --dt 1 --start "$start" \
    2> "$D/bridge.log" &
bridge=$!
echo "bridge:    running for $SECONDS_TO_RUN s (log: $D/bridge.log)"
sleep "$SECONDS_TO_RUN"
touch "$D/data/PLEASE-EXIT"
status=0
wait $bridge || status=$?
echo "bridge:    stopped by PLEASE-EXIT, exit status $status"
grep -E 'notice|warning|error' "$D/bridge.log" | sed 's/^/  /'
echo
./vlbimon_bridge run tools/demo-summary.lua "$D/live.db"
curl -s "$url/sim/stats" | sed -n 's/.*"connections": \([0-9]*\), "requests": \([0-9]*\).*/simulator: \2 requests on \1 connection(s), this summary included/p'
exit "$status"
