#!/usr/bin/env python3
"""make_sparse_onnx.py OUT_DIR: two small MLPs whose weights carry zeros
(tfc's detection of imported sparsity, docs/DESIGN.md "Pruning"):
  sparse.onnx  W1 as an ONNX sparse_initializer (2:4 along k, linear
               indices), W2 as one with [NNZ, 2] coordinates (60 % zeros)
  dense0.onnx  the same weights as dense initializers with zeros (what
               torch.nn.utils.prune exports)
and inputs.npz (case0_x) for tfc-run / ort_refs.py."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(3)
k, n = 64, 48
w1 = rng.standard_normal((k, n)).astype(np.float32)
for c in range(n):  # 2:4 along k: zero the 2 smallest of every 4 rows
    for g in range(0, k, 4):
        blk = np.abs(w1[g:g + 4, c])
        w1[g + np.argsort(blk, kind="stable")[:2], c] = 0
w2 = rng.standard_normal((n, k)).astype(np.float32)
w2[np.abs(w2) < np.quantile(np.abs(w2), 0.6)] = 0


def graph(inits, sparse):
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["h"], name="/fc1/MatMul"),
             helper.make_node("Relu", ["h"], ["r"], name="/act/Relu"),
             helper.make_node("MatMul", ["r", "W2"], ["m"], name="/fc2/MatMul"),
             helper.make_node("Relu", ["m"], ["y"], name="/out/Relu")]
    g = helper.make_graph(nodes, "mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", k])],
                          initializer=inits, sparse_initializer=sparse)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def sparse_linear(name, w):
    flat = w.reshape(-1)
    idx = np.nonzero(flat)[0].astype(np.int64)
    vals = numpy_helper.from_array(flat[idx], name)
    return helper.make_sparse_tensor(vals, numpy_helper.from_array(idx, name + "_idx"), w.shape)


def sparse_coo(name, w):
    idx = np.argwhere(w != 0).astype(np.int64)
    vals = numpy_helper.from_array(w[w != 0], name)
    return helper.make_sparse_tensor(vals, numpy_helper.from_array(idx, name + "_idx"), w.shape)


onnx.save(graph([], [sparse_linear("W1", w1), sparse_coo("W2", w2)]), os.path.join(out, "sparse.onnx"))
onnx.save(graph([numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2")], []),
          os.path.join(out, "dense0.onnx"))
np.savez(os.path.join(out, "inputs.npz"), case0_x=rng.standard_normal((3, k)).astype(np.float32))
