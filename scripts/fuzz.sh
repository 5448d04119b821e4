#!/usr/bin/env bash
# A bounded fuzzing campaign on every libFuzzer target in fuzz/ (or those
# named), one after the other, SECONDS each (default 600), then one line per
# target: executions, executions per second, coverage of the corpus it
# reached (libFuzzer's cov / ft), crashes, timeouts and out-of-memory runs.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Builds build-fuzz/ first (scripts/setup.sh --fuzz, clang). Each target
# starts from its committed corpora (fuzz/regress/TARGET, fuzz/corpus/TARGET,
# read only) and grows a work corpus of its own in
# $FUZZ_WORK/TARGET/corpus (default build-fuzz/fuzz-work), kept from one
# campaign to the next; what crashed is saved in $FUZZ_WORK/TARGET/crashes/
# (reproduce: build-fuzz/fuzz/TARGET FILE). A crash does not end the
# campaign (libFuzzer's -fork=1 -ignore_crashes=1). Exits 1 when something
# crashed, timed out or ran out of memory. docs/reliability.md, "Fuzzing".
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=600
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
case "${1:-}" in
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
esac
all_targets=(fuzz_packet fuzz_respond fuzz_config)
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=("${all_targets[@]}")
fi
for t in "${targets[@]}"; do
    if [[ ! " ${all_targets[*]} " =~ " $t " ]]; then
        echo "fuzz.sh: no target '$t' (targets: ${all_targets[*]})" >&2
        exit 2
    fi
done

if [[ -f build-fuzz/build.ninja ]]; then
    ninja -C build-fuzz >/dev/null || { echo "fuzz.sh: build-fuzz does not build" >&2; exit 1; }
else
    scripts/setup.sh --fuzz || exit 1
fi

work=${FUZZ_WORK:-build-fuzz/fuzz-work}
# ASan's own checks stop at the first report; leaks are looked for after
# every input (libFuzzer's -detect_leaks).
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

summary=()
status=0
for t in "${targets[@]}"; do
    dir="$work/$t"
    mkdir -p "$dir/corpus" "$dir/crashes"
    log="$dir/campaign.log"
    args=(-fork=1 -ignore_crashes=1 -max_total_time="$seconds" -timeout=10
          -rss_limit_mb=4096 -max_len=4096 -print_final_stats=1
          -artifact_prefix="$dir/crashes/")
    # Words libFuzzer splices into inputs: the configuration's keys, or the
    # values the packet path looks for.
    dict=fuzz/frames.dict
    [[ $t == fuzz_config ]] && dict=fuzz/config.dict
    args+=(-dict="$dict")
    seeds=()
    for d in "fuzz/regress/$t" "fuzz/corpus/$t"; do
        [[ -d $d ]] && seeds+=("$d")
    done
    echo "=== $t: ${seconds} s, work corpus $dir/corpus, crashes to $dir/crashes/"
    start=$(date +%s)
    "build-fuzz/fuzz/$t" "${args[@]}" "$dir/corpus" "${seeds[@]}" >"$log" 2>&1
    elapsed=$(( $(date +%s) - start ))
    # The last progress line of fork mode:
    # "#EXECS: cov: C ft: F corp: N exec/s E oom/timeout/crash: O/T/X time: Ss job: J ..."
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
    execs=$(sed -n 's/^#\([0-9]*\):.*/\1/p' <<<"$last")
    otc=$(sed -n 's/.*oom\/timeout\/crash: \([0-9]*\/[0-9]*\/[0-9]*\).*/\1/p' <<<"$last")
    # Coverage of the corpus the campaign reached (its own and the committed
    # ones), measured the same way for every target: one pass, no fuzzing.
    inited=$("build-fuzz/fuzz/$t" -runs=0 -rss_limit_mb=4096 -max_len=4096 "$dir/corpus" \
             "${seeds[@]}" 2>&1 |
             grep -E 'INITED|DONE' | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$inited")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$inited")
    corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$inited")
    crashes=$(find "$dir/crashes" -type f -newermt "@$start" | wc -l)
    IFS=/ read -r ooms timeouts _ <<<"${otc:-0/0/0}"
    per_s=0
    if ((elapsed > 0)); then
        per_s=$(( ${execs:-0} / elapsed ))
    fi
    line=$(printf '%-13s %5ss %11s execs %7s exec/s  cov %5s  ft %6s  corpus %5s  crash inputs %s  timeouts %s  ooms %s' \
        "$t" "$elapsed" "${execs:-?}" "$per_s" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes" \
        "${timeouts:-0}" "${ooms:-0}")
    echo "$line"
    summary+=("$line")
    if ((crashes > 0 || ${timeouts:-0} > 0 || ${ooms:-0} > 0)) || [[ -z $last ]]; then
        status=1
        [[ -z $last ]] && tail -20 "$log"
        find "$dir/crashes" -type f -newermt "@$start" | head -5
    fi
done

echo "=== campaign of ${seconds} s per target ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs)"
printf '%s\n' "${summary[@]}"
if ((status != 0)); then
    echo "crashes, timeouts or out-of-memory runs: see $work/*/crashes/ and $work/*/campaign.log"
fi
exit "$status"
