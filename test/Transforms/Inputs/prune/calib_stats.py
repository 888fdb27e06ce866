"""Writes a tfc-calibrate stats file (version 1: JSON + .bin sidecar, the
format of include/tfc/Calibration/Stats.h) from hand-given calibration rows,
for the --tfc-prune wanda / sparsegpt tests.

    write_stats(out, [(name, ops, X[, with_hessian]), ...], hessians=True)

X: [rows, k] inputs of the ops `ops` read; channel_sq_norms = sum_rows x^2
and (hessians, unless the tensor's with_hessian is False) H = X^T X, as
tfc-calibrate accumulates them."""
import json
import struct

import numpy as np


def write_stats(out, tensors, hessians=True):
    blobs, recs, off = [], [], 64
    for name, ops, x, *flag in tensors:
        x = np.asarray(x, np.float64)
        k = x.shape[1]
        rec = {"name": name, "ops": list(ops), "k": k, "rows": x.shape[0],
               "min": float(x.min()), "max": float(x.max()),
               "clip": {m: float(np.abs(x).max()) for m in
                        ("minmax", "p99.9", "p99.99", "p99.999", "mse")}}
        rec["channel_sq_norms"] = {"offset": off, "shape": [k]}
        blobs.append((off, (x * x).sum(0)))
        off = (off + 8 * k + 63) // 64 * 64
        if hessians and (not flag or flag[0]):
            rec["hessian"] = {"offset": off, "shape": [k, k]}
            blobs.append((off, (x.T @ x).ravel()))
            off = (off + 8 * k * k + 63) // 64 * 64
        recs.append(rec)
    data = bytearray(off)
    data[0:24] = b"TFCCALB1" + struct.pack("<IIQ", 1, 0, off)
    for o, vals in blobs:
        data[o:o + 8 * len(vals)] = np.asarray(vals, "<f8").tobytes()
    with open(out + ".bin", "wb") as f:
        f.write(bytes(data))
    doc = {"format": "tfc-calib-stats", "version": 1, "model": "m",
           "samples": 1, "sidecar": out.split("/")[-1] + ".bin",
           "tensors": recs}
    with open(out, "w") as f:
        f.write(json.dumps(doc, indent=1) + "\n")
