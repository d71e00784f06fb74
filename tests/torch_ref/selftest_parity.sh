#!/bin/sh
# Self-test of parity.py, with fake_binary.py (float32 PyTorch) standing
# in for a generated binary: a correct fake must pass every check, and
# each deliberate bug must make parity.py report "not ok".
#
#     sh tests/torch_ref/selftest_parity.sh      (from the repository root)
# shellcheck disable=SC2086 # $small is meant to split into words
set -u
PYTHON=${PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
status=0

# fake NAME FAKE_ARGS...: an executable that behaves like a binary
fake() {
    name=$1; shift
    printf '#!/bin/sh\nexec %s %s/fake_binary.py %s "$@"\n' "$PYTHON" "$here" "$*" >"$tmp/$name"
    chmod +x "$tmp/$name"
}

# expect pass|fail WHAT BINARY PARITY_ARGS...
expect() {
    want=$1; what=$2; bin=$3; shift 3
    "$PYTHON" "$here/parity.py" --binary "$tmp/$bin" "$@" >"$tmp/log" 2>&1
    rc=$?
    nok=$(grep -c '^not ok - ' "$tmp/log")
    nall=$(grep -c '^\(not \)\{0,1\}ok - ' "$tmp/log")
    if [ "$want" = pass ] && [ "$rc" -eq 0 ] && [ "$nok" -eq 0 ] && [ "$nall" -gt 0 ]; then
        echo "ok - parity.py passes $what ($nall checks)"
    elif [ "$want" = fail ] && [ "$rc" -ne 0 ] && [ "$nok" -gt 0 ]; then
        echo "ok - parity.py catches $what: $(grep -m1 '^not ok - ' "$tmp/log" | cut -c1-160)"
    else
        echo "not ok - parity.py on $what: expected $want, exit $rc, $nok of $nall checks failed"
        sed 's/^/#   /' "$tmp/log"
        status=1
    fi
}

small="--block InvertedResidual --position late --num-blocks 2 --base-channels 16 --classes 100"
fake ir_small $small
expect pass "a correct float32 implementation (IR late nb2 bc16 c100)" ir_small $small --backend optimised
fake rb_mid --block ResNetBasicBlock --position mid
expect pass "a correct float32 implementation (ResNetBasicBlock mid)" rb_mid \
    --block resnet_basic_block --position mid --backend reference --seed 3

for bug in eval-batch-stats grad-scale one-channel loss-sum export-normal; do
    fake "bug_$bug" $small --bug "$bug"
    expect fail "bug $bug" "bug_$bug" $small
done
printf '#!/bin/sh\necho "model: weights file has no key stem.0.weight" >&2\nexit 1\n' >"$tmp/broken"
chmod +x "$tmp/broken"
expect fail "a binary that exits 1" broken $small
exit $status
