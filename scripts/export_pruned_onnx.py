#!/usr/bin/env python3
"""Write a pruned model back as ONNX (docs/DESIGN.md "Pruning").

    export_pruned_onnx.py ORIG.onnx STEM.prune.json -o OUT.onnx [--masks-out M.npz]

`tfc --prune=... --export-onnx OUT.onnx` runs this itself. STEM.prune.json
(written by --tfc-prune) lists every weight the pass changed: its ONNX
initializer name (or, for a constant without one, its shape and first
values), and a key into STEM.masks.npz holding the kept elements (uint8, the
initializer's shape). Every such initializer is multiplied by its mask, so
the ONNX model computes what the pruned tfc model computes. Structured
pruning (heads:K / ffn:F) exports the removed heads and channels as zero
rows / columns of the original shapes: a head whose q, k, v columns, biases
and o_proj rows are zero contributes exactly 0, as in the shrunk model.

The masks are also written to OUT.masks.npz keyed by initializer name (the
form --prune=mask=FILE and scripts/finetune_pruned.py read).
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def find_initializer(graph, entry, by_name):
    name = entry.get("onnx_name") or ""
    if name:
        if name not in by_name:
            sys.exit(f"export_pruned_onnx: initializer '{name}' is not in the model")
        return by_name[name], False
    # No name: match shape and first values (or those of the transpose).
    shape = tuple(entry["shape"])
    head = np.array(entry["head"], dtype=np.float32)
    for init in graph.initializer:
        dims = tuple(init.dims)
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        if dims == shape:
            a = numpy_helper.to_array(init).reshape(-1)[: len(head)]
            if np.array_equal(a, head):
                return init, False
        if len(shape) == 2 and dims == shape[::-1]:
            a = numpy_helper.to_array(init).T.reshape(-1)[: len(head)]
            if np.array_equal(a, head):
                return init, True
    sys.exit(f"export_pruned_onnx: no initializer matches the weight {entry['key']} "
             f"of shape {list(shape)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("prune_json")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--masks-out", help="default: OUT without .onnx + .masks.npz")
    args = ap.parse_args()

    with open(args.prune_json) as f:
        spec = json.load(f)
    masks = np.load(spec["masks"])
    model = onnx.load(args.model)
    graph = model.graph
    by_name = {i.name: i for i in graph.initializer}
    out_masks = {}
    for entry in spec["weights"]:
        init, transposed = find_initializer(graph, entry, by_name)
        keep = masks[entry["key"]].astype(bool)
        if transposed:
            keep = keep.T
        w = numpy_helper.to_array(init)
        if w.shape != keep.shape:
            sys.exit(f"export_pruned_onnx: mask {entry['key']} has shape {keep.shape}, "
                     f"initializer '{init.name}' {w.shape}")
        prev = out_masks.get(init.name)
        if prev is not None:
            keep = keep & prev
        out_masks[init.name] = keep
        pruned = np.where(keep, w, np.zeros_like(w)).astype(w.dtype)
        init.CopyFrom(numpy_helper.from_array(pruned, init.name))
    onnx.save(model, args.output)
    stem = args.output[:-5] if args.output.endswith(".onnx") else args.output
    masks_out = args.masks_out or stem + ".masks.npz"
    np.savez_compressed(masks_out, **{k: v.astype(np.uint8) for k, v in out_masks.items()})
    total = sum(m.size for m in out_masks.values())
    kept = sum(int(m.sum()) for m in out_masks.values())
    print(f"export_pruned_onnx: {len(out_masks)} initializers, "
          f"{1 - kept / max(total, 1):.4f} of their elements zero -> {args.output}, "
          f"{masks_out}", file=sys.stderr)


if __name__ == "__main__":
    main()
