"""ONNX Runtime's optimizations on an exported model, saved as users save
them: by default its transformer optimizer (onnxruntime.transformers.
optimizer, as Optimum's -O1 export runs it); with --session-level extended
the graph its session optimizes and writes (SessionOptions.
optimized_model_filepath). Writes OUT.onnx with ORT's fused com.microsoft
ops and OUT.ref.npz, ONNX Runtime's outputs on the optimized model for every
case of REF, and prints the fused ops.

    ort_optimize.py MODEL.onnx REF.npz OUT --model-type bert --num-heads 12 --hidden 384
    ort_optimize.py MODEL.onnx REF.npz OUT --session-level extended
"""
import argparse, collections, re
import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.transformers import optimizer

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("model")
p.add_argument("ref")
p.add_argument("out")
p.add_argument("--model-type", default="bert")
p.add_argument("--num-heads", type=int, default=0)
p.add_argument("--hidden", type=int, default=0)
p.add_argument("--opt-level", type=int, default=1)
p.add_argument("--session-level", choices=["basic", "extended"])
a = p.parse_args()

if a.session_level:
    so = ort.SessionOptions()
    so.graph_optimization_level = {
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED}[a.session_level]
    so.optimized_model_filepath = a.out + ".onnx"
    ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
else:
    m = optimizer.optimize_model(a.model, model_type=a.model_type, num_heads=a.num_heads,
                                 hidden_size=a.hidden, opt_level=a.opt_level)
    m.save_model_to_file(a.out + ".onnx")
g = onnx.load(a.out + ".onnx").graph
ops = collections.Counter(n.op_type for n in g.node if n.domain == "com.microsoft")
for op, n in sorted(ops.items()):
    print(f"fused: com.microsoft.{op} x {n}")

sess = ort.InferenceSession(a.out + ".onnx", providers=["CPUExecutionProvider"])
names = [i.name for i in sess.get_inputs()]
r = np.load(a.ref)
cases = sorted({int(x.group(1)) for k in r.files if (x := re.match(r"case(\d+)_", k))})
out = {}
for k in cases:
    feed = {n: r[f"case{k}_{n}"] for n in names}
    for n, v in feed.items():
        out[f"case{k}_{n}"] = v
    for o, v in zip(sess.get_outputs(), sess.run(None, feed)):
        out[f"case{k}_{o.name}"] = v
np.savez(a.out + ".ref.npz", **out)
print(f"{len(cases)} cases")
