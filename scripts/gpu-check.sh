#!/bin/sh
# The CUDA backend's checks on a GPU machine that cannot build the project
# (no libyaml, OpenBLAS or jansson there, and no network to install them).
#
#   scripts/gpu-check.sh pack           here: build every experiment and the
#                                       CUDA operator test programs, bundle
#                                       them with the shared libraries they
#                                       load into .dev/gpu-bundle.tar.xz
#   scripts/gpu-check.sh run OUT [EXP..] on the GPU machine, in a copy of the
#                                       tree that holds .dev/: unpack, then
#                                       run the CUDA operator cases,
#                                       tests/t_cuda_models.sh and the GPU
#                                       benchmark against PyTorch on EXP
#                                       (default: three experiments); every
#                                       log and summary.txt go to OUT
#
# On the GPU machine `python3` must be a PyTorch with CUDA (GPU_PYTHON to
# choose another), and cuBLAS must be somewhere find can see it.
set -u
cd "$(dirname "$0")/.." || exit 1
bundle=.dev/gpu-bundle.tar.xz
usage() {
    sed -n '2,18s/^# \{0,1\}//p' "$0"
    exit "$1"
}

pack() {
    make -s -j"$(nproc)" all || exit 1
    sh tests/t_ops_cuda.sh > /dev/null || { echo "gpu-check: tests/t_ops_cuda.sh failed" >&2; exit 1; }
    rm -rf .dev/lib .dev/fashion-mnist && mkdir -p .dev/lib .dev/fashion-mnist
    make -s list > .dev/experiments
    fashion_mnist_head 2048 train && fashion_mnist_head 512 t10k || exit 1
    files=$(while read -r e; do echo "build/$e/$e"; done < .dev/experiments)
    files="$files build/tests/ops_cuda/test_ops_cuda build/tests/ops_cuda/test_cuda_step"
    # every shared library but the C library's own, which the GPU machine has
    # shellcheck disable=SC2086
    ldd $files | awk '/=> \// { print $3 }' | sort -u |
        grep -Ev '/(libc|libm|libmvec|libdl|libpthread|librt|ld-linux[^/]*)\.so' |
        while read -r lib; do cp -L "$lib" .dev/lib/; done
    # shellcheck disable=SC2086
    tar -cJf "$bundle.tmp" $files .dev/lib .dev/experiments .dev/fashion-mnist &&
        mv "$bundle.tmp" "$bundle" || exit 1
    rm -rf .dev/lib .dev/experiments .dev/fashion-mnist
    echo "gpu-check: $bundle ($(du -h "$bundle" | cut -f1)); carry .dev"
}

# fashion_mnist_head N SET: the first N examples of Fashion-MNIST's SET
# (train or t10k) as IDX files in .dev/fashion-mnist (the GPU machine has no
# Debian dataset; the training check reads 2048 and 512)
fashion_mnist_head() {
    /usr/bin/python3 - "$1" /usr/share/datasets/fashion-mnist/"$2" .dev/fashion-mnist/"$2" <<'EOF'
import gzip, struct, sys
n = int(sys.argv[1])
for kind, item in (("images-idx3-ubyte", 28 * 28), ("labels-idx1-ubyte", 1)):
    data = gzip.open("%s-%s.gz" % (sys.argv[2], kind)).read()
    header = bytearray(data[:4 + 4 * data[3]])
    header[4:8] = struct.pack(">I", n)
    with gzip.GzipFile("%s-%s.gz" % (sys.argv[3], kind), "wb", mtime=0) as f:
        f.write(bytes(header) + data[len(header):len(header) + n * item])
EOF
}

# libraries: a folder with the bundle's libraries the machine lacks and
# libcublas.so (the binaries dlopen that name; pip's wheels carry only .so.13)
libraries() {
    mkdir -p .dev/missing
    for lib in .dev/lib/*; do
        ldconfig -p | grep -q "/$(basename "$lib")\$" || cp "$lib" .dev/missing/
    done
    cublas=$(find / \( -path /proc -o -path /sys \) -prune -o -name 'libcublas.so*' -print \
        2>/dev/null | sort | head -1)
    [ -n "$cublas" ] && ln -sf "$cublas" .dev/missing/libcublas.so
    echo "cuBLAS: ${cublas:-not found}; carried libraries used:" .dev/missing/*
}

run() {
    out=$1
    shift
    exps=${*:-resnet_basic_block_mid inverted_residual_late convnext_block_mid}
    python=${GPU_PYTHON:-python3}
    mkdir -p "$out"
    [ -f "$bundle" ] || { echo "gpu-check: no $bundle (run pack first, carry .dev)" >&2; exit 1; }
    tar -xJf "$bundle" || exit 1
    {
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
        "$python" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)'
        libraries
    } > "$out/summary.txt" 2>&1
    LD_LIBRARY_PATH=$(pwd)/.dev/missing${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
    step "operator cases" "$out/ops.log" sh -c \
        'build/tests/ops_cuda/test_ops_cuda && build/tests/ops_cuda/test_cuda_step'
    # one oracle thread a process: t_cuda_models runs a parity check a core
    step "models" "$out/models.log" env BZ_PREBUILT=1 PYTHON="$python" OMP_NUM_THREADS=1 \
        FASHION_MNIST_DIR=.dev/fashion-mnist \
        CIFAR_SUBSET="${CIFAR_SUBSET:-5120}" EXPERIMENTS="$(cat .dev/experiments)" \
        sh tests/t_cuda_models.sh
    # shellcheck disable=SC2086
    step "bench vs PyTorch" "$out/bench.log" env PYTHONUNBUFFERED=1 "$python" \
        scripts/bench_vs_torch_cuda.py --no-build --train-steps 5 --runs-b1 100 \
        --output "$out/bench" $exps
    cat "$out/summary.txt"
}

# step NAME LOG COMMAND...: run (stdin closed, at most STEP_TIMEOUT
# seconds: one step that hangs leaves the others their time), count its TAP
# lines into summary.txt
step() {
    name=$1 log=$2
    shift 2
    start=$(date +%s)
    timeout "${STEP_TIMEOUT:-240}" "$@" > "$log" 2>&1 < /dev/null
    rc=$?
    echo "$name: exit $rc, $(grep -c '^ok' "$log") ok ($(grep -c '^ok.*# SKIP' "$log") skipped)," \
        "$(grep -c '^not ok' "$log") not ok," \
        "$(($(date +%s) - start)) s" >> "$out/summary.txt"
    grep '^not ok' "$log" | cut -c1-300 >> "$out/summary.txt"
}

case ${1:-} in
    pack) pack ;;
    run) [ $# -ge 2 ] || usage 2; shift; run "$@" ;;
    -h | --help) usage 0 ;;
    *) usage 2 ;;
esac
