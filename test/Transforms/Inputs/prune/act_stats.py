"""Stats for prune-structured-act.mlir: hand-written calibration rows of
the inputs the activation-weighted structured scores read. Usage:
act_stats.py OUT [--no-o-proj]

mlp#down (gated MLP, 4 channels): squared norms [100, 1, 1, 0.01]
  (||h_j|| = 10, 1, 1, 0.1).
down (BERT-style MLP's down linear, 4 channels): [0.01, 100, 1, 1].
o_proj (2 heads of 2: the attention's merged output): [100, 100, 1, 1]
  (head 0 carries the activations).
The gate / up / q / k / v inputs are not read (and not written here)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calib_stats import write_stats  # noqa: E402


def diag(v):
    return [[v[i] if i == j else 0 for j in range(len(v))] for i in range(len(v))]


tensors = [("h", ["mlp#down"], diag([10, 1, 1, 0.1])),
           ("g", ["down"], diag([0.1, 10, 1, 1]))]
if "--no-o-proj" not in sys.argv:
    tensors.append(("m", ["o_proj"], diag([10, 10, 1, 1])))
write_stats(sys.argv[1], tensors, hessians=False)
