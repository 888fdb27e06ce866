//===- TfcQuantOps.cpp - verifiers of the quantization ops ----------------===//
#include "tfc/Dialect/Tfc/TfcDialect.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace mlir::tfc;

namespace {

RankedTensorType rtt(Value v) { return cast<RankedTensorType>(v.getType()); }

bool isI8(Type t) { return t.isInteger(8); }

/// Checks scale / zero_point as quant params of a tensor of `shape` (see
/// TfcQuantOps.td): same rank (or a rank-0 / one-element scale), each dim 1,
/// the data's, or ceil(dim / group) along groupAxis.
LogicalResult verifyParams(Operation *op, ArrayRef<int64_t> shape, Value scale,
                           Value zeroPoint, int64_t bits, int64_t group,
                           int64_t groupAxis) {
  if (bits < 2 || bits > 8)
    return op->emitOpError("bits must be in [2, 8], got ") << bits;
  if (group < 0)
    return op->emitOpError("group must be >= 0, got ") << group;
  if (group > 0 && (groupAxis < 0 || groupAxis >= (int64_t)shape.size()))
    return op->emitOpError("group_axis ")
           << groupAxis << " is not a dim of the rank-" << shape.size()
           << " data";
  auto st = rtt(scale);
  if (!st.getElementType().isF32())
    return op->emitOpError("scale must be f32");
  if (zeroPoint) {
    auto zt = rtt(zeroPoint);
    if (!isI8(zt.getElementType()))
      return op->emitOpError("zero_point must be i8 (codes)");
    if (zt.getShape() != st.getShape())
      return op->emitOpError("zero_point must have the scale's shape");
  }
  if (st.getRank() == 0 || (st.hasStaticShape() && st.getNumElements() == 1))
    return success();
  if (st.getRank() != (int64_t)shape.size())
    return op->emitOpError("scale rank ")
           << st.getRank() << " must be 0 or the data's rank " << shape.size();
  for (int64_t i = 0; i < st.getRank(); ++i) {
    int64_t s = st.getDimSize(i), d = shape[i];
    if (ShapedType::isDynamic(s) || ShapedType::isDynamic(d) || s == 1 ||
        s == d)
      continue;
    if (group > 0 && i == groupAxis && s == (d + group - 1) / group)
      continue;
    return op->emitOpError("scale dim ")
           << i << " is " << s << "; expected 1, " << d
           << (group > 0 && i == groupAxis
                   ? ", or ceil(" + std::to_string(d) + " / " +
                         std::to_string(group) +
                         ") = " + std::to_string((d + group - 1) / group)
                   : std::string());
  }
  return success();
}

/// The weight checks shared by qlinear and qgated_mlp: codes [k, n] i8,
/// scale [1 or ceil(k/group), n]. Returns (k, n) through the out params.
LogicalResult verifyWeight(Operation *op, StringRef what, Value w, Value scale,
                           Value zeroPoint, int64_t bits, int64_t group) {
  auto wt = rtt(w);
  if (wt.getRank() != 2 || !isI8(wt.getElementType()))
    return op->emitOpError() << what << " must be 2-D i8 codes [k, n]";
  auto st = rtt(scale);
  if (st.getRank() != 2)
    return op->emitOpError() << what << " scale must be 2-D [groups, n]";
  if (group == 0 && !ShapedType::isDynamic(st.getDimSize(0)) &&
      st.getDimSize(0) != 1)
    return op->emitOpError()
           << what << " scale must be [1, n] without a group (per channel)";
  return verifyParams(op, wt.getShape(), scale, zeroPoint, bits, group, 0);
}

LogicalResult verifyActivation(Operation *op, QuantActivation act,
                               std::optional<APFloat> scale,
                               std::optional<int64_t> zp) {
  if (act == QuantActivation::static_) {
    if (!scale || !(scale->convertToDouble() > 0))
      return op->emitOpError("activation 'static' needs act_scale > 0");
    if (zp && (*zp < 0 || *zp > 255))
      return op->emitOpError("act_zero_point must be in [0, 255]");
  } else if (scale || zp) {
    return op->emitOpError(
        "act_scale / act_zero_point only go with activation 'static'");
  }
  return success();
}

} // namespace

LogicalResult QuantizeOp::verify() {
  auto x = rtt(getInput()), q = rtt(getResult());
  if (!isa<FloatType>(x.getElementType()))
    return emitOpError("input must be floating point");
  if (!isI8(q.getElementType()) || q.getShape() != x.getShape())
    return emitOpError("result must be i8 codes of the input's shape");
  return verifyParams(*this, x.getShape(), getScale(), getZeroPoint(),
                      getBits(), getGroup(), getGroupAxis());
}

LogicalResult DequantizeOp::verify() {
  auto q = rtt(getInput()), x = rtt(getResult());
  if (!isI8(q.getElementType()))
    return emitOpError("input must be i8 codes");
  if (!x.getElementType().isF32() || q.getShape() != x.getShape())
    return emitOpError("result must be f32 of the input's shape");
  return verifyParams(*this, q.getShape(), getScale(), getZeroPoint(),
                      getBits(), getGroup(), getGroupAxis());
}

LogicalResult DynamicQuantizeOp::verify() {
  auto x = rtt(getInput()), q = rtt(getResult());
  auto s = rtt(getScale()), z = rtt(getZeroPoint());
  if (!isa<FloatType>(x.getElementType()))
    return emitOpError("input must be floating point");
  if (!isI8(q.getElementType()) || q.getShape() != x.getShape())
    return emitOpError("result must be i8 codes of the input's shape");
  if (!s.getElementType().isF32() || !isI8(z.getElementType()))
    return emitOpError("scale must be f32 and zero_point i8");
  if (getPerRow()) {
    if (x.getRank() < 1)
      return emitOpError("per_row needs rank >= 1");
    SmallVector<int64_t> rows(x.getShape());
    rows.back() = 1;
    if (s.getShape() != ArrayRef<int64_t>(rows) || z.getShape() != s.getShape())
      return emitOpError("per_row scale and zero_point must be [..., 1]");
  } else if (s.getRank() != 0 || z.getRank() != 0) {
    return emitOpError("per-tensor scale and zero_point must be rank 0");
  }
  return success();
}

LogicalResult QLinearOp::verify() {
  auto x = rtt(getInput()), y = rtt(getResult());
  if (!x.getElementType().isF32() || !y.getElementType().isF32())
    return emitOpError("input and result must be f32");
  if (x.getRank() < 1 || y.getRank() != x.getRank())
    return emitOpError("result rank must equal input rank");
  if (failed(verifyWeight(*this, "weight", getWeight(), getScale(),
                          getZeroPoint(), getBits(), getGroup())))
    return failure();
  auto w = rtt(getWeight());
  int64_t k = w.getDimSize(0), n = w.getDimSize(1);
  int64_t xk = x.getShape().back(), yn = y.getShape().back();
  if (!ShapedType::isDynamic(k) && !ShapedType::isDynamic(xk) && k != xk)
    return emitOpError("input features ") << xk << " != weight rows " << k;
  if (!ShapedType::isDynamic(n) && !ShapedType::isDynamic(yn) && n != yn)
    return emitOpError("result features must be ") << n;
  if (getBias()) {
    auto b = rtt(getBias());
    if (b.getRank() != 1 || !b.getElementType().isF32() ||
        (!ShapedType::isDynamic(b.getDimSize(0)) && b.getDimSize(0) != n))
      return emitOpError("bias must be f32 [") << n << "]";
  }
  std::optional<APFloat> as;
  if (getActScaleAttr())
    as = getActScaleAttr().getValue();
  return verifyActivation(*this, getActivation(), as, getActZeroPoint());
}

LogicalResult QGatedMlpOp::verify() {
  auto x = rtt(getInput()), y = rtt(getResult());
  if (!x.getElementType().isF32() || !y.getElementType().isF32() ||
      x.getRank() != y.getRank())
    return emitOpError("input and result must be f32 of the same rank");
  size_t nz = getZeroPoints().size();
  if (nz != 0 && nz != 3)
    return emitOpError("zero_points: none or one per weight (3), got ") << nz;
  Value zg = nz ? getZeroPoints()[0] : Value();
  Value zu = nz ? getZeroPoints()[1] : Value();
  Value zd = nz ? getZeroPoints()[2] : Value();
  if (failed(verifyWeight(*this, "w_gate", getWGate(), getSGate(), zg,
                          getBits(), getGroup())) ||
      failed(verifyWeight(*this, "w_up", getWUp(), getSUp(), zu, getBits(),
                          getGroup())) ||
      failed(verifyWeight(*this, "w_down", getWDown(), getSDown(), zd,
                          getBits(), getGroup())))
    return failure();
  auto g = rtt(getWGate()), u = rtt(getWUp()), d = rtt(getWDown());
  if (g.getShape() != u.getShape())
    return emitOpError("w_gate and w_up must have the same shape");
  if (!ShapedType::isDynamic(g.getDimSize(1)) &&
      !ShapedType::isDynamic(d.getDimSize(0)) &&
      g.getDimSize(1) != d.getDimSize(0))
    return emitOpError("w_down rows must equal the hidden size ")
           << g.getDimSize(1);
  int64_t xd = x.getShape().back();
  if (!ShapedType::isDynamic(xd) && !ShapedType::isDynamic(g.getDimSize(0)) &&
      xd != g.getDimSize(0))
    return emitOpError("input features ")
           << xd << " != w_gate rows " << g.getDimSize(0);
  UnaryKind a = getAct();
  if (a != UnaryKind::silu && a != UnaryKind::gelu &&
      a != UnaryKind::gelu_tanh)
    return emitOpError("act must be silu, gelu or gelu_tanh");
  if (getActivation() == QuantActivation::static_)
    return emitOpError("activation 'static' needs one scale per linear: use "
                       "tfc.qlinear");
  return success();
}

LogicalResult QEmbeddingOp::verify() {
  auto t = rtt(getTable()), ids = rtt(getIds()), out = rtt(getResult());
  if (t.getRank() != 2 || !isI8(t.getElementType()))
    return emitOpError("table must be 2-D i8 codes [vocab, dim]");
  if (!isa<IntegerType>(ids.getElementType()))
    return emitOpError("ids must be integers");
  if (out.getRank() != ids.getRank() + 1 || !out.getElementType().isF32())
    return emitOpError("result must be f32 of rank ids rank + 1");
  auto s = rtt(getScale());
  if (s.getRank() != 2)
    return emitOpError("scale must be 2-D [vocab, groups]");
  return verifyParams(*this, t.getShape(), getScale(), getZeroPoint(),
                      getBits(), getGroup(), 1);
}
