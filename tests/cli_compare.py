"""Relative difference of two .npy or two .safetensors files:
max |a - b| / max |b| <= TOL (for safetensors, the worst tensor's).
Prints the error (and the worst tensor's key).
Usage: cli_compare.py A B TOL"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "torch_ref"))
import st  # noqa: E402


def rel_err(a, b):
    if a.shape != b.shape:
        return float("inf")
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)) if a.size else 0.0


tol = float(sys.argv[3])
if sys.argv[1].endswith(".safetensors"):
    a, b = st.load_safetensors(sys.argv[1]), st.load_safetensors(sys.argv[2])
    if sorted(a) != sorted(b):
        print("different keys")
        sys.exit(1)
    key = max(a, key=lambda k: rel_err(a[k].astype(np.float64), b[k].astype(np.float64)))
    err = rel_err(a[key].astype(np.float64), b[key].astype(np.float64))
    print("%.3g (%s)" % (err, key))
else:
    err = rel_err(np.load(sys.argv[1]), np.load(sys.argv[2]))
    print("%.3g" % err)
sys.exit(0 if err <= tol else 1)
