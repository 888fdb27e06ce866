"""Writes one tiny ONNX model per importer op family into a folder, for the
lit tests in test/Importer/op-families.test. Each graph has a dynamic batch
dim so that shape sub-graphs must fold symbolically."""
import os, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto as T

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
F = T.FLOAT


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def c(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


rng = np.random.default_rng(0)
# Elementwise family with broadcasting, comparisons, Where, Cast, unary fns.
save("elementwise", [
    helper.make_node("Add", ["x", "b"], ["a"], name="add"),
    helper.make_node("Erf", ["a"], ["e"], name="erf"),
    helper.make_node("Greater", ["e", "zero"], ["g"], name="gt"),
    helper.make_node("Where", ["g", "e", "zero"], ["w"], name="where"),
    helper.make_node("Cast", ["g"], ["gi"], name="cast", to=T.INT64),
    helper.make_node("Pow", ["w", "two"], ["y"], name="pow"),
], [vi("x", F, ["batch", 8])], [vi("y", F, ["batch", 8]), vi("gi", T.INT64, ["batch", 8])],
   [c("b", rng.standard_normal(8).astype(np.float32)), c("zero", np.float32(0)), c("two", np.float32(2))])

# Shape family: Shape/Gather/Unsqueeze/Concat/Reshape, Slice, Squeeze, Expand,
# Flatten, Split, Range, ConstantOfShape.
save("shape", [
    helper.make_node("Shape", ["x"], ["s"], name="shape"),
    helper.make_node("Gather", ["s", "i0"], ["b0"], name="gather_b", axis=0),
    helper.make_node("Unsqueeze", ["b0", "ax0"], ["b1"], name="unsq"),
    helper.make_node("Concat", ["b1", "c4", "c6"], ["tgt"], name="concat", axis=0),
    helper.make_node("Reshape", ["x", "tgt"], ["r"], name="reshape"),
    helper.make_node("Slice", ["r", "st", "en", "ax2"], ["sl"], name="slice"),
    helper.make_node("Transpose", ["sl"], ["tr"], name="transpose", perm=[0, 2, 1]),
    helper.make_node("Flatten", ["tr"], ["fl"], name="flatten", axis=1),
    helper.make_node("Split", ["fl", "sp"], ["p0", "p1"], name="split", axis=1),
    helper.make_node("Gather", ["s", "i1"], ["n0"], name="gather_n", axis=0),
    helper.make_node("Range", ["zi", "n0", "onei"], ["rg"], name="range"),
    helper.make_node("ConstantOfShape", ["s"], ["ones"], name="cos",
                     value=helper.make_tensor("v", F, [1], [1.0])),
], [vi("x", F, ["batch", 24])],
   [vi("p0", F, ["batch", 4]), vi("p1", F, ["batch", 8]), vi("rg", T.INT64, [24]), vi("ones", F, ["batch", 24])],
   [c("i0", np.int64(0)), c("i1", np.int64(1)), c("ax0", np.array([0], np.int64)),
    c("c4", np.array([4], np.int64)), c("c6", np.array([6], np.int64)),
    c("st", np.array([1], np.int64)), c("en", np.array([4], np.int64)), c("ax2", np.array([2], np.int64)),
    c("sp", np.array([4, 8], np.int64)), c("zi", np.int64(0)), c("onei", np.int64(1))])

# Math family: MatMul (3-D x 2-D and batched), Gemm, Softmax, reductions,
# LayerNormalization.
save("math", [
    helper.make_node("MatMul", ["x", "w"], ["m"], name="matmul"),
    helper.make_node("LayerNormalization", ["m", "g", "bb"], ["ln"], name="ln", axis=-1, epsilon=1e-5),
    helper.make_node("Softmax", ["ln"], ["sm"], name="softmax", axis=-1),
    helper.make_node("ReduceSum", ["sm", "axm1"], ["rs"], name="rsum", keepdims=1),
    helper.make_node("Transpose", ["sm"], ["smT"], name="tT", perm=[0, 2, 1]),
    helper.make_node("MatMul", ["sm", "smT"], ["bm"], name="bmm"),
    helper.make_node("Gemm", ["g2", "w2", "b2"], ["gm"], name="gemm", transB=1, alpha=0.5),
], [vi("x", F, ["batch", 5, 16]), vi("g2", F, [3, 16])],
   [vi("rs", F, ["batch", 5, 1]), vi("bm", F, ["batch", 5, 5]), vi("gm", F, [3, 7])],
   [c("w", rng.standard_normal((16, 8)).astype(np.float32)), c("g", np.ones(8, np.float32)),
    c("bb", np.zeros(8, np.float32)), c("axm1", np.array([-1], np.int64)),
    c("w2", rng.standard_normal((7, 16)).astype(np.float32)), c("b2", np.ones(7, np.float32))])

# ONNX Runtime references (case0_, case1_ at two batch sizes) so the same
# graphs are also executed and compared (test/e2e/run_cases.py).
import onnxruntime as ort
for name in ["elementwise", "shape", "math"]:
    path = os.path.join(out, name + ".onnx")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ref = {}
    for k, batch in enumerate([1, 3]):
        feeds = {}
        for i in sess.get_inputs():
            shape = [batch if isinstance(d, str) else d for d in i.shape]
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
        outs = sess.run(None, feeds)
        for n, v in feeds.items():
            ref[f"case{k}_{n}"] = v
        for o, v in zip(sess.get_outputs(), outs):
            ref[f"case{k}_{o.name}"] = v
    np.savez(os.path.join(out, name + ".ref.npz"), **ref)
