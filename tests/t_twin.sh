#!/bin/sh
# What the runtime does for a device backend, without a GPU: the binary is
# linked with tests/twin/host_device.c in place of the CUDA backend (device
# memory on the host, the reference backend's kernels), so --device cuda
# runs the twin model (arenas copied each way, the fold on the host, the
# device training step from its io buffers, loads and saves through the
# host) and must give byte-identical outputs to --device cpu --backend
# reference.  Then --device and --precision selection and errors, and a
# CPU-only build where no nvcc is found.
cd "$(dirname "$0")/.." || exit 1
exp=mobile_one_block_mid
v=$exp-nb1-bc8
twin=build/$v/host_device_twin
mkdir -p build/tests
tmp=$(mktemp -d build/tests/t_twin.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; }

if ! make -s VARIANTS=$v "$twin" > "$tmp/make.log" 2>&1; then
    notok "build $twin" "$(tail -3 "$tmp/make.log" | tr '\n' '|')"
    exit 1
fi
"$twin" export --output "$tmp/w.safetensors" --seed 5 &&
    /usr/bin/python3 tests/cli_inputs.py "$tmp" 10 || { notok "twin inputs" "export failed"; exit 1; }
w="--weights $tmp/random_bn.safetensors --input $tmp/x.npy"
cpu="--device cpu --backend reference --threads 1"

# same NAME EXT ARGS...: the command with --device cuda and with the CPU
# reference backend writes identical files
same() {
    name=$1 ext=$2
    shift 2
    if "$twin" "$@" --device cuda --output "$tmp/dev.$ext" 2> "$tmp/err" &&
       "$twin" "$@" $cpu --output "$tmp/cpu.$ext" 2>> "$tmp/err" &&
       cmp -s "$tmp/dev.$ext" "$tmp/cpu.$ext"; then
        ok "device twin: $name identical to the CPU reference backend"
    else
        notok "device twin: $name" "$(head -2 "$tmp/err" | tr '\n' '|')outputs differ or missing"
    fi
}
# shellcheck disable=SC2086
{
    same "forward (eval)" npy forward $w
    same "forward --train" npy forward $w --train
    same "forward --deploy (folded on the host, uploaded)" npy forward $w --deploy
    same "grad (gradients downloaded for the save)" safetensors grad $w --labels "$tmp/labels.npy"
}

# Training on the twin: the device step (io buffers, Adam scalars per
# step), a last partial batch, the checkpoint saved through the host, and
# the final benchmark reloading it into a fresh twin.
train="--subset 100 --val-subset 60 --epochs 2 --batch-size 32 --seed 3 --quiet"
# shellcheck disable=SC2086
if "$twin" train $train --device cuda --output-dir "$tmp/tdev" --results "$tmp/rdev.csv" \
        > /dev/null 2> "$tmp/err" &&
   "$twin" train $train $cpu --output-dir "$tmp/tcpu" --results "$tmp/rcpu.csv" \
        > /dev/null 2>> "$tmp/err"; then
    if cmp -s "$tmp/tdev/best.safetensors" "$tmp/tcpu/best.safetensors" &&
       cut -d, -f1-6 "$tmp/tdev/metrics.csv" > "$tmp/mdev" &&
       cut -d, -f1-6 "$tmp/tcpu/metrics.csv" > "$tmp/mcpu" && cmp -s "$tmp/mdev" "$tmp/mcpu"; then
        ok "device twin: 2 epochs of training give the CPU's checkpoint and losses"
    else
        notok "device twin: training" "checkpoints or metrics differ"
    fi
    if grep -q ',cuda,' "$tmp/rdev.csv" && grep -q ',cpu,' "$tmp/rcpu.csv"; then
        ok "train: the results row names the device"
    else
        notok "train: the results row names the device" "$(tail -1 "$tmp/rdev.csv")"
    fi
else
    notok "device twin: training" "$(head -2 "$tmp/err" | tr '\n' '|')"
fi

# The twin's arenas, copies and frees under AddressSanitizer (leaks
# included) and UBSan.
asan=$tmp/asan_twin
# runtime sources include each other by their path under runtime/; the
# generated model includes bz_model.h and bz_kernels.h by name
rt_inc="-Iruntime -Iruntime/model -Iruntime/kernels"
flags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -fopenmp $rt_inc -fsanitize=address,undefined -fno-sanitize-recover=all"
# the model's sources and its kernel units' (build/kernels/)
model_sources=$(make -s CUDA= EXP=$exp NUM_BLOCKS=1 BASE_CHANNELS=8 print-c-sources)
# shellcheck disable=SC2046,SC2086
if gcc $flags $(pkg-config --cflags openblas jansson zlib) -o "$asan" $model_sources runtime/*/*.c tests/twin/host_device.c \
        $(pkg-config --libs openblas jansson zlib) -lm 2> "$tmp/asan.log"; then
    # shellcheck disable=SC2086
    if ASAN_OPTIONS=detect_leaks=1 BZ_KEEP_OPENBLAS_CORETYPE=1 sh -c '
        "$1" forward $2 --deploy --output "$3/a.npy" &&
        "$1" grad $2 --labels "$3/labels.npy" --output "$3/g.safetensors" &&
        "$1" train --subset 40 --val-subset 20 --epochs 1 --batch-size 16 --quiet --no-bench \
            --output-dir "$3/asan_train" --results "$3/asan.csv" > /dev/null' \
        sh "$asan" "$w" "$tmp" 2> "$tmp/asan.log"; then
        ok "device twin under ASan/UBSan: forward, grad, training (no leaks)"
    else
        notok "device twin under ASan/UBSan" "$(grep -m2 'ERROR\|runtime error' "$tmp/asan.log" | tr '\n' '|')"
    fi
else
    notok "device twin under ASan/UBSan" "build failed: $(head -3 "$tmp/asan.log" | tr '\n' '|')"
fi

# ---- selection ----
if "$twin" bench --batch-size 2 --benchmark-runs 2 --train-runs 1 > "$tmp/bench" 2>&1 &&
   grep -q "reference backend\|cuda backend" "$tmp/bench" && head -1 "$tmp/bench" | grep -q "device cuda"; then
    ok "default --device is cuda where it is usable (bench header: $(head -1 "$tmp/bench" | sed 's/.*: //'))"
else
    notok "default --device is cuda where it is usable" "$(head -1 "$tmp/bench")"
fi
if BZ_HOST_DEVICE_UNUSABLE="test: no device" "$twin" bench --batch-size 1 --benchmark-runs 1 \
        --no-train > "$tmp/bench" 2>&1 && head -1 "$tmp/bench" | grep -q "device cpu"; then
    ok "default --device is cpu where cuda is not usable"
else
    notok "default --device is cpu where cuda is not usable" "$(head -1 "$tmp/bench")"
fi

# expect_error NAME EXPECTED COMMAND...: exit 1, one line on stderr naming EXPECTED
expect_error() {
    name=$1 want=$2
    shift 2
    "$@" > /dev/null 2> "$tmp/err"
    rc=$?
    if [ $rc -eq 1 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q -- "$want" "$tmp/err"; then
        ok "$name: $(cat "$tmp/err")"
    else
        notok "$name" "exit $rc, stderr: $(head -2 "$tmp/err" | tr '\n' '|')"
    fi
}
expect_error "--device cuda where it is not usable" "no usable GPU: test: no device" \
    env BZ_HOST_DEVICE_UNUSABLE="test: no device" "$twin" bench --device cuda
expect_error "--device rejects an unknown name" "--device wants 'cpu' or 'cuda'" \
    "$twin" bench --device gpu
expect_error "--backend does not go with --device cuda" "does not go with --device cuda" \
    "$twin" forward --device cuda --backend reference --input "$tmp/x.npy" --output "$tmp/y.npy"
expect_error "--precision tf32 is refused on the cpu" "applies to --device cuda" \
    "$twin" train --device cpu --precision tf32
expect_error "--precision rejects an unknown name" "not supported" \
    "$twin" bench --device cuda --precision fp8

# The real binary on this machine: with a usable GPU --device cuda is
# checked by tests/t_ops_cuda.sh and the GPU checks; without one it says why.
real=build/$v/$v
if make -s VARIANTS=$v "$real" > "$tmp/make.log" 2>&1; then
    if "$real" bench --device cuda --batch-size 1 --benchmark-runs 1 --no-train \
            > /dev/null 2> "$tmp/err"; then
        ok "--device cuda runs on the GPU here # SKIP checked by the GPU tests"
    elif grep -q "no usable GPU\|built without CUDA" "$tmp/err" && [ "$(wc -l < "$tmp/err")" -eq 1 ]; then
        ok "--device cuda without a usable GPU: $(cat "$tmp/err")"
    else
        notok "--device cuda without a usable GPU" "$(head -2 "$tmp/err" | tr '\n' '|')"
    fi
else
    notok "build $real" "$(tail -3 "$tmp/make.log" | tr '\n' '|')"
fi

# Where no nvcc is found, make still builds the CPU binary, and it says so.
nocuda=build/tests/nocuda
if make -s -j2 NVCC= B=$nocuda EXP=$exp NUM_BLOCKS=1 BASE_CHANNELS=8 > "$tmp/make.log" 2>&1 &&
   ! ls $nocuda/$v/model_cuda.o > /dev/null 2>&1 && "$nocuda/$v/$v" forward --input "$tmp/x.npy" \
        --output "$tmp/y.npy" 2> "$tmp/err"; then
    ok "without nvcc, make builds a CPU-only binary that runs (default device cpu)"
    expect_error "a CPU-only binary refuses --device cuda" "built without CUDA" \
        "$nocuda/$v/$v" bench --device cuda
else
    notok "without nvcc, make builds a CPU-only binary" "$(tail -3 "$tmp/make.log" "$tmp/err" | tr '\n' '|')"
fi
