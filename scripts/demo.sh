#!/usr/bin/env bash
# Sets up and builds dpdk-app, then replays the bundled capture through the
# embedded default configuration (bridge mode) with net_pcap: no NIC and no
# hugepages needed. Writes the output capture and prints the final stats.
#
#   scripts/demo.sh [OUTPUT.pcap]     (default: demo-out.pcap)
#
# Uses $DPDK_APP when set instead of setting up and building. The live
# counterpart, through kernel taps and namespaces: sudo scripts/tap-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${DPDK_APP:-} ]]; then
    scripts/setup.sh
    DPDK_APP=build/app/dpdk-app
fi
out=${1:-demo-out.pcap}
stats=${out%.pcap}.stats.json
"$DPDK_APP" --no-pci --no-huge -m 256 -l 0-1 --file-prefix "dpdk-app-demo-$$" \
    --log-level=lib.eal:warning \
    --vdev="net_pcap0,rx_pcap=tests/data/demo.pcap,tx_pcap=$out" \
    -- --idle-exit 300 --stats-json "$stats"
echo "demo: output capture $out, counters $stats; for a live tour (router, ping, traceroute): sudo scripts/tap-demo.sh"
