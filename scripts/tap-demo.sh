#!/usr/bin/env bash
# A two-minute tour of dpdk-app as a router between two hosts, on this
# machine, without NIC or hugepages: two network namespaces (host A with
# 192.0.2.2 / 2001:db8:1::2, host B with 198.51.100.2 / 2001:db8:2::2), each
# holding the kernel end of one of dpdk-app's net_tap ports. A pings B over
# IPv4 and IPv6 and traceroutes to it through the appliance; at the end
# dpdk-app stops and its counters are shown, and the flows it exported to
# an nfcapd (when installed) are listed by nfdump. Everything it made (namespaces,
# taps, the process, files) is removed at the end, also on Ctrl-C.
#
#   sudo scripts/tap-demo.sh [--step]
#
#   --step   wait for Enter before each step
#
# Uses $DPDK_APP when set; otherwise, in the source tree, runs
# scripts/setup.sh (packages, build) and uses build/app/dpdk-app, and
# installed, the dpdk-app in PATH. Needs root, /dev/net/tun, ip, ping,
# traceroute and python3. Exit status 0 when every step worked.
set -euo pipefail
me=tap-demo.sh
usage_line="$me [--step]"
script_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=lib/system-changes.sh
source "$script_dir/lib/system-changes.sh"

step=0
for arg in "$@"; do
    case $arg in
        --step) step=1 ;;
        -h | --help) print_help; exit 0 ;;
        *) usage_error "unknown option '$arg'" ;;
    esac
done

missing=()
[[ $(id -u) -eq 0 ]] || missing+=("root (try: sudo $0)")
[[ -c /dev/net/tun ]] || missing+=("/dev/net/tun")
for tool in ip ping traceroute python3; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]} > 0)); then
    echo "$me: needs ${missing[*]}" >&2
    exit 1
fi

if [[ -z ${DPDK_APP:-} && -x $script_dir/setup.sh ]]; then
    "$script_dir/setup.sh"
    DPDK_APP=$script_dir/../build/app/dpdk-app
elif [[ -z ${DPDK_APP:-} ]]; then
    DPDK_APP=$(command -v dpdk-app) || die "no dpdk-app in PATH; set DPDK_APP"
fi

tag=tap-demo-$$
ns_app=$tag-app ns_a=$tag-a ns_b=$tag-b
tap_a=tdemo$$a tap_b=tdemo$$b
work=$(mktemp -d)
app_pid=
nfcapd_pid=

cleanup() {
    local pid
    for pid in "$app_pid" "$nfcapd_pid"; do
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    for ns in "$ns_app" "$ns_a" "$ns_b"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "$me: interrupted, cleaning up"; exit 130' INT TERM

say() {
    echo
    echo "== $*"
    if ((step)); then
        read -r -p "   (Enter) " _ </dev/tty || true
    fi
}

failed=0
# Runs a command in a namespace, shows it and its output; counts failures.
show_in() {
    local ns=$1
    shift
    echo "\$ $*"
    if ! ip netns exec "$ns" "$@"; then
        echo "$me: step failed: $*" >&2
        failed=$((failed + 1))
    fi
}

cat >"$work/router.toml" <<'EOF'
[dataplane]
mode = "router"

[[port]]
name = "net_tap0"
[[port]]
name = "net_tap1"

[[interface]]
port = "net_tap0"
addresses = ["192.0.2.1/24", "2001:db8:1::1/64"]

[[interface]]
port = "net_tap1"
addresses = ["198.51.100.1/24", "2001:db8:2::1/64"]

# Every flow routed is accounted and exported (IPFIX) to a collector on the
# appliance's host, here nfcapd in its namespace.
[flow]
[[flow.collector]]
address = "127.0.0.1:4739"
EOF

say "dpdk-app as a router between two namespaces: configuration"
cat "$work/router.toml"

for ns in "$ns_app" "$ns_a" "$ns_b"; do
    ip netns add "$ns"
done
lcores=(-l 0-1)
if (($(nproc) < 2)); then
    lcores=(--lcores '(0-1)@0')
fi
ip -n "$ns_app" link set lo up
if command -v nfcapd >/dev/null && command -v nfdump >/dev/null; then
    say "a flow collector for it: nfcapd on 127.0.0.1:4739 in namespace $ns_app"
    mkdir -p "$work/flows"
    ip netns exec "$ns_app" nfcapd -w "$work/flows" -p 4739 -b 127.0.0.1 -t 3600 \
        >"$work/nfcapd.log" 2>&1 &
    nfcapd_pid=$!
else
    echo "(no nfcapd / nfdump: apt-get install nfdump to see the flows at the end)"
fi
say "starting dpdk-app in namespace $ns_app with net_tap0 ($tap_a) and net_tap1 ($tap_b)"
eal=(--no-pci --no-huge -m 256 "${lcores[@]}" --file-prefix "$tag" --log-level=lib.eal:warning
    "--vdev=net_tap0,iface=$tap_a" "--vdev=net_tap1,iface=$tap_b")
echo "\$ $DPDK_APP ${eal[*]} -- -c router.toml --stats-json stats.json"
ip netns exec "$ns_app" "$DPDK_APP" "${eal[@]}" -- -c "$work/router.toml" \
    --stats-json "$work/stats.json" --quiet 2>"$work/app.err" &
app_pid=$!
for _ in $(seq 200); do
    kill -0 "$app_pid" 2>/dev/null || break
    if ip -n "$ns_app" -o link show up 2>/dev/null | grep -q "$tap_b" &&
        ip -n "$ns_app" -o link show up 2>/dev/null | grep -q "$tap_a"; then
        break
    fi
    sleep 0.1
done
if ! kill -0 "$app_pid" 2>/dev/null; then
    wait "$app_pid" || true
    app_pid=
    cat "$work/app.err" >&2
    echo "$me: dpdk-app stopped before its taps came up (its messages are above)" >&2
    exit 1
fi

# host NS TAP ADDRESS4 ADDRESS6 GATEWAY4 GATEWAY6
host() {
    ip -n "$ns_app" link set "$2" netns "$1"
    ip -n "$1" link set lo up
    ip -n "$1" addr add "$3" dev "$2"
    ip -n "$1" addr add "$4" dev "$2" nodad
    ip -n "$1" link set "$2" up
    ip -n "$1" route add default via "$5"
    ip -n "$1" -6 route add default via "$6"
}
say "host A: $tap_a in namespace $ns_a; host B: $tap_b in namespace $ns_b"
host "$ns_a" "$tap_a" 192.0.2.2/24 2001:db8:1::2/64 192.0.2.1 2001:db8:1::1
host "$ns_b" "$tap_b" 198.51.100.2/24 2001:db8:2::2/64 198.51.100.1 2001:db8:2::1
show_in "$ns_a" ip -br addr show dev "$tap_a"
show_in "$ns_b" ip -br addr show dev "$tap_b"

say "A pings the appliance, then B through it (the appliance resolves B with ARP itself)"
show_in "$ns_a" ping -c 2 -i 0.2 -W 2 192.0.2.1
show_in "$ns_a" ping -c 3 -i 0.2 -W 2 198.51.100.2

say "the same over IPv6 (NDP instead of ARP)"
show_in "$ns_a" ping -6 -c 3 -i 0.2 -W 2 2001:db8:2::2

say "traceroute: the appliance is hop 1, answering with ICMP time exceeded"
show_in "$ns_a" traceroute -n -q 1 -w 2 -m 3 198.51.100.2
show_in "$ns_a" traceroute -6 -n -q 1 -w 2 -m 3 2001:db8:2::2

say "stopping dpdk-app (SIGTERM): it drains, writes its counters and exits 0"
kill -TERM "$app_pid"
rc=0
wait "$app_pid" || rc=$?
app_pid=
if ((rc != 0)); then
    cat "$work/app.err" >&2
    echo "$me: dpdk-app exited with status $rc" >&2
    failed=$((failed + 1))
fi
if [[ -f $work/stats.json ]]; then
    # dpdk-app printed its counters above; what its responder did is in the stats file.
    python3 -c 'import json, sys
events = json.load(open(sys.argv[1])).get("responder", {})
print("responder: " + ", ".join(f"{k} {v}" for k, v in events.items() if v))' "$work/stats.json"
else
    echo "$me: no stats file" >&2
    failed=$((failed + 1))
fi
if [[ -n $nfcapd_pid ]]; then
    # dpdk-app exported every live flow at exit; nfcapd writes its file on SIGTERM.
    sleep 0.3
    kill -TERM "$nfcapd_pid" 2>/dev/null || true
    wait "$nfcapd_pid" 2>/dev/null || true
    nfcapd_pid=
    say "the flows dpdk-app exported, as nfdump lists them"
    flows_file=$(find "$work/flows" -name 'nfcapd.2*' | head -n1)
    if [[ -n $flows_file ]] && nfdump -r "$flows_file" -N -q \
        -o 'fmt:%pr %sap -> %dap %pkt packets %byt bytes' >"$work/flows.txt" 2>&1 &&
        grep -q . "$work/flows.txt"; then
        cat "$work/flows.txt"
    else
        echo "$me: the collector stored no flow" >&2
        failed=$((failed + 1))
    fi
fi

echo
if ((failed > 0)); then
    echo "$me: $failed step(s) failed"
    exit 1
fi
echo "$me: every step worked; the namespaces, taps and files are removed on exit"
