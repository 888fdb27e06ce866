"""Writes a version-1 calibration stats file (JSON + .bin sidecar) for the
tensors of Inputs/calib/model.mlir with random positive definite Hessians,
in the format of include/tfc/Calibration/Stats.h. Usage: make_stats.py OUT
[--truncate] [--bad-magic]"""
import json
import random
import struct
import sys

out = sys.argv[1]
random.seed(7)
tensors = [("fc1", 8), ("mlp", 8), ("mlp#down", 16)]
blobs, recs, off = [], [], 64
for name, k in tensors:
    rows = [[random.gauss(0, 1) for _ in range(k)] for _ in range(3 * k)]
    h = [[sum(r[i] * r[j] for r in rows) for j in range(k)] for i in range(k)]
    norms = [h[i][i] for i in range(k)]
    rec = {"name": name, "ops": [name], "k": k, "rows": len(rows),
           "min": -3.0, "max": 3.0,
           "clip": {"minmax": 3.0, "p99.9": 2.9, "p99.99": 2.95,
                    "p99.999": 2.99, "mse": 2.5}}
    rec["channel_sq_norms"] = {"offset": off, "shape": [k]}
    blobs.append((off, norms))
    off = (off + 8 * k + 63) // 64 * 64
    rec["hessian"] = {"offset": off, "shape": [k, k]}
    blobs.append((off, [v for row in h for v in row]))
    off = (off + 8 * k * k + 63) // 64 * 64
    recs.append(rec)
data = bytearray(off)
magic = b"TFCBAD!!" if "--bad-magic" in sys.argv else b"TFCCALB1"
data[0:24] = magic + struct.pack("<IIQ", 1, 0, off)
for o, vals in blobs:
    data[o:o + 8 * len(vals)] = struct.pack("<%dd" % len(vals), *vals)
if "--truncate" in sys.argv:
    data = data[:off // 2]
open(out + ".bin", "wb").write(bytes(data))
doc = {"format": "tfc-calib-stats", "version": 1, "model": "m", "samples": 1,
       "sidecar": out.split("/")[-1] + ".bin", "tensors": recs}
open(out, "w").write(json.dumps(doc, indent=1) + "\n")
