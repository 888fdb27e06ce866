"""Writes small quantized ONNX models, one per import pattern of
lib/Importer/Onnx/Quant*.cpp, for test/Importer/quant-import.test, with ONNX
Runtime references: <name>.ref.npz (ORT's default session: its fused integer
kernels) and <name>.ref-plain.npz (ORT_DISABLE_ALL: each op as the ONNX spec
says). Also the malformed models of the error checks (err_*.onnx, no refs).

  qdyn    ORT quantize_dynamic's pattern: DynamicQuantizeLinear +
          MatMulInteger + Cast + Mul(scale, Mul(x_scale, w_scale)), int8
          weights per column (y1, + bias Add), uint8 weights per tensor with a
          zero point (y2); a uint8 table Gather + DequantizeLinear (emb)
  qdyn_att  both MatMulInteger operands from DynamicQuantizeLinear, batched
          (broadcast batch dims): not raised, runs as imported
  qdq     opset 13 QDQ: uint8 activation pair + int8 per-column weight DQ ->
          MatMul (y1) and its output Q/DQ pair (y); Gemm transB with a weight
          DQ per row of [N, K] and an int8 symmetric activation pair (y2); a
          weight DQ per K row (axis 0 of [K, N], not raisable: y3)
  qdq21   opset 21 blocked 4-bit: int4 weight, block 32 along K (y1); uint4
          weight with zero points, block 16 (y2)
  nbits   com.microsoft MatMulNBits, K = 40 (a partial last block), block 32:
          packed 4-bit zero points (y1); none (default 8) + bias (y2)
  nbits8  8-bit MatMulNBits, block 16, with zero points (y1) and without
          (default 128, y2)
  dqmm    com.microsoft DynamicQuantizeMatMul: uint8 weights per column with
          zero points + bias (y1), int8 per tensor (y2)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
F = T.FLOAT
rng = np.random.default_rng(0)


def save(name, nodes, inputs, outputs, inits, opset=17, ms=False, cases=None):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    ops = [helper.make_opsetid("", opset)]
    if ms:
        ops.append(helper.make_opsetid("com.microsoft", 1))
    m = helper.make_model(g, opset_imports=ops, ir_version=10 if opset >= 21 else 8)
    if not ms:
        onnx.checker.check_model(m)
    path = os.path.join(out, name + ".onnx")
    onnx.save(m, path)
    if cases is None:
        return
    import onnxruntime as ort
    for suffix, level in ((".ref.npz", ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
                          (".ref-plain.npz", ort.GraphOptimizationLevel.ORT_DISABLE_ALL)):
        so = ort.SessionOptions()
        so.graph_optimization_level = level
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        ref = {}
        for k, feeds in enumerate(cases):
            for n, v in feeds.items():
                ref[f"case{k}_{n}"] = v
            for o, v in zip(s.get_outputs(), s.run(None, feeds)):
                ref[f"case{k}_{o.name}"] = v
        np.savez(os.path.join(out, name + suffix), **ref)


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def c(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def node(op, ins, outs, name, **kw):
    return helper.make_node(op, ins, outs, name=name, **kw)


def xs(*shape):
    return (rng.standard_normal(shape) * 2).astype(np.float32)


# ---- qdyn ----------------------------------------------------------------
w1 = rng.integers(-127, 128, (16, 8)).astype(np.int8)
w2 = rng.integers(0, 256, (16, 6)).astype(np.uint8)
table = rng.integers(0, 256, (10, 8)).astype(np.uint8)
save("qdyn", [
    node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], "dql"),
    node("MatMulInteger", ["xq", "w1", "xz", "w1z"], ["m1"], "mmi1"),
    node("Cast", ["m1"], ["m1f"], "cast1", to=F),
    node("Mul", ["xs", "w1s"], ["s1"], "scales1"),
    node("Mul", ["m1f", "s1"], ["y1n"], "mul1"),
    node("Add", ["y1n", "b1"], ["y1"], "bias1"),
    node("MatMulInteger", ["xq", "w2", "xz", "w2z"], ["m2"], "mmi2"),
    node("Cast", ["m2"], ["m2f"], "cast2", to=F),
    node("Mul", ["w2s", "xs"], ["s2"], "scales2"),
    node("Mul", ["s2", "m2f"], ["y2"], "mul2"),
    node("Gather", ["table", "ids"], ["eq"], "gather"),
    node("DequantizeLinear", ["eq", "ts", "tz"], ["emb"], "emb_dq"),
], [vi("x", F, ["batch", 5, 16]), vi("ids", T.INT64, ["batch", 3])],
   [vi("y1", F, ["batch", 5, 8]), vi("y2", F, ["batch", 5, 6]), vi("emb", F, ["batch", 3, 8])],
   [c("w1", w1), c("w1z", np.zeros(8, np.int8)),
    c("w1s", (rng.random(8) * 0.02 + 0.005).astype(np.float32)),
    c("b1", rng.standard_normal(8).astype(np.float32)),
    c("w2", w2), c("w2z", np.uint8(131)), c("w2s", np.float32(0.011)),
    c("table", table), c("ts", np.float32(0.03)), c("tz", np.uint8(120))],
   cases=[{"x": xs(1, 5, 16), "ids": np.array([[0, 9, 4]], np.int64)},
          {"x": xs(3, 5, 16), "ids": rng.integers(0, 10, (3, 3)).astype(np.int64)}])

# quantize_dynamic with MatMulConstBOnly off: both operands quantized at run
# time, batched (attention's products): not raisable, runs as imported.
save("qdyn_att", [
    node("DynamicQuantizeLinear", ["q"], ["qq", "qs", "qz"], "dql_q"),
    node("DynamicQuantizeLinear", ["k"], ["kq", "ks", "kz"], "dql_k"),
    node("MatMulInteger", ["qq", "kq", "qz", "kz"], ["m"], "mmi_att"),
    node("Cast", ["m"], ["mf"], "cast", to=F),
    node("Mul", ["qs", "ks"], ["s"], "scales"),
    node("Mul", ["mf", "s"], ["y"], "mul"),
], [vi("q", F, ["batch", 2, 4, 8]), vi("k", F, ["batch", 1, 8, 5])], [vi("y", F, ["batch", 2, 4, 5])],
   [], cases=[{"q": xs(1, 2, 4, 8), "k": xs(1, 1, 8, 5)}, {"q": xs(3, 2, 4, 8), "k": xs(3, 1, 8, 5)}])

# ---- qdq -----------------------------------------------------------------
wq = rng.integers(-127, 128, (16, 8)).astype(np.int8)
wg = rng.integers(-127, 128, (8, 16)).astype(np.int8)  # Gemm B [N, K], transB
wr = rng.integers(-127, 128, (16, 8)).astype(np.int8)
save("qdq", [
    node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], "x_q"),
    node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"], "x_dq"),
    node("DequantizeLinear", ["wq", "wqs", "wqz"], ["wd"], "w_dq", axis=1),
    node("MatMul", ["xd", "wd"], ["y1"], "matmul"),
    node("QuantizeLinear", ["y1", "ys", "yz"], ["yq"], "y_q"),
    node("DequantizeLinear", ["yq", "ys", "yz"], ["y"], "y_dq"),
    node("QuantizeLinear", ["x", "xs8", "xz8"], ["xq8"], "x_q8"),
    node("DequantizeLinear", ["xq8", "xs8", "xz8"], ["xd8"], "x_dq8"),
    node("DequantizeLinear", ["wg", "wgs"], ["wgd"], "wg_dq", axis=0),
    node("Gemm", ["xd8", "wgd", "bg"], ["y2"], "gemm", transB=1),
    node("DequantizeLinear", ["wr", "wrs"], ["wrd"], "wr_dq", axis=0),
    node("MatMul", ["x", "wrd"], ["y3"], "matmul_rows"),
], [vi("x", F, ["batch", 16])],
   [vi("y1", F, ["batch", 8]), vi("y", F, ["batch", 8]), vi("y2", F, ["batch", 8]),
    vi("y3", F, ["batch", 8])],
   [c("xs", np.float32(0.04)), c("xz", np.uint8(128)),
    c("wq", wq), c("wqs", (rng.random(8) * 0.02 + 0.005).astype(np.float32)),
    c("wqz", np.zeros(8, np.int8)),
    c("ys", np.float32(0.05)), c("yz", np.uint8(100)),
    c("xs8", np.float32(0.05)), c("xz8", np.int8(0)),
    c("wg", wg), c("wgs", (rng.random(8) * 0.02 + 0.005).astype(np.float32)),
    c("bg", rng.standard_normal(8).astype(np.float32)),
    c("wr", wr), c("wrs", (rng.random(16) * 0.02 + 0.005).astype(np.float32))],
   opset=13, cases=[{"x": xs(1, 16)}, {"x": xs(4, 16)}])

# ---- qdq21: blocked int4 / uint4 ----------------------------------------
w4 = rng.integers(-8, 8, (64, 8))
u4 = rng.integers(0, 16, (64, 8))
save("qdq21", [
    node("DequantizeLinear", ["w4", "w4s"], ["w4d"], "w4_dq", axis=0, block_size=32),
    node("MatMul", ["x", "w4d"], ["y1"], "matmul_int4"),
    node("DequantizeLinear", ["u4", "u4s", "u4z"], ["u4d"], "u4_dq", axis=0, block_size=16),
    node("MatMul", ["x", "u4d"], ["y2"], "matmul_uint4"),
], [vi("x", F, ["batch", 64])], [vi("y1", F, ["batch", 8]), vi("y2", F, ["batch", 8])],
   [helper.make_tensor("w4", T.INT4, [64, 8], w4.flatten().tolist()),
    c("w4s", (rng.random((2, 8)) * 0.1 + 0.01).astype(np.float32)),
    helper.make_tensor("u4", T.UINT4, [64, 8], u4.flatten().tolist()),
    c("u4s", (rng.random((4, 8)) * 0.1 + 0.01).astype(np.float32)),
    helper.make_tensor("u4z", T.UINT4, [4, 8], rng.integers(0, 16, 32).tolist())],
   opset=21, cases=[{"x": xs(1, 64)}, {"x": xs(3, 64)}])


# ---- nbits: com.microsoft MatMulNBits --------------------------------------
def pack_nbits(q, bs):
    """q [K, N] codes 0..15 -> B [N, k_blocks, bs / 2] (low nibble first)."""
    k, n = q.shape
    kb = (k + bs - 1) // bs
    pad = np.zeros((kb * bs, n), np.uint8)
    pad[:k] = q
    b = pad.T.reshape(n, kb, bs // 2, 2)
    return (b[..., 0] | (b[..., 1] << 4)).astype(np.uint8)


def pack_zp(z):
    """z [N, k_blocks] 0..15 -> [N * ceil(k_blocks / 2)] (low nibble first)."""
    n, kb = z.shape
    p = np.zeros((n, (kb + 1) // 2 * 2), np.uint8)
    p[:, :kb] = z
    return (p[:, 0::2] | (p[:, 1::2] << 4)).astype(np.uint8).reshape(-1)


K, N, BS = 40, 8, 32
qa = rng.integers(0, 16, (K, N)).astype(np.uint8)
qb = rng.integers(0, 16, (K, N)).astype(np.uint8)
za = rng.integers(0, 16, (N, 2)).astype(np.uint8)
nb_attrs = dict(domain="com.microsoft", K=K, N=N, bits=4, block_size=BS)
save("nbits", [
    helper.make_node("MatMulNBits", ["x", "ba", "sa", "za"], ["y1"], name="nbits_zp", **nb_attrs),
    helper.make_node("MatMulNBits", ["x", "bb", "sb", "", "", "bias"], ["y2"], name="nbits_sym",
                     **nb_attrs),
], [vi("x", F, ["batch", 3, K])], [vi("y1", F, ["batch", 3, N]), vi("y2", F, ["batch", 3, N])],
   [c("ba", pack_nbits(qa, BS)), c("sa", (rng.random(N * 2) * 0.1 + 0.01).astype(np.float32)),
    c("za", pack_zp(za)),
    c("bb", pack_nbits(qb, BS)), c("sb", (rng.random(N * 2) * 0.1 + 0.01).astype(np.float32)),
    c("bias", rng.standard_normal(N).astype(np.float32))],
   ms=True, cases=[{"x": xs(1, 3, K)}, {"x": xs(2, 3, K)}])

# com.microsoft DynamicQuantizeMatMul: uint8 B per column with zero points
# and a bias (y1); int8 B, one scale, no zero point (y2).
save("dqmm", [
    helper.make_node("DynamicQuantizeMatMul", ["x", "bu", "su", "zu", "bias"], ["y1"],
                     name="dqmm_u8", domain="com.microsoft"),
    helper.make_node("DynamicQuantizeMatMul", ["x", "bs8", "ss"], ["y2"], name="dqmm_s8",
                     domain="com.microsoft"),
], [vi("x", F, ["batch", 5, 16])], [vi("y1", F, ["batch", 5, 8]), vi("y2", F, ["batch", 5, 6])],
   [c("bu", rng.integers(0, 256, (16, 8)).astype(np.uint8)),
    c("su", (rng.random(8) * 0.02 + 0.005).astype(np.float32)),
    c("zu", rng.integers(100, 156, 8).astype(np.uint8)),
    c("bias", rng.standard_normal(8).astype(np.float32)),
    c("bs8", rng.integers(-127, 128, (16, 6)).astype(np.int8)), c("ss", np.float32(0.01))],
   ms=True, cases=[{"x": xs(1, 5, 16)}, {"x": xs(2, 5, 16)}])

# 8-bit MatMulNBits, block 16: zero points one byte each (y1); none: ORT's
# default 128 (y2).
q8a = rng.integers(0, 256, (K, N)).astype(np.uint8)
q8b = rng.integers(0, 256, (K, N)).astype(np.uint8)
kb16 = (K + 15) // 16


def pack8(q, bs):
    k, n = q.shape
    kb = (k + bs - 1) // bs
    pad = np.zeros((kb * bs, n), np.uint8)
    pad[:k] = q
    return pad.T.reshape(n, kb, bs).copy()


save("nbits8", [
    helper.make_node("MatMulNBits", ["x", "ba", "sa", "za"], ["y1"], name="nbits8_zp",
                     domain="com.microsoft", K=K, N=N, bits=8, block_size=16),
    helper.make_node("MatMulNBits", ["x", "bb", "sb"], ["y2"], name="nbits8_sym",
                     domain="com.microsoft", K=K, N=N, bits=8, block_size=16),
], [vi("x", F, ["batch", K])], [vi("y1", F, ["batch", N]), vi("y2", F, ["batch", N])],
   [c("ba", pack8(q8a, 16)), c("sa", (rng.random(N * kb16) * 0.01).astype(np.float32)),
    c("za", rng.integers(100, 156, N * kb16).astype(np.uint8)),
    c("bb", pack8(q8b, 16)), c("sb", (rng.random(N * kb16) * 0.01).astype(np.float32))],
   ms=True, cases=[{"x": xs(1, K)}, {"x": xs(3, K)}])

# accuracy_level 4: activations per block of 32 (IR check only).
save("nbits_acc4", [
    helper.make_node("MatMulNBits", ["x", "bb", "sb"], ["y"], name="nbits_acc4",
                     accuracy_level=4, **nb_attrs),
], [vi("x", F, [2, K])], [vi("y", F, [2, N])],
   [c("bb", pack_nbits(qb, BS)), c("sb", (rng.random(N * 2) * 0.1).astype(np.float32))], ms=True)

# ---- malformed / unsupported ---------------------------------------------
save("err_gidx", [
    helper.make_node("MatMulNBits", ["x", "bb", "sb", "", "gi"], ["y"], name="nbits_gidx", **nb_attrs),
], [vi("x", F, [2, K])], [vi("y", F, [2, N])],
   [c("bb", pack_nbits(qb, BS)), c("sb", np.ones(N * 2, np.float32)),
    c("gi", np.zeros(K, np.int32))], ms=True)
save("err_bits", [
    helper.make_node("MatMulNBits", ["x", "bb", "sb"], ["y"], name="nbits_2bit",
                     domain="com.microsoft", K=K, N=N, bits=2, block_size=BS),
], [vi("x", F, [2, K])], [vi("y", F, [2, N])],
   [c("bb", np.zeros((N, 2, 8), np.uint8)), c("sb", np.ones(N * 2, np.float32))], ms=True)
save("err_bshape", [
    helper.make_node("MatMulNBits", ["x", "bb", "sb"], ["y"], name="nbits_bshape", **nb_attrs),
], [vi("x", F, [2, K])], [vi("y", F, [2, N])],
   [c("bb", np.zeros((N, 1, 16), np.uint8)), c("sb", np.ones(N * 2, np.float32))], ms=True)
save("err_contrib", [
    helper.make_node("MatMulIntegerToFloat", ["x", "x"], ["y"], name="mmitf",
                     domain="com.microsoft"),
], [vi("x", F, [4, 4])], [vi("y", F, [4, 4])], [], ms=True)
save("err_azp", [
    node("MatMulInteger", ["a", "b", "az"], ["y"], "mmi_rowzp"),
], [], [vi("y", T.INT32, [3, 2])],
   [c("a", np.ones((3, 4), np.uint8)), c("b", np.ones((4, 2), np.int8)),
    c("az", np.array([1, 2, 3], np.uint8))])
save("err_f16scale", [
    node("DequantizeLinear", ["w", "s"], ["y"], "dq_f16"),
], [], [vi("y", T.FLOAT16, [4])],
   [c("w", np.ones(4, np.int8)), c("s", np.float16(0.5))], opset=19)
save("err_block", [
    node("DequantizeLinear", ["w", "s"], ["y"], "dq_block", axis=0, block_size=32),
], [], [vi("y", F, [64, 8])],
   [helper.make_tensor("w", T.INT4, [64, 8], [0] * 512), c("s", np.ones((3, 8), np.float32))],
   opset=21)
