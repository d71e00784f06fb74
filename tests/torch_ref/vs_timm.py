#!/usr/bin/python3
"""Compares the twins of the blocks added in issue 15 (DilatedBasicBlock,
ConvNeXtBlock, MobileVitBlock) with timm's own classes, where timm's
source is at hand (not part of the suite: Debian has no timm):

    /usr/bin/python3 tests/torch_ref/vs_timm.py TIMM_SOURCE_DIR

TIMM_SOURCE_DIR holds the `timm` package (a checkout of
huggingface/pytorch-image-models).  torchvision and PIL, which timm imports
but these classes do not use, are stubbed.  Prints, per block and shape:
state_dict keys/shapes/order equal, float64 forward and gradients with the
same weights (max difference), and the same initial values from one seed.
"""
import os
import sys
import tempfile

STUBS = {
    "torchvision/__init__.py": "",
    "torchvision/ops/__init__.py": "",
    "torchvision/ops/misc.py": "import torch\nclass FrozenBatchNorm2d(torch.nn.Module):\n    pass\n",
    "torchvision/datasets.py": "from unittest.mock import MagicMock\ndef __getattr__(n):\n    return MagicMock(name=n)\n",
    "torchvision/transforms/__init__.py": "from unittest.mock import MagicMock\ndef __getattr__(n):\n    return MagicMock(name=n)\n",
    "torchvision/transforms/functional.py": "from unittest.mock import MagicMock\ndef __getattr__(n):\n    return MagicMock(name=n)\n",
    "PIL/__init__.py": "__version__ = '9.0.0'\n",
}
for m in ("Image", "ImageOps", "ImageEnhance", "ImageChops", "ImageFilter"):
    STUBS["PIL/%s.py" % m] = "from unittest.mock import MagicMock\ndef __getattr__(n):\n    return MagicMock(name=n)\n"
stubs = tempfile.mkdtemp()
for path, text in STUBS.items():
    os.makedirs(os.path.dirname(os.path.join(stubs, path)), exist_ok=True)
    with open(os.path.join(stubs, path), "w") as f:
        f.write(text)
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, stubs)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from functools import partial
import torch
from torch import nn
import scaffold
from timm.models.convnext import ConvNeXtBlock
from timm.models.mobilevit import MobileVitBlock
from timm.models.resnet import BasicBlock, downsample_avg
from timm.models.byobnet import LayerFn
from timm.layers import ConvNormAct

torch.set_default_dtype(torch.float64)

def compare(name, ours, theirs, x):
    a = [(k, tuple(v.shape)) for k, v in ours.state_dict().items()]
    b = [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    print(name, "state_dict equal (keys, shapes, order):", a == b, len(a))
    print(name, "print equal:", str(ours).replace('Wrapper', '').replace('Body','') == str(theirs) or "(differs in text)")
    theirs.load_state_dict(ours.state_dict())
    ours.train(); theirs.train()
    xa = x.clone().requires_grad_(True); xb = x.clone().requires_grad_(True)
    ya, yb = ours(xa), theirs(xb)
    g = torch.randn_like(ya)
    ya.backward(g); yb.backward(g)
    print(name, "forward max diff %.2e" % (ya - yb).abs().max().item(),
          "input grad %.2e" % (xa.grad - xb.grad).abs().max().item(),
          "param grads %.2e" % max((p.grad - q.grad).abs().max().item()
                                   for p, q in zip(ours.parameters(), theirs.parameters())))

torch.manual_seed(0)
for stride, cin, cout in [(1, 32, 32), (2, 16, 32)]:
    ours = scaffold.DilatedBasicBlockWrapper(cin, cout, stride)
    ds = downsample_avg(cin, cout, 1, stride=stride)
    theirs = BasicBlock(cin, cout, stride=stride, downsample=ds, dilation=2, first_dilation=2)
    compare("Dilated s%d %d->%d" % (stride, cin, cout), ours, theirs, torch.randn(2, cin, 8, 8))
    ours = scaffold.ConvNeXtBlockWrapper(cin, cout, stride)
    theirs = ConvNeXtBlock(cin, cout, stride=stride)
    compare("ConvNeXt s%d %d->%d" % (stride, cin, cout), ours, theirs, torch.randn(2, cin, 8, 8))
layers = LayerFn(conv_norm_act=partial(ConvNormAct, act_layer=nn.SiLU), act=nn.SiLU)
for c in (16, 32):
    ours = scaffold.MobileVitBody(c)
    theirs = MobileVitBlock(c, c, patch_size=2, layers=layers)
    compare("MobileViT %d" % c, ours, theirs, torch.randn(2, c, 8, 8))
ours = scaffold.MobileVitBlockWrapper(16, 32, 2)
theirs = nn.Sequential()
theirs.add_module("downsample", ConvNormAct(16, 32, 3, stride=2, act_layer=nn.SiLU))
body = MobileVitBlock(32, 32, patch_size=2, layers=layers)
class W(nn.Module):
    def __init__(s):
        super().__init__()
        s.downsample = ConvNormAct(16, 32, 3, stride=2, act_layer=nn.SiLU)
        for n, m in body.named_children():
            s.add_module(n, m)
    def forward(s, x):
        return body(s.downsample(x))
compare("MobileViT wrapper 16->32 s2", ours, W(), torch.randn(2, 16, 8, 8))
import difflib
def pdiff(a, b):
    for l in difflib.unified_diff(str(a).splitlines(), str(b).splitlines(), lineterm="", n=0):
        print(l)
pdiff(scaffold.ConvNeXtBlockWrapper(16, 32, 2), ConvNeXtBlock(16, 32, stride=2))
pdiff(scaffold.MobileVitBody(16), MobileVitBlock(16, 16, patch_size=2, layers=layers))
pdiff(scaffold.DilatedBasicBlockWrapper(16, 32, 2), BasicBlock(16, 32, stride=2, downsample=downsample_avg(16, 32, 1, stride=2), dilation=2, first_dilation=2))
def same_init(name, make_ours, make_theirs):
    torch.manual_seed(7); a = make_ours()
    torch.manual_seed(7); b = make_theirs()
    sa, sb = a.state_dict(), b.state_dict()
    print(name, "same initial values from the same seed:", all(torch.equal(sa[k], sb[k]) for k in sa))
same_init("Dilated", lambda: scaffold.DilatedBasicBlockWrapper(16, 32, 2),
          lambda: BasicBlock(16, 32, stride=2, downsample=downsample_avg(16, 32, 1, stride=2), dilation=2, first_dilation=2))
same_init("ConvNeXt", lambda: scaffold.ConvNeXtBlockWrapper(16, 32, 2), lambda: ConvNeXtBlock(16, 32, stride=2))
same_init("MobileViT", lambda: scaffold.MobileVitBody(16), lambda: MobileVitBlock(16, 16, patch_size=2, layers=layers))
