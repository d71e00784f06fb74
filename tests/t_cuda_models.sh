#!/bin/sh
# On a GPU: every experiment's eval, deploy-graph and train-mode logits, loss
# and gradients with --device cuda --precision fp32 against the float64
# PyTorch oracle (tests/torch_ref/parity.py, the tolerances and the
# near-kink and ill-conditioning analysis of the CPU backends' parity
# tests), short training on the GPU converges as on the CPU, and one epoch of
# CIFAR-size data completes.  Where no GPU is usable (or the binaries have no
# CUDA), each check is reported as skipped with the reason.
#
# PYTHON (default /usr/bin/python3) must import torch and numpy.
# BZ_PREBUILT=1 uses the binaries already in build/ (a GPU machine that
# cannot build them: scripts/gpu-check.sh).  CIFAR_SUBSET=N trains the
# CIFAR-format epoch on its first N images (the direct KxK kernels make a
# whole epoch take minutes).  FASHION_MNIST_DIR: where the training check
# finds Fashion-MNIST (default: the binary's default place).
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
mkdir -p build/tests
tmp=$(mktemp -d build/tests/t_cuda_models.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
PYTHON=${PYTHON:-/usr/bin/python3}
jobs=$(nproc 2>/dev/null || echo 2)
# shellcheck disable=SC2086  # words: a list in a variable or make list
experiments=$(echo ${EXPERIMENTS:-$(make -s list)} | tr ' ' '\n')
checks="parity of every experiment with the float64 oracle|training on the GPU converges|one epoch of CIFAR-size data"

skip_all() {
    echo "$checks" | tr '|' '\n' | while read -r c; do skip "CUDA: $c" "$1"; done
    exit 0
}

build() {
    [ "${BZ_PREBUILT:-}" = 1 ] || make -s -j"$jobs" "$@" > "$tmp/make.log" 2>&1
}
first=$(echo "$experiments" | head -1)
build "build/$first/$first" || { notok "build $first: make failed"; exit 1; }
if ! "build/$first/$first" bench --device cuda --batch-size 1 --benchmark-runs 1 --no-train \
        > /dev/null 2> "$tmp/why"; then
    skip_all "$(sed 's/^[^:]*: //' "$tmp/why" | head -1)"
fi

if ! build all; then
    notok "build every experiment: $(tail -3 "$tmp/make.log" | tr '\n' '|')"
    exit 1
fi
if ! "$PYTHON" -c 'import torch, numpy' > /dev/null 2>&1; then
    notok "torch missing: $PYTHON cannot import torch and numpy"
    exit 1
fi

# parity EXP: the oracle's TAP lines for build/EXP/EXP on the GPU
parity() {
    "$PYTHON" tests/torch_ref/parity.py --binary "build/$1/$1" --block "${1%_*}" \
        --position "${1##*_}" --device cuda --batch 3 --no-export --timeout 120
}
parity_out=$(mktemp -d "$tmp/parity.XXXXXX")
echo "$experiments" > "$parity_out/queue"
in_order "$jobs" "$parity_out" parity
failures=$((failures + $(cat "$parity_out"/out.* | grep -c '^not ok')))

# Training converges on the GPU as tests/t_train.sh asks of the CPU.
bin=build/resnet_basic_block_mid/resnet_basic_block_mid
data=${FASHION_MNIST_DIR:+--data $FASHION_MNIST_DIR}
# shellcheck disable=SC2086
if "$bin" train --device cuda $data --subset 2048 --val-subset 512 --epochs 2 --batch-size 64 --lr 0.003 \
        --quiet --no-bench --output-dir "$tmp/train" --results "$tmp/results.csv" > /dev/null 2> "$tmp/err" &&
   "$PYTHON" -c '
import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))
assert float(r[1]["train_loss"]) < float(r[0]["train_loss"]), r
assert max(float(x["val_acc"]) for x in r) > 0.40, r
' "$tmp/train/metrics.csv" 2>> "$tmp/err"; then
    ok "CUDA: training on the GPU converges (loss falls, val acc > 40%)"
else
    notok "CUDA: training on the GPU converges: $(tail -2 "$tmp/err" | tr '\n' '|')"
fi

# One epoch of CIFAR-10's size (synthetic where the real files are absent).
cifar=${CIFAR10_DIR:-$tmp/cifar10}
if [ ! -f "$cifar/data_batch_1.bin" ]; then
    mkdir -p "$cifar"
    "$PYTHON" -c '
import os, sys
import numpy as np
rng = np.random.RandomState(0)
def batch(path, n):
    rec = rng.randint(0, 256, (n, 3073)).astype(np.uint8)
    rec[:, 0] = rng.randint(0, 10, n)
    rec.tofile(path)
for i in range(1, 6):
    batch(os.path.join(sys.argv[1], "data_batch_%d.bin" % i), 10000)
batch(os.path.join(sys.argv[1], "test_batch.bin"), 10000)
' "$cifar"
fi
subset=${CIFAR_SUBSET:+--subset $CIFAR_SUBSET}
# shellcheck disable=SC2086
if "$bin" train --device cuda --dataset cifar10 --data "$cifar" $subset --epochs 1 --batch-size 256 --quiet \
        --no-bench --output-dir "$tmp/cifar" --results "$tmp/results.csv" > "$tmp/out" 2> "$tmp/err"; then
    ok "CUDA: one epoch of CIFAR-size data${subset:+ ($subset)}: $(tail -1 "$tmp/out")"
else
    notok "CUDA: one epoch of CIFAR-size data: $(tail -2 "$tmp/err" | tr '\n' '|')"
fi
finish t_cuda_models
