#!/bin/sh
# Every re-parameterisable block (a `deploy:` section in its block file):
# after a few training steps, the deploy graph (branches merged by the
# generated deploy_fold) computes the train graph's eval-mode function.
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 -c 'import numpy as np; np.save("'"$tmp"'/x.npy", np.random.RandomState(7).randn(6, 3, 32, 32).astype(np.float32))'
for spec in $(grep -l '^deploy:' blocks/*.yaml); do
    stem=$(basename "$spec" .yaml)
    exp=${stem}_mid
    [ -f "specs/$exp.yaml" ] || continue   # a sub-block (ghost_module_v3)
    v=$exp-nb1-bc8
    bin=build/$v/$v
    if ! make -s CUDA= EXP="$exp" NUM_BLOCKS=1 BASE_CHANNELS=8 > "$tmp/make.log" 2>&1; then
        echo "not ok - $stem: build failed: $(tail -2 "$tmp/make.log" | tr '\n' '|')"
        continue
    fi
    if ! "$bin" train --subset 512 --val-subset 256 --epochs 1 --batch-size 32 --threads 2 \
            --no-bench --quiet --output-dir "$tmp/$stem" --results "$tmp/r.csv" > "$tmp/train.log" 2>&1; then
        echo "not ok - $stem: training failed: $(tail -2 "$tmp/train.log" | tr '\n' '|')"
        continue
    fi
    w="--weights $tmp/$stem/best.safetensors --input $tmp/x.npy"
    # shellcheck disable=SC2086
    "$bin" forward $w --output "$tmp/eval.npy" && "$bin" forward $w --deploy --output "$tmp/deploy.npy"
    if err=$(/usr/bin/python3 tests/cli_compare.py "$tmp/deploy.npy" "$tmp/eval.npy" 1e-4); then
        echo "ok - $stem: trained deploy-graph logits equal eval logits (rel err $err)"
    else
        echo "not ok - $stem: deploy-graph logits differ from eval logits (rel err $err)"
    fi
done
