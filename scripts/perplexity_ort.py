#!/usr/bin/env python3
"""Perplexity of an ONNX decoder through ONNX Runtime, the same procedure as
`tfc-run MODEL.so --perplexity TOKENS --context C --stride S [--max-chunks N]`
(tools/tfc-run/Perplexity.cpp): HF's strided sliding window -- windows of C
tokens starting every S tokens, end = min(begin + C, n); each scores the
last (end - previous end) tokens less the window's first one; NLL =
-log softmax(logits[t-1])[token t] in double (max + log sum exp - logit);
perplexity = exp(mean NLL). Inputs: input_ids [1, len] and attention_mask
ones.

  .venv/bin/python scripts/perplexity_ort.py .cache/onnx/smollm2.dynamo.onnx \\
      /tmp/ppl/wiki.tokens --context 512 --stride 512 --max-chunks 40
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import onnxruntime as ort


def windows(n, context, stride, max_chunks):
    out, prev_end = [], 0
    for begin in range(0, n, stride):
        end = min(begin + context, n)
        trg = end - prev_end
        length = end - begin
        out.append((begin, end, max(1, length - trg)))
        prev_end = end
        if end == n or (max_chunks > 0 and len(out) == max_chunks):
            break
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("tokens")
    ap.add_argument("--context", type=int, required=True)
    ap.add_argument("--stride", type=int, default=0)
    ap.add_argument("--max-chunks", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    stride = args.stride or args.context
    if args.context < 2 or stride > args.context:
        sys.exit("need --context >= 2 and --stride <= --context")
    with open(args.tokens) as f:
        tokens = np.array([int(w) for w in f.read().split()], dtype=np.int64)
    so = ort.SessionOptions()
    if args.threads:
        so.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    wins = windows(len(tokens), args.context, stride, args.max_chunks)
    nll_sum, scored = 0.0, 0
    t0 = time.time()
    for begin, end, first in wins:
        ids = tokens[begin:end][None, :]
        feed = {"input_ids": ids}
        if "attention_mask" in names:
            feed["attention_mask"] = np.ones_like(ids)
        logits = sess.run(None, feed)[0][0]
        for t in range(first, end - begin):
            row = logits[t - 1].astype(np.float64)
            mx = row.max()
            nll_sum += mx + math.log(np.exp(row - mx).sum()) - row[ids[0, t]]
            scored += 1
    secs = time.time() - t0
    mean = nll_sum / scored
    ppl = math.exp(mean)
    if args.json:
        print(json.dumps({"ok": True, "tokens_in_file": len(tokens),
                          "context": args.context, "stride": stride,
                          "windows": len(wins), "tokens_evaluated": scored,
                          "mean_nll": mean, "perplexity": ppl,
                          "seconds": round(secs, 3)}))
    else:
        print(f"tokens in file: {len(tokens)}")
        print(f"context {args.context}, stride {stride}, windows: {len(wins)}")
        print(f"tokens evaluated: {scored}")
        print(f"mean nll: {mean:.10f}")
        print(f"perplexity: {ppl:.10f}")
        print(f"time: {secs:.2f} s")


if __name__ == "__main__":
    main()
