#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || die": die when either fails
# compare_builds.sh: two dpdk-app binaries side by side (A = --old, B = --new)
# on the replay workloads of docs/performance.md, so that a change can show
# it costs nothing:
#
#   bridge   bridge mode, 64-byte UDP frames replayed on port 0, bridged out
#            of port 1
#   router   router mode with --routes extra IPv4 routes (default 1M) plus
#            the two routes of router_replay.sh; the frames go out of port 1
#   ping     an [[interface]] on port 0 owning the frames' destination: every
#            frame is an ICMP echo request the responder answers out of port 0
#
# One forwarding lcore each (-l 0,1), net_pcap with infinite_rx on port 0
# (without tx_pcap net_pcap counts what is sent and drops it). Both binaries
# of a case are started once with the same configuration and held with
# SIGSTOP; the measurement windows alternate A B A B ... for --pairs rounds
# (the process not measured is stopped). A rate is the sum of opackets of
# ports 0 and 1 from /ethdev/stats over the telemetry socket, read twice
# INTERVAL seconds apart after a warm-up. The summary gives each median and
# the ratio B/A (new/old); docs/performance.md records the figures.
#
# Exit status: 0 when every case measured and neither binary dropped a
# packet in a window, 1 otherwise, 2 on bad usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RTOOL="$ROOT/bench/replay/router_tool.py"
PTOOL="$ROOT/bench/replay/ping_tool.py"
PY=/usr/bin/python3
NEW="$ROOT/build/app/dpdk-app"
OLD=""

CASES=bridge,router,ping
PAIRS=5
WARMUP=2
INTERVAL=5
FRAMES=1024
ROUTES=1000000
MBUFS=16383
MEM=2048
START_TIMEOUT=900
KEEP=0
HUGE=0

MAC0=02:00:00:00:00:01
MAC1=02:00:00:00:01:01
NEIGH0=02:00:00:00:0a:02
NEIGH1=02:00:00:00:0b:02
PEER_MAC=02:00:00:00:00:02

usage() {
    cat <<EOF
usage: $0 --old PATH [options]

  --old PATH         dpdk-app binary A, e.g. built from the commit before a
                     change (git worktree add /tmp/old <commit>; meson setup
                     /tmp/old/build /tmp/old; ninja -C /tmp/old/build app/dpdk-app)
  --new PATH         dpdk-app binary B (default build/app/dpdk-app)
  --cases LIST       comma-separated, of bridge, router, ping (default $CASES)
  --pairs N          A/B rounds per case (default $PAIRS)
  --warmup S         seconds after resuming before the first sample (default $WARMUP)
  --interval S       seconds between the two samples (default $INTERVAL)
  --frames N         frames in the replayed capture (default $FRAMES)
  --routes N         extra IPv4 routes of the router case (default $ROUTES)
  --mbufs N          mempool.mbufs (default $MBUFS)
  --mem MB           EAL -m of each process (default $MEM)
  --start-timeout S  longest wait for a process to forward (default $START_TIMEOUT)
  --hugepages        use hugepages instead of --no-huge (reserve >= 2 x --mem
                     first: both processes of a case hold their memory all along)
  --keep             keep the temporary directory (configs, logs)
EOF
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --old) OLD=$2; shift 2 ;;
        --new) NEW=$2; shift 2 ;;
        --cases) CASES=$2; shift 2 ;;
        --pairs) PAIRS=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --interval) INTERVAL=$2; shift 2 ;;
        --frames) FRAMES=$2; shift 2 ;;
        --routes) ROUTES=$2; shift 2 ;;
        --mbufs) MBUFS=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --start-timeout) START_TIMEOUT=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --hugepages) HUGE=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "compare_builds.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

SCRIPT=compare_builds.sh
# shellcheck source=bench/replay/args.sh
source "$ROOT/bench/replay/args.sh"

[[ -n $OLD ]] || die "--old PATH is required"
[[ -x $OLD ]] || die "no dpdk-app binary at $OLD"
[[ -x $NEW ]] || die "no dpdk-app binary at $NEW"
is_int_min "$PAIRS" 1 || die "--pairs must be a positive integer"
at_least "$WARMUP" 0 || die "--warmup must be a number of seconds"
at_least "$INTERVAL" 0.5 || die "--interval must be at least 0.5 s"
is_int_min "$FRAMES" 2 || die "--frames must be an integer >= 2"
is_uint "$ROUTES" || die "--routes must be an integer >= 0"
is_int_min "$MBUFS" 1023 || die "--mbufs must be an integer >= 1023"
is_int_min "$MEM" 256 || die "--mem must be an integer >= 256 (MB)"
is_int_min "$START_TIMEOUT" 10 || die "--start-timeout must be >= 10 s"
IFS=, read -r -a CASE_LIST <<<"$CASES"
for c in "${CASE_LIST[@]}"; do
    case "$c" in bridge | router | ping) ;; *) die "unknown case '$c' (bridge, router, ping)" ;; esac
done
[[ -x $PY ]] || die "$PY not found"
(($(nproc) >= 2)) || die "needs at least 2 CPUs (main lcore + one forwarding lcore)"

TMP_PREFIX=dpdk-app-compare-builds
# shellcheck source=bench/replay/common.sh
source "$ROOT/bench/replay/common.sh"
[[ $TMP != *,* ]] || die "the temporary directory must not contain a comma (it goes into --vdev)"

tool() { run_tool "$@"; }  # script args...: common.sh

EMPTY="$TMP/empty.pcap"
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' >"$EMPTY"

config() { # case -> config file, capture in $CASE_PCAP
    local c=$1 f="$TMP/$1.toml"
    CASE_PCAP="$TMP/$c.pcap"
    case "$c" in
        bridge)
            tool "$RTOOL" gen-pcap "$CASE_PCAP" "$FRAMES" "$MAC0" || die "gen-pcap: $TOOL_OUT"
            printf '[dataplane]\nmode = "bridge"\n[mempool]\nmbufs = %s\n' "$MBUFS" >"$f"
            ;;
        ping)
            tool "$PTOOL" gen-pcap "$CASE_PCAP" "$FRAMES" "$MAC0" "$PEER_MAC" 192.0.2.2 192.0.2.1 ||
                die "gen-pcap: $TOOL_OUT"
            cat >"$f" <<EOF
[dataplane]
mode = "bridge"
[mempool]
mbufs = $MBUFS
[[interface]]
port = "net_pcap0"
mac = "$MAC0"
addresses = ["192.0.2.1/24"]
EOF
            ;;
        router)
            tool "$RTOOL" gen-pcap "$CASE_PCAP" "$FRAMES" "$MAC0" || die "gen-pcap: $TOOL_OUT"
            [[ -f $TMP/routes.txt ]] || tool "$RTOOL" gen-routes "$ROUTES" 1 "$TMP/routes.txt" 198.51.100.2 ||
                die "gen-routes: $TOOL_OUT"
            write_router_toml "$f" "$MBUFS"
            ;;
    esac
    CASE_CONFIG=$f
}

EAL_MEM=(-m "$MEM")
if ((HUGE)); then EAL_MEM+=(--huge-unlink); else EAL_MEM+=(--no-huge); fi

declare -A PID_OF SOCK_OF
start() { # case which(A|B) binary
    local c=$1 w=$2 bin=$3 prefix="compare_builds_$$_$1_$2" log="$TMP/$1-$2.log"
    PREFIXES+=("$prefix")
    rm -rf "${RUNTIME_BASE:?}/$prefix"
    "$bin" --no-pci "${EAL_MEM[@]}" -l 0,1 --file-prefix "$prefix" \
        --vdev "net_pcap0,rx_pcap=$CASE_PCAP,infinite_rx=1" --vdev "net_pcap1,rx_pcap=$EMPTY" \
        -- --config "$CASE_CONFIG" --quiet </dev/null >"$log" 2>&1 &
    PID_OF[$w]=$!
    PIDS+=("$!")
    SOCK_OF[$w]="$RUNTIME_BASE/$prefix/dpdk_telemetry.v2"
    local t0=$SECONDS
    if ! tool "$RTOOL" wait-forwarding "${SOCK_OF[$w]}" "${PID_OF[$w]}" 0,1 "$START_TIMEOUT"; then
        echo "  $c $w did not start forwarding: $TOOL_OUT"
        tail -n 12 "$log" | sed 's/^/  | /'
        exit 1
    fi
    kill -STOP "${PID_OF[$w]}"
    printf '  %-6s %s pid %s forwarding after %d s, held\n' "$c" "$w" "${PID_OF[$w]}" $((SECONDS - t0))
}

RATE=""
BAD=0
measure() { # case which label
    local c=$1 w=$2 pid=${PID_OF[$2]}
    kill -CONT "$pid" 2>/dev/null || true
    if tool "$RTOOL" measure "${SOCK_OF[$w]}" "$pid" 0,1 "$WARMUP" "$INTERVAL" app &&
        [[ $TOOL_OUT =~ mpps=([0-9.]+)\ .*drops=([^ ]+) ]]; then
        RATE=${BASH_REMATCH[1]}
        printf '  %-6s %s %8.3f Mpps  drops: %s\n' "$c" "$w" "$RATE" "${BASH_REMATCH[2]}"
        [[ ${BASH_REMATCH[2]} == none ]] || BAD=1
    else
        RATE=fail
        BAD=1
        printf '  %-6s %s FAILED: %s\n' "$c" "$w" "$TOOL_OUT"
    fi
    kill -STOP "$pid" 2>/dev/null || true
}

median() { # values...; "fail" ignored; "-" when none
    local v=() x
    for x in "$@"; do [[ $x == fail ]] || v+=("$x"); done
    if ((${#v[@]} == 0)); then echo "-"; return; fi
    printf '%s\n' "${v[@]}" | sort -g | awk '{ a[NR] = $1 } END {
        if (NR % 2) printf "%.3f", a[(NR + 1) / 2]; else printf "%.3f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== compare_builds: A = $OLD, B = $NEW"
echo "   cases $CASES, $PAIRS pair(s), warm-up ${WARMUP}s, interval ${INTERVAL}s, ${EAL_MEM[*]}, load $LOAD_START"
SUMMARY=()
for c in "${CASE_LIST[@]}"; do
    config "$c"
    start "$c" A "$OLD"
    start "$c" B "$NEW"
    RA=() RB=()
    for ((p = 1; p <= PAIRS; p++)); do
        measure "$c" A
        RA+=("$RATE")
        measure "$c" B
        RB+=("$RATE")
    done
    for w in A B; do
        stop_pid "${PID_OF[$w]}"
        forget "${PID_OF[$w]}"
    done
    ma=$(median "${RA[@]}")
    mb=$(median "${RB[@]}")
    r="-"
    if [[ $ma != - && $mb != - ]]; then r=$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.3f", b / a }'); fi
    SUMMARY+=("$(printf '%-7s A %-8s B %-8s B/A %-6s  A runs: %s  B runs: %s' "$c" "$ma" "$mb" "$r" \
        "${RA[*]}" "${RB[*]}")")
    [[ $r != - ]] || BAD=1
done

echo
echo "==== compare_builds summary (Mpps medians) ========================="
printf 'date     %s, load %s (start) / %s (end), %s CPU(s)\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
printf '%s\n' "${SUMMARY[@]}"
echo "===================================================================="
((BAD == 0))
