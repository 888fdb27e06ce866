"""ONNX Runtime's optimizations on an exported model, saved as users save
them: by default its transformer optimizer (onnxruntime.transformers.
optimizer, as Optimum's -O1 export runs it); with --session-level extended
the graph its session optimizes and writes (SessionOptions.
optimized_model_filepath). Writes OUT.onnx with ORT's fused com.microsoft
ops and prints them; ort_refs.py then runs ONNX Runtime on it for the
references.

    ort_optimize.py MODEL.onnx OUT --model-type bert --num-heads 12 --hidden 384
    ort_optimize.py MODEL.onnx OUT --session-level extended
"""
import argparse, collections
import onnx
import onnxruntime as ort

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("model")
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
    # Imported here: it needs sympy (scripts/requirements-export.txt), which a
    # TFC_NO_MODELS setup skips; the session level needs onnxruntime alone.
    from onnxruntime.transformers import optimizer
    m = optimizer.optimize_model(a.model, model_type=a.model_type, num_heads=a.num_heads,
                                 hidden_size=a.hidden, opt_level=a.opt_level)
    m.save_model_to_file(a.out + ".onnx")
g = onnx.load(a.out + ".onnx").graph
ops = collections.Counter(n.op_type for n in g.node if n.domain == "com.microsoft")
for op, n in sorted(ops.items()):
    print(f"fused: com.microsoft.{op} x {n}")

