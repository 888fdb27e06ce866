//===- ShapeOps.cpp - ONNX shape and data-movement ops -> tfc -------------===//
//
// Shape Size Constant ConstantOfShape Reshape Flatten Squeeze Unsqueeze
// Expand Concat Slice Split Gather GatherND Range Transpose.
// Ops whose inputs are shape-like integer values compute on index scalars.
//
//===----------------------------------------------------------------------===//
#include "GraphImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::onnx_import;

namespace {

Value mulAll(GraphImporter &g, ArrayRef<Value> vals) {
  Value acc = g.cIndex(1);
  for (Value v : vals)
    acc = g.b.createOrFold<arith::MulIOp>(g.loc, acc, v);
  return acc;
}

LogicalResult importShape(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Tv *> in = g.input(node, 0);
  if (failed(in))
    return failure();
  SmallVector<Value> d;
  if ((*in)->tensor)
    d = g.dims((*in)->tensor);
  else
    for (int64_t s : (*in)->elemShape)
      d.push_back(g.cIndex(s));
  int64_t rank = d.size();
  int64_t start = GraphImporter::attrInt(node, "start", 0);
  int64_t end = GraphImporter::attrInt(node, "end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  SmallVector<Value> out(d.begin() + start, d.begin() + std::max(start, end));
  int64_t n = out.size();
  g.setOutputElems(node, 0, out, {n}, g.b.getI64Type());
  return success();
}

LogicalResult importSize(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Value> in = g.tensorInput(node, 0);
  if (failed(in))
    return failure();
  g.setOutputElems(node, 0, {mulAll(g, g.dims(*in))}, {}, g.b.getI64Type());
  return success();
}

LogicalResult importConstant(GraphImporter &g, const onnx::NodeProto &node) {
  if (node.attribute_size() != 1)
    return g.fail(node, "expects exactly one value attribute");
  const onnx::AttributeProto &a = node.attribute(0);
  onnx::TensorProto t;
  if (a.name() == "value") {
    t = a.t();
  } else if (a.name() == "value_float") {
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_float_data(a.f());
  } else if (a.name() == "value_floats") {
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_dims(a.floats_size());
    for (float f : a.floats())
      t.add_float_data(f);
  } else if (a.name() == "value_int") {
    t.set_data_type(onnx::TensorProto::INT64);
    t.add_int64_data(a.i());
  } else if (a.name() == "value_ints") {
    t.set_data_type(onnx::TensorProto::INT64);
    t.add_dims(a.ints_size());
    for (int64_t i : a.ints())
      t.add_int64_data(i);
  } else {
    return g.fail(node, "unsupported attribute '" + a.name() + "'");
  }
  FailureOr<Tv> tv = g.importTensor(t, "Constant '" + node.name() + "'");
  if (failed(tv))
    return failure();
  if (tv->tensor)
    g.setOutput(node, 0, tv->tensor);
  if (tv->elems) {
    Tv copy = *tv;
    g.setOutputElems(node, 0, *copy.elems, copy.elemShape, copy.elemType);
  }
  return success();
}

/// Resolves ONNX Reshape target dims: 0 copies (unless allowzero), -1 infers.
FailureOr<SmallVector<Value>> resolveReshape(GraphImporter &g,
                                             const onnx::NodeProto &node,
                                             ArrayRef<Value> inDims,
                                             ArrayRef<Value> target,
                                             bool allowZero) {
  SmallVector<Value> out;
  // A target read at run time from a tensor (a shape input, not the dims of
  // a tensor): 0 (copy the input dim, unless allowzero) and -1 (infer) are
  // resolved with selects. Exporters' shape sub-graphs, made of dims and
  // constants, take the symbolic path below and keep their static dims.
  if (llvm::any_of(target, [&](Value t) {
        return !g.constIndex(t) && t.getDefiningOp<arith::IndexCastOp>();
      })) {
    OpBuilder &b = g.b;
    Location loc = g.loc;
    auto eq = [&](Value v, int64_t c) {
      return b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, v,
                                           g.cIndex(c));
    };
    for (auto [i, t] : llvm::enumerate(target)) {
      Value v = t;
      if (!allowZero && i < inDims.size())
        v = b.createOrFold<arith::SelectOp>(loc, eq(t, 0), inDims[i], v);
      out.push_back(v);
    }
    Value known = g.cIndex(1);
    for (Value v : out)
      known = b.createOrFold<arith::MulIOp>(
          loc, known, b.createOrFold<arith::SelectOp>(loc, eq(v, -1),
                                                      g.cIndex(1), v));
    // (A 0 among the other dims leaves nothing to infer: avoid dividing by it.)
    known = b.createOrFold<arith::SelectOp>(loc, eq(known, 0), g.cIndex(1),
                                            known);
    Value inferred =
        b.createOrFold<arith::DivSIOp>(loc, mulAll(g, inDims), known);
    for (Value &v : out)
      v = b.createOrFold<arith::SelectOp>(loc, eq(v, -1), inferred, v);
    return out;
  }
  int inferAt = -1;
  for (auto [i, t] : llvm::enumerate(target)) {
    std::optional<int64_t> c = g.constIndex(t);
    if (c && *c == -1) {
      if (inferAt >= 0)
        return g.fail(node, "more than one -1 in the target shape");
      inferAt = i;
      out.push_back(Value());
      continue;
    }
    if (c && *c == 0 && !allowZero) {
      if (i >= inDims.size())
        return g.fail(node, "0 in the target shape beyond the input rank");
      out.push_back(inDims[i]);
      continue;
    }
    if (c && *c < -1)
      return g.fail(node, "negative dim " + Twine(*c) + " in the target shape");
    out.push_back(t);
  }
  if (inferAt >= 0) {
    // Cancel dims that appear on both sides (same SSA value) so symbolic
    // dims survive, e.g. [b, s, 8, 8] -> [b, s, -1] gives s-free 64.
    SmallVector<Value> num(inDims.begin(), inDims.end());
    SmallVector<Value> den;
    for (auto [i, v] : llvm::enumerate(out)) {
      if ((int)i == inferAt)
        continue;
      auto it = llvm::find(num, v);
      if (it != num.end() && !g.constIndex(v))
        num.erase(it);
      else
        den.push_back(v);
    }
    out[inferAt] = g.b.createOrFold<arith::DivSIOp>(g.loc, mulAll(g, num),
                                                     mulAll(g, den));
    if (std::optional<int64_t> c = g.constIndex(out[inferAt]))
      if (*c < 0)
        return g.fail(node, "cannot infer the -1 dim");
  }
  // Static element-count check.
  bool allStatic = true;
  int64_t a = 1, b = 1;
  for (Value v : inDims) {
    auto c = g.constIndex(v);
    allStatic &= c.has_value();
    a *= c.value_or(1);
  }
  for (Value v : out) {
    auto c = g.constIndex(v);
    allStatic &= c.has_value();
    b *= c.value_or(1);
  }
  if (allStatic && a != b)
    return g.fail(node, "cannot reshape " + Twine(a) + " elements into " +
                            Twine(b));
  return out;
}

LogicalResult importReshape(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Tv *> data = g.input(node, 0);
  FailureOr<SmallVector<Value>> target = g.elemsInput(node, 1);
  if (failed(data) || failed(target))
    return failure();
  bool allowZero = GraphImporter::attrInt(node, "allowzero", 0) != 0;
  if ((*data)->elems && !(*data)->tensor) {
    // Reshaping a shape value: only rank <= 1 results are tracked.
    SmallVector<Value> inDims;
    for (int64_t s : (*data)->elemShape)
      inDims.push_back(g.cIndex(s));
    FailureOr<SmallVector<Value>> out =
        resolveReshape(g, node, inDims, *target, allowZero);
    if (failed(out))
      return failure();
    if (out->size() <= 1) {
      SmallVector<int64_t> shape;
      for (Value v : *out)
        shape.push_back(*g.constIndex(v));
      Tv copy = **data;
      g.setOutputElems(node, 0, *copy.elems, shape, copy.elemType);
      return success();
    }
  }
  Value x = g.materialize(**data);
  FailureOr<SmallVector<Value>> out =
      resolveReshape(g, node, g.dims(x), *target, allowZero);
  if (failed(out))
    return failure();
  g.setOutput(node, 0, g.reshape(x, *out));
  return success();
}

LogicalResult importFlatten(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Value> x = g.tensorInput(node, 0);
  if (failed(x))
    return failure();
  SmallVector<Value> d = g.dims(*x);
  FailureOr<int64_t> axis =
      GraphImporter::attrInt(node, "axis", 1) == (int64_t)d.size()
          ? FailureOr<int64_t>((int64_t)d.size())
          : normAxis(GraphImporter::attrInt(node, "axis", 1), d.size());
  if (failed(axis))
    return g.fail(node, "axis out of range");
  Value a = mulAll(g, ArrayRef<Value>(d).take_front(*axis));
  Value b = mulAll(g, ArrayRef<Value>(d).drop_front(*axis));
  g.setOutput(node, 0, g.reshape(*x, {a, b}));
  return success();
}

/// Axes of Squeeze/Unsqueeze/Reduce*: an input since opset 13 (18 for
/// reductions), an attribute before.
FailureOr<std::optional<SmallVector<int64_t>>>
axesOf(GraphImporter &g, const onnx::NodeProto &node, int inputIdx) {
  if (g.hasInput(node, inputIdx)) {
    FailureOr<SmallVector<int64_t>> c = g.constIntsInput(node, inputIdx);
    if (failed(c))
      return failure();
    return std::optional<SmallVector<int64_t>>(*c);
  }
  return GraphImporter::attrInts(node, "axes");
}

LogicalResult importSqueeze(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Tv *> data = g.input(node, 0);
  if (failed(data))
    return failure();
  auto axesOr = axesOf(g, node, 1);
  if (failed(axesOr))
    return failure();
  SmallVector<Value> d;
  bool isElems = (*data)->elems && !(*data)->tensor;
  if (isElems)
    for (int64_t s : (*data)->elemShape)
      d.push_back(g.cIndex(s));
  else
    d = g.dims((*data)->tensor);
  int64_t rank = d.size();
  SmallVector<bool> drop(rank, false);
  if (*axesOr) {
    for (int64_t a : **axesOr) {
      FailureOr<int64_t> n = normAxis(a, rank);
      if (failed(n))
        return g.fail(node, "axis " + Twine(a) + " out of range");
      std::optional<int64_t> c = g.constIndex(d[*n]);
      if (c && *c != 1)
        return g.fail(node, "cannot squeeze dim " + Twine(*n) + " of size " +
                                Twine(*c));
      drop[*n] = true;
    }
  } else {
    for (int64_t i = 0; i < rank; ++i)
      drop[i] = g.constIndex(d[i]) == std::optional<int64_t>(1);
  }
  SmallVector<Value> out;
  for (int64_t i = 0; i < rank; ++i)
    if (!drop[i])
      out.push_back(d[i]);
  if (isElems && out.size() <= 1) {
    SmallVector<int64_t> shape;
    for (Value v : out)
      shape.push_back(*g.constIndex(v));
    Tv copy = **data;
    g.setOutputElems(node, 0, *copy.elems, shape, copy.elemType);
    return success();
  }
  g.setOutput(node, 0, g.reshape(g.materialize(**data), out));
  return success();
}

LogicalResult importUnsqueeze(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Tv *> data = g.input(node, 0);
  if (failed(data))
    return failure();
  auto axesOr = axesOf(g, node, 1);
  if (failed(axesOr))
    return failure();
  if (!*axesOr)
    return g.fail(node, "missing axes");
  bool isElems = (*data)->elems && !(*data)->tensor;
  SmallVector<Value> d;
  if (isElems)
    for (int64_t s : (*data)->elemShape)
      d.push_back(g.cIndex(s));
  else
    d = g.dims((*data)->tensor);
  int64_t outRank = d.size() + (*axesOr)->size();
  SmallVector<bool> isNew(outRank, false);
  for (int64_t a : **axesOr) {
    FailureOr<int64_t> n = normAxis(a, outRank);
    if (failed(n) || isNew[*n])
      return g.fail(node, "bad axis " + Twine(a));
    isNew[*n] = true;
  }
  SmallVector<Value> out;
  size_t k = 0;
  for (int64_t i = 0; i < outRank; ++i)
    out.push_back(isNew[i] ? g.cIndex(1) : d[k++]);
  if (isElems && outRank <= 1) {
    Tv copy = **data;
    g.setOutputElems(node, 0, *copy.elems, {(int64_t)copy.elems->size()},
                     copy.elemType);
    return success();
  }
  g.setOutput(node, 0, g.reshape(g.materialize(**data), out));
  return success();
}

LogicalResult importExpand(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Value> x = g.tensorInput(node, 0);
  FailureOr<SmallVector<Value>> shape = g.elemsInput(node, 1);
  if (failed(x) || failed(shape))
    return failure();
  SmallVector<Value> in = g.dims(*x);
  size_t rank = std::max(in.size(), shape->size());
  SmallVector<Value> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    Value a = i < in.size() ? in[in.size() - 1 - i] : Value();
    Value s = i < shape->size() ? (*shape)[shape->size() - 1 - i] : Value();
    std::optional<int64_t> ca = a ? g.constIndex(a) : std::nullopt;
    std::optional<int64_t> cs = s ? g.constIndex(s) : std::nullopt;
    Value r;
    if (!a) r = s;
    else if (!s) r = a;
    else if (cs && *cs == 1) r = a;
    else if (ca && *ca == 1) r = s;
    else if (ca && cs && *ca != *cs)
      return g.fail(node, "cannot expand dim of size " + Twine(*ca) + " to " +
                              Twine(*cs));
    else r = ca ? a : (cs ? s : a);
    out[rank - 1 - i] = r;
  }
  auto et = cast<RankedTensorType>(x->getType()).getElementType();
  RankedTensorType type = g.typeFromDims(out, et);
  if (type == x->getType() && type.hasStaticShape()) {
    g.setOutput(node, 0, *x);
    return success();
  }
  Value v = ExpandOp::create(g.b, g.loc, type, *x, g.dynamicDims(out));
  g.recordDims(v, out);
  g.setOutput(node, 0, v);
  return success();
}

LogicalResult importConstantOfShape(GraphImporter &g,
                                    const onnx::NodeProto &node) {
  FailureOr<SmallVector<Value>> shape = g.elemsInput(node, 0);
  if (failed(shape))
    return failure();
  Type et = g.b.getF32Type();
  double value = 0;
  if (const auto *a = GraphImporter::attr(node, "value")) {
    FailureOr<Tv> tv = g.importTensor(a->t(), "ConstantOfShape value");
    if (failed(tv))
      return failure();
    et = tv->elemType;
    auto attr = cast<DenseElementsAttr>(
        cast<arith::ConstantOp>(tv->tensor.getDefiningOp()).getValue());
    if (isa<FloatType>(et))
      value = (*attr.value_begin<APFloat>()).convertToDouble();
    else if (et.isInteger(1))
      value = *attr.value_begin<bool>();
    else
      value = (double)(*attr.value_begin<APInt>()).getSExtValue();
  }
  // A small integer 1-D result stays a shape value.
  if (isa<IntegerType>(et) && shape->size() == 1)
    if (std::optional<int64_t> n = g.constIndex((*shape)[0]); n && *n <= 64) {
      SmallVector<Value> elems(*n, g.cIndex((int64_t)value));
      g.setOutputElems(node, 0, elems, {*n}, et);
      return success();
    }
  Value scalar = g.scalarConstant(et, value);
  RankedTensorType type = g.typeFromDims(*shape, et);
  Value v = ExpandOp::create(g.b, g.loc, type, scalar, g.dynamicDims(*shape));
  g.recordDims(v, *shape);
  g.setOutput(node, 0, v);
  return success();
}

LogicalResult importConcat(GraphImporter &g, const onnx::NodeProto &node) {
  int64_t axis = GraphImporter::attrInt(node, "axis", 0);
  SmallVector<Tv *> ins;
  bool allElems = true;
  for (int i = 0; i < node.input_size(); ++i) {
    FailureOr<Tv *> t = g.input(node, i);
    if (failed(t))
      return failure();
    ins.push_back(*t);
    allElems &= (*t)->elems.has_value() && (*t)->elemShape.size() == 1;
  }
  if (ins.empty())
    return g.fail(node, "no inputs");
  if (allElems && (axis == 0 || axis == -1)) {
    SmallVector<Value> out;
    for (Tv *t : ins)
      out.append(t->elems->begin(), t->elems->end());
    g.setOutputElems(node, 0, out, {(int64_t)out.size()}, ins[0]->elemType);
    return success();
  }
  SmallVector<Value> tensors;
  for (Tv *t : ins) {
    Value v = g.materialize(*t);
    // Empty inputs (a static 0 along the axis) are dropped.
    tensors.push_back(v);
  }
  int64_t rank = cast<RankedTensorType>(tensors[0].getType()).getRank();
  FailureOr<int64_t> a = normAxis(axis, rank);
  if (failed(a))
    return g.fail(node, "axis out of range");
  SmallVector<Value> kept;
  for (Value v : tensors) {
    if (cast<RankedTensorType>(v.getType()).getRank() != rank)
      return g.fail(node, "inputs have different ranks");
    if (g.constIndex(g.dim(v, *a)) == std::optional<int64_t>(0))
      continue;
    kept.push_back(v);
  }
  if (kept.empty())
    kept.push_back(tensors[0]);
  if (kept.size() == 1) {
    g.setOutput(node, 0, kept[0]);
    return success();
  }
  SmallVector<Value> out = g.dims(kept[0]);
  Value total = g.cIndex(0);
  for (Value v : kept)
    total = g.b.createOrFold<arith::AddIOp>(g.loc, total, g.dim(v, *a));
  out[*a] = total;
  Type et = cast<RankedTensorType>(kept[0].getType()).getElementType();
  Value r = tensor::ConcatOp::create(g.b, g.loc, g.typeFromDims(out, et), *a,
                                     kept);
  g.recordDims(r, out);
  g.setOutput(node, 0, r);
  return success();
}

/// Clamps an ONNX slice bound into [0, dim] (negative counts from the end).
Value clampBound(GraphImporter &g, Value v, Value dim) {
  OpBuilder &b = g.b;
  Location loc = g.loc;
  std::optional<int64_t> c = g.constIndex(v);
  if (c && *c >= 0 && *c >= (int64_t)1 << 40)
    return dim;
  Value zero = g.cIndex(0);
  if (!c || *c < 0) {
    Value neg = b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::slt,
                                              v, zero);
    Value plus = b.createOrFold<arith::AddIOp>(loc, v, dim);
    v = b.createOrFold<arith::SelectOp>(loc, neg, plus, v);
  }
  v = b.createOrFold<arith::MaxSIOp>(loc, v, zero);
  return b.createOrFold<arith::MinSIOp>(loc, v, dim);
}

LogicalResult importSlice(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Tv *> data = g.input(node, 0);
  FailureOr<SmallVector<Value>> starts = g.elemsInput(node, 1);
  FailureOr<SmallVector<Value>> ends = g.elemsInput(node, 2);
  if (failed(data) || failed(starts) || failed(ends))
    return failure();
  if (starts->size() != ends->size())
    return g.fail(node, "starts and ends differ in length");
  bool isElems = (*data)->elems && !(*data)->tensor &&
                 (*data)->elemShape.size() == 1;
  SmallVector<Value> d;
  if (isElems)
    d.push_back(g.cIndex((*data)->elemShape[0]));
  else
    d = g.dims(g.materialize(**data));
  int64_t rank = d.size();
  SmallVector<int64_t> axes, steps(starts->size(), 1);
  if (g.hasInput(node, 3)) {
    FailureOr<SmallVector<int64_t>> a = g.constIntsInput(node, 3);
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (size_t i = 0; i < starts->size(); ++i)
      axes.push_back(i);
  }
  if (g.hasInput(node, 4)) {
    FailureOr<SmallVector<int64_t>> s = g.constIntsInput(node, 4);
    if (failed(s))
      return failure();
    steps = *s;
  }
  if (axes.size() != starts->size() || steps.size() != starts->size())
    return g.fail(node, "axes/steps differ in length from starts");
  SmallVector<OpFoldResult> offsets(rank, g.b.getIndexAttr(0)), sizes,
      strides(rank, g.b.getIndexAttr(1));
  SmallVector<Value> outDims = d;
  for (Value v : d)
    sizes.push_back(v);
  for (size_t i = 0; i < axes.size(); ++i) {
    FailureOr<int64_t> ax = normAxis(axes[i], rank);
    if (failed(ax))
      return g.fail(node, "axis " + Twine(axes[i]) + " out of range");
    if (steps[i] <= 0)
      return g.fail(node, "non-positive steps are not supported");
    Value s = clampBound(g, (*starts)[i], d[*ax]);
    Value e = clampBound(g, (*ends)[i], d[*ax]);
    Value len = g.b.createOrFold<arith::SubIOp>(g.loc, e, s);
    len = g.b.createOrFold<arith::MaxSIOp>(g.loc, len, g.cIndex(0));
    if (steps[i] != 1)
      len = g.b.createOrFold<arith::CeilDivSIOp>(g.loc, len,
                                                 g.cIndex(steps[i]));
    // An empty slice may start at the end (x[..., d:], e.g. the pass-through
    // part of a rotary that covers the whole head); extract_slice wants its
    // static offsets inside the source, and any offset is the same then.
    if (g.constIndex(len) == std::optional<int64_t>(0))
      s = g.cIndex(0);
    offsets[*ax] = s;
    sizes[*ax] = len;
    strides[*ax] = g.b.getIndexAttr(steps[i]);
    outDims[*ax] = len;
  }
  if (isElems) {
    auto s = getConstantIntValue(offsets[0]);
    auto n = g.constIndex(outDims[0]);
    if (s && n) {
      SmallVector<Value> out;
      for (int64_t k = 0; k < *n; ++k)
        out.push_back((*(*data)->elems)[*s + k * steps[0]]);
      g.setOutputElems(node, 0, out, {*n}, (*data)->elemType);
      return success();
    }
  }
  Value x = g.materialize(**data);
  auto et = cast<RankedTensorType>(x.getType()).getElementType();
  // Fold static values into attributes so the result type is static.
  for (auto &ofr : offsets)
    if (auto c = getConstantIntValue(ofr)) ofr = g.b.getIndexAttr(*c);
  for (auto &ofr : sizes)
    if (auto c = getConstantIntValue(ofr)) ofr = g.b.getIndexAttr(*c);
  RankedTensorType type = g.typeFromDims(outDims, et);
  Value r = tensor::ExtractSliceOp::create(g.b, g.loc, type, x, offsets, sizes,
                                           strides);
  g.recordDims(r, outDims);
  g.setOutput(node, 0, r);
  return success();
}

/// Split of tracked index values (a 1-D shape tensor) into constant-size
/// parts along axis 0: each part's values stay tracked (ONNX Runtime's saved
/// graphs turn Gather(Shape, i) into Split(Shape) + Squeeze, whose sizes
/// would otherwise become dynamic). False when it does not apply; failure
/// when the split sizes cannot be read (the diagnostic is out).
static FailureOr<bool> splitElems(GraphImporter &g,
                                  const onnx::NodeProto &node) {
  FailureOr<Tv *> in = g.input(node, 0);
  if (failed(in) || !(*in)->elems || (*in)->tensor ||
      (*in)->elemShape.size() != 1)
    return false;
  const int64_t axis = GraphImporter::attrInt(node, "axis", 0);
  if (axis != 0 && axis != -1)
    return false;
  const Tv data = **in;
  const int64_t total = static_cast<int64_t>(data.elems->size());
  const int n = node.output_size();
  SmallVector<int64_t> sizes;
  if (g.hasInput(node, 1)) {
    FailureOr<SmallVector<Value>> sv = g.elemsInput(node, 1);
    if (failed(sv))
      return failure();
    for (Value v : *sv) {
      std::optional<int64_t> c = g.constIndex(v);
      if (!c)
        return false;
      sizes.push_back(*c);
    }
  } else if (auto sa = GraphImporter::attrInts(node, "split")) {
    sizes.assign(sa->begin(), sa->end());
  } else {
    if (n == 0)
      return false;
    const int64_t chunk = (total + n - 1) / n;
    for (int i = 0; i < n; ++i)
      sizes.push_back(
          std::max<int64_t>(0, std::min<int64_t>(chunk, total - chunk * i)));
  }
  int64_t sum = 0;
  for (int64_t v : sizes)
    sum += v;
  if (static_cast<int>(sizes.size()) != n || sum != total)
    return false;
  int64_t at = 0;
  for (int i = 0; i < n; ++i) {
    SmallVector<Value> part(data.elems->begin() + at,
                            data.elems->begin() + at + sizes[i]);
    g.setOutputElems(node, i, part, {sizes[i]}, data.elemType);
    at += sizes[i];
  }
  return true;
}

LogicalResult importSplit(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<bool> done = splitElems(g, node);
  if (failed(done))
    return failure();
  if (*done)
    return success();
  FailureOr<Value> x = g.tensorInput(node, 0);
  if (failed(x))
    return failure();
  SmallVector<Value> d = g.dims(*x);
  FailureOr<int64_t> axis =
      normAxis(GraphImporter::attrInt(node, "axis", 0), d.size());
  if (failed(axis))
    return g.fail(node, "axis out of range");
  int n = node.output_size();
  if (n == 0) // divided by zero below (found by fuzzing, test/Fuzz)
    return g.fail(node, "Split has no outputs");
  SmallVector<Value> parts;
  if (g.hasInput(node, 1)) {
    FailureOr<SmallVector<Value>> s = g.elemsInput(node, 1);
    if (failed(s))
      return failure();
    parts = *s;
  } else if (auto s = GraphImporter::attrInts(node, "split")) {
    for (int64_t v : *s)
      parts.push_back(g.cIndex(v));
  } else {
    std::optional<int64_t> total = g.constIndex(d[*axis]);
    if (!total)
      return g.fail(node, "even split of a dynamic dim is not supported");
    int64_t chunk = (*total + n - 1) / n;
    for (int i = 0; i < n; ++i)
      parts.push_back(g.cIndex(std::max<int64_t>(
          0, std::min<int64_t>(chunk, *total - chunk * i))));
  }
  if ((int)parts.size() != n)
    return g.fail(node, "split sizes do not match the number of outputs");
  Value off = g.cIndex(0);
  auto et = cast<RankedTensorType>(x->getType()).getElementType();
  for (int i = 0; i < n; ++i) {
    SmallVector<OpFoldResult> offsets(d.size(), g.b.getIndexAttr(0)), sizes,
        strides(d.size(), g.b.getIndexAttr(1));
    SmallVector<Value> outDims = d;
    outDims[*axis] = parts[i];
    for (Value v : outDims) {
      if (auto c = g.constIndex(v))
        sizes.push_back(g.b.getIndexAttr(*c));
      else
        sizes.push_back(v);
    }
    offsets[*axis] = off;
    if (auto c = g.constIndex(off))
      offsets[*axis] = g.b.getIndexAttr(*c);
    // An empty part may start at the end (see importSlice).
    if (g.constIndex(parts[i]) == std::optional<int64_t>(0))
      offsets[*axis] = g.b.getIndexAttr(0);
    Value r = tensor::ExtractSliceOp::create(
        g.b, g.loc, g.typeFromDims(outDims, et), *x, offsets, sizes, strides);
    g.recordDims(r, outDims);
    g.setOutput(node, i, r);
    off = g.b.createOrFold<arith::AddIOp>(g.loc, off, parts[i]);
  }
  return success();
}

LogicalResult importGather(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Tv *> data = g.input(node, 0);
  FailureOr<Tv *> idx = g.input(node, 1);
  if (failed(data) || failed(idx))
    return failure();
  int64_t axis = GraphImporter::attrInt(node, "axis", 0);
  // Gather on a shape value with constant indices picks elements.
  if ((*data)->elems && (*data)->elemShape.size() == 1 && (*idx)->elems &&
      (axis == 0 || axis == -1)) {
    int64_t n = (*data)->elems->size();
    SmallVector<Value> out;
    bool ok = true;
    for (Value iv : *(*idx)->elems) {
      std::optional<int64_t> c = g.constIndex(iv);
      if (!c) {
        ok = false;
        break;
      }
      int64_t k = *c < 0 ? *c + n : *c;
      if (k < 0 || k >= n)
        return g.fail(node, "index " + Twine(*c) + " out of range");
      out.push_back((*(*data)->elems)[k]);
    }
    if (ok) {
      g.setOutputElems(node, 0, out, (*idx)->elemShape, (*data)->elemType);
      return success();
    }
  }
  Value x = g.materialize(**data), i = g.materialize(**idx);
  SmallVector<Value> xd = g.dims(x), id = g.dims(i);
  FailureOr<int64_t> a = normAxis(axis, xd.size());
  if (failed(a))
    return g.fail(node, "axis out of range");
  SmallVector<Value> out(xd.begin(), xd.begin() + *a);
  out.append(id.begin(), id.end());
  out.append(xd.begin() + *a + 1, xd.end());
  auto et = cast<RankedTensorType>(x.getType()).getElementType();
  Value r = GatherOp::create(g.b, g.loc, g.typeFromDims(out, et), x, i,
                             g.b.getI64IntegerAttr(*a));
  g.recordDims(r, out);
  g.setOutput(node, 0, r);
  return success();
}

LogicalResult importGatherND(GraphImporter &g, const onnx::NodeProto &node) {
  if (GraphImporter::attrInt(node, "batch_dims", 0) != 0)
    return g.fail(node, "batch_dims != 0 is not supported");
  FailureOr<Value> x = g.tensorInput(node, 0), i = g.tensorInput(node, 1);
  if (failed(x) || failed(i))
    return failure();
  SmallVector<Value> xd = g.dims(*x), id = g.dims(*i);
  std::optional<int64_t> q = g.constIndex(id.back());
  if (!q || *q > (int64_t)xd.size())
    return g.fail(node, "last dim of indices must be static and <= data rank");
  SmallVector<Value> out(id.begin(), id.end() - 1);
  out.append(xd.begin() + *q, xd.end());
  auto et = cast<RankedTensorType>(x->getType()).getElementType();
  Value r = GatherNdOp::create(g.b, g.loc, g.typeFromDims(out, et), *x, *i);
  g.recordDims(r, out);
  g.setOutput(node, 0, r);
  return success();
}

LogicalResult importRange(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Tv *> s = g.input(node, 0), l = g.input(node, 1),
                  d = g.input(node, 2);
  if (failed(s) || failed(l) || failed(d))
    return failure();
  Type et = (*s)->elemType;
  Value size;
  if (isa<IntegerType>(et)) {
    FailureOr<SmallVector<Value>> sv = g.elemsInput(node, 0),
                                  lv = g.elemsInput(node, 1),
                                  dv = g.elemsInput(node, 2);
    if (failed(sv) || failed(lv) || failed(dv) || sv->size() != 1 ||
        lv->size() != 1 || dv->size() != 1)
      return g.fail(node, "start/limit/delta must be scalars");
    if (g.constIndex((*dv)[0]) == std::optional<int64_t>(0))
      return g.fail(node, "delta is 0");
    Value diff = g.b.createOrFold<arith::SubIOp>(g.loc, (*lv)[0], (*sv)[0]);
    size = g.b.createOrFold<arith::CeilDivSIOp>(g.loc, diff, (*dv)[0]);
    size = g.b.createOrFold<arith::MaxSIOp>(g.loc, size, g.cIndex(0));
  } else {
    std::optional<double> sv = g.constScalar(node, 0), lv = g.constScalar(node, 1),
                          dv = g.constScalar(node, 2);
    if (!sv || !lv || !dv || *dv == 0)
      return g.fail(node, "float Range needs constant start/limit/delta");
    size = g.cIndex(std::max<int64_t>(0, (int64_t)std::ceil((*lv - *sv) / *dv)));
  }
  Value start = g.materialize(**s), delta = g.materialize(**d);
  auto scalarType = RankedTensorType::get({}, et);
  if (start.getType() != scalarType)
    start = g.reshape(start, {});
  if (delta.getType() != scalarType)
    delta = g.reshape(delta, {});
  Value r = RangeOp::create(g.b, g.loc, g.typeFromDims({size}, et), start,
                            delta, size);
  g.recordDims(r, {size});
  g.setOutput(node, 0, r);
  return success();
}

LogicalResult importTranspose(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Value> x = g.tensorInput(node, 0);
  if (failed(x))
    return failure();
  int64_t rank = cast<RankedTensorType>(x->getType()).getRank();
  SmallVector<int64_t> perm;
  if (auto p = GraphImporter::attrInts(node, "perm"))
    perm = *p;
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  if ((int64_t)perm.size() != rank)
    return g.fail(node, "perm length differs from the input rank");
  SmallVector<bool> seen(rank, false);
  for (int64_t &p : perm) {
    if (p < 0)
      p += rank;
    if (p < 0 || p >= rank || seen[p])
      return g.fail(node, "perm is not a permutation");
    seen[p] = true;
  }
  g.setOutput(node, 0, g.transpose(*x, perm));
  return success();
}

} // namespace

void mlir::tfc::onnx_import::registerShapeOps(HandlerMap &m) {
  m["Shape"] = importShape;
  m["Size"] = importSize;
  m["Constant"] = importConstant;
  m["ConstantOfShape"] = importConstantOfShape;
  m["Reshape"] = importReshape;
  m["Flatten"] = importFlatten;
  m["Squeeze"] = importSqueeze;
  m["Unsqueeze"] = importUnsqueeze;
  m["Expand"] = importExpand;
  m["Concat"] = importConcat;
  m["Slice"] = importSlice;
  m["Split"] = importSplit;
  m["Gather"] = importGather;
  m["GatherND"] = importGatherND;
  m["Range"] = importRange;
  m["Transpose"] = importTranspose;
}
