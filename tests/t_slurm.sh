#!/bin/sh
# The Slurm runner for real: a one-node Slurm cluster (Debian slurm-wlm +
# munge, private config, sockets, ports and state under a temporary
# directory) runs a sweep of 2 experiments x 2 seeds (tiny variant, a few
# hundred images) submitted as one job array; the test waits for it, checks
# the rows and the runs' states, and stops the daemons by their PIDs.
# Skipped, with the reason, where the daemons cannot be started.
# Prints TAP-style "ok - ..." / "not ok - ..." lines.
# shellcheck disable=SC2016  # the sh -c snippets expand their own $1, $2
set -u
cd "$(dirname "$0")/.." || exit 1

PY=/usr/bin/python3
. tests/tap.sh
skip_all() { echo "ok - Slurm runner # SKIP $1"; exit 0; }

[ "$(id -u)" -eq 0 ] || skip_all "not root: the test starts munged, slurmctld and slurmd"
for d in munged slurmctld slurmd sbatch squeue; do
    command -v $d >/dev/null 2>&1 || [ -x /usr/sbin/$d ] ||
        skip_all "$d not installed (Debian: slurm-wlm munge)"
done

mkdir -p build/tests
T=$(mktemp -d "$PWD/build/tests/t_slurm.XXXXXX")
chmod 755 "$T"
stop_daemons() {
    for pidfile in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munged.pid"; do
        [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    sleep 1
    for pidfile in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munged.pid"; do
        [ -s "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null
    done
    rm -rf "$T"
}
trap stop_daemons EXIT

if ! make -s CUDA= build/bzsweep >"$T/make.log" 2>&1; then
    sed 's/^/# /' "$T/make.log" | tail -n 20
    notok "make builds build/bzsweep"
    exit 1
fi

# ---- munge: its own key, socket and files ----
mkdir -p "$T/munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$T/munge/munge.key"
/usr/sbin/munged --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.socket" \
    --pid-file="$T/munged.pid" --log-file="$T/munge/munged.log" --seed-file="$T/munge/seed" \
    2>"$T/munged.err" || skip_all "munged does not start: $(head -n 1 "$T/munged.err")"

# ---- slurm: one node (this machine), ports of our own ----
port=$((20000 + $$ % 20000))
cpus=$(nproc)
mkdir -p "$T/state" "$T/spool"
cat >"$T/slurm.conf" <<EOF
ClusterName=bztest
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MailProg=/bin/true
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$T/slurm.conf"
/usr/sbin/slurmctld -f "$SLURM_CONF" -c 2>"$T/ctld.err" ||
    skip_all "slurmctld does not start: $(head -n 1 "$T/ctld.err")"
/usr/sbin/slurmd -f "$SLURM_CONF" -N localhost 2>"$T/slurmd.err" ||
    skip_all "slurmd does not start: $(head -n 1 "$T/slurmd.err")"
i=0
until sinfo -h -o %T 2>/dev/null | grep -q idle; do
    i=$((i + 1))
    [ $i -gt 100 ] && { sed 's/^/# /' "$T/slurmctld.log" | tail -n 5; skip_all "the node never became idle"; }
    sleep 0.2
done
ok "a one-node Slurm cluster is up (slurmctld, slurmd, munged; $cpus CPUs)"

# ---- the sweep, as one job array ----
cat >"$T/tiny.yaml" <<EOF
experiments: [resnet_basic_block_mid, inverted_residual_early]
seeds: [0, 1]
variant: {num_blocks: 1, base_channels: 8}
train: {epochs: 1, batch_size: 32, subset: 256, val_subset: 128}
runner: slurm
slurm: {partition: debug, time: "00:10:00", cpus_per_task: 1}
EOF
if build/bzsweep run "$T/tiny.yaml" --out "$T/sweeps" --make CUDA= >"$T/submit.out" 2>&1; then
    ok "sweep submitted: $(tail -n 1 "$T/submit.out")"
else
    sed 's/^/# /' "$T/submit.out" | tail -n 10
    notok "sweep submitted to Slurm"
fi
job=$(cat "$T/sweeps/tiny/slurm/job" 2>/dev/null)
check "one job array of 4 tasks" sh -c '[ -n "$1" ] && [ "$(grep -c . "$2")" -eq 4 ]' sh "$job" \
    "$T/sweeps/tiny/slurm/tasks.txt"
build/bzsweep status "$T/tiny.yaml" --out "$T/sweeps" >"$T/status1.out" 2>&1
check "sweep-status while the job runs reads the Slurm states" \
    grep -Eq "(queued|running) .*Slurm: (PENDING|RUNNING)|4 runs: 4 ok" "$T/status1.out"
i=0
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ] && [ $i -lt 300 ]; do
    sleep 0.5; i=$((i + 1))
done
check "the job array finishes within 150 s" sh -c '[ -z "$(squeue -h -j "$1" 2>/dev/null)" ]' sh "$job"
check "results.csv: 4 rows, one per experiment and seed" $PY -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
keys = sorted((r["experiment_name"], r["seed"]) for r in rows)
assert keys == sorted((e + "-nb1-bc8", s) for e in ("resnet_basic_block_mid", "inverted_residual_early")
                      for s in "01"), keys
assert all(r["threads"] == "1" and float(r["val_acc"]) > 0 for r in rows), rows
' "$T/sweeps/tiny/results.csv"
build/bzsweep status "$T/tiny.yaml" --out "$T/sweeps" >"$T/status2.out" 2>&1
check "sweep-status after the job: 4 ok" grep -q "4 runs: 4 ok, 0 failed" "$T/status2.out"
check "each task's log is in its run directory, Slurm's in slurm/" sh -c '
    [ "$(ls "$1"/slurm/*.out | wc -l)" -eq 4 ] && grep -q "^trained 1 epochs" "$1/inverted_residual_early/seed1/log.txt"' \
    sh "$T/sweeps/tiny"
build/bzsweep run "$T/tiny.yaml" --out "$T/sweeps" --no-build >"$T/again.out" 2>&1
check "submitting the finished sweep again submits nothing" grep -q "nothing to submit" "$T/again.out"
[ $failures -eq 0 ] || { sed 's/^/# /' "$T/slurmctld.log" | tail -n 10; cat "$T"/sweeps/tiny/slurm/*.out | sed 's/^/# /' | tail -n 20; }

finish t_slurm
