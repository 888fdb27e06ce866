#!/usr/bin/env python3
"""Decode throughput of ONNX Runtime on a with-past export (scripts/export_with_past.py).

  bench_decode_ort.py MODEL.withpast.onnx --prompt REF.npz [--prefix case0_] --steps N --threads T [--json]

Prefills the prompt's input_ids (batch 1) with an empty past, then runs N greedy
decode steps feeding the presents back as the next past (the way
Optimum/transformers serve such exports). Reports prefill time and decode
tokens/s (median and mean per-step latency), ONNX Runtime with intra_op T
threads, sequential execution, all graph optimizations."""
import argparse, json, statistics, sys, time
import numpy as np
import onnxruntime as ort

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("model")
p.add_argument("--prompt", required=True)
p.add_argument("--prefix", default="case0_")
p.add_argument("--steps", type=int, default=64)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--json", action="store_true")
a = p.parse_args()

so = ort.SessionOptions()
so.intra_op_num_threads = a.threads
so.inter_op_num_threads = 1
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
ins = {i.name: i for i in sess.get_inputs()}
past_names = [n for n in ins if n.startswith("past_key_values.")]
ids = np.load(a.prompt)[a.prefix + "input_ids"][:1]
kv_heads = ins[past_names[0]].shape[1]
head_dim = ins[past_names[0]].shape[3]
past = {n: np.zeros((1, kv_heads, 0, head_dim), np.float32) for n in past_names}
out_names = [o.name for o in sess.get_outputs()]

def run(tokens, past, total):
    feeds = {"input_ids": tokens, "attention_mask": np.ones((1, total), np.int64), **past}
    outs = sess.run(None, feeds)
    res = dict(zip(out_names, outs))
    new_past = {n: res[n.replace("past_key_values.", "present.")] for n in past_names}
    return res["logits"], new_past

t0 = time.perf_counter()
logits, past = run(ids, past, ids.shape[1])
prefill_ms = (time.perf_counter() - t0) * 1e3
total = ids.shape[1]
steps = []
for s in range(a.steps):
    tok = np.array([[int(np.argmax(logits[0, -1]))]], np.int64)
    total += 1
    t0 = time.perf_counter()
    logits, past = run(tok, past, total)
    steps.append((time.perf_counter() - t0) * 1e3)
res = {"prompt_tokens": int(ids.shape[1]), "steps": a.steps, "threads": a.threads,
       "prefill_ms": prefill_ms, "decode_median_ms": statistics.median(steps),
       "decode_mean_ms": statistics.mean(steps),
       "decode_tokens_per_s": 1e3 / statistics.mean(steps), "ort_version": ort.__version__}
print(json.dumps(res) if a.json else
      f"ORT {ort.__version__}: prefill {prefill_ms:.1f} ms ({ids.shape[1]} tokens), decode "
      f"{res['decode_tokens_per_s']:.1f} tokens/s (median step {res['decode_median_ms']:.2f} ms)")
