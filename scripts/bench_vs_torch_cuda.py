#!/usr/bin/env python3
"""Side-by-side GPU benchmark: each experiment's binary with --device cuda
against the same network in PyTorch on the same GPU, in one run.

For every experiment (default: all of `make list`):
  1. training throughput (forward, loss, backward, Adam) at batch 256
  2. inference latency at batch 1 (mean and p90 over --runs-b1 timed runs)
Both sides in the same precision (--precision tf32: PyTorch's
float32_matmul_precision("high") and cuDNN's TF32, as BlockZoo sets; fp32:
neither).  PyTorch runs eager, the better of NCHW and channels_last; the
deploy form for inference, the training form for training.  Each timed
call ends with a device synchronisation on both sides.

Writes results/bench_vs_torch_cuda.csv and .md (or --output PREFIX) and
prints the table.  Run by `make bench-vs-torch-cuda [EXP="a b"]`.  Needs a
usable GPU, a PyTorch with CUDA, and binaries built with nvcc.
"""

import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import bench_vs_torch as cpu  # noqa: E402  (its helpers; it imports torch)
from bench_vs_torch import deploy, nn, scaffold, torch  # noqa: E402

COLUMNS = [
    ("experiment", "experiment"),
    ("train256_ours", "train256 img/s ours"), ("train256_torch", "torch"),
    ("train256_ratio", "ours/torch"),
    ("b1_ms_ours", "b1 ms ours"), ("b1_p90_ours", "p90"),
    ("b1_ms_torch", "b1 ms torch"), ("b1_p90_torch", "p90"), ("b1_ratio", "torch/ours"),
    ("torch_formats", "torch best layout (train256/b1)"),
]


def bench_ours(binary, a):
    common = ["--device", "cuda", "--precision", a.precision]
    b1 = cpu.run_binary(binary, 1, "--batch-size", 1, "--no-train", "--warmup-runs", 50,
                        "--benchmark-runs", a.runs_b1, *common)
    tr = cpu.run_binary(binary, 1, "--batch-size", 256, "--no-inference", "--train-runs",
                        a.train_steps, *common)
    if b1["device"] != "cuda" or tr["device"] != "cuda":
        raise RuntimeError("%s did not run on the GPU" % binary)
    return {"b1_mean_ms": b1["results"][0]["latency_ms"]["mean"],
            "b1_p90_ms": b1["results"][0]["latency_ms"]["p90"],
            "train256_img_s": tr["results"][0]["train_throughput"]}


def bench_torch(block, position, a):
    dev = torch.device("cuda")
    sync = torch.cuda.synchronize
    torch.manual_seed(0)
    train_model = scaffold.build(block, position).to(dev)
    deploy_model = deploy.deploy_form(scaffold.build(block, position)).to(dev).eval()
    best = {}
    for name, fmt in cpu.FORMATS:
        m = train_model.to(memory_format=fmt).train()
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        x = torch.randn(256, 3, 32, 32, device=dev).to(memory_format=fmt)
        y = torch.randint(0, 10, (256,), device=dev)

        def step():
            opt.zero_grad(set_to_none=True)
            loss_fn(m(x), y).backward()
            opt.step()
        v = 256 / statistics.mean(cpu.time_calls(step, 3, a.train_steps, sync))
        if v > best.get("train256_img_s", 0):
            best.update(train256_img_s=v, train256_format=name)
        d = deploy_model.to(memory_format=fmt)
        x1 = torch.randn(1, 3, 32, 32, device=dev).to(memory_format=fmt)
        with torch.inference_mode():
            t = cpu.time_calls(lambda: d(x1), 50, a.runs_b1, sync)
        if 1e3 * statistics.mean(t) < best.get("b1_mean_ms", float("inf")):
            best.update(b1_mean_ms=1e3 * statistics.mean(t), b1_p90_ms=1e3 * cpu.p90(t),
                        b1_format=name)
    return best


def row_of(exp, ours, th):
    return {
        "experiment": exp,
        "train256_ours": ours["train256_img_s"], "train256_torch": th["train256_img_s"],
        "train256_ratio": ours["train256_img_s"] / th["train256_img_s"],
        "b1_ms_ours": ours["b1_mean_ms"], "b1_p90_ours": ours["b1_p90_ms"],
        "b1_ms_torch": th["b1_mean_ms"], "b1_p90_torch": th["b1_p90_ms"],
        "b1_ratio": th["b1_mean_ms"] / ours["b1_mean_ms"],
        "torch_formats": "%s/%s" % (th["train256_format"], th["b1_format"]),
    }


def summary(rows, a):
    train = [r["train256_ratio"] for r in rows]
    b1 = [r["b1_ratio"] for r in rows]
    return ["GPU: %s; precision %s; PyTorch %s eager" % (torch.cuda.get_device_name(0),
                                                         a.precision, torch.__version__),
            "training at batch 256, ours/torch: median %.2fx, lowest %.2fx (target >= 1.5x)"
            % (statistics.median(train), min(train)),
            "batch-1 latency, torch/ours: median %.2fx, lowest %.2fx (target >= 4x)"
            % (statistics.median(b1), min(b1))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("experiments", nargs="*", help="default: every experiment (make list)")
    ap.add_argument("--precision", choices=("tf32", "fp32"), default="tf32")
    ap.add_argument("--runs-b1", type=int, default=200, help="timed batch-1 runs (>= 100)")
    ap.add_argument("--train-steps", type=int, default=20, help="timed training steps")
    ap.add_argument("--output", default=os.path.join(ROOT, "results", "bench_vs_torch_cuda"),
                    help="output prefix (.csv, .md)")
    ap.add_argument("--no-build", action="store_true",
                    help="use the binaries in build/ as they are (a GPU machine without the "
                    "build's libraries: scripts/gpu-check.sh)")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench_vs_torch_cuda: PyTorch %s sees no usable GPU" % torch.__version__)
    tf32 = a.precision == "tf32"
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    exps = a.experiments or subprocess.run(["make", "-s", "list"], cwd=ROOT, check=True,
                                           stdout=subprocess.PIPE).stdout.decode().split()
    rows = []
    for i, exp in enumerate(exps, 1):
        block, position = scaffold.parse_experiment(exp)
        cpu.log("[%d/%d] %s: %sours, PyTorch" % (i, len(exps), exp,
                                                 "" if a.no_build else "building, "))
        if not a.no_build:
            subprocess.run(["make", "-s", "EXP=" + exp], cwd=ROOT, check=True)
        ours = bench_ours(os.path.join(ROOT, "build", exp, exp), a)
        rows.append(row_of(exp, ours, bench_torch(block, position, a)))
        r = rows[-1]
        cpu.log("    train256 %.0f vs %.0f img/s, b1 %.3f vs %.3f ms"
                % (r["train256_ours"], r["train256_torch"], r["b1_ms_ours"], r["b1_ms_torch"]))
    lines = summary(rows, a)
    cpu.write_outputs(a.output, rows, lines, COLUMNS, "BlockZoo-C vs PyTorch (GPU)")
    print("\n".join(lines))
    print("\nwritten: %s.csv, %s.md" % (a.output, a.output))


if __name__ == "__main__":
    main()
