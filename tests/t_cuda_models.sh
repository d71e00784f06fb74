#!/bin/sh
# On a GPU: every experiment's forward (eval and deploy) and grad with
# --device cuda against its CPU backend on the same weights (logits within
# 1e-3 relative in fp32, gradients within 1e-2), short training on the GPU
# converges as on the CPU, and one epoch of CIFAR-size data completes.
# Where no GPU is usable (or the binaries have no CUDA), each check is
# reported as skipped with the reason.
cd "$(dirname "$0")/.." || exit 1
mkdir -p build/tests
tmp=$(mktemp -d build/tests/t_cuda_models.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; }
jobs=$(nproc 2>/dev/null || echo 2)
experiments=$(make -s list)
checks="forward and grad of every experiment against the CPU backend|training on the GPU converges|one epoch of CIFAR-size data"

skip_all() {
    echo "$checks" | tr '|' '\n' | while read -r c; do echo "ok - CUDA: $c # SKIP $1"; done
    exit 0
}

first=$(echo "$experiments" | head -1)
make -s "build/$first/$first" > "$tmp/make.log" 2>&1 || { notok "build $first" "make failed"; exit 1; }
if ! "build/$first/$first" bench --device cuda --batch-size 1 --benchmark-runs 1 --no-train \
        > /dev/null 2> "$tmp/why"; then
    skip_all "$(sed 's/^[^:]*: //' "$tmp/why" | head -1)"
fi

if ! make -s -j"$jobs" all > "$tmp/make.log" 2>&1; then
    notok "build every experiment" "$(tail -3 "$tmp/make.log" | tr '\n' '|')"
    exit 1
fi

# compare NAME FILE_A FILE_B TOL
compare() {
    if err=$(/usr/bin/python3 tests/cli_compare.py "$2" "$3" "$4"); then
        ok "CUDA: $1 (rel err $err)"
    else
        notok "CUDA: $1" "rel err $err > $4"
    fi
}
for e in $experiments; do
    bin=build/$e/$e
    d=$tmp/$e
    mkdir -p "$d"
    classes=$(sed -n 's/^ *\.classes = \([0-9]*\),.*/\1/p' "build/$e/model_desc.c")
    "$bin" export --output "$d/w.safetensors" --seed 1 && /usr/bin/python3 tests/cli_inputs.py "$d" "$classes" ||
        { notok "CUDA: $e inputs" "export failed"; continue; }
    w="--weights $d/random_bn.safetensors --input $d/x.npy"
    for mode in eval deploy; do
        flag=$([ $mode = deploy ] && echo --deploy)
        # shellcheck disable=SC2086
        "$bin" forward $w $flag --device cuda --precision fp32 --output "$d/cuda_$mode.npy" &&
            "$bin" forward $w $flag --device cpu --output "$d/cpu_$mode.npy" &&
            compare "$e forward ($mode) against the CPU" "$d/cuda_$mode.npy" "$d/cpu_$mode.npy" 1e-3
    done
    # shellcheck disable=SC2086
    "$bin" grad $w --labels "$d/labels.npy" --device cuda --precision fp32 --output "$d/cuda.safetensors" &&
        "$bin" grad $w --labels "$d/labels.npy" --device cpu --output "$d/cpu.safetensors" &&
        compare "$e grad against the CPU" "$d/cuda.safetensors" "$d/cpu.safetensors" 1e-2
done

# Training converges on the GPU as tests/t_train.sh asks of the CPU.
bin=build/resnet_basic_block_mid/resnet_basic_block_mid
if "$bin" train --device cuda --subset 2048 --val-subset 512 --epochs 2 --batch-size 64 --lr 0.003 \
        --quiet --no-bench --output-dir "$tmp/train" --results "$tmp/results.csv" > /dev/null 2> "$tmp/err" &&
   /usr/bin/python3 -c '
import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))
assert float(r[1]["train_loss"]) < float(r[0]["train_loss"]), r
assert max(float(x["val_acc"]) for x in r) > 0.40, r
' "$tmp/train/metrics.csv" 2>> "$tmp/err"; then
    ok "CUDA: training on the GPU converges (loss falls, val acc > 40%)"
else
    notok "CUDA: training on the GPU converges" "$(tail -2 "$tmp/err" | tr '\n' '|')"
fi

# One epoch of CIFAR-10's size (synthetic where the real files are absent).
cifar=${CIFAR10_DIR:-$tmp/cifar10}
if [ ! -f "$cifar/data_batch_1.bin" ]; then
    mkdir -p "$cifar"
    /usr/bin/python3 -c '
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
if "$bin" train --device cuda --dataset cifar10 --data "$cifar" --epochs 1 --batch-size 256 --quiet \
        --no-bench --output-dir "$tmp/cifar" --results "$tmp/results.csv" > "$tmp/out" 2> "$tmp/err"; then
    ok "CUDA: one epoch of CIFAR-size data: $(tail -1 "$tmp/out")"
else
    notok "CUDA: one epoch of CIFAR-size data" "$(tail -2 "$tmp/err" | tr '\n' '|')"
fi
