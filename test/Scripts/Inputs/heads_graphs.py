#!/usr/bin/env python3
"""Hand-made attention graphs for shrink-heads.test (scripts/shrink_onnx_heads.py).

    heads_graphs.py make VARIANT OUT.onnx   two 4-head attentions (d 32, head dim 8) on x [1, 5, 32],
                                            and OUT.masks.npz (keep-masks of the weights)
    heads_graphs.py compare A.onnx B.onnx   ONNX Runtime on both, random x: PASS / FAIL (exit 1)
    heads_graphs.py shapes M.onnx           the value of every Reshape's shape input

Layer 0 has heads 1 and 2 zero (q/k/v columns, biases, Wo rows). VARIANT:
  shared    both layers' head-split Reshapes read one Constant node [1, 5, 4, 8]
            and the merges one initializer [1, 5, 32]; layer 1 has no zero head,
            so the shrink must copy those constants for layer 0 only
  alike     the same, with layer 1's heads 1 and 2 zero too: one rewrite for both
  computed  layer 0's head count is Mul(2, 2) inside a Concat: refused
  minor     layer 0 splits [.., hd, H] (head index fastest): refused
  foreign   layer 0 reads its head count from the Shape of an unrelated tensor:
            it looks dynamic, so only the check of the rewritten graph refuses it
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

D, H, HD, S = 32, 4, 8, 5


def attention(k, rng, zero, split, merge, nodes, inits, x, minor=False):
    """x [1, S, D] -> x + attention(x); returns the output name."""
    p = f"l{k}_"
    dead = np.zeros(H * HD, bool)
    for h in zero:
        dead[h * HD:(h + 1) * HD] = True
    if minor:  # head-minor columns: column j belongs to head j % H
        dead = np.zeros(H * HD, bool)
        for h in zero:
            dead[h::H] = True
    heads = {}
    for name in "qkv":
        w = rng.standard_normal((D, H * HD)).astype(np.float32) * 0.3
        b = rng.standard_normal(H * HD).astype(np.float32) * 0.1
        w[:, dead] = 0
        b[dead] = 0
        inits += [numpy_helper.from_array(w, p + name + "_w"),
                  numpy_helper.from_array(b, p + name + "_b")]
        nodes += [helper.make_node("MatMul", [x, p + name + "_w"], [p + name + "_mm"],
                                   name=p + name + "_MatMul"),
                  helper.make_node("Add", [p + name + "_mm", p + name + "_b"], [p + name + "_add"]),
                  helper.make_node("Reshape", [p + name + "_add", split], [p + name + "_split"])]
        perm = [0, 3, 1, 2] if minor else [0, 2, 1, 3]  # -> [1, H, S, HD]
        if name == "k":
            perm = [0, 3, 2, 1] if minor else [0, 2, 3, 1]  # -> [1, H, HD, S]
        nodes.append(helper.make_node("Transpose", [p + name + "_split"], [p + name + "_t"],
                                      perm=perm))
        heads[name] = p + name + "_t"
    inits.append(numpy_helper.from_array(np.array(HD ** -0.5, np.float32), p + "scale"))
    wo = rng.standard_normal((H * HD, D)).astype(np.float32) * 0.3
    wo[dead, :] = 0
    inits.append(numpy_helper.from_array(wo, p + "o_w"))
    nodes += [
        helper.make_node("MatMul", [heads["q"], heads["k"]], [p + "qk"]),
        helper.make_node("Mul", [p + "qk", p + "scale"], [p + "qks"]),
        helper.make_node("Softmax", [p + "qks"], [p + "sm"], axis=-1),
        helper.make_node("MatMul", [p + "sm", heads["v"]], [p + "ctx"]),
        helper.make_node("Transpose", [p + "ctx"], [p + "ctx_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", [p + "ctx_t", merge], [p + "merged"]),
        helper.make_node("MatMul", [p + "merged", p + "o_w"], [p + "o"], name=p + "o_MatMul"),
        helper.make_node("Add", [x, p + "o"], [p + "out"]),
    ]
    return p + "out"


def make(variant, out):
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    nodes.append(helper.make_node("Constant", [], ["split_shape"], value=numpy_helper.from_array(
        np.array([1, S, H, HD], np.int64), "split_shape")))
    inits.append(numpy_helper.from_array(np.array([1, S, H * HD], np.int64), "merge_shape"))
    split0 = "split_shape"
    if variant == "computed":
        inits += [numpy_helper.from_array(np.array([1, S], np.int64), "lead"),
                  numpy_helper.from_array(np.array([2], np.int64), "two"),
                  numpy_helper.from_array(np.array([HD], np.int64), "hd")]
        nodes += [helper.make_node("Mul", ["two", "two"], ["four"]),
                  helper.make_node("Concat", ["lead", "four", "hd"], ["split0"], axis=0)]
        split0 = "split0"
    if variant == "foreign":
        inits += [numpy_helper.from_array(np.array([1, S], np.int64), "lead"),
                  numpy_helper.from_array(np.array([HD], np.int64), "hd"),
                  numpy_helper.from_array(np.zeros((H, 1), np.float32), "unrelated")]
        nodes += [helper.make_node("Shape", ["unrelated"], ["four"], start=0, end=1),
                  helper.make_node("Concat", ["lead", "four", "hd"], ["split0"], axis=0)]
        split0 = "split0"
    if variant == "minor":
        nodes.append(helper.make_node("Constant", [], ["split0"], value=numpy_helper.from_array(
            np.array([1, S, HD, H], np.int64), "split0")))
        split0 = "split0"
    x = attention(0, rng, [1, 2], split0, "merge_shape", nodes, inits, "x",
                  minor=variant == "minor")
    y = attention(1, rng, [1, 2] if variant == "alike" else [], "split_shape", "merge_shape",
                  nodes, inits, x)
    nodes.append(helper.make_node("Identity", [y], ["y"]))
    g = helper.make_graph(nodes, "heads_" + variant,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, S, D])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, S, D])],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(m)
    onnx.save(m, out)
    np.savez(out[:-5] + ".masks.npz", **{t.name: (numpy_helper.to_array(t) != 0).astype(np.uint8)
                                         for t in inits if t.name.endswith("_w")})


def compare(a, b):
    import onnxruntime as ort
    x = np.random.default_rng(1).standard_normal((1, S, D)).astype(np.float32)
    ya, yb = (ort.InferenceSession(f, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
              for f in (a, b))
    err = float(np.max(np.abs(ya - yb)))
    ok = err <= 1e-5 + 1e-5 * float(np.max(np.abs(ya)))
    print(f"compare: max abs diff {err:.3g}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def shapes(path):
    m = onnx.load(path)
    vals = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            vals[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    for n in m.graph.node:
        if n.op_type == "Reshape":
            v = vals.get(n.input[1])
            print(f"{n.output[0]}: {n.input[1]} = {v.tolist() if v is not None else '?'}")
    print(f"initializers: {sorted(t.name for t in m.graph.initializer if t.name.find('shape') >= 0)}")
    print(f"constants: {sorted(n.output[0] for n in m.graph.node if n.op_type == 'Constant')}")
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2], sys.argv[3])
    else:
        sys.exit(compare(*sys.argv[2:4]) if cmd == "compare" else shapes(sys.argv[2]))
