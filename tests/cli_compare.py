"""Relative difference of two .npy files: max |a - b| / max |b| <= TOL.
Prints the error.
Usage: cli_compare.py A B TOL"""
import sys

import numpy as np


def rel_err(a, b):
    if a.shape != b.shape:
        return float("inf")
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)) if a.size else 0.0


tol = float(sys.argv[3])
err = rel_err(np.load(sys.argv[1]), np.load(sys.argv[2]))
print("%.3g" % err)
sys.exit(0 if err <= tol else 1)
