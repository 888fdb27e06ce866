#!/usr/bin/env python3
"""ONNX Runtime's uint8 x int8 MatMulInteger against the exact integer sum.

  ort_u8s8_check.py

Builds a one-node MatMulInteger model (A uint8 [1, 64] of 255, B int8
[64, 1] of 127, zero points 0: the exact result is 64 * 255 * 127 = 2072640)
and runs it in ONNX Runtime on the CPU. Prints `exact` when ORT returns that,
else `saturated` with its value: on x86-64 without VNNI (AVX2, e.g. the AMD
Zen 3) ORT's u8 x s8 kernel sums pairs of products with vpmaddubsw into
saturating int16 (2 * 255 * 127 = 64770 > 32767), so each pair gives 32767
(32 pairs: 1048544). With AVX512-VNNI / AVX-VNNI (vpdpbusd) the sum is exact.
test/lit.cfg.py's feature ort-u8s8-exact makes the same distinction from the
CPU flags; test/Scripts/ort-u8s8.test checks the two agree. Exit status 0
either way (1 only on an unexpected value)."""
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

k = 64
g = helper.make_graph(
    [helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "u8s8",
    [helper.make_tensor_value_info("a", TensorProto.UINT8, [1, k]),
     helper.make_tensor_value_info("b", TensorProto.INT8, [k, 1])],
    [helper.make_tensor_value_info("y", TensorProto.INT32, [1, 1])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
a = np.full((1, k), 255, np.uint8)
b = np.full((k, 1), 127, np.int8)
y = int(s.run(None, {"a": a, "b": b})[0][0, 0])
exact = k * 255 * 127
if y == exact:
    print(f"exact {y}")
elif y == (k // 2) * 32767:
    print(f"saturated {y} (exact {exact})")
else:
    print(f"unexpected {y} (exact {exact})")
    sys.exit(1)
