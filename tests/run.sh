#!/bin/sh
# Runs the whole suite (make test).  Every tests/t_*.sh prints TAP-style
# "ok - ..." / "not ok - ..." lines; a script that exits non-zero without
# reporting a failure counts as one; "ok - ... # SKIP reason" lines count
# as skipped, not passed.  Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
log=$(mktemp)
one=$(mktemp)
trap 'rm -f "$log" "$one"' EXIT
start=$(date +%s)
for t in tests/t_*.sh; do
    echo "# $t"
    t0=$(date +%s)
    sh "$t" > "$one" 2>&1
    status=$?
    cat "$one"
    if [ $status -ne 0 ] && ! grep -q '^not ok - ' "$one"; then
        echo "not ok - $t exited with status $status" | tee -a "$one"
    fi
    cat "$one" >> "$log"
    echo "# $t: $(($(date +%s) - t0)) s"
done
skipped=$(grep -c '^ok - .*# SKIP' "$log")
passed=$(($(grep -c '^ok - ' "$log") - skipped))
failed=$(grep -c '^not ok - ' "$log")
echo "# suite: $(($(date +%s) - start)) s"
echo "# $skipped skipped (listed above with # SKIP and the reason)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
