"""Writes the tiny ONNX models of test/Importer/index-ops.test into a folder,
each with an ONNX Runtime reference <name>.ref.npz (case0_/case1_ at batch 1
and 3, as test/e2e/run_cases.py reads them): CumSum (RoBERTa position ids,
exclusive/reverse), GatherElements, Einsum attention forms, Mod (both fmod
modes), ORT's SimplifiedLayerNormalization and com.microsoft
Skip(Simplified)LayerNormalization, a fused projection (MatMul -> Split /
Slice), ONNX Gelu (opset 20) and ORT's fused activations (Gelu, BiasGelu,
FastGelu, QuickGelu), ORT's FusedMatMul, and the refused forms (bad_*.onnx, no
reference)."""
import os, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto as T

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
F, I = T.FLOAT, T.INT64
rng = np.random.default_rng(0)
MS = helper.make_opsetid("com.microsoft", 1)


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def c(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def save(name, nodes, inputs, outputs, inits=(), opset=17, ms=False, feeds=None):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    ops = [helper.make_opsetid("", opset)] + ([MS] if ms else [])
    m = helper.make_model(g, opset_imports=ops, ir_version=8)
    if not ms:
        onnx.checker.check_model(m)
    path = os.path.join(out, name + ".onnx")
    onnx.save(m, path)
    if feeds is None:
        return
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ref = {}
    for k, batch in enumerate([1, 3]):
        f = feeds(batch)
        for n, v in f.items():
            ref[f"case{k}_{n}"] = v
        for o, v in zip(sess.get_outputs(), sess.run(None, f)):
            ref[f"case{k}_{o.name}"] = v
    np.savez(os.path.join(out, name + ".ref.npz"), **ref)


def mask_feed(batch):
    m = np.ones((batch, 7), np.int64)
    m[-1, 4:] = 0
    return {"mask": m, "x": rng.standard_normal((batch, 7)).astype(np.float32)}


# RoBERTa's position ids: cumsum(mask, 1) * mask + pad (as floats for the
# reference), and a float CumSum both exclusive and reversed.
save("cumsum", [
    helper.make_node("CumSum", ["mask", "ax1"], ["cs"], name="cumsum_ids"),
    helper.make_node("Mul", ["cs", "mask"], ["pm"], name="mul"),
    helper.make_node("Add", ["pm", "pad"], ["pos"], name="add"),
    helper.make_node("Cast", ["pos"], ["posf"], name="cast", to=F),
    helper.make_node("CumSum", ["x", "axm1"], ["xs"], name="cumsum_er",
                     exclusive=1, reverse=1),
], [vi("mask", I, ["batch", 7]), vi("x", F, ["batch", 7])],
   [vi("posf", F, ["batch", 7]), vi("xs", F, ["batch", 7])],
   [c("ax1", np.int64(1)), c("axm1", np.int64(-1)), c("pad", np.int64(1))],
   feeds=mask_feed)


def ge_feed(batch):
    return {"x": rng.standard_normal((batch, 5)).astype(np.float32),
            "idx": rng.integers(-5, 5, (batch, 3)).astype(np.int64)}


save("gather_elements", [
    helper.make_node("GatherElements", ["x", "idx"], ["y"], name="ge", axis=1),
], [vi("x", F, ["batch", 5]), vi("idx", I, ["batch", 3])], [vi("y", F, ["batch", 3])],
   feeds=ge_feed)


def ein_feed(batch):
    return {n: rng.standard_normal((batch,) + s).astype(np.float32)
            for n, s in [("q", (2, 4, 8)), ("k", (2, 5, 8)), ("v", (5, 2, 8))]}


# Scores bhid,bhjd->bhij; the product with a [b, j, h, d] value into
# [b, i, h, d] (output permuted); a weight contraction bihd,hde->bie.
save("einsum", [
    helper.make_node("Einsum", ["q", "k"], ["s"], name="scores", equation="bhid,bhjd->bhij"),
    helper.make_node("Softmax", ["s"], ["p"], name="softmax", axis=-1),
    helper.make_node("Einsum", ["p", "v"], ["o"], name="pv", equation="bhij,bjhd->bihd"),
    helper.make_node("Einsum", ["o", "w"], ["y"], name="proj", equation="bihd,hde->bie"),
], [vi("q", F, ["batch", 2, 4, 8]), vi("k", F, ["batch", 2, 5, 8]), vi("v", F, ["batch", 5, 2, 8])],
   [vi("y", F, ["batch", 4, 6])],
   [c("w", rng.standard_normal((2, 8, 6)).astype(np.float32))], feeds=ein_feed)


def mod_feed(batch):
    return {"a": rng.integers(-20, 20, (batch, 6)).astype(np.int64),
            "x": (rng.standard_normal((batch, 6)) * 5).astype(np.float32)}


save("mod", [
    helper.make_node("Mod", ["a", "b"], ["m0"], name="mod_py"),
    helper.make_node("Mod", ["a", "b"], ["m1"], name="mod_c", fmod=1),
    helper.make_node("Cast", ["m0"], ["m0f"], name="c0", to=F),
    helper.make_node("Cast", ["m1"], ["m1f"], name="c1", to=F),
    helper.make_node("Mod", ["x", "bf"], ["mf"], name="mod_f", fmod=1),
], [vi("a", I, ["batch", 6]), vi("x", F, ["batch", 6])],
   [vi("m0f", F, ["batch", 6]), vi("m1f", F, ["batch", 6]), vi("mf", F, ["batch", 6])],
   [c("b", np.array([3, -3, 4, -4, 7, -5], np.int64)),
    c("bf", np.array([3, -3, 1.5, -1.5, 7, -5], np.float32))], feeds=mod_feed)


def norm_feed(batch):
    return {n: rng.standard_normal((batch, 3, 16)).astype(np.float32) for n in ["x", "s"]}


save("norms", [
    helper.make_node("SimplifiedLayerNormalization", ["x", "g"], ["r"], name="rms",
                     axis=-1, epsilon=1e-6),
    helper.make_node("SkipSimplifiedLayerNormalization", ["r", "s", "g"], ["r2", "", "", "sum"],
                     name="skip_rms", domain="com.microsoft", epsilon=1e-6),
    helper.make_node("SkipLayerNormalization", ["r2", "sum", "g", "bt", "bias"], ["y"],
                     name="skip_ln", domain="com.microsoft", epsilon=1e-5),
], [vi("x", F, ["batch", 3, 16]), vi("s", F, ["batch", 3, 16])],
   [vi("y", F, ["batch", 3, 16]), vi("sum", F, ["batch", 3, 16])],
   [c("g", (1 + 0.1 * rng.standard_normal(16)).astype(np.float32)),
    c("bt", rng.standard_normal(16).astype(np.float32)),
    c("bias", rng.standard_normal(16).astype(np.float32))], ms=True, feeds=norm_feed)


def fused_feed(batch):
    return {"x": rng.standard_normal((batch, 5, 16)).astype(np.float32)}


# qkv_proj (+ bias) split three ways with Split sizes; gate_up_proj halves
# taken with Slice.
save("fused", [
    helper.make_node("MatMul", ["x", "wqkv"], ["qkv0"], name="qkv_proj"),
    helper.make_node("Add", ["qkv0", "bqkv"], ["qkv"], name="qkv_bias"),
    helper.make_node("Split", ["qkv", "sizes"], ["q", "k", "v"], name="split", axis=-1),
    helper.make_node("MatMul", ["x", "wgu"], ["gu"], name="gate_up_proj"),
    helper.make_node("Slice", ["gu", "s0", "e0", "axm1"], ["gate"], name="gate"),
    helper.make_node("Slice", ["gu", "e0", "e1", "axm1"], ["up"], name="up"),
    helper.make_node("Mul", ["gate", "up"], ["h"], name="mul"),
], [vi("x", F, ["batch", 5, 16])],
   [vi("q", F, ["batch", 5, 8]), vi("k", F, ["batch", 5, 4]), vi("v", F, ["batch", 5, 4]),
    vi("h", F, ["batch", 5, 12])],
   [c("wqkv", rng.standard_normal((16, 16)).astype(np.float32)),
    c("bqkv", rng.standard_normal(16).astype(np.float32)),
    c("sizes", np.array([8, 4, 4], np.int64)),
    c("wgu", rng.standard_normal((16, 24)).astype(np.float32)),
    c("s0", np.array([0], np.int64)), c("e0", np.array([12], np.int64)),
    c("e1", np.array([24], np.int64)), c("axm1", np.array([-1], np.int64))],
   feeds=fused_feed)

# Refusals.
save("bad_einsum", [
    helper.make_node("Einsum", ["a", "b"], ["y"], name="ein_ellipsis", equation="...ij,...jk->...ik"),
], [vi("a", F, [2, 3, 4]), vi("b", F, [2, 4, 5])], [vi("y", F, [2, 3, 5])])
save("bad_einsum_sum", [
    helper.make_node("Einsum", ["a", "b"], ["y"], name="ein_sum", equation="ij,jk->i"),
], [vi("a", F, [3, 4]), vi("b", F, [4, 5])], [vi("y", F, [3])])
save("bad_mod", [
    helper.make_node("Mod", ["a", "b"], ["y"], name="mod_float"),
], [vi("a", F, [3]), vi("b", F, [3])], [vi("y", F, [3])])
save("bad_domain", [
    helper.make_node("EmbedLayerNormalization", ["ids", "seg", "we", "pe", "se", "g", "b"],
                     ["y"], name="embed_ln", domain="com.microsoft"),
], [vi("ids", I, [1, 3]), vi("seg", I, [1, 3]), vi("we", F, [5, 4]), vi("pe", F, [5, 4]),
    vi("se", F, [2, 4]), vi("g", F, [4]), vi("b", F, [4])], [vi("y", F, [1, 3, 4])], ms=True)


def gelu_feed(batch):
    # Wide enough to reach both tails of the GELUs.
    return {"x": (3 * rng.standard_normal((batch, 5, 16))).astype(np.float32)}


# ONNX Gelu (opset 20), both approximations.
save("gelu20", [
    helper.make_node("Gelu", ["x"], ["e"], name="gelu_erf"),
    helper.make_node("Gelu", ["x"], ["t"], name="gelu_tanh", approximate="tanh"),
], [vi("x", F, ["batch", 5, 16])], [vi("e", F, ["batch", 5, 16]), vi("t", F, ["batch", 5, 16])],
   opset=20, feeds=gelu_feed)
# The activations ONNX Runtime's transformer optimizer fuses (com.microsoft).
save("gelu_ms", [
    helper.make_node("Gelu", ["x"], ["g"], name="ms_gelu", domain="com.microsoft"),
    helper.make_node("BiasGelu", ["x", "bias"], ["bg"], name="bias_gelu", domain="com.microsoft"),
    helper.make_node("FastGelu", ["x", "bias"], ["fg"], name="fast_gelu_bias",
                     domain="com.microsoft"),
    helper.make_node("FastGelu", ["x"], ["f"], name="fast_gelu", domain="com.microsoft"),
    helper.make_node("QuickGelu", ["x"], ["qg"], name="quick_gelu", domain="com.microsoft",
                     alpha=1.5),
], [vi("x", F, ["batch", 5, 16])],
   [vi(n, F, ["batch", 5, 16]) for n in ["g", "bg", "fg", "f", "qg"]],
   [c("bias", rng.standard_normal(16).astype(np.float32))], ms=True, feeds=gelu_feed)
# ORT's FusedMatMul (a session's extended level saves it): transposes of
# the last two dims and alpha, batched and 2-D.
save("fused_matmul", [
    helper.make_node("FusedMatMul", ["q", "k"], ["s"], name="qk_scaled", domain="com.microsoft",
                     transB=1, alpha=0.125),
    helper.make_node("FusedMatMul", ["at", "w"], ["y"], name="at_w", domain="com.microsoft",
                     transA=1),
    helper.make_node("FusedMatMul", ["q", "w"], ["z"], name="plain", domain="com.microsoft"),
], [vi("q", F, ["batch", 2, 5, 8]), vi("k", F, ["batch", 2, 7, 8]), vi("at", F, [8, 3])],
   [vi("s", F, ["batch", 2, 5, 7]), vi("y", F, [3, 6]), vi("z", F, ["batch", 2, 5, 6])],
   [c("w", rng.standard_normal((8, 6)).astype(np.float32))], ms=True,
   feeds=lambda batch: {"q": rng.standard_normal((batch, 2, 5, 8)).astype(np.float32),
                        "k": rng.standard_normal((batch, 2, 7, 8)).astype(np.float32),
                        "at": rng.standard_normal((8, 3)).astype(np.float32)})
# A MatMul whose contraction dim is dynamic in the graph (ORT-saved LLaMA
# graphs merge heads as [b, s, h * d] with d unknown) with a residual add:
# the CPU kernel's [1, M, k] view of x takes k from the tensor.
save("dynamic_k", [
    helper.make_node("MatMul", ["x", "w"], ["m"], name="o_proj"),
    helper.make_node("Add", ["r", "m"], ["y"], name="residual"),
], [vi("x", F, ["batch", "seq", "k"]), vi("r", F, ["batch", "seq", 16])],
   [vi("y", F, ["batch", "seq", 16])],
   [c("w", rng.standard_normal((16, 16)).astype(np.float32))],
   feeds=lambda batch: {"x": rng.standard_normal((batch, 5, 16)).astype(np.float32),
                        "r": rng.standard_normal((batch, 5, 16)).astype(np.float32)})
# A shape cut by Split + Squeeze (ONNX Runtime's saved graphs turn
# Gather(Shape, i) into this): the sizes stay known, so the Reshape's
# result is [batch, 24], not [batch, ?].
save("split_shape", [
    helper.make_node("Shape", ["x"], ["s"], name="shape"),
    helper.make_node("Split", ["s", "ones"], ["s0", "s1", "s2"], name="split_shape", axis=0),
    helper.make_node("Mul", ["s1", "s2"], ["s12"], name="mul"),
    helper.make_node("Concat", ["s0", "s12"], ["ns"], name="concat", axis=0),
    helper.make_node("Reshape", ["x", "ns"], ["y"], name="reshape"),
], [vi("x", F, ["batch", 6, 4])], [vi("y", F, ["batch", 24])],
   [c("ones", np.ones(3, np.int64))],
   feeds=lambda batch: {"x": rng.standard_normal((batch, 6, 4)).astype(np.float32)})
save("bad_fused_matmul", [
    helper.make_node("FusedMatMul", ["a", "b"], ["y"], name="fm_batch", domain="com.microsoft",
                     transBatchA=1),
], [vi("a", F, [2, 3, 4]), vi("b", F, [3, 4, 5])], [vi("y", F, [2, 3, 5])], ms=True)
save("bad_gelu", [
    helper.make_node("Gelu", ["x"], ["y"], name="gelu_fast", approximate="fast"),
], [vi("x", F, [3])], [vi("y", F, [3])], opset=20)
