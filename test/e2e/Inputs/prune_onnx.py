#!/usr/bin/env python3
"""Makes a magnitude-pruned copy of an ONNX model for the sparse-kernel tests.

Every 2-D float initializer used as a MatMul B ([k, n]) or a Gemm B ([k, n],
or [n, k] with transB) is pruned: `--sparsity S` zeroes its S smallest |w|
(unstructured, per tensor); `--nm 2:4` keeps the 2 largest |w| of every
group of 4 consecutive k of each output column. Weights also used by a
Gather (a tied embedding) are left alone. Also writes `--inputs` (case
`--case` of the model's .ref.npz without its prefix) and `--ort` (ONNX
Runtime's outputs on the pruned model, for tfc-run --reference).
"""
import argparse, re

import numpy as np
import onnx
from onnx import numpy_helper

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("model")
p.add_argument("out")
p.add_argument("--sparsity", type=float, default=0.0)
p.add_argument("--nm", default="")
p.add_argument("--case", type=int, default=0)
p.add_argument("--inputs", required=True)
p.add_argument("--ort", default="")
a = p.parse_args()

m = onnx.load(a.model)
inits = {i.name: i for i in m.graph.initializer}
gathered = {n.input[0] for n in m.graph.node if n.op_type == "Gather"}
# name -> True when stored [n, k] (Gemm transB)
targets = {}
for n in m.graph.node:
    if n.op_type in ("MatMul", "Gemm") and len(n.input) > 1:
        b = n.input[1]
        if b in inits and len(inits[b].dims) == 2 and b not in gathered:
            tb = any(x.name == "transB" and x.i for x in n.attribute)
            targets[b] = n.op_type == "Gemm" and tb
for name, nk in targets.items():
    w = numpy_helper.to_array(inits[name]).astype(np.float32)
    w = w.T if nk else w  # [k, n]
    if a.nm:
        keep, group = (int(v) for v in a.nm.split(":"))
        k, n = w.shape
        kp = (k + group - 1) // group * group
        pad = np.zeros((kp, n), np.float32)
        pad[:k] = w
        g = pad.reshape(kp // group, group, n)
        order = np.argsort(-np.abs(g), axis=1, kind="stable")
        mask = np.zeros_like(g, dtype=bool)
        np.put_along_axis(mask, order[:, :keep, :], True, axis=1)
        w = (g * mask).reshape(kp, n)[:k]
    elif a.sparsity > 0:
        t = np.quantile(np.abs(w), a.sparsity)
        w = np.where(np.abs(w) <= t, np.float32(0), w)
    w = np.ascontiguousarray(w.T if nk else w)
    inits[name].CopyFrom(numpy_helper.from_array(w, name))
onnx.save(m, a.out)
print(f"pruned {len(targets)} weights")

ref = np.load(re.sub(r"\.onnx$", ".ref.npz", a.model))
prefix = f"case{a.case}_"
names = [i.name for i in m.graph.input if i.name not in inits]
feeds = {k[len(prefix):]: ref[k] for k in ref.files
         if k.startswith(prefix) and k[len(prefix):] in names}
np.savez(a.inputs, **feeds)
if a.ort:
    import onnxruntime as ort
    s = ort.InferenceSession(a.out, providers=["CPUExecutionProvider"])
    outs = s.run(None, feeds)
    np.savez(a.ort, **{o.name: v for o, v in zip(s.get_outputs(), outs)})
