#!/usr/bin/env python3
"""Remove the FFN channels a pruned ONNX model carries as zeros (docs/DESIGN.md "Pruning").

    shrink_onnx_ffn.py IN.onnx -o OUT.onnx [--masks IN.masks.npz --masks-out OUT.masks.npz]

`tfc --prune=ffn:F --export-onnx OUT.onnx --export-shrink` runs this on the
exported file. An FFN here is a MatMul whose weight (B, an initializer
[F, n]) is fed only through elementwise ops (bias adds, GELU / SiLU pieces,
the gate * up product) by MatMuls whose weights are initializers [k, F]; a
channel j whose down-projection row and every up / gate column are all zero
contributes exactly 0, so the channel is sliced out of those weights and of
the [F] initializers (biases) on the way: ONNX Runtime then runs the shrunk
model, with the same function, on smaller shapes. Zero attention heads are
shrink_onnx_heads.py's (--export-shrink runs it after this script).

Only what provably keeps the function is sliced: every intermediate tensor
must be consumed inside the FFN alone, every initializer touched must have
no other user, and every other input of an elementwise op must be a scalar
(or size-1) constant. Anything else leaves that FFN as it is; the script
prints what it did per FFN. With --masks, the keep-masks (keyed by
initializer name) are sliced the same way.
"""
import argparse
import sys

import numpy as np
import onnx
from onnx import numpy_helper

ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Erf", "Sigmoid", "Tanh", "Relu",
               "Gelu", "FastGelu", "Pow", "Sqrt", "Neg", "Identity", "Softplus",
               "HardSigmoid", "Exp"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--masks", help="keep-masks keyed by initializer name (.npz)")
    ap.add_argument("--masks-out")
    args = ap.parse_args()

    model = onnx.load(args.model)
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consts = {}  # Constant nodes' outputs -> array (scalars count as constants)
    for n in g.node:
        if n.op_type == "Constant" and n.attribute:
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = numpy_helper.to_array(a.t)
    producer = {o: n for n in g.node for o in n.output}
    users = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    graph_outputs = {o.name for o in g.output}
    arrays = {}

    def arr(name):
        if name not in arrays:
            arrays[name] = numpy_helper.to_array(inits[name])
        return arrays[name]

    def is_scalar_const(name):
        if name in inits:
            return int(np.prod(inits[name].dims)) == 1
        return name in consts and consts[name].size == 1

    def only_used_by(name, ids):
        return name not in graph_outputs and all(id(u) in ids for u in users.get(name, []))

    slices = {}  # initializer name -> (axis, keep)
    stale = set()  # tensors whose recorded shapes change
    report, shrunk, removed = [], 0, 0
    for down in g.node:
        if down.op_type != "MatMul" or down.input[1] not in inits:
            continue
        D = arr(down.input[1])
        if D.ndim != 2:
            continue
        F = D.shape[0]
        # Walk back from the down projection's input through elementwise ops.
        nodes, ups, vecs, ok = [], [], [], True
        stack = [down.input[0]]
        seen = set()
        while stack and ok:
            t = stack.pop()
            if t in seen:
                continue
            seen.add(t)
            p = producer.get(t)
            if p is None:
                ok = False
            elif p.op_type == "MatMul" and p.input[1] in inits and \
                    arr(p.input[1]).ndim == 2 and arr(p.input[1]).shape[1] == F:
                nodes.append(p)
                ups.append(p)
            elif p.op_type in ELEMENTWISE:
                nodes.append(p)
                for i in p.input:
                    if not i:
                        continue
                    if i in inits and tuple(inits[i].dims) == (F,):
                        vecs.append(i)
                    elif is_scalar_const(i):
                        continue
                    elif i in inits or i in consts:
                        ok = False
                    else:
                        stack.append(i)
            else:
                ok = False
        if not ok or not ups:
            continue
        # Every tensor between the up projections and the down projection is
        # used inside the FFN only; every weight and bias has no other user.
        inner = {id(n) for n in nodes} | {id(down)}
        if not all(only_used_by(o, inner) for n in nodes for o in n.output):
            continue
        weights = [u.input[1] for u in ups]
        if not all(len(users.get(w, [])) == 1 for w in weights + [down.input[1]]) or \
                not all(all(id(u) in inner for u in users.get(v, [])) for v in vecs):
            continue
        dead = ~D.any(axis=1)
        for w in weights:
            dead &= ~arr(w).any(axis=0)
        keep = ~dead
        if keep.all() or not keep.any():
            report.append(f"{down.name or down.output[0]}: {F} channels, none removed")
            continue
        stale.update(o for n in nodes for o in n.output)
        shrunk += 1
        removed += int(dead.sum())
        slices[down.input[1]] = (0, keep)
        for w in weights:
            slices[w] = (1, keep)
        for v in vecs:
            slices[v] = (0, keep)
        report.append(f"{down.name or down.output[0]}: {F} -> {int(keep.sum())} channels "
                      f"({len(weights)} up / gate weights, {len(set(vecs))} biases)")

    for name, (axis, keep) in slices.items():
        a = np.compress(keep, arr(name), axis=axis)
        inits[name].CopyFrom(numpy_helper.from_array(a.astype(arr(name).dtype), name))
    # Shapes recorded for the intermediate tensors are stale now.
    kept = [v for v in g.value_info if v.name not in stale]
    del g.value_info[:]
    g.value_info.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, args.output)

    if args.masks:
        masks = dict(np.load(args.masks))
        for name, (axis, keep) in slices.items():
            if name in masks and masks[name].ndim > axis and masks[name].shape[axis] == keep.size:
                masks[name] = np.compress(keep, masks[name], axis=axis)
        out = args.masks_out or (args.output[:-5] if args.output.endswith(".onnx")
                                 else args.output) + ".masks.npz"
        np.savez_compressed(out, **masks)
    for line in report:
        print("shrink_onnx_ffn: " + line, file=sys.stderr)
    print(f"shrink_onnx_ffn: {shrunk} FFNs shrunk, "
          f"{removed} channels removed -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
