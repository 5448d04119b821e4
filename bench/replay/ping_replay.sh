#!/usr/bin/env bash
# ping_replay.sh: ICMP echo reply rate of dpdk-app's responder against the
# same binary's bridge forwarding rate, one forwarding lcore each, replaying
# the same pcap of 64-byte ICMP echo requests through net_pcap (infinite_rx;
# without tx_pcap the driver drops and counts what is sent, as in replay.sh).
#
#   A = bridge: dataplane.mode = "bridge", no [[interface]]: the requests are
#       bridged (parsed and validated) back out of port 0.
#   B = ping:   the same plus an [[interface]] on net_pcap0 owning the
#       requests' destination (192.0.2.1/24, MAC 02:00:00:00:00:01): the
#       responder answers each request with an echo reply.
#
# Rates come from the DPDK telemetry socket, twice INTERVAL seconds apart
# after a warm-up: A = /ethdev/stats,0 opackets; B = the replies, i.e.
# /dpdk_app/stats "generated" (with /ethdev/stats,0 opackets and ipackets
# alongside). Runs alternate A B A B ... for --pairs rounds; the summary gives
# the medians and the ratio ping replies/s / bridge pps (target >= 0.8).
# Before the rate runs, one short run without infinite_rx writes what the
# responder sends to a tx_pcap file and checks every reply (--no-verify skips
# it).
#
# Exit status: 0 when the responder answered (replies counted in every ping
# run, checked replies correct) and nothing was dropped; 1 otherwise (e.g.
# generated == 0: the responder did not answer, the requests were bridged);
# 2 on bad usage. Missing the 0.8 target is reported, not an error.
#
# `bench/replay/ping_replay.sh --help` lists the options; docs/performance.md
# ("Responder: ping flood") explains the output and records measured figures.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOL="$ROOT/bench/replay/ping_tool.py"
PY=/usr/bin/python3
APP="$ROOT/build/app/dpdk-app"

PAIRS=5
WARMUP=2
INTERVAL=5
FRAMES=1024
MBUFS=16383
MEM=512
HUGE=0
VERIFY=1
PORT_MAC=0
KEEP=0
TARGET=0.8

# The benchmark network: the appliance owns 192.0.2.1 on net_pcap0, the
# requests come from 192.0.2.2.
DEV_MAC=02:00:00:00:00:01
PCAP_PORT_MAC=02:70:63:61:70:00 # what rte_eth_macaddr_get gives for the first net_pcap port
PEER_MAC=02:00:00:00:00:02
DEV_IP=192.0.2.1
PEER_IP=192.0.2.2

usage() {
    cat <<EOF
usage: $0 [options]

  A = dpdk-app bridge (no [[interface]]), B = dpdk-app with an [[interface]]
  answering the ICMP echo requests; one forwarding lcore each.

  --pairs N        A/B rounds (default $PAIRS; --rounds is the same)
  --warmup S       seconds of traffic before the first sample (default $WARMUP)
  --interval S     seconds between the two samples (default $INTERVAL)
  --frames N       echo requests in the generated pcap (default $FRAMES)
  --mbufs N        mempool.mbufs of dpdk-app (default $MBUFS; net_pcap
                   infinite_rx keeps a copy of the whole pcap in mbufs)
  --mem MB         EAL -m (default $MEM)
  --hugepages      use hugepages instead of --no-huge (reserve >= --mem first)
  --port-mac       no "mac =" in the [[interface]]: the requests go to the
                   port's own MAC, $PCAP_PORT_MAC (net_pcap's
                   02:70:63:61:70:<device index>); default: the interface
                   sets mac = "$DEV_MAC" and the requests go to it
  --no-verify      skip the reply check (one finite replay into a tx_pcap
                   file before the rate runs)
  --app PATH       dpdk-app binary (default build/app/dpdk-app)
  --keep           keep the temporary directory (pcaps, configs, logs, stats)
EOF
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --pairs | --rounds) PAIRS=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --interval) INTERVAL=$2; shift 2 ;;
        --frames) FRAMES=$2; shift 2 ;;
        --mbufs) MBUFS=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --hugepages) HUGE=1; shift ;;
        --port-mac) PORT_MAC=1; shift ;;
        --no-verify) VERIFY=0; shift ;;
        --app) APP=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "ping_replay.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

SCRIPT=ping_replay.sh
# shellcheck source=bench/replay/args.sh
source "$ROOT/bench/replay/args.sh"

is_int_min "$PAIRS" 1 || die "--pairs must be a positive integer"
at_least "$WARMUP" 0 || die "--warmup must be a number of seconds"
at_least "$INTERVAL" 0.5 || die "--interval must be at least 0.5 s"
is_int_min "$FRAMES" 1 || die "--frames must be a positive integer"
((FRAMES <= 65536)) || die "--frames must be <= 65536"
is_int_min "$MBUFS" 1023 || die "--mbufs must be an integer >= 1023"
is_int_min "$MEM" 64 || die "--mem must be an integer >= 64 (MB)"
[[ -x $PY ]] || die "$PY not found"
[[ -f $TOOL ]] || die "$TOOL not found"
[[ -x $APP ]] || die "dpdk-app not found at $APP (build it: scripts/setup.sh, or ninja -C build)"
NCPU=$(nproc)
((NCPU >= 2)) || die "needs at least 2 CPUs (main lcore + one forwarding lcore)"
((PORT_MAC)) && DEV_MAC=$PCAP_PORT_MAC

TMP_PREFIX=dpdk-app-ping-replay
# shellcheck source=bench/replay/common.sh
source "$ROOT/bench/replay/common.sh"
[[ $TMP != *,* ]] || die "the temporary directory must not contain a comma (it goes into --vdev)"

tool() { run_tool "$TOOL" "$@"; }  # common.sh

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
APP_MTIME=$(stat -c %Y "$APP")
PCAP="$TMP/ping.pcap"
tool gen-pcap "$PCAP" "$FRAMES" "$DEV_MAC" "$PEER_MAC" "$PEER_IP" "$DEV_IP" || die "gen-pcap: $TOOL_OUT"

cat >"$TMP/bridge.toml" <<EOF
# ping_replay.sh A: the echo requests are bridged (parse validates them).
[dataplane]
mode = "bridge"

[mempool]
mbufs = $MBUFS
EOF
MAC_LINE="mac = \"$DEV_MAC\""
((PORT_MAC)) && MAC_LINE="# no mac: the port's own ($PCAP_PORT_MAC)"
cat >"$TMP/ping.toml" <<EOF
# ping_replay.sh B: the appliance owns $DEV_IP on net_pcap0 and answers
# the echo requests.
[dataplane]
mode = "bridge"

[mempool]
mbufs = $MBUFS

[[interface]]
port = "net_pcap0"
$MAC_LINE
addresses = ["$DEV_IP/24"]
EOF
"$APP" -- --config "$TMP/ping.toml" --check-config >"$TMP/check-config.log" 2>&1 ||
    die "dpdk-app rejects the ping configuration: $(tail -n 3 "$TMP/check-config.log")"

EAL_MEM=(-m "$MEM")
if ((HUGE)); then EAL_MEM+=(--huge-unlink); else EAL_MEM+=(--no-huge); fi
VDEV="net_pcap0,rx_pcap=$PCAP,infinite_rx=1"
APP_DURATION=$(awk -v w="$WARMUP" -v i="$INTERVAL" 'BEGIN { printf "%d", w + i + 60 }')

# start_app NAME KIND VDEV EXTRA_APP_ARGS... -> APP_PID, APP_PREFIX, APP_LOG
#   NAME: run<n> or check (file prefix, log and stats JSON names),
#   KIND: bridge | ping (the configuration)
start_app() {
    local name=$1 kind=$2 vdev=$3
    shift 3
    APP_PREFIX="ping_replay_$$_$name"
    PREFIXES+=("$APP_PREFIX")
    APP_LOG="$TMP/$name-$kind.log"
    # -l 0,1: the main lcore (control loop) and one forwarding lcore.
    "$APP" --no-pci "${EAL_MEM[@]}" -l 0,1 --file-prefix "$APP_PREFIX" --vdev "$vdev" \
        -- --config "$TMP/$kind.toml" --quiet --stats-json "$TMP/$name-$kind.json" "$@" \
        </dev/null >"$APP_LOG" 2>&1 &
    APP_PID=$!
    PIDS+=("$APP_PID")
}
finish_app() {
    stop_pid "$APP_PID"
    forget "$APP_PID"
    rm -rf "${RUNTIME_BASE:?}/$APP_PREFIX"
}
show_log() {
    echo "  --- last lines of $1:"
    tail -n 8 "$1" | sed 's/^/  | /'
}

# 1. Reply check: the capture once (no infinite_rx), what is sent into a file.
VERIFY_LINE="skipped (--no-verify)"
VERIFY_OK=1
VERIFY_REPLIES=0
if ((VERIFY)); then
    echo "== reply check: ping config, $FRAMES requests once, tx_pcap -> replies.pcap"
    start_app check ping "net_pcap0,rx_pcap=$PCAP,tx_pcap=$TMP/replies.pcap" --idle-exit 1000 --duration 60
    rc=0
    wait "$APP_PID" || rc=$?
    forget "$APP_PID"
    rm -rf "${RUNTIME_BASE:?}/$APP_PREFIX"
    VERIFY_OK=0
    if ((rc != 0)); then
        VERIFY_LINE="dpdk-app exited with status $rc"
        show_log "$APP_LOG"
    elif [[ ! -s $TMP/replies.pcap ]]; then
        VERIFY_LINE="no tx_pcap written"
    else
        if tool check-replies "$PCAP" "$TMP/replies.pcap" "$DEV_MAC" "$DEV_IP"; then VERIFY_OK=1; fi
        VERIFY_LINE=$TOOL_OUT
        [[ $TOOL_OUT =~ replies=([0-9]+) ]] && VERIFY_REPLIES=${BASH_REMATCH[1]}
    fi
    echo "  $VERIFY_LINE"
fi

# 2. Rates. run_one KIND LABEL -> RATE (Mpps or "fail"), and for ping runs
# TX_RATE, FWD_RATE, ANSWERED (percent of received requests answered).
RUN=0
RATE=""
TX_RATE=""
FWD_RATE=""
ANSWERED=""
DROPS_SEEN=0
FAILED=0
declare -A TOT_DROPS
run_one() {
    local kind=$1 label=$2 out drops="?"
    RUN=$((RUN + 1))
    start_app "run$RUN" "$kind" "$VDEV" --duration "$APP_DURATION"
    # The telemetry socket path of this run's prefix.
    if tool measure "$RUNTIME_BASE/$APP_PREFIX/dpdk_telemetry.v2" "$APP_PID" 0 "$WARMUP" "$INTERVAL" &&
        [[ $TOOL_OUT =~ tx_mpps=([0-9.]+)\ rx_mpps=([0-9.]+)\ gen_mpps=([0-9.]+)\ fwd_mpps=([0-9.]+) ]]; then
        out=$TOOL_OUT
        local tx=${BASH_REMATCH[1]} rx=${BASH_REMATCH[2]} gen=${BASH_REMATCH[3]} fwd=${BASH_REMATCH[4]}
        [[ $out =~ \ drops=([^ ]+) ]] && drops=${BASH_REMATCH[1]}
        [[ $out =~ tot_drops=([^ ]+) ]] && TOT_DROPS[$kind]=${BASH_REMATCH[1]}
        [[ $drops == none ]] || DROPS_SEEN=1
        if [[ $kind == bridge ]]; then
            RATE=$tx
            printf '  run %2d  %-20s %8.3f Mpps forwarded   (rx %.3f, bridged %.3f)  drops: %s\n' \
                "$RUN" "$label" "$tx" "$rx" "$fwd" "$drops"
        else
            RATE=$gen
            TX_RATE=$tx
            FWD_RATE=$fwd
            ANSWERED=$(awk -v g="$gen" -v r="$rx" 'BEGIN { printf "%.1f", (r > 0 ? 100 * g / r : 0) }')
            printf '  run %2d  %-20s %8.3f Mpps replies     (tx %.3f, rx %.3f, answered %s%%, bridged %.3f)  drops: %s\n' \
                "$RUN" "$label" "$gen" "$tx" "$rx" "$ANSWERED" "$fwd" "$drops"
        fi
    else
        RATE=fail
        TX_RATE=fail
        FWD_RATE=fail
        ANSWERED=fail
        FAILED=1
        printf '  run %2d  %-20s FAILED: %s\n' "$RUN" "$label" "$TOOL_OUT"
        show_log "$APP_LOG"
    fi
    finish_app
}

median() { # values..., "fail" and "-" ignored; "-" when none
    local v=() x
    for x in "$@"; do [[ $x == fail || $x == - ]] || v+=("$x"); done
    if ((${#v[@]} == 0)); then echo "-"; else "$PY" "$TOOL" median "${v[@]}"; fi
}
ratio() { # b a
    if [[ $1 == - || $2 == - ]] || ! awk -v a="$2" 'BEGIN { exit !(a > 0) }'; then
        echo "-"
    else
        awk -v b="$1" -v a="$2" 'BEGIN { printf "%.3f", b / a }'
    fi
}
fmt_runs() {
    local x s=""
    for x in "$@"; do
        if [[ $x == fail ]]; then s+="fail "; else s+=$(printf '%.2f ' "$x"); fi
    done
    echo "${s% }"
}

echo "== A = dpdk-app bridge (no [[interface]]), B = dpdk-app answering pings ($DEV_IP, $DEV_MAC)"
echo "   $PAIRS pair(s), warm-up ${WARMUP}s, interval ${INTERVAL}s, $FRAMES requests, ${EAL_MEM[*]}, mbufs $MBUFS,"
echo "   -l 0,1 (one forwarding lcore), $NCPU CPU(s), load $LOAD_START"
BR=()
PG=()
PT=()
PF=()
PA=()
for ((p = 1; p <= PAIRS; p++)); do
    run_one bridge "A bridge (pair $p)"
    BR+=("$RATE")
    run_one ping "B ping (pair $p)"
    PG+=("$RATE")
    PT+=("$TX_RATE")
    PF+=("$FWD_RATE")
    PA+=("$ANSWERED")
done

BR_MED=$(median "${BR[@]}")
PG_MED=$(median "${PG[@]}")
PT_MED=$(median "${PT[@]}")
PF_MED=$(median "${PF[@]}")
PA_MED=$(median "${PA[@]}")
R=$(ratio "$PG_MED" "$BR_MED")
RT=$(ratio "$PT_MED" "$BR_MED")
PAIR_R=()
for ((i = 0; i < PAIRS; i++)); do
    if [[ ${BR[i]} == fail || ${PG[i]} == fail ]]; then PAIR_R+=(fail); else PAIR_R+=("$(ratio "${PG[i]}" "${BR[i]}")"); fi
done
VERDICT=$(awk -v r="$R" -v t="$TARGET" 'BEGIN { if (r == "-") print "-"; else print (r >= t ? "meets" : "BELOW") }')

# What the ping runs say about the responder. Any ping run with no reply
# counted (or a failed one) and a check that found no reply mean it did not
# answer.
NO_REPLY=0
for x in "${PG[@]}"; do
    if [[ $x == fail ]] || awk -v g="$x" 'BEGIN { exit !(g == 0) }'; then NO_REPLY=1; fi
done
STATUS=()
RC=0
if ((NO_REPLY)); then
    RC=1
    if ((VERIFY && VERIFY_REPLIES > 0)); then
        STATUS+=("RESPONDER NOT COUNTED: the reply check saw $VERIFY_REPLIES replies, but /dpdk_app/stats generated stayed 0 in a ping run")
    elif [[ $PF_MED != - ]] && awk -v f="$PF_MED" 'BEGIN { exit !(f > 0) }'; then
        STATUS+=("RESPONDER DID NOT ANSWER: generated == 0, the echo requests were bridged instead ($PF_MED Mpps out, ratio tx/bridge $RT); is the responder built in? (ninja -C build)")
    else
        STATUS+=("RESPONDER DID NOT ANSWER: generated == 0 in a ping run")
    fi
fi
if ((!VERIFY_OK)); then
    RC=1
    STATUS+=("REPLY CHECK FAILED: $VERIFY_LINE")
fi
if ((DROPS_SEEN)); then
    RC=1
    STATUS+=("UNEXPECTED DROPS in a measured window (see the runs above)")
fi
if ((FAILED)); then
    RC=1
    STATUS+=("A RUN FAILED (see above; --keep keeps the logs)")
fi
if ((!NO_REPLY)) && [[ $PA_MED != - ]] && awk -v a="$PA_MED" 'BEGIN { exit !(a < 99) }'; then
    RC=1
    STATUS+=("NOT EVERY REQUEST ANSWERED: median $PA_MED % of the received requests")
fi
if [[ $(stat -c %Y "$APP" 2>/dev/null) != "$APP_MTIME" ]]; then
    RC=1
    STATUS+=("THE BINARY CHANGED DURING THE RUN ($APP rebuilt?): runs before and after differ; run again")
fi
((${#STATUS[@]})) || STATUS=("ok: every ping run answered, no drops")

CPU_MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)
GIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]]; then GIT+="+dirty"; fi
echo
echo "==== ping replay summary ==========================================="
printf 'date        %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf 'machine     %s, %s CPU(s), load %s (start) / %s (end)\n' "${CPU_MODEL:-unknown CPU}" \
    "$NCPU" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'software    %s, git %s (binary built %s)\n' "$("$APP" -- --version 2>/dev/null | head -n1)" \
    "$GIT" "$(date -u -d "@$APP_MTIME" +%Y-%m-%dT%H:%M:%SZ)"
printf 'setup       net_pcap infinite_rx %s ICMP echo requests (60 B), %s, mbufs %s, warm-up %ss, interval %ss, %s pair(s)\n' \
    "$FRAMES" "${EAL_MEM[*]}" "$MBUFS" "$WARMUP" "$INTERVAL" "$PAIRS"
printf 'reply check %s\n' "$VERIFY_LINE"
printf 'A bridge         Mpps  median %-8s runs: %s\n' "$BR_MED" "$(fmt_runs "${BR[@]}")"
printf 'B ping replies   Mpps  median %-8s runs: %s  (/dpdk_app/stats generated)\n' "$PG_MED" "$(fmt_runs "${PG[@]}")"
printf 'B ping tx        Mpps  median %-8s runs: %s  (/ethdev/stats opackets)\n' "$PT_MED" "$(fmt_runs "${PT[@]}")"
printf 'B ping bridged   Mpps  median %-8s runs: %s  (forwarded: should be 0)\n' "$PF_MED" "$(fmt_runs "${PF[@]}")"
printf 'B answered       %%     median %-8s runs: %s\n' "$PA_MED" "${PA[*]}"
printf 'ratio ping replies/s / bridge pps   %s  (target >= %s: %s)\n' "$R" "$TARGET" "$VERDICT"
printf 'ratio per pair                      %s  (median %s)\n' "${PAIR_R[*]}" "$(median "${PAIR_R[@]}")"
printf 'ratio ping tx pps / bridge pps      %s  (everything port 0 sent, replies or not)\n' "$RT"
printf 'drops       bridge: %s; ping: %s  (totals at the end of the last run of each)\n' \
    "${TOT_DROPS[bridge]:-?}" "${TOT_DROPS[ping]:-?}"
for kind in bridge ping; do
    files=("$TMP"/run*-"$kind".json)
    [[ -e ${files[0]} ]] || continue
    "$PY" "$TOOL" stages "${files[@]}" | while read -r name cyc n; do
        printf '%-6s stage %-18s %8s cycles/packet (median of %s runs)\n' "$kind" "$name" "$cyc" "$n"
    done
done
for line in "${STATUS[@]}"; do
    printf 'status      %s\n' "$line"
done
echo "===================================================================="
exit $RC
