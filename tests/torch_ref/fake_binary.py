#!/usr/bin/python3
"""A stand-in for an experiment binary, in float32 PyTorch, used to test
parity.py itself (tests/torch_ref/selftest_parity.sh).  It implements the
binary's forward/grad/export contract:

    fake_binary.py --block B --position P [--num-blocks --base-channels
                   --classes --input-size] [--bug NAME] COMMAND [options]

It computes in float32 with channels_last tensors, so its rounding differs
from PyTorch's default float32 path (as a C binary's would).  --bug injects
a deliberate mistake that parity.py must report:

    eval-batch-stats   forward (eval) uses batch statistics
    grad-scale         every gradient x (1 + 1e-2)
    one-channel        one output channel of stage3.0's first conv weight: gradient x 0.5
    loss-sum           loss summed instead of averaged
    export-normal      export draws conv weights from N(0, 1/fan_in)
"""

import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scaffold  # noqa: E402
import st  # noqa: E402


def load_model(args, path):
    model = scaffold.ScaffoldNet(args.block, args.position, num_blocks=args.num_blocks,
                                 base_channels=args.base_channels, classes=args.classes,
                                 input_size=args.input_size)
    tensors = st.load_safetensors(path)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    return model.to(memory_format=torch.channels_last)


def load_input(path):
    return torch.from_numpy(st.load_npy(path)).contiguous(memory_format=torch.channels_last)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--block", required=True)
    ap.add_argument("--position", required=True)
    ap.add_argument("--num-blocks", type=int, default=3)
    ap.add_argument("--base-channels", type=int, default=64)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--input-size", type=int, default=32)
    ap.add_argument("--bug", default="")
    ap.add_argument("command", choices=("forward", "grad", "export"))
    ap.add_argument("--weights")
    ap.add_argument("--input")
    ap.add_argument("--labels")
    ap.add_argument("--output", required=True)
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--deploy", action="store_true", help="accepted; the eval model stands for it")
    ap.add_argument("--backend", choices=("reference", "optimised"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(4)

    if args.command == "export":
        torch.manual_seed(args.seed)
        model = scaffold.ScaffoldNet(args.block, args.position, num_blocks=args.num_blocks,
                                     base_channels=args.base_channels, classes=args.classes)
        if args.bug == "export-normal":
            for m in model.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.normal_(m.weight, std=1 / math.sqrt(m.weight[0].numel()))
        sd = {k: v.numpy() for k, v in model.state_dict().items()}
        st.save_safetensors(args.output, sd)
        return 0

    model = load_model(args, args.weights)
    x = load_input(args.input)
    if args.command == "forward":
        model.train(args.train or args.bug == "eval-batch-stats")
        with torch.no_grad():
            y = model(x)
        st.save_npy(args.output, y.numpy().astype(np.float32))
        return 0

    labels = torch.from_numpy(st.load_npy(args.labels))
    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, labels, reduction="sum" if args.bug == "loss-sum" else "mean")
    loss.backward()
    out = {}
    first_conv = [k for k, p in model.named_parameters()
                  if k.startswith("stage3.0.") and p.dim() == 4][0]
    for k, p in model.named_parameters():
        g = p.grad.contiguous().numpy().copy()
        if args.bug == "grad-scale":
            g *= 1 + 1e-2
        if args.bug == "one-channel" and k == first_conv:
            g[-1] *= 0.5
        out[k] = g.astype(np.float32)
    out["loss"] = np.array(loss.item(), dtype=np.float32)
    st.save_safetensors(args.output, out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001 - one-line message, like a binary
        sys.stderr.write("fake_binary: %s\n" % e)
        sys.exit(1)
