#!/bin/sh
# PyTorch parity of the generated binaries (tests/torch_ref/parity.py).
#
# For each experiment: build it with make, then compare (two at a time) its forward (eval
# and train mode), loss, gradients and exported weights with a float64
# PyTorch re-implementation of the network (tests/torch_ref/scaffold.py),
# once per CPU backend.  The oracle itself is first checked against the
# reference listings in ../shared/reference/.
#
# Run from the repository root.  Prints TAP lines; exits 1 on any failure.
# PYTHON (default /usr/bin/python3) must import torch and numpy.
set -u
. tests/tap.sh
PYTHON=${PYTHON:-/usr/bin/python3}
BATCH=${BATCH:-3}
# Every experiment, except that blocks whose settings do not depend on the
# position are checked at mid only (the other positions differ just in
# stage widths, which ResNetBasicBlock's three runs cover).
ONE_POSITION="resnet_bottleneck mbconv_ln_block mobile_one_block reparam_large_kernel_conv rep_mixer"
# The blocks of issue 15 have no position-dependent setting either; mid has
# a stride-2 first block and stride-1 blocks (PreActBasic with and without
# its projection, DepthwiseSeparableConv with and without its skip).
ONE_POSITION="$ONE_POSITION se_basic_block resnext_bottleneck preact_basic_block"
ONE_POSITION="$ONE_POSITION depthwise_separable_conv"
# So have the attention and ConvNeXt blocks and the dilated BasicBlock.
ONE_POSITION="$ONE_POSITION dilated_basic_block convnext_block mobile_vit_block"
# Experiments left out (none): ghost_bottleneck_v3_early was, until the
# oracle measured how far its per-channel scales' gradients cancel
# (parity.py ScaleSummands).
SKIP=""
default_experiments() {
    for e in $(make -s list); do
        case " $SKIP " in *" $e "*) continue ;; esac
        stem=${e%_*}
        case " $ONE_POSITION " in
            *" $stem "*) [ "${e##*_}" = mid ] && echo "$e" ;;
            *) echo "$e" ;;
        esac
    done
}
EXPERIMENTS=${EXPERIMENTS:-$(default_experiments)}
# The listings: ../shared/reference when present, else the copy in tests/reference.
REFERENCE=../shared/reference
[ -d "$REFERENCE" ] || REFERENCE=tests/reference

status=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM

if ! "$PYTHON" -c 'import torch, numpy' >/dev/null 2>&1; then
    echo "not ok - torch missing: $PYTHON cannot import torch and numpy (Debian: python3-torch python3-numpy)"
    exit 1
fi

# run CMD...: pass its TAP lines through; a non-zero exit with no
# "not ok" line of its own (a crash) becomes one
run() {
    what=$1; shift
    "$@" >"$out" 2>&1
    rc=$?
    cat "$out"
    if [ "$rc" -ne 0 ]; then
        status=1
        if ! grep -q '^not ok - ' "$out"; then
            echo "not ok - $what: exited with status $rc"
        fi
    fi
    return "$rc"
}

if [ -d "$REFERENCE" ]; then
    run "torch oracle against $REFERENCE" \
        "$PYTHON" tests/torch_ref/check_reference.py --reference "$REFERENCE"
else
    echo "ok - torch oracle against the reference listings # SKIP $REFERENCE absent"
fi

# The binaries, built first in one make run (the checks below then run
# two at a time, and two makes must not build the same runtime at once).
VARIANT=inverted_residual_late-nb2-bc16-c100
binaries=""
for exp in $EXPERIMENTS $VARIANT; do
    binaries="$binaries build/$exp/$exp"
done
# shellcheck disable=SC2086
if ! make -s -j2 CUDA= VARIANTS=$VARIANT $binaries >"$out" 2>&1; then
    echo "not ok - build the parity binaries"
    sed 's/^/# /' "$out" | tail -n 20
    exit 1
fi

# parity_check EXP NAME BACKEND [SCAFFOLD_OPTS...]: build/NAME/NAME against the
# oracle with one CPU backend; export is checked once per binary, with the
# reference backend's run
parity_check() {
    exp=$1 name=$2 backend=$3
    shift 3
    export_opt=--no-export
    [ "$backend" = reference ] && export_opt=
    out=$(mktemp)  # this call's own: two run at once (in subshells)
    # shellcheck disable=SC2086
    run "parity $name $backend" "$PYTHON" tests/torch_ref/parity.py --binary "build/$name/$name" \
        --block "${exp%_*}" --position "${exp##*_}" "$@" --backend "$backend" \
        --batch "$BATCH" $export_opt
    rc=$?
    rm -f "$out"
    return $rc
}

# The checks, one per line: EXP NAME BACKEND [SCAFFOLD_OPTS...], two at a
# time (tests/tap.sh's in_order)
logs=$(mktemp -d)
trap 'rm -rf "$out" "$logs"' EXIT INT TERM
for exp in $EXPERIMENTS; do
    echo "$exp $exp reference"
    echo "$exp $exp optimised"
done > "$logs/queue"
for backend in reference optimised; do
    echo "inverted_residual_late $VARIANT $backend --num-blocks 2 --base-channels 16 --classes 100"
done >> "$logs/queue"

in_order 2 "$logs" parity_check || status=1
exit $status
