#!/bin/sh
# The experiment binary's interface: help, bad options, bad weights and
# tensors (one-line error, non-zero exit, no output left behind), the
# deploy graph against eval mode, backend agreement, and a run under
# AddressSanitizer/UBSan.  Uses a narrow variant to stay fast.
cd "$(dirname "$0")/.." || exit 1
v=resnet_basic_block_mid-nb1-bc8
bin=build/$v/$v
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; }

make -s CUDA= EXP=resnet_basic_block_mid NUM_BLOCKS=1 BASE_CHANNELS=8 || { notok "build $v" "make failed"; exit 1; }

for c in profile bench train forward grad export; do
    if "$bin" "$c" --help > "$tmp/help" 2>&1 && grep -q "usage" "$tmp/help"; then
        ok "$c --help"
    else
        notok "$c --help" "$(head -1 "$tmp/help")"
    fi
done

# expect_error NAME OUTPUT_FILE COMMAND...: non-zero exit, exactly one
# line on stderr, OUTPUT_FILE not created.
expect_error() {
    name=$1 out=$2
    shift 2
    rm -f "$out"
    if "$@" > /dev/null 2> "$tmp/err"; then
        notok "$name" "exit status 0"
    elif [ "$(wc -l < "$tmp/err")" -ne 1 ]; then
        notok "$name" "stderr has $(wc -l < "$tmp/err") lines: $(head -3 "$tmp/err" | tr '\n' '|')"
    elif [ -e "$out" ] || ls "$out".tmp* > /dev/null 2>&1; then
        notok "$name" "left $out behind"
    else
        ok "$name: $(cat "$tmp/err")"
    fi
}

expect_error "unknown command" "$tmp/none" "$bin" frobnicate
for c in profile bench train forward grad export; do
    expect_error "$c rejects an unknown option" "$tmp/none" "$bin" "$c" --no-such-option
done
expect_error "bench --batch-size wants a value" "$tmp/none" "$bin" bench --batch-size
expect_error "bench rejects batch 0" "$tmp/none" "$bin" bench --batch-size 0

"$bin" export --output "$tmp/w.safetensors" --seed 5 || notok "export" "failed"
/usr/bin/python3 tests/cli_inputs.py "$tmp" 10 || notok "write test inputs" "python failed"

for bad in wrong_key missing_key wrong_shape wrong_dtype truncated; do
    expect_error "forward refuses weights: $bad" "$tmp/y.npy" \
        "$bin" forward --weights "$tmp/$bad.safetensors" --input "$tmp/x.npy" --output "$tmp/y.npy"
done
expect_error "forward refuses a missing weights file" "$tmp/y.npy" \
    "$bin" forward --weights "$tmp/absent.safetensors" --input "$tmp/x.npy" --output "$tmp/y.npy"
expect_error "forward refuses an input of the wrong size" "$tmp/y.npy" \
    "$bin" forward --input "$tmp/x_wrong.npy" --output "$tmp/y.npy"
expect_error "grad refuses a label out of range" "$tmp/g.safetensors" \
    "$bin" grad --input "$tmp/x.npy" --labels "$tmp/labels_bad.npy" --output "$tmp/g.safetensors"
expect_error "grad refuses labels of the wrong count" "$tmp/g.safetensors" \
    "$bin" grad --input "$tmp/x.npy" --labels "$tmp/labels_short.npy" --output "$tmp/g.safetensors"

# The deploy graph (BatchNorm folded) computes eval mode's function.
w="--weights $tmp/random_bn.safetensors --input $tmp/x.npy"
# shellcheck disable=SC2086
"$bin" forward $w --output "$tmp/eval.npy" && "$bin" forward $w --deploy --output "$tmp/deploy.npy" &&
    "$bin" forward $w --backend reference --output "$tmp/eval_ref.npy" &&
    "$bin" forward $w --train --output "$tmp/train.npy" &&
    "$bin" forward $w --train --backend reference --output "$tmp/train_ref.npy"
for pair in "deploy eval 1e-4 deploy-graph logits equal eval-mode logits" \
            "eval_ref eval 1e-5 reference and optimised eval logits agree" \
            "train_ref train 1e-5 reference and optimised train-mode logits agree"; do
    set -- $pair
    a=$1 b=$2 tol=$3
    shift 3
    if err=$(/usr/bin/python3 tests/cli_compare.py "$tmp/$a.npy" "$tmp/$b.npy" "$tol"); then
        ok "$* (rel err $err)"
    else
        notok "$*" "rel err $err > $tol"
    fi
done

# The same binary under AddressSanitizer and UBSan.
asan=$tmp/asan_bin
# runtime sources include each other by their path under runtime/; the
# generated model includes bz_model.h and bz_kernels.h by name
rt_inc="-Iruntime -Iruntime/model -Iruntime/kernels"
flags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -fopenmp $rt_inc -fsanitize=address,undefined -fno-sanitize-recover=all"
# the model's sources and its kernel units' (build/kernels/)
model_sources=$(make -s CUDA= EXP=resnet_basic_block_mid NUM_BLOCKS=1 BASE_CHANNELS=8 print-c-sources)
# shellcheck disable=SC2046,SC2086
if gcc $flags $(pkg-config --cflags openblas jansson zlib) -o "$asan" $model_sources runtime/*/*.c \
        $(pkg-config --libs openblas jansson zlib) -lm 2> "$tmp/asan.log"; then
    export ASAN_OPTIONS=detect_leaks=1
    # shellcheck disable=SC2086
    if "$asan" forward $w --output "$tmp/a.npy" && "$asan" forward $w --deploy --output "$tmp/a.npy" &&
       "$asan" forward $w --backend reference --output "$tmp/a.npy" &&
       "$asan" grad $w --labels "$tmp/labels.npy" --output "$tmp/g.safetensors" &&
       "$asan" grad $w --labels "$tmp/labels.npy" --backend reference --output "$tmp/g.safetensors" \
       2> "$tmp/asan.log"; then
        ok "forward, deploy and grad are clean under ASan/UBSan"
    else
        notok "ASan/UBSan run" "$(head -5 "$tmp/asan.log" | tr '\n' '|')"
    fi
else
    notok "ASan/UBSan build" "$(head -5 "$tmp/asan.log" | tr '\n' '|')"
fi

# The binary under valgrind's memcheck, built for baseline x86-64 (valgrind
# 3.19 cannot decode AVX-512) and without sanitizer runtimes.
vg=$tmp/valgrind_bin
if ! command -v valgrind > /dev/null; then
    notok "valgrind memcheck" "valgrind is not installed"
# shellcheck disable=SC2046,SC2086
elif ! gcc -std=c11 -D_GNU_SOURCE -O1 -g -fopenmp $rt_inc $(pkg-config --cflags openblas jansson zlib) \
        -o "$vg" $model_sources runtime/*/*.c \
        $(pkg-config --libs openblas jansson zlib) -lm 2> "$tmp/vg_build.log"; then
    notok "valgrind build" "$(head -3 "$tmp/vg_build.log" | tr '\n' '|')"
# shellcheck disable=SC2086
elif OPENBLAS_CORETYPE=Haswell BZ_KEEP_OPENBLAS_CORETYPE=1 OMP_NUM_THREADS=1 valgrind --quiet --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite "$vg" grad $w --labels "$tmp/labels.npy" \
        --output "$tmp/g.safetensors" --threads 1 > "$tmp/valgrind.log" 2>&1; then
    ok "grad is clean under valgrind memcheck"
else
    notok "valgrind memcheck" "$(grep -m3 'ERROR SUMMARY\|Invalid\|definitely\|Illegal' "$tmp/valgrind.log" | tr '\n' '|')"
fi
