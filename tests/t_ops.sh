#!/bin/sh
# Operator kernels of every backend against finite differences and the
# double-precision reference (tests/ops/).  Prints TAP lines.
cd "$(dirname "$0")/.." || exit 1
out=build/tests/ops
mkdir -p "$out"
flags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -march=native -fopenmp -Iruntime -Iruntime/kernels -Itests/ops $(pkg-config --cflags openblas)"
tests/ops/op_saves.sh >"$out/saves.m4" || { echo "not ok - operator tests: no bzgen"; exit 1; }
expand() {  # backend real table
    m4 -P -I templates -I tests/ops -D bz_backend_label="$1" -D bz_case_real="$2" \
        -D bz_case_table="$3" tests/ops/ops.c.m4 "$out/saves.m4" tests/ops/cases.m4 > "$out/$3.c"
}
if ! { expand reference double f64_cases && expand reference float ref_cases &&
       expand optimised float opt_cases && expand optimised float opt_stream_cases; }; then
    echo "not ok - operator tests: m4 expansion failed"
    exit 1
fi
# Each case table compiled on its own, two at a time (they are large); the
# optimised kernels twice, the second time with streaming stores for every
# output.
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
compile() {  # table [extra flags]
    # shellcheck disable=SC2086
    gcc $flags $san $2 -c -o "$out/$1.o" "$out/$1.c" 2> "$out/$1.log"
}
compile opt_cases & a=$!
compile opt_stream_cases -DBZ_STREAM_FLOATS=0 & b=$!
compile f64_cases && compile ref_cases; status=$?
wait $a || status=1
wait $b || status=1
# shellcheck disable=SC2086
if [ $status -ne 0 ] || ! gcc $flags $san -o "$out/test_ops" tests/ops/test_ops.c \
        "$out/f64_cases.o" "$out/ref_cases.o" "$out/opt_cases.o" "$out/opt_stream_cases.o" \
        runtime/kernels/bz_fold.c runtime/kernels/bz_channel_ops.c runtime/util/bz_util.c \
        $(pkg-config --libs openblas) -lm 2> "$out/build.log"; then
    echo "not ok - operator tests: build failed"
    cat "$out"/*.log | sed 's/^/# /' | head -20
    exit 1
fi
# the cases split across the cores (test_ops SHARD/COUNT); each process runs
# its OpenMP loops on 2 threads (the kernels' threaded paths), idle threads
# sleeping rather than spinning against the other shard
jobs=$(nproc 2>/dev/null || echo 2)
shard=0
while [ $shard -lt "$jobs" ]; do
    ASAN_OPTIONS=detect_leaks=1 OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive "$out/test_ops" "$shard/$jobs" \
        >"$out/labels.$shard" 2>&1 &
    eval "pid$shard=\$!"
    shard=$((shard + 1))
done
status=0 shard=0
: >"$out/labels"
while [ $shard -lt "$jobs" ]; do
    eval "wait \$pid$shard"
    rc=$?
    cat "$out/labels.$shard" >>"$out/labels"
    [ $rc -eq 0 ] || { echo "not ok - operator tests (shard $shard/$jobs) exited with status $rc" >>"$out/labels"; status=1; }
    shard=$((shard + 1))
done
cat "$out/labels"
# Every operator of bzgen's table has cases here (a case's label starts
# with its operator's YAML name).
for op in $(build/bzgen --list-operators | cut -d' ' -f1); do
    if grep -q "^ok - $op " "$out/labels"; then
        echo "ok - operator $op has passing cases"
    else
        echo "not ok - operator $op of the table has no passing case in tests/ops/cases.m4"
        status=1
    fi
done
exit $status
