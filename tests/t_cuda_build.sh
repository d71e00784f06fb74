#!/bin/sh
# CI's CUDA sweep: every experiment's model.cu is generated from the same
# model.m4 as its C sources and compiles with nvcc (sm_90 + PTX) without
# warnings.  Skipped, with the reason, where nvcc is absent.
cd "$(dirname "$0")/.." || exit 1
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
if [ ! -x "$NVCC" ]; then
    echo "ok - every experiment's model.cu compiles # SKIP nvcc absent"
    exit 0
fi
log=build/tests/cuda_build.log
mkdir -p build/tests
make -s -k -j2 NVCC="$NVCC" cuda-objects > "$log" 2>&1
for e in $(make -s list); do
    if make -s -q NVCC="$NVCC" "build/$e/model_cuda.o" 2>/dev/null; then
        echo "ok - $e: model.cu compiles with nvcc without warnings"
    else
        echo "not ok - $e: model.cu compiles with nvcc without warnings"
        grep -F "$e" "$log" | head -5 | sed 's/^/# /'
    fi
done
