#!/usr/bin/python3
"""Side-by-side CPU benchmark: each experiment's generated binary against
the same network in PyTorch, in one process tree, same thread count.

For every experiment (default: all of `make list`):
  1. inference latency at batch 1 (mean and p90 over --runs-b1 timed runs,
     in --latency-rounds rounds that alternate between the two sides)
  2. inference throughput at batch 256
  3. training throughput (forward, loss, backward, Adam) at batch 256, and
     at batch 64 in --train-rounds rounds that alternate between the two
     sides; each side's best round counts
  4. peak memory (process peak RSS) of a training run at batch 256, each
     side in a process of its own
PyTorch runs the deploy form for inference (re-parameterised as timm's
reparameterize_model leaves it, tests/torch_ref/deploy.py) and the
training form for training, each in eager NCHW and channels_last; the
better of the two counts.  Our GFLOP/s are given as a share of the sgemm
rate our binary measures in the same run (OpenBLAS, 2048^3).

Writes results/bench_vs_torch.csv and .md (or --output PREFIX) and prints
the table, after six summary lines against issue 16's targets (medians and
floors of the four speed ratios, the memory ratio of every experiment, and
the whole-step FLOP rate of resnet_basic_block_mid's batch-256 training
against the sgemm rate of the same run); results/bench_vs_torch_dense_convs.csv and .md list every
dense 3x3 and 1x1 conv layer of the batch-256 training step, forward and
backward, against the sgemm peak (bench --layers).  --memory-only and
--latency-only measure one figure alone (peak RSS of a batch-256 training
run; batch-1 latency) in a fraction of the time, --training-only the two
training columns.  Run by
`make bench-vs-torch [EXP="a b"] [THREADS=2]`.
"""

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "torch_ref"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import deploy  # noqa: E402
import scaffold  # noqa: E402

TRAIN_BATCHES = (256, 64)
ROUND_BATCHES = (64,)   # measured again in rounds 2 to --train-rounds
INFER_BATCH = 256


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- ours

def run_measured(cmd):
    """Runs cmd; returns its stdout and its peak RSS in MiB (wait4's
    rusage of that child alone).  Fails on a non-zero exit."""
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        out = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            raise RuntimeError("%s failed: %s" % (" ".join(cmd), err.read().decode()[-500:]))
    return out, usage.ru_maxrss / 1024.0


def run_binary(binary, threads, *args, rss=False):
    cmd = [binary, "bench", "--threads", str(threads), "--json"] + [str(a) for a in args]
    out, peak_mib = run_measured(cmd)
    return (json.loads(out), peak_mib) if rss else json.loads(out)


def bench_ours(binary, a):
    """Our figures but batch-1 latency (latency_pair's); the batch-1 run
    gives the FLOP counts and the sgemm rate."""
    b1 = run_binary(binary, a.threads, "--batch-size", 1, "--no-train", "--warmup-runs", 1,
                    "--benchmark-runs", 1)
    inf = run_binary(binary, a.threads, "--batch-size", INFER_BATCH, "--no-train",
                     "--warmup-runs", 1, "--benchmark-runs", a.runs_b256)
    out = {
        "gemm_kernels": b1["gemm_kernels"],
        "gemm_peak": max(b1["gemm_peak_gflops"], inf["gemm_peak_gflops"]),
        "flops_per_image": b1["flops_per_image"],
        "train_flops_per_image": b1["train_flops_per_image"],
        "infer_img_s": inf["results"][0]["throughput"],
    }
    # the batch-256 training run alone, for its peak memory
    _, out["train256_rss_mib"] = run_binary(binary, a.threads, "--batch-size", 256,
                                            "--no-inference", "--train-runs", 1, rss=True)
    tr = train_ours(binary, a, layers=True)
    out["gemm_peak"] = max(out["gemm_peak"], tr.pop("gemm_peak"))
    out.update(tr)
    return out


def train_ours(binary, a, batches=TRAIN_BATCHES, layers=False):
    """One round of our training throughputs, at each of batches; with
    layers, batch 256's per-layer table and its sgemm rate too."""
    out = {}
    for batch in batches:
        extra = ["--layers"] if layers and batch == 256 else []
        tr = run_binary(binary, a.threads, "--batch-size", batch, "--no-inference",
                        "--train-runs", a.train_steps, *extra)
        out["train%d_img_s" % batch] = tr["results"][0]["train_throughput"]
        if extra:
            out["train256_layers"] = tr["results"][0]["layers"]["training"]
            out["gemm_peak"] = tr["gemm_peak_gflops"]
    return out


# A dense 3x3 or 1x1 convolution (groups 1), by its generated kernel's name.
DENSE_CONV = re.compile(r"^conv2d_.*_k(1|3)s\d+p\d+g1(_|$)")


def dense_conv_rows(exp, layers, peak):
    """The batch-256 training step's dense 3x3 and 1x1 conv layers, forward
    and backward, against the sgemm peak measured in the same run."""
    rows = []
    for l in layers:
        if l["op"] != "Conv2d" or not DENSE_CONV.match(l["kernel"]):
            continue
        rows.append({
            "experiment": exp, "layer": l["name"], "kernel": l["kernel"],
            "fwd_ms": l["forward_ms"], "fwd_gflops": l["forward_gflops"],
            "fwd_peak": 100 * l["forward_gflops"] / peak,
            "bwd_ms": l["backward_ms"], "bwd_gflops": l["backward_gflops"],
            "bwd_peak": 100 * l["backward_gflops"] / peak,
        })
    return rows


DENSE_COLUMNS = [
    ("experiment", "experiment"), ("layer", "layer"), ("kernel", "kernel"),
    ("fwd_ms", "fwd ms"), ("fwd_gflops", "fwd GFLOP/s"), ("fwd_peak", "%peak"),
    ("bwd_ms", "bwd ms"), ("bwd_gflops", "bwd GFLOP/s"), ("bwd_peak", "%peak"),
]


def dense_summary(rows):
    """One line: how many (layer, direction) pairs reach 70% of the sgemm
    peak, and the share of the dense convs' time they take."""
    pairs = [(r["fwd_peak"], r["fwd_ms"]) for r in rows] + \
            [(r["bwd_peak"], r["bwd_ms"]) for r in rows]
    if not pairs:
        return "dense 3x3 and 1x1 conv layers: none"
    hit = [p for p in pairs if p[0] >= 70]
    total_ms = sum(ms for _, ms in pairs)
    worst = sorted(rows, key=lambda r: min(r["fwd_peak"], r["bwd_peak"]))[:3]
    return ("dense 3x3 and 1x1 conv layers, batch-256 training, forward and backward: %d of %d "
            "at >= 70%% of the sgemm peak (target: all), %.0f%% of their time; median %.0f%% "
            "forward, %.0f%% backward; lowest %s"
            % (len(hit), len(pairs), 100 * sum(ms for _, ms in hit) / total_ms,
               statistics.median(r["fwd_peak"] for r in rows),
               statistics.median(r["bwd_peak"] for r in rows),
               ", ".join("%s %s %.0f%%/%.0f%%" % (r["experiment"], r["layer"], r["fwd_peak"],
                                                  r["bwd_peak"]) for r in worst)))


# ---------------------------------------------------------------- PyTorch

FORMATS = (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last))


def time_calls(fn, warmup, runs, sync=lambda: None):
    """Seconds per call; sync waits for asynchronous work (a GPU's)."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times


def p90(xs):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.9 * (len(s) - 1))))]


def torch_inference(model, batch, fmt, warmup, runs):
    m = model.to(memory_format=fmt)
    x = torch.randn(batch, 3, 32, 32).to(memory_format=fmt)
    with torch.inference_mode():
        return time_calls(lambda: m(x), warmup, runs)


def torch_training(model, batch, fmt, steps, classes):
    m = model.to(memory_format=fmt).train()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, 3, 32, 32).to(memory_format=fmt)
    y = torch.randint(0, classes, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(m(x), y).backward()
        opt.step()
    return time_calls(step, 1, steps)


def torch_training_memory(block, position):
    """One batch-256 training step in this (fresh) process, NCHW; the
    parent reads the process's peak RSS."""
    torch.manual_seed(0)
    torch_training(scaffold.build(block, position), 256, torch.contiguous_format, 1, 10)


def keep_faster_b1(best, deploy_model, name, fmt, a):
    """Times batch-1 inference in layout fmt; into best if faster."""
    t = torch_inference(deploy_model, 1, fmt, 20, a.runs_b1)
    if "b1_mean_ms" not in best or 1e3 * statistics.mean(t) < best["b1_mean_ms"]:
        best.update(b1_mean_ms=1e3 * statistics.mean(t), b1_runs_ms=[1e3 * x for x in t],
                    b1_format=name)


def torch_train_best(train_model, formats, a, best):
    """One round of PyTorch's training throughputs: at each batch size of
    formats, the faster of the layouts formats[batch] names."""
    for batch in formats:
        for name, fmt in FORMATS:
            if name not in formats[batch]:
                continue
            t = torch_training(train_model, batch, fmt, a.train_steps, 10)
            v = batch / statistics.mean(t)
            if v > best.get("train%d_img_s" % batch, 0):
                best["train%d_img_s" % batch] = v
                best["train%d_format" % batch] = name
    return best


ALL_FORMATS = {batch: [name for name, _ in FORMATS] for batch in TRAIN_BATCHES}


def bench_torch(block, position, a):
    torch.manual_seed(0)
    train_model = scaffold.build(block, position)
    deploy_model = deploy.deploy_form(train_model)
    best = {}
    for name, fmt in FORMATS:
        t = torch_inference(deploy_model, INFER_BATCH, fmt, 1, a.runs_b256)
        v = INFER_BATCH / statistics.mean(t)
        if v > best.get("infer_img_s", 0):
            best.update(infer_img_s=v, infer_format=name)
    return torch_train_best(train_model, ALL_FORMATS, a, best)


def torch_train_round(block, position, a):
    """--torch-train: one round of training throughputs, at the batch
    sizes and in the layouts --train-formats names (BATCH:LAYOUT,...), or
    at every batch size of TRAIN_BATCHES in both layouts."""
    torch.manual_seed(0)
    formats = ALL_FORMATS
    if a.train_formats:
        formats = {int(b): [n] for b, n in (f.split(":") for f in a.train_formats.split(","))}
    return torch_train_best(scaffold.build(block, position), formats, a, {})


def training_rounds(exp, binary, a, ours, th):
    """Rounds 2 to --train-rounds of the training throughputs at the batch
    sizes of ROUND_BATCHES (round 1 is the one bench_ours and bench_torch
    took), the two sides in turn, PyTorch in the layout of its first round.
    On a shared machine a burst of load lasts seconds, and one round alone
    may catch it on one side only; a batch-64 step takes under a second.
    Each side keeps its best round.  (Batch 256 has one round: its steps
    are long, PyTorch's up to 10 s.)"""
    formats = ",".join("%d:%s" % (b, th["train%d_format" % b]) for b in ROUND_BATCHES)
    for _ in range(1, a.train_rounds):
        mine = train_ours(binary, a, ROUND_BATCHES)
        theirs = torch_train_child(exp, a, formats)
        for b in ROUND_BATCHES:
            key = "train%d_img_s" % b
            ours[key] = max(ours[key], mine[key])
            th[key] = max(th[key], theirs[key])


# ---------------------------------------------------------------- report

COLUMNS = [
    ("experiment", "experiment"),
    ("b1_ms_ours", "b1 ms ours"), ("b1_p90_ours", "p90"),
    ("b1_ms_torch", "b1 ms torch"), ("b1_p90_torch", "p90"), ("b1_ratio", "torch/ours"),
    ("infer256_ours", "inf256 img/s ours"), ("infer256_torch", "torch"),
    ("infer256_ratio", "ours/torch"),
    ("train256_ours", "train256 img/s ours"), ("train256_torch", "torch"),
    ("train256_ratio", "ours/torch"),
    ("train64_ours", "train64 img/s ours"), ("train64_torch", "torch"),
    ("train64_ratio", "ours/torch"),
    ("mem_ours_mib", "train256 peak RSS MiB ours"), ("mem_torch_mib", "torch"),
    ("mem_ratio", "ours/torch"),
    ("infer_gflops", "inf GFLOP/s"), ("infer_peak", "%peak"),
    ("train_gflops", "train GFLOP/s"), ("train_peak", "%peak"),
    ("torch_formats", "torch best layout (b1/inf/train256/train64)"),
]


def row_of(exp, ours, th, b1):
    """One experiment's row: ours and th (PyTorch's) figures, b1
    latency_pair's."""
    peak = ours["gemm_peak"]
    infer_gf = ours["infer_img_s"] * ours["flops_per_image"] / 1e9
    train_gf = ours["train256_img_s"] * ours["train_flops_per_image"] / 1e9
    return {
        "experiment": exp,
        "b1_ms_ours": b1["b1_ms_ours"], "b1_p90_ours": b1["b1_p90_ours"],
        "b1_ms_torch": b1["b1_ms_torch"], "b1_p90_torch": b1["b1_p90_torch"],
        "b1_ratio": b1["b1_ratio"],
        "infer256_ours": ours["infer_img_s"], "infer256_torch": th["infer_img_s"],
        "infer256_ratio": ours["infer_img_s"] / th["infer_img_s"],
        "train256_ours": ours["train256_img_s"], "train256_torch": th["train256_img_s"],
        "train256_ratio": ours["train256_img_s"] / th["train256_img_s"],
        "train64_ours": ours["train64_img_s"], "train64_torch": th["train64_img_s"],
        "train64_ratio": ours["train64_img_s"] / th["train64_img_s"],
        "mem_ours_mib": ours["train256_rss_mib"], "mem_torch_mib": th["train256_rss_mib"],
        "mem_ratio": ours["train256_rss_mib"] / th["train256_rss_mib"],
        "infer_gflops": infer_gf, "infer_peak": 100 * infer_gf / peak,
        "train_gflops": train_gf, "train_peak": 100 * train_gf / peak,
        "torch_formats": "/".join([b1["b1_format"]] + [th[k] for k in (
            "infer_format", "train256_format", "train64_format")]),
    }


def fmt(v):
    if isinstance(v, float):
        return "%.3f" % v if v < 10 else "%.1f" % v
    return str(v)


# Issue 16's targets: (key, what, median at least, every experiment at least)
SPEED_TARGETS = [
    ("train256_ratio", "batch-256 training, ours/torch", 2.0, 1.5),
    ("train64_ratio", "batch-64 training, ours/torch", 1.6, 1.2),
    ("b1_ratio", "batch-1 latency, torch/ours", 3.0, 2.0),
    ("infer256_ratio", "batch-256 inference, ours/torch", 2.0, 1.5),
]
MEMORY_TARGET = 0.5         # ours/torch peak RSS of a batch-256 training run, at most
FLOP_RATE_TARGET = 80.0     # % of sgemm, resnet_basic_block_mid's whole training step
FLOP_RATE_EXPERIMENT = "resnet_basic_block_mid"


def met(ok):
    return "met" if ok else "NOT met"


def speed_line(rows, key, what, median_target, floor):
    median = statistics.median(r[key] for r in rows)
    low = min(rows, key=lambda r: r[key])
    return ("%s: median %.2fx (target >= %.1fx: %s), lowest %.2fx %s (target >= %.1fx: %s)"
            % (what, median, median_target, met(median >= median_target), low[key],
               low["experiment"], floor, met(low[key] >= floor)))


def summary_lines(rows, peak, kernels, threads):
    """The run's conditions, then one line per target of issue 16."""
    lines = ["threads: %d each side; GEMM: %s; sgemm rate measured in this run: %.1f GFLOP/s"
             % (threads, kernels, peak)]
    lines += [speed_line(rows, *target) for target in SPEED_TARGETS]
    lines.append(memory_line(rows))
    step = [r for r in rows if r["experiment"] == FLOP_RATE_EXPERIMENT]
    if step:
        lines.append("whole batch-256 training step of %s: %.1f GFLOP/s on the direct-convolution "
                     "count, %.0f%% of the sgemm rate (target >= %.0f%%: %s)"
                     % (FLOP_RATE_EXPERIMENT, step[0]["train_gflops"], step[0]["train_peak"],
                        FLOP_RATE_TARGET, met(step[0]["train_peak"] >= FLOP_RATE_TARGET)))
    else:
        lines.append("whole batch-256 training step of %s: not in this run" % FLOP_RATE_EXPERIMENT)
    return lines


MEMORY_COLUMNS = [("experiment", "experiment"), ("mem_ours_mib", "train256 peak RSS MiB ours"),
                  ("mem_torch_mib", "torch"), ("mem_ratio", "ours/torch")]


def memory_line(rows):
    high = max(rows, key=lambda r: r["mem_ratio"])
    return ("peak memory of a batch-256 training run, ours/torch: highest %.2fx %s, median "
            "%.2fx (target <= %.1fx for every experiment: %s)"
            % (high["mem_ratio"], high["experiment"],
               statistics.median(r["mem_ratio"] for r in rows), MEMORY_TARGET,
               met(high["mem_ratio"] <= MEMORY_TARGET)))


def memory_row(exp, binary, a):
    """--memory-only: each side's peak RSS of a batch-256 training run."""
    _, ours = run_binary(binary, a.threads, "--batch-size", 256, "--no-inference",
                         "--train-runs", 1, rss=True)
    _, th = run_measured([sys.executable, os.path.abspath(__file__), "--torch-memory",
                          "--threads", str(a.threads), exp])
    return {"experiment": exp, "mem_ours_mib": ours, "mem_torch_mib": th, "mem_ratio": ours / th}


def latency_pair(exp, binary, a):
    """Batch-1 inference latency of each side (PyTorch in a child process,
    in its better layout), in a.latency_rounds rounds of runs_b1 / rounds
    timed runs a side, the two sides in turn: on a shared machine a burst
    of load lasts seconds, and would otherwise land on one side only.
    Each side's mean and p90 are over all its runs."""
    runs = max(1, a.runs_b1 // a.latency_rounds)
    ours, theirs, formats = [], [], []
    for _ in range(a.latency_rounds):
        b1 = run_binary(binary, a.threads, "--batch-size", 1, "--no-train", "--warmup-runs", 20,
                        "--benchmark-runs", runs)
        ours += b1["results"][0]["latency_ms"]["runs_ms"]
        out, _ = run_measured([sys.executable, os.path.abspath(__file__), "--torch-latency",
                               "--threads", str(a.threads), "--runs-b1", str(runs),
                               "--latency-rounds", "1", exp])
        th = json.loads(out)
        theirs += th["b1_runs_ms"]
        formats.append(th["b1_format"])
    return {"b1_ms_ours": statistics.mean(ours), "b1_p90_ours": p90(ours),
            "b1_ms_torch": statistics.mean(theirs), "b1_p90_torch": p90(theirs),
            "b1_ratio": statistics.mean(theirs) / statistics.mean(ours),
            "b1_format": statistics.mode(formats)}  # of a tie, the first seen


def latency_row(exp, binary, a):
    """--latency-only: latency_pair's columns."""
    return dict(experiment=exp, **latency_pair(exp, binary, a))


def torch_latency(block, position, a):
    deploy_model = deploy.deploy_form(scaffold.build(block, position))
    best = {}
    for name, fmt in FORMATS:
        keep_faster_b1(best, deploy_model, name, fmt, a)
    return best


LATENCY_COLUMNS = [("experiment", "experiment"), ("b1_ms_ours", "b1 ms ours"),
                   ("b1_p90_ours", "p90"), ("b1_ms_torch", "b1 ms torch"),
                   ("b1_p90_torch", "p90"), ("b1_ratio", "torch/ours"),
                   ("b1_format", "torch layout")]


def latency_line(rows):
    return speed_line(rows, *next(t for t in SPEED_TARGETS if t[0] == "b1_ratio"))


def torch_train_child(exp, a, formats=""):
    """PyTorch's training round in a child process (see bench_torch_isolated)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-train", "--threads",
           str(a.threads), "--train-steps", str(a.train_steps), exp]
    if formats:
        cmd[-1:-1] = ["--train-formats", formats]
    return json.loads(run_measured(cmd)[0])


def training_row(exp, binary, a):
    """--training-only: the training columns, batch 64's in --train-rounds
    rounds."""
    ours = train_ours(binary, a)
    th = torch_train_child(exp, a)
    training_rounds(exp, binary, a, ours, th)
    row = {"experiment": exp}
    for b in TRAIN_BATCHES:
        row.update({"train%d_ours" % b: ours["train%d_img_s" % b],
                    "train%d_torch" % b: th["train%d_img_s" % b],
                    "train%d_ratio" % b: ours["train%d_img_s" % b] / th["train%d_img_s" % b],
                    "train%d_format" % b: th["train%d_format" % b]})
    return row


TRAINING_COLUMNS = [("experiment", "experiment"),
                    ("train256_ours", "train256 img/s ours"), ("train256_torch", "torch"),
                    ("train256_ratio", "ours/torch"), ("train64_ours", "train64 img/s ours"),
                    ("train64_torch", "torch"), ("train64_ratio", "ours/torch"),
                    ("train256_format", "torch layout 256"), ("train64_format", "64")]


def training_lines(rows):
    return [speed_line(rows, *t) for t in SPEED_TARGETS if t[0] in ("train256_ratio",
                                                                      "train64_ratio")]


# --memory-only, --latency-only and --training-only: one measurement per
# experiment, its columns, its summary lines, the title of its table and its
# progress line
ONE_FIGURE = {
    "memory": (memory_row, MEMORY_COLUMNS, lambda rows: [memory_line(rows)], "training memory",
               lambda r: "train256 peak RSS %.0f vs %.0f MiB: %.2fx"
               % (r["mem_ours_mib"], r["mem_torch_mib"], r["mem_ratio"])),
    "latency": (latency_row, LATENCY_COLUMNS, lambda rows: [latency_line(rows)],
                "batch-1 latency",
                lambda r: "b1 %.3f vs %.3f ms: %.2fx"
                % (r["b1_ms_ours"], r["b1_ms_torch"], r["b1_ratio"])),
    "training": (training_row, TRAINING_COLUMNS, training_lines, "training throughput",
                 lambda r: "train256 %.1f vs %.1f img/s: %.2fx, train64 %.1f vs %.1f img/s: %.2fx"
                 % (r["train256_ours"], r["train256_torch"], r["train256_ratio"],
                    r["train64_ours"], r["train64_torch"], r["train64_ratio"])),
}


def write_outputs(prefix, rows, lines, columns=COLUMNS, title="BlockZoo-C vs PyTorch (CPU)"):
    os.makedirs(os.path.dirname(prefix) or ".", exist_ok=True)
    tmp = prefix + ".csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([k for k, _ in columns])
        for r in rows:
            w.writerow([fmt(r[k]) for k, _ in columns])
    os.replace(tmp, prefix + ".csv")
    tmp = prefix + ".md.tmp"
    with open(tmp, "w") as f:
        f.write("# %s\n\n" % title)
        for line in lines:
            f.write("- %s\n" % line)
        f.write("\n| %s |\n" % " | ".join(h for _, h in columns))
        f.write("|%s\n" % ("---|" * len(columns)))
        for r in rows:
            f.write("| %s |\n" % " | ".join(fmt(r[k]) for k, _ in columns))
    os.replace(tmp, prefix + ".md")


def bench_torch_isolated(exp, a):
    """PyTorch's measurements in a child process: its OpenMP workers spin
    for a while after each call, which would slow our next binary down.
    The memory of a training run is taken in a second, fresh child."""
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", "--threads",
           str(a.threads), "--runs-b256", str(a.runs_b256),
           "--train-steps", str(a.train_steps), exp]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, check=True)
    th = json.loads(p.stdout)
    _, th["train256_rss_mib"] = run_measured([sys.executable, os.path.abspath(__file__),
                                              "--torch-memory", "--threads", str(a.threads), exp])
    return th


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("experiments", nargs="*", help="default: every experiment (make list)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs-b1", type=int, default=200,
                    help="timed batch-1 runs a side (>= 100), over the rounds")
    ap.add_argument("--latency-rounds", type=int, default=4,
                    help="batch-1 rounds, the two sides in turn (default 4)")
    ap.add_argument("--runs-b256", type=int, default=5, help="timed batch-256 inference runs")
    ap.add_argument("--train-steps", type=int, default=3,
                    help="timed training steps per batch size and round (default 3)")
    ap.add_argument("--train-rounds", type=int, default=3,
                    help="batch-64 training rounds, the two sides in turn; each side's "
                    "best round counts (default 3)")
    ap.add_argument("--output", default=os.path.join(ROOT, "results", "bench_vs_torch"),
                    help="output prefix (.csv, .md)")
    ap.add_argument("--memory-only", action="store_true",
                    help="only the peak-memory column (about 25 s an experiment)")
    ap.add_argument("--latency-only", action="store_true",
                    help="only the batch-1 latency columns (about 15 s an experiment)")
    ap.add_argument("--training-only", action="store_true",
                    help="only the training columns (about a minute an experiment)")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--torch-memory", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--torch-latency", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--torch-train", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--train-formats", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.memory_only + a.latency_only + a.training_only > 1:
        ap.error("--memory-only, --latency-only and --training-only exclude each other")
    if a.train_rounds < 1 or a.train_steps < 1:
        ap.error("--train-rounds and --train-steps must be at least 1")
    if a.latency_rounds < 1 or a.runs_b1 < a.latency_rounds:
        ap.error("--latency-rounds must be between 1 and --runs-b1")
    only = ("memory" if a.memory_only else "latency" if a.latency_only
            else "training" if a.training_only else None)
    torch.set_num_threads(a.threads)
    if a.torch_worker:
        block, position = scaffold.parse_experiment(a.experiments[0])
        print(json.dumps(bench_torch(block, position, a)))
        return
    if a.torch_memory:
        torch_training_memory(*scaffold.parse_experiment(a.experiments[0]))
        return
    if a.torch_train:
        print(json.dumps(torch_train_round(*scaffold.parse_experiment(a.experiments[0]), a)))
        return
    if a.torch_latency:
        print(json.dumps(torch_latency(*scaffold.parse_experiment(a.experiments[0]), a)))
        return
    exps = a.experiments or subprocess.run(["make", "-s", "list"], cwd=ROOT, check=True,
                                           stdout=subprocess.PIPE).stdout.decode().split()
    rows, dense, peak, kernels = [], [], 0.0, ""
    for i, exp in enumerate(exps, 1):
        scaffold.parse_experiment(exp)  # an unknown name fails before any work
        log("[%d/%d] %s: building" % (i, len(exps), exp))
        subprocess.run(["make", "-s", "EXP=" + exp], cwd=ROOT, check=True)
        if only:
            measure, columns, summary, title, progress = ONE_FIGURE[only]
            rows.append(measure(exp, os.path.join(ROOT, "build", exp, exp), a))
            log("    " + progress(rows[-1]))
            lines = summary(rows)
            if i < len(exps):
                lines.insert(0, "partial: %d of %d experiments" % (i, len(exps)))
            write_outputs(a.output, rows, lines, columns, "BlockZoo-C vs PyTorch (CPU): " + title)
            continue
        log("[%d/%d] %s: ours" % (i, len(exps), exp))
        ours = bench_ours(os.path.join(ROOT, "build", exp, exp), a)
        log("[%d/%d] %s: PyTorch" % (i, len(exps), exp))
        th = bench_torch_isolated(exp, a)
        if a.train_rounds > 1:
            log("[%d/%d] %s: batch-64 training, rounds 2-%d, both sides"
                % (i, len(exps), exp, a.train_rounds))
        training_rounds(exp, os.path.join(ROOT, "build", exp, exp), a, ours, th)
        log("[%d/%d] %s: batch-1 latency, both sides" % (i, len(exps), exp))
        b1 = latency_pair(exp, os.path.join(ROOT, "build", exp, exp), a)
        rows.append(row_of(exp, ours, th, b1))
        dense += dense_conv_rows(exp, ours["train256_layers"], ours["gemm_peak"])
        peak, kernels = max(peak, ours["gemm_peak"]), ours["gemm_kernels"]
        r = rows[-1]
        log("    b1 %.2f ms vs %.2f ms, inf256 %.0f vs %.0f img/s, train256 %.1f vs %.1f img/s, "
            "train256 peak RSS %.0f vs %.0f MiB"
            % (r["b1_ms_ours"], r["b1_ms_torch"], r["infer256_ours"], r["infer256_torch"],
               r["train256_ours"], r["train256_torch"], r["mem_ours_mib"], r["mem_torch_mib"]))
        # the files hold every finished experiment: an interrupted run keeps them
        dense_line = dense_summary(dense)
        lines = summary_lines(rows, peak, kernels, a.threads) + [dense_line]
        if i < len(exps):
            lines.insert(0, "partial: %d of %d experiments" % (i, len(exps)))
        write_outputs(a.output, rows, lines)
        write_outputs(a.output + "_dense_convs", dense, [dense_line], DENSE_COLUMNS,
                      "Dense 3x3 and 1x1 conv layers (batch-256 training step)")
    columns = ONE_FIGURE[only][1] if only else COLUMNS[:-1]
    print("\n".join(lines))
    print()
    print(" ".join("%-12s" % h[:12] for _, h in columns))
    for r in rows:
        print(" ".join("%-12s" % fmt(r[k])[:12] for k, _ in columns))
    if only:
        print("\nwritten: %s.csv, %s.md" % (a.output, a.output))
    else:
        print("\nwritten: %s.csv, %s.md, %s_dense_convs.csv, %s_dense_convs.md"
              % (a.output, a.output, a.output, a.output))


if __name__ == "__main__":
    main()
