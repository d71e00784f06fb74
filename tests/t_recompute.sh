#!/bin/sh
# Recomputation in the backward (gen/recompute.c): for three networks whose
# plans exercise its parts, the default build against the variant that keeps
# every activation (make KEEP_ACTIVATIONS=1, bzgen --keep-activations):
#   - the gradients are the same bytes, on both CPU backends (a recompute
#     writes the forward's floats; a wrong buffer or order shows here);
#   - the default build recomputes (its generated code says so) and the other
#     does not; it does not recompute the pooled features (head.0), whose
#     recompute would not shrink the plan;
#   - resnet_basic_block_mid's residual adds run no backward (their inputs'
#     gradients are their own buffer, gen/fuse.c; the gradients' bytes
#     above and tests/t_torch_parity.sh check that nothing overwrites it);
#   - its training activations plan is at most 60% of the other's, and its
#     measured peak RSS of a batch-64 training step is smaller.
# resnet_basic_block_mid: BatchNorm -> ReLU and BatchNorm + BatchNorm -> add
# -> ReLU chains, the stem conv rerun; mobile_one_block_early: identity
# BatchNorm branches (the chains the planner cuts); inverted_residual_mid:
# depthwise convs rerun, Hardswish, in-place elementwise kernels.
# Prints TAP lines.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
PY=${PYTHON:-/usr/bin/python3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$PY" -c '
import numpy as np, sys
rng = np.random.default_rng(3)
np.save(sys.argv[1] + "/x.npy", rng.standard_normal((8, 3, 32, 32)).astype(np.float32))
np.save(sys.argv[1] + "/labels.npy", rng.integers(0, 10, 8).astype(np.int64))
' "$T" || { notok "recompute tests: no input (numpy)"; finish t_recompute.sh; exit 1; }

for e in resnet_basic_block_mid mobile_one_block_early inverted_residual_mid; do
    # the -keep variants CPU-only: their CUDA side is t_cuda_build's concern
    if ! make -s EXP=$e >"$T/make.log" 2>&1 ||
       ! make -s EXP=$e KEEP_ACTIVATIONS=1 CUDA= >>"$T/make.log" 2>&1; then
        sed 's/^/# /' "$T/make.log" | tail -5
        notok "$e: build with and without recomputation"
        continue
    fi
    re=build/$e/$e
    keep=build/$e-keep/$e-keep
    for backend in optimised reference; do
        for v in "$re" "$keep"; do
            "$v" grad --input "$T/x.npy" --labels "$T/labels.npy" --threads 2 \
                --backend $backend --output "$T/$(basename "$v")-$backend.safetensors" 2>>"$T/grad.err"
        done
        check "$e [$backend]: gradients with recomputation are the kept-activation ones, byte for byte" \
            cmp -s "$T/$e-$backend.safetensors" "$T/$e-keep-$backend.safetensors"
    done
    check "$e: the default build recomputes in its backward, the -keep variant does not" \
        sh -c "grep -q '/\* recompute ' build/$e/model_opt.c &&
               ! grep -q '/\* recompute ' build/$e-keep/model_opt.c"
    # the pooled features (head.0) are the forward's last activation: the
    # arena's peak is long past, so their recompute would save nothing
    check "$e: nothing is recomputed whose recompute does not shrink the plan (head.0 is kept)" \
        sh -c "! grep -q '/\* recompute head\.0 ' build/$e/model_opt.c"
    # every residual add of the scaffold reads two BatchNorm outputs that
    # nothing else reads: its inputs' gradients are its own (gen/fuse.c)
    [ $e = resnet_basic_block_mid ] &&
        check "$e: no add backward runs, each hands its gradient on in place" \
            sh -c "grep -q 'gradient passed on' build/$e/model_opt.c &&
                   ! grep -q '^ .*_add_[0-9]*_backward(' build/$e/model_opt.c"
    if "$re" profile --batch-size 64 --json >"$T/re.json" 2>"$T/err" && "$keep" profile --batch-size 64 --json >"$T/keep.json" 2>>"$T/err"; then
        check "$e: activations plan at most 60% of the kept one's, and a smaller measured peak RSS" \
            "$PY" -c '
import json, sys
re, keep = (json.load(open(f)) for f in sys.argv[1:3])
a, b = re["memory_bytes"]["activations_train"], keep["memory_bytes"]["activations_train"]
assert a <= 0.6 * b, (a, b)
r, k = re["measured"]["peak_rss_bytes"], keep["measured"]["peak_rss_bytes"]
assert r < k, (r, k)
print("# activations %.0f vs %.0f MiB, peak RSS %.0f vs %.0f MiB" % (a / 2**20, b / 2**20, r / 2**20, k / 2**20))
' "$T/re.json" "$T/keep.json"
    else
        sed 's/^/# /' "$T/err" | tail -3
        notok "$e: profile --json"
    fi
done
finish t_recompute.sh
