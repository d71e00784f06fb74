#!/usr/bin/python3
"""PyTorch oracle for one BlockZoo experiment binary.

    parity.py --binary build/<exp>/<exp> --block InvertedResidual --position late
              [--num-blocks 3 --base-channels 64 --classes 10 --input-size 32]
              [--backend reference|optimised | --device cuda] [--batch 3] [--seed 0] [--keep]

Builds scaffold.ScaffoldNet with a fixed seed, randomises every BatchNorm
(weight, bias, running_mean, running_var) so that eval mode is a real test,
writes weights.safetensors, x.npy and labels.npy to a temporary directory
and runs the binary:

    BIN forward --weights W --input X --output Y [--train] [--backend B]
    BIN grad    --weights W --input X --labels L --output G [--backend B]
    BIN export  --output W --seed 1

(with --device cuda, forward and grad get `--device cuda --precision fp32`
instead of --backend: the CUDA backend against the same float64 oracle)

and compares with the same model evaluated in float64 by PyTorch (the
float32 weights and inputs converted exactly to double).  One TAP line per
check; exit status 1 if any check fails.

Tolerances (err = max|got - ref| / max|ref|):
    eval logits, train logits, loss   1e-4
    each parameter gradient            1e-3, denominator max(max|ref|, 1e-8)

Facts of float32 arithmetic are handled explicitly rather than by
loosening the tolerances (see GradientOracle):

  * Structural zeros.  The stem conv's bias feeds a train-mode BatchNorm,
    which removes any per-channel shift, so its exact gradient is 0 and
    float64 gives ~1e-17.  A float32 binary gives rounding noise there.
    A tensor whose reference is below 1e-9 of its module's weight-gradient
    scale is compared against that scale instead.

  * Cancelling sums.  A per-channel scale's (depthwise 1x1 conv weight's)
    gradient is a sum of x * dy over the batch's pixels; in front of a
    train-mode BatchNorm, which removes the scale, it cancels almost
    exactly (the exact gradient is only eps-sized).  Its denominator is
    at least one float32 rounding of the largest channel's sum |x * dy|
    (measured in float64) over the tolerance: errors below the size of a
    rounding of the summands pass, and a gradient off by more than that
    still fails (ScaleSummands).

  * Ill-conditioned gradients.  A tensor still over 1e-3 after that passes
    when its error is within 3x PyTorch's own float32 error on the same
    weights and input (e.g. the per-channel scale of a 1x1 depthwise conv
    in front of a BatchNorm, whose gradient is a small difference of
    large terms); the TAP line names each such tensor.

  * ReLU/Hardswish kinks.  A pre-activation within float32 rounding of a
    kink (0 for ReLU, +-3 for Hardswish) may land on the other side in the
    binary; that changes the derivative of one element, which shows up as
    a few-percent change in one channel of the neighbouring gradients.
    Both answers are correct to float32 precision.  When the plain check
    fails, the oracle lists such near-kink elements (ranked by their
    distance to the kink in units of float32 rounding error, measured on
    a float32 PyTorch run), computes in float64 exactly how flipping each
    one changes every gradient, and accepts the binary's gradients if
    flipping a few of them (at most MAX_FLIPS) brings every tensor within
    tolerance.  The ok line then names the flipped elements.
"""

import argparse
import copy
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scaffold  # noqa: E402
import st  # noqa: E402

TOL_LOGITS = 1e-4
TOL_LOSS = 1e-4
TOL_GRAD = 1e-3
GRAD_FLOOR = 1e-8

FLOAT32_MARGIN = 3.0     # a gradient PyTorch's float32 gets only to e may be off by 3e
UNIT_ROUNDOFF32 = 2.0 ** -24
STRUCTURAL_ZERO = 1e-9   # ref below this fraction of the module's weight-grad scale
KINK_Z_MAX = 50.0        # candidate kinks: |a - kink| <= 50 x float32 rounding error
KINK_CANDIDATES = 32     # at most this many candidates are examined
MAX_FLIPS = 8            # at most this many flipped decisions are accepted

failures = 0


def tap(ok, what, detail=""):
    global failures
    if ok:
        print("ok - %s" % what)
    else:
        failures += 1
        detail = " ".join(str(detail).split())  # one line
        print("not ok - %s%s" % (what, ": " + detail if detail else ""))
    sys.stdout.flush()


def comment(text):
    for line in str(text).splitlines():
        print("# " + line)


def rel_err(got, ref, floor=0.0):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.size == 0:
        return 0.0
    return float(np.max(np.abs(got - ref)) / max(float(np.max(np.abs(ref))), floor))


# --------------------------------------------------------------------------
# model and data

def make_model(args):
    """The torch model: default init after torch.manual_seed(seed), then
    every BatchNorm and layer scale (gamma ~ U(0.5, 1.5)) randomised.

    weight ~ U(0.5, 1.5), bias ~ U(-0.2, 0.2).  The running statistics are
    first set to the statistics of a calibration batch (so that eval-mode
    activations stay O(1) through the whole depth and the logits depend on
    the input), then perturbed: mean += 0.2 sd N(0, 1), var *= U(0.5, 1.5).
    Taken directly from U(...) they would make the logits nearly constant."""
    model = scaffold.build(args.block, args.position, seed=args.seed,
                           num_blocks=args.num_blocks, base_channels=args.base_channels,
                           classes=args.classes, input_size=args.input_size)
    gen = torch.Generator().manual_seed(args.seed + 1)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    s = args.input_size
    with torch.no_grad():
        for bn in bns:
            c = bn.num_features
            bn.weight.copy_(torch.rand(c, generator=gen) + 0.5)
            bn.bias.copy_(torch.rand(c, generator=gen) * 0.4 - 0.2)
            bn.reset_running_stats()
            bn.momentum = None            # cumulative average = this batch's stats
        model.train()
        model(torch.randn(8, 3, s, s, generator=gen))
        for bn in bns:
            c = bn.num_features
            bn.momentum = 0.1
            bn.running_mean.add_(0.2 * bn.running_var.sqrt() * torch.randn(c, generator=gen))
            bn.running_var.mul_(torch.rand(c, generator=gen) + 0.5)
            bn.num_batches_tracked.zero_()
        # layer scales start at 1e-5, which would hide the branch they
        # scale from the logits; O(1) values make the check see it
        model.initial_constants = {}
        for name, p in model.named_parameters():
            if name.endswith(".gamma"):
                model.initial_constants[name] = p.detach().clone()
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
    model.eval()
    return model


def make_data(args):
    gen = torch.Generator().manual_seed(args.seed + 2)
    s = args.input_size
    x = torch.randn(args.batch, 3, s, s, generator=gen)
    labels = torch.randint(0, args.classes, (args.batch,), generator=gen)
    return x.numpy().astype(np.float32), labels.numpy().astype(np.int64)


def state_dict_numpy(model):
    """state_dict as numpy: float32 tensors, num_batches_tracked int64 0-d."""
    out = {}
    for k, v in model.state_dict().items():
        a = v.detach().cpu().numpy()
        out[k] = a.astype(np.int64) if v.dtype == torch.int64 else a.astype(np.float32)
    return out


# --------------------------------------------------------------------------
# the float64 oracle

class ScaleSummands:
    """For every per-channel scale (a depthwise 1x1 conv, weight [C, 1, 1,
    1]): the largest over channels of sum |x * dy| over the batch's pixels,
    the summands of its weight gradient sum(x * dy), from one float64
    forward and backward.  In front of a train-mode BatchNorm that sum
    cancels almost exactly (the norm removes the scale): in
    ghost_bottleneck_v3_early the summands of
    stage1.1.ghost2.cheap_rpr_scale.conv.weight add up to 27 in absolute
    value and to 1.1e-4, so one float32 rounding of a summand's size is
    already 1.4% of the result.  Such a gradient is compared against
    that rounding scale, u * max sum |x * dy| (at TOL_GRAD), not
    against its own near-zero value."""

    def __init__(self, model):
        self.acc = {}
        self.handles = [m.register_forward_hook(self._hook(name))
                        for name, m in model.named_modules()
                        if isinstance(m, nn.Conv2d) and m.weight.shape[1:] == (1, 1, 1)]

    def _hook(self, name):
        def hook(mod, inp, out):
            x = inp[0].detach()

            def grad_hook(dy):
                # the weight gradient of |x| and |dy|: sum |x * dy| per channel
                sums = torch.nn.grad.conv2d_weight(
                    x.abs(), mod.weight.shape, dy.detach().abs(), stride=mod.stride,
                    padding=mod.padding, dilation=mod.dilation, groups=mod.groups)
                self.acc[name + ".weight"] = float(sums.max())
            out.register_hook(grad_hook)
        return hook

    def finish(self):
        """The sums, once the backward has run; no further recording."""
        for h in self.handles:
            h.remove()
        done, self.acc = self.acc, {}
        return done


class ActivationRecorder:
    """Records, during one forward pass, the input and output tensor of
    every ReLU/Hardswish module (in call order)."""

    def __init__(self, model, keep_graph):
        self.keep_graph = keep_graph
        self.calls = []  # (name, module, input, output)
        self.handles = []
        for name, m in model.named_modules():
            if isinstance(m, (nn.ReLU, nn.Hardswish)):
                self.handles.append(m.register_forward_hook(self._hook(name)))

    def _hook(self, name):
        def hook(mod, inp, out):
            a = inp[0]
            if self.keep_graph:
                out.retain_grad()
            else:
                a, out = a.detach().clone(), out.detach().clone()
            self.calls.append((name, mod, a, out))
        return hook

    def remove(self):
        for h in self.handles:
            h.remove()


def kinks_of(module):
    """[(position, derivative jump going rightwards)] of an activation,
    with PyTorch's one-sided conventions (relu'(0) = 0; hardswish' is
    x/3 + 1/2 on [-3, 3], 0 below, 1 above)."""
    if isinstance(module, nn.ReLU):
        return [(0.0, 1.0)]
    return [(-3.0, -0.5), (3.0, -0.5)]


class GradientOracle:
    """float64 train-mode forward + mean cross-entropy + backward, keeping
    the graph so that the effect of flipping one kink decision can be
    computed exactly afterwards."""

    def __init__(self, model32, x, labels):
        self.model32 = model32
        self.x = x
        self.labels = labels
        self.model = copy.deepcopy(model32).double().train()
        for m in self.model.modules():
            if isinstance(m, nn.ReLU):
                m.inplace = False  # keep every activation input intact
        self.params = dict(self.model.named_parameters())
        self.rec = ActivationRecorder(self.model, keep_graph=True)
        scales = ScaleSummands(self.model)
        self.logits = self.model(torch.from_numpy(x).double())
        self.rec.remove()
        self.loss = F.cross_entropy(self.logits, torch.from_numpy(labels))
        self.loss.backward(retain_graph=True)
        self.grads = {k: p.grad.detach().numpy().copy() for k, p in self.params.items()}
        self.summands = scales.finish()
        self.denoms = self._denominators()

    def _denominators(self):
        """max(max|ref|, 1e-8), or the module's weight-gradient scale for a
        structurally zero tensor, or the rounding scale of a cancelling
        sum (see the module docstring)."""
        out = {}
        for k, g in self.grads.items():
            d = max(float(np.max(np.abs(g))), GRAD_FLOOR)
            sibling = k.rsplit(".", 1)[0] + ".weight"
            if k.endswith(".bias") and sibling in self.grads:
                scale = float(np.max(np.abs(self.grads[sibling])))
                if float(np.max(np.abs(g))) < STRUCTURAL_ZERO * scale:
                    d = scale
            if k in self.summands:
                d = max(d, UNIT_ROUNDOFF32 * self.summands[k] / TOL_GRAD)
            out[k] = d
        return out

    def float32_errors(self):
        """How far PyTorch's own float32 gradients are from this float64
        oracle, per tensor: the conditioning of each gradient in float32."""
        model = copy.deepcopy(self.model32).float().train()
        logits = model(torch.from_numpy(self.x).float())
        F.cross_entropy(logits, torch.from_numpy(self.labels)).backward()
        got = {k: p.grad.detach().numpy() for k, p in model.named_parameters()}
        return self.errors(got)

    def errors(self, got, ref=None):
        """{key: max|got - ref| / denom}; ref defaults to the oracle's."""
        ref = self.grads if ref is None else ref
        return {k: float(np.max(np.abs(got[k].astype(np.float64) - ref[k]))) / self.denoms[k]
                for k in self.grads}

    def kink_candidates(self):
        """Near-kink elements, ranked by distance to the kink in units of
        the float32 rounding error of that activation's input (measured as
        the rms difference between a float32 and this float64 run)."""
        m32 = copy.deepcopy(self.model32).train()
        for m in m32.modules():
            if isinstance(m, nn.ReLU):
                m.inplace = False
        rec32 = ActivationRecorder(m32, keep_graph=False)
        with torch.no_grad():
            m32(torch.from_numpy(self.x))
        rec32.remove()
        cands = []
        for (name, mod, a, out), (_, _, a32, _) in zip(self.rec.calls, rec32.calls):
            a64 = a.detach()
            err = float((a32.double() - a64).pow(2).mean().sqrt())
            err = max(err, 1e-7 * float(a64.pow(2).mean().sqrt()), 1e-30)
            for kink, jump in kinks_of(mod):
                z = (a64 - kink).abs() / err
                idx = torch.nonzero(z <= KINK_Z_MAX)
                for i in idx.tolist():
                    i = tuple(i)
                    cands.append((float(z[i]), name, i, a, out, kink, jump))
        cands.sort(key=lambda c: c[0])
        return cands[:KINK_CANDIDATES]

    def flip_delta(self, cand):
        """Exact change of every parameter gradient if the binary took the
        other side of this one kink."""
        _, _, i, a, out, kink, jump = cand
        # derivative the reference used, minus the other side's, times dL/dout
        side = 1.0 if float(a.detach()[i]) > kink else -1.0
        g = torch.zeros_like(a)
        g[i] = -side * jump * out.grad[i]
        ks = list(self.params)
        ds = torch.autograd.grad(a, [self.params[k] for k in ks], grad_outputs=g,
                                 retain_graph=True, allow_unused=True)
        return {k: (np.zeros(self.grads[k].shape, np.float32) if d is None
                    else d.numpy().astype(np.float32))
                for k, d in zip(ks, ds)}

    def explain(self, got):
        """Greedily flip near-kink decisions while that lowers the worst
        error.  Returns (errors, [flipped candidates]).  The common case,
        one flip that explains every error, is looked for first, nearest
        candidate first: each delta is a backward pass through the graph."""
        cands = self.kink_candidates()
        deltas = []
        for j, cand in enumerate(cands):
            deltas.append(self.flip_delta(cand))
            e = self.errors(got, {k: self.grads[k] + deltas[j][k] for k in self.grads})
            if max(e.values()) <= TOL_GRAD:
                return e, [(j,) + cand]
        ref = dict(self.grads)
        chosen = []
        errs = self.errors(got, ref)
        while max(errs.values()) > TOL_GRAD and len(chosen) < MAX_FLIPS:
            best = None
            for j, d in enumerate(deltas):
                if j in chosen:
                    continue
                e = self.errors(got, {k: ref[k] + d[k] for k in ref})
                if best is None or max(e.values()) < max(best[1].values()):
                    best = (j, e)
            if best is None or max(best[1].values()) >= max(errs.values()):
                break
            chosen.append(best[0])
            ref = {k: ref[k] + deltas[best[0]][k] for k in ref}
            errs = best[1]
        return errs, [(j,) + cands[j] for j in chosen]


def reference_eval_logits(model32, x):
    m = copy.deepcopy(model32).double().eval()
    with torch.no_grad():
        return m(torch.from_numpy(x).double()).numpy()


# --------------------------------------------------------------------------
# running the binary

class Binary:
    def __init__(self, path, flags, timeout):
        self.path = path
        self.flags = flags  # the backend or device options of forward and grad
        self.timeout = timeout

    def run(self, *argv, backend=True):
        cmd = [self.path] + list(argv)
        if backend:
            cmd += self.flags
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            return "`%s` failed: %s" % (" ".join(cmd), e)
        if p.returncode != 0:
            err = p.stderr.decode("utf-8", "replace").strip() or "(no stderr)"
            return "`%s` exited %d: %s" % (" ".join(cmd), p.returncode, err[-2000:])
        return None


def check_logits(what, path, ref, n, classes):
    try:
        y = st.load_npy(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file is a failure
        tap(False, what, "cannot read %s: %s" % (path, e))
        return
    if y.dtype != np.float32 or y.shape != (n, classes):
        tap(False, what, "got %s %s, want float32 %s" % (y.dtype, list(y.shape), [n, classes]))
        return
    e = rel_err(y, ref)
    tap(e <= TOL_LOGITS and np.all(np.isfinite(y)),
        "%s within %.0e (rel err %.2e)" % (what, TOL_LOGITS, e), "rel err %.3e" % e)


def check_grads(tag, path, oracle, verbose):
    want = {k: (p.shape, np.float32) for k, p in oracle.grads.items()}
    want["loss"] = ((), np.float32)
    try:
        got = st.load_safetensors(path)
    except Exception as e:  # noqa: BLE001
        tap(False, "%s: grad output readable" % tag, "%s: %s" % (path, e))
        return
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    wrong = ["%s %s %s" % (k, got[k].dtype, list(got[k].shape)) for k in want
             if k in got and (got[k].dtype != want[k][1] or got[k].shape != tuple(want[k][0]))]
    tap(not (missing or extra or wrong),
        "%s: grad output has every parameter key + loss, PyTorch shapes, F32 (%d tensors)"
        % (tag, len(want)),
        "missing %s; extra %s; wrong dtype/shape %s" % (missing[:5], extra[:5], wrong[:5]))

    ref_loss = float(oracle.loss.detach())
    if "loss" in got and got["loss"].shape == ():
        e = abs(float(got["loss"]) - ref_loss) / abs(ref_loss)
        tap(e <= TOL_LOSS, "%s: loss %.6f within %.0e (rel err %.2e)" % (tag, ref_loss, TOL_LOSS, e),
            "got %r, want %.8f, rel err %.3e" % (float(got["loss"]), ref_loss, e))
    else:
        tap(False, "%s: loss" % tag, "no 0-d loss tensor")

    keys = [k for k in oracle.grads if k in got and got[k].shape == oracle.grads[k].shape]
    if len(keys) != len(oracle.grads):
        tap(False, "%s: gradients within %.0e" % (tag, TOL_GRAD), "grad file incomplete")
        return
    if not all(np.all(np.isfinite(got[k])) for k in keys):
        tap(False, "%s: gradients within %.0e" % (tag, TOL_GRAD),
            "non-finite values in %s" % [k for k in keys if not np.all(np.isfinite(got[k]))][:5])
        return
    errs = oracle.errors(got)
    flips = []
    if max(errs.values()) > TOL_GRAD:
        comment("plain gradient check fails (worst %.2e); looking for near-kink decisions"
                % max(errs.values()))
        errs2, flips = oracle.explain(got)
        if max(errs2.values()) <= TOL_GRAD:
            errs = errs2
        else:
            comment("no set of at most %d near-kink decisions explains the difference"
                    % MAX_FLIPS)
            flips = []
    conditioned = []
    if max(errs.values()) > TOL_GRAD:
        torch32 = oracle.float32_errors()
        for k, e in errs.items():
            if e > TOL_GRAD and e <= FLOAT32_MARGIN * torch32[k]:
                conditioned.append((k, e, torch32[k]))
                errs[k] = 0.0
    if verbose:
        for k in keys:
            comment("%-40s rel err %.2e" % (k, errs[k]))
    worst = sorted(errs.items(), key=lambda kv: -kv[1])
    what = "%s: all %d parameter gradients within %.0e (worst %.2e %s)" % (
        tag, len(keys), TOL_GRAD, worst[0][1], worst[0][0])
    if flips:
        what += ", after %d near-kink decision(s) taken the other way" % len(flips)
        for rank, z, name, i, _, _, kink, _ in flips:
            comment("flipped %s input%s: %.3g rounding errors from the kink at %g "
                    "(candidate %d of %d)" % (name, list(i), z, kink, rank + 1, KINK_CANDIDATES))
    for k, e, e32 in conditioned:
        what += ", %s at %.2e where PyTorch's own float32 is at %.2e" % (k, e, e32)
    bad = [(k, e) for k, e in worst if e > TOL_GRAD]
    tap(not bad, what, "%d tensors over: %s" % (
        len(bad), ", ".join("%s %.2e" % kv for kv in bad[:8])))


def check_export(tag, binary, tmp, model):
    path = os.path.join(tmp, "export.safetensors")
    err = binary.run("export", "--output", path, "--seed", "1", backend=False)
    if err:
        tap(False, "%s: export" % tag, err)
        return
    try:
        got = st.load_safetensors(path)
    except Exception as e:  # noqa: BLE001
        tap(False, "%s: export readable" % tag, e)
        return
    want = {k: ("I64" if v.dtype == torch.int64 else "F32", list(v.shape))
            for k, v in model.state_dict().items()}
    have = st.describe(path)
    diffs = ["missing " + k for k in want if k not in have]
    diffs += ["extra " + k for k in have if k not in want]
    diffs += ["%s is %s %s, want %s %s" % (k, have[k][0], have[k][1], want[k][0], want[k][1])
              for k in want if k in have and have[k] != want[k]]
    tap(not diffs, "%s: export has exactly the state_dict keys, shapes, dtypes (%d tensors)"
        % (tag, len(want)), "; ".join(diffs[:6]) + (" ..." if len(diffs) > 6 else ""))
    if diffs:
        return

    bad = []
    modules = dict(model.named_modules())
    for name, m in modules.items():
        std = getattr(m, "bz_init_std", None)
        if std is not None:
            # trunc_normal(0, std) over >= 256 values: sample std within 15%
            # except with negligible probability; bias exactly 0
            a = got[name + ".weight"].astype(np.float64)
            if not (0.85 * std <= a.std() <= 1.15 * std and abs(a.mean()) < 0.2 * std):
                bad.append("%s.weight mean %.3g std %.4g: not N(0, %g)" % (name, a.mean(), a.std(), std))
            if name + ".bias" in got and np.any(got[name + ".bias"] != 0):
                bad.append("%s.bias is not all 0" % name)
        elif isinstance(m, (nn.Conv2d, nn.Linear)):
            w = got[name + ".weight"].astype(np.float64)
            fan_in = w[0].size
            bound = 1.0 / math.sqrt(fan_in)
            for pn in ("weight", "bias"):
                k = "%s.%s" % (name, pn)
                if k not in got:
                    continue
                a = got[k].astype(np.float64)
                if np.max(np.abs(a)) > bound * (1 + 1e-6):
                    bad.append("%s max|x| %.4g > 1/sqrt(%d)" % (k, np.max(np.abs(a)), fan_in))
                if a.size >= 256:
                    # U(-b, b) of this size: max|x|/b > 0.9 and std/b in [0.5, 0.65]
                    # except with probability < 1e-10; catches zero or tiny init
                    if np.max(np.abs(a)) < 0.9 * bound or not (0.5 * bound <= a.std() <= 0.65 * bound):
                        bad.append("%s std %.4g, max|x| %.4g: not U(-b, b), b = %.4g"
                                   % (k, a.std(), np.max(np.abs(a)), bound))
        elif isinstance(m, nn.BatchNorm2d):
            for pn, v in (("weight", 1), ("bias", 0), ("running_mean", 0), ("running_var", 1),
                          ("num_batches_tracked", 0)):
                k = "%s.%s" % (name, pn)
                if not np.all(got[k] == v):
                    bad.append("%s is not all %g" % (k, v))
        else:
            # constant-initialised parameters (LayerScale2d gamma = 1e-5)
            for pn, p in m.named_parameters(recurse=False):
                k = "%s.%s" % (name, pn)
                want = getattr(model, "initial_constants", {}).get(k, p.detach())
                if not np.array_equal(got[k], want.numpy().astype(np.float32)):
                    bad.append("%s is not its constant initial value" % k)
    tap(not bad, "%s: export init: conv/linear within 1/sqrt(fan_in) (or trunc-normal where the "
        "original says so), BN weight 1, bias 0, "
        "running stats 0/1, constants as the original" % tag, "; ".join(bad[:6]))


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description="PyTorch parity test of a BlockZoo binary")
    ap.add_argument("--binary", required=True)
    ap.add_argument("--block", required=True, help="InvertedResidual or inverted_residual, ...")
    ap.add_argument("--position", required=True, choices=scaffold.POSITIONS)
    ap.add_argument("--num-blocks", type=int, default=3)
    ap.add_argument("--base-channels", type=int, default=64)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--input-size", type=int, default=32)
    ap.add_argument("--backend", choices=("reference", "optimised"), default=None,
                    help="passed to forward and grad; default: the binary's default")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="cuda: forward and grad on the GPU in fp32 (not with --backend)")
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=600, help="seconds per binary command")
    ap.add_argument("--no-export", action="store_true", help="skip the export checks")
    ap.add_argument("--keep", action="store_true", help="keep (and print) the temporary directory")
    ap.add_argument("--verbose", action="store_true", help="print every gradient's error")
    args = ap.parse_args()
    args.block = scaffold.block_name(args.block)
    if args.device == "cuda" and args.backend:
        ap.error("--backend chooses a CPU backend; it cannot go with --device cuda")
    torch.set_num_threads(min(torch.get_num_threads(), 8))

    tag = "%s %s nb%d bc%d c%d in%d [%s]" % (
        args.block, args.position, args.num_blocks, args.base_channels, args.classes,
        args.input_size, "cuda fp32" if args.device == "cuda" else args.backend or "default backend")
    flags = ["--backend", args.backend] if args.backend else []
    if args.device == "cuda":
        flags = ["--device", "cuda", "--precision", "fp32"]
    binary = Binary(args.binary, flags, args.timeout)
    if not os.access(args.binary, os.X_OK):
        tap(False, "%s: binary exists" % tag, "%s is not an executable file" % args.binary)
        return 1

    model = make_model(args)
    x, labels = make_data(args)
    tmp = tempfile.mkdtemp(prefix="bz_parity_")
    try:
        w = os.path.join(tmp, "weights.safetensors")
        xp, lp = os.path.join(tmp, "x.npy"), os.path.join(tmp, "labels.npy")
        st.save_safetensors(w, state_dict_numpy(model))
        st.save_npy(xp, x)
        st.save_npy(lp, labels)

        # eval-mode logits (running statistics), by the train graph and by
        # the deploy graph (BatchNorms folded, branches re-parameterised)
        eval_ref = reference_eval_logits(model, x)
        for what, flags in (("eval logits", []), ("deploy-graph logits", ["--deploy"])):
            yp = os.path.join(tmp, "y_eval.npy")
            err = binary.run("forward", "--weights", w, "--input", xp, "--output", yp, *flags)
            if err:
                tap(False, "%s: forward %s" % (tag, " ".join(flags) or "(eval)"), err)
            else:
                check_logits("%s: %s" % (tag, what), yp, eval_ref, args.batch, args.classes)

        oracle = GradientOracle(model, x, labels)

        # train-mode logits (batch statistics)
        yp = os.path.join(tmp, "y_train.npy")
        err = binary.run("forward", "--weights", w, "--input", xp, "--output", yp, "--train")
        if err:
            tap(False, "%s: forward --train" % tag, err)
        else:
            check_logits("%s: train logits" % tag, yp, oracle.logits.detach().numpy(),
                         args.batch, args.classes)

        # loss and gradients
        gp = os.path.join(tmp, "grads.safetensors")
        err = binary.run("grad", "--weights", w, "--input", xp, "--labels", lp, "--output", gp)
        if err:
            tap(False, "%s: grad" % tag, err)
        else:
            check_grads(tag, gp, oracle, args.verbose)

        if not args.no_export:
            check_export(tag, binary, tmp, model)
    finally:
        if args.keep:
            comment("files kept in " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
