"""Relative difference of two .npy or two .safetensors files:
max |a - b| / max |b| <= TOL (for safetensors, the worst tensor's, each
against at least a thousandth of the largest |b| in the file: a conv's
bias before a BatchNorm has a gradient of zero in exact arithmetic, whose
float residue, 1e-8 against gradients of 1, differed by its own size
between the CUDA and CPU backends on an H200).
Prints the error (and the worst tensor's key).
Usage: cli_compare.py A B TOL"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "torch_ref"))
import st  # noqa: E402


def rel_err(a, b, floor=1e-12):
    if a.shape != b.shape:
        return float("inf")
    return float(np.abs(a - b).max() / max(np.abs(b).max(), floor)) if a.size else 0.0


tol = float(sys.argv[3])
if sys.argv[1].endswith(".safetensors"):
    a, b = st.load_safetensors(sys.argv[1]), st.load_safetensors(sys.argv[2])
    if sorted(a) != sorted(b):
        print("different keys")
        sys.exit(1)
    a = {k: v.astype(np.float64) for k, v in a.items()}
    b = {k: v.astype(np.float64) for k, v in b.items()}
    floor = max([1e-12] + [1e-3 * np.abs(v).max() for v in b.values() if v.size])
    key = max(a, key=lambda k: rel_err(a[k], b[k], floor))
    err = rel_err(a[key], b[key], floor)
    print("%.3g (%s)" % (err, key))
else:
    err = rel_err(np.load(sys.argv[1]), np.load(sys.argv[2]))
    print("%.3g" % err)
sys.exit(0 if err <= tol else 1)
