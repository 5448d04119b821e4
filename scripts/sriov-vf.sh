#!/usr/bin/env bash
# SR-IOV virtual functions for dpdk-app: shows, creates and destroys the VFs
# of a physical function (PF), given as a network interface or a PCI address.
#
#   scripts/sriov-vf.sh show PF
#   scripts/sriov-vf.sh create PF N [--mac-base MAC] [--vlan ID] [--trust on|off] [--spoofchk on|off]
#   scripts/sriov-vf.sh destroy PF
#
#   --dry-run   print every change (sysfs write, ip link, modprobe, dpdk-devbind.py)
#               instead of making it; what is only read is still read
#   --force     touch a PF even when it carries the default route or has addresses
#
# create N: sets N VFs (writing 0 first when another count is set), gives VF i
# the MAC --mac-base + i (default: 02, the last four bytes of the PF's MAC, i),
# VLAN ID when given, trust (default on: the VF may then receive multicast such
# as NDP and go promiscuous) and spoof checking (default off: in bridge mode
# dpdk-app sends frames whose source MAC is not the VF's), loads vfio-pci,
# binds the VFs to it with dpdk-devbind.py and prints the EAL -a arguments.
# destroy: hands VFs bound to a DPDK driver back to the kernel, then sets 0 VFs.
#
# Exit codes: 0 done, 1 refused or failed, 2 usage.
# Environment (tests point these at fakes): SYSFS_ROOT (/sys), IP (ip),
# MODPROBE (modprobe), DEVBIND (dpdk-devbind.py).
set -euo pipefail

SYSFS_ROOT=${SYSFS_ROOT:-/sys}
IP=${IP:-ip}
MODPROBE=${MODPROBE:-modprobe}
DEVBIND=${DEVBIND:-dpdk-devbind.py}
DPDK_DRIVER=vfio-pci

me=sriov-vf.sh
usage_line="$me show|create|destroy PF ..."
dry_run=0
force=0
# shellcheck source-path=SCRIPTDIR source=lib/system-changes.sh
source "$(dirname "$(readlink -f "$0")")/lib/system-changes.sh"

# "would have been " in a dry run, for the closing message.
would() {
    if ((dry_run)); then
        echo "would have been "
    fi
}

# ------------------------------------------------------------------ the PF

pf_bdf=
pf_dev=
pf_netdev=

link_name() {
    local target
    target=$(readlink "$1" 2>/dev/null) || {
        echo "-"
        return
    }
    basename "$target"
}

# The first name in directory $1 (a device's net/: its interface), or nothing.
first_entry() {
    find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort | head -1
}

resolve_pf() {
    local pf=$1
    if [[ $pf =~ ^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]]; then
        [[ $pf == *:*:* ]] || pf=0000:$pf
        pf_bdf=${pf,,}
        pf_dev=$SYSFS_ROOT/bus/pci/devices/$pf_bdf
        [[ -e $pf_dev ]] || die "no PCI device $pf_bdf (not in $SYSFS_ROOT/bus/pci/devices)"
        pf_netdev=
        if [[ -d $pf_dev/net ]]; then
            pf_netdev=$(first_entry "$pf_dev/net")
        fi
    else
        [[ -e $SYSFS_ROOT/class/net/$pf ]] || die "no network interface $pf (see: $IP link show)"
        [[ -e $SYSFS_ROOT/class/net/$pf/device ]] ||
            die "$pf is not a PCI device (a virtual interface has no VFs)"
        pf_netdev=$pf
        pf_bdf=$(link_name "$SYSFS_ROOT/class/net/$pf/device")
        pf_dev=$SYSFS_ROOT/bus/pci/devices/$pf_bdf
        [[ -e $pf_dev ]] || die "$pf: its PCI device $pf_bdf is not in $SYSFS_ROOT/bus/pci/devices"
    fi
}

pf_name() {
    if [[ -n $pf_netdev ]]; then
        echo "$pf_bdf ($pf_netdev)"
    else
        echo "$pf_bdf"
    fi
}

require_sriov() {
    [[ -r $pf_dev/sriov_totalvfs ]] ||
        die "PF $(pf_name) does not support SR-IOV (no sriov_totalvfs; driver $(link_name "$pf_dev/driver"))"
}

# Refuses a PF this machine may depend on: creating or removing VFs resets
# the PF on several drivers.
refuse_if_in_use() {
    [[ -n $pf_netdev ]] || return 0
    local reasons=() routes addrs
    routes=$({ "$IP" route show default; "$IP" -6 route show default; } 2>/dev/null |
        grep -E " dev $pf_netdev( |$)" || true)
    if [[ -n $routes ]]; then
        reasons+=("it carries the default route ($(echo "$routes" | head -1 | xargs))")
    fi
    addrs=$("$IP" -o addr show dev "$pf_netdev" scope global 2>/dev/null |
        awk '{print $4}' | xargs || true)
    if [[ -n $addrs ]]; then
        reasons+=("it has the addresses $addrs")
    fi
    ((${#reasons[@]} > 0)) || return 0
    local why
    why=$(printf '%s and ' "${reasons[@]}")
    why=${why% and }
    if ((force)); then
        echo "$me: warning: $pf_netdev: $why; going on (--force)" >&2
        return 0
    fi
    die "refusing to change the VFs of $pf_netdev: $why; changing its VFs can reset" \
        "the PF and cut this machine off. Use another PF, or pass --force if you are sure."
}

# Checked before the first change, so that a missing tool leaves nothing half done.
require_devbind() {
    ((dry_run)) || command -v "$DEVBIND" >/dev/null ||
        die "$DEVBIND not found: install it (Debian: apt-get install dpdk) or set DEVBIND"
}

# ------------------------------------------------------------------ the VFs

# The PCI address of VF i: its virtfn link, or (before the kernel made it,
# e.g. with --dry-run) the PF's routing ID + sriov_offset + i * sriov_stride.
vf_bdf() {
    local i=$1
    if [[ -e $pf_dev/virtfn$i || -L $pf_dev/virtfn$i ]]; then
        link_name "$pf_dev/virtfn$i"
        return
    fi
    local offset stride domain bus dev fn rid
    offset=$(cat "$pf_dev/sriov_offset" 2>/dev/null) || die "VF $i of $(pf_name) not found"
    stride=$(cat "$pf_dev/sriov_stride" 2>/dev/null) || die "VF $i of $(pf_name) not found"
    IFS=':.' read -r domain bus dev fn <<<"$pf_bdf"
    rid=$(((16#$bus << 8) + (16#$dev << 3) + 16#$fn + offset + i * stride))
    printf '%s:%02x:%02x.%x\n' "$domain" $((rid >> 8)) $(((rid >> 3) & 31)) $((rid & 7))
}

# VF i's line of `ip link show dev PF` reduced to "MAC VLAN TRUST SPOOFCHK".
vf_link_state() {
    local i=$1
    "$IP" link show dev "$pf_netdev" 2>/dev/null | awk -v vf="$i" '
        $1 == "vf" && $2 == vf {
            mac = "-"; vlan = "-"; trust = "-"; spoof = "-"
            for (f = 3; f <= NF; f++) {
                v = $(f + 1); sub(/,$/, "", v)
                if ($f == "link/ether") mac = v
                else if ($f == "vlan") vlan = v
                else if ($f == "trust") trust = v
                else if ($f == "checking" && $(f - 1) == "spoof") spoof = v
            }
            print mac, vlan, trust, spoof
            found = 1
        }
        END { if (!found) print "- - - -" }'
}

cmd_show() {
    resolve_pf "$1"
    require_sriov
    local total num
    total=$(cat "$pf_dev/sriov_totalvfs")
    num=$(cat "$pf_dev/sriov_numvfs")
    echo "PF $(pf_name): driver $(link_name "$pf_dev/driver"), $num VFs of $total"
    ((num > 0)) || return 0
    printf '%-3s %-13s %-10s %-15s %-17s %-5s %-5s %s\n' \
        VF "PCI address" driver netdev MAC VLAN trust spoofchk
    local i bdf vf netdev state
    for ((i = 0; i < num; i++)); do
        bdf=$(vf_bdf "$i")
        vf=$SYSFS_ROOT/bus/pci/devices/$bdf
        netdev=-
        if [[ -d $vf/net ]]; then
            netdev=$(first_entry "$vf/net")
            netdev=${netdev:--}
        fi
        state="- - - -"
        if [[ -n $pf_netdev ]]; then
            state=$(vf_link_state "$i")
        fi
        # shellcheck disable=SC2086 # state is four words
        printf '%-3s %-13s %-10s %-15s %-17s %-5s %-5s %s\n' \
            "$i" "$bdf" "$(link_name "$vf/driver")" "$netdev" $state
    done
}

# MAC as a 48-bit number and back.
mac_to_int() {
    local hex=${1//:/}
    echo $((16#$hex))
}

int_to_mac() {
    local v=$1 out='' k
    for ((k = 40; k >= 0; k -= 8)); do
        out+=$(printf '%02x' $(((v >> k) & 255)))
        ((k == 0)) || out+=:
    done
    echo "$out"
}

valid_mac() {
    [[ $1 =~ ^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$ ]]
}

# VF i's MAC: --mac-base + i, or 02, the last four bytes of the PF's MAC, i
# (locally administered, the same on every run, different per PF and VF).
vf_mac() {
    local i=$1 base=$2
    if [[ -n $base ]]; then
        int_to_mac $(($(mac_to_int "$base") + i))
        return
    fi
    local pf_mac
    pf_mac=$(cat "$SYSFS_ROOT/class/net/$pf_netdev/address" 2>/dev/null) ||
        die "cannot read the MAC of $pf_netdev; pass --mac-base"
    printf '02:%s:%02x\n' "$(echo "${pf_mac,,}" | cut -d: -f3-6)" "$i"
}

cmd_create() {
    local pf=$1 n=$2 mac_base=$3 vlan=$4 trust=$5 spoofchk=$6
    if ! [[ $n =~ ^[0-9]+$ ]] || ((n == 0)); then
        usage_error "N must be a number of VFs > 0, got '$n'"
    fi
    resolve_pf "$pf"
    require_sriov
    [[ -n $pf_netdev ]] ||
        die "PF $pf_bdf has no network interface (driver $(link_name "$pf_dev/driver")):" \
            "ip link cannot set its VFs; bind it to its kernel driver first"
    local total num
    total=$(cat "$pf_dev/sriov_totalvfs")
    num=$(cat "$pf_dev/sriov_numvfs")
    ((n <= total)) || die "$(pf_name) supports at most $total VFs (sriov_totalvfs), asked for $n"
    if [[ -z $mac_base ]] && ((n > 256)); then
        die "the default MACs number at most 256 VFs; pass --mac-base"
    fi
    if [[ -n $mac_base ]] && (($(mac_to_int "$mac_base") >> 40 != ($(mac_to_int "$mac_base") + n - 1) >> 40)); then
        die "--mac-base $mac_base + $n VFs runs past ${mac_base:0:2}:ff:ff:ff:ff:ff (the first byte must stay)"
    fi
    refuse_if_in_use
    require_devbind

    if ((num != n)); then
        if ((num != 0)); then
            # The kernel refuses to change one non-zero count into another.
            change write 0 "$pf_dev/sriov_numvfs"
        fi
        change write "$n" "$pf_dev/sriov_numvfs"
    else
        echo "$me: $(pf_name) already has $n VFs"
    fi

    local i bdfs=() settings
    for ((i = 0; i < n; i++)); do
        if ((!dry_run)); then
            local tries=50
            until [[ -e $pf_dev/virtfn$i ]] || ((--tries == 0)); do
                sleep 0.1
            done
            [[ -e $pf_dev/virtfn$i ]] || die "VF $i of $(pf_name) did not appear"
        fi
        bdfs+=("$(vf_bdf "$i")")
        settings=(mac "$(vf_mac "$i" "$mac_base")")
        if [[ -n $vlan ]]; then
            settings+=(vlan "$vlan")
        fi
        settings+=(trust "$trust" spoofchk "$spoofchk")
        change "$IP" link set dev "$pf_netdev" vf "$i" "${settings[@]}"
    done
    change "$MODPROBE" "$DPDK_DRIVER"
    change "$DEVBIND" -b "$DPDK_DRIVER" "${bdfs[@]}"

    echo "$me: $n VFs of $(pf_name) $(would)bound to $DPDK_DRIVER; pass these EAL arguments to dpdk-app:"
    printf -- '-a %s ' "${bdfs[@]}" | sed 's/ $//'
    echo
}

cmd_destroy() {
    resolve_pf "$1"
    require_sriov
    local num
    num=$(cat "$pf_dev/sriov_numvfs")
    if ((num == 0)); then
        echo "$me: $(pf_name) has no VFs"
        return 0
    fi
    refuse_if_in_use
    local i bdf driver dpdk_bound=()
    for ((i = 0; i < num; i++)); do
        bdf=$(vf_bdf "$i")
        driver=$(link_name "$SYSFS_ROOT/bus/pci/devices/$bdf/driver")
        case $driver in
            vfio-pci | uio_pci_generic | igb_uio) dpdk_bound+=("$bdf") ;;
        esac
    done
    if ((${#dpdk_bound[@]} > 0)); then
        require_devbind
        change "$DEVBIND" -u "${dpdk_bound[@]}"
        for bdf in "${dpdk_bound[@]}"; do
            # dpdk-devbind.py leaves driver_override set: clear it, then let
            # the kernel probe the VF's own driver.
            if [[ -e $SYSFS_ROOT/bus/pci/devices/$bdf/driver_override ]]; then
                change write "" "$SYSFS_ROOT/bus/pci/devices/$bdf/driver_override"
            fi
            change write "$bdf" "$SYSFS_ROOT/bus/pci/drivers_probe"
        done
    fi
    change write 0 "$pf_dev/sriov_numvfs"
    echo "$me: the $num VFs of $(pf_name) $(would)removed"
}

# ------------------------------------------------------------------ arguments

positional=()
mac_base='' vlan='' trust=on spoofchk=off
need_value() {
    (($2 >= 2)) || usage_error "$1 needs a value"
}
while (($# > 0)); do
    case $1 in
        -h | --help) print_help; exit 0 ;;
        --dry-run) dry_run=1 ;;
        --force) force=1 ;;
        --mac-base) need_value "$1" $#; mac_base=$2; shift ;;
        --vlan) need_value "$1" $#; vlan=$2; shift ;;
        --trust) need_value "$1" $#; trust=$2; shift ;;
        --spoofchk) need_value "$1" $#; spoofchk=$2; shift ;;
        -*) usage_error "unknown option '$1'" ;;
        *) positional+=("$1") ;;
    esac
    shift
done

if [[ -n $mac_base ]]; then
    valid_mac "$mac_base" || usage_error "--mac-base must be a MAC like 02:00:00:00:01:00, got '$mac_base'"
    ((!(16#${mac_base:1:1} & 1))) || usage_error "--mac-base $mac_base is a multicast MAC"
fi
if [[ -n $vlan ]] && ! { [[ $vlan =~ ^[0-9]+$ ]] && ((vlan >= 1 && vlan <= 4094)); }; then
    usage_error "--vlan must be a VLAN ID from 1 to 4094, got '$vlan'"
fi
[[ $trust == on || $trust == off ]] || usage_error "--trust must be on or off, got '$trust'"
[[ $spoofchk == on || $spoofchk == off ]] || usage_error "--spoofchk must be on or off, got '$spoofchk'"

((${#positional[@]} > 0)) || usage_error "no command given"
command=${positional[0]}
case $command in
    show | destroy)
        ((${#positional[@]} == 2)) || usage_error "$command takes one PF (a network interface or a PCI address)"
        if [[ $command == show ]]; then
            [[ -z $mac_base && -z $vlan ]] || usage_error "show takes no VF settings"
            cmd_show "${positional[1]}"
        else
            cmd_destroy "${positional[1]}"
        fi
        ;;
    create)
        ((${#positional[@]} == 3)) || usage_error "create takes a PF and a number of VFs"
        cmd_create "${positional[1]}" "${positional[2]}" "$mac_base" "$vlan" "$trust" "$spoofchk"
        ;;
    *) usage_error "unknown command '$command'" ;;
esac
