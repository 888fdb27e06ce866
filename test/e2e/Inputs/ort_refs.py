#!/usr/bin/env python3
"""ort_refs.py MODEL.onnx INPUTS.npz OUT.npz: run MODEL with ONNX Runtime on
every case<k>_ input set of INPUTS.npz (the model's input names) and write
the inputs plus case<k>_<output> to OUT.npz, a --reference for tfc-run."""
import re
import sys

import numpy as np
import onnxruntime as ort

model, inputs, out = sys.argv[1:4]
src = np.load(inputs)
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
names = [i.name for i in sess.get_inputs()]
cases = sorted({int(m.group(1)) for k in src.files if (m := re.match(r"case(\d+)_", k))})
res = {}
for c in cases:
    feed = {n: src[f"case{c}_{n}"] for n in names}
    for n, v in feed.items():
        res[f"case{c}_{n}"] = v
    for o, v in zip(sess.get_outputs(), sess.run(None, feed)):
        res[f"case{c}_{o.name}"] = v
np.savez(out, **res)
print(f"ort_refs: {len(cases)} cases of {model}")
