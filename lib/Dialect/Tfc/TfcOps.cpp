//===- TfcOps.cpp - tfc op verifiers and folders --------------------------===//
#include "tfc/Dialect/Tfc/TfcDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::tfc;

FailureOr<SmallVector<int64_t>>
mlir::tfc::broadcastShapes(ArrayRef<ArrayRef<int64_t>> shapes) {
  size_t rank = 0;
  for (ArrayRef<int64_t> s : shapes)
    rank = std::max(rank, s.size());
  SmallVector<int64_t> out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    // i counts from the right.
    int64_t dim = 1;
    bool sawDynamic = false;
    for (ArrayRef<int64_t> s : shapes) {
      if (i >= s.size())
        continue;
      int64_t d = s[s.size() - 1 - i];
      if (ShapedType::isDynamic(d)) {
        sawDynamic = true;
        continue;
      }
      if (d == 1)
        continue;
      if (dim != 1 && dim != d)
        return failure();
      dim = d;
    }
    out[rank - 1 - i] = (dim == 1 && sawDynamic) ? ShapedType::kDynamic : dim;
  }
  return out;
}

static RankedTensorType rtt(Value v) {
  return cast<RankedTensorType>(v.getType());
}
static RankedTensorType rtt(Type t) { return cast<RankedTensorType>(t); }

/// Checks that `result` is the broadcast of `operands` (a dynamic result dim
/// is accepted where the broadcast is static, as shape knowledge may lag).
static LogicalResult verifyBroadcastResult(Operation *op, ValueRange operands,
                                           Value result) {
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : operands)
    shapes.push_back(rtt(v).getShape());
  FailureOr<SmallVector<int64_t>> b = broadcastShapes(shapes);
  if (failed(b))
    return op->emitOpError("operand shapes are not broadcast-compatible");
  ArrayRef<int64_t> r = rtt(result).getShape();
  if (r.size() != b->size())
    return op->emitOpError("result rank ")
           << r.size() << " differs from broadcast rank " << b->size();
  for (auto [i, pair] : llvm::enumerate(llvm::zip(r, *b))) {
    auto [rd, bd] = pair;
    if (!ShapedType::isDynamic(rd) && !ShapedType::isDynamic(bd) && rd != bd)
      return op->emitOpError("result dim ")
             << i << " is " << rd << " but broadcast gives " << bd;
  }
  return success();
}

static bool isI1(Type t) { return t.isInteger(1); }

LogicalResult UnaryOp::verify() {
  auto in = rtt(getInput()), out = rtt(getResult());
  if (failed(verifyCompatibleShape(in.getShape(), out.getShape())))
    return emitOpError("result shape differs from input shape");
  UnaryKind k = getFn();
  if (k == UnaryKind::isnan || k == UnaryKind::not_) {
    if (!isI1(out.getElementType()))
      return emitOpError("isnan/not produce i1");
    if (k == UnaryKind::isnan && !isa<FloatType>(in.getElementType()))
      return emitOpError("isnan needs a float input");
    return success();
  }
  if (in.getElementType() != out.getElementType())
    return emitOpError("result element type differs from input");
  if (k != UnaryKind::neg && k != UnaryKind::abs && k != UnaryKind::relu &&
      !isa<FloatType>(in.getElementType()))
    return emitOpError("'") << stringifyUnaryKind(k)
                            << "' needs a float element type";
  return success();
}

LogicalResult BinaryOp::verify() {
  Type l = rtt(getLhs()).getElementType(), r = rtt(getRhs()).getElementType();
  if (l != r)
    return emitOpError("operand element types differ: ") << l << " vs " << r;
  if (rtt(getResult()).getElementType() != l)
    return emitOpError("result element type differs from operands");
  BinaryKind k = getFn();
  if ((k == BinaryKind::and_ || k == BinaryKind::or_ ||
       k == BinaryKind::xor_) &&
      !isI1(l))
    return emitOpError("logical ops take i1");
  return verifyBroadcastResult(*this, {getLhs(), getRhs()}, getResult());
}

LogicalResult CmpOp::verify() {
  if (rtt(getLhs()).getElementType() != rtt(getRhs()).getElementType())
    return emitOpError("operand element types differ");
  if (!isI1(rtt(getResult()).getElementType()))
    return emitOpError("result must have element type i1");
  return verifyBroadcastResult(*this, {getLhs(), getRhs()}, getResult());
}

LogicalResult SelectOp::verify() {
  if (!isI1(rtt(getCond()).getElementType()))
    return emitOpError("condition must have element type i1");
  if (rtt(getLhs()).getElementType() != rtt(getRhs()).getElementType() ||
      rtt(getLhs()).getElementType() != rtt(getResult()).getElementType())
    return emitOpError("value and result element types must agree");
  return verifyBroadcastResult(*this, {getCond(), getLhs(), getRhs()},
                               getResult());
}

LogicalResult CastOp::verify() {
  if (failed(verifyCompatibleShape(rtt(getInput()).getShape(),
                                   rtt(getResult()).getShape())))
    return emitOpError("result shape differs from input shape");
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getResult().getType())
    return getInput();
  return {};
}

LogicalResult MatmulOp::verify() {
  auto a = rtt(getLhs()), b = rtt(getRhs()), c = rtt(getResult());
  if (a.getRank() < 2 || b.getRank() < 2)
    return emitOpError("operands must have rank >= 2");
  if (!isa<FloatType>(a.getElementType()) ||
      a.getElementType() != b.getElementType())
    return emitOpError("operands must share a float element type");
  int64_t k1 = a.getShape().back(), k2 = b.getShape()[b.getRank() - 2];
  if (!ShapedType::isDynamic(k1) && !ShapedType::isDynamic(k2) && k1 != k2)
    return emitOpError("contraction dims differ: ") << k1 << " vs " << k2;
  FailureOr<SmallVector<int64_t>> batch =
      broadcastShapes({a.getShape().drop_back(2), b.getShape().drop_back(2)});
  if (failed(batch))
    return emitOpError("batch dims are not broadcast-compatible");
  if (c.getRank() != (int64_t)batch->size() + 2)
    return emitOpError("result rank must be ") << batch->size() + 2;
  return success();
}

static LogicalResult verifyAxis(Operation *op, int64_t axis, int64_t rank) {
  if (axis < 0 || axis >= rank)
    return op->emitOpError("axis ") << axis << " out of range for rank "
                                    << rank;
  return success();
}

LogicalResult SoftmaxOp::verify() {
  if (getInput().getType() != getResult().getType())
    return emitOpError("result type must equal input type");
  return verifyAxis(*this, getAxis(), rtt(getInput()).getRank());
}

LogicalResult ReduceOp::verify() {
  int64_t rank = rtt(getInput()).getRank();
  ArrayRef<int64_t> axes = getAxes();
  for (size_t i = 0; i < axes.size(); ++i) {
    if (failed(verifyAxis(*this, axes[i], rank)))
      return failure();
    if (i && axes[i] <= axes[i - 1])
      return emitOpError("axes must be sorted and unique");
  }
  int64_t expected = getKeepdims() ? rank : rank - (int64_t)axes.size();
  if (rtt(getResult()).getRank() != expected)
    return emitOpError("result rank must be ") << expected;
  return success();
}

LogicalResult TransposeOp::verify() {
  int64_t rank = rtt(getInput()).getRank();
  ArrayRef<int64_t> perm = getPerm();
  if ((int64_t)perm.size() != rank)
    return emitOpError("perm size must equal the input rank");
  SmallVector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p])
      return emitOpError("perm is not a permutation");
    seen[p] = true;
  }
  auto in = rtt(getInput()).getShape(), out = rtt(getResult()).getShape();
  for (int64_t i = 0; i < rank; ++i)
    if (!ShapedType::isDynamic(out[i]) && !ShapedType::isDynamic(in[perm[i]]) &&
        out[i] != in[perm[i]])
      return emitOpError("result dim ") << i << " does not match the input";
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  if (llvm::equal(getPerm(), llvm::seq<int64_t>(0, (int64_t)getPerm().size())) &&
      getInput().getType() == getResult().getType())
    return getInput();
  return {};
}

LogicalResult ReshapeOp::verify() {
  auto in = rtt(getInput()), out = rtt(getResult());
  if (in.getElementType() != out.getElementType())
    return emitOpError("element types differ");
  if (getDims().size() != (size_t)out.getNumDynamicDims())
    return emitOpError("expected ")
           << out.getNumDynamicDims() << " dynamic dim operands, got "
           << getDims().size();
  if (in.hasStaticShape() && out.hasStaticShape() &&
      in.getNumElements() != out.getNumElements())
    return emitOpError("element counts differ: ")
           << in.getNumElements() << " vs " << out.getNumElements();
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getResult().getType() &&
      getResult().getType().hasStaticShape())
    return getInput();
  return {};
}

LogicalResult ExpandOp::verify() {
  auto in = rtt(getInput()), out = rtt(getResult());
  if (getDims().size() != (size_t)out.getNumDynamicDims())
    return emitOpError("expected ")
           << out.getNumDynamicDims() << " dynamic dim operands";
  if (in.getRank() > out.getRank())
    return emitOpError("cannot expand to a lower rank");
  int64_t off = out.getRank() - in.getRank();
  for (int64_t i = 0; i < in.getRank(); ++i) {
    int64_t d = in.getShape()[i], o = out.getShape()[off + i];
    if (d != 1 && !ShapedType::isDynamic(d) && !ShapedType::isDynamic(o) &&
        d != o)
      return emitOpError("input dim ") << i << " (" << d
                                       << ") cannot expand to " << o;
  }
  return success();
}

LogicalResult GatherOp::verify() {
  auto in = rtt(getInput()), idx = rtt(getIndices()), out = rtt(getResult());
  if (!isa<IntegerType>(idx.getElementType()))
    return emitOpError("indices must be integers");
  if (failed(verifyAxis(*this, getAxis(), in.getRank())))
    return failure();
  if (out.getRank() != in.getRank() - 1 + idx.getRank())
    return emitOpError("result rank must be ")
           << in.getRank() - 1 + idx.getRank();
  return success();
}

LogicalResult GatherNdOp::verify() {
  auto in = rtt(getInput()), idx = rtt(getIndices()), out = rtt(getResult());
  if (!isa<IntegerType>(idx.getElementType()) || idx.getRank() < 1)
    return emitOpError("indices must be integers of rank >= 1");
  int64_t q = idx.getShape().back();
  if (ShapedType::isDynamic(q) || q > in.getRank())
    return emitOpError("last dim of indices must be static and <= input rank");
  if (out.getRank() != idx.getRank() - 1 + in.getRank() - q)
    return emitOpError("result rank mismatch");
  return success();
}

LogicalResult CumSumOp::verify() {
  auto in = rtt(getInput()), out = rtt(getResult());
  if (failed(verifyAxis(*this, getAxis(), in.getRank())))
    return failure();
  if (in.getElementType() != out.getElementType() ||
      failed(verifyCompatibleShape(in, out)))
    return emitOpError("result must have the input's type");
  if (!isa<FloatType, IntegerType>(in.getElementType()) ||
      in.getElementType().isInteger(1))
    return emitOpError("needs float or integer (not i1) elements");
  return success();
}

LogicalResult GatherElementsOp::verify() {
  auto in = rtt(getInput()), idx = rtt(getIndices()), out = rtt(getResult());
  if (!isa<IntegerType>(idx.getElementType()))
    return emitOpError("indices must be integers");
  if (failed(verifyAxis(*this, getAxis(), in.getRank())))
    return failure();
  if (idx.getRank() != in.getRank())
    return emitOpError("indices must have the input's rank ")
           << in.getRank();
  if (out.getElementType() != in.getElementType() ||
      failed(verifyCompatibleShape(idx.getShape(), out.getShape())))
    return emitOpError("result must have the indices' shape and the input's "
                       "element type");
  return success();
}

LogicalResult RangeOp::verify() {
  auto out = rtt(getResult());
  if (out.getRank() != 1)
    return emitOpError("result must be 1-D");
  if (rtt(getStart()).getRank() != 0 || rtt(getDelta()).getRank() != 0)
    return emitOpError("start and delta must be 0-d");
  return success();
}

LogicalResult LinearOp::verify() {
  auto x = rtt(getInput()), w = rtt(getWeight()), y = rtt(getResult());
  if (w.getRank() != 2)
    return emitOpError("weight must be 2-D");
  if (x.getRank() < 1 || y.getRank() != x.getRank())
    return emitOpError("result rank must equal input rank");
  int64_t k = getTransposeWeight() ? w.getShape()[1] : w.getShape()[0];
  int64_t n = getTransposeWeight() ? w.getShape()[0] : w.getShape()[1];
  int64_t xk = x.getShape().back();
  if (!ShapedType::isDynamic(k) && !ShapedType::isDynamic(xk) && k != xk)
    return emitOpError("input features ") << xk << " != weight features "
                                          << k;
  if (!ShapedType::isDynamic(n) && !ShapedType::isDynamic(y.getShape().back()) &&
      y.getShape().back() != n)
    return emitOpError("result features must be ") << n;
  if (getBias()) {
    auto b = rtt(getBias());
    if (b.getRank() != 1 ||
        (!ShapedType::isDynamic(b.getShape()[0]) && b.getShape()[0] != n))
      return emitOpError("bias must be 1-D of size ") << n;
  }
  return success();
}

LogicalResult EmbeddingOp::verify() {
  auto t = rtt(getTable()), ids = rtt(getIds()), out = rtt(getResult());
  if (t.getRank() != 2)
    return emitOpError("table must be 2-D");
  if (!isa<IntegerType>(ids.getElementType()))
    return emitOpError("ids must be integers");
  if (out.getRank() != ids.getRank() + 1)
    return emitOpError("result rank must be ids rank + 1");
  return success();
}

static LogicalResult verifyNorm(Operation *op, Value input, Value scale,
                                Value result) {
  auto x = rtt(input), s = rtt(scale);
  if (input.getType() != result.getType())
    return op->emitOpError("result type must equal input type");
  if (s.getRank() != 1)
    return op->emitOpError("scale must be 1-D");
  int64_t d = x.getShape().back();
  if (!ShapedType::isDynamic(d) && !ShapedType::isDynamic(s.getShape()[0]) &&
      d != s.getShape()[0])
    return op->emitOpError("scale size ")
           << s.getShape()[0] << " != last dim " << d;
  return success();
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput(), getScale(), getResult());
}
LogicalResult RmsNormOp::verify() {
  return verifyNorm(*this, getInput(), getScale(), getResult());
}

LogicalResult GatedMlpOp::verify() {
  UnaryKind a = getActivation();
  if (a != UnaryKind::silu && a != UnaryKind::gelu &&
      a != UnaryKind::gelu_tanh)
    return emitOpError("activation must be silu, gelu or gelu_tanh");
  if (rtt(getWGate()).getRank() != 2 || rtt(getWUp()).getRank() != 2 ||
      rtt(getWDown()).getRank() != 2)
    return emitOpError("weights must be 2-D");
  if (rtt(getWGate()).getShape() != rtt(getWUp()).getShape())
    return emitOpError("gate and up weights must have the same shape");
  return success();
}

LogicalResult RotaryOp::verify() {
  auto x = rtt(getInput());
  if (x.getRank() != 4)
    return emitOpError("input must be [batch, heads, seq, head_dim]");
  int64_t d = x.getShape().back();
  if (!ShapedType::isDynamic(d) && d % 2)
    return emitOpError("head_dim must be even");
  if (getInput().getType() != getResult().getType())
    return emitOpError("result type must equal input type");
  return success();
}

LogicalResult AttentionOp::verify() {
  auto q = rtt(getQuery()), k = rtt(getKey()), v = rtt(getValue());
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return emitOpError("query/key/value must be 4-D [b, h, s, d]");
  int64_t hq = q.getShape()[1], hk = k.getShape()[1];
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hk) &&
      (hk == 0 || hq % hk))
    return emitOpError("query heads (")
           << hq << ") must be a multiple of key/value heads (" << hk << ")";
  if (k.getShape()[1] != v.getShape()[1] && !ShapedType::isDynamic(hk) &&
      !ShapedType::isDynamic(v.getShape()[1]))
    return emitOpError("key and value head counts differ");
  int64_t dq = q.getShape()[3], dk = k.getShape()[3];
  if (!ShapedType::isDynamic(dq) && !ShapedType::isDynamic(dk) && dq != dk)
    return emitOpError("query and key head dims differ");
  if ((int64_t)getWindow() < 0)
    return emitOpError("window must be >= 0");
  if ((int64_t)getSinks() < 0 || (int64_t)getBlock() < 0 ||
      (int64_t)getLayoutBlock() < 0)
    return emitOpError("sinks, block and layout_block must be >= 0");
  if (getSinks() > 0 && getWindow() == 0)
    return emitOpError("sinks (")
           << getSinks() << ") need a window: they are the keys a window "
           << "keeps visible";
  if (auto l = getLayoutAttr()) {
    auto lt = cast<ShapedType>(l.getType());
    if (lt.getRank() != 2 || !lt.getElementType().isInteger(8))
      return emitOpError("layout must be a 2-D i8 block pattern [P, Q], got ")
             << lt;
    if ((int64_t)getLayoutBlock() <= 0)
      return emitOpError("layout needs layout_block > 0 (tokens per block)");
    auto check = [&](int64_t len, int64_t have, const char *what)
        -> LogicalResult {
      if (ShapedType::isDynamic(len))
        return success();
      int64_t lb = getLayoutBlock();
      int64_t need = (len + lb - 1) / lb;
      if (have < need)
        return emitOpError("layout has ")
               << have << " block " << what << ", the key length " << len
               << " needs " << need;
      return success();
    };
    int64_t t = k.getShape()[2];
    if (failed(check(t, lt.getDimSize(0), "rows")) ||
        failed(check(t, lt.getDimSize(1), "columns")))
      return failure();
  } else if (getLayoutBlock() != 0) {
    return emitOpError("layout_block without a layout");
  }
  if (getMask() && rtt(getMask()).getRank() > 4)
    return emitOpError("mask rank must be <= 4");
  if (Value sq = getSinkQuery()) {
    if (getSinks() == 0)
      return emitOpError("sink_query needs sinks > 0");
    if (sq.getType() != getQuery().getType())
      return emitOpError("sink_query must have the query's type, got ")
             << sq.getType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Parallelism ops
//===----------------------------------------------------------------------===//

static LogicalResult verifyCommElement(Operation *op, Type t) {
  if (!rtt(t).getElementType().isF32())
    return op->emitOpError("communicates f32 tensors only, got ") << t;
  return success();
}

LogicalResult AllReduceOp::verify() {
  if (getParts() < 2)
    return emitOpError("parts must be >= 2, got ") << getParts();
  return verifyCommElement(*this, getInput().getType());
}

LogicalResult AllGatherOp::verify() {
  auto in = rtt(getInput()), out = rtt(getResult());
  ArrayRef<int64_t> sizes = getSizes();
  int64_t axis = getAxis(), rank = getRank();
  if (sizes.size() < 2)
    return emitOpError("needs the sizes of >= 2 parts");
  if (in.getRank() != out.getRank() || axis < 0 || axis >= in.getRank())
    return emitOpError("axis ") << axis << " out of range or ranks differ";
  if (rank < 0 || rank >= (int64_t)sizes.size())
    return emitOpError("rank ") << rank << " out of range";
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0)
      return emitOpError("part sizes must be >= 0");
    total += s;
  }
  if (!in.isDynamicDim(axis) && in.getDimSize(axis) != sizes[rank])
    return emitOpError("input dim ")
           << axis << " is " << in.getDimSize(axis) << ", part " << rank
           << " has " << sizes[rank];
  if (!out.isDynamicDim(axis) && out.getDimSize(axis) != total)
    return emitOpError("result dim ") << axis << " must be " << total;
  for (int64_t i = 0; i < in.getRank(); ++i)
    if (i != axis && !in.isDynamicDim(i) && !out.isDynamicDim(i) &&
        in.getDimSize(i) != out.getDimSize(i))
      return emitOpError("dim ") << i << " differs between input and result";
  return verifyCommElement(*this, in);
}

LogicalResult SendOp::verify() {
  if (getPeer() < 0 || getTag() < 0)
    return emitOpError("peer and tag must be >= 0");
  return verifyCommElement(*this, getInput().getType());
}

LogicalResult RecvOp::verify() {
  if (getPeer() < 0 || getTag() < 0)
    return emitOpError("peer and tag must be >= 0");
  return verifyCommElement(*this, getResult().getType());
}

#define GET_OP_CLASSES
#include "tfc/Dialect/Tfc/TfcOps.cpp.inc"
