#!/usr/bin/env bash
# Sets up, builds and runs every test: unit and integration tests in the
# release build, then again in the ASan+UBSan build, then each fuzz target
# (clang, ASan+UBSan) over its regression and seed corpora, once per input
# (one test per target). Ends with the line "N passed, N failed" (and
# ", N skipped" when tests were skipped).
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --sanitize --fuzz || { echo "0 passed, 1 failed"; exit 1; }

export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

passed=0 failed=0 skipped=0
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

run_suite() {
    local name=$1 bin=$2 log="$logdir/$(echo "$1" | tr ' /' '__').log"
    echo "=== $name"
    "$bin" --gtest_color=no 2>&1 | tee "$log" | grep -E '^\[  (FAILED|SKIPPED) |^\[==========\]|^\[  PASSED  \]' || true
    local p f s
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    if [[ -z $p ]]; then
        echo "$name: the test binary did not finish (crash or sanitizer report):"
        tail -30 "$log"
        failed=$((failed + 1))
        return
    fi
    passed=$((passed + p))
    failed=$((failed + ${f:-0}))
    skipped=$((skipped + ${s:-0}))
}

# A fuzz target over fuzz/regress/TARGET and fuzz/corpus/TARGET: every file
# once, no fuzzing (file arguments only: nothing is written), deterministic.
run_fuzz_inputs() {
    local target=$1 bin=build-fuzz/fuzz/$1 log="$logdir/fuzz_$1.log"
    local inputs=()
    echo "=== fuzz $target"
    shopt -s nullglob
    inputs=(fuzz/regress/"$target"/* fuzz/corpus/"$target"/*)
    shopt -u nullglob
    if [[ ! -x $bin || ${#inputs[@]} -eq 0 ]]; then
        echo "fuzz $target: no $bin, or no inputs in fuzz/regress/$target and fuzz/corpus/$target"
        failed=$((failed + 1))
        return
    fi
    if "$bin" -rss_limit_mb=4096 "${inputs[@]}" >"$log" 2>&1; then
        echo "fuzz $target: ${#inputs[@]} inputs"
        passed=$((passed + 1))
    else
        echo "fuzz $target: an input of the regression or seed corpus fails:"
        grep -E '^Running: ' "$log" | tail -1
        tail -30 "$log"
        failed=$((failed + 1))
    fi
}

run_suite "unit" build/tests/unit/unit_tests
run_suite "integration" build/tests/integration/integration_tests
run_suite "unit (asan+ubsan)" build-asan/tests/unit/unit_tests
run_suite "integration (asan+ubsan)" build-asan/tests/integration/integration_tests
for target in fuzz_packet fuzz_respond fuzz_config; do
    run_fuzz_inputs "$target"
done

if ((skipped > 0)); then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
((failed == 0))
