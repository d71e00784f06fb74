# Sourced by test scripts: TAP-style result lines and their count.
#   ok NAME / notok NAME / skip NAME REASON
#   check NAME COMMAND...   ok if the command succeeds
#   finish SCRIPT           the closing "# SCRIPT: N failed" line and status
failures=0
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; failures=$((failures + 1)); }
skip() { echo "ok - $1 # SKIP $2"; }
check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else notok "$name"; fi
}
finish() {
    echo "# $1: $failures failed"
    [ $failures -eq 0 ]
}
