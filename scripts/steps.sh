# Shared by the test and build scripts (source it; it defines functions only):
#   step NAME CMD...  prints the command, runs it, prints how long it took, and records
#                     "NAME seconds" in STEP_SUMMARY; a failing command stops a `set -e` script.
#   as_root CMD...    runs CMD as root (directly, or through sudo).
#   elapsed T0        seconds since T0 (an $EPOCHREALTIME value), one decimal.
# STEP_TAG (e.g. "wasm-build") prefixes every line the functions print.

STEP_TAG="${STEP_TAG:-step}"
STEP_SUMMARY=()

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

step() {
    local name=$1 t0=$EPOCHREALTIME took
    shift
    printf '\n[%s] ==> %s\n+' "$STEP_TAG" "$name"
    printf ' %q' "$@"
    printf '\n'
    "$@"
    took=$(elapsed "$t0")
    printf '[%s] <== %s ok in %ss\n' "$STEP_TAG" "$name" "$took"
    STEP_SUMMARY+=("$(printf '%-12s %8ss' "$name" "$took")")
}

as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        printf '[%s] need root to run: %s\n' "$STEP_TAG" "$*" >&2
        return 1
    fi
}
