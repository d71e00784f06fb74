# BlockZoo's README, "Analysis Examples": its snippets as written there,
# run on a sweep's results/results.csv (the working directory is set so
# that the path resolves).  Only `import matplotlib.pyplot as plt` is left
# out: the snippets do not use it and Debian's pandas does not need it.
# After them, the generality scores are compared with the report's.
import json
import sys

import pandas as pd

# Load results
df = pd.read_csv('results/results.csv')

# Position-wise analysis
position_analysis = df.groupby(['block', 'position']).agg({
    'val_acc': 'mean',
    'params_total': 'mean',
    'latency_ms': 'mean',
    'flops': 'mean'
}).round(4)

print(position_analysis)

# Calculate generality scores for each block
def calculate_generality(group):
    """Calculate generality as MeanPos / (1 + VarPos)."""
    mean_acc = group['val_acc'].mean()
    var_acc = group['val_acc'].var()
    return mean_acc / (1 + var_acc)

generality_scores = df.groupby('block').apply(calculate_generality)
print("Block generality scores:")
print(generality_scores.sort_values(ascending=False))

# --- the report's numbers must be these ---
report = json.load(open(sys.argv[1]))
assert len(position_analysis) == len(report["groups"]), position_analysis
for g in report["groups"]:
    want = position_analysis.loc[(g["block"], g["position"]), "val_acc"]
    assert abs(round(g["metrics"]["val_acc"]["mean"], 4) - want) < 1e-9, (g, want)
for s in report["generality"]:
    want = generality_scores[s["block"]]
    assert (s["generality"] is None and pd.isna(want)) or abs(s["generality"] - want) < 1e-12, (s, want)
