#!/bin/sh
# Operator kernels of every backend against finite differences and the
# double-precision reference (tests/ops/).  Prints TAP lines.
cd "$(dirname "$0")/.." || exit 1
out=build/tests/ops
mkdir -p "$out"
flags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -march=native -fopenmp -Iruntime -Itests/ops $(pkg-config --cflags openblas)"
expand() {  # backend real table
    m4 -P -I templates -I tests/ops -D bz_backend_label="$1" -D bz_case_real="$2" \
        -D bz_case_table="$3" tests/ops/ops.c.m4 tests/ops/cases.m4 > "$out/$3.c"
}
if ! { expand reference double f64_cases && expand reference float ref_cases &&
       expand optimised float opt_cases; }; then
    echo "not ok - operator tests: m4 expansion failed"
    exit 1
fi
# shellcheck disable=SC2086
if ! gcc $flags -fsanitize=address,undefined -fno-sanitize-recover=all -o "$out/test_ops" \
        tests/ops/test_ops.c "$out/f64_cases.c" "$out/ref_cases.c" "$out/opt_cases.c" \
        runtime/bz_fold.c runtime/bz_channel_ops.c runtime/bz_winograd.c $(pkg-config --libs openblas) -lm 2> "$out/build.log"; then
    echo "not ok - operator tests: build failed"
    sed 's/^/# /' "$out/build.log" | head -20
    exit 1
fi
ASAN_OPTIONS=detect_leaks=1 OMP_NUM_THREADS=2 "$out/test_ops"
status=$?
[ $status -eq 0 ] || echo "not ok - operator tests exited with status $status"
