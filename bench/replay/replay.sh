#!/usr/bin/env bash
# replay.sh: forwarding rate of dpdk-app (bridge mode) against dpdk-testpmd
# (io forwarding), one forwarding lcore each, replaying a pcap of 64-byte
# frames through net_pcap (infinite_rx; without tx_pcap the driver drops and
# counts what is sent). Both rates are read the same way: /ethdev/stats,0
# opackets over the DPDK telemetry socket, twice, INTERVAL seconds apart
# after a warm-up. The runs alternate A B A B ... for --pairs rounds.
#
# Run from anywhere; `bench/replay/replay.sh --help` lists the options.
# docs/performance.md explains the output and records measured figures.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOL="$ROOT/bench/replay/replay_tool.py"
PY=/usr/bin/python3
APP="$ROOT/build/app/dpdk-app"
TESTPMD=$(command -v dpdk-testpmd || echo /usr/bin/dpdk-testpmd)
MICRO="$ROOT/build/bench/micro/micro_bench"

MODE=compare
PAIRS=5
WARMUP=2
INTERVAL=5
FRAMES=1024
PCAP=""
MBUFS=16383
MEM=512
HUGE=0
SHARED_MAIN=0
RUN_MICRO=1
KEEP=0

usage() {
    cat <<EOF
usage: $0 [options]

  --mode M         compare (default): testpmd io-fwd (A) vs dpdk-app bridge (B)
                   hop: dpdk-app on 1 worker lcore (A) vs rx+bridge | tx on
                        2 worker lcores joined by a ring (B); needs 3 CPUs
                        (or --shared-main), else only reports the ring hop
                        cost from micro_bench
                   all: compare, then hop
  --pairs N        A/B rounds (default $PAIRS)
  --warmup S       seconds of traffic before the first sample (default $WARMUP)
  --interval S     seconds between the two samples (default $INTERVAL)
  --pcap FILE      replay FILE instead of a generated one
  --frames N       frames in the generated pcap (default $FRAMES)
  --mbufs N        mbuf pool of both applications (default $MBUFS; net_pcap
                   infinite_rx keeps a copy of the whole pcap in mbufs)
  --mem MB         EAL -m (default $MEM)
  --hugepages      use hugepages instead of --no-huge (reserve >= --mem first)
  --shared-main    hop mode on a 2-CPU machine: workers on CPU 0 and 1, the
                   main lcore (which mostly sleeps) floating over both
  --app PATH       dpdk-app binary (default build/app/dpdk-app)
  --testpmd PATH   dpdk-testpmd binary (default $TESTPMD)
  --micro PATH     micro_bench binary for the ring hop figures
                   (default build/bench/micro/micro_bench)
  --no-micro       do not run micro_bench
  --keep           keep the temporary directory (logs, stats JSON)
EOF
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --mode) MODE=$2; shift 2 ;;
        --pairs) PAIRS=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --interval) INTERVAL=$2; shift 2 ;;
        --pcap) PCAP=$2; shift 2 ;;
        --frames) FRAMES=$2; shift 2 ;;
        --mbufs) MBUFS=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --hugepages) HUGE=1; shift ;;
        --shared-main) SHARED_MAIN=1; shift ;;
        --app) APP=$2; shift 2 ;;
        --testpmd) TESTPMD=$2; shift 2 ;;
        --micro) MICRO=$2; shift 2 ;;
        --no-micro) RUN_MICRO=0; shift ;;
        --keep) KEEP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "replay.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

SCRIPT=replay.sh
# shellcheck source=bench/replay/args.sh
source "$ROOT/bench/replay/args.sh"

case "$MODE" in compare | hop | all) ;; *) die "--mode must be compare, hop or all" ;; esac
is_int_min "$PAIRS" 1 || die "--pairs must be a positive integer"
at_least "$WARMUP" 0 || die "--warmup must be a number of seconds"
at_least "$INTERVAL" 0.5 || die "--interval must be at least 0.5 s"
is_int_min "$FRAMES" 1 || die "--frames must be a positive integer"
is_int_min "$MBUFS" 1023 || die "--mbufs must be an integer >= 1023"
is_int_min "$MEM" 64 || die "--mem must be an integer >= 64 (MB)"
[[ -x $PY ]] || die "$PY not found"
[[ -f $TOOL ]] || die "$TOOL not found"
[[ -x $APP ]] || die "dpdk-app not found at $APP (build it: meson setup build && ninja -C build)"
if [[ $MODE != hop ]]; then
    [[ -x $TESTPMD ]] || die "dpdk-testpmd not found at $TESTPMD"
fi
if [[ -n $PCAP ]]; then
    [[ -r $PCAP ]] || die "cannot read $PCAP"
    PCAP=$(cd "$(dirname "$PCAP")" && pwd)/$(basename "$PCAP")
fi
[[ $PCAP != *,* ]] || die "the pcap path must not contain a comma (it goes into --vdev)"
NCPU=$(nproc)
((NCPU >= 2)) || die "needs at least 2 CPUs (main lcore + one forwarding lcore)"

TMP_PREFIX=dpdk-app-replay
# shellcheck source=bench/replay/common.sh
source "$ROOT/bench/replay/common.sh"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if [[ -z $PCAP ]]; then
    PCAP="$TMP/frames.pcap"
    "$PY" "$TOOL" gen-pcap "$PCAP" "$FRAMES"
fi

printf '[mempool]\nmbufs = %d\n' "$MBUFS" >"$TMP/one.toml"
printf '[dataplane]\nvalidate = false\n\n[mempool]\nmbufs = %d\n' "$MBUFS" >"$TMP/wire.toml"
printf '[mempool]\nmbufs = %d\n\n[pipeline]\nplacement = [["rx", "parse", "bridge"], ["tx"]]\n' \
    "$MBUFS" >"$TMP/hop.toml"

EAL_MEM=(-m "$MEM")
if ((HUGE)); then
    EAL_MEM+=(--huge-unlink)
else
    EAL_MEM+=(--no-huge)
fi
VDEV="net_pcap0,rx_pcap=$PCAP,infinite_rx=1"
# Without hugepages dpdk-app packs its mbufs back to back (RTE_MEMPOOL_F_NO_IOVA_CONTIG,
# as on hugepages); testpmd's default would start each mbuf on its own 4 KiB page,
# which is slower for reasons that have nothing to do with forwarding. Give testpmd
# the same packed layout so that the comparison is fair.
TESTPMD_POOL=()
if ((!HUGE)); then
    TESTPMD_POOL=(--mp-alloc=anon --no-iova-contig)
fi
APP_DURATION=$(awk -v w="$WARMUP" -v i="$INTERVAL" 'BEGIN { printf "%d", w + i + 60 }')

RUN=0
RATE=""
# run_one KIND LABEL -> sets RATE (Mpps, or "fail") and prints one line.
#   KIND: testpmd | app (dpdk-app, 1 worker) | hop1 (the same in hop mode) |
#         hop2 (dpdk-app, 2 workers joined by a ring)
run_one() {
    local kind=$1 label=$2 prefix log sock out pid lcores cfg
    RUN=$((RUN + 1))
    prefix="replay_$$_$RUN"
    PREFIXES+=("$prefix")
    log="$TMP/run$RUN-$kind.log"
    sock="$RUNTIME_BASE/$prefix/dpdk_telemetry.v2"
    case "$kind" in
        testpmd)
            "$TESTPMD" --no-pci "${EAL_MEM[@]}" -l 0,1 --file-prefix "$prefix" --vdev "$VDEV" \
                -- --forward-mode=io --nb-cores=1 --auto-start --no-flush-rx \
                --total-num-mbufs=$((MBUFS + 1)) --mbcache=256 --burst=32 \
                --stats-period=86400 "${TESTPMD_POOL[@]}" </dev/null >"$log" 2>&1 &
            ;;
        app | wire | hop1 | hop2)
            lcores=(-l "0,1")
            cfg="$TMP/one.toml"
            [[ $kind == wire ]] && cfg="$TMP/wire.toml"
            if [[ $kind == hop1 ]] && ((NCPU < 3)); then
                lcores=(--lcores '0@(0-1),1@1')
            elif [[ $kind == hop2 ]]; then
                if ((NCPU >= 3)); then lcores=(-l 0-2); else lcores=(--lcores '0@(0-1),1@0,2@1'); fi
                cfg="$TMP/hop.toml"
            fi
            "$APP" --no-pci "${EAL_MEM[@]}" "${lcores[@]}" --file-prefix "$prefix" --vdev "$VDEV" \
                -- --config "$cfg" --quiet --duration "$APP_DURATION" \
                --stats-json "$TMP/run$RUN-$kind.json" </dev/null >"$log" 2>&1 &
            ;;
    esac
    pid=$!
    PIDS+=("$pid")
    # In the background so that a signal to this script is handled at once.
    "$PY" "$TOOL" measure "$sock" "$pid" 0 "$WARMUP" "$INTERVAL" >"$TMP/measure.out" 2>&1 &
    local mpid=$!
    PIDS+=("$mpid")
    wait "$mpid" || true
    forget "$mpid"
    out=$(cat "$TMP/measure.out")
    stop_pid "$pid"
    forget "$pid"
    rm -rf "${RUNTIME_BASE:?}/$prefix"
    if [[ $out =~ mpps=([0-9.]+)\ rx_mpps=([0-9.]+) ]]; then
        RATE=${BASH_REMATCH[1]}
        printf '  run %2d  %-22s %8.3f Mpps   (rx %.3f Mpps)\n' "$RUN" "$label" "$RATE" \
            "${BASH_REMATCH[2]}"
    else
        RATE=fail
        printf '  run %2d  %-22s FAILED: %s\n' "$RUN" "$label" "$out"
        echo "  --- last lines of $log:"
        tail -n 8 "$log" | sed 's/^/  | /'
    fi
}

median() { # values..., "fail" ignored; "-" when none
    local v=()
    local x
    for x in "$@"; do [[ $x == fail ]] || v+=("$x"); done
    if ((${#v[@]} == 0)); then echo "-"; else "$PY" "$TOOL" median "${v[@]}"; fi
}
ratio() { # b a
    if [[ $1 == - || $2 == - ]]; then echo "-"; else awk -v b="$1" -v a="$2" 'BEGIN { printf "%.3f", b / a }'; fi
}
fmt_runs() { # Mpps values to 2 decimals, "fail" kept
    local x s=""
    for x in "$@"; do
        if [[ $x == fail ]]; then s+="fail "; else s+=$(printf '%.2f ' "$x"); fi
    done
    echo "${s% }"
}

SUMMARY=()
# shellcheck disable=SC2059 # add FORMAT ARGS...: printf into the summary
add() { SUMMARY+=("$(printf "$@")"); }

stage_lines() { # kind -> "name@lcoreN cycles" lines over that kind's stats JSON
    local files=("$TMP"/run*-"$1".json)
    [[ -e ${files[0]} ]] || return 0
    "$PY" "$TOOL" stages "${files[@]}"
}

echo "== dpdk-app replay benchmark: mode $MODE, $PAIRS pair(s), warm-up ${WARMUP}s, interval ${INTERVAL}s"
echo "   pcap $PCAP, ${EAL_MEM[*]}, mbufs $MBUFS, $NCPU CPU(s), load $LOAD_START"

if [[ $MODE == compare || $MODE == all ]]; then
    echo "== compare: A = dpdk-testpmd io-fwd, B = dpdk-app bridge (default: parse + validate),"
    echo "   C = dpdk-app bridge with dataplane.validate = false (-l 0,1: one forwarding lcore each)"
    TP=()
    DA=()
    DW=()
    for ((p = 1; p <= PAIRS; p++)); do
        run_one testpmd "A testpmd io (pair $p)"
        TP+=("$RATE")
        run_one app "B dpdk-app (pair $p)"
        DA+=("$RATE")
        run_one wire "C dpdk-app wire ($p)"
        DW+=("$RATE")
    done
    TP_MED=$(median "${TP[@]}")
    DA_MED=$(median "${DA[@]}")
    DW_MED=$(median "${DW[@]}")
    R=$(ratio "$DA_MED" "$TP_MED")
    RW=$(ratio "$DW_MED" "$TP_MED")
    add 'testpmd io-fwd     Mpps  median %-8s runs: %s' "$TP_MED" "$(fmt_runs "${TP[@]}")"
    add 'dpdk-app bridge    Mpps  median %-8s runs: %s' "$DA_MED" "$(fmt_runs "${DA[@]}")"
    add 'dpdk-app no-valid. Mpps  median %-8s runs: %s' "$DW_MED" "$(fmt_runs "${DW[@]}")"
    add 'ratio dpdk-app/testpmd   %s  (validating bridge, the default)' "$R"
    add 'ratio no-validate/testpmd %s  (target >= 0.95: %s)' "$RW" \
        "$(awk -v r="$RW" 'BEGIN { if (r == "-") print "-"; else print (r >= 0.95 ? "meets" : "BELOW") }')"
    while read -r name cyc n; do
        add 'dpdk-app stage %-16s %8s cycles/packet (median of %s runs)' "$name" "$cyc" "$n"
    done < <(stage_lines app)
fi

if [[ $MODE == hop || $MODE == all ]]; then
    if ((NCPU >= 3 || SHARED_MAIN)); then
        if ((NCPU >= 3)); then
            echo "== hop: A = dpdk-app -l 0,1 (1 worker), B = -l 0-2 with placement [[rx, parse, bridge], [tx]]"
        else
            echo "== hop: A = dpdk-app --lcores '0@(0-1),1@1', B = --lcores '0@(0-1),1@0,2@1'"
            echo "   with placement [[rx, parse, bridge], [tx]] (--shared-main: the main lcore shares the CPUs)"
        fi
        H1=()
        H2=()
        for ((p = 1; p <= PAIRS; p++)); do
            run_one hop1 "A 1 lcore (pair $p)"
            H1+=("$RATE")
            run_one hop2 "B ring hop (pair $p)"
            H2+=("$RATE")
        done
        H1_MED=$(median "${H1[@]}")
        H2_MED=$(median "${H2[@]}")
        add 'hop A 1 lcore      Mpps  median %-8s runs: %s' "$H1_MED" "$(fmt_runs "${H1[@]}")"
        add 'hop B 2 lcores     Mpps  median %-8s runs: %s' "$H2_MED" "$(fmt_runs "${H2[@]}")"
        add 'ratio hop B/A            %s' "$(ratio "$H2_MED" "$H1_MED")"
        while read -r name cyc n; do
            add 'hop B stage %-19s %8s cycles/packet (median of %s runs)' "$name" "$cyc" "$n"
        done < <(stage_lines hop2)
    else
        echo "== hop: skipped, $NCPU CPUs: a ring hop needs 2 worker lcores + the main lcore"
        echo "   (3 CPUs; --shared-main runs it with the main lcore sharing the 2 CPUs)."
        add 'hop end to end           skipped (%s CPUs); ring hop cost from micro_bench below' "$NCPU"
        if [[ $MODE == hop ]]; then
            # Per-stage cycles of the single-lcore pipeline, for reference.
            run_one app "dpdk-app 1 lcore"
            while read -r name cyc n; do
                add 'dpdk-app stage %-16s %8s cycles/packet' "$name" "$cyc"
            done < <(stage_lines app)
        fi
    fi
fi

if ((RUN_MICRO)); then
    if [[ -x $MICRO ]]; then
        echo "== micro_bench: ring hop and stage call figures"
        if "$MICRO" --benchmark_filter='ring_sp_sc_same_core/32|ring_hop|mbuf_pipeline|stage_bridge.*/32|stage_noop' \
            --benchmark_out="$TMP/micro.json" --benchmark_out_format=json >"$TMP/micro.log" 2>&1; then
            while IFS= read -r line; do
                add '%s' "$line"
            done < <("$PY" "$TOOL" micro "$TMP/micro.json")
        else
            echo "  micro_bench failed:"
            tail -n 8 "$TMP/micro.log" | sed 's/^/  | /'
        fi
    else
        echo "== micro_bench not built ($MICRO): no ring hop figures"
    fi
fi

CPU_MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)
GIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]]; then GIT+="+dirty"; fi
echo
echo "==== replay summary ================================================"
printf 'date        %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf 'machine     %s, %s CPU(s), load %s (start) / %s (end)\n' "${CPU_MODEL:-unknown CPU}" \
    "$NCPU" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'software    %s, %s, git %s\n' "$("$APP" -- --version 2>/dev/null | head -n1)" \
    "$(basename "$TESTPMD")" "$GIT"
printf 'setup       net_pcap infinite_rx %s, %s, mbufs %s, warm-up %ss, interval %ss, %s pair(s)\n' \
    "$(basename "$PCAP")" "${EAL_MEM[*]}" "$MBUFS" "$WARMUP" "$INTERVAL" "$PAIRS"
for line in "${SUMMARY[@]}"; do
    echo "$line"
done
echo "===================================================================="
