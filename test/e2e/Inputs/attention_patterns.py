"""Dense masked numpy references for tfc --attention=PATTERN.

attention_patterns.py OUTDIR PATTERN NAME

Writes (once) OUTDIR/attn.onnx, one causal self-attention layer as
exporters spell it (q/k/v projections of x [1, s, 64], 4 heads of 16, the
causal mask LessOrEqual(arange keys, arange queries), Where(mask, scores,
-inf), Softmax, MatMul), and OUTDIR/x.npz (s = 100); then
OUTDIR/NAME.npz with the output [1, 4, s, 16] computed in float64 with the
pattern's visibility as a dense [s, s] mask (the semantics of
tfc.attention, dialects/Tfc/TfcOps.td). BigBird is checked with random=0
(its random blocks come from mt19937_64, which the lit test
test/Transforms/sparsify-attention.mlir pins element by element).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

S, D, H = 100, 64, 4
HD = D // H


def weights():
    rng = np.random.default_rng(1234)
    return [rng.standard_normal((D, D)).astype(np.float32) / 8 for _ in range(3)]


def make_model(path):
    wq, wk, wv = weights()
    inits = [numpy_helper.from_array(w, n) for w, n in
             [(wq, "wq"), (wk, "wk"), (wv, "wv")]]
    inits += [
        numpy_helper.from_array(np.array([1], np.int64), "dim0"),
        numpy_helper.from_array(np.array([H, HD], np.int64), "dim23"),
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array(1, np.int64), "one"),
        numpy_helper.from_array(np.array([1], np.int64), "ax1"),
        numpy_helper.from_array(np.array([0], np.int64), "ax0"),
        numpy_helper.from_array(np.array(1 / np.sqrt(HD), np.float32), "scale"),
        numpy_helper.from_array(np.array(-np.inf, np.float32), "ninf"),
    ]
    n = helper.make_node
    # The head reshape's length is the arange's (Shape(x)[1]), as exporters
    # build it, so that the causal mask is provably over the op's positions.
    nodes = [
        n("Shape", ["x"], ["xs"]),
        n("Gather", ["xs", "one"], ["len"], axis=0),
        n("Unsqueeze", ["len", "ax0"], ["len1"]),
        n("Concat", ["dim0", "len1", "dim23"], ["shape4"], axis=0),
    ]
    for name in "qkv":
        nodes += [
            n("MatMul", ["x", "w" + name], [name + "2"]),
            n("Reshape", [name + "2", "shape4"], [name + "4"]),
            n("Transpose", [name + "4"], [name], perm=[0, 2, 1, 3]),
        ]
    nodes += [
        n("Range", ["zero", "len", "one"], ["pos"]),
        n("Unsqueeze", ["pos", "ax1"], ["qi"]),
        n("Unsqueeze", ["pos", "ax0"], ["kj"]),
        n("LessOrEqual", ["kj", "qi"], ["causal"]),
        n("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        n("MatMul", ["q", "kt"], ["qk"]),
        n("Mul", ["qk", "scale"], ["scores"]),
        n("Where", ["causal", "scores", "ninf"], ["masked"]),
        n("Softmax", ["masked"], ["probs"], axis=-1),
        n("MatMul", ["probs", "v"], ["out"]),
    ]
    g = helper.make_graph(
        nodes, "attn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "s", D])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT,
                                       [1, H, "s", HD])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def parse(pattern):
    """{'local': W, 'sink': S, 'block-local': B} or ('bigbird', {...})."""
    if pattern == "dense":
        return {}
    if pattern.startswith("bigbird:"):
        kv = dict(x.split("=") for x in pattern[len("bigbird:"):].split(","))
        cfg = {"window": 3, "global": 2, "random": 3, "seed": 0}
        cfg.update({k: int(v) for k, v in kv.items()})
        assert cfg["random"] == 0, "random blocks are not reproduced here"
        return {"bigbird": cfg}
    return {k: int(v) for k, v in (x.split(":") for x in pattern.split(","))}


def visible(p, s):
    i = np.arange(s)[:, None]  # query position (s = t)
    j = np.arange(s)[None, :]
    vis = j <= i
    if "local" in p:
        vis &= (i - j < p["local"]) | (j < p.get("sink", 0))
    if "block-local" in p:
        vis &= (i // p["block-local"]) == (j // p["block-local"])
    if "bigbird" in p:
        c = p["bigbird"]
        b = c["block"]
        r, col = i // b, j // b
        vis &= ((c["window"] > 0) & (np.abs(r - col) <= c["window"] // 2)) | \
            (r < c["global"]) | (col < c["global"])
    return vis


def main():
    out, pattern, name = sys.argv[1], sys.argv[2], sys.argv[3]
    model = os.path.join(out, "attn.onnx")
    if not os.path.exists(model):
        make_model(model)
        x = np.random.default_rng(99).standard_normal((1, S, D))
        np.savez(os.path.join(out, "x.npz"), x=x.astype(np.float32))
    x = np.load(os.path.join(out, "x.npz"))["x"].astype(np.float64)
    wq, wk, wv = (w.astype(np.float64) for w in weights())

    def heads(t):
        return t.reshape(1, S, H, HD).transpose(0, 2, 1, 3)

    q, k, v = heads(x @ wq), heads(x @ wk), heads(x @ wv)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(HD)
    vis = visible(parse(pattern), S)
    scores = np.where(vis, scores, -np.inf)
    scores -= scores.max(-1, keepdims=True)
    e = np.exp(scores)
    probs = e / e.sum(-1, keepdims=True)
    ref = probs @ v
    kept = vis.sum() / (S * (S + 1) / 2)
    np.savez(os.path.join(out, name + ".npz"), out=ref.astype(np.float32))
    print(f"{name}: {pattern}: {kept:.3f} of the causal pairs at s = {S}")


if __name__ == "__main__":
    main()
