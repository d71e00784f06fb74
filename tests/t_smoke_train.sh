#!/bin/sh
# Every experiment's network (as a narrow variant: 1 block per stage, base
# width 8, so that CI stays short) builds and trains for two short epochs
# on a Fashion-MNIST subset with falling training loss.
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
jobs=$(nproc 2>/dev/null || echo 2)
names="" binaries=""
for exp in $(make -s list); do
    names="$names $exp-nb1-bc8"
    binaries="$binaries build/$exp-nb1-bc8/$exp-nb1-bc8"
done
# CPU-only builds (CUDA=): t_build_all.sh compiles every experiment's CUDA side
# shellcheck disable=SC2086
if ! make -s -j"$jobs" CUDA= VARIANTS="$names" $binaries > "$tmp/make.log" 2>&1; then
    echo "not ok - build the narrow variants: $(tail -3 "$tmp/make.log" | tr '\n' '|')"
fi
for exp in $(make -s list); do
    v=$exp-nb1-bc8
    out=$tmp/$exp
    if ! build/$v/$v train --subset 512 --val-subset 128 --epochs 2 --batch-size 32 --lr 0.003 \
            --threads 2 --no-bench --quiet --output-dir "$out" --results "$tmp/r.csv" \
            > "$tmp/log" 2>&1; then
        echo "not ok - $exp: training failed: $(tail -2 "$tmp/log" | tr '\n' '|')"
        continue
    fi
    losses=$(awk -F, 'NR > 1 { printf "%s ", $2 }' "$out/metrics.csv")
    # shellcheck disable=SC2086
    set -- $losses
    if awk -v a="$1" -v b="$2" 'BEGIN { exit !(b < a) }'; then
        echo "ok - $exp trains: loss $1 -> $2"
    else
        echo "not ok - $exp: training loss did not fall ($losses)"
    fi
done
