#!/bin/bash
# run.sh SECONDS NAME... - `make fuzz`: runs each libFuzzer target
# build/fuzz/fuzz_NAME for SECONDS, starting from its seed corpus and
# regression inputs. New inputs it finds go to build/fuzz/corpus/NAME (the
# checked-in corpus stays as it is; copy the interesting ones over by hand).
# A crash, a sanitizer report, a leak or a timeout is a finding: the run
# fails and prints the input that shows it, to be fixed and then added to
# tests/fuzz/regressions/NAME/ so that `make test` replays it for good.
set -u
cd "$(dirname "$0")/../.." || exit 1
seconds=$1
shift
failed=()
for name in "$@"; do
    work=build/fuzz/corpus/$name
    artifacts=build/fuzz/findings/$name
    mkdir -p "$work" "$artifacts"
    seeds=(tests/fuzz/corpus/"$name")
    [ -d tests/fuzz/regressions/"$name" ] && seeds+=(tests/fuzz/regressions/"$name")
    dict=()
    [ -f tests/fuzz/"$name".dict ] && dict=(-dict=tests/fuzz/"$name".dict)
    echo "fuzz $name: ${seconds}s"
    log=build/fuzz/$name.log
    if build/fuzz/fuzz_"$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
        "$work" "${seeds[@]}" > "$log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done' "$log" | sed 's/^/  /'
    else
        echo "  FINDING: see $log; inputs:" $(ls "$artifacts")
        failed+=("$name")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "make fuzz: findings in: ${failed[*]}" >&2
    exit 1
fi
echo "make fuzz: no findings"
