#!/usr/bin/env bash
# Reserves hugepages for dpdk-app and mounts hugetlbfs for their size.
#
#   scripts/hugepages.sh [--size 2M|1G] [--node LIST] [--dry-run] [PAGES]
#   scripts/hugepages.sh --status
#   scripts/hugepages.sh --release [--size 2M|1G] [--node LIST] [--dry-run]
#
#   PAGES        pages to hold (default 1024 = 2 GiB of 2 MB pages); without
#                --node the kernel spreads them over the NUMA nodes
#   --size S     page size: 2M (default) or 1G
#   --node LIST  PAGES on each of these NUMA nodes (e.g. 0 or 0,1)
#   --status     pages per NUMA node and size (total, free), and the mounts
#   --release    give the pages back (all sizes unless --size); pages a
#                running process holds are freed when it exits
#   --dry-run    print the changes (sysfs writes, mkdir, mount) instead
#
# Says what the kernel gave; when it gave less than asked (fragmented memory,
# and 1 GB pages almost always), prints the boot-time settings that reserve
# them and exits 1. Exit codes: 0 done, 1 failed or short, 2 usage.
# Environment (for tests): SYSFS_ROOT (/sys), PROC_MOUNTS (/proc/mounts).
set -euo pipefail

SYSFS_ROOT=${SYSFS_ROOT:-/sys}
PROC_MOUNTS=${PROC_MOUNTS:-/proc/mounts}
me=hugepages.sh
usage_line="$me [--size 2M|1G] [--node LIST] [PAGES] | --status | --release"
dry_run=0
# shellcheck source-path=SCRIPTDIR source=lib/system-changes.sh
source "$(dirname "$(readlink -f "$0")")/lib/system-changes.sh"

# Page sizes in kB, and how they are written.
size_kb() {
    case ${1^^} in
        2M | 2MB | 2048K | 2048KB) echo 2048 ;;
        1G | 1GB | 1024M | 1048576K | 1048576KB) echo 1048576 ;;
        *) return 1 ;;
    esac
}

size_name() { # 2048 -> "2 MB", 1048576 -> "1 GB"
    if (($1 >= 1048576)); then echo "$(($1 / 1048576)) GB"; else echo "$(($1 / 1024)) MB"; fi
}

size_option() { # the kernel's spelling: hugepagesz=2M, pagesize=2M / 1024M in /proc/mounts
    if (($1 >= 1048576)); then echo "$(($1 / 1048576))G"; else echo "$(($1 / 1024))M"; fi
}

# A page counter; 0 where the kernel shows none.
count() {
    local v
    v=$(cat "$1" 2>/dev/null) || true
    echo "${v:-0}"
}

global_dir() { echo "$SYSFS_ROOT/kernel/mm/hugepages/hugepages-${1}kB"; }
node_dir() { echo "$SYSFS_ROOT/devices/system/node/node$1/hugepages/hugepages-${2}kB"; }

# The sizes this kernel offers, in kB, smallest first.
sizes() {
    local d
    for d in "$SYSFS_ROOT"/kernel/mm/hugepages/hugepages-*kB; do
        [[ -d $d ]] || continue
        d=${d##*hugepages-}
        echo "${d%kB}"
    done | sort -n
}

# The NUMA nodes with hugepage counters.
nodes() {
    local d
    for d in "$SYSFS_ROOT"/devices/system/node/node[0-9]*; do
        [[ -d $d/hugepages ]] || continue
        echo "${d##*/node}"
    done | sort -n
}

# The hugetlbfs mount point for pages of kb kB, if there is one.
mount_point() {
    awk -v ps="pagesize=$(($1 / 1024))M" '$3 == "hugetlbfs" && ("," $4 ",") ~ ("," ps ",") { print $2; exit }' \
        "$PROC_MOUNTS"
}

cmd_status() {
    local kb node dir
    printf '%-6s %-6s %8s %8s\n' size node total free
    for kb in $(sizes); do
        local listed=0
        for node in $(nodes); do
            dir=$(node_dir "$node" "$kb")
            [[ -d $dir ]] || continue
            printf '%-6s %-6s %8s %8s\n' "$(size_name "$kb")" "node$node" \
                "$(count "$dir/nr_hugepages")" "$(count "$dir/free_hugepages")"
            listed=$((listed + 1))
        done
        if ((listed != 1)); then
            dir=$(global_dir "$kb")
            printf '%-6s %-6s %8s %8s\n' "$(size_name "$kb")" all \
                "$(count "$dir/nr_hugepages")" "$(count "$dir/free_hugepages")"
        fi
    done
    for kb in $(sizes); do
        local at
        at=$(mount_point "$kb")
        if [[ -n $at ]]; then
            echo "hugetlbfs for $(size_name "$kb") pages mounted on $at"
        else
            echo "hugetlbfs for $(size_name "$kb") pages not mounted"
        fi
    done
}

# "node0 512, node1 512" for pages of kb kB.
per_node() {
    local kb=$1 node dir out=()
    for node in $(nodes); do
        dir=$(node_dir "$node" "$kb")
        [[ -d $dir ]] && out+=("node$node $(count "$dir/nr_hugepages")")
    done
    local IFS=, joined
    joined="${out[*]}"
    echo "${joined//,/, }"
}

ensure_mounted() {
    local kb=$1 at
    at=$(mount_point "$kb")
    if [[ -n $at ]]; then
        return 0
    fi
    at=/dev/hugepages
    if ((kb != 2048)); then
        at=/dev/hugepages$(size_option "$kb")
    fi
    change mkdir -p "$at"
    change mount -t hugetlbfs -o "pagesize=$(size_option "$kb")" nodev "$at"
}

# The boot-time way to PAGES pages of kb kB, on the listed nodes or spread.
boot_hint() {
    local kb=$1 pages=$2 node_list=$3 sz spec
    sz=$(size_option "$kb")
    spec=$pages
    if [[ -n $node_list ]]; then
        spec=$(echo "$node_list" | tr ',' '\n' | sed "s/\$/:$pages/" | paste -sd,)
    fi
    echo "reserve them at boot instead: add 'hugepagesz=$sz hugepages=$spec' to the kernel" \
        "command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot)"
    if ((kb == 2048)) && [[ -z $node_list ]]; then
        echo "or set 'vm.nr_hugepages = $pages' in /etc/sysctl.d/80-hugepages.conf (applied early at boot," \
            "while memory is not yet fragmented)"
    fi
}

# The nr_hugepages files for pages of kb kB: one per listed node, or the
# kernel's global one (which spreads the pages over the nodes).
count_files() {
    local kb=$1 node_list=$2 node
    if [[ -z $node_list ]]; then
        echo "$(global_dir "$kb")/nr_hugepages"
        return
    fi
    for node in ${node_list//,/ }; do
        [[ -d $(node_dir "$node" "$kb") ]] ||
            die "NUMA node $node has no $(size_name "$kb") pages (nodes: $(nodes | paste -sd' '))"
        echo "$(node_dir "$node" "$kb")/nr_hugepages"
    done
}

cmd_reserve() {
    local kb=$1 pages=$2 node_list=$3 files f
    files=$(count_files "$kb" "$node_list")
    mapfile -t files <<<"$files"
    for f in "${files[@]}"; do
        change write "$pages" "$f"
    done
    ensure_mounted "$kb"
    ((!dry_run)) || return 0

    local short=0 got
    for f in "${files[@]}"; do
        got=$(count "$f")
        ((got >= pages)) || short=1
    done
    local asked=$pages
    if [[ -n $node_list ]]; then
        asked="$pages on each of node $node_list"
    fi
    local gave
    gave=$(count "$(global_dir "$kb")/nr_hugepages")
    echo "$me: $(size_name "$kb") pages: asked for $asked, the kernel gave $gave in all ($(per_node "$kb"))," \
        "$(count "$(global_dir "$kb")/free_hugepages") free"
    if ((short)); then
        local why="memory is too fragmented"
        if ((kb >= 1048576)); then
            why+=" (1 GB pages rarely come after boot)"
        fi
        echo "$me: fewer $(size_name "$kb") pages than asked: $why" >&2
        boot_hint "$kb" "$pages" "$node_list" | sed "s/^/$me: /" >&2
        exit 1
    fi
}

cmd_release() {
    local kb=$1 node_list=$2 files f
    for kb in ${kb:-$(sizes)}; do
        files=$(count_files "$kb" "$node_list")
        mapfile -t files <<<"$files"
        for f in "${files[@]}"; do
            if (($(count "$f") != 0)); then
                change write 0 "$f"
            fi
        done
        ((!dry_run)) || continue
        local dir held
        dir=$(global_dir "$kb")
        held=$(($(count "$dir/nr_hugepages") + $(count "$dir/surplus_hugepages")))
        if ((held > 0)); then
            echo "$me: $(size_name "$kb") pages: $held left ($(per_node "$kb")); pages in use are freed" \
                "when the process holding them exits"
        else
            echo "$me: $(size_name "$kb") pages: all released"
        fi
    done
}

# ------------------------------------------------------------------ arguments

action=reserve kb='' node_list='' pages=''
while (($# > 0)); do
    case $1 in
        -h | --help) print_help; exit 0 ;;
        --status) action=status ;;
        --release) action=release ;;
        --dry-run) dry_run=1 ;;
        --size)
            (($# >= 2)) || usage_error "--size needs a value (2M or 1G)"
            kb=$(size_kb "$2") || usage_error "--size must be 2M or 1G, got '$2'"
            shift
            ;;
        --node)
            (($# >= 2)) || usage_error "--node needs a value (e.g. 0 or 0,1)"
            [[ $2 =~ ^[0-9]+(,[0-9]+)*$ ]] || usage_error "--node must be a list of NUMA nodes like 0 or 0,1, got '$2'"
            node_list=$2
            shift
            ;;
        -*) usage_error "unknown option '$1'" ;;
        *)
            [[ -z $pages ]] || usage_error "one PAGES count only, got '$pages' and '$1'"
            [[ $1 =~ ^[0-9]+$ ]] || usage_error "PAGES must be a number, got '$1'"
            pages=$1
            ;;
    esac
    shift
done

[[ -d $SYSFS_ROOT/kernel/mm/hugepages ]] || die "this kernel has no hugepages ($SYSFS_ROOT/kernel/mm/hugepages)"
if [[ -n $kb && ! -d $(global_dir "$kb") ]]; then
    die "this machine offers no $(size_name "$kb") pages (sizes: $(for s in $(sizes); do size_name "$s"; done |
        paste -sd,)$( ((kb < 1048576)) || echo "; 1 GB pages need a CPU with pdpe1gb"))"
fi

case $action in
    status)
        [[ -z $pages && -z $kb && -z $node_list ]] || usage_error "--status takes no other option"
        cmd_status
        ;;
    release)
        [[ -z $pages ]] || usage_error "--release takes no PAGES"
        cmd_release "$kb" "$node_list"
        ;;
    reserve)
        cmd_reserve "${kb:-2048}" "${pages:-1024}" "$node_list"
        ;;
esac
