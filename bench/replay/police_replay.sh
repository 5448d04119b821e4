#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || die": die when either fails
# police_replay.sh: forwarding rate of dpdk-app policing every packet of a
# port with one aggregate trTCM policer against DPDK's qos_meter example
# (trTCM, colour blind, the same rates), one forwarding lcore each,
# replaying the same pcap of 64-byte IPv4/UDP frames through net_pcap
# (infinite_rx on port 0; port 1 reads an empty pcap and sends, without
# tx_pcap net_pcap drops and counts what is sent).
#
# qos_meter is built at bench time from Debian's dpdk-doc sources
# (/usr/share/dpdk/examples/qos_meter) in a temporary directory, patched:
# trTCM colour blind (its APP_MODE), the rates of --cir / --pir / --cbs /
# --pbs, one meter (APP_FLOWS_MAX 1: it otherwise picks one of 256 meters
# by a byte of the frame), no RX checksum offload request (net_pcap has
# none), and with --red drop its policy drops red packets. qos_meter meters
# the frame length less the Ethernet header: dpdk-app's policer counts
# length = "l3", the same bytes for these frames.
#
# qos_meter reads the pre-colour of a packet from byte 5 of the frame (the
# last byte of the destination MAC) and looks its policy up with it, so the
# capture's destination MAC ends in 00 (green). Its policy for a green
# packet transmits every colour (writing the colour into that byte); with
# --red transmit (default) dpdk-app transmits every colour too, and the
# rate compared is what both send (Mpps, the opackets of ports 0 and 1).
# With --red drop both drop red packets, and the rate compared is what
# both receive and police (rx Mpps).
#
# dpdk-app runs in bridge mode (port 0 -> port 1) with the policer on port
# 0 ([[port]] police): its chain is rx -> parse -> police -> bridge ->
# respond -> tx on one lcore. Each application is started once; the
# measurement windows alternate A B A B ... for --pairs rounds (the
# process not measured is held with SIGSTOP). A rate is read from
# /ethdev/stats over the DPDK telemetry socket, twice, --interval seconds
# apart after --warmup.
#
# `bench/replay/police_replay.sh --help` lists the options;
# docs/performance.md ("Policers") records measured figures.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOL="$ROOT/bench/replay/router_tool.py"
PY=/usr/bin/python3
APP="$ROOT/build/app/dpdk-app"
QOS_SRC=/usr/share/dpdk/examples
QOS=""

PAIRS=3
WARMUP=2
INTERVAL=5
FRAMES=1024
MBUFS=16383
MEM=1024
HUGE=0
KEEP=0
BURST=""
RED=transmit
# qos_meter's own trTCM parameters (bytes per second, bytes).
CIR=46000000
PIR=69000000
CBS=2048
PBS=2048
START_TIMEOUT=60

# Destination MAC of the capture: its last byte is qos_meter's pre-colour (0: green).
DST_MAC=02:00:00:00:01:00

usage() {
    cat <<EOF
usage: $0 [options]

  A = qos_meter (trTCM colour blind, one meter), B = dpdk-app bridge mode
  with one aggregate trTCM policer on port 0; the same rates and capture.

  --pairs N       A/B measurement rounds (default $PAIRS)
  --warmup S      seconds after resuming a process before its first sample
                  (default $WARMUP)
  --interval S    seconds between the two samples (default $INTERVAL)
  --frames N      frames in the generated pcap, at most 4096 (qos_meter's
                  pool holds 8192 mbufs and infinite_rx keeps the capture in
                  it; default $FRAMES)
  --cir B         committed rate, bytes per second (default $CIR, qos_meter's)
  --pir B         peak rate, bytes per second (default $PIR)
  --cbs B         committed burst, bytes (default $CBS)
  --pbs B         peak burst, bytes (default $PBS)
  --red ACTION    transmit (default): every colour is sent, the rate is what
                  both send; drop: red packets are dropped by both, the rate
                  is what both receive and police
  --burst N       dpdk-app dataplane.burst_size (default: the app's, 64; 32
                  is qos_meter's burst)
  --mbufs N       dpdk-app mempool.mbufs (default $MBUFS)
  --mem MB        EAL -m of both (default $MEM)
  --hugepages     use hugepages instead of --no-huge (reserve >= 2 x --mem
                  first: both processes hold their memory all along)
  --app PATH      dpdk-app binary (default build/app/dpdk-app)
  --qos-meter PATH  use this qos_meter binary instead of building one (it
                  must carry the same patches, see build_qos_meter)
  --keep          keep the temporary directory (logs, configs, stats JSON,
                  the qos_meter build)
EOF
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --pairs) PAIRS=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --interval) INTERVAL=$2; shift 2 ;;
        --frames) FRAMES=$2; shift 2 ;;
        --cir) CIR=$2; shift 2 ;;
        --pir) PIR=$2; shift 2 ;;
        --cbs) CBS=$2; shift 2 ;;
        --pbs) PBS=$2; shift 2 ;;
        --red) RED=$2; shift 2 ;;
        --burst) BURST=$2; shift 2 ;;
        --mbufs) MBUFS=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --hugepages) HUGE=1; shift ;;
        --app) APP=$2; shift 2 ;;
        --qos-meter) QOS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "police_replay.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

SCRIPT=police_replay.sh
# shellcheck source=bench/replay/args.sh
source "$ROOT/bench/replay/args.sh"

is_int_min "$PAIRS" 1 || die "--pairs must be a positive integer"
at_least "$WARMUP" 0 || die "--warmup must be a number of seconds"
at_least "$INTERVAL" 0.5 || die "--interval must be at least 0.5 s"
is_int_min "$FRAMES" 2 || die "--frames must be an integer >= 2"
((FRAMES <= 4096)) || die "--frames must be <= 4096 (qos_meter's mbuf pool)"
for v in "$CIR" "$PIR" "$CBS" "$PBS"; do
    is_int_min "$v" 1 || die "--cir, --pir, --cbs and --pbs must be positive integers (bytes)"
done
((PIR >= CIR)) || die "--pir must be at least --cir (RFC 2698)"
case "$RED" in transmit | drop) ;; *) die "--red must be transmit or drop" ;; esac
[[ -z $BURST ]] || is_int_min "$BURST" 1 || die "--burst must be a positive integer"
is_int_min "$MBUFS" 1023 || die "--mbufs must be an integer >= 1023"
is_int_min "$MEM" 256 || die "--mem must be an integer >= 256 (MB)"
[[ -x $PY ]] || die "$PY not found"
[[ -f $TOOL ]] || die "$TOOL not found"
[[ -x $APP ]] || die "dpdk-app not found at $APP (build it: meson setup build && ninja -C build)"
if [[ -n $QOS ]]; then
    [[ -x $QOS ]] || die "no qos_meter binary at $QOS"
else
    [[ -f $QOS_SRC/qos_meter/main.c ]] ||
        die "no qos_meter sources in $QOS_SRC/qos_meter (apt-get install dpdk-doc)"
    command -v pkg-config >/dev/null && pkg-config --exists libdpdk ||
        die "pkg-config does not know libdpdk (apt-get install libdpdk-dev pkg-config)"
    command -v make >/dev/null && command -v cc >/dev/null || die "needs make and cc"
fi
NCPU=$(nproc)
((NCPU >= 2)) || die "needs at least 2 CPUs (main lcore + one forwarding lcore)"

TMP_PREFIX=dpdk-app-police-replay
# shellcheck source=bench/replay/common.sh
source "$ROOT/bench/replay/common.sh"

tool() { run_tool "$TOOL" "$@"; }  # common.sh

build_qos_meter() {
    local dir="$TMP/qos_meter-build"
    mkdir -p "$dir"
    cp -r "$QOS_SRC/qos_meter" "$dir/"
    local src="$dir/qos_meter"
    # 1. trTCM colour blind, one meter, the rates given, no RX checksum
    #    offload request.
    sed -i -e 's|^#define APP_MODE\tAPP_MODE_SRTCM_COLOR_BLIND$|#define APP_MODE\tAPP_MODE_TRTCM_COLOR_BLIND|' \
        -e 's|^#define APP_FLOWS_MAX  256$|#define APP_FLOWS_MAX  1|' \
        -e 's|^\(\t*\)\.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,$|\1.offloads = 0,|' \
        -e "s|^\(\t*\)\.cir = 1000000 \* 46,\$|\1.cir = $CIR,|" \
        -e "s|^\(\t*\)\.pir = 1500000 \* 46,\$|\1.pir = $PIR,|" \
        -e "s|^\(\t*\)\.cbs = 2048,\$|\1.cbs = $CBS,|" \
        -e "s|^\(\t*\)\.pbs = 2048\$|\1.pbs = $PBS|" \
        "$src/main.c"
    # 2. --red drop: a green packet metered red is dropped (the policy row
    #    of the green pre-colour).
    if [[ $RED == drop ]]; then
        sed -i 's|^\(\t*\){ GREEN, RED, RED},$|\1{ GREEN, YELLOW, DROP},|' "$src/main.h"
        grep -q '{ GREEN, YELLOW, DROP},' "$src/main.h" ||
            die "patching qos_meter's policy failed (sources differ from DPDK 22.11's?)"
    fi
    grep -q "^#define APP_MODE	APP_MODE_TRTCM_COLOR_BLIND" "$src/main.c" &&
        grep -q '^#define APP_FLOWS_MAX  1$' "$src/main.c" &&
        grep -q '\.offloads = 0,' "$src/main.c" &&
        grep -c "\.cir = $CIR," "$src/main.c" | grep -qx 2 &&
        grep -q "\.pir = $PIR," "$src/main.c" &&
        grep -c "\.cbs = $CBS," "$src/main.c" | grep -qx 2 &&
        grep -q "\.pbs = $PBS\$" "$src/main.c" ||
        die "patching qos_meter failed (sources differ from DPDK 22.11's?)"
    if ! make -C "$src" >"$TMP/qos_meter-build.log" 2>&1; then
        tail -n 20 "$TMP/qos_meter-build.log" >&2
        die "building qos_meter failed (log above)"
    fi
    QOS="$src/build/qos_meter"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== dpdk-app policer replay benchmark: $PAIRS pair(s), warm-up ${WARMUP}s, interval ${INTERVAL}s"
echo "   trTCM cir $CIR B/s, pir $PIR B/s, cbs $CBS B, pbs $PBS B; red: $RED; $NCPU CPU(s), load $LOAD_START"

if [[ -z $QOS ]]; then
    echo "== building qos_meter from $QOS_SRC/qos_meter (patched copy in $TMP)"
    build_qos_meter
fi

PCAP="$TMP/frames.pcap"
EMPTY="$TMP/empty.pcap"
tool gen-pcap "$PCAP" "$FRAMES" "$DST_MAC" || die "gen-pcap: $TOOL_OUT"
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' >"$EMPTY"

RED_ACTION=transmit
[[ $RED == drop ]] && RED_ACTION=drop
{
    printf '[dataplane]\nmode = "bridge"\n'
    [[ -z $BURST ]] || printf 'burst_size = %s\n' "$BURST"
    cat <<EOF
[mempool]
mbufs = $MBUFS
[[port]]
name = "net_pcap0"
police = "port0"
[[port]]
name = "net_pcap1"
[[policer]]
name = "port0"
kind = "trtcm"
cir = "${CIR}byte"
pir = "${PIR}byte"
cbs = "${CBS}byte"
pbs = "${PBS}byte"
length = "l3"
green = "transmit"
yellow = "transmit"
red = "$RED_ACTION"
EOF
} >"$TMP/police.toml"
if ! "$APP" -- --config "$TMP/police.toml" --check-config >"$TMP/check-config.out" 2>&1; then
    echo "  dpdk-app rejects $TMP/police.toml:"
    sed 's/^/  | /' "$TMP/check-config.out" | head -n 12
    exit 1
fi

EAL_MEM=(-m "$MEM")
if ((HUGE)); then EAL_MEM+=(--huge-unlink); else EAL_MEM+=(--no-huge); fi
EAL_COMMON=(--no-pci "${EAL_MEM[@]}"
    --vdev "net_pcap0,rx_pcap=$PCAP,infinite_rx=1"
    --vdev "net_pcap1,rx_pcap=$EMPTY")
TOTAL_S=$(awk -v p="$PAIRS" -v w="$WARMUP" -v i="$INTERVAL" -v s="$START_TIMEOUT" \
    'BEGIN { printf "%d", 2 * s + 2 * p * (w + i + 5) + 120 }')

declare -A PID_OF SOCK_OF
start() { # kind: qos | app
    local kind=$1 prefix="police_replay_$$_$1"
    PREFIXES+=("$prefix")
    rm -rf "${RUNTIME_BASE:?}/$prefix"
    case "$kind" in
        qos)
            # -l 1: qos_meter runs its loop on its only lcore, the main one.
            "$QOS" "${EAL_COMMON[@]}" -l 1 --file-prefix "$prefix" -- -p 0x3 \
                </dev/null >"$TMP/qos.log" 2>&1 &
            ;;
        app)
            # -l 0,1: the main lcore (control loop) and one forwarding lcore.
            "$APP" "${EAL_COMMON[@]}" -l 0,1 --file-prefix "$prefix" \
                -- --config "$TMP/police.toml" --quiet --duration "$TOTAL_S" \
                --stats-json "$TMP/app-stats.json" </dev/null >"$TMP/app.log" 2>&1 &
            ;;
    esac
    PID_OF[$kind]=$!
    PIDS+=("$!")
    SOCK_OF[$kind]="$RUNTIME_BASE/$prefix/dpdk_telemetry.v2"
    if ! tool wait-forwarding "${SOCK_OF[$kind]}" "${PID_OF[$kind]}" 0,1 "$START_TIMEOUT"; then
        echo "  $kind did not start forwarding: $TOOL_OUT"
        echo "  --- last lines of $TMP/$kind.log:"
        tail -n 12 "$TMP/$kind.log" | sed 's/^/  | /'
        exit 1
    fi
    kill -STOP "${PID_OF[$kind]}"
    printf '  %-8s pid %s forwarding, held\n' "$kind" "${PID_OF[$kind]}"
}

RUN=0
RATE=""
APP_WINDOW_DROPS=0
measure() { # kind label
    local kind=$1 label=$2 pid=${PID_OF[$1]} extra=()
    RUN=$((RUN + 1))
    [[ $kind == app ]] && extra=(app)
    kill -CONT "$pid" 2>/dev/null || true
    if tool measure "${SOCK_OF[$kind]}" "$pid" 0,1 "$WARMUP" "$INTERVAL" "${extra[@]}" &&
        [[ $TOOL_OUT =~ mpps=([0-9.]+)\ rx_mpps=([0-9.]+) ]]; then
        local tx=${BASH_REMATCH[1]} rx=${BASH_REMATCH[2]} drops=""
        RATE=$tx
        [[ $RED == drop ]] && RATE=$rx
        if [[ $TOOL_OUT =~ drops=([^ ]+) ]]; then drops="  drops: ${BASH_REMATCH[1]}"; fi
        printf '  run %2d  %-22s %8.3f Mpps   (tx %.3f, rx %.3f Mpps)%s\n' "$RUN" "$label" "$RATE" \
            "$tx" "$rx" "$drops"
        # Only the policer may drop, and only red packets with --red drop.
        if [[ $kind == app && $drops != "  drops: none" ]]; then
            [[ $RED == drop && $drops =~ ^\ \ drops:\ policer_drop:[0-9]+$ ]] || APP_WINDOW_DROPS=1
        fi
    else
        RATE=fail
        printf '  run %2d  %-22s FAILED: %s\n' "$RUN" "$label" "$TOOL_OUT"
    fi
    kill -STOP "$pid" 2>/dev/null || true
}

median() { # values..., "fail" ignored; "-" when none
    local v=() x
    for x in "$@"; do [[ $x == fail ]] || v+=("$x"); done
    if ((${#v[@]} == 0)); then
        echo "-"
    else
        printf '%s\n' "${v[@]}" | sort -g | awk '{ a[NR] = $1 } END {
            if (NR % 2) printf "%.3f", a[(NR + 1) / 2]; else printf "%.3f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
    fi
}
fmt_runs() {
    local x s=""
    for x in "$@"; do
        if [[ $x == fail ]]; then s+="fail "; else s+=$(printf '%.2f ' "$x"); fi
    done
    echo "${s% }"
}

echo "== starting both (each is held with SIGSTOP once it forwards)"
start qos
start app

echo "== A = qos_meter, B = dpdk-app (bridge, aggregate trTCM on port 0); one forwarding lcore each"
QM=()
DA=()
PAIR_R=()
for ((p = 1; p <= PAIRS; p++)); do
    measure qos "A qos_meter (pair $p)"
    QM+=("$RATE")
    measure app "B dpdk-app (pair $p)"
    DA+=("$RATE")
    if [[ ${QM[-1]} != fail && $RATE != fail ]]; then
        PAIR_R+=("$(awk -v b="$RATE" -v a="${QM[-1]}" 'BEGIN { printf "%.3f", b / a }')")
    fi
done

stop_pid "${PID_OF[app]}"
forget "${PID_OF[app]}"
stop_pid "${PID_OF[qos]}"
forget "${PID_OF[qos]}"
POLICER_LINE="no stats JSON (see $TMP/app.log)"
if [[ -f $TMP/app-stats.json ]]; then
    POLICER_LINE=$("$PY" -c '
import json, sys
p = json.load(open(sys.argv[1]))["policers"][0]
print("green %d yellow %d red %d packets, dropped %d" % (p["green"]["packets"],
      p["yellow"]["packets"], p["red"]["packets"], p["dropped"]))' "$TMP/app-stats.json" 2>&1 || true)
fi

QM_MED=$(median "${QM[@]}")
DA_MED=$(median "${DA[@]}")
R="-"
if [[ $QM_MED != - && $DA_MED != - ]]; then
    R=$(awk -v b="$DA_MED" -v a="$QM_MED" 'BEGIN { printf "%.3f", b / a }')
fi
CPU_MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)
GIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]]; then GIT+="+dirty"; fi
WHAT="sent"
[[ $RED == drop ]] && WHAT="received and policed"
echo
echo "==== policer replay summary ========================================"
printf 'date        %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf 'machine     %s, %s CPU(s), load %s (start) / %s (end)\n' "${CPU_MODEL:-unknown CPU}" \
    "$NCPU" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'software    %s, qos_meter from %s, git %s\n' \
    "$("$APP" -- --version 2>/dev/null | head -n1 || true)" \
    "$(pkg-config --modversion libdpdk 2>/dev/null || echo '?')" "$GIT"
printf 'setup       net_pcap infinite_rx %s frames, %s, warm-up %ss, interval %ss, %s pair(s)\n' \
    "$FRAMES" "${EAL_MEM[*]}" "$WARMUP" "$INTERVAL" "$PAIRS"
printf 'policer     trTCM colour blind, cir %s B/s, pir %s B/s, cbs %s B, pbs %s B (l3 lengths); red: %s\n' \
    "$CIR" "$PIR" "$CBS" "$PBS" "$RED"
printf 'rate        Mpps %s\n' "$WHAT"
printf 'qos_meter   Mpps  median %-8s runs: %s\n' "$QM_MED" "$(fmt_runs "${QM[@]}")"
printf 'dpdk-app    Mpps  median %-8s runs: %s  (burst %s)\n' "$DA_MED" "$(fmt_runs "${DA[@]}")" \
    "${BURST:-64}"
printf 'ratio dpdk-app/qos_meter  %s  (per pair: %s)%s\n' "$R" "${PAIR_R[*]:--}" \
    "$([[ $R == - ]] || awk -v r="$R" 'BEGIN { printf "  target >= 1.0: %s", (r >= 1.0 ? "met" : "NOT MET") }')"
printf 'dpdk-app    policer: %s%s\n' "$POLICER_LINE" \
    "$( ((!APP_WINDOW_DROPS)) && echo "  (no other drops)" || echo "  (UNEXPECTED DROPS)")"
echo "===================================================================="
[[ $QM_MED != - && $DA_MED != - ]] && ((!APP_WINDOW_DROPS))
