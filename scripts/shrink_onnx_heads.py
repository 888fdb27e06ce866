#!/usr/bin/env python3
"""Remove the attention heads a pruned ONNX model carries as zeros (docs/DESIGN.md "Pruning").

    shrink_onnx_heads.py IN.onnx -o OUT.onnx [--masks IN.masks.npz --masks-out OUT.masks.npz]

`tfc --prune=heads:K --export-onnx OUT.onnx --export-shrink` runs this on the
exported file (after shrink_onnx_ffn.py). An attention here is the data flow
from projection MatMuls on initializers [d, n] (q, k, v; optional bias adds)
to the next MatMuls on initializers (the output projection Wo [n_o, d]): the
projections' outputs are split into heads by a Reshape, and every op in
between must treat the head axis as a batch axis. The script follows that
axis through each op (Transpose, Reshape, Expand, Unsqueeze, Squeeze, Slice,
Concat, Gather, MatMul batch axes, Softmax, elementwise ops whose other
operands broadcast over it) with symbolic shapes (onnx_shapes.py); any other
op, an operand that varies over heads, or the head count read from a shape
and used as data refuses that attention with the reason.

Heads go in whole kv groups (G = the fewest heads of any projection; GQA: a
kv head and the q heads that share it): a group is removed when its q/k/v
columns, their bias entries and its Wo rows are all zero; such a group adds
exactly 0 to Wo's output. The weights, biases and Wo rows of the removed
groups are sliced out; a Reshape / Expand shape entry that holds the head
axis is rewritten when it is a constant (H -> H', H*hd -> H'*hd, shared
constants copied on write: one new tensor per distinct rewrite, the old one
dropped when nothing uses it any more) and left alone when it is -1, 0 (copy)
or read from the tensor's own shape. Rotary embeddings pass: their cos / sin
broadcast over the head axis and their slices cut the head dim. Finally the
rewritten graph's shapes are evaluated again and every tensor of a shrunk
attention must have the original shape with G' / G of the head axis (and the
output projection's output the original shape); an attention that fails
this is left as it was. With --masks, the keep-masks (keyed by initializer
name) are sliced the same way.
"""
import argparse
import copy
import sys
from fractions import Fraction

import numpy as np
import onnx
from onnx import numpy_helper

from onnx_shapes import DYN, ELEMENTWISE, ShapeEval, attr, div, integral, mul, norm_axis, prod

# Inputs that are shape parameters, not data.
PARAMS = {"Reshape": {1}, "Expand": {1}, "Slice": {1, 2, 3, 4}, "Unsqueeze": {1},
          "Squeeze": {1}}
MAX_REGION = 2000


class Refused(Exception):
    pass


def name_of(n):
    return n.name or n.output[0]


class Graph:
    def __init__(self, model):
        self.model, g = model, model.graph
        self.opset = next((o.version for o in model.opset_import
                           if o.domain in ("", "ai.onnx")), 1)
        self.inits = {t.name: t for t in g.initializer}
        # One list of node wrappers: protobuf may hand out new ones per
        # iteration, and nodes are keyed by id() below.
        self.nodes = list(g.node)
        self.order = {id(n): k for k, n in enumerate(self.nodes)}
        self.producer = {o: n for n in self.nodes for o in n.output}
        self.users = {}  # tensor -> [(node, input index)]; -1: used in a subgraph
        for n in self.nodes:
            for k, i in enumerate(n.input):
                if i:
                    self.users.setdefault(i, []).append((n, k))
            for a in n.attribute:
                for sub in list(a.graphs) + ([a.g] if a.HasField("g") else []):
                    for sn in sub.node:
                        for i in sn.input:
                            self.users.setdefault(i, []).append((n, -1))
        self.outputs = {o.name for o in g.output}
        self.ev = ShapeEval(g, self.opset)
        self._arrays = {}

    def array(self, name):
        if name not in self._arrays:
            self._arrays[name] = numpy_helper.to_array(self.inits[name])
        return self._arrays[name]

    def is_weight_matmul(self, n):
        return n.op_type == "MatMul" and n.input[1] in self.inits and \
            len(self.inits[n.input[1]].dims) == 2

    def shape(self, t):
        s = self.ev.shape.get(t)
        if s is None:
            raise Refused(f"the shape of {t} is not known")
        return s


class Block:
    """One attention: projections (starts), the nodes between them and the
    output projections (terms), and the Shape nodes that read its tensors."""

    def __init__(self):
        self.starts, self.nodes, self.terms, self.reads, self.bad = [], {}, {}, {}, []

    def name(self):
        return ", ".join(name_of(t) for t in self.terms.values()) or name_of(self.starts[0])


def closure(G, start, blk):
    stack, seen = [start.output[0]], set()
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        if t in G.outputs:
            blk.bad.append(f"{t} is a graph output")
        for n, k in G.users.get(t, []):
            if k == 0 and G.is_weight_matmul(n):
                blk.terms[id(n)] = n
            elif n.op_type in ("Shape", "Size"):
                blk.reads[id(n)] = n
            elif k < 0 or k in PARAMS.get(n.op_type, ()):
                blk.bad.append(f"{t} is used by {n.op_type} {name_of(n)} as a shape or in a "
                               "subgraph")
            elif id(n) not in blk.nodes:
                blk.nodes[id(n)] = n
                stack.extend(o for o in n.output if o)
        if len(blk.nodes) > MAX_REGION:
            blk.bad.append(f"the data of {name_of(start)} reaches more than {MAX_REGION} nodes "
                           "before an output projection")
            return


def find_blocks(G):
    """Projections whose data flows meet form one block."""
    blocks = []
    for n in G.nodes:
        if not G.is_weight_matmul(n):
            continue
        b = Block()
        b.starts.append(n)
        closure(G, n, b)
        for other in [o for o in blocks if set(o.nodes) & set(b.nodes)]:
            blocks.remove(other)
            b.starts = other.starts + b.starts
            b.nodes.update(other.nodes)
            b.terms.update(other.terms)
            b.reads.update(other.reads)
            b.bad += other.bad
        blocks.append(b)
    for b in blocks:  # a block's own projections are starts, not outputs
        for s in b.starts:
            b.terms.pop(id(s), None)
    return blocks


def head_split(G, start, blk):
    """The Reshape splitting start's output [.., n] into [.., h, hd] (through
    elementwise ops only): (h, hd), or None."""
    stack, found = [start.output[0]], []
    while stack:
        t = stack.pop()
        for n, k in G.users.get(t, []):
            if id(n) not in blk.nodes:
                continue
            if n.op_type == "Reshape":
                found.append(n)
            elif n.op_type in ELEMENTWISE:
                stack.append(n.output[0])
    if len(found) != 1:
        return None
    r = found[0]
    s_in, s_out = G.ev.shape.get(r.input[0]), G.ev.shape.get(r.output[0])
    if s_in is None or s_out is None or len(s_out) != len(s_in) + 1 or \
            s_out[:-2] != s_in[:-1] or not all(isinstance(d, int) for d in s_out[-2:]) or \
            s_out[-2] * s_out[-1] != s_in[-1]:
        return None
    return s_out[-2], s_out[-1]


class Walk:
    """Follows the head axis through a block. loc[t] = (axis, inner): axis
    `axis` of tensor t has size outer * G * inner with the group index in
    the middle (row-major)."""

    def __init__(self, G, blk, groups):
        self.G, self.blk, self.groups = G, blk, groups
        self.loc = {}
        self.slices = []  # (initializer, axis, inner, role)
        self.fixes = []   # (node, target entry) of Reshape / Expand targets

    def set_loc(self, t, axis, inner):
        s = self.G.shape(t)
        q = div(s[axis], mul(self.groups, inner))
        if q is None or not integral(q) or not integral(inner):
            raise Refused(f"axis {axis} of {t} ({s[axis]}) does not hold {self.groups} "
                          f"head groups of {inner}")
        self.loc[t] = (axis, inner)

    def run(self):
        G = self.G
        for s in self.blk.starts:
            n = G.array(s.input[1]).shape[1]
            self.slices.append((s.input[1], 1, n // self.groups, "weight"))
            self.set_loc(s.output[0], len(G.shape(s.output[0])) - 1, n // self.groups)
        for node in sorted(self.blk.nodes.values(), key=lambda n: G.order[id(n)]):
            if any(i in self.loc for i in node.input):
                self.step(node)
        for t in self.blk.terms.values():
            a, inner = self.loc[t.input[0]]
            if a != len(G.shape(t.input[0])) - 1:
                raise Refused(f"{name_of(t)} does not sum over the heads' axis")
            self.slices.append((t.input[1], 0, inner, "out"))

    def step(self, node):
        op = node.op_type
        G = self.G
        if len([o for o in node.output if o]) != 1:
            raise Refused(f"{op} {name_of(node)} has several outputs")
        out = node.output[0]
        if op in ELEMENTWISE:
            return self.elementwise(node)
        if op in ("Softmax", "LogSoftmax", "Hardmax"):
            a, inner = self.loc[node.input[0]]
            r = len(G.shape(node.input[0]))
            ax = norm_axis(attr(node, "axis", -1 if G.opset >= 13 else 1), r)
            if ax == a or (G.opset < 13 and ax <= a):
                raise Refused(f"{op} {name_of(node)} normalizes over the heads")
            return self.set_loc(out, a, inner)
        if op == "Transpose":
            a, inner = self.loc[node.input[0]]
            perm = attr(node, "perm") or list(reversed(range(len(G.shape(node.input[0])))))
            return self.set_loc(out, list(perm).index(a), inner)
        if op == "MatMul":
            return self.matmul(node)
        if op == "Reshape":
            return self.reshape(node)
        if op == "Expand":
            a, inner = self.loc[node.input[0]]
            s_in, s_out = G.shape(node.input[0]), G.shape(out)
            oa = a + len(s_out) - len(s_in)
            if s_out[oa] != s_in[a]:
                raise Refused(f"Expand {name_of(node)} broadcasts the heads' axis")
            if node.input[1] not in G.ev.val:
                raise Refused(f"the shape of Expand {name_of(node)} is not known")
            j = oa - (len(s_out) - len(G.ev.val[node.input[1]]))
            if j >= 0:
                self.fixes.append((node, j))
            return self.set_loc(out, oa, inner)
        if op in ("Unsqueeze", "Squeeze"):
            a, inner = self.loc[node.input[0]]
            axes = G.ev._axes(node, 1)
            r_in, r_out = len(G.shape(node.input[0])), len(G.shape(out))
            if axes is None:
                raise Refused(f"{op} {name_of(node)} has unknown axes")
            if op == "Unsqueeze":
                axes = {norm_axis(x, r_out) for x in axes}
                return self.set_loc(out, [k for k in range(r_out) if k not in axes][a], inner)
            axes = {norm_axis(x, r_in) for x in axes}
            if a in axes:
                raise Refused(f"Squeeze {name_of(node)} removes the heads' axis")
            return self.set_loc(out, a - sum(x < a for x in axes), inner)
        if op == "Slice":
            a, inner = self.loc[node.input[0]]
            p = G.ev.slice_params(node)
            r = len(G.shape(node.input[0]))
            if p is None or a in {norm_axis(x, r) for x in p[2]}:
                raise Refused(f"Slice {name_of(node)} may cut the heads' axis")
            return self.set_loc(out, a, inner)
        if op == "Concat":
            locs = {self.loc.get(i) for i in node.input}
            a, inner = self.loc[node.input[0]]
            if len(locs) != 1 or norm_axis(attr(node, "axis"), len(G.shape(out))) == a:
                raise Refused(f"Concat {name_of(node)} joins along the heads or with other data")
            return self.set_loc(out, a, inner)
        if op == "Gather" and node.input[0] in self.loc and node.input[1] not in self.loc:
            a, inner = self.loc[node.input[0]]
            ax = norm_axis(attr(node, "axis", 0), len(G.shape(node.input[0])))
            if ax == a:
                raise Refused(f"Gather {name_of(node)} picks along the heads' axis")
            return self.set_loc(out, a if a < ax else a + len(G.shape(node.input[1])) - 1, inner)
        raise Refused(f"{op} {name_of(node)} on the heads' data is not supported")

    def elementwise(self, node):
        G, out = self.G, node.output[0]
        s_out = G.shape(out)
        r = len(s_out)
        axis = inner = None
        for i in node.input:
            if i in self.loc:
                a, inn = self.loc[i]
                s = G.shape(i)
                oa = a + r - len(s)
                if axis is not None and (oa, inn) != (axis, inner):
                    raise Refused(f"the operands of {name_of(node)} hold the heads differently")
                axis, inner = oa, inn
                if s[a] != s_out[oa]:
                    raise Refused(f"{name_of(node)} broadcasts the heads' axis")
        for i in node.input:
            if not i or i in self.loc:
                continue
            s = G.shape(i)
            p = axis - (r - len(s))
            if p < 0 or s[p] == 1:
                continue
            if i in G.inits and s[p] == s_out[axis] and \
                    all(d == 1 for k, d in enumerate(s) if k != p):
                self.slices.append((i, p, inner, "bias"))
                continue
            raise Refused(f"operand {i} of {name_of(node)} varies over the heads")
        self.set_loc(out, axis, inner)

    def matmul(self, node):
        G, out = self.G, node.output[0]
        sa, sb, so = (G.shape(t) for t in (node.input[0], node.input[1], out))
        if min(len(sa), len(sb)) < 2:
            raise Refused(f"MatMul {name_of(node)} has a vector operand")
        r = len(so)
        la, lb = self.loc.get(node.input[0]), self.loc.get(node.input[1])
        res = set()
        for l, s, other, k in ((la, sa, sb, 0), (lb, sb, sa, 1)):
            if l is None:
                continue
            a, inner = l
            if a < len(s) - 2:
                oa = a + r - len(s)
                if s[a] != so[oa]:
                    raise Refused(f"MatMul {name_of(node)} broadcasts the heads' axis")
                res.add((oa, inner))
            elif (k, a) == (0, len(s) - 2) and lb is None:
                res.add((r - 2, inner))
            elif (k, a) == (1, len(s) - 1) and la is None:
                res.add((r - 1, inner))
            else:
                raise Refused(f"MatMul {name_of(node)} sums over the heads")
        if len(res) != 1:
            raise Refused(f"the operands of MatMul {name_of(node)} hold the heads differently")
        oa, inner = res.pop()
        for l, s in ((la, sa), (lb, sb)):
            p = oa - (r - len(s))
            if l is None and p >= 0 and oa < r - 2 and s[p] != 1:
                raise Refused(f"an operand of MatMul {name_of(node)} varies over the heads")
        self.set_loc(out, oa, inner)

    def reshape(self, node):
        G = self.G
        a, inner = self.loc[node.input[0]]
        s_in, s_out = G.shape(node.input[0]), G.shape(node.output[0])
        post = mul(prod(s_in[a + 1:]), inner)  # flat stride of one head group
        for b in reversed(range(len(s_out))):
            inn = div(post, prod(s_out[b + 1:]))
            if inn is None or not integral(inn):
                break
            q = div(s_out[b], mul(self.groups, inn))
            if q is not None and integral(q):
                self.fixes.append((node, b))
                return self.set_loc(node.output[0], b, inn)
        raise Refused(f"Reshape {name_of(node)} splits the head groups")


def check_reads(G, blk, region_nodes):
    """The head count read by Shape from the block's tensors may only reach
    the block's shape parameters (Reshape / Expand / Slice / Unsqueeze)."""
    stack = [o for n in blk.reads.values() for o in n.output]
    seen = set()
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        if t in G.outputs:
            raise Refused(f"{t}, computed from the heads' shape, is a graph output")
        for n, k in G.users.get(t, []):
            if id(n) in blk.nodes:
                if k not in PARAMS.get(n.op_type, ()):
                    raise Refused(f"the heads' shape reaches {n.op_type} {name_of(n)} as data")
            elif id(n) in region_nodes or k < 0 or G.is_weight_matmul(n):
                raise Refused(f"the heads' shape reaches {n.op_type} {name_of(n)} "
                              "outside this attention")
            else:
                stack.extend(o for o in n.output if o)
        if len(seen) > MAX_REGION:
            raise Refused("the heads' shape reaches too many tensors")


class Plan:
    """What one attention loses: keep[g] per head group, the initializer
    slices, the shape-parameter rewrites."""

    def __init__(self, blk, walk, keep, heads, hd):
        self.blk, self.walk, self.keep, self.heads, self.hd = blk, walk, keep, heads, hd
        self.mods = {}  # (node id, input index) -> {entry: new value}
        self.rewrites = []  # "tensor[entry] old -> new"


def group_zero(arr, axis, groups, inner):
    a = np.moveaxis(arr, axis, 0)
    a = a.reshape(-1, groups, inner, int(np.prod(a.shape[1:], dtype=np.int64)))
    return ~a.any(axis=(0, 2, 3))


def analyse(G, blk, region_nodes):
    """A Plan, None (not an attention) or raises Refused."""
    splits = [head_split(G, s, blk) for s in blk.starts]
    if all(s is None for s in splits):
        if any(n.op_type == "Softmax" for n in blk.nodes.values()):
            raise Refused("no Reshape splits the projections into heads (fused q/k/v?)")
        return None
    if blk.bad:
        raise Refused(blk.bad[0])
    if None in splits:
        raise Refused(f"projection {name_of(blk.starts[splits.index(None)])} is not split "
                      "into heads")
    if not blk.terms:
        raise Refused("no output projection (MatMul on an initializer) after the heads")
    groups = min(h for h, _ in splits)
    if any(h % groups for h, _ in splits):
        raise Refused(f"head counts {sorted({h for h, _ in splits})} are not multiples of one "
                      "another")
    walk = Walk(G, blk, groups)
    walk.run()
    check_reads(G, blk, region_nodes)
    dead = np.ones(groups, bool)
    seen = set()
    for name, axis, inner, role in walk.slices:
        if name in seen:
            raise Refused(f"initializer {name} is sliced twice")
        seen.add(name)
        users = {id(n) for n, _ in G.users.get(name, [])}
        if not users <= set(blk.nodes) | {id(n) for n in blk.starts} | set(blk.terms) or \
                name in G.outputs:
            raise Refused(f"initializer {name} is also used outside this attention")
        dead &= group_zero(G.array(name), axis, groups, inner)
    heads = max(h for h, _ in splits)
    plan = Plan(blk, walk, ~dead, (heads, groups), splits[0][1])
    if dead.all():
        raise Refused(f"all {groups} head groups are zero")
    if not dead.any():
        return plan
    new = int((~dead).sum())
    for node, j in walk.fixes:
        target = node.input[1]
        old, src = G.ev.val[target][j], G.ev.src[target][j]
        inferred = old == -1 or (old == 0 and not attr(node, "allowzero", 0))
        if (node.op_type == "Reshape" and inferred) or (node.op_type == "Expand" and old == 1) \
                or not isinstance(old, int) or src == DYN:
            continue  # inferred, copied or read from the data's shape: checked after the rewrite
        if src is None:
            raise Refused(f"entry {j} ({old}) of {target}, the shape of {name_of(node)}, is "
                          "computed, not a constant")
        value = int(Fraction(old) * new / groups)
        plan.mods.setdefault((id(node), 1), {})[j] = value
        if f"{target}[{j}] {old} -> {value}" not in plan.rewrites:
            plan.rewrites.append(f"{target}[{j}] {old} -> {value}")
    return plan


class Rewriter:
    """Applies plans to a copy of the model."""

    def __init__(self, G, model):
        self.G, self.model = G, model
        self.index = G.order
        self.new_nodes = {}   # output name -> NodeProto
        self.new_inits = []   # (original constant, new TensorProto)
        self.cache = {}       # (tensor, mods) -> new tensor
        self.node_names = {}  # new tensor -> the name of its original's node
        self.names = {o for n in G.nodes for o in n.output} | set(G.inits) | \
            {i.name for i in G.model.graph.input}
        self.replaced = set()

    def fresh(self, base):
        k = 1
        while f"{base}_heads{k}" in self.names:
            k += 1
        self.names.add(f"{base}_heads{k}")
        return f"{base}_heads{k}"

    def clone(self, t, mods):
        """A tensor equal to t with flat entries `mods` changed."""
        key = (t, tuple(sorted(mods.items())))
        if key in self.cache:
            return self.cache[key]
        G = self.G
        if t in G.ev.constants:
            if t in G.inits:
                a = G.array(t).copy()
            elif attr(G.producer[t], "value") is not None:
                a = numpy_helper.to_array(attr(G.producer[t], "value")).copy()
            else:  # value_int(s)
                a = np.array(G.ev.val[t], np.int64).reshape(G.ev.shape[t])
            flat = a.reshape(-1)
            for j, v in mods.items():
                flat[j] = v
            out = self.fresh(t)
            self.new_inits.append((t, numpy_helper.from_array(a, out)))
        else:
            p = G.producer.get(t)
            ins = list(p.input) if p is not None else []
            if p is not None and p.op_type == "Concat" and len(G.shape(t)) == 1:
                lens = [len(G.ev.val[i]) for i in ins]
                per = {}
                for j, v in mods.items():
                    k = 0
                    while j >= lens[k]:
                        j -= lens[k]
                        k += 1
                    per.setdefault(k, {})[j] = v
                for k, m in per.items():
                    ins[k] = self.clone(ins[k], m)
            elif p is not None and p.op_type in ("Identity", "Cast", "Unsqueeze", "Squeeze",
                                                 "Reshape"):
                ins[0] = self.clone(ins[0], mods)
            else:
                raise Refused(f"cannot rewrite {t} (made by {p.op_type if p else 'an input'})")
            out = self.fresh(t)
            n = copy.deepcopy(p)
            n.name = self.fresh(p.name or p.output[0])
            del n.input[:]
            n.input.extend(ins)
            n.output[0] = out
            self.new_nodes[out] = n
            self.node_names[out] = p.name
        self.cache[key] = out
        return out

    def apply(self, plans):
        """Rewrites the copy; returns {id(plan): reason} for plans whose shape
        tensors cannot be rewritten (the copy is then to be dropped)."""
        G, g = self.G, self.model.graph
        nodes = list(g.node)
        inits = {t.name: t for t in g.initializer}
        self.slices, failed = {}, {}
        for plan in plans:
            for name, axis, inner, _ in plan.walk.slices:
                n = G.array(name).shape[axis]
                idx = np.arange(n).reshape(-1, plan.heads[1], inner)[:, plan.keep, :].ravel()
                self.slices[name] = (axis, idx)
                inits[name].CopyFrom(numpy_helper.from_array(
                    np.take(G.array(name), idx, axis=axis), name))
            try:
                for (nid, k), mods in plan.mods.items():
                    node = nodes[self.index[nid]]
                    self.replaced.add(node.input[k])
                    node.input[k] = self.clone(node.input[k], mods)
            except Refused as e:
                failed[id(plan)] = str(e)
        if failed:
            return failed
        g.initializer.extend(t for _, t in self.new_inits)
        # New nodes go right before their first consumer.
        order, placed = [], set()

        def place(n):
            for i in n.input:
                if i in self.new_nodes and i not in placed:
                    placed.add(i)
                    place(self.new_nodes[i])
            order.append(n)
        for n in nodes:
            place(n)
        del g.node[:]
        g.node.extend(self.dead_code(order))
        self.take_names()
        stale = {t for p in plans for t in p.walk.loc}
        kept = [v for v in g.value_info if v.name not in stale]
        del g.value_info[:]
        g.value_info.extend(kept)
        return {}

    def take_names(self):
        """A rewritten tensor whose original is gone takes the original's
        name: a constant all of whose users shrank alike is changed, not
        copied."""
        g = self.model.graph
        live = {o for n in g.node for o in n.output} | {t.name for t in g.initializer}
        names = {}
        for (t, _), new in self.cache.items():
            if t not in live and t not in names.values():
                names[new] = t
        for n in g.node:
            for k, i in enumerate(n.input):
                n.input[k] = names.get(i, i)
            if n.output and n.output[0] in names:
                n.name = self.node_names[n.output[0]]
                n.output[0] = names[n.output[0]]
        for t in g.initializer:
            t.name = names.get(t.name, t.name)
        for _, t in self.new_inits:
            t.name = names.get(t.name, t.name)

    def dead_code(self, nodes):
        """Drops what the rewrite left unused (the replaced shape tensors and
        their producers), nothing else."""
        g = self.model.graph
        uses = {}
        for n in nodes:
            for i in n.input:
                uses[i] = uses.get(i, 0) + 1
        producer = {o: n for n in nodes for o in n.output}
        outputs = {o.name for o in g.output}
        dropped, stack = set(), list(self.replaced)
        while stack:
            t = stack.pop()
            if uses.get(t, 0) or t in outputs:
                continue
            p = producer.get(t)
            if p is None:
                if any(i.name == t for i in g.initializer):
                    kept = [i for i in g.initializer if i.name != t]
                    del g.initializer[:]
                    g.initializer.extend(kept)
                continue
            if id(p) in dropped or any(uses.get(o, 0) or o in outputs for o in p.output):
                continue
            dropped.add(id(p))
            for i in p.input:
                uses[i] -= 1
                stack.append(i)
        # Constants copied on write because other users keep the old value.
        self.copied = sorted({t for t, _ in self.new_inits if uses.get(t, 0)})
        return [n for n in nodes if id(n) not in dropped]


def check(G, model, plans):
    """Plans whose tensors do not have the expected shapes in the rewritten
    model, with the first difference."""
    G1 = Graph(model)
    failed = {}
    for plan in plans:
        ratio = Fraction(int(plan.keep.sum()), plan.heads[1])
        for t, (a, _) in plan.walk.loc.items():
            want = list(G.shape(t))
            want[a] = mul(want[a], ratio)
            got = G1.ev.shape.get(t)
            if got != want:
                failed[id(plan)] = f"after the rewrite {t} has shape {got}, not {want}"
                break
        else:
            for n in list(plan.blk.terms.values()) + list(plan.blk.nodes.values()):
                if n.op_type in ("Slice", "Unsqueeze", "Squeeze"):
                    for i in n.input[1:]:
                        if i and G1.ev.val.get(i) != G.ev.val.get(i):
                            failed[id(plan)] = f"after the rewrite {i} has other values"
                for o in n.output if id(n) in plan.blk.terms else []:
                    if G1.ev.shape.get(o) != G.ev.shape.get(o):
                        failed[id(plan)] = f"after the rewrite {o} has another shape"
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--masks", help="keep-masks keyed by initializer name (.npz)")
    ap.add_argument("--masks-out")
    args = ap.parse_args()

    model = onnx.load(args.model)
    G = Graph(model)
    blocks = find_blocks(G)
    region_nodes = {k for b in blocks for k in b.nodes}
    report, plans = {}, []
    for b in blocks:
        try:
            plan = analyse(G, b, region_nodes - set(b.nodes))
        except Refused as e:
            report[id(b)] = f"{b.name()}: left as is: {e}"
            continue
        if plan is None:
            continue
        if plan.keep.all():
            report[id(b)] = f"{b.name()}: {heads_text(plan, plan.heads)}, none removed" + \
                within_note(G, plan)
            continue
        plans.append(plan)
    while True:
        out = copy.deepcopy(model)
        rw = Rewriter(G, out)
        failed = rw.apply(plans) or check(G, out, plans)
        if not failed:
            break
        for p in [p for p in plans if id(p) in failed]:
            report[id(p.blk)] = f"{p.blk.name()}: left as is: {failed[id(p)]}"
            plans.remove(p)
    for p in plans:
        kept = int(p.keep.sum())
        new = (p.heads[0] * kept // p.heads[1], kept)
        roles = [r for *_, r in p.walk.slices]
        outs = roles.count("out")
        report[id(p.blk)] = (
            f"{p.blk.name()}: {heads_text(p, p.heads, new)} ({roles.count('weight')} q/k/v "
            f"weights, {roles.count('bias')} biases, {outs} output weight{'s' * (outs != 1)}; "
            f"shape constants: {', '.join(p.rewrites) or 'none to change'})")
    onnx.checker.check_model(out)
    onnx.save(out, args.output)

    if args.masks:
        masks = dict(np.load(args.masks))
        for name, (axis, idx) in rw.slices.items():
            if name in masks and masks[name].ndim > axis and \
                    masks[name].shape[axis] == G.array(name).shape[axis]:
                masks[name] = np.take(masks[name], idx, axis=axis)
        path = args.masks_out or (args.output[:-5] if args.output.endswith(".onnx")
                                  else args.output) + ".masks.npz"
        np.savez_compressed(path, **masks)
    for b in blocks:
        if id(b) in report:
            print("shrink_onnx_heads: " + report[id(b)], file=sys.stderr)
    removed = sum(p.heads[0] - p.heads[0] * int(p.keep.sum()) // p.heads[1] for p in plans)
    removed_kv = sum(p.heads[1] - int(p.keep.sum()) for p in plans)
    refused = sum(1 for r in report.values() if ": left as is: " in r)
    consts = ""
    if rw.new_inits:
        consts = f", {len(rw.new_inits)} shape constants rewritten " + \
            (f"({len(rw.copied)} copied: other users keep the old value)" if rw.copied
             else "in place")
    print(f"shrink_onnx_heads: {len(plans)} attentions shrunk, {removed} heads removed "
          f"({removed_kv} kv groups), {refused} left as is{consts} -> {args.output}",
          file=sys.stderr)


def heads_text(plan, old, new=None):
    q, kv = old
    hd = plan.hd
    if new is None:
        return f"{q} heads of {hd}" if q == kv else f"{q} q / {kv} kv heads of {hd}"
    if q == kv:
        return f"{q} -> {new[0]} heads of {hd}"
    return f"{q} -> {new[0]} q heads, {kv} -> {new[1]} kv heads of {hd}"


def within_note(G, plan):
    """GQA: zero q heads inside kept kv groups stay (the repeat count would change)."""
    q, kv = plan.heads
    if q == kv:
        return ""
    zero = 0
    for s in plan.blk.starts:
        w = G.array(s.input[1])
        if w.shape[1] == q * plan.hd:
            zero = int(group_zero(w, 1, q, plan.hd).sum())
    return f" ({zero} zero q heads inside kv groups kept: removing them would change the " \
        "kv repeat count)" if zero else ""


if __name__ == "__main__":
    main()
