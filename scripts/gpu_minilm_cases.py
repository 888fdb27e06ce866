#!/usr/bin/env python3
"""MiniLM for the GPU check (scripts/gpu_check.sh prepare): the model with its
float weights rounded to the nearest float16 value (kept float32), so that
its weights file travels to the GPU machine losslessly in half the bytes
(scripts/device_pack.py: the low mantissa bytes are zero), plus ONNX Runtime
(CPU) references on that same model for the check cases and the benchmark
shapes: 1x9, 8x13 and 32x11 (padded), 1x128 and 32x128 (padded rows).

  gpu_minilm_cases.py MODEL.onnx OUT.onnx OUT.ref.npz
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper


def main():
    src, dst, ref = sys.argv[1:4]
    m = onnx.load(src)
    for init in m.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT:
            a = numpy_helper.to_array(init)
            init.CopyFrom(numpy_helper.from_array(
                a.astype(np.float16).astype(np.float32), init.name))
    onnx.save(m, dst)
    rng = np.random.default_rng(2026)
    shapes = [(1, 9), (8, 13), (32, 11), (1, 128), (32, 128)]
    sess = ort.InferenceSession(dst, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    out = {}
    for k, (b, s) in enumerate(shapes):
        ids = rng.integers(1000, 29000, size=(b, s), dtype=np.int64)
        mask = np.ones((b, s), dtype=np.int64)
        for r in range(b):
            n = s if (r % 3 == 0 or b == 1) else int(rng.integers(2, s + 1))
            ids[r, 0] = 101
            ids[r, n - 1] = 102
            ids[r, n:] = 0
            mask[r, n:] = 0
        feeds = {"input_ids": ids, "attention_mask": mask,
                 "token_type_ids": np.zeros((b, s), dtype=np.int64)}
        feeds = {n: feeds[n] for n in names}
        res = sess.run(None, feeds)
        for n, v in feeds.items():
            out[f"case{k}_{n}"] = v
        for o, v in zip(sess.get_outputs(), res):
            out[f"case{k}_{o.name}"] = v
        print(f"case{k}: {b}x{s} -> {res[0].shape}")
    np.savez(ref, **out)


if __name__ == "__main__":
    main()
