#!/usr/bin/env python3
"""Times what tfc's reference lowering of tfc.attention costs today.

Builds one-attention ONNX graphs (the exporters' pattern: matmul(q, k^T) *
scale, mask, softmax, matmul with v; GQA kv heads repeated by
reshape/expand/reshape), checks that --tfc-raise-attention turns each into
one tfc.attention, compiles it with `tfc --emit=shared` and times it with
`tfc-run --bench`. Compare with tfcrt-attention-bench (same cases, same
names). With one thread it also reports the CPU time per call (from the
difference of two runs), which a busy machine distorts less than wall time.
Not run by ctest.

  attention_ref_bench.py --tfc build/bin/tfc --tfc-run build/bin/tfc-run \
      --out /tmp/attn-ref [--threads 1 2] [--iters 20] [CASE ...]
"""
import argparse
import json
import os
import resource
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

# name: b, hq, hkv, s, t, d, mask kind ("pad": bool [b,1,1,t]; "causal":
# bool [1,1,s,t] lower triangle; "window": causal + window 256 + 4 sinks).
CASES = {
    "minilm": (32, 12, 12, 128, 128, 32, "pad"),
    "minilm-b1": (1, 12, 12, 128, 128, 32, "pad"),
    "smollm-53": (1, 9, 3, 53, 53, 64, "causal"),
    "smollm-512": (1, 9, 3, 512, 512, 64, "causal"),
    "smollm-2048": (1, 9, 3, 2048, 2048, 64, "causal"),
    "decode-128": (1, 9, 3, 1, 128, 64, "causal"),
    "decode-2048": (1, 9, 3, 1, 2048, 64, "causal"),
}


def build(b, hq, hkv, s, t, d, mask):
    g = hq // hkv
    f = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("q", f, [b, hq, s, d]),
        helper.make_tensor_value_info("k", f, [b, hkv, t, d]),
        helper.make_tensor_value_info("v", f, [b, hkv, t, d]),
        helper.make_tensor_value_info(
            "mask", TensorProto.BOOL,
            [b, 1, 1, t] if mask == "pad" else [1, 1, s, t]),
    ]
    nodes, inits = [], []

    def const(name, arr):
        inits.append(helper.make_tensor(name, TensorProto.INT64 if arr.dtype ==
                                        np.int64 else f, arr.shape,
                                        arr.flatten().tolist()))
        return name

    def repeat(x):
        if g == 1:
            return x
        nodes.extend([
            helper.make_node("Reshape", [x, const(x + "_s1", np.array(
                [b, hkv, 1, t, d], np.int64))], [x + "_r1"]),
            helper.make_node("Expand", [x + "_r1", const(x + "_s2", np.array(
                [b, hkv, g, t, d], np.int64))], [x + "_e"]),
            helper.make_node("Reshape", [x + "_e", const(x + "_s3", np.array(
                [b, hq, t, d], np.int64))], [x + "_rep"]),
        ])
        return x + "_rep"

    k, v = repeat("k"), repeat("v")
    nodes += [
        helper.make_node("Transpose", [k], ["kT"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kT"], ["qk"]),
        helper.make_node("Mul", ["qk", const("scale", np.array(
            1 / np.sqrt(d), np.float32))], ["a"]),
        helper.make_node("Where", ["mask", "a", const("ninf", np.array(
            -np.inf, np.float32))], ["l"]),
        helper.make_node("Softmax", ["l"], ["p"], axis=3),
        helper.make_node("MatMul", ["p", v], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "attention", inputs,
        [helper.make_tensor_value_info("y", f, [b, hq, s, d])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tfc", required=True)
    ap.add_argument("--tfc-run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(0)
    print("case                 impl          thr   best ms    med ms    cpu ms")
    for name in a.cases or CASES:
        b, hq, hkv, s, t, d, mask = CASES[name]
        path = os.path.join(a.out, name)
        onnx.save(build(b, hq, hkv, s, t, d, mask), path + ".onnx")
        ir = subprocess.run([a.tfc, path + ".onnx", "--emit=tfc", "-o", "-"],
                            check=True, capture_output=True, text=True).stdout
        if ir.count("tfc.attention") != 1:
            sys.exit(f"{name}: not raised to one tfc.attention")
        subprocess.run([a.tfc, path + ".onnx", "--emit=shared", "-o", path],
                       check=True)
        if mask == "pad":
            lens = rng.integers(t // 4, t + 1, size=b)
            lens[0] = t
            m = np.arange(t)[None, None, None, :] < lens[:, None, None, None]
        else:
            m = np.tril(np.ones((s, t), bool), t - s)[None, None]
        np.savez(path + ".npz",
                 q=rng.uniform(-1, 1, (b, hq, s, d)).astype(np.float32),
                 k=rng.uniform(-1, 1, (b, hkv, t, d)).astype(np.float32),
                 v=rng.uniform(-1, 1, (b, hkv, t, d)).astype(np.float32),
                 mask=m)
        for th in a.threads:
            res, _ = run_bench(a, path, th, a.iters)
            cpu_ms = "-"
            if th == 1:
                # CPU time of n more calls: the time the calls computed,
                # without the slices the OS gave to other processes (n large
                # enough to drown the noise of process start-up).
                n = max(a.iters, int(2000 / max(res["median_ms"], 1e-3)))
                _, c1 = run_bench(a, path, th, n)
                _, c2 = run_bench(a, path, th, 2 * n)
                cpu_ms = f"{(c2 - c1) / n * 1e3:.3f}"
            print(f"{name:<20} {'tfc reference':<13} {th:3d} "
                  f"{res['min_ms']:9.3f} {res['median_ms']:9.3f} {cpu_ms:>9}",
                  flush=True)


def run_bench(a, path, threads, iters):
    """tfc-run --bench; returns its JSON and the CPU seconds it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(
        [a.tfc_run, path + ".so", "--inputs", path + ".npz", "--bench",
         "--iters", str(iters), "--threads", str(threads), "--json"],
        check=True, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(r.stdout), cpu


if __name__ == "__main__":
    main()
