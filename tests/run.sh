#!/bin/sh
# Runs the whole suite.  Every test prints TAP-style "ok - ..." /
# "not ok - ..." lines; this script counts them and ends with
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for t in tests/t_*.sh; do
    echo "# $t"
    if ! sh "$t" 2>&1 | tee -a "$log"; then
        status=1
    fi
done
passed=$(grep -c '^ok - ' "$log")
failed=$(grep -c '^not ok - ' "$log")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && exit 0
exit 1
