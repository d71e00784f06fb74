#!/bin/sh
# Every experiment's network (as a narrow variant: 1 block per stage, base
# width 8, so that CI stays short; wider where a block needs it) builds and
# trains for two short epochs on a Fashion-MNIST subset with falling
# training loss.
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
jobs=$(nproc 2>/dev/null || echo 2)
# variant EXP: its narrow variant.  ResNeXt 32x4d's grouped width,
# floor(out / 64) * 32, is 0 below 64 channels in its stage (bzgen refuses
# it), so its variants are the narrowest that have 64 there (early: base 64,
# 8 s of training on 2 cores; mid: 32; late: 16).
variant() {
    case $1 in
        resnext_bottleneck_early) echo "$1-nb1-bc64" ;;
        resnext_bottleneck_mid) echo "$1-nb1-bc32" ;;
        resnext_bottleneck_late) echo "$1-nb1-bc16" ;;
        *) echo "$1-nb1-bc8" ;;
    esac
}
names="" binaries=""
for exp in $(make -s list); do
    v=$(variant "$exp")
    names="$names $v"
    binaries="$binaries build/$v/$v"
done
# CPU-only builds (CUDA=): t_build_all.sh compiles every experiment's CUDA side
# shellcheck disable=SC2086
if ! make -s -j"$jobs" CUDA= VARIANTS="$names" $binaries > "$tmp/make.log" 2>&1; then
    echo "not ok - build the narrow variants: $(tail -3 "$tmp/make.log" | tr '\n' '|')"
fi
# smoke EXP: train EXP's variant on one thread, print its TAP line
smoke() {
    v=$(variant "$1")
    out=$tmp/$1
    if ! build/$v/$v train --subset 512 --val-subset 128 --epochs 2 --batch-size 32 --lr 0.003 \
            --threads 1 --no-bench --quiet --output-dir "$out" --results "$out.csv" \
            > "$out.log" 2>&1; then
        echo "not ok - $1: training failed: $(tail -2 "$out.log" | tr '\n' '|')"
        return
    fi
    losses=$(awk -F, 'NR > 1 { printf "%s ", $2 }' "$out/metrics.csv")
    # shellcheck disable=SC2086
    set -- "$1" $losses
    if awk -v a="$2" -v b="$3" 'BEGIN { exit !(b < a) }'; then
        echo "ok - $1 trains: loss $2 -> $3"
    else
        echo "not ok - $1: training loss did not fall ($losses)"
    fi
}
# Tiny networks keep a second thread mostly waiting: the experiments train
# $jobs at a time, one thread each, and report in list order.
make -s list > "$tmp/queue"
in_order "$jobs" "$tmp" smoke
