#!/usr/bin/env bash
# Sets up and builds dpdk-app, then replays the bundled capture through the
# embedded default configuration (bridge mode) with net_pcap: no NIC and no
# hugepages needed. Writes the output capture and prints the final stats.
#
#   scripts/demo.sh [OUTPUT.pcap]     (default: demo-out.pcap)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=${1:-demo-out.pcap}
stats=${out%.pcap}.stats.json
build/app/dpdk-app --no-pci --no-huge -m 256 -l 0-1 --file-prefix "dpdk-app-demo-$$" \
    --log-level=lib.eal:warning \
    --vdev="net_pcap0,rx_pcap=tests/data/demo.pcap,tx_pcap=$out" \
    -- --idle-exit 300 --stats-json "$stats"
echo "demo: output capture $out, counters $stats"
