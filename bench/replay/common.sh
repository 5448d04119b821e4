# shellcheck shell=bash
# Shared by replay.sh and router_replay.sh (sourced, not run): the DPDK
# runtime directory, stopping only the processes the script started, and the
# cleanup that removes its temporary directory and runtime directories.
# The sourcing script sets SCRIPT (its name, for messages) and KEEP (1 keeps
# the temporary directory), and TMP_PREFIX for mktemp.

if [[ $(id -u) -eq 0 ]]; then
    RUNTIME_BASE=/var/run/dpdk
else
    RUNTIME_BASE=${XDG_RUNTIME_DIR:-/tmp}/dpdk
fi

# Stops one process we started: SIGCONT (it may be held with SIGSTOP),
# SIGTERM (dpdk-app, testpmd and l3fwd exit cleanly on it), SIGKILL after 20 s.
stop_pid() {
    local pid=$1 i
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$SCRIPT: pid $pid ignored SIGTERM, killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/$TMP_PREFIX.XXXXXX")
PIDS=() # started and not reaped yet: the only PIDs cleanup may signal
forget() {
    local keep=() x
    for x in "${PIDS[@]}"; do [[ $x == "$1" ]] || keep+=("$x"); done
    PIDS=("${keep[@]}")
}
PREFIXES=()
cleanup() {
    local pid p
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid"
    done
    for p in "${PREFIXES[@]}"; do
        rm -rf "${RUNTIME_BASE:?}/$p"
    done
    if ((KEEP)); then
        echo "$SCRIPT: kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT

# Runs python script SCRIPT with ARGS in the background and waits for it, so
# that a signal to the sourcing script is handled at once (a foreground child
# would delay the trap). Output in TOOL_OUT. Uses PY, TMP and PIDS.
#   run_tool SCRIPT ARGS...
TOOL_OUT=""
# shellcheck disable=SC2034 # TOOL_OUT is read by the sourcing scripts
run_tool() {
    local script=$1
    shift
    "$PY" "$script" "$@" >"$TMP/tool.out" 2>&1 &
    local tpid=$!
    PIDS+=("$tpid")
    local rc=0
    wait "$tpid" || rc=$?
    forget "$tpid"
    TOOL_OUT=$(cat "$TMP/tool.out")
    return $rc
}
trap 'echo "$SCRIPT: interrupted, stopping what it started" >&2; exit 130' INT TERM

# The router benchmark's configuration (router_replay.sh, compare_builds.sh):
# l3fwd's LPM table on ports 0 and 1 (198.18.0.0/24 -> port 0, 198.18.1.0/24
# -> port 1, via static neighbours) plus the routes of routes.txt next to
# FILE. Uses MAC0, MAC1, NEIGH0, NEIGH1 of the sourcing script.
#   write_router_toml FILE MBUFS [dataplane lines...]
write_router_toml() {
    local file=$1 mbufs=$2 line
    shift 2
    {
        printf '[dataplane]\nmode = "router"\n'
        for line in "$@"; do [[ -z $line ]] || printf '%s\n' "$line"; done
        cat <<EOF
[mempool]
mbufs = $mbufs
[router]
routes_file = "routes.txt"
[[port]]
name = "net_pcap0"
[[port]]
name = "net_pcap1"
[[interface]]
port = "net_pcap0"
mac = "$MAC0"
addresses = ["192.0.2.1/24"]
[[interface]]
port = "net_pcap1"
mac = "$MAC1"
addresses = ["198.51.100.1/24"]
[[route]]
prefix = "198.18.0.0/24"
via = "192.0.2.2"
[[route]]
prefix = "198.18.1.0/24"
via = "198.51.100.2"
[[neighbor]]
address = "192.0.2.2"
mac = "$NEIGH0"
[[neighbor]]
address = "198.51.100.2"
mac = "$NEIGH1"
EOF
    } >"$file"
}
