#!/bin/sh
# Training smoke tests on a small variant (1 block per stage, base width 8):
# learning on real Fashion-MNIST, reproducibility, the results CSV and its
# concurrent appends, one-line errors, profile --json and bench.
# Prints TAP-style "ok - ..." / "not ok - ..." lines; run from anywhere.
# shellcheck disable=SC2016  # the sh -c snippets expand their own $1, $2
set -u
cd "$(dirname "$0")/.." || exit 1

EXP=resnet_basic_block_mid
VAR=$EXP-nb1-bc8
BIN=build/$VAR/$VAR
DESC=build/$VAR/model_desc.c
PY=/usr/bin/python3
failures=0

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; failures=$((failures + 1)); }
check() {  # check NAME COMMAND...: ok if the command succeeds
    name=$1
    shift
    if "$@"; then ok "$name"; else notok "$name"; fi
}

mkdir -p build/tests
T=$(mktemp -d build/tests/t_train.XXXXXX)
trap 'rm -rf "$T"' EXIT

if make -s CUDA= EXP=$EXP NUM_BLOCKS=1 BASE_CHANNELS=8 >"$T/make.log" 2>&1 && [ -x "$BIN" ]; then
    ok "make EXP=$EXP NUM_BLOCKS=1 BASE_CHANNELS=8 builds $BIN"
else
    sed 's/^/# /' "$T/make.log" | tail -n 20
    notok "make EXP=$EXP NUM_BLOCKS=1 BASE_CHANNELS=8 builds $BIN"
    exit 1
fi

desc_value() {  # desc_value FIELD: an integer field of the generated desc
    sed -n "s/^ *\.$1 = \([0-9-]*\),.*/\1/p" "$DESC"
}

# ---- training: two identical runs at the same time, one results file ----
TRAIN_ARGS="--subset 1024 --val-subset 512 --epochs 2 --batch-size 32 --lr 0.003 --seed 7
 --threads 1 --quiet --results $T/results.csv --notes smoke,test"
# shellcheck disable=SC2086  # word splitting of the argument list is intended
"$BIN" train $TRAIN_ARGS --output-dir "$T/a" >"$T/a.out" 2>"$T/a.err" &
pid_a=$!
# shellcheck disable=SC2086
"$BIN" train $TRAIN_ARGS --output-dir "$T/b" --no-bench >"$T/b.out" 2>"$T/b.err" &
pid_b=$!
rc_a=0 rc_b=0
wait $pid_a || rc_a=$?
wait $pid_b || rc_b=$?
if [ $rc_a -eq 0 ] && [ $rc_b -eq 0 ]; then
    ok "train: two concurrent runs on a Fashion-MNIST subset succeed"
else
    sed 's/^/# /' "$T/a.err" "$T/b.err"
    notok "train: two concurrent runs on a Fashion-MNIST subset succeed (rc $rc_a, $rc_b)"
fi

check "train: metrics.csv has a header and one row per epoch" \
    $PY -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
assert rows[0] == ["epoch","train_loss","train_acc","val_loss","val_acc","lr","seconds"], rows[0]
assert [r[0] for r in rows[1:]] == ["1", "2"], rows
' "$T/a/metrics.csv"

check "train: training loss falls from epoch 1 to epoch 2" \
    $PY -c '
import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))
assert float(r[1]["train_loss"]) < float(r[0]["train_loss"]), r
' "$T/a/metrics.csv"

check "train: best validation accuracy is well above chance (> 40%)" \
    $PY -c '
import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))
best = min(r, key=lambda x: float(x["val_loss"]))
assert float(best["val_acc"]) > 0.40, best
' "$T/a/metrics.csv"

cut -d, -f1-6 "$T/a/metrics.csv" >"$T/a.metrics"
cut -d, -f1-6 "$T/b/metrics.csv" >"$T/b.metrics"
check "train: same seed and --threads 1 give identical metrics.csv (but seconds)" \
    cmp -s "$T/a.metrics" "$T/b.metrics"

check "train: best.safetensors is written, no temporary files left" \
    sh -c '[ -s "$1/a/best.safetensors" ] && [ -z "$(ls "$1"/a "$1"/b | grep "\.tmp\.")" ]' \
    sh "$T"

params_train=$(desc_value params_train)
params_deploy=$(desc_value params_deploy)
macs_deploy=$(desc_value macs_deploy)
check "train: results CSV starts with BlockZoo's 23 columns, then ours" \
    $PY -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
want = ("timestamp,block,dataset,position,epochs,batch_size,lr,val_loss,val_acc,"
        "training_time,params_total,params_trainable,flops,memory_mb,latency_ms,latency_std,"
        "throughput,device,num_blocks,base_channels,out_dim,experiment_name,notes").split(",")
assert rows[0][:23] == want, rows[0]
assert rows[0][23:] == ["seed","threads","backend","best_epoch","checkpoint","peak_rss_mb",
                       "subset","val_subset","commit","spec_hash","cpu_model","gemm","status","stopped_by"], rows[0]
' "$T/results.csv"

check "train: concurrent appends give 2 intact rows with the right values" \
    $PY -c '
import csv, sys
path, ptrain, pdeploy, macs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = list(csv.DictReader(open(path)))
assert len(rows) == 2, rows
for r in rows:
    assert None not in r and len(r) == 37 and r["status"] == "ok", r
    assert r["subset"] == sys.argv[5] and r["val_subset"] == sys.argv[6], r
    assert len(r["spec_hash"]) == 16 and int(r["spec_hash"], 16) >= 0, r
    assert r["commit"] and r["cpu_model"] and "OpenBLAS" in r["gemm"], r
    assert r["block"] and r["dataset"] == "fashion_mnist" and r["position"] == "mid", r
    assert r["epochs"] == "2" and r["batch_size"] == "32" and r["device"] == "cpu", r
    assert 0.40 < float(r["val_acc"]) <= 1.0, r
    assert r["params_total"] == pdeploy and r["params_trainable"] == ptrain, r
    assert int(r["flops"]) == 2 * macs, r
    assert r["num_blocks"] == "1" and r["base_channels"] == "8" and r["out_dim"] == "10", r
    assert r["notes"] == "smoke,test" and r["seed"] == "7" and r["threads"] == "1", r
    assert float(r["memory_mb"]) > 0 and float(r["training_time"]) > 0, r
assert sorted(r["val_acc"] for r in rows)[0] == sorted(r["val_acc"] for r in rows)[1]
bench = [r for r in rows if r["checkpoint"].endswith("/a/best.safetensors")][0]
nobench = [r for r in rows if r["checkpoint"].endswith("/b/best.safetensors")][0]
assert float(bench["latency_ms"]) > 0 and float(bench["throughput"]) > 0, bench
assert nobench["latency_ms"] == nobench["latency_std"] == nobench["throughput"] == "", nobench
' "$T/results.csv" "$params_train" "$params_deploy" "$macs_deploy" 1024 512

# ---- errors: one line on stderr, non-zero exit, nothing written --------
one_line_error() {  # one_line_error NAME COMMAND...
    name=$1
    shift
    if "$@" >"$T/err.out" 2>"$T/err.txt"; then
        notok "$name: exit status 0"
    elif [ "$(wc -l <"$T/err.txt")" -ne 1 ]; then
        sed 's/^/# /' "$T/err.txt"
        notok "$name: stderr is not exactly one line"
    else
        ok "$name ($(cat "$T/err.txt"))"
    fi
}

one_line_error "train --data MISSING_DIR fails with a one-line error" \
    "$BIN" train --data "$T/no-such-dir" --epochs 1 --output-dir "$T/e1" --results "$T/e1.csv"

mkdir -p "$T/cifar"
$PY -c '
import sys
d = sys.argv[1]
rec = lambda i: bytes([i % 10]) + bytes((i * 7 + k) % 256 for k in range(3072))
for name in ["data_batch_%d.bin" % k for k in range(1, 6)] + ["test_batch.bin"]:
    open("%s/%s" % (d, name), "wb").write(b"".join(rec(i) for i in range(8)))
' "$T/cifar"
check "train on CIFAR-10 files in the official format (crop+flip augmentation) completes" \
    sh -c '"$1" train --dataset cifar10 --data "$2/cifar" --epochs 1 --batch-size 16 \
        --output-dir "$2/c10" --results "$2/c10.csv" --no-bench --threads 1 >"$2/c10.log" 2>&1 &&
        grep -q "augment" "$2/c10.log" && [ -s "$2/c10/metrics.csv" ]' sh "$BIN" "$T"
mkdir -p "$T/cifar100"
$PY -c '
import sys
d = sys.argv[1]
rec = lambda i: bytes([i % 20, i % 100]) + bytes((i * 5 + k) % 256 for k in range(3072))
for name in ("train.bin", "test.bin"):
    open("%s/%s" % (d, name), "wb").write(b"".join(rec(i) for i in range(12)))
' "$T/cifar100"
one_line_error "train --subset larger than the training split fails with a one-line error" \
    "$BIN" train --dataset cifar10 --data "$T/cifar" --subset 41 --epochs 1 --output-dir "$T/e4" \
    --results "$T/e4.csv"
one_line_error "train --val-subset larger than the test split fails with a one-line error" \
    "$BIN" train --dataset cifar10 --data "$T/cifar" --val-subset 9 --epochs 1 --output-dir "$T/e5" \
    --results "$T/e5.csv"
one_line_error "train --dataset cifar100 refuses a 10-class model" \
    "$BIN" train --dataset cifar100 --data "$T/cifar100" --epochs 1 --output-dir "$T/e3" \
    --results "$T/e3.csv"
# cut short in the middle of a record
head -c 20000 "$T/cifar/data_batch_2.bin" >"$T/cifar/short" && mv "$T/cifar/short" "$T/cifar/data_batch_2.bin"
one_line_error "train --dataset cifar10 with a truncated file fails with a one-line error" \
    "$BIN" train --dataset cifar10 --data "$T/cifar" --epochs 1 --output-dir "$T/e2" \
    --results "$T/e2.csv"
check "train: failed runs leave no results or checkpoint behind" \
    sh -c '[ ! -e "$1/e1.csv" ] && [ ! -e "$1/e2.csv" ] && [ ! -e "$1/e1" ] && [ ! -e "$1/e2" ]' \
    sh "$T"

one_line_error "train --unknown-option fails with a one-line error" "$BIN" train --frobnicate
one_line_error "train --epochs without a value fails with a one-line error" "$BIN" train --epochs
one_line_error "train --batch-size 0 fails with a one-line error" "$BIN" train --batch-size 0
one_line_error "bench --unknown-option fails with a one-line error" "$BIN" bench --frobnicate
one_line_error "profile --unknown-option fails with a one-line error" "$BIN" profile --frobnicate

for cmd in train bench profile; do
    check "$cmd --help exits 0 and prints usage" \
        sh -c '"$1" "$2" --help | grep -q "^usage: .* $2 "' sh "$BIN" $cmd
done

# ---- profile and bench ----------------------------------------------------
if "$BIN" profile --json --layers --batch-size 32 >"$T/profile.json" 2>"$T/profile.err"; then
    check "profile --json parses and its params, FLOPs and layers match the desc" \
        $PY -c '
import json, sys
p = json.load(open(sys.argv[1]))
ptrain, pdeploy, macs, nb = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
assert p["params"]["train"] == ptrain and p["params"]["trainable"] == ptrain, p["params"]
assert p["params"]["deploy"] == pdeploy, p["params"]
assert p["macs"] == macs and p["flops"] == 2 * macs, (p["macs"], p["flops"])
assert "MAC" in p["flop_convention"] and "BatchNorm" in p["flop_convention"]
assert sum(l["params"] for l in p["layers"] if l["graph"] != "deploy") == ptrain
m = p["memory_bytes"]
assert m["total_train"] == sum(m[k] for k in ("params", "grads", "adam", "bn_buffers",
                               "activations_train", "workspace")), m
assert m["total_eval"] == sum(m[k] for k in ("params", "bn_buffers", "deploy_params",
                              "activations_eval", "workspace")), m
assert p["measured"]["peak_rss_bytes"] > 0
' "$T/profile.json" "$params_train" "$params_deploy" "$macs_deploy" 1
else
    sed 's/^/# /' "$T/profile.err"
    notok "profile --json parses and its params, FLOPs and layers match the desc"
fi

if "$BIN" bench --benchmark-runs 3 --warmup-runs 1 --threads 1 >"$T/bench.out" 2>"$T/bench.err" &&
    grep -q "mean ms" "$T/bench.out" &&
    grep -Eq '^ +1 +[0-9]+\.[0-9]+ ' "$T/bench.out"; then
    ok "bench --benchmark-runs 3 prints latency"
else
    sed 's/^/# /' "$T/bench.out" "$T/bench.err"
    notok "bench --benchmark-runs 3 prints latency"
fi

check "bench --json --multi-batch 1,2 parses with one result per batch size" \
    sh -c '"$1" bench --json --multi-batch 1,2 --benchmark-runs 2 --warmup-runs 0 \
        --threads 1 --no-train | "$2" -c "
import json, sys
b = json.load(sys.stdin)
assert [r[\"batch_size\"] for r in b[\"results\"]] == [1, 2]
assert all(r[\"latency_ms\"][\"mean\"] > 0 and r[\"throughput\"] > 0 for r in b[\"results\"])
"' sh "$BIN" "$PY"

# A training step's FLOPs: forward, then input and weight gradients of
# each layer (2 x its forward), the first layer's weight gradient only
# (the image needs no gradient).
check "bench --json counts 2 x (3 x train MACs - first layer MACs) FLOPs per training image" \
    sh -c '"$1" bench --json --benchmark-runs 1 --warmup-runs 0 --train-runs 1 --threads 1 |
        "$2" -c "
import json, sys
b, p = json.load(sys.stdin), json.load(open(sys.argv[1]))
first = p[\"layers\"][0][\"macs\"]
assert first > 0 and p[\"layers\"][0][\"name\"] == \"stem.0\", p[\"layers\"][0]
assert b[\"train_flops_per_image\"] == 2 * (3 * p[\"macs_train\"] - first), b
" "$3"' sh "$BIN" "$PY" "$T/profile.json"

# bench --layers: one row per deploy step and per training layer, and the
# per-layer times add up to (at most) the whole run's.
if "$BIN" bench --batch-size 2 --benchmark-runs 3 --warmup-runs 1 --train-runs 1 --threads 1 \
        --layers --trace "$T/trace.json" >"$T/layers.out" 2>"$T/layers.err"; then
    check "bench --layers prints an inference and a training table covering every layer" \
        "$PY" -c '
import re, sys
text = open(sys.argv[1]).read()
inf = text.split("per layer, inference")[1].split("per layer, training")[0]
train = text.split("per layer, training step")[1]
rows = lambda part: [l for l in part.splitlines()[2:] if l and not l.startswith("total")]
assert len(rows(inf)) >= 10 and len(rows(train)) >= 10, (len(rows(inf)), len(rows(train)))
assert all(len(l.split()) >= 8 for l in rows(train))
assert any(l.split()[1] == "(recomputed)" for l in rows(train)), train
mean = float(re.search(r"^ +2 +([0-9.]+) ", text, re.M).group(1))
total = float(re.search(r"^total \(layers\)\s+\d+\s+([0-9.]+)", inf, re.M).group(1))
assert 0 < total <= mean * 1.05, (total, mean)
' "$T/layers.out"
    check "bench --trace writes a Chrome trace: one slice per layer call, regions for the step" \
        "$PY" -c '
import json, sys
t = json.load(open(sys.argv[1]))
ev = [e for e in t["traceEvents"] if e["ph"] == "X"]
names = {e["name"] for e in ev}
assert {"inference", "training step", "Adam", "cross-entropy"} <= names, names
cats = {e["cat"] for e in ev}
assert {"forward (deploy)", "forward (train)", "backward", "recompute (backward)"} <= cats, cats
assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in ev)
step = [e for e in ev if e["name"] == "training step"][0]
inner = [e for e in ev if e["tid"] == step["tid"] and e is not step]
assert all(step["ts"] <= e["ts"] and e["ts"] + e["dur"] <= step["ts"] + step["dur"] + 1 for e in inner)
' "$T/trace.json"
else
    sed 's/^/# /' "$T/layers.out" "$T/layers.err" | tail -5
    notok "bench --layers --trace runs"
fi
check_fails() {  # message, then the command, which must fail with one line
    what=$1; shift
    if "$@" >"$T/fail.out" 2>"$T/fail.err"; then
        notok "$what (it succeeded)"
    elif [ "$(wc -l <"$T/fail.err")" -eq 1 ]; then
        ok "$what"
    else
        notok "$what: $(tr '\n' '|' <"$T/fail.err")"
    fi
}
# OPENBLAS_CORETYPE=Haswell must not hold an AVX-512 CPU to the AVX2 kernels
# silently: dropped (the binary re-executes itself), or kept on request and
# reported.
kernels() {
    "$BIN" bench --json --benchmark-runs 1 --warmup-runs 0 --no-train --threads 1 |
        "$PY" -c 'import json, sys; print(json.load(sys.stdin)["gemm_kernels"])'
}
if grep -qw avx512f /proc/cpuinfo; then
    k=$(OPENBLAS_CORETYPE=Haswell kernels)
    case $k in
        *Haswell\ kernels*) notok "OPENBLAS_CORETYPE=Haswell is dropped on an AVX-512 CPU: $k" ;;
        *"OPENBLAS_CORETYPE=Haswell from the environment dropped"*) ok "OPENBLAS_CORETYPE=Haswell is dropped on an AVX-512 CPU and reported" ;;
        *) notok "OPENBLAS_CORETYPE=Haswell dropped but not reported: $k" ;;
    esac
    k=$(OPENBLAS_CORETYPE=Haswell BZ_KEEP_OPENBLAS_CORETYPE=1 kernels)
    case $k in
        *"Haswell kernels (forced by OPENBLAS_CORETYPE=Haswell"*) ok "BZ_KEEP_OPENBLAS_CORETYPE=1 keeps the forced kernels and says so" ;;
        *) notok "BZ_KEEP_OPENBLAS_CORETYPE=1: $k" ;;
    esac
else
    ok "OPENBLAS_CORETYPE handling # SKIP this CPU has no AVX-512"
fi
check_fails "bench --no-train --no-inference is refused" "$BIN" bench --no-train --no-inference
check "bench --layers --json: per-layer rows whose times add up to (at most) the run's" \
    sh -c '"$1" bench --json --layers --batch-size 2 --benchmark-runs 3 --warmup-runs 1 \
        --train-runs 1 --threads 1 | "$2" -c "
import json, sys
r = json.load(sys.stdin)[\"results\"][0]
inf, train = r[\"layers\"][\"inference\"], r[\"layers\"][\"training\"]
assert len(inf) >= 10 and len(train) >= 10, (len(inf), len(train))
assert 0 < sum(l[\"ms\"] for l in inf) <= r[\"latency_ms\"][\"mean\"] * 1.05, r
assert all(l[\"forward_ms\"] > 0 and l[\"backward_ms\"] >= 0 for l in train)
convs = [l for l in train if l[\"op\"] == \"Conv2d\"]
assert convs[0][\"name\"] == \"stem.0\" and convs[0][\"backward_macs\"] == convs[0][\"macs\"]
assert all(l[\"backward_macs\"] == 2 * l[\"macs\"] for l in convs[1:])
assert all(l[\"kernel\"].startswith(\"conv2d_\") for l in convs)
"' sh "$BIN" "$PY"
# A recomputed tensor's call (gen/recompute.c) is a step of its own: its
# layer's row has recompute_ms, and the rows add up to at most the step.
check "bench --layers --json: recomputes timed apart from the backward they precede" \
    sh -c '"$1" bench --json --layers --batch-size 2 --no-inference --train-runs 2 \
        --threads 1 | "$2" -c "
import json, sys
r = json.load(sys.stdin)[\"results\"][0]
train = r[\"layers\"][\"training\"]
rec = [l for l in train if \"recompute_ms\" in l]
assert rec and all(l[\"recompute_ms\"] > 0 for l in rec), rec
assert all(l[\"recompute_gflops\"] > 0 for l in rec if l[\"macs\"] > 0), rec
total = sum(l[\"forward_ms\"] + l[\"backward_ms\"] + l.get(\"recompute_ms\", 0) for l in train)
assert total <= r[\"train_step_ms\"] * 1.05, (total, r[\"train_step_ms\"])
"' sh "$BIN" "$PY"
check_fails "bench --trace into a missing directory fails cleanly" \
    "$BIN" bench --benchmark-runs 1 --warmup-runs 0 --train-runs 1 --trace "$T/no/such/dir/t.json"

# bench --output and profile --output (BlockZoo's flags): CSV rows that a
# report can collect; a file of another kind is refused before measuring
"$BIN" bench --multi-batch 1,2 --benchmark-runs 2 --warmup-runs 0 --train-runs 1 --threads 1 \
    --output "$T/bench.csv" >/dev/null 2>"$T/bench.err"
"$BIN" profile --batch-size 4 --output "$T/profile.csv" >/dev/null 2>"$T/profile.err"
check "bench --output: a row per batch size with latency, throughput and training step" $PY -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["batch_size"] for r in rows] == ["1", "2"], rows
for r in rows:
    assert r["block"] == "ResNetBasicBlock" and r["position"] == "mid" and r["threads"] == "1", r
    assert float(r["latency_ms"]) > 0 and float(r["throughput"]) > 0 and float(r["train_step_ms"]) > 0, r
    assert r["params_total"] == sys.argv[2] and r["benchmark_runs"] == "2", r
' "$T/bench.csv" "$params_deploy"
check "profile --output: one row with parameters, FLOPs, the memory plan and peak RSS" $PY -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 1, rows
r = rows[0]
assert r["params_total"] == sys.argv[2] and r["params_trainable"] == sys.argv[3], r
assert int(r["flops"]) == 2 * int(sys.argv[4]) and r["batch_size"] == "4", r
assert float(r["memory_mb"]) > float(r["memory_eval_mb"]) > 0 and float(r["peak_rss_mb"]) > 0, r
' "$T/profile.csv" "$params_deploy" "$params_train" "$macs_deploy"
cp "$T/profile.csv" "$T/profile.before"
check_fails "bench --output onto a profile CSV is refused before measuring" \
    "$BIN" bench --benchmark-runs 1 --warmup-runs 0 --output "$T/profile.csv"
check "... and the profile CSV is unchanged" cmp -s "$T/profile.csv" "$T/profile.before"

# Outputs that collide are refused before the first step, nothing written.
mkdir -p "$T/out7"
touch "$T/out7/file"
printf 'a,b\n1,2\n' >"$T/out7/other.csv"
SHORT="--epochs 1 --subset 64 --val-subset 32 --batch-size 32 --threads 1 --quiet --no-bench"
# shellcheck disable=SC2086
for case in "x:x/metrics.csv" "x:x/../x/best.safetensors" "x:./x/./metrics.csv" "x:." \
            "x:x/best.safetensors/r.csv" \
            "file:r.csv" "file/sub:r.csv" "x:other.csv"; do
    dir=${case%%:*} res=${case#*:}
    check_fails "train --output-dir $dir --results $res is refused before training" \
        sh -c 'cd "$1" && shift && exec "$@"' sh "$T/out7" "$PWD/$BIN" train $SHORT --output-dir "$dir" --results "$res"
done
check "... and none of them wrote anything" sh -c '[ "$(ls "$1")" = "$(printf "file\nother.csv")" ] &&
    [ "$(cat "$1/other.csv")" = "$(printf "a,b\n1,2")" ]' sh "$T/out7"

# Divergence (--lr 1000: the loss explodes in the first epoch): exit status
# 3, one line saying why, a row marked diverged with no best epoch.
# shellcheck disable=SC2086
"$BIN" train $SHORT --lr 1000 --output-dir "$T/div" --results "$T/div.csv" >/dev/null 2>"$T/div.err"
rc=$?
check "train --lr 1000 diverges: exit status 3 and one line naming it ($(cat "$T/div.err"))" \
    sh -c '[ "$1" -eq 3 ] && [ "$(wc -l <"$2")" -eq 1 ] && grep -q "training diverged: the mean training loss is" "$2"' \
    sh $rc "$T/div.err"
check "... its row has status diverged, no validation numbers, no checkpoint; other rows say ok" $PY -c '
import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))
assert len(r) == 1 and r[0]["status"] == "diverged", r
assert r[0]["val_loss"] == r[0]["val_acc"] == r[0]["checkpoint"] == "", r
assert all(x["status"] == "ok" for x in csv.DictReader(open(sys.argv[2]))), "ok rows"
' "$T/div.csv" "$T/results.csv"

# Stoppers and --weights: --target-acc ends at the first epoch that reaches
# it, --early-stop-patience after N epochs without a better validation loss
# (a high lr makes that happen); the row names the stopper.  A run from the
# first run's weights starts where it ended.
STOP="--subset 512 --val-subset 256 --batch-size 32 --threads 1 --quiet --no-bench"
# shellcheck disable=SC2086
"$BIN" train $STOP --epochs 6 --target-acc 0.3 --output-dir "$T/st1" --results "$T/stop.csv" >/dev/null 2>&1
# shellcheck disable=SC2086
"$BIN" train $STOP --epochs 8 --lr 0.05 --early-stop-patience 1 --output-dir "$T/st2" \
    --results "$T/stop.csv" >/dev/null 2>&1
# shellcheck disable=SC2086
"$BIN" train $STOP --epochs 1 --weights "$T/st1/best.safetensors" --output-dir "$T/st3" \
    --results "$T/stop.csv" >/dev/null 2>&1
check "stoppers: --target-acc and --early-stop-patience end the run early and say which; --weights resumes learning" $PY -c '
import csv, sys
t = sys.argv[1]
r = list(csv.DictReader(open(t + "/stop.csv")))
assert [x["status"] for x in r] == ["stopped_early", "stopped_early", "ok"], r
assert [x["stopped_by"] for x in r] == ["target_acc", "early_stop_patience", ""], r
m1 = list(csv.DictReader(open(t + "/st1/metrics.csv")))
assert float(m1[-1]["val_acc"]) >= 0.3 and all(float(m["val_acc"]) < 0.3 for m in m1[:-1]), m1
assert len(m1) < 6
m2 = list(csv.DictReader(open(t + "/st2/metrics.csv")))
best = min(range(len(m2)), key=lambda i: float(m2[i]["val_loss"]))
assert len(m2) == best + 2 and len(m2) < 8, m2
m3 = list(csv.DictReader(open(t + "/st3/metrics.csv")))
assert float(m3[0]["train_loss"]) < float(m1[0]["train_loss"]) - 0.1, (m1[0], m3[0])
' "$T"
# shellcheck disable=SC2086
check_fails "train --weights of a missing file fails in one line" \
    "$BIN" train $STOP --epochs 1 --weights "$T/none.safetensors" --output-dir "$T/st4" --results "$T/stop.csv"
check_fails "train --target-acc 80 (a percentage) is refused" "$BIN" train --target-acc 80

[ $failures -eq 0 ]
