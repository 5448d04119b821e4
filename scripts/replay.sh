#!/usr/bin/env bash
# What would this configuration do to this capture? Replays IN.pcap once
# through dpdk-app with configuration CONFIG (net_pcap, one lcore, no NIC and
# no hugepages), writes what comes out to OUT.pcap and the counters to a stats
# file, and prints a table of verdicts: frames in, forwarded, consumed by the
# appliance (answered ARP / ping, ...), dropped by each reason, the packets it
# generated (replies, ICMP errors) and, with a [firewall], each rule's hits.
#
#   scripts/replay.sh IN.pcap -c CONFIG [-o OUT.pcap] [--stats FILE] [EAL options...]
#
#   -c, --config CONFIG  the TOML configuration to try (docs/configuration.md)
#   -o, --output OUT     the output capture (default: IN's name with -out.pcap,
#                        in the current directory)
#   --stats FILE         dpdk-app's stats JSON (default: OUT's name with
#                        .stats.json)
#   EAL options          anything else goes to EAL after the script's own
#                        (--no-pci --no-huge -m 512 -l 0 --file-prefix replay_PID
#                        --log-level=lib.eal:warning --no-telemetry); write
#                        them with '=' (--log-level=lib.eal:debug)
#
# The capture comes in on one port, net_pcap0, and what leaves goes out of it
# to OUT: in bridge mode a single port is bridged to itself, so OUT holds every
# forwarded frame. A configuration with [[port]] tables must name net_pcap0.
# Router mode: the capture stands for what a NIC would hand the appliance, so
# its frames must be addressed to the port's MAC. dpdk-app leaves that check
# to the NIC, and net_pcap makes none: frames to another MAC are routed in a
# replay although a NIC would have dropped them. Give the [[interface]] of
# net_pcap0 mac = "..." (net_pcap's own MAC is random), use a capture whose
# frames go to that MAC, and give the next hops [[neighbor]] entries (nothing
# answers ARP / NDP in a replay). Drop reasons count generated packets that
# were dropped as well as received ones.
#
# Uses $DPDK_APP when set, else build/app/dpdk-app of this source tree, else
# dpdk-app in PATH. Exit status: dpdk-app's (0 ok, 1 runtime failure, 2 bad
# configuration or usage); 2 also for the script's own usage errors and a
# missing or empty capture or configuration.
set -euo pipefail
me=replay.sh
usage_line="$me IN.pcap -c CONFIG [-o OUT.pcap] [--stats FILE] [EAL options...]"
dry_run=0
script_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=lib/system-changes.sh
source "$script_dir/lib/system-changes.sh"

# A file the user named is missing or unusable: exit 2, as dpdk-app does.
input_error() {
    echo "$me: $*" >&2
    exit 2
}

capture='' config='' output='' stats=''
eal=()
need_value() {
    (($2 >= 2)) || usage_error "$1 needs a value"
}
while (($# > 0)); do
    case $1 in
        -h | --help) print_help; exit 0 ;;
        -c | --config) need_value "$1" $#; config=$2; shift ;;
        -o | --output) need_value "$1" $#; output=$2; shift ;;
        --stats) need_value "$1" $#; stats=$2; shift ;;
        --config=*) config=${1#*=} ;;
        --output=*) output=${1#*=} ;;
        --stats=*) stats=${1#*=} ;;
        --) usage_error "'--': the application's options are the script's own (-c, -o, --stats)" ;;
        -*) eal+=("$1") ;;
        *)
            if [[ -z $capture ]]; then
                capture=$1
            else
                eal+=("$1")
            fi
            ;;
    esac
    shift
done

[[ -n $capture ]] || usage_error "no capture given"
[[ -n $config ]] || usage_error "no configuration given (-c CONFIG)"
[[ -e $capture ]] || input_error "no capture $capture"
[[ -f $capture && -r $capture ]] || input_error "capture $capture is not a readable file"
# An empty capture would never let --idle-exit stop the replay: it waits for a first frame.
(($(stat -c %s "$capture") > 24)) || input_error "capture $capture holds no frames"
[[ -e $config ]] || input_error "no configuration $config"
[[ -f $config && -r $config ]] || input_error "configuration $config is not a readable file"

if [[ -z $output ]]; then
    output=$(basename "$capture")
    output=${output%.pcap}-out.pcap
fi
if [[ -z $stats ]]; then
    stats=${output%.pcap}.stats.json
fi
for path in "$capture" "$output"; do
    # net_pcap's arguments are separated by commas.
    [[ $path != *,* ]] || input_error "$path: net_pcap cannot take a path with a comma"
done
[[ $(readlink -f "$output") != "$(readlink -f "$capture")" ]] ||
    input_error "-o $output is the capture itself"

if [[ -z ${DPDK_APP:-} ]]; then
    if [[ -x $script_dir/../build/app/dpdk-app ]]; then
        DPDK_APP=$script_dir/../build/app/dpdk-app
    else
        DPDK_APP=$(command -v dpdk-app) || die "no dpdk-app: build it (scripts/setup.sh) or set DPDK_APP"
    fi
fi
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3) || die "needs python3 to read the stats (apt-get install python3)"

rm -f "$stats"
rc=0
"$DPDK_APP" --no-pci --no-huge -m 512 -l 0 --file-prefix "replay_$$" \
    --log-level=lib.eal:warning --no-telemetry \
    "--vdev=net_pcap0,rx_pcap=$capture,tx_pcap=$output" "${eal[@]}" \
    -- -c "$config" --idle-exit 500 --quiet --stats-json "$stats" >/dev/null || rc=$?
if [[ ! -s $stats ]]; then
    echo "$me: dpdk-app exited with status $rc and wrote no stats (its messages are above)" >&2
    exit $((rc == 0 ? 1 : rc))
fi

"$python" - "$stats" "$capture" "$config" "$output" <<'EOF'
import json
import sys

path, capture, config, output = sys.argv[1:5]
with open(path) as f:
    s = json.load(f)
t = s["totals"]
rows = []  # (indent, label, value)


def row(label, value, indent=1):
    rows.append((indent, label, value))


row("frames in", t["rx"])
row("forwarded", t["forwarded"])
row("consumed", t["consumed"])
row("dropped", t["dropped"])
for reason, n in s["drops"].items():
    if n:
        row(reason, n, 2)
row("generated", t["generated"])
for event, n in s["responder"].items():
    if n:
        row(event, n, 2)
if t["generated"]:
    row("sent", t["generated_sent"], 2)
    row("not sent", t["generated_dropped"], 2)
if t.get("in_flight"):
    row("still held", t["in_flight"])
row("frames out", sum(p["tx"] for p in s["ports"]))

print(f"{capture} through {config}: {s['mode']} mode, {s['seconds']:.2f} s")
width = max(len("  " * i + label) for i, label, _ in rows) + 2
for indent, label, value in rows:
    print(f"{'  ' * indent + label:<{width}}{value:>12}")

fw = s.get("firewall")
if fw is not None:
    lines = []
    for number, r in enumerate(fw["rules"], 1):
        name = f"{number} {r['id']}" if r["id"] else str(number)
        lines.append((name, r["action"], r["packets"], r["bytes"]))
    d = fw["default"]
    lines.append(("default", d["action"], d["packets"], d["bytes"]))
    x = fw.get("exact")
    if x is not None:
        lines.append(("exact entries", "accept", x["accept_packets"], x["accept_bytes"]))
        lines.append(("exact entries", "drop", x["drop_packets"], x["drop_bytes"]))
    name_width = max(len("firewall rule"), *(len("  " + n) for n, *_ in lines)) + 2
    print(f"{'firewall rule':<{name_width}}{'action':<8}{'packets':>12}{'bytes':>14}")
    for name, action, packets, nbytes in lines:
        print(f"{'  ' + name:<{name_width}}{action:<8}{packets:>12}{nbytes:>14}")
print(f"output {output}, stats {path}")
EOF
exit "$rc"
