#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || die": die when either fails
# router_replay.sh: forwarding rate of dpdk-app in router mode with 1M routes
# against DPDK's l3fwd example in LPM mode, one forwarding lcore each,
# replaying a pcap of 64-byte IPv4/UDP frames through net_pcap (infinite_rx on
# port 0; port 1 reads an empty pcap, or with --both-ports replays as well).
# Without tx_pcap net_pcap drops and
# counts what is sent. Both rates are read the same way: the sum of opackets
# of ports 0 and 1 from /ethdev/stats over the DPDK telemetry socket, twice,
# INTERVAL seconds apart after a warm-up.
#
# A 1M-route table takes dpdk-app (and l3fwd, with --l3fwd-routes same) a
# long time to load (rte_lpm_add is linear in the routes of the same
# length), so each application is started once and the measurement windows
# alternate A B A B ... for --pairs rounds: the process not being measured is
# held with SIGSTOP and resumed with SIGCONT before its next window.
#
# With --acl-rules the comparison is against l3fwd --lookup acl, with
# --exact-entries against l3fwd --lookup em (rte_hash exact match of the
# 5-tuple), with --conntrack-flows (and --acl-rules) dpdk-app tracks
# connections; the last two replay a capture of one frame per flow. With
# --flow dpdk-app also accounts every flow and exports IPFIX to an nfcapd
# the script starts on 127.0.0.1 (the frames of the capture are its flows:
# --frames 1048576 is a 1M-flow capture).
#
# l3fwd is built at bench time from Debian's dpdk-doc sources
# (/usr/share/dpdk/examples/l3fwd) in a temporary directory, patched to mask
# its offload requests with the port's capabilities (net_pcap has no RX
# checksum offload), to accept up to 2M IPv4 routes and to not print a line
# per route, to size its exact-match tables with --hash-entry-num and to
# make room in its mbuf pool for large captures.
#
# `bench/replay/router_replay.sh --help` lists the options; docs/performance.md
# ("Router mode") explains the output and records measured figures.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOL="$ROOT/bench/replay/router_tool.py"
PY=/usr/bin/python3
APP="$ROOT/build/app/dpdk-app"
L3FWD_SRC=/usr/share/dpdk/examples
L3FWD=""

PAIRS=3
WARMUP=2
INTERVAL=5
FRAMES=1024
ROUTES=1000000
L3FWD_ROUTES=builtin
MBUFS=16383
MEM=2048
START_TIMEOUT=600
HUGE=0
KEEP=0
BACKOFF=""
BURST=""
BOTH=0
ACL_RULES=0
EXACT=0
CT_FLOWS=0
CT_REPLIES=0
POLICE_SRC=0
L3FWD_ONLY=0
FRAMES_SET=0
FLOW=0

# The benchmark network: port 0 (net_pcap0) receives the capture; 198.18.0.0/24
# leaves through port 0 again, 198.18.1.0/24 and the generated routes through
# port 1, both via static neighbours.
MAC0=02:00:00:00:00:01
MAC1=02:00:00:00:01:01
NEIGH0=02:00:00:00:0a:02
NEIGH1=02:00:00:00:0b:02

usage() {
    cat <<EOF
usage: $0 [options]

  A = l3fwd -L (LPM), B = dpdk-app router mode with --routes extra routes;
  with --acl-rules A = l3fwd --lookup acl, with --exact-entries A = l3fwd
  --lookup em, B with a firewall of the same rules / entries.

  --pairs N          A/B measurement rounds (default $PAIRS)
  --warmup S         seconds after resuming a process before its first sample
                     (default $WARMUP)
  --interval S       seconds between the two samples (default $INTERVAL)
  --frames N         frames in the generated pcap, one UDP flow each (default
                     $FRAMES; --exact-entries and --conntrack-flows make their
                     own capture); infinite_rx keeps the whole capture in
                     mbufs: above 4096 both pools grow by N (give --mem)
  --routes N         extra IPv4 routes given to dpdk-app in a routes file
                     (default $ROUTES)
  --l3fwd-routes M   builtin (default): l3fwd's built-in table (198.18.X.0/24
                     -> port X); same: the same routes as dpdk-app through
                     --rule_ipv4 (its start then takes as long as dpdk-app's)
  --mbufs N          dpdk-app mempool.mbufs (default $MBUFS; plus the capture's
                     frames with --exact-entries / --conntrack-flows)
  --mem MB           EAL -m of both (default $MEM; with 1M routes dpdk-app's
                     tables take ~150 MB: rte_lpm ~82 MB, its rte_lpm6 64 MB
                     even without IPv6 routes; its mbuf pool ~40 MB)
  --hugepages        use hugepages instead of --no-huge (reserve >= 2 x --mem
                     first: both processes hold their memory all along)
  --start-timeout S  longest wait for a process to start forwarding (default
                     $START_TIMEOUT; loading 1M routes takes minutes on a
                     small VM)
  --idle-rx-backoff N  dpdk-app dataplane.idle_rx_backoff (default: the
                     app's, 8; 1 polls the idle port 1 on every round, as
                     l3fwd does)
  --burst N          dpdk-app dataplane.burst_size (default: the app's, 64;
                     32 is l3fwd's MAX_PKT_BURST)
  --both-ports       port 1 replays a capture too (the same frames, addressed
                     to port 1's MAC) instead of reading an empty one: no
                     port is idle, so dataplane.idle_rx_backoff has nothing
                     to skip (--frames each, together at most 4096)
  --acl-rules N      firewall comparison: N random deny rules that no frame
                     matches, in dpdk-app as a [firewall] section and in
                     l3fwd as '@' rules of --lookup acl (its routes then are
                     the two 'R' rules of the built-in table; use --routes 0
                     for the same routing work)
  --exact-entries N  exact-match comparison: a capture of N frames, each a
                     UDP flow of its own to 198.18.1.0/24 (port 1); l3fwd
                     --lookup em with the N 5-tuples as rule files (each to
                     port 1; its rte_hash sized for 2 x N rounded up to a
                     power of 2, --hash-entry-num); dpdk-app with a
                     [firewall.exact] file of N "accept flow" lines and
                     default "drop" (a miss is a drop), routing with its
                     two routes + --routes (use --routes 0). l3fwd sends a
                     miss back out of port 0: port 0's TX in an l3fwd window
                     is reported as misses (and fails the run). Not with
                     --acl-rules, --frames, --both-ports or --l3fwd-routes
                     same. At most 262144; the capture's frames stay in both
                     mbuf pools (--mbufs is raised by N for dpdk-app)
  --conntrack-flows N  with --acl-rules: a capture of N frames, each a UDP
                     flow of its own (N live connections after the first
                     pass); dpdk-app tracks connections ([firewall.conntrack]
                     capacity = 2 x N) with the rules "est" (state
                     established/related: accept) and "new" (state new,
                     in_port net_pcap0: accept) before the deny rules;
                     l3fwd --lookup acl as with --acl-rules (target: ratio
                     >= 0.8). Same limits as --exact-entries
  --flow             dpdk-app with a [flow] section (max_flows sized for the
                     capture) exporting IPFIX to an nfcapd on 127.0.0.1; the
                     summary gives the flow ledger (target: ratio >= 0.8)
  --conntrack-replies  with --conntrack-flows N: the capture holds 2 x N
                     frames, each flow's frame followed by its reply (to
                     10.0.0.0/8, routed out of port 1 by both): the
                     connections are established after the first pass
                     (without it every frame stays "new": one direction)
  --police-per-source  with --acl-rules: the frames dpdk-app's firewall
                     accepts pass a per-source srTCM policer (a last rule
                     "accept, police"; every frame of the capture is a
                     source of its own, max_keys 2 x the sources, rates no
                     source reaches: every packet green, none dropped); l3fwd
                     --lookup acl as with --acl-rules
  --l3fwd-only       measure l3fwd alone (--pairs windows, no dpdk-app; for
                     a baseline, or while dpdk-app lacks a feature)
  --app PATH         dpdk-app binary (default build/app/dpdk-app)
  --l3fwd PATH       use this l3fwd binary instead of building one (it must
                     carry the same patches, see build_l3fwd in this script)
  --keep             keep the temporary directory (logs, configs, stats JSON,
                     the l3fwd build)
EOF
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --pairs) PAIRS=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --interval) INTERVAL=$2; shift 2 ;;
        --frames) FRAMES=$2; FRAMES_SET=1; shift 2 ;;
        --routes) ROUTES=$2; shift 2 ;;
        --l3fwd-routes) L3FWD_ROUTES=$2; shift 2 ;;
        --mbufs) MBUFS=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --start-timeout) START_TIMEOUT=$2; shift 2 ;;
        --hugepages) HUGE=1; shift ;;
        --idle-rx-backoff) BACKOFF=$2; shift 2 ;;
        --burst) BURST=$2; shift 2 ;;
        --both-ports) BOTH=1; shift ;;
        --acl-rules) ACL_RULES=$2; shift 2 ;;
        --exact-entries) EXACT=$2; shift 2 ;;
        --conntrack-flows) CT_FLOWS=$2; shift 2 ;;
        --conntrack-replies) CT_REPLIES=1; shift ;;
        --flow) FLOW=1; shift ;;
        --police-per-source) POLICE_SRC=1; shift ;;
        --l3fwd-only) L3FWD_ONLY=1; shift ;;
        --app) APP=$2; shift 2 ;;
        --l3fwd) L3FWD=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "router_replay.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

SCRIPT=router_replay.sh
# shellcheck source=bench/replay/args.sh
source "$ROOT/bench/replay/args.sh"

is_int_min "$PAIRS" 1 || die "--pairs must be a positive integer"
at_least "$WARMUP" 0 || die "--warmup must be a number of seconds"
at_least "$INTERVAL" 0.5 || die "--interval must be at least 0.5 s"
is_int_min "$FRAMES" 2 || die "--frames must be an integer >= 2"
((FRAMES <= 4194304)) || die "--frames must be <= 4194304"
((!BOTH || FRAMES <= 2048)) || die "--frames must be <= 2048 with --both-ports (l3fwd's mbuf pool)"
is_uint "$ROUTES" || die "--routes must be an integer >= 0"
((ROUTES <= 2000000)) || die "--routes must be <= 2000000 (the patched l3fwd limit)"
case "$L3FWD_ROUTES" in builtin | same) ;; *) die "--l3fwd-routes must be builtin or same" ;; esac
is_int_min "$MBUFS" 1023 || die "--mbufs must be an integer >= 1023"
is_int_min "$MEM" 256 || die "--mem must be an integer >= 256 (MB)"
is_int_min "$START_TIMEOUT" 10 || die "--start-timeout must be >= 10 s"
[[ -z $BACKOFF ]] || is_int_min "$BACKOFF" 1 || die "--idle-rx-backoff must be a positive integer"
[[ -z $BURST ]] || is_int_min "$BURST" 1 || die "--burst must be a positive integer"
is_uint "$ACL_RULES" || die "--acl-rules must be an integer >= 0"
((ACL_RULES <= 100000)) || die "--acl-rules must be <= 100000 (l3fwd's limit)"
((ACL_RULES == 0)) || [[ $L3FWD_ROUTES == builtin ]] || die "--acl-rules needs --l3fwd-routes builtin"
((!POLICE_SRC || ACL_RULES > 0)) || die "--police-per-source needs --acl-rules"
((!POLICE_SRC || CT_FLOWS == 0)) || die "--police-per-source does not go with --conntrack-flows"
is_uint "$EXACT" || die "--exact-entries must be an integer (2..262144)"
is_uint "$CT_FLOWS" || die "--conntrack-flows must be an integer (2..262144)"
# One frame per flow: the capture holds FLOWS frames, all of them in the
# mbuf pools of both (net_pcap's infinite_rx).
FLOWS=$((EXACT + CT_FLOWS))
((!CT_REPLIES)) || ((CT_FLOWS > 0)) || die "--conntrack-replies goes with --conntrack-flows"
((!CT_REPLIES)) || FLOWS=$((2 * CT_FLOWS))  # each flow's frame and its reply
if ((FLOWS > 0)); then
    opt=--exact-entries
    ((EXACT > 0)) || opt=--conntrack-flows
    ((EXACT == 0 || CT_FLOWS == 0)) || die "--exact-entries and --conntrack-flows are separate comparisons"
    ((EXACT == 0 || ACL_RULES == 0)) || die "--exact-entries does not go with --acl-rules"
    ((CT_FLOWS == 0 || ACL_RULES > 0)) ||
        die "--conntrack-flows needs --acl-rules (l3fwd --lookup acl is the reference)"
    ((FLOWS >= 2 && FLOWS <= 262144)) || die "$opt must be 2..262144"
    ((!FRAMES_SET)) || die "--frames does not go with $opt (the capture holds one frame per flow)"
    ((!BOTH)) || die "--both-ports does not go with $opt"
    [[ $L3FWD_ROUTES == builtin ]] || die "$opt needs --l3fwd-routes builtin"
    FRAMES=$FLOWS
fi
# l3fwd em's rte_hash: 2 x the entries rounded up to a power of 2 (at most
# half full; a cuckoo table does not fill up completely).
HASH_ENTRIES=0
if ((EXACT > 0)); then
    HASH_ENTRIES=1024
    while ((HASH_ENTRIES < 2 * EXACT)); do HASH_ENTRIES=$((HASH_ENTRIES * 2)); done
fi
# net_pcap holds the whole capture in mbufs: a large --frames needs room.
BIG=$((FLOWS == 0 && FRAMES > 4096 ? FRAMES : 0))
APP_MBUFS=$((MBUFS + FLOWS + BIG))
CT_CAPACITY=$((2 * CT_FLOWS > 1024 ? 2 * CT_FLOWS : 1024))
# An mbuf takes ~2.5 KB; the rest of either process fits in 256 MB here.
((FLOWS + BIG == 0 || MEM >= APP_MBUFS * 5 / 2048 + 256)) ||
    die "--mem must be >= $((APP_MBUFS * 5 / 2048 + 256)) for $APP_MBUFS mbufs"
[[ -x $PY ]] || die "$PY not found"
[[ -f $TOOL ]] || die "$TOOL not found"
((L3FWD_ONLY)) || [[ -x $APP ]] ||
    die "dpdk-app not found at $APP (build it: meson setup build && ninja -C build)"
if [[ -n $L3FWD ]]; then
    [[ -x $L3FWD ]] || die "no l3fwd binary at $L3FWD"
else
    [[ -f $L3FWD_SRC/l3fwd/main.c ]] ||
        die "no l3fwd sources in $L3FWD_SRC/l3fwd (apt-get install dpdk-doc)"
    command -v pkg-config >/dev/null && pkg-config --exists libdpdk ||
        die "pkg-config does not know libdpdk (apt-get install libdpdk-dev pkg-config)"
    command -v make >/dev/null && command -v cc >/dev/null || die "needs make and cc"
fi
NCPU=$(nproc)
((NCPU >= 2)) || die "needs at least 2 CPUs (main lcore + one forwarding lcore)"

TMP_PREFIX=dpdk-app-router-replay
# shellcheck source=bench/replay/common.sh
source "$ROOT/bench/replay/common.sh"

tool() { run_tool "$TOOL" "$@"; }  # common.sh

build_l3fwd() {
    local dir="$TMP/l3fwd-build"
    mkdir -p "$dir"
    cp -r "$L3FWD_SRC/l3fwd" "$L3FWD_SRC/common" "$dir/"
    local src="$dir/l3fwd"
    # 1. Offloads: request only what the port has (net_pcap: no RX checksum,
    #    which l3fwd asks for unconditionally). The RX queues use the global
    #    port_conf, so mask that too.
    grep -q 'ret = config_port_max_pkt_len(&local_port_conf, &dev_info);' "$src/main.c" ||
        die "l3fwd main.c does not look like DPDK 22.11's (offload patch point not found)"
    sed -i 's|^\(\t*\)ret = config_port_max_pkt_len(&local_port_conf, &dev_info);|\1local_port_conf.rxmode.offloads \&= dev_info.rx_offload_capa;\n\1local_port_conf.txmode.offloads \&= dev_info.tx_offload_capa;\n\1port_conf.rxmode.offloads \&= dev_info.rx_offload_capa;\n&|' \
        "$src/main.c"
    # 2. Room for --routes IPv4 routes (and their tbl8 groups), and no line
    #    printed per route added.
    sed -i -e 's|^#define IPV4_L3FWD_LPM_MAX_RULES .*|#define IPV4_L3FWD_LPM_MAX_RULES 2097152|' \
        -e 's|^#define IPV4_L3FWD_LPM_NUMBER_TBL8S .*|#define IPV4_L3FWD_LPM_NUMBER_TBL8S (1 << 16)|' \
        -e 's|^\(\t*\)printf("LPM: Adding route|\1if (0) printf("LPM: Adding route|' \
        "$src/l3fwd_lpm.c"
    # 3. Exact match (--lookup em, --exact-entries): --hash-entry-num sizes
    #    the rte_hash tables (22.11 ignores the option and makes 4M entries;
    #    values above that stay 4M), no line printed per entry, and room in
    #    the mbuf pool for a capture of more than 4096 frames: the pool holds
    #    at least 8192 + L3FWD_BENCH_EXTRA_MBUFS (environment) mbufs
    #    (infinite_rx keeps the whole capture in it).
    sed -i -e 's|^uint16_t nb_txd = TX_DESC_DEFAULT;|&\nuint32_t hash_entry_number;|' \
        -e 's|^\(\t*\)fprintf(stderr, "Hash entry number will be ignored\\n");|\1hash_entry_number = (uint32_t)strtoul(optarg, NULL, 0);|' \
        -e 's|^#define NB_MBUF(nports) RTE_MAX(|static unsigned int\nbench_extra_mbufs(void)\n{\n\tconst char *s = getenv("L3FWD_BENCH_EXTRA_MBUFS");\n\n\treturn s != NULL ? (unsigned int)strtoul(s, NULL, 0) : 0;\n}\n\n&|' \
        -e 's|^\t(unsigned)8192)$|\t(unsigned)8192 + bench_extra_mbufs())|' \
        "$src/main.c"
    sed -i -e 's|^\(\t*\)\.entries = L3FWD_HASH_ENTRIES,|\1.entries = hash_entry_number > 0 \&\& hash_entry_number < L3FWD_HASH_ENTRIES ? hash_entry_number : L3FWD_HASH_ENTRIES,|' \
        -e 's|^\(\t*\)printf("EM: Adding route|\1if (0) printf("EM: Adding route|' \
        "$src/l3fwd_em.c"
    grep -c 'offloads &= dev_info' "$src/main.c" | grep -qx 3 &&
        grep -q 'MAX_RULES 2097152' "$src/l3fwd_lpm.c" &&
        grep -q 'if (0) printf("LPM: Adding' "$src/l3fwd_lpm.c" &&
        grep -q '^uint32_t hash_entry_number;' "$src/main.c" &&
        grep -q 'hash_entry_number = (uint32_t)strtoul' "$src/main.c" &&
        grep -q '(unsigned)8192 + bench_extra_mbufs())' "$src/main.c" &&
        grep -c '\.entries = hash_entry_number > 0' "$src/l3fwd_em.c" | grep -qx 2 &&
        grep -c 'if (0) printf("EM: Adding' "$src/l3fwd_em.c" | grep -qx 2 ||
        die "patching l3fwd failed (sources differ from DPDK 22.11's?)"
    if ! make -C "$src" -j"$NCPU" >"$TMP/l3fwd-build.log" 2>&1; then
        tail -n 20 "$TMP/l3fwd-build.log" >&2
        die "building l3fwd failed (log above)"
    fi
    L3FWD="$src/build/l3fwd"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== dpdk-app router replay benchmark: $PAIRS pair(s), warm-up ${WARMUP}s, interval ${INTERVAL}s"
echo "   $ROUTES extra routes, l3fwd routes: $L3FWD_ROUTES, $NCPU CPU(s), load $LOAD_START"

if [[ -z $L3FWD ]]; then
    echo "== building l3fwd from $L3FWD_SRC/l3fwd (patched copy in $TMP)"
    t0=$(date +%s)
    build_l3fwd
    echo "   built in $(($(date +%s) - t0)) s"
fi

echo "== generating the capture and $ROUTES routes"
PCAP="$TMP/frames.pcap"
EMPTY="$TMP/empty.pcap"
DSTS=alt
((EXACT == 0)) || DSTS=port1
((!CT_REPLIES)) || DSTS=replies
tool gen-pcap "$PCAP" "$FRAMES" "$MAC0" "$DSTS" || die "gen-pcap: $TOOL_OUT"
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' >"$EMPTY"
PORT1_RX="rx_pcap=$EMPTY"
if ((BOTH)); then
    tool gen-pcap "$TMP/frames1.pcap" "$FRAMES" "$MAC1" || die "gen-pcap: $TOOL_OUT"
    PORT1_RX="rx_pcap=$TMP/frames1.pcap,infinite_rx=1"
fi
if [[ $L3FWD_ROUTES == same ]]; then
    tool gen-routes "$ROUTES" 1 "$TMP/routes.txt" 198.51.100.2 "$TMP/l3fwd.v4" "$TMP/l3fwd.v6" ||
        die "gen-routes: $TOOL_OUT"
else
    tool gen-routes "$ROUTES" 1 "$TMP/routes.txt" 198.51.100.2 || die "gen-routes: $TOOL_OUT"
fi
# The replies go to 10.0.0.0/8, through port 1 (l3fwd: gen-acl's 'R' rule).
((!CT_REPLIES)) || echo "10.0.0.0/8 via 198.51.100.2" >>"$TMP/routes.txt"

if ((ACL_RULES > 0)); then
    ct=()
    ((CT_FLOWS == 0)) || ct=("$CT_CAPACITY" net_pcap0)
    tool gen-acl "$ACL_RULES" 1 "$TMP/firewall.toml" "$TMP/acl.v4" "$TMP/acl.v6" "${ct[@]}" ||
        die "gen-acl: $TOOL_OUT"
    if ((POLICE_SRC)); then
        # After the deny rules: every frame is accepted by this rule, not
        # by the default, and passes its source's bucket.
        cat >>"$TMP/firewall.toml" <<EOF
[[firewall.rule]]
id = "police"
action = "accept"
police = "per-source"
[[policer]]
name = "per-source"
kind = "srtcm"
cir = "1Mpps"
cbs = "100000packets"
scope = "per-source"
max_keys = $((2 * FRAMES > 1024 ? 2 * FRAMES : 1024))
EOF
    fi
fi
if ((EXACT > 0)); then
    tool gen-exact "$EXACT" "$TMP/exact.txt" "$TMP/em.v4" "$TMP/em.v6" || die "gen-exact: $TOOL_OUT"
    # Every frame must hit in both tables, keyed as each application keys it.
    tool check-pcap "$PCAP" "$TMP/exact.txt" "$TMP/em.v4" || die "check-pcap: $TOOL_OUT"
    echo "   capture against the tables: $TOOL_OUT"
    printf '\n[firewall]\ndefault = "drop"\n[firewall.exact]\nfile = "exact.txt"\n' >"$TMP/firewall.toml"
elif ((CT_FLOWS > 0)); then
    tool check-pcap "$PCAP" || die "check-pcap: $TOOL_OUT"
    echo "   capture: $TOOL_OUT"
fi

write_router_toml "$TMP/router.toml" "$APP_MBUFS" \
    "${BACKOFF:+idle_rx_backoff = $BACKOFF}" "${BURST:+burst_size = $BURST}"
if ((ACL_RULES > 0 || EXACT > 0)); then cat "$TMP/firewall.toml" >>"$TMP/router.toml"; fi
if ((FLOW)); then
    command -v nfcapd >/dev/null || die "--flow needs nfcapd (apt-get install nfdump)"
    NFCAPD_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$TMP/nfcapd"
    nfcapd -w "$TMP/nfcapd" -p "$NFCAPD_PORT" -b 127.0.0.1 -t 3600 >"$TMP/nfcapd.log" 2>&1 &
    NFCAPD_PID=$!
    PIDS+=("$NFCAPD_PID")
    FLOW_MAX=$((FRAMES > 32768 ? 2 * FRAMES : 65536))
    printf '\n[flow]\nmax_flows = %d\n[[flow.collector]]\naddress = "127.0.0.1:%d"\n' \
        "$FLOW_MAX" "$NFCAPD_PORT" >>"$TMP/router.toml"
fi
if ((!L3FWD_ONLY)); then
    # A configuration error shows now, not after l3fwd has started.
    if ! "$APP" -- --config "$TMP/router.toml" --check-config >"$TMP/check-config.out" 2>&1; then
        echo "  dpdk-app rejects $TMP/router.toml:"
        sed 's/^/  | /' "$TMP/check-config.out" | head -n 12
        echo "  (--l3fwd-only measures l3fwd alone; --keep keeps the generated files)"
        exit 1
    fi
fi

EAL_MEM=(-m "$MEM")
if ((HUGE)); then EAL_MEM+=(--huge-unlink); else EAL_MEM+=(--no-huge); fi
EAL_COMMON=(--no-pci "${EAL_MEM[@]}"
    --vdev "net_pcap0,rx_pcap=$PCAP,infinite_rx=1"
    --vdev "net_pcap1,$PORT1_RX")
TOTAL_S=$(awk -v p="$PAIRS" -v w="$WARMUP" -v i="$INTERVAL" -v s="$START_TIMEOUT" \
    'BEGIN { printf "%d", 2 * s + 2 * p * (w + i + 5) + 120 }')

declare -A PID_OF SOCK_OF READY_OF MEM_OF
start() { # kind: l3fwd | app
    local kind=$1 prefix="router_replay_$$_$1" t0
    PREFIXES+=("$prefix")
    rm -rf "${RUNTIME_BASE:?}/$prefix"
    case "$kind" in
        l3fwd)
            local rules=(-L)
            if ((ACL_RULES > 0)); then
                rules=(--lookup acl --rule_ipv4="$TMP/acl.v4" --rule_ipv6="$TMP/acl.v6")
            elif ((EXACT > 0)); then
                rules=(--lookup em --rule_ipv4="$TMP/em.v4" --rule_ipv6="$TMP/em.v6"
                    --hash-entry-num "$HASH_ENTRIES")
            elif [[ $L3FWD_ROUTES == same ]]; then
                rules=(-L --rule_ipv4="$TMP/l3fwd.v4" --rule_ipv6="$TMP/l3fwd.v6")
            fi
            # -l 1: the main lcore forwards (l3fwd runs its loop on every
            # lcore, the main one included). L3FWD_BENCH_EXTRA_MBUFS: room
            # for a capture of more than 4096 frames (patch 3).
            L3FWD_BENCH_EXTRA_MBUFS=$((FLOWS + BIG)) "$L3FWD" "${EAL_COMMON[@]}" -l 1 --file-prefix "$prefix" \
                -- -p 0x3 --config '(0,0,1),(1,0,1)' --parse-ptype \
                --eth-dest=0,$NEIGH0 --eth-dest=1,$NEIGH1 "${rules[@]}" \
                </dev/null >"$TMP/l3fwd.log" 2>&1 &
            ;;
        app)
            # -l 0,1: the main lcore (control loop) and one forwarding lcore.
            "$APP" "${EAL_COMMON[@]}" -l 0,1 --file-prefix "$prefix" \
                -- --config "$TMP/router.toml" --quiet --duration "$TOTAL_S" \
                --stats-json "$TMP/app-stats.json" </dev/null >"$TMP/app.log" 2>&1 &
            ;;
    esac
    PID_OF[$kind]=$!
    PIDS+=("$!")
    SOCK_OF[$kind]="$RUNTIME_BASE/$prefix/dpdk_telemetry.v2"
    t0=$(date +%s.%N)
    if ! tool wait-forwarding "${SOCK_OF[$kind]}" "${PID_OF[$kind]}" 0,1 "$START_TIMEOUT"; then
        echo "  $kind did not start forwarding: $TOOL_OUT"
        echo "  --- last lines of $TMP/$kind.log:"
        tail -n 12 "$TMP/$kind.log" | sed 's/^/  | /'
        exit 1
    fi
    READY_OF[$kind]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    tool memory "${PID_OF[$kind]}" && MEM_OF[$kind]=$TOOL_OUT
    kill -STOP "${PID_OF[$kind]}"
    printf '  %-8s pid %s forwarding %s s after start (%s), held\n' "$kind" "${PID_OF[$kind]}" \
        "${READY_OF[$kind]}" "${MEM_OF[$kind]}"
}

RUN=0
RATE=""
L3_MISSES=0
measure() { # kind label
    local kind=$1 label=$2 pid=${PID_OF[$1]} extra=()
    RUN=$((RUN + 1))
    [[ $kind == app ]] && extra=(app)
    kill -CONT "$pid" 2>/dev/null || true
    if tool measure "${SOCK_OF[$kind]}" "$pid" 0,1 "$WARMUP" "$INTERVAL" "${extra[@]}" &&
        [[ $TOOL_OUT =~ mpps=([0-9.]+)\ rx_mpps=([0-9.]+) ]]; then
        RATE=${BASH_REMATCH[1]}
        local rx=${BASH_REMATCH[2]} drops=""
        if [[ $TOOL_OUT =~ drops=([^ ]+) ]]; then drops="  drops: ${BASH_REMATCH[1]}"; fi
        # l3fwd em sends a miss back out of the port it came in on (port
        # 0); every entry sends to port 1.
        if [[ $kind == l3fwd ]] && ((EXACT > 0)) && [[ $TOOL_OUT =~ tx_by_port=0:([0-9]+) ]]; then
            drops="  misses: ${BASH_REMATCH[1]}"
            ((BASH_REMATCH[1] == 0)) || L3_MISSES=1
        fi
        printf '  run %2d  %-24s %8.3f Mpps   (rx %.3f Mpps)%s\n' "$RUN" "$label" "$RATE" \
            "$rx" "$drops"
        [[ $kind != app || $drops == "  drops: none" ]] || APP_WINDOW_DROPS=1
    else
        RATE=fail
        printf '  run %2d  %-24s FAILED: %s\n' "$RUN" "$label" "$TOOL_OUT"
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

APP_WINDOW_DROPS=0
if ((L3FWD_ONLY)); then
    echo "== starting l3fwd (held with SIGSTOP once it forwards)"
    start l3fwd
else
    echo "== starting both (each is held with SIGSTOP once it forwards)"
    start l3fwd
    start app
fi

L3_KIND="-L ($L3FWD_ROUTES routes)"
APP_KIND="router ($ROUTES + 2 routes)"
TARGET=""
if ((ACL_RULES > 0)); then
    L3_KIND="--lookup acl ($ACL_RULES deny rules + 2 route rules)"
    APP_KIND+=" + [firewall] of $ACL_RULES deny rules"
    ((!POLICE_SRC)) || APP_KIND+=" + a per-source policer ($FRAMES sources)"
fi
if ((CT_FLOWS > 0)); then
    APP_KIND+=", conntrack (rules est + new first; $CT_FLOWS UDP flows"
    ((CT_REPLIES)) && APP_KIND+=" seen both ways (frame, reply)"
    APP_KIND+=", capacity $CT_CAPACITY)"
    TARGET=0.8
fi
if ((FLOW)); then
    APP_KIND+=" + [flow] of max_flows $FLOW_MAX, IPFIX to nfcapd"
    TARGET=0.8
fi
if ((EXACT > 0)); then
    L3_KIND="--lookup em ($EXACT 5-tuples to port 1, rte_hash of $HASH_ENTRIES entries)"
    APP_KIND+=" + [firewall.exact] of $EXACT accept flows, default drop"
fi
if ((L3FWD_ONLY)); then
    echo "== A = l3fwd $L3_KIND, one forwarding lcore (no dpdk-app: --l3fwd-only)"
else
    echo "== A = l3fwd $L3_KIND, B = dpdk-app $APP_KIND; one forwarding lcore each"
fi
L3=()
DA=()
PAIR_R=()
for ((p = 1; p <= PAIRS; p++)); do
    measure l3fwd "A l3fwd (pair $p)"
    L3+=("$RATE")
    ((L3FWD_ONLY)) && continue
    measure app "B dpdk-app (pair $p)"
    DA+=("$RATE")
    if [[ ${L3[-1]} != fail && $RATE != fail ]]; then
        PAIR_R+=("$(awk -v b="$RATE" -v a="${L3[-1]}" 'BEGIN { printf "%.3f", b / a }')")
    fi
done

STATS_LINE="no stats JSON (see $TMP/app.log)"
STATS_OK=0
if ((!L3FWD_ONLY)); then
    # Stop dpdk-app first: its stats JSON is written at exit.
    stop_pid "${PID_OF[app]}"
    forget "${PID_OF[app]}"
fi
stop_pid "${PID_OF[l3fwd]}"
forget "${PID_OF[l3fwd]}"
if [[ -f $TMP/app-stats.json ]]; then
    if "$PY" "$TOOL" check-stats "$TMP/app-stats.json" >"$TMP/check.out" 2>&1; then STATS_OK=1; fi
    STATS_LINE=$(cat "$TMP/check.out")
fi

L3_MED=$(median "${L3[@]}")
DA_MED=$(median "${DA[@]}")
R="-"
if [[ $L3_MED != - && $DA_MED != - ]]; then
    R=$(awk -v b="$DA_MED" -v a="$L3_MED" 'BEGIN { printf "%.3f", b / a }')
fi
CPU_MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)
GIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]]; then GIT+="+dirty"; fi
FRAMES_LINE="$FRAMES frames"
((FLOWS == 0)) || FRAMES_LINE+=" (one UDP flow each)"
echo
echo "==== router replay summary ========================================="
printf 'date        %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf 'machine     %s, %s CPU(s), load %s (start) / %s (end)\n' "${CPU_MODEL:-unknown CPU}" \
    "$NCPU" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'software    %s, l3fwd from %s, git %s\n' \
    "$("$APP" -- --version 2>/dev/null | head -n1 || true)" \
    "$(pkg-config --modversion libdpdk 2>/dev/null || echo '?')" "$GIT"
printf 'setup       net_pcap infinite_rx %s, %s, warm-up %ss, interval %ss, %s pair(s)\n' \
    "$FRAMES_LINE" "${EAL_MEM[*]}" "$WARMUP" "$INTERVAL" "$PAIRS"
((L3FWD_ONLY)) || printf 'dpdk-app    idle_rx_backoff %s, burst_size %s, mbufs %s\n' \
    "${BACKOFF:-default (8)}" "${BURST:-default (64)}" "$APP_MBUFS"
printf 'port 1      %s\n' "$( ((BOTH)) && echo "replays too (--both-ports)" || echo "reads an empty capture (idle)")"
printf 'l3fwd       Mpps  median %-8s runs: %s  (%s)\n' "$L3_MED" "$(fmt_runs "${L3[@]}")" "$L3_KIND"
if ((EXACT > 0)); then
    printf 'l3fwd       em misses: %s\n' "$( ((L3_MISSES)) && echo "SOME (frames sent back out of port 0)" || echo "none")"
fi
if ((L3FWD_ONLY)); then
    printf 'start       l3fwd forwarding after %s s (%s)\n' "${READY_OF[l3fwd]}" "${MEM_OF[l3fwd]:-?}"
    echo "===================================================================="
    [[ $L3_MED != - ]] && ((!L3_MISSES))
    exit
fi
printf 'dpdk-app    Mpps  median %-8s runs: %s  (%s)\n' "$DA_MED" "$(fmt_runs "${DA[@]}")" "$APP_KIND"
printf 'ratio dpdk-app/l3fwd      %s  (per pair: %s)%s\n' "$R" "${PAIR_R[*]:--}" \
    "$([[ -z $TARGET || $R == - ]] || awk -v r="$R" -v t="$TARGET" \
        'BEGIN { printf "  target >= %s: %s", t, (r >= t ? "met" : "NOT MET") }')"
printf 'start       l3fwd forwarding after %s s (%s); dpdk-app after %s s (%s)\n' \
    "${READY_OF[l3fwd]}" "${MEM_OF[l3fwd]:-?}" "${READY_OF[app]}" "${MEM_OF[app]:-?}"
if ((FLOW)) && [[ -f $TMP/app-stats.json ]]; then
    printf 'flows       %s\n' "$("$PY" -c 'import json, sys
f = json.load(open(sys.argv[1]))["flows"]
c = f["collectors"][0]
print("created %d exported %d lost %d live %d evicted %d; %d IPFIX messages, %d refused" % (
    f["created"], f["exported"], f["lost"], f["live"], f["evicted"], c["messages"], c["errors"]))' \
        "$TMP/app-stats.json" 2>&1)"
fi
printf 'dpdk-app    stats JSON: %s%s\n' "$STATS_LINE" \
    "$( ((STATS_OK && !APP_WINDOW_DROPS)) && echo "  (no drops)" || echo "  (UNEXPECTED DROPS)")"
echo "===================================================================="
((STATS_OK && !APP_WINDOW_DROPS && !L3_MISSES))
