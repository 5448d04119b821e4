# shellcheck shell=bash
# Argument checks shared by the replay scripts (sourced, not run). The
# sourcing script sets SCRIPT, its name for messages.

die() { echo "$SCRIPT: $*" >&2; exit 2; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_num() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
at_least() { is_num "$1" && awk -v v="$1" -v m="$2" 'BEGIN { exit !(v >= m) }'; }
is_int_min() { is_uint "$1" && at_least "$1" "$2"; }
