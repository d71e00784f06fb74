"""Writes the inputs of tests/t_cli.sh into DIR from the binary's exported
weights DIR/w.safetensors: good and broken weights, inputs and labels.
Usage: cli_inputs.py DIR CLASSES"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "torch_ref"))
import st  # noqa: E402

d, classes = sys.argv[1], int(sys.argv[2])
rng = np.random.RandomState(3)
w = st.load_safetensors(os.path.join(d, "w.safetensors"))
# Random BatchNorm statistics and affine, so eval and deploy are real tests.
for k in w:
    if k.endswith("running_var"):
        w[k] = rng.uniform(0.5, 2.0, w[k].shape).astype(np.float32)
    elif k.endswith("running_mean") or (k.endswith(".bias") and w[k].ndim == 1):
        w[k] = rng.uniform(-0.5, 0.5, w[k].shape).astype(np.float32)
st.save_safetensors(os.path.join(d, "random_bn.safetensors"), w)

renamed = {("stem.0.weightx" if k == "stem.0.weight" else k): v for k, v in w.items()}
st.save_safetensors(os.path.join(d, "wrong_key.safetensors"), renamed)
missing = {k: v for k, v in w.items() if k != "head.2.bias"}
st.save_safetensors(os.path.join(d, "missing_key.safetensors"), missing)
reshaped = dict(w)
reshaped["head.2.weight"] = np.zeros((classes + 1, w["head.2.weight"].shape[1]), np.float32)
st.save_safetensors(os.path.join(d, "wrong_shape.safetensors"), reshaped)
retyped = dict(w)
retyped["stem.1.num_batches_tracked"] = np.zeros((), np.float32)
st.save_safetensors(os.path.join(d, "wrong_dtype.safetensors"), retyped)
data = open(os.path.join(d, "w.safetensors"), "rb").read()
open(os.path.join(d, "truncated.safetensors"), "wb").write(data[: len(data) // 2])

np.save(os.path.join(d, "x.npy"), rng.randn(4, 3, 32, 32).astype(np.float32))
np.save(os.path.join(d, "x_wrong.npy"), rng.randn(4, 3, 28, 28).astype(np.float32))
np.save(os.path.join(d, "labels.npy"), np.arange(4, dtype=np.int64) % classes)
np.save(os.path.join(d, "labels_bad.npy"), np.array([0, 1, classes, 2], np.int64))
np.save(os.path.join(d, "labels_short.npy"), np.array([0, 1], np.int64))
