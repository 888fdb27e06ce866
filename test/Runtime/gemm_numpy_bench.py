"""GFLOP/s of NumPy's matmul (OpenBLAS) on the shapes tfcrt-gemm-bench
measures, for a sanity check of what this machine can do:

    OPENBLAS_NUM_THREADS=1 python gemm_numpy_bench.py [MxNxK[:bB][:t] ...]

Same shape syntax and the same statistic (best of repeated runs) as
tfcrt-gemm-bench. Needs only numpy; not part of the test suite."""
import os
import sys
import time

import numpy as np

DEFAULTS = ["512x512x512", "4096x384x384", "4096x1536x384", "4096x384x1536",
            "4096x384x384:t", "4096x1536x384:t", "1x4096x4096", "4x4096x4096",
            "8x4096x4096", "1x4096x4096:t", "8x4096x4096:t", "1x1536x384",
            "128x128x64:b384", "128x64x128:b384"]


def parse(s):
    parts = s.split(":")
    m, n, k = (int(x) for x in parts[0].split("x"))
    batch, trans = 1, False
    for p in parts[1:]:
        if p == "t":
            trans = True
        elif p.startswith("b"):
            batch = int(p[1:])
    return m, n, k, batch, trans


def main():
    shapes = sys.argv[1:] or DEFAULTS
    rng = np.random.default_rng(0)
    print("numpy %s, OPENBLAS_NUM_THREADS=%s, OPENBLAS_CORETYPE=%s" % (
        np.__version__, os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        os.environ.get("OPENBLAS_CORETYPE", "unset")))
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        print("blas:", cfg.get("name"), cfg.get("version"))
    except Exception:  # older numpy
        pass
    print("%-18s %9s %9s" % ("shape (MxNxK)", "best ms", "GFLOP/s"))
    for s in shapes:
        m, n, k, batch, trans = parse(s)
        a = rng.uniform(-1, 1, (batch, m, k)).astype(np.float32)
        if trans:
            b = rng.uniform(-1, 1, (batch, n, k)).astype(np.float32)
            b = b.transpose(0, 2, 1)
        else:
            b = rng.uniform(-1, 1, (batch, k, n)).astype(np.float32)
        if batch == 1:
            a, b = a[0], b[0]
        out = np.matmul(a, b)
        best, start, reps = float("inf"), time.perf_counter(), 0
        while reps < 3 or (time.perf_counter() - start < 0.5 and reps < 1000):
            t0 = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - t0)
            reps += 1
        print("%-18s %9.3f %9.1f" % (s, best * 1e3,
                                     2.0 * batch * m * n * k / best / 1e9))


if __name__ == "__main__":
    main()
