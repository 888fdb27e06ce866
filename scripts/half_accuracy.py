#!/usr/bin/env python3
"""How far a float16 ONNX node test's outputs are from the same graph
evaluated in float32 -- for the suite's reference, ONNX Runtime (float16) and
tfc (docs/IMPORT.md, "Wrong answers"; docs/DESIGN.md "Half precision sums in
f32").

  scripts/onnx_node_suite.py --filter '^TEST$'     # compiles and runs tfc
  scripts/half_accuracy.py TEST [--data DIR] [--work DIR]

The float32 evaluation is ONNX Runtime on a copy of the model with every
float16 type, Cast target and constant turned into float32.
"""
import argparse
import glob
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper as nh
import onnxruntime as ort
from onnx import TensorProto

ROOT = Path(__file__).resolve().parent.parent
ap = argparse.ArgumentParser()
ap.add_argument("test")
ap.add_argument("--data", type=Path, default=ROOT / ".cache" / "onnx-node-tests" / "node")
ap.add_argument("--work", type=Path, default=Path("/tmp/tfc-onnx-node"))
a = ap.parse_args()

d = a.data / a.test
m16 = onnx.load(str(d / "model.onnx"))
for o in m16.opset_import:  # tfc's suite lowers newer opsets to 21 likewise
    if o.domain in ("", "ai.onnx") and o.version > 21:
        o.version = 21
names = [i.name for i in m16.graph.input]
ins = [nh.to_array(onnx.load_tensor(f))
       for f in sorted(glob.glob(str(d / "test_data_set_0" / "input_*.pb")))]
refs = [nh.to_array(onnx.load_tensor(f))
        for f in sorted(glob.glob(str(d / "test_data_set_0" / "output_*.pb")))]

m32 = onnx.ModelProto()
m32.CopyFrom(m16)
g = m32.graph
for vi in list(g.input) + list(g.output) + list(g.value_info):
    if vi.type.tensor_type.elem_type == TensorProto.FLOAT16:
        vi.type.tensor_type.elem_type = TensorProto.FLOAT
for n in g.node:
    for at in n.attribute:
        if at.name == "to" and at.i == TensorProto.FLOAT16:
            at.i = TensorProto.FLOAT
        if at.name == "value" and at.t.data_type == TensorProto.FLOAT16:
            at.t.CopyFrom(nh.from_array(nh.to_array(at.t).astype(np.float32), at.t.name))
so = ort.SessionOptions()
so.log_severity_level = 3
f32 = ort.InferenceSession(m32.SerializeToString(), so).run(
    None, {n: x.astype(np.float32) if x.dtype == np.float16 else x
           for n, x in zip(names, ins)})
o16 = ort.InferenceSession(m16.SerializeToString(), so).run(None, dict(zip(names, ins)))
tfc_out = np.load(a.work / a.test / "out.npz")
for k, out in enumerate(m16.graph.output):
    if out.type.tensor_type.elem_type != TensorProto.FLOAT16:
        continue
    exact = f32[k].astype(np.float64)
    print(f"{out.name}: max |x - float32 evaluation|")
    for who, v in (("suite reference", refs[k]), ("ONNX Runtime fp16", o16[k]),
                   ("tfc", tfc_out[out.name])):
        e = np.abs(v.astype(np.float64) - exact)
        print(f"  {who:18s} max {e.max():.3g}  mean {e.mean():.3g}")
