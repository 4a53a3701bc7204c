# simlib.sh - sourced by the shell tools that start a vlbimon_sim in the
# background (demo.sh, soak.sh, bench/run.sh).

# sim_url OUTFILE : the simulator's URL from the first line it prints to
# stdout ("listening on URL"), waiting up to 5 s; empty when it never came.
sim_url() {
    local url= i
    for i in $(seq 100); do
        url=$(sed -n 's/^listening on //p' "$1")
        [ -n "$url" ] && break
        sleep 0.05
    done
    printf '%s' "$url"
}
