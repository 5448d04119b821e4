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
trap 'echo "$SCRIPT: interrupted, stopping what it started" >&2; exit 130' INT TERM
