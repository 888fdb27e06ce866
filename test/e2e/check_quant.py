#!/usr/bin/env python3
"""Runs a compiled model on every case of a reference .npz and checks each
output's max |tfc - ref| (and optionally the mean) against a per-output
bound. Used by the quantized-import tests, where the bound comes from the
integer rounding (one code step x scale, docs/ACCURACY.md "Quantized models
from other tools") rather than a relative tolerance.

  check_quant.py --tfc-run tfc-run --so m.so --ref m.ref.npz --atol A
                 [--tol NAME=A ...] [--mean M] [--prefix-cases 0 1 ...]
Prints one line per case and output; exits 1 when any check fails."""
import argparse
import re
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--tfc-run", required=True)
p.add_argument("--so", required=True)
p.add_argument("--ref", required=True)
p.add_argument("--atol", type=float, required=True, help="bound on max |err| of every output")
p.add_argument("--tol", nargs="*", default=[], help="NAME=A: another bound for output NAME")
p.add_argument("--mean", type=float, default=None, help="bound on the mean |err| of every output")
a = p.parse_args()
tols = dict(t.split("=", 1) for t in a.tol)
with zipfile.ZipFile(a.ref) as z:
    keys = [n[:-4] for n in z.namelist()]
cases = sorted({int(m.group(1)) for k in keys if (m := re.match(r"case(\d+)_", k))})
ref = np.load(a.ref)
failed = 0
with tempfile.TemporaryDirectory() as tmp:
    for k in cases:
        out = f"{tmp}/out{k}.npz"
        r = subprocess.run([a.tfc_run, a.so, "--inputs", a.ref, "--prefix", f"case{k}_",
                            "--outputs", out], capture_output=True, text=True)
        if r.returncode:
            print(f"case{k}: tfc-run failed: {r.stderr.strip()}")
            failed += 1
            continue
        got = np.load(out)
        for name in got.files:
            want = ref[f"case{k}_{name}"].astype(np.float64)
            err = np.abs(got[name].astype(np.float64) - want)
            bound = float(tols.get(name, a.atol))
            ok = err.max() <= bound and (a.mean is None or err.mean() <= a.mean)
            failed += not ok
            print(f"case{k} '{name}': max abs err {err.max():.3g} (bound {bound:g}), "
                  f"mean {err.mean():.3g}{'' if a.mean is None else f' (bound {a.mean:g})'}: "
                  f"{'PASS' if ok else 'FAIL'}")
sys.exit(1 if failed else 0)
