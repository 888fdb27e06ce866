#!/usr/bin/env python3
"""compare_masks.py MODEL.onnx A.masks.npz B.masks.npz: the masks of block 0
(weights read by nodes named ".../layers.0/...") must be equal, and some
mask element of the later blocks must differ (prune-sequential-stories.test).
Exits 1 otherwise."""
import re, sys

import numpy as np
import onnx

m = onnx.load(sys.argv[1], load_external_data=False)
layer = {}
for n in m.graph.node:
    hit = re.search(r"layers\.(\d+)/", n.name)
    for i in n.input:
        if hit:
            layer.setdefault(i, int(hit.group(1)))
a, b = np.load(sys.argv[2]), np.load(sys.argv[3])
assert sorted(a.files) == sorted(b.files), (a.files, b.files)
blocks = {k: layer.get(k, -1) for k in a.files}
l0 = [k for k in a.files if blocks[k] == 0]
later = [k for k in a.files if blocks[k] > 0]
assert l0 and later, blocks
same = all(np.array_equal(a[k], b[k]) for k in l0)
diff = sum(int((a[k] != b[k]).sum()) for k in later)
print(f"block 0: {len(l0)} masks {'equal' if same else 'DIFFER'}; "
      f"later blocks: {diff} mask elements differ")
sys.exit(0 if same and diff > 0 else 1)
