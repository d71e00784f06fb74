#!/bin/sh
# Sweeps (build/bzsweep): a local sweep of 2 experiments x 2 seeds on a tiny
# variant and a few hundred images; its rows, run directories and logs;
# kill -9 and Ctrl-C in the middle, then the same command again: no row
# duplicated or lost, finished runs untouched; failed and killed runs
# recorded without stopping the others; bad sweep files rejected before
# anything runs.  Prints TAP-style "ok - ..." / "not ok - ..." lines.
# shellcheck disable=SC2016  # the sh -c snippets expand their own $1, $2
set -u
cd "$(dirname "$0")/.." || exit 1

PY=/usr/bin/python3
. tests/tap.sh

mkdir -p build/tests
T=$(mktemp -d "$PWD/build/tests/t_sweep.XXXXXX")
trap 'rm -rf "$T"' EXIT
SW=build/bzsweep
EXPS="resnet_basic_block_mid inverted_residual_early"

if make -s CUDA= $SW >"$T/make.log" 2>&1; then
    ok "make builds $SW"
else
    sed 's/^/# /' "$T/make.log" | tail -n 20
    notok "make builds $SW"
    exit 1
fi

# tiny NAME EPOCHS [more YAML, default jobs: 2]: a sweep file of the two experiments
tiny() {
    cat >"$T/$1.yaml" <<EOF
experiments: [resnet_basic_block_mid, "inverted_residual_e*"]
seeds: [0, 1]
variant: {num_blocks: 1, base_channels: 8}
train: {epochs: $2, batch_size: 32, subset: 256, val_subset: 128}
${3:-jobs: 2}
EOF
}
run_sweep() {  # run_sweep NAME [options]: bzsweep run, output in $T/NAME.out
    name=$1
    shift
    $SW run "$T/$name.yaml" --out "$T/sweeps" --make CUDA= "$@" >"$T/$name.out" 2>&1
}
# mtimes NAME: every file of the sweep's finished runs with its mtime
mtimes() {
    for state in "$T/sweeps/$1"/*/seed*/state; do
        [ -f "$state" ] && grep -qx ok "$state" && find "$(dirname "$state")" -type f -printf '%p %T@\n'
    done | sort
}
rows_ok() {  # rows_ok CSV N: N rows, one per (experiment, seed), none twice
    $PY - "$1" "$2" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
keys = [(r["experiment_name"], r["seed"]) for r in rows]
assert len(rows) == int(sys.argv[2]) and len(set(keys)) == len(keys), keys
assert all(r["val_acc"] and r["block"] and r["position"] for r in rows), rows
EOF
}

# ---- a whole sweep ----------------------------------------------------
tiny ok 1
if run_sweep ok; then ok "sweep: 2 experiments x 2 seeds run (exit 0)"; else
    sed 's/^/# /' "$T/ok.out" | tail -n 20; notok "sweep: 2 experiments x 2 seeds run (exit 0)"; fi
check "sweep: results.csv has 4 rows, one per experiment and seed" rows_ok "$T/sweeps/ok/results.csv" 4
check "sweep: each run has its directory: checkpoint, metrics, log, command, state" sh -c '
    for e in resnet_basic_block_mid inverted_residual_early; do for k in 0 1; do
        d=$1/sweeps/ok/$e/seed$k
        [ -s "$d/best.safetensors" ] && [ -s "$d/metrics.csv" ] && grep -q "^trained 1 epochs" "$d/log.txt" &&
        grep -q -- "--seed $k " "$d/cmd" && grep -qx ok "$d/state" || exit 1
    done; done' sh "$T"
check "sweep: rows point at their own run's checkpoint, one thread each (2 jobs on <= 2 cores)" $PY -c '
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    exp = r["experiment_name"].split("-")[0]
    assert r["checkpoint"].endswith("/%s/seed%s/best.safetensors" % (exp, r["seed"])), r
    assert r["subset"] == "256" and r["val_subset"] == "128" and r["epochs"] == "1", r
' "$T/sweeps/ok/results.csv"
check "sweep: plain progress lines when stdout is not a terminal (started, ok, counts)" sh -c '
    grep -q "^started resnet_basic_block_mid/seed0" "$1" && grep -q "^ok  *inverted_residual_early/seed1" "$1" &&
    grep -q "4 of 4 runs finished" "$1" && ! grep -q "$(printf "\r")" "$1"' sh "$T/ok.out"
$SW status "$T/ok.yaml" --out "$T/sweeps" >"$T/status.out" 2>&1
check "sweep-status: 4 runs ok, with accuracy" sh -c '
    [ "$(grep -c " ok  " "$1")" -eq 4 ] && grep -q "4 runs: 4 ok, 0 failed" "$1"' sh "$T/status.out"

mtimes ok >"$T/before"
run_sweep ok
check "sweep again: nothing redone, every file of the finished runs untouched" sh -c '
    grep -q "4 finished before, 0 to run" "$1/ok.out" && [ -s "$1/before" ] && cmp -s "$1/before" "$2"' \
    sh "$T" "$(mtimes ok >"$T/after"; echo "$T/after")"
check "sweep again: still 4 rows" rows_ok "$T/sweeps/ok/results.csv" 4
if run_sweep ok --epochs 2 --no-build; then notok "sweep with another recipe over finished runs is refused"; else
    check "sweep with another recipe over finished runs is refused, naming the run" \
        grep -q "finished with another command" "$T/ok.out"; fi

run_sweep ok --experiments resnet_basic_block_mid --seeds 2 --no-build
check "a sweep narrowed by --experiments/--seeds runs its own; results.csv keeps the others: 5 rows" \
    rows_ok "$T/sweeps/ok/results.csv" 5

# ---- the sweep's report, and BlockZoo's own analysis on its results ----
if $SW report --sweep "$T/ok.yaml" --out "$T/sweeps" >"$T/report.out" 2>&1; then
    ok "report --sweep: $(cat "$T/report.out")"
else
    sed 's/^/# /' "$T/report.out"; notok "report --sweep writes the sweep's report"
fi
check "the sweep's report has its tables and 6 plots, curves from the runs' metrics" sh -c '
    [ "$(grep -c "<svg" "$1/index.html")" -eq 6 ] && grep -q "^5 runs from 1 results file" "$1/report.md" && [ -s "$1/training_curves.png" ] &&
    grep -q "commit of the runs" "$1/report.md"' sh "$T/sweeps/ok/report"
if $PY -c 'import pandas' 2>/dev/null; then
    mkdir -p "$T/pandas/results"
    cp "$T/sweeps/ok/results.csv" "$T/pandas/results/results.csv"
    check "BlockZoo's pandas analysis snippets run unchanged on the sweep's results.csv, agree with the report" \
        sh -c 'cd "$1/pandas" && $2 "$3" "$1/sweeps/ok/report/report.json" >"$1/pandas.out" 2>&1' \
        sh "$T" "$PY" "$PWD/tests/blockzoo_analysis.py"
else
    echo "ok - BlockZoo's pandas snippets # SKIP python3-pandas is not installed"
fi

# ---- interrupted: kill -9, then SIGINT, each time the same command again
tiny kill 3 "jobs: 1"
wait_for_ok() {  # wait_for_ok NAME N: until N runs of the sweep are ok (60 s at most)
    i=0
    while [ "$(cat "$T/sweeps/$1"/*/seed*/state 2>/dev/null | grep -c '^ok$')" -lt "$2" ] && [ $i -lt 600 ]; do
        sleep 0.1; i=$((i + 1))
    done
}
$SW run "$T/kill.yaml" --out "$T/sweeps" --no-build >"$T/kill1.out" 2>&1 &
pid=$!
wait_for_ok kill 1
kill -9 $pid
wait $pid 2>/dev/null
sleep 0.5
check "kill -9: the sweep's runs die with it (none left writing)" \
    sh -c '! pgrep -f "$1/sweeps/kill/" >/dev/null' sh "$T"
mtimes kill >"$T/before"
n_before=$(grep -c . "$T/before")
$SW run "$T/kill.yaml" --out "$T/sweeps" --no-build >"$T/kill2.out" 2>&1 &
pid=$!
wait_for_ok kill 3
kill -INT $pid
wait $pid
rc=$?
check "Ctrl-C: the sweep stops (exit 130) and says how to continue" sh -c '
    [ "$2" -eq 130 ] && grep -q "run the same command again to continue" "$1"' sh "$T/kill2.out" $rc
if $SW run "$T/kill.yaml" --out "$T/sweeps" --no-build >"$T/kill3.out" 2>&1; then
    ok "after kill -9 and Ctrl-C the same command finishes the sweep"
else
    sed 's/^/# /' "$T/kill3.out" | tail -n 10
    notok "after kill -9 and Ctrl-C the same command finishes the sweep"
fi
check "interrupted sweep: 4 rows, none duplicated or lost" rows_ok "$T/sweeps/kill/results.csv" 4
check "interrupted sweep: the $n_before files of the runs finished before the kill are untouched" sh -c '
    [ "$2" -gt 0 ] && while read -r f t; do [ "$(find "$f" -printf %T@)" = "$t" ] || exit 1; done <"$1"' \
    sh "$T/before" "$n_before"

# ---- failures: a run killed, runs that exit non-zero -------------------
tiny fail 3 "jobs: 2"
$SW run "$T/fail.yaml" --out "$T/sweeps" --no-build >"$T/fail1.out" 2>&1 &
pid=$!
i=0
while ! pgrep -f "$T/sweeps/fail/inverted_residual_early/seed0" >/dev/null && [ $i -lt 600 ]; do
    sleep 0.1; i=$((i + 1))
done
pkill -9 -f "$T/sweeps/fail/inverted_residual_early/seed0"
wait $pid
rc=$?
check "a killed run fails alone: exit 1, the other 3 runs finished" sh -c '
    [ "$2" -eq 1 ] && rows=$(($(wc -l <"$1/sweeps/fail/results.csv") - 1)) && [ $rows -eq 3 ] &&
    grep -q "killed by signal 9" "$1/sweeps/fail/inverted_residual_early/seed0/state"' sh "$T" $rc
check "a killed run is named at the end with the path of its log" \
    grep -q "inverted_residual_early/seed0/log.txt" "$T/fail1.out"
run_sweep fail --no-build
check "the same command again redoes the failed run only: 4 rows" sh -c '
    grep -q "3 finished before, 1 to run" "$1" ' sh "$T/fail.out"
check "... and results.csv has 4 distinct rows" rows_ok "$T/sweeps/fail/results.csv" 4

# a run stopped by SIGTERM (Slurm's time limit) after an epoch: recorded as
# interrupted, then resumed by the next run of the sweep
tiny term 4 "jobs: 2"
$SW run "$T/term.yaml" --out "$T/sweeps" --no-build >"$T/term1.out" 2>&1 &
pid=$!
run_dir=$T/sweeps/term/inverted_residual_early/seed0
i=0
while [ "$(cat "$run_dir/metrics.csv" 2>/dev/null | wc -l)" -lt 2 ] && [ $i -lt 600 ]; do
    sleep 0.05; i=$((i + 1))
done
pkill -TERM -f "$run_dir/row.csv"
wait $pid
rc=$?
check "a run stopped by SIGTERM is recorded as interrupted (sweep exit 1)" sh -c '
    [ "$2" -eq 1 ] && grep -q "interrupted" "$1/state"' sh "$run_dir" $rc
$SW run "$T/term.yaml" --out "$T/sweeps" --no-build >"$T/term2.out" 2>&1
check "the next run of the sweep resumes it from its state: 4 rows" sh -c '
    grep -q "^resuming from .*epochs done" "$1/log.txt" && grep -qx ok "$1/state"' sh "$run_dir"
check "... and results.csv has 4 distinct rows" rows_ok "$T/sweeps/term/results.csv" 4

tiny bad_data 1 "jobs: 2
dataset: cifar10
data: $T/no-such-dir"
if run_sweep bad_data --no-build; then notok "runs that exit non-zero make the sweep exit non-zero"; else
    ok "runs that exit non-zero make the sweep exit non-zero"; fi
check "each failed run's state names the binary's error; the summary lists every log" sh -c '
    grep -q "exit status 1: .*no-such-dir" "$1/sweeps/bad_data/resnet_basic_block_mid/seed1/state" &&
    [ "$(grep -c "log: .*/log.txt" "$1/bad_data.out")" -eq 4 ] && grep -q "4 failed" "$1/bad_data.out"' sh "$T"
$SW status "$T/bad_data.yaml" --out "$T/sweeps" >"$T/status.out" 2>&1
check "sweep-status shows failed runs with their reason" \
    grep -q "4 runs: 0 ok, 4 failed" "$T/status.out"

# ---- bad input: one line with file:line:column, nothing run; the checks
# run bzsweep built with ASan/UBSan ----
SWA=$T/bzsweep_asan
gcc -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
    -o "$SWA" sweep/*.c gen/yaml_doc.c gen/diag.c -lyaml -lm -ljansson || notok "bzsweep builds with ASan/UBSan"
export ASAN_OPTIONS=detect_leaks=0
bad() {  # bad NAME EXPECTED-REGEX [bzsweep options]: YAML on stdin
    name=$1 want=$2
    shift 2
    cat >"$T/$name.yaml"
    if $SWA run "$T/$name.yaml" --out "$T/bad" --no-build "$@" >"$T/bad.out" 2>"$T/bad.err"; then
        notok "$name: accepted"
    elif [ "$(wc -l <"$T/bad.err")" -ne 1 ] || ! grep -Eq "$want" "$T/bad.err"; then
        sed 's/^/# /' "$T/bad.err"; notok "$name: error message"
    elif [ -e "$T/bad" ]; then
        notok "$name: something was written before the error"
    else
        ok "$name: $(cat "$T/bad.err")"
    fi
}
printf 'experiments: ["*"]\nepochs: 3\n' |
    bad unknown_key "unknown_key.yaml:2:1: error: unknown key 'epochs' in the sweep"
printf 'experiments: ["*"]\ntrain: {epoch: 3}\n' |
    bad unknown_train_key "unknown_train_key.yaml:2:9: error: unknown key 'epoch' in train"
printf 'experiments: [resnet_basic_block_mid, no_such_block_mid]\n' |
    bad unknown_experiment "unknown_experiment.yaml:1:14: error: experiments: 'no_such_block_mid' matches no experiment"
printf 'experiments: []\n' |
    bad empty_selection "empty_selection.yaml:1:14: error: experiments: empty list"
printf 'experiments: ["*"]\nseeds: [0, x]\n' |
    bad bad_seed "bad_seed.yaml:2:8: error: seeds: 'x' is not a seed"
printf 'experiments: ["*"]\ntrain: {lr: 1e9}\n' |
    bad lr_range "lr_range.yaml:2:13: error: lr must be a number in"
printf 'experiments: ["*"]\nrunner: pbs\n' |
    bad bad_runner "bad_runner.yaml:2:9: error: runner must be one of local\|slurm"
printf 'experiments: ["*"]\n' |
    bad empty_override "bzsweep: --experiments: error: experiments: the selection is empty" --experiments " "
printf 'experiments: ["*"]\n' |
    bad bad_override "bzsweep: --epochs: error: epochs must be an integer" --epochs two
printf 'experiments: [a\n' |
    bad yaml_syntax "yaml_syntax.yaml:[0-9]+:[0-9]+: error: YAML syntax"

finish t_sweep
