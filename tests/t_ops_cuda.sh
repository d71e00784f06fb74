#!/bin/sh
# The CUDA backend's operator kernels (templates/cuda/): they compile with
# nvcc without warnings, and, where a GPU is usable, every case of
# tests/ops/cases.m4 matches the double-precision reference forward and
# backward.  Without nvcc or a GPU those checks are reported as skipped.
cd "$(dirname "$0")/.." || exit 1
out=build/tests/ops_cuda
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
if [ ! -x "$NVCC" ]; then
    echo "ok - CUDA operator kernels compile # SKIP nvcc absent"
    exit 0
fi
mkdir -p "$out"
if ! { tests/ops/op_saves.sh >"$out/saves.m4" &&
       m4 -P -I templates -I tests/ops -D bz_case_table=cuda_cases tests/ops/ops_cuda.cu.m4 \
           "$out/saves.m4" tests/ops/cases.m4 > "$out/cuda_cases.cu" &&
       m4 -P -I templates -I tests/ops -D bz_backend_label=reference -D bz_case_real=double \
           -D bz_case_table=f64_cases tests/ops/ops.c.m4 "$out/saves.m4" tests/ops/cases.m4 \
           > "$out/f64_cases.c"; }; then
    echo "not ok - CUDA operator tests: m4 expansion failed"
    exit 1
fi
# the flags the generated models are built with (sm_90 code, compute_90 PTX)
nvcc_flags="$(make -s print-nvcc-flags) -Itests/ops"
# shellcheck disable=SC2086
if "$NVCC" $nvcc_flags -c -o "$out/cuda_cases.o" "$out/cuda_cases.cu" > "$out/nvcc.log" 2>&1; then
    echo "ok - CUDA operator kernels compile with nvcc without warnings"
else
    echo "not ok - CUDA operator kernels compile with nvcc without warnings"
    sed 's/^/# /' "$out/nvcc.log" | head -20
    exit 1
fi
flags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -Iruntime -Iruntime/kernels -Itests/ops"
# nvcc links: it knows where its own CUDA runtime is (the nvcc on PATH may be
# a wrapper script outside the toolkit's directory), and links it statically.
# The runtime's CUDA glue (build/libbzrt_cuda.a: cuBLAS GEMMs, loss, Adam,
# graphs) with the few C units it calls.
objects=""
for src in runtime/train/bz_train_math.c runtime/util/bz_util.c runtime/bench/bz_timer.c; do
    obj="$out/$(basename "$src" .c).o"
    # shellcheck disable=SC2086
    gcc $flags -c -o "$obj" "$src" > "$out/link.log" 2>&1 || break
    objects="$objects $obj"
done
# shellcheck disable=SC2086
if [ "$(echo $objects | wc -w)" -ne 3 ] || ! make -s build/libbzrt_cuda.a >> "$out/link.log" 2>&1; then
    echo "not ok - CUDA runtime glue builds"
    sed 's/^/# /' "$out/link.log" | head -20
    exit 1
fi
glue="$objects build/libbzrt_cuda.a -ldl -lm"
cases=""
for src in tests/ops/test_ops.c "$out/f64_cases.c" runtime/kernels/bz_fold.c; do
    obj="$out/$(basename "$src" .c).o"
    # shellcheck disable=SC2086
    gcc $flags -DBZ_CUDA_CASES -c -o "$obj" "$src" > "$out/link.log" 2>&1 || break
    cases="$cases $obj"
done
# shellcheck disable=SC2086
if [ "$(echo $cases | wc -w)" -ne 3 ] ||
   ! "$NVCC" -o "$out/test_ops_cuda" $cases "$out/cuda_cases.o" $glue >> "$out/link.log" 2>&1; then
    echo "not ok - CUDA operator tests: link failed"
    sed 's/^/# /' "$out/link.log" | head -20
    exit 1
fi
"$out/test_ops_cuda"

# The training step's CUDA parts: loss, Adam, a captured graph.
# shellcheck disable=SC2086
if "$NVCC" $nvcc_flags -o "$out/test_cuda_step" tests/ops/test_cuda_step.cu $glue \
        > "$out/step.log" 2>&1; then
    echo "ok - CUDA loss and Adam kernels and the step capture compile and link without warnings"
    "$out/test_cuda_step"
else
    echo "not ok - CUDA loss and Adam kernels and the step capture compile and link"
    sed 's/^/# /' "$out/step.log" | head -20
    exit 1
fi
