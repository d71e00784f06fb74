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
# in_order JOBS DIR FUNCTION: FUNCTION once per line of DIR/queue (the
# line's words its arguments), JOBS calls at a time: each worker claims the
# next line no other worker has (mkdir is the lock) and writes that call's
# output to DIR/out.K; then the outputs, in queue order.  Fails if a call
# did.  A test's lines come out in the same order on any machine.
in_order() {
    in_order_workers="" in_order_w=0
    while [ "$in_order_w" -lt "$1" ]; do
        (
            k=0 rc=0
            while read -r line; do
                k=$((k + 1))
                mkdir "$2/claim.$k" 2>/dev/null || continue
                # shellcheck disable=SC2086
                "$3" $line >"$2/out.$k" 2>&1 || rc=1
            done <"$2/queue"
            exit $rc
        ) &
        in_order_workers="$in_order_workers $!"
        in_order_w=$((in_order_w + 1))
    done
    in_order_rc=0
    for pid in $in_order_workers; do
        wait "$pid" || in_order_rc=1
    done
    k=1
    while [ "$k" -le "$(wc -l <"$2/queue")" ]; do
        cat "$2/out.$k"
        k=$((k + 1))
    done
    return $in_order_rc
}
