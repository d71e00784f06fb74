#!/usr/bin/python3
"""Writes the reference listings of the blocks that ../shared/reference
does not cover, from their PyTorch twins in scaffold.py.

    /usr/bin/python3 tests/torch_ref/derive_reference.py [--output DIR]
        [--check] [BLOCK ...]

For each block (default: every block of scaffold.BLOCKS without a listing
in ../shared/reference) and position, at the default scaffold
(base_channels 64, num_blocks 3, out_dim 10, input 1x3x32x32), writes
DIR/<Block>_<position>.txt in the format of ../shared/reference's listings
(see its README: header, print(model), state_dict, initial values after
torch.manual_seed(0), plain attributes, torchinfo-convention leaf-module
calls; then the same for the deploy model, which for these blocks is the
train-time model: timm's reparameterize_model changes none of them), and
DIR/summary.csv (params, buffers, MACs for out_dim 10 and 100).

These are facts about the twin, not measurements of timm: they are what
bzgen's counts and keys are checked against (tests/t_reference.sh), and
check_reference.py checks that the twin still gives them.  --check
compares instead of writing and exits 1 on any difference.

DIR defaults to tests/reference/derived.
"""

import argparse
import math
import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scaffold  # noqa: E402
from check_reference import leaf_calls, state_dict_lines  # noqa: E402

SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "reference"))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "reference", "derived"))
RULE = "=" * 30
POOLS = (nn.AvgPool2d, nn.AdaptiveAvgPool2d)
# classes whose plain attributes are listed (timm's, in the tested stage)
TIMM_CLASSES = ("BatchNormAct2d", "SEModule", "DownsampleConv")


def title(text):
    return "%s %s %s" % (RULE, text, RULE)


def init_lines(model):
    lines = []
    modules = dict(model.named_modules())
    for name, p in model.named_parameters():
        v = p.detach().double()
        shape = list(p.shape)
        if torch.all(v == v.flatten()[0]):
            lines.append("%s\t%s\tconstant=%g" % (name, shape, v.flatten()[0].item()))
            continue
        owner = modules[name.rsplit(".", 1)[0]]
        fan_in = owner.weight[0].numel()
        lines.append("%s\t%s\tmean=%.4g std=%.4g min=%.4g max=%.4g fan_in=%d (= numel of "
                     "weight[0]) max|x|*sqrt(fan_in)=%.4f"
                     % (name, shape, v.mean().item(), v.std().item(), v.min().item(),
                        v.max().item(), fan_in, v.abs().max().item() * math.sqrt(fan_in)))
    return lines


def plain_attributes(m):
    out = []
    for k, v in sorted(vars(m).items()):
        if k.startswith("_") or k == "training" or v is None:
            continue
        if isinstance(v, (bool, int, float, str, tuple)):
            out.append("%s=%s" % (k, v))
    return out


def attribute_lines(model, stage):
    lines = []
    for name, m in model.named_modules():
        cls = m._get_name()
        tested = name == stage or name.startswith(stage + ".")
        timm = tested and (cls.endswith("Wrapper") or cls in TIMM_CLASSES)
        if not (timm or isinstance(m, POOLS)):
            continue
        attrs = plain_attributes(m)
        if attrs:
            lines.append("%s (%s): %s" % (name, cls, ", ".join(attrs)))
    return lines


def counts(model):
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for n, b in model.named_buffers()
                  if not n.endswith("num_batches_tracked"))
    tracked = sum(1 for n, _ in model.named_buffers() if n.endswith("num_batches_tracked"))
    macs = sum(int(line.split("\t")[3]) for line in leaf_calls(model))
    return params, buffers, tracked, macs


def listing(block, position):
    model = scaffold.build(block, position, seed=0)
    stage = scaffold.STAGE_OF_POSITION[position]
    init = init_lines(model)   # before any forward pass
    params, buffers, tracked, macs = counts(model)
    deploy = model             # reparameterize_model leaves these blocks as they are
    out = [
        "# %s at position=%s: ScaffoldNet(base_channels=64, num_blocks=3, out_dim=10)"
        % (block, position),
        "# (out_dim only changes head.2 = Linear(256, out_dim))",
        "# params_train=%d params_deploy=%d bn_running_stats=%d num_batches_tracked_tensors=%d"
        % (params, params, buffers, tracked),
        "# macs_train=%d macs_deploy=%d flops(BlockZoo)=%d" % (macs, macs, 2 * macs),
        "# derived from tests/torch_ref/scaffold.py (%s), the PyTorch twin written from timm 1.0's"
        % scaffold.BLOCKS[block].__name__,
        "# source, by tests/torch_ref/derive_reference.py: not a BlockZoo/timm measurement",
        "",
    ]

    def section(text, lines):
        out.extend([title(text)] + lines + [""])

    calls = "leaf-module forward calls at 1x3x32x32 (name, class, output shape, " \
            "torchinfo-convention MACs)"
    attrs = "plain (non-repr) attributes of timm modules in the tested stage, and of every " \
            "pooling module"
    section("TRAIN-TIME MODEL: print(model)", repr(model).split("\n"))
    section("TRAIN-TIME MODEL: state_dict (key, shape, dtype)", state_dict_lines(model))
    section("TRAIN-TIME MODEL: initial parameter values after torch.manual_seed(0) (constant "
            "value, or summary statistics)", init)
    section("TRAIN-TIME MODEL: " + attrs, attribute_lines(model, stage))
    section("TRAIN-TIME MODEL: " + calls, leaf_calls(model))
    section("DEPLOY MODEL (after timm.utils.model.reparameterize_model): print(model)",
            repr(deploy).split("\n"))
    section("DEPLOY MODEL: state_dict (key, shape, dtype)", state_dict_lines(deploy))
    section("DEPLOY MODEL: " + attrs, attribute_lines(deploy, stage))
    section("DEPLOY MODEL: " + calls, leaf_calls(deploy))
    return "\n".join(out).rstrip("\n") + "\n"


def summary_rows(block, position):
    rows = []
    for classes in (10, 100):
        model = scaffold.build(block, position, seed=0, classes=classes)
        params, buffers, _, macs = counts(model)
        rows.append("%s,%s,%d,%d,%d,%d,%d,%d,%d" % (block, position, classes, params, params,
                                                     buffers, macs, macs, 2 * macs))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--output", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="compare with DIR instead of writing")
    ap.add_argument("blocks", nargs="*")
    args = ap.parse_args()
    blocks = args.blocks or [b for b in scaffold.BLOCKS
                             if not os.path.exists(os.path.join(SHARED, "%s_mid.txt" % b))
                             and not os.path.exists(os.path.join(HERE, "..", "reference",
                                                                 "%s_mid.txt" % b))]
    files = {}
    summary = ["block,position,out_dim,params_train,params_deploy,buffers,macs_train,"
               "macs_deploy,flops"]
    for block in blocks:
        for position in scaffold.POSITIONS:
            files["%s_%s.txt" % (block, position)] = listing(block, position)
            summary += summary_rows(block, position)
    files["summary.csv"] = "\n".join(summary) + "\n"
    bad = 0
    for name, text in files.items():
        path = os.path.join(args.output, name)
        if args.check:
            same = os.path.exists(path) and open(path).read() == text
            print("%s - %s is what the twin gives" % ("ok" if same else "not ok", path))
            bad += not same
        else:
            os.makedirs(args.output, exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            print("wrote " + path)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
