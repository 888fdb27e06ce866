#!/usr/bin/env python3
"""STS-B Spearman of a sentence-embedding ONNX model run by ONNX Runtime.

The ORT side of docs/ACCURACY.md's quantization rows: the same measure as
`bert-embed --pairs` (examples/bert-embed): each sentence tokenized with the
model's tokenizer (max 256 tokens), batches of --batch texts padded to their
longest, the first output mean-pooled over the attention mask, cosine of
each pair, Spearman (average ranks for ties, as scipy.stats.spearmanr)
against the gold scores. Texts go in bert-embed's order (every first
sentence, then every second one), so the batches hold the same texts -- which
matters for per-tensor dynamic quantization, whose scale depends on the whole
batch. The sentences are columns 6 and 7 (some lines have 9 columns).

Usage: scripts/stsb_spearman_ort.py MODEL.onnx [--pairs sts-test.csv]
       [--tokenizer .cache/models/minilm] [--batch 32] [--threads 2]
       [--no-opt]   (ORT_DISABLE_ALL: the graph's literal ONNX semantics)
"""
import argparse
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent


def ranks(x):
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(np.asarray(a, float)), ranks(np.asarray(b, float))
    return float(np.corrcoef(ra, rb)[0, 1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--pairs", default=str(ROOT.parent / "shared/data/stsbenchmark/sts-test.csv"))
    ap.add_argument("--tokenizer", default=str(ROOT / ".cache/models/minilm"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-opt", action="store_true")
    a = ap.parse_args()
    import onnxruntime as ort
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(a.tokenizer)
    gold, firsts, seconds = [], [], []
    with open(a.pairs, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            gold.append(float(cols[4]))
            firsts.append(cols[5])
            seconds.append(cols[6])
    texts = firsts + seconds
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    if a.no_opt:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    emb = []
    for i in range(0, len(texts), a.batch):
        enc = tok(texts[i:i + a.batch], padding="longest", truncation=True, max_length=256,
                  return_tensors="np")
        feeds = {k: enc[k].astype(np.int64) for k in enc if k in names}
        h = sess.run(None, feeds)[0]
        m = enc["attention_mask"][..., None].astype(np.float32)
        emb.append((h * m).sum(1) / np.maximum(m.sum(1), 1e-9))
    e = np.concatenate(emb)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    n = len(gold)
    cos = (e[:n] * e[n:]).sum(1)
    print(f"spearman: {spearman(cos, gold):.4f} ({len(gold)} pairs, onnxruntime {ort.__version__}"
          f"{', ORT_DISABLE_ALL' if a.no_opt else ''})")


if __name__ == "__main__":
    main()
