#!/usr/bin/env python3
"""Fit the GELU epilogue's tables and check them the way the kernels evaluate
them, in float32: AVX-512 (lib/Runtime/Linear/EpilogueAvx512.cpp, kGeluTab:
the defaults, 16 intervals, degree 5) and AVX2 (EpilogueAvx2.cpp, kGeluTab8:
--intervals 8 --degree 6, vpermps's 8 lanes).

g(a) = erf(a / sqrt(2)) / 2 on a = |x| in [0, R] as N polynomials of degree D
in u = s - i, s = a / h (h = R / (N - 1), intervals centred on i * h,
|u| <= 0.5), least squares on Chebyshev nodes in float64. GELU is then
x / 2 + |x| g(|x|). Prints the worst errors over x in [-30, 30] and, with
--print, the table rows (u^D ... u^0, one lane per interval).

  .venv/bin/python scripts/fit_gelu_table.py [--range 6] [--intervals 16]
      [--degree 5] [--print]
"""
import argparse
import math

import numpy as np


def fit(r, n, deg):
    h = r / (n - 1)
    k = np.arange(400)
    u = -0.5 + 0.5 * (1 - np.cos(np.pi * (k + 0.5) / 400))
    g = np.vectorize(lambda v: 0.5 * math.erf(v / math.sqrt(2)))
    rows = [np.polyfit(u, g((i + u) * h), deg) for i in range(n)]
    tab = np.array(rows).T.astype(np.float32)  # [deg + 1, n]
    tab[np.abs(tab) < 1e-12] = 0  # node 0's even terms: g is odd
    return h, tab


def gelu32(x, h, tab):
    """The kernel's arithmetic: float32, each FMA rounded once."""
    f32 = np.float32

    def fma(a, b, c):
        return f32(a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64))

    n = tab.shape[1]
    a = np.abs(x)
    s = np.minimum(f32(a * f32(1 / h)), f32(n - 1))
    t = f32(s + f32(2.0**23))
    u = f32(s - f32(t - f32(2.0**23)))
    idx = (t - f32(2.0**23)).astype(np.int64)
    p = tab[0][idx]
    for j in range(1, tab.shape[0]):
        p = fma(p, u, tab[j][idx])
    return fma(a, p, f32(f32(0.5) * x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--range", type=float, default=6.0)
    ap.add_argument("--intervals", type=int, default=16)
    ap.add_argument("--degree", type=int, default=5)
    ap.add_argument("--print", action="store_true")
    args = ap.parse_args()
    h, tab = fit(args.range, args.intervals, args.degree)
    xs = np.concatenate([np.arange(-30, 30, 0.0137), np.arange(-3, 3, 1.1e-4),
                         np.random.RandomState(0).randn(100000) * 2]).astype(np.float32)
    y = gelu32(xs, h, tab).astype(np.float64)
    xd = xs.astype(np.float64)
    want = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in xd])
    err = np.abs(y - want)
    nz = xd != 0
    print(f"h {h:.9g}: max |err| / |x| {np.max(err[nz] / np.abs(xd[nz])):.3e}; "
          f"max relative error for x >= -1: "
          f"{np.max(err[nz & (xd >= -1)] / np.abs(want[nz & (xd >= -1)])):.3e}")
    if args.print:
        for row in tab:
            print("    {" + ", ".join(f"{v:.9e}f" if v else "0.0f" for v in row) + "},")


if __name__ == "__main__":
    main()
