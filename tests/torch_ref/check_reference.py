#!/usr/bin/python3
"""Self-test of scaffold.py against the reference listings.

For every (block, position) pair scaffold.py implements, at the default
scaffold (base_channels 64, num_blocks 3, input 1x3x32x32), compare with
shared/reference/<Block>_<position>.txt and summary.csv:

  - train-time state_dict: keys (in order), shapes, dtypes;
  - print(model);
  - the leaf-module forward calls (name, class, output shape, MACs by
    torchinfo's rule as the reference README states it);
  - params_train, buffers and macs_train from summary.csv, for out_dim 10
    and 100;
  - initial values: BN weight 1 / bias 0 / running stats 0 and 1,
    conv/linear weights and biases within 1/sqrt(fan_in).

Blocks without a listing in the reference directory (the ones beyond
BlockZoo's ten, issue 15) are compared with their derived listings in
tests/reference/derived/, which tests/torch_ref/derive_reference.py made
from this same twin: for them the check guards against the twin drifting
from the listings that bzgen is checked against.

Prints one TAP line per check; exits 1 if any fails.

    /usr/bin/python3 tests/torch_ref/check_reference.py [--reference DIR]
"""

import argparse
import csv
import math
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scaffold  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REF = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "reference"))
if not os.path.isdir(DEFAULT_REF):
    DEFAULT_REF = os.path.normpath(os.path.join(HERE, "..", "reference"))
DERIVED_REF = os.path.normpath(os.path.join(HERE, "..", "reference", "derived"))

failures = 0


def tap(ok, what, detail=""):
    global failures
    if ok:
        print("ok - %s" % what)
    else:
        failures += 1
        print("not ok - %s%s" % (what, ": " + detail if detail else ""))


def sections(path):
    """Split a reference listing into {title: [lines]} at its
    '===== TITLE =====' lines."""
    out, title = {}, "header"
    out[title] = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("=====") and line.endswith("====="):
                title = line.strip("= ").strip()
                out[title] = []
            else:
                out[title].append(line)
    for k in out:
        while out[k] and out[k][-1] == "":
            out[k].pop()
    return out


def section(secs, prefix):
    hits = [k for k in secs if k.startswith(prefix)]
    if len(hits) != 1:
        raise KeyError("no unique section starting with %r" % prefix)
    return secs[hits[0]]


def state_dict_lines(model):
    lines = []
    for k, v in model.state_dict().items():
        dtype = str(v.dtype).replace("torch.", "")
        lines.append("%s\t%s\t%s" % (k, list(v.shape), dtype))
    return lines


def leaf_calls(model, size=32):
    """Run 1x3xSxS through the model in eval mode; list every leaf-module
    call as 'name<TAB>class<TAB>shape<TAB>macs' with torchinfo's rule."""
    names = {m: n for n, m in model.named_modules()}
    lines, hooks = [], []

    def hook(mod, inp, out):
        n = out.shape[0]
        macs = 0
        for pname, p in mod.named_parameters(recurse=False):
            if pname not in ("weight", "bias"):
                continue
            if "Conv" in type(mod).__name__:
                macs += p.numel() * n * out.shape[2] * out.shape[3]
            else:
                macs += p.numel() * n
        lines.append("%s\t%s\t%s\t%d" % (names[mod], mod._get_name(), list(out.shape), macs))

    for m in model.modules():
        if len(list(m.children())) == 0:
            hooks.append(m.register_forward_hook(hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return lines


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return "line %d: got %r, reference %r" % (i + 1, x, y)
    if len(a) != len(b):
        return "got %d lines, reference %d" % (len(a), len(b))
    return ""


def check_init(model):
    """PyTorch default init: conv/linear |w|, |b| <= 1/sqrt(fan_in), or
    trunc_normal(std) with zero bias where the module says so (FastViT);
    BN weight 1, bias 0, running_mean 0, running_var 1."""
    bad = []
    for name, m in model.named_modules():
        std = getattr(m, "bz_init_std", None)
        if std is not None:
            w = m.weight.detach()
            if not (0.85 * std <= w.std().item() <= 1.15 * std and w.abs().max().item() <= 2
                    and (m.bias is None or torch.all(m.bias == 0))):
                bad.append("%s: not trunc_normal(std %g) with zero bias" % (name, std))
        elif isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            bound = 1.0 / math.sqrt(fan_in) * (1 + 1e-6)
            for pn in ("weight", "bias"):
                p = getattr(m, pn)
                if p is not None and p.abs().max().item() > bound:
                    bad.append("%s.%s exceeds 1/sqrt(%d)" % (name, pn, fan_in))
        elif isinstance(m, nn.BatchNorm2d):
            if not (torch.all(m.weight == 1) and torch.all(m.bias == 0)
                    and torch.all(m.running_mean == 0) and torch.all(m.running_var == 1)):
                bad.append("%s is not weight 1 / bias 0 / mean 0 / var 1" % name)
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", default=DEFAULT_REF)
    args = ap.parse_args()

    summary = {}
    for ref_dir in (args.reference, DERIVED_REF):
        with open(os.path.join(ref_dir, "summary.csv")) as f:
            for row in csv.DictReader(f):
                summary.setdefault((row["block"], row["position"], int(row["out_dim"])), row)

    for block in scaffold.BLOCKS:
        ref_dir = args.reference
        if not os.path.exists(os.path.join(ref_dir, "%s_mid.txt" % block)):
            ref_dir = DERIVED_REF
        for pos in scaffold.POSITIONS:
            tag = "%s %s" % (block, pos)
            if ref_dir == DERIVED_REF:
                tag += " (derived listing)"
            secs = sections(os.path.join(ref_dir, "%s_%s.txt" % (block, pos)))
            model = scaffold.build(block, pos, seed=0)

            ref_sd = section(secs, "TRAIN-TIME MODEL: state_dict")
            got_sd = state_dict_lines(model)
            tap(got_sd == ref_sd, "%s: state_dict keys, shapes, dtypes (%d entries)"
                % (tag, len(ref_sd)), first_diff(got_sd, ref_sd))

            ref_print = section(secs, "TRAIN-TIME MODEL: print(model)")
            got_print = repr(model).split("\n")
            tap(got_print == ref_print, "%s: print(model)" % tag, first_diff(got_print, ref_print))

            ref_calls = section(secs, "TRAIN-TIME MODEL: leaf-module forward calls")
            got_calls = leaf_calls(model)
            tap(got_calls == ref_calls, "%s: leaf-module calls, shapes and MACs (%d calls)"
                % (tag, len(ref_calls)), first_diff(got_calls, ref_calls))

            bad = check_init(model)
            tap(not bad, "%s: default init bounds and BN constants" % tag, "; ".join(bad[:3]))

            for classes in (10, 100):
                m = model if classes == 10 else scaffold.build(block, pos, classes=classes)
                row = summary[(block, pos, classes)]
                params = sum(p.numel() for p in m.parameters())
                buffers = sum(b.numel() for n, b in m.named_buffers()
                              if not n.endswith("num_batches_tracked"))
                macs = sum(int(l.split("\t")[3]) for l in leaf_calls(m))
                want = (int(row["params_train"]), int(row["buffers"]), int(row["macs_train"]))
                got = (params, buffers, macs)
                tap(got == want, "%s classes=%d: params %d, buffers %d, MACs %d"
                    % (tag, classes, want[0], want[1], want[2]),
                    "got params %d, buffers %d, MACs %d" % got)

    # a non-default variant must at least build and run
    m = scaffold.build("InvertedResidual", "late", num_blocks=2, base_channels=16, classes=100)
    y = m.eval()(torch.zeros(2, 3, 32, 32))
    tap(tuple(y.shape) == (2, 100), "InvertedResidual late nb2 bc16 c100: logits shape [2, 100]",
        "got %s" % list(y.shape))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
