#!/usr/bin/env python3
"""Fine-tune a pruned MiniLM with its masks held fixed (docs/ACCURACY.md "Pruning").

    finetune_pruned.py --onnx pruned.onnx --masks pruned.masks.npz \
        --hf .cache/models/minilm -o finetuned.onnx [--steps 300] [--threads 2]

The pruned ONNX (tfc --prune=... --export-onnx pruned.onnx) and its masks
(keyed by ONNX initializer name) come from tfc. The script loads the Hugging
Face MiniLM (transformers, CPU), copies every ONNX initializer into the
matching PyTorch parameter (by name `m.<param>`, or by content for the
exporter's transposed `onnx::MatMul_*` weights, matched against the original
ONNX), trains sentence embeddings on STS-B train (mean pooling, cosine
similarity regressed on score / 5, MSE; sentence-transformers' recipe) and
multiplies every masked weight by its mask after each optimizer step, so the
zeros stay zeros. Then it writes the trained parameters back into the pruned
ONNX's initializers (same names and layouts) as OUT, and checks that OUT keeps
every masked zero. Re-importing OUT with tfc detects the sparsity
(`tfc.sparsity` with method "imported").

Deterministic: fixed seed, fixed data order, one thread by default.
"""
import argparse
import csv
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def load_pairs(path, limit=None):
    pairs = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 7:
                continue
            pairs.append((row[5], row[6], float(row[4]) / 5.0))
    return pairs[:limit] if limit else pairs


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--onnx", required=True, help="pruned ONNX (tfc --export-onnx)")
    ap.add_argument("--masks", required=True, help="masks .npz keyed by initializer name")
    ap.add_argument("--original", default=os.path.join(root, ".cache/onnx/minilm.ts.onnx"),
                    help="the unpruned ONNX export (to match transposed weights)")
    ap.add_argument("--hf", default=os.path.join(root, ".cache/models/minilm"))
    ap.add_argument("--train", default=os.path.join(root, "../shared/data/stsbenchmark/sts-train.csv"))
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(args.hf)
    model = AutoModel.from_pretrained(args.hf).float()
    params = dict(model.named_parameters())

    pruned = onnx.load(args.onnx)
    original = onnx.load(args.original)
    masks = dict(np.load(args.masks))

    # ONNX initializer -> (torch parameter, transposed?).
    orig_by_name = {i.name: numpy_helper.to_array(i) for i in original.graph.initializer}
    by_content = {}
    for pname, p in params.items():
        a = p.detach().numpy()
        by_content[(a.shape, a.reshape(-1)[:16].tobytes())] = (pname, False)
        if a.ndim == 2:
            t = np.ascontiguousarray(a.T)
            by_content[(t.shape, t.reshape(-1)[:16].tobytes())] = (pname, True)
    mapping = {}
    for init in pruned.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        name = init.name
        if name.startswith("m.") and name[2:] in params:
            mapping[name] = (name[2:], False)
            continue
        o = orig_by_name.get(name)
        if o is None:
            continue
        hit = by_content.get((o.shape, np.ascontiguousarray(o).reshape(-1)[:16].tobytes()))
        if hit:
            mapping[name] = hit
    missing = [k for k in masks if k not in mapping]
    if missing:
        sys.exit(f"finetune_pruned: no PyTorch parameter for masked initializers {missing[:5]}")

    def to_torch(name, a):
        pname, tr = mapping[name]
        return pname, (a.T if tr else a)

    # Start from the pruned weights.
    with torch.no_grad():
        for init in pruned.graph.initializer:
            if init.name in mapping:
                pname, a = to_torch(init.name, numpy_helper.to_array(init))
                params[pname].copy_(torch.from_numpy(np.ascontiguousarray(a)))
    tmask = {}
    for name, m in masks.items():
        pname, a = to_torch(name, m.astype(np.float32))
        tmask[pname] = torch.from_numpy(np.ascontiguousarray(a))

    def apply_masks():
        with torch.no_grad():
            for pname, m in tmask.items():
                params[pname].mul_(m)

    apply_masks()
    pairs = load_pairs(args.train)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(pairs))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    model.train()

    def embed(texts):
        enc = tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        out = model(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        return (out * m).sum(1) / m.sum(1).clamp(min=1e-9)

    step = 0
    pos = 0
    while step < args.steps:
        idx = [order[(pos + i) % len(order)] for i in range(args.batch)]
        pos += args.batch
        a = embed([pairs[i][0] for i in idx])
        b = embed([pairs[i][1] for i in idx])
        gold = torch.tensor([pairs[i][2] for i in idx])
        loss = torch.nn.functional.mse_loss(torch.nn.functional.cosine_similarity(a, b), gold)
        opt.zero_grad()
        loss.backward()
        opt.step()
        apply_masks()
        step += 1
        if step % 50 == 0 or step == 1:
            print(f"finetune_pruned: step {step}/{args.steps} loss {loss.item():.4f}",
                  file=sys.stderr, flush=True)

    # Write the trained parameters back into the pruned ONNX.
    model.eval()
    for init in pruned.graph.initializer:
        if init.name not in mapping:
            continue
        pname, tr = mapping[init.name]
        a = params[pname].detach().numpy()
        a = np.ascontiguousarray(a.T if tr else a).astype(np.float32)
        if init.name in masks:
            keep = masks[init.name].astype(bool)
            if np.any(a[~keep] != 0):
                sys.exit(f"finetune_pruned: {init.name} lost a masked zero")
        init.CopyFrom(numpy_helper.from_array(a, init.name))
    onnx.save(pruned, args.output)
    print(f"finetune_pruned: {args.steps} steps, wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
