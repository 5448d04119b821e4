#!/usr/bin/env bash
# Installs what dpdk-app needs from Debian 12 packages (only what is missing)
# and builds it. Safe to run any number of times.
#
#   scripts/setup.sh              release build in build/
#   scripts/setup.sh --sanitize   also an ASan+UBSan build in build-asan/
#   scripts/setup.sh --fuzz       also the libFuzzer targets (clang, ASan+UBSan) in build-fuzz/
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=0
fuzz=0
for arg in "$@"; do
    case "$arg" in
        --sanitize) sanitize=1 ;;
        --fuzz) fuzz=1 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown option '$arg'" >&2; exit 2 ;;
    esac
done

packages=(
    build-essential pkg-config meson ninja-build
    libdpdk-dev dpdk-dev libpcap-dev libssl-dev libtomlplusplus-dev
    libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
    iproute2 iputils-ping iputils-arping traceroute util-linux python3 python3-scapy tshark socat
    nfdump softflowd
    systemd
)
if ((fuzz)); then
    # libFuzzer comes with clang's runtime libraries (libclang-rt-14-dev,
    # which --no-install-recommends would leave out); llvm has the
    # llvm-symbolizer that puts function names and lines in a crash's stack.
    packages+=(clang libclang-rt-14-dev llvm)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} > 0)); then
    echo "setup.sh: installing ${missing[*]}"
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

configure() {
    local dir=$1
    shift
    if [[ ! -f $dir/build.ninja ]]; then
        meson setup "$dir" "$@" >/dev/null
    fi
    ninja -C "$dir" >/dev/null
    echo "setup.sh: built $dir"
}

configure build
if ((sanitize)); then
    configure build-asan -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized -Dbenchmarks=false -Dcpp_args=-fno-sanitize-recover=all
fi
if ((fuzz)); then
    CC=clang CXX=clang++ configure build-fuzz -Dfuzz=true -Dtests=false -Dbenchmarks=false \
        -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized \
        -Dcpp_args=-fno-sanitize-recover=all
fi
