#!/usr/bin/env python3
"""Checks a sequential stats file against the one-shot one (prune-sequential-
stories.test): the tensors of block 0 (names containing "layers.0/") equal
in every scalar and in their channel norms; the first tensor of every later
block differs. Exits 1 otherwise."""
import json, re, sys

import numpy as np


def load(path):
    j = json.load(open(path))
    side = open(path + ".bin", "rb").read()
    out = {}
    for t in j["tensors"]:
        o = t["channel_sq_norms"]["offset"]
        norms = np.frombuffer(side, np.float64, t["k"], o)
        out[t["name"]] = (t, norms)
    return out


a, b = load(sys.argv[1]), load(sys.argv[2])
assert list(a) == list(b), (list(a), list(b))
ok = True
first = {}
for name in a:
    m = re.search(r"layers\.(\d+)/", name)
    if not m:
        continue
    blk = int(m.group(1))
    (ta, na), (tb, nb) = a[name], b[name]
    if blk == 0:
        same = all(ta[k] == tb[k] for k in ("rows", "min", "max", "clip")) and np.array_equal(na, nb)
        print(f"{name}: {'equal' if same else 'DIFFERS'}")
        ok &= same
    elif blk not in first:
        first[blk] = name
        differs = not np.array_equal(na, nb)
        print(f"{name}: {'differs' if differs else 'EQUAL'}")
        ok &= differs
ok &= len(first) >= 1
sys.exit(0 if ok else 1)
