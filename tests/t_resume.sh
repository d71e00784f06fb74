#!/bin/sh
# train --resume: a run stopped by SIGKILL (mid-epoch, between epochs,
# during the write of its state) or by SIGTERM, then resumed, ends with the
# same best checkpoint, metrics (timing aside) and results row (timing
# columns aside) as a run that never stopped; resuming with other settings
# is refused with the reason.  Prints TAP-style lines.
# shellcheck disable=SC2016  # the sh -c snippets expand their own $1, $2
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh

VAR=resnet_basic_block_mid-nb1-bc8
BIN=$PWD/build/$VAR/$VAR
PY=/usr/bin/python3
mkdir -p build/tests
T=$(mktemp -d "$PWD/build/tests/t_resume.XXXXXX")
trap 'rm -rf "$T"' EXIT
if ! make -s CUDA= EXP=resnet_basic_block_mid NUM_BLOCKS=1 BASE_CHANNELS=8 >"$T/make.log" 2>&1; then
    sed 's/^/# /' "$T/make.log" | tail; notok "make $VAR"; exit 1
fi

# 3 epochs of 64 batches: long enough to be stopped inside an epoch
ARGS="--epochs 3 --subset 2048 --val-subset 256 --batch-size 32 --threads 1 --seed 5 --no-bench"
train() {  # train DIR [more options]: one run into $T/DIR, its row in $T/DIR.csv
    dir=$1
    shift
    # shellcheck disable=SC2086
    "$BIN" train $ARGS --output-dir "$T/$dir" --results "$T/$dir.csv" "$@" >>"$T/$dir.log" 2>&1
}
start() {  # start DIR: train DIR in the background; $pid is the binary's own
    # shellcheck disable=SC2086
    (exec "$BIN" train $ARGS --output-dir "$T/$1" --results "$T/$1.csv" >>"$T/$1.log" 2>&1) &
    pid=$!
}
# same_as_reference DIR: best checkpoint, metrics and the last row equal the reference's
same_as_reference() {
    cmp -s "$T/ref/best.safetensors" "$T/$1/best.safetensors" &&
    [ "$(cut -d, -f1-6 "$T/ref/metrics.csv")" = "$(cut -d, -f1-6 "$T/$1/metrics.csv")" ] &&
    $PY - "$T/ref.csv" "$T/$1.csv" <<'EOF'
import csv, sys
a = list(csv.DictReader(open(sys.argv[1])))[-1]
b = list(csv.DictReader(open(sys.argv[2])))[-1]
timing = {"timestamp", "training_time", "peak_rss_mb", "checkpoint"}
diff = {k: (a[k], b[k]) for k in a if k not in timing and a[k] != b[k]}
assert not diff and b["status"] == "ok", diff
EOF
}
# wait_for DIR ROWS: until DIR's metrics.csv has ROWS epochs (60 s at most)
wait_for() {
    i=0
    while [ "$(($(cat "$T/$1/metrics.csv" 2>/dev/null | wc -l) - 1))" -lt "$2" ] && [ $i -lt 600 ]; do
        sleep 0.1; i=$((i + 1))
    done
}

train ref
check "the reference run trains 3 epochs" sh -c '[ "$(wc -l <"$1/ref/metrics.csv")" -eq 4 ]' sh "$T"

# SIGKILL inside epoch 2, resumed from the state of epoch 1
start kill_mid
wait_for kill_mid 1; sleep 0.3; kill -9 $pid; wait $pid 2>/dev/null
check "SIGKILL inside epoch 2 leaves epoch 1's state" test -s "$T/kill_mid/last_state.safetensors"
train kill_mid --resume
check "... resumed: the same checkpoint, metrics and row as a run never stopped" same_as_reference kill_mid

# SIGKILL as epoch 1 ends (its metrics written, its state being written or just written)
start kill_edge
wait_for kill_edge 1; kill -9 $pid; wait $pid 2>/dev/null
if [ -s "$T/kill_edge/last_state.safetensors" ]; then
    train kill_edge --resume
else
    train kill_edge    # killed before any state: a fresh start is the resume
fi
check "SIGKILL between epochs, resumed: the same results" same_as_reference kill_edge

# SIGKILL in the middle of writing the state after epoch 2 (temporary file
# complete, not yet renamed): epoch 1's state is intact
BZ_TEST_KILL_BEFORE_RENAME=last_state.safetensors:2 train kill_write
check "SIGKILL while the state of epoch 2 is written keeps epoch 1's" \
    sh -c 'ls "$1"/last_state.safetensors.tmp.* >/dev/null 2>&1 && [ "$(wc -l <"$1/metrics.csv")" -eq 3 ]' \
    sh "$T/kill_write"
train kill_write --resume
check "... resumed: the same results" same_as_reference kill_write
check "... and the half-written temporary file of the killed run is gone" \
    sh -c '! ls "$1"/*.tmp.* >/dev/null 2>&1' sh "$T/kill_write"

# SIGTERM (Slurm's time limit): stops at the next batch boundary, exit 75,
# a row marked interrupted; then --resume
start term
wait_for term 1; sleep 0.2; kill -TERM $pid; wait $pid
rc=$?
check "SIGTERM: exit status 75, the row says interrupted, one line says how to continue" sh -c '
    [ "$2" -eq 75 ] && grep -q "interrupted" "$1/term.csv" && grep -q "with --resume continues it" "$1/term.log"' \
    sh "$T" $rc
train term --resume
check "... resumed inside the epoch: the same results" same_as_reference term
check "... the resumed run said where it started" grep -q "resuming from .*: 1 epochs done, and part of the next" "$T/term.log"

# refusals: other settings, no state, --weights with --resume
refused() {  # refused NAME EXPECTED -- TRAIN-OPTIONS: one line naming the reason
    name=$1 want=$2
    shift 3
    # shellcheck disable=SC2086
    if "$BIN" train $ARGS "$@" >/dev/null 2>"$T/err"; then
        notok "$name: accepted"
    elif [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "$want" "$T/err"; then
        ok "$name: $(cat "$T/err")"
    else
        notok "$name: $(cat "$T/err")"
    fi
}
refused "resume with another lr" "other options" -- --output-dir "$T/term" --results "$T/x.csv" --resume --lr 0.002
refused "resume on other data" "other data" -- --output-dir "$T/term" --results "$T/x.csv" --resume --subset 1024
refused "resume without a state" "no training state in" -- --output-dir "$T/empty" --results "$T/x.csv" --resume
refused "resume with --weights" "does not take --weights" -- --output-dir "$T/term" --results "$T/x.csv" --resume \
    --weights "$T/ref/best.safetensors"

# damaged states: refused in one line, never a crash
mkdir -p "$T/damaged"
cp "$T/ref/last_state.safetensors" "$T/damaged/last_state.safetensors"
$PY - "$T/damaged/last_state.safetensors" <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
del header["__adam_v"]
h = json.dumps(header).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + raw[8 + n:])
EOF
refused "resume from a state without Adam's second moments" "^[^ ]*: --resume: .*damaged/last_state" -- \
    --output-dir "$T/damaged" --results "$T/x.csv" --resume
head -c 3000 "$T/ref/last_state.safetensors" >"$T/damaged/last_state.safetensors"
refused "resume from a truncated state" "^[^ ]*: --resume: " -- \
    --output-dir "$T/damaged" --results "$T/x.csv" --resume

# a run that stopped early stays stopped when resumed (a kill during its
# final benchmark would otherwise train on)
train early --target-acc 0.01 --epochs 3
train early --target-acc 0.01 --epochs 3 --resume
check "a run stopped by --target-acc, resumed, trains no further: 1 epoch, two stopped rows" sh -c '
    [ "$(wc -l <"$1/early/metrics.csv")" -eq 2 ] && [ "$(grep -c stopped_early "$1/early.csv")" -eq 2 ]' sh "$T"
finish t_resume
