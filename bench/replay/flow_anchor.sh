#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || die": die when either fails
# flow_anchor.sh: dpdk-app's flow accounting against softflowd (Debian
# package softflowd), the exporter operators run on a Linux box, on the same
# capture and to the same kind of collector.
#
#   correctness  a capture of --flows N UDP flows of --packets K frames each
#                (router_tool.py's frames, each flow's frames spread over the
#                capture) goes through softflowd (-r, NetFlow v9; without -c:
#                with a control socket it waits on it after the file) and through
#                dpdk-app (bridge mode, net_pcap, [flow] exporting NetFlow v9),
#                each to its own nfcapd on 127.0.0.1; nfdump must list the
#                same flows with the same packets and bytes from both.
#   speed        softflowd's packets per second of CPU time reading that
#                capture repeated to 2M frames (its accounting alone: no NIC,
#                no forwarding) and
#                dpdk-app's forwarded packets per second with the flow stage,
#                one forwarding lcore, the capture replayed endlessly
#                (infinite_rx) for --seconds S; and the same without [flow],
#                for what accounting costs. A B A B: --pairs rounds.
#
# Exit status: 0 when both exporters agree on every flow, 1 otherwise, 2 on
# bad usage. docs/performance.md ("Flow accounting") records the figures.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOL="$ROOT/bench/replay/router_tool.py"
PY=/usr/bin/python3
APP="$ROOT/build/app/dpdk-app"
SCRIPT=flow_anchor.sh
KEEP=0
FLOWS=8192
PACKETS=4
SECONDS_RUN=5
PAIRS=3

usage() {
    cat <<EOF
usage: $0 [--flows N] [--packets K] [--seconds S] [--pairs P] [--keep]

  --flows N     UDP flows in the capture (default $FLOWS)
  --packets K   frames per flow (default $PACKETS)
  --seconds S   each speed window (default $SECONDS_RUN)
  --pairs P     speed rounds, A B A B (default $PAIRS)
  --keep        keep the temporary directory
EOF
}

die() {
    echo "$SCRIPT: $*" >&2
    exit 2
}

while (($#)); do
    case "$1" in
        --flows) FLOWS=$2; shift 2 ;;
        --packets) PACKETS=$2; shift 2 ;;
        --seconds) SECONDS_RUN=$2; shift 2 ;;
        --pairs) PAIRS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
[[ $FLOWS =~ ^[0-9]+$ ]] && ((FLOWS >= 1 && FLOWS <= 4194304)) || die "--flows must be 1..4194304"
[[ $PACKETS =~ ^[0-9]+$ ]] && ((PACKETS >= 1 && PACKETS <= 64)) || die "--packets must be 1..64"
[[ $SECONDS_RUN =~ ^[0-9]+$ ]] && ((SECONDS_RUN >= 1)) || die "--seconds must be a positive integer"
[[ $PAIRS =~ ^[0-9]+$ ]] && ((PAIRS >= 1)) || die "--pairs must be a positive integer"
for t in softflowd nfcapd nfdump; do
    command -v "$t" >/dev/null || die "needs $t (apt-get install softflowd nfdump)"
done
[[ -x $APP ]] || die "dpdk-app not found at $APP (scripts/setup.sh builds it)"

TMP_PREFIX=dpdk-app-flow-anchor
# shellcheck source=bench/replay/common.sh
source "$ROOT/bench/replay/common.sh"

free_port() {
    "$PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# nfcapd into $TMP/$1 on a free port: sets COLLECTOR_PORT and COLLECTOR_PID.
start_collector() {
    mkdir -p "$TMP/$1"
    COLLECTOR_PORT=$(free_port)
    # -B: a socket buffer for a whole burst (the kernel caps it at
    # net.core.rmem_max; both exporters send every flow at the end at once).
    nfcapd -w "$TMP/$1" -p "$COLLECTOR_PORT" -b 127.0.0.1 -t 3600 -B 8388608 >"$TMP/$1.log" 2>&1 &
    COLLECTOR_PID=$!
    PIDS+=("$COLLECTOR_PID")
    for _ in $(seq 50); do
        grep -q "Startup nfcapd" "$TMP/$1.log" 2>/dev/null && return
        sleep 0.1
    done
    die "nfcapd did not start (see $TMP/$1.log)"
}

# nfdump's flows of a collector directory, aggregated per 5-tuple (an
# exporter may split a flow into several records), sorted.
listing() {
    local f
    f=$(find "$TMP/$1" -name 'nfcapd.2*' | head -n1)
    [[ -n $f ]] || return 0
    nfdump -q -r "$f" -a -A srcip,dstip,srcport,dstport,proto -N \
        -o 'fmt:%sa,%sp,%da,%dp,%pr,%pkt,%byt' | tr -d ' ' | sort
}

echo "== capture: $FLOWS UDP flows x $PACKETS frames"
"$PY" "$TOOL" gen-pcap "$TMP/flows.pcap" "$FLOWS" 02:00:00:00:00:01 >/dev/null
"$PY" - "$TMP/flows.pcap" "$PACKETS" "$TMP/capture.pcap" <<'EOF'
import sys
src, k, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(src, "rb").read()
header, records = data[:24], data[24:]
with open(dst, "wb") as out:
    out.write(header)
    for _ in range(k):
        out.write(records)
EOF
TOTAL=$((FLOWS * PACKETS))

echo "== correctness: softflowd -r and dpdk-app, NetFlow v9 each to its own nfcapd"
start_collector soft
SOFT_PID=$COLLECTOR_PID
SOFT_TIME=$( { /usr/bin/time -f '%U %S %e' softflowd -r "$TMP/capture.pcap" \
    -n "127.0.0.1:$COLLECTOR_PORT" -v 9 -d -m $((2 * FLOWS)) \
    >"$TMP/softflowd.log" 2>"$TMP/softflowd.time"; } 2>&1; tail -n1 "$TMP/softflowd.time")
sleep 0.5
stop_pid "$SOFT_PID"
forget "$SOFT_PID"

start_collector app
APP_PID_C=$COLLECTOR_PID
cat >"$TMP/flow.toml" <<EOF
[flow]
max_flows = $((FLOWS > 512 ? 2 * FLOWS : 1024))
[[flow.collector]]
address = "127.0.0.1:$COLLECTOR_PORT"
protocol = "netflow-v9"
EOF
PREFIX="flow_anchor_$$"
PREFIXES+=("$PREFIX")
"$APP" --no-pci --no-huge -m 2048 -l 0 --file-prefix "$PREFIX" \
    --vdev "net_pcap0,rx_pcap=$TMP/capture.pcap" \
    -- --config "$TMP/flow.toml" --quiet --idle-exit 500 --stats-json "$TMP/app.json" \
    >"$TMP/app.log" 2>&1 || die "dpdk-app failed (see $TMP/app.log)"
sleep 0.5
stop_pid "$APP_PID_C"
forget "$APP_PID_C"

listing soft >"$TMP/soft.txt"
listing app >"$TMP/app.txt"
SOFT_N=$(wc -l <"$TMP/soft.txt")
APP_N=$(wc -l <"$TMP/app.txt")
AGREE=0
if cmp -s "$TMP/soft.txt" "$TMP/app.txt" && ((APP_N == FLOWS)); then AGREE=1; fi

echo "== speed: dpdk-app bridge with and without [flow], one forwarding lcore, A B A B"
# net_pcap's infinite_rx holds the whole capture in mbufs.
printf '[mempool]\nmbufs = %d\n' $((TOTAL + 16384)) >"$TMP/speed-plain.toml"
cp "$TMP/speed-plain.toml" "$TMP/speed-flow.toml"
printf '[flow]\nmax_flows = %d\n' $((FLOWS > 512 ? 2 * FLOWS : 1024)) >>"$TMP/speed-flow.toml"
rate() { # config -> Mpps forwarded over the run
    local prefix="flow_anchor_speed_$$"
    PREFIXES+=("$prefix")
    "$APP" --no-pci --no-huge -m 4096 -l 0,1 --file-prefix "$prefix" \
        --vdev "net_pcap0,rx_pcap=$TMP/capture.pcap,infinite_rx=1" \
        -- --config "$1" --quiet --duration "$SECONDS_RUN" --stats-json "$TMP/speed.json" \
        >"$TMP/speed.log" 2>&1 || { echo fail; return; }
    "$PY" -c 'import json, sys
s = json.load(open(sys.argv[1]))
print("%.3f" % (s["totals"]["forwarded"] / s["seconds"] / 1e6))' "$TMP/speed.json"
}
WITH=()
WITHOUT=()
for ((p = 1; p <= PAIRS; p++)); do
    WITHOUT+=("$(rate "$TMP/speed-plain.toml")")
    WITH+=("$(rate "$TMP/speed-flow.toml")")
    echo "   pair $p: without [flow] ${WITHOUT[-1]} Mpps, with [flow] ${WITH[-1]} Mpps"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
MED_WITH=$(median "${WITH[@]}")
MED_WITHOUT=$(median "${WITHOUT[@]}")
# softflowd's speed on a file long enough to time: the capture repeated to
# at least 2M frames, exported to a port nothing listens on.
REPEAT=$(((2097152 + TOTAL - 1) / TOTAL))
"$PY" - "$TMP/capture.pcap" "$REPEAT" "$TMP/long.pcap" <<'EOF2'
import sys
src, k, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(src, "rb").read()
with open(dst, "wb") as out:
    out.write(data[:24])
    for _ in range(k):
        out.write(data[24:])
EOF2
LONG=$((REPEAT * TOTAL))
SOFT_TIME=$( { /usr/bin/time -f '%U %S %e' softflowd -r "$TMP/long.pcap" -n "127.0.0.1:$(free_port)" \
    -v 9 -d -m $((2 * FLOWS)) >"$TMP/softflowd-long.log" 2>"$TMP/softflowd-long.time"; } 2>&1
    tail -n1 "$TMP/softflowd-long.time")
read -r SU SS _ <<<"$SOFT_TIME"
SOFT_RATE=$(awk -v n="$LONG" -v u="$SU" -v s="$SS" 'BEGIN { c = u + s; printf "%.3f", (c > 0 ? n / c / 1e6 : 0) }')

echo
echo "==== flow anchor summary ==========================================="
printf 'date        %s, %s, %s CPU(s)\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)" "$(nproc)"
printf 'capture     %d flows x %d frames = %d frames of 60 bytes\n' "$FLOWS" "$PACKETS" "$TOTAL"
printf 'softflowd   %s flows listed by nfdump; speed: %d frames read in %s s CPU (%s user, %s sys) = %s Mpps of CPU time\n' \
    "$SOFT_N" "$LONG" "$(awk -v u="$SU" -v s="$SS" 'BEGIN { print u + s }')" "$SU" "$SS" "$SOFT_RATE"
printf 'dpdk-app    %s flows listed by nfdump\n' "$APP_N"
printf 'agreement   %s\n' "$( ((AGREE)) && echo "every flow, packets and bytes equal" || echo "DIFFERENT (diff $TMP/soft.txt $TMP/app.txt; --keep keeps them)")"
printf 'dpdk-app    Mpps forwarded, one lcore: with [flow] median %s (%s), without %s (%s); ratio %s\n' \
    "$MED_WITH" "${WITH[*]}" "$MED_WITHOUT" "${WITHOUT[*]}" \
    "$(awk -v a="$MED_WITH" -v b="$MED_WITHOUT" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')"
echo "===================================================================="
((AGREE))
