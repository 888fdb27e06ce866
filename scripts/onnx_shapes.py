"""Symbolic shapes and small integer values of an ONNX graph.

Used by shrink_onnx_heads.py to prove where the head count sits in a graph's
tensors and shape constants, and to check a rewritten graph against the
original. A dimension is an int or a `Mono`: c * prod(atom ** p), where an
atom is a graph input's dim_param (or a made-up name for an unnamed one) or
an opaque key for a value the evaluator cannot express (a sum of different
symbols, a clamped slice). Opaque keys are built from the operation and its
operands, so the same computation gives the same atom in two graphs.

The evaluator follows the graph in order with one rule per op (those the
exporters use around attention: shape arithmetic, reshapes, elementwise ops,
MatMul, reductions, norms); any other op leaves its outputs unknown, which
a caller must treat as "not proven". Integer tensors of at most MAX_VALUES
elements also get their values, each element with its source: (constant
name, flat index) when it is a plain copy of a constant's element, DYN when
it depends on a tensor's shape (Shape, Size), None when it is computed from
constants only.

Broadcasting two different non-1 symbolic dims assumes they are equal (as
ONNX Runtime's symbolic shape inference does) and keeps the simpler one.
"""
from fractions import Fraction

import numpy as np
import onnx
from onnx import numpy_helper

MAX_VALUES = 64
# The source of a value computed from a tensor's shape (Shape, Size).
DYN = ("<shape>", -1)
INT_TYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT8,
             onnx.TensorProto.INT16, onnx.TensorProto.UINT8, onnx.TensorProto.BOOL}


class Mono:
    """coef * prod(atom ** power); hashable and canonical (atoms sorted)."""
    __slots__ = ("coef", "atoms", "_hash")

    def __init__(self, coef, atoms):
        self.coef, self.atoms = coef, atoms
        self._hash = hash((coef, atoms))

    def __eq__(self, other):
        return isinstance(other, Mono) and self.coef == other.coef and self.atoms == other.atoms

    def __hash__(self):
        return self._hash

    def __repr__(self):
        parts = [] if self.coef == 1 else [str(self.coef)]
        for a, p in self.atoms:
            name = a if isinstance(a, str) else "(" + " ".join(map(repr, a)) + ")"
            parts.append(name if p == 1 else f"{name}^{p}")
        return "*".join(parts)


def _parts(x):
    if isinstance(x, Mono):
        return x.coef, dict(x.atoms)
    return Fraction(x), {}


def _make(coef, atoms):
    atoms = {a: p for a, p in atoms.items() if p}
    if not atoms and coef.denominator == 1:
        return int(coef)
    return Mono(coef, tuple(sorted(atoms.items(), key=lambda kv: repr(kv[0]))))


def opaque(*key):
    return Mono(Fraction(1), ((key, 1),))


def mul(a, b):
    ca, aa = _parts(a)
    cb, ab = _parts(b)
    for k, p in ab.items():
        aa[k] = aa.get(k, 0) + p
    return _make(ca * cb, aa)


def div(a, b):
    """Exact quotient a / b (may be fractional or carry negative powers)."""
    cb, ab = _parts(b)
    if cb == 0:
        return None
    return mul(a, _make(1 / cb, {k: -p for k, p in ab.items()}))


def integral(x):
    """x is a whole number for every positive value of its atoms."""
    if isinstance(x, int):
        return True
    return x.coef.denominator == 1 and x.coef > 0 and all(p > 0 for _, p in x.atoms)


def add(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    ca, aa = _parts(a)
    cb, ab = _parts(b)
    if aa == ab:
        return _make(ca + cb, aa) if ca + cb else 0
    return opaque("+", *sorted((a, b), key=repr))


def sub(a, b):
    return add(a, mul(-1, b))


def idiv(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return None if b == 0 else int(a / b) if (a < 0) != (b < 0) else a // b
    q = div(a, b)
    return q if q is not None and integral(q) else opaque("//", a, b)


def prod(xs):
    r = 1
    for x in xs:
        r = mul(r, x)
    return r


def _pref(x):
    if isinstance(x, int):
        return (0, repr(x))
    return (1 if all(isinstance(a, str) for a, _ in x.atoms) else 2, repr(x))


def bcast_dim(a, b):
    if a == 1:
        return b
    if b == 1 or a == b:
        return a
    return min((a, b), key=_pref)


def bcast(shapes):
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        d = 1
        for s in shapes:
            j = i - (rank - len(s))
            if j >= 0:
                d = bcast_dim(d, s[j])
        out.append(d)
    return out


def _eq(a, b):
    if a == b:
        return 1
    if isinstance(a, int) and isinstance(b, int):
        return 0
    # A dimension (positive coefficient, no negative powers) is never negative.
    for x, y in ((a, b), (b, a)):
        if isinstance(x, Mono) and integral(x) and isinstance(y, int) and y < 0:
            return 0
    return None


def _minmax(fn):
    def f(a, b):
        if isinstance(a, int) and isinstance(b, int):
            return fn(a, b)
        return a if a == b else None
    return f


VALUE_OPS = {
    "Add": add, "Sub": sub, "Mul": mul, "Div": idiv, "Equal": _eq,
    "Max": _minmax(max), "Min": _minmax(min),
}
# Same shape as (the broadcast of) their inputs.
ELEMENTWISE = {
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Where", "Equal", "Less", "Greater",
    "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Not", "Max", "Min", "Sum", "Mean",
    "Neg", "Abs", "Cast", "CastLike", "Identity", "Erf", "Sqrt", "Reciprocal", "Exp", "Log",
    "Tanh", "Sigmoid", "Relu", "LeakyRelu", "Elu", "Selu", "Gelu", "FastGelu", "Softplus",
    "HardSigmoid", "HardSwish", "IsNaN", "IsInf", "Sin", "Cos", "Floor", "Ceil", "Round",
    "Sign", "Clip", "PRelu", "BitShift",
}
SAME_AS_INPUT0 = {"Softmax", "LogSoftmax", "Hardmax", "LayerNormalization", "Dropout",
                  "SimplifiedLayerNormalization", "RMSNormalization", "Trilu", "CumSum",
                  "InstanceNormalization", "BatchNormalization", "GroupNormalization"}
REDUCE = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2",
          "ReduceL1", "ReduceSumSquare", "ReduceLogSumExp", "ArgMax", "ArgMin"}


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def norm_axis(axis, rank):
    return axis + rank if axis < 0 else axis


class ShapeEval:
    """shape[name]: list of dims; val[name]: flat list of values; src[name]:
    flat list of (constant, index) or None. Missing keys mean unknown."""

    def __init__(self, graph, opset):
        self.opset = opset
        self.shape, self.val, self.src = {}, {}, {}
        self.constants = set()  # initializers and Constant outputs
        for i in graph.input:
            t = i.type.tensor_type
            if not t.HasField("shape"):
                continue
            dims = []
            for k, d in enumerate(t.shape.dim):
                if d.HasField("dim_value"):
                    dims.append(d.dim_value)
                elif d.dim_param:
                    dims.append(Mono(Fraction(1), ((d.dim_param, 1),)))
                else:
                    dims.append(opaque("input", i.name, k))
            self.shape[i.name] = dims
        for t in graph.initializer:
            self._constant(t.name, t)
        for node in graph.node:
            try:
                self._node(node)
            except (ValueError, IndexError, TypeError, KeyError, ZeroDivisionError):
                for o in node.output:
                    self.shape.pop(o, None)
                    self.val.pop(o, None)

    # --- helpers --------------------------------------------------------------
    def _constant(self, name, t):
        self.constants.add(name)
        self.shape[name] = list(t.dims)
        size = int(np.prod(t.dims)) if t.dims else 1
        if t.data_type in INT_TYPES and size <= MAX_VALUES:
            a = numpy_helper.to_array(t)
            self.val[name] = [int(x) for x in a.ravel()]
            self.src[name] = [(name, k) for k in range(size)]

    def _set(self, name, shape, val=None, src=None):
        if shape is None:
            return
        self.shape[name] = list(shape)
        if val is not None and len(val) <= MAX_VALUES:
            self.val[name] = list(val)
            self.src[name] = list(src) if src is not None else [None] * len(val)

    def ints(self, name):
        """Values of `name` as Python ints, or None."""
        v = self.val.get(name)
        if v is None or not all(isinstance(x, int) for x in v):
            return None
        return v

    def _obj(self, name, kind="val"):
        shape = self.shape.get(name)
        v = (self.val if kind == "val" else self.src).get(name)
        if v is None or shape is None or not all(isinstance(d, int) for d in shape):
            return None
        a = np.empty(len(v), dtype=object)
        for k, x in enumerate(v):  # element-wise: sources are tuples
            a[k] = x
        return a.reshape(shape)

    def _axes(self, node, idx):
        """Axes given as input `idx` (newer opsets) or attribute `axes`."""
        if len(node.input) > idx and node.input[idx]:
            return self.ints(node.input[idx])
        return attr(node, "axes")

    # --- ops ------------------------------------------------------------------
    def _node(self, node):
        op, ins, outs = node.op_type, node.input, node.output
        sh = [self.shape.get(i) if i else None for i in ins]
        if op == "Constant":
            t = attr(node, "value")
            if t is not None:
                self._constant(outs[0], t)
            else:
                for k in ("value_int", "value_ints"):
                    v = attr(node, k)
                    if v is not None:
                        v = v if isinstance(v, list) else [v]
                        self.constants.add(outs[0])
                        self._set(outs[0], [len(v)] if k == "value_ints" else [], v,
                                  [(outs[0], j) for j in range(len(v))])
            return
        if op in ELEMENTWISE:
            known = [s for i, s in zip(ins, sh) if i]
            if any(s is None for s in known):
                return
            out = bcast(known)
            self._set(outs[0], out, *self._ew_values(op, node, out))
            return
        if op in SAME_AS_INPUT0:
            if sh[0] is not None:
                self._set(outs[0], sh[0])
            return
        handler = getattr(self, "_op_" + op, None)
        if handler is not None:
            handler(node, sh)

    def _ew_values(self, op, node, out):
        if not all(isinstance(d, int) for d in out) or int(np.prod(out)) > MAX_VALUES:
            return None, None
        if op in ("Identity", "Cast"):
            if op == "Cast" and attr(node, "to") not in INT_TYPES:
                return None, None
            return self.val.get(node.input[0]), self.src.get(node.input[0])
        arrs = [self._obj(i) for i in node.input]
        srcs = [self._obj(i, "src") for i in node.input]
        if any(a is None for a in arrs):
            return None, None
        flat = [a.ravel() for a in np.broadcast_arrays(*arrs)]
        fsrc = [a.ravel() for a in np.broadcast_arrays(*srcs)]
        n = flat[0].size
        dyn = [DYN if any(s[k] == DYN for s in fsrc) else None for k in range(n)]
        if op == "Neg":
            return [mul(-1, x) for x in flat[0]], dyn
        if op == "Where":
            res, src = [], []
            for k, (c, a, b) in enumerate(zip(*flat)):
                if not isinstance(c, int):
                    return None, None
                res.append(a if c else b)
                src.append(DYN if fsrc[0][k] == DYN else fsrc[1 if c else 2][k])
            return res, src
        fn = VALUE_OPS.get(op)
        if fn is None:
            return None, None
        res = [fn(flat[0][k], flat[1][k]) for k in range(n)]
        return (None, None) if any(r is None for r in res) else (res, dyn)

    def _op_Shape(self, node, sh):
        if sh[0] is None:
            return
        r = len(sh[0])
        start = norm_axis(attr(node, "start", 0), r)
        end = attr(node, "end")
        end = r if end is None else norm_axis(end, r)
        v = sh[0][max(0, start):min(r, end)]
        self._set(node.output[0], [len(v)], v, [DYN] * len(v))

    def _op_Size(self, node, sh):
        if sh[0] is not None:
            self._set(node.output[0], [], [prod(sh[0])], [DYN])

    def _op_ConstantOfShape(self, node, sh):
        dims = self.val.get(node.input[0])
        if dims is None:
            return
        val = None
        t = attr(node, "value")
        if t is not None and t.data_type in INT_TYPES and all(isinstance(d, int) for d in dims) \
                and int(np.prod(dims)) <= MAX_VALUES:
            val = [int(numpy_helper.to_array(t).ravel()[0])] * int(np.prod(dims))
        self._set(node.output[0], dims, val)

    def _op_Range(self, node, sh):
        s, l, d = (self.val.get(i, [None])[0] for i in node.input)
        if all(isinstance(x, int) for x in (s, l, d)) and d:
            n = max(0, -(-(l - s) // d))
            vals = list(range(s, l, d)) if n <= MAX_VALUES else None
            dyn = any(self.src[i][0] == DYN for i in node.input)
            self._set(node.output[0], [n], vals, [DYN if dyn else None] * n if vals else None)
        elif s == 0 and d == 1 and l is not None:
            self._set(node.output[0], [l])
        elif None not in (s, l, d):
            self._set(node.output[0], [opaque("range", s, l, d)])

    def _op_Transpose(self, node, sh):
        if sh[0] is None:
            return
        perm = attr(node, "perm") or list(reversed(range(len(sh[0]))))
        self._set(node.output[0], [sh[0][p] for p in perm])

    def _op_MatMul(self, node, sh):
        a, b = sh[0], sh[1]
        if a is None or b is None:
            return
        a1, b1 = len(a) == 1, len(b) == 1
        a = [1] + a if a1 else a
        b = b + [1] if b1 else b
        out = bcast([a[:-2], b[:-2]]) + [a[-2], b[-1]]
        if a1:
            out.pop(-2)
        if b1:
            out.pop(-1)
        self._set(node.output[0], out)

    def _op_Gemm(self, node, sh):
        if sh[0] is None or sh[1] is None:
            return
        m = sh[0][1] if attr(node, "transA", 0) else sh[0][0]
        n = sh[1][0] if attr(node, "transB", 0) else sh[1][1]
        self._set(node.output[0], [m, n])

    def _op_Reshape(self, node, sh):
        target = self.val.get(node.input[1])
        if sh[0] is None or target is None:
            return
        allowzero = attr(node, "allowzero", 0)
        out = []
        for k, t in enumerate(target):
            out.append(sh[0][k] if t == 0 and not allowzero else t)
        if -1 in out:
            k = out.index(-1)
            rest = prod(d for j, d in enumerate(out) if j != k)
            out[k] = div(prod(sh[0]), rest)
            if out[k] is None:
                return
        self._set(node.output[0], out, self.val.get(node.input[0]), self.src.get(node.input[0]))

    def _op_Flatten(self, node, sh):
        if sh[0] is not None:
            ax = norm_axis(attr(node, "axis", 1), len(sh[0]))
            self._set(node.output[0], [prod(sh[0][:ax]), prod(sh[0][ax:])])

    def _op_Expand(self, node, sh):
        target = self.val.get(node.input[1])
        if sh[0] is None or target is None:
            return
        out = bcast([sh[0], target])
        a = self._obj(node.input[0])
        val = src = None
        if a is not None and all(isinstance(d, int) for d in out) and \
                int(np.prod(out)) <= MAX_VALUES:
            val = list(np.broadcast_to(a, out).ravel())
            src = list(np.broadcast_to(self._obj(node.input[0], "src"), out).ravel())
        self._set(node.output[0], out, val, src)

    def _op_Unsqueeze(self, node, sh):
        axes = self._axes(node, 1)
        if sh[0] is None or axes is None:
            return
        r = len(sh[0]) + len(axes)
        axes = sorted(norm_axis(a, r) for a in axes)
        out = list(sh[0])
        for a in axes:
            out.insert(a, 1)
        self._set(node.output[0], out, self.val.get(node.input[0]), self.src.get(node.input[0]))

    def _op_Squeeze(self, node, sh):
        if sh[0] is None:
            return
        axes = self._axes(node, 1)
        if axes is None:
            if not all(isinstance(d, int) for d in sh[0]):
                return
            axes = [k for k, d in enumerate(sh[0]) if d == 1]
        axes = {norm_axis(a, len(sh[0])) for a in axes}
        out = [d for k, d in enumerate(sh[0]) if k not in axes]
        self._set(node.output[0], out, self.val.get(node.input[0]), self.src.get(node.input[0]))

    def _op_Concat(self, node, sh):
        if any(s is None for s in sh):
            return
        ax = norm_axis(attr(node, "axis"), len(sh[0]))
        out = list(sh[0])
        for s in sh[1:]:
            out[ax] = add(out[ax], s[ax])
        val = src = None
        if all(i in self.val for i in node.input) and len(sh[0]) == 1:
            val = [x for i in node.input for x in self.val[i]]
            src = [x for i in node.input for x in self.src[i]]
        self._set(node.output[0], out, val, src)

    def _op_Gather(self, node, sh):
        if sh[0] is None or sh[1] is None:
            return
        ax = norm_axis(attr(node, "axis", 0), len(sh[0]))
        out = sh[0][:ax] + sh[1] + sh[0][ax + 1:]
        val = src = None
        idx = self.ints(node.input[1])
        if idx is not None and node.input[0] in self.val and len(sh[0]) == 1:
            n = len(self.val[node.input[0]])
            idx = [i + n if i < 0 else i for i in idx]
            val = [self.val[node.input[0]][i] for i in idx]
            src = [self.src[node.input[0]][i] for i in idx]
        self._set(node.output[0], out, val, src)

    def _op_GatherND(self, node, sh):
        if sh[0] is None or sh[1] is None or not isinstance(sh[1][-1], int):
            return
        b = attr(node, "batch_dims", 0)
        self._set(node.output[0], sh[1][:-1] + sh[0][b + sh[1][-1]:])

    def slice_params(self, node):
        """(starts, ends, axes, steps) as lists (ends may be symbolic), or None."""
        if self.opset < 10:
            starts, ends = attr(node, "starts"), attr(node, "ends")
            axes = attr(node, "axes") or list(range(len(starts)))
            return starts, ends, axes, [1] * len(starts)
        starts = self.val.get(node.input[1])
        ends = self.val.get(node.input[2])
        if starts is None or ends is None:
            return None
        axes = self.ints(node.input[3]) if len(node.input) > 3 and node.input[3] \
            else list(range(len(starts)))
        steps = self.ints(node.input[4]) if len(node.input) > 4 and node.input[4] \
            else [1] * len(starts)
        if axes is None or steps is None:
            return None
        return starts, ends, axes, steps

    def _op_Slice(self, node, sh):
        p = self.slice_params(node)
        if sh[0] is None or p is None:
            return
        out = list(sh[0])
        index = [slice(None)] * len(out)
        for s, e, a, st in zip(*p):
            a = norm_axis(a, len(out))
            d = out[a]
            if isinstance(d, int) and isinstance(s, int) and isinstance(e, int):
                out[a] = len(range(d)[s:e:st])
                index[a] = slice(s, e, st)
            elif s == 0 and st == 1 and isinstance(e, int) and e >= 2 ** 62:
                pass
            elif isinstance(s, int) and s > 0 and st == 1 and isinstance(e, int) and e >= 2 ** 62:
                out[a] = sub(d, s)
            elif isinstance(s, int) and s < 0 and st == 1 and isinstance(e, int) and e >= 2 ** 62:
                out[a] = -s
            else:
                out[a] = opaque("slice", d, s, e, st)
        val = src = None
        a = self._obj(node.input[0])
        if a is not None and all(isinstance(d, int) for d in out):
            val = list(a[tuple(index)].ravel())
            src = list(self._obj(node.input[0], "src")[tuple(index)].ravel())
        self._set(node.output[0], out, val, src)

    def _op_Split(self, node, sh):
        if sh[0] is None:
            return
        ax = norm_axis(attr(node, "axis", 0), len(sh[0]))
        split = self.ints(node.input[1]) if len(node.input) > 1 and node.input[1] \
            else attr(node, "split")
        if split is None:
            q = div(sh[0][ax], len(node.output))
            if q is None or not integral(q):
                return
            split = [q] * len(node.output)
        for o, s in zip(node.output, split):
            self._set(o, sh[0][:ax] + [s] + sh[0][ax + 1:])

    def _op_Tile(self, node, sh):
        reps = self.val.get(node.input[1])
        if sh[0] is not None and reps is not None:
            self._set(node.output[0], [mul(d, r) for d, r in zip(sh[0], reps)])

    def _reduce(self, node, sh):
        if sh[0] is None:
            return
        r = len(sh[0])
        if node.op_type in ("ArgMax", "ArgMin"):
            axes = [attr(node, "axis", 0)]
        else:
            axes = self._axes(node, 1) if (node.op_type == "ReduceSum" and self.opset >= 13) \
                or self.opset >= 18 else attr(node, "axes")
        if axes is None:
            if len(node.input) > 1 and node.input[1]:
                return
            axes = [] if attr(node, "noop_with_empty_axes", 0) else list(range(r))
        axes = {norm_axis(a, r) for a in axes}
        keep = attr(node, "keepdims", 1)
        out = [1 if k in axes else d for k, d in enumerate(sh[0]) if keep or k not in axes]
        self._set(node.output[0], out)


for _op in REDUCE:
    setattr(ShapeEval, "_op_" + _op, ShapeEval._reduce)
