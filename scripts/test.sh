#!/usr/bin/env bash
# Sets up, builds and runs every test: unit and integration tests in the
# release build, then again in the ASan+UBSan build. Ends with the line
# "N passed, N failed" (and ", N skipped" when tests were skipped).
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --sanitize || { echo "0 passed, 1 failed"; exit 1; }

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

run_suite "unit" build/tests/unit/unit_tests
run_suite "integration" build/tests/integration/integration_tests
run_suite "unit (asan+ubsan)" build-asan/tests/unit/unit_tests
run_suite "integration (asan+ubsan)" build-asan/tests/integration/integration_tests

if ((skipped > 0)); then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
((failed == 0))
