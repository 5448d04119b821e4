# Sourced by the operator's scripts (hugepages.sh, sriov-vf.sh, tap-demo.sh, replay.sh):
# their messages, their --help, and the one function every change to the
# system goes through, which --dry-run turns into a printout. The sourcing
# script sets me (its name), usage_line (its short usage) and dry_run (0 or 1).

die() {
    echo "$me: $*" >&2
    exit 1
}

usage_error() {
    echo "$me: $*" >&2
    echo "usage: $usage_line (see $me --help)" >&2
    exit 2
}

# The script's header comment: line 2 up to `set -euo pipefail`.
print_help() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# Makes a change, or prints it with --dry-run. "change write VALUE FILE"
# writes a sysfs attribute; anything else is a command and its arguments.
change() {
    if [[ $1 == write ]]; then
        if ((dry_run)); then
            echo "[dry-run] echo ${2:-''} > $3"
        elif ! printf '%s\n' "$2" 2>/dev/null >"$3"; then
            die "could not write '$2' to $3$( (($(id -u) == 0)) || echo ' (run as root: sudo)')"
        fi
        return
    fi
    if ((dry_run)); then
        echo "[dry-run] $*"
    else
        "$@" || die "failed: $*"
    fi
}
