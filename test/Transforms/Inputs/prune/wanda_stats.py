"""Stats for prune-wanda.mlir: hand-written calibration rows. Usage:
wanda_stats.py OUT [--no-hessians] [--no-down] [--no-down-hessian]

x (read by fc, fct and mlp's gate / up): one row per feature, so the
squared norms are [100, 1, 0.25, 0.01] (||x_j|| = 10, 1, 0.5, 0.1).
mlp#down (k = 4): squared norms [0.01, 1, 1, 100]."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calib_stats import write_stats  # noqa: E402

x = [[10, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 0.1]]
down = [[0.1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 10]]
tensors = [("x", ["fc", "fct", "mlp"], x)]
if "--no-down" not in sys.argv:
    tensors.append(("h", ["mlp#down"], down,
                    "--no-down-hessian" not in sys.argv))
write_stats(sys.argv[1], tensors, hessians="--no-hessians" not in sys.argv)
