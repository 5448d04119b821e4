#!/usr/bin/env bash
# Reserves 2 MB hugepages for dpdk-app and mounts hugetlbfs if needed.
#
#   scripts/hugepages.sh [PAGES]     (default 1024 = 2 GiB)
#   scripts/hugepages.sh --status
set -euo pipefail
sys=/sys/kernel/mm/hugepages/hugepages-2048kB
if [[ ${1:-} == --status ]]; then
    echo "2 MB hugepages: total $(cat $sys/nr_hugepages), free $(cat $sys/free_hugepages)"
    grep -q hugetlbfs /proc/mounts && echo "hugetlbfs mounted" || echo "hugetlbfs not mounted"
    exit 0
fi
pages=${1:-1024}
if ! [[ $pages =~ ^[0-9]+$ ]]; then
    echo "hugepages.sh: PAGES must be a number, got '$pages'" >&2
    exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "hugepages.sh: must run as root (try: sudo $0 $pages)" >&2
    exit 1
fi
echo "$pages" > $sys/nr_hugepages
got=$(cat $sys/nr_hugepages)
if ((got < pages)); then
    echo "hugepages.sh: asked for $pages pages, the kernel gave $got (memory is fragmented;" \
         "reserve at boot with hugepages=$pages on the kernel command line)" >&2
fi
if ! grep -q hugetlbfs /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages
fi
echo "2 MB hugepages: total $got, free $(cat $sys/free_hugepages)"
