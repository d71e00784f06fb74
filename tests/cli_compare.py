"""Relative difference of two .npy files: max |a - b| / max |b| <= TOL.
Usage: cli_compare.py A.npy B.npy TOL"""
import sys

import numpy as np

a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
err = float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))
print("%.3g" % err)
sys.exit(0 if a.shape == b.shape and err <= float(sys.argv[3]) else 1)
