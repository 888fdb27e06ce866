//===- RaiseRotary.cpp - x*cos + rotate_half(x)*sin -> tfc.rotary ---------===//
//
// Matches add(mul(x, cos), mul(concat(neg(x2), x1), sin)) in any operand
// order, where x [b, h, s, d] has a static even d, x1 / x2 are unit-stride
// tensor.extract_slice halves [..., :d/2] / [..., d/2:] of x that keep every
// other dim whole, and the concat is along the last dim. cos / sin must
// broadcast to x without growing it and have a unit heads dim (the op's
// [b, 1, s, d] contract). Style `half` only.
//
//===----------------------------------------------------------------------===//
#include "RaiseUtils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "tfc/Transforms/Passes.h"

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCRAISEROTARY
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::raise;

namespace {

/// True when `v` is the slice [..., offset : offset + d/2] of `x`, whole in
/// every other dim.
bool isHalfSlice(Value v, Value x, int64_t offset) {
  auto s = def<tensor::ExtractSliceOp>(v);
  if (!s || s.getSource() != x)
    return false;
  auto xt = rtt(x);
  int64_t rank = xt.getRank(), d = xt.getShape().back();
  if (s.getResultType().getRank() != rank)
    return false;
  for (int64_t i = 0; i < rank; ++i) {
    std::optional<int64_t> off = getConstantIntValue(s.getMixedOffsets()[i]);
    std::optional<int64_t> str = getConstantIntValue(s.getMixedStrides()[i]);
    if (!off || !str || *str != 1)
      return false;
    OpFoldResult size = s.getMixedSizes()[i];
    if (i == rank - 1) {
      std::optional<int64_t> sz = getConstantIntValue(size);
      if (*off != offset || !sz || *sz != d / 2)
        return false;
      continue;
    }
    if (*off != 0)
      return false;
    if (std::optional<int64_t> sz = getConstantIntValue(size)) {
      if (xt.getDimSize(i) != *sz)
        return false;
    } else if (!sameDim(resolveDim(x, i), resolveDim(v, i))) {
      return false;
    }
  }
  return true;
}

/// `v` = concat(neg(x[..., d/2:]), x[..., :d/2]) on the last dim; returns x.
Value matchRotateHalf(Value v) {
  auto c = def<tensor::ConcatOp>(v);
  if (!c || c.getInputs().size() != 2)
    return Value();
  auto neg = unaryOf(c.getInputs()[0], UnaryKind::neg);
  if (!neg)
    return Value();
  auto hi = def<tensor::ExtractSliceOp>(neg.getInput());
  if (!hi)
    return Value();
  Value x = hi.getSource();
  auto xt = rtt(x);
  if (!xt || xt.getRank() != 4 || (int64_t)c.getDim() != 3 ||
      v.getType() != x.getType())
    return Value();
  int64_t d = xt.getShape().back();
  if (ShapedType::isDynamic(d) || d % 2)
    return Value();
  if (!isHalfSlice(neg.getInput(), x, d / 2) ||
      !isHalfSlice(c.getInputs()[1], x, 0))
    return Value();
  return x;
}

/// cos / sin: rank <= 4, broadcast to x [b, h, s, d] with a unit heads dim.
bool isTableFor(Value t, Value x) {
  auto tt = rtt(t);
  if (!tt || tt.getRank() > 4 || tt.getElementType() != rtt(x).getElementType())
    return false;
  int64_t headsPos = 1 - (4 - tt.getRank());
  return headsPos < 0 || tt.getDimSize(headsPos) == 1;
}

struct RotaryPattern : OpRewritePattern<BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BinaryOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getFn() != BinaryKind::add)
      return failure();
    Type type = op.getResult().getType();
    Value x, cos, sin;
    // The rotated term: mul(rotate_half(x), sin) in either order.
    auto matchRot = [&](Value term, Value &rx, Value &s) {
      auto m = binaryOf(term, BinaryKind::mul);
      return m && term.getType() == type &&
             matchEitherOrder(m, [&](Value a, Value b) {
               Value r = matchRotateHalf(a);
               if (!r)
                 return false;
               rx = r;
               s = b;
               return true;
             });
    };
    bool ok = matchEitherOrder(op, [&](Value a, Value b) {
      Value rx, s;
      auto m = binaryOf(a, BinaryKind::mul);
      if (!m || a.getType() != type || !matchRot(b, rx, s))
        return false;
      Value c;
      if (m.getLhs() == rx)
        c = m.getRhs();
      else if (m.getRhs() == rx)
        c = m.getLhs();
      else
        return false;
      x = rx;
      cos = c;
      sin = s;
      return true;
    });
    if (!ok || x.getType() != type || !isTableFor(cos, x) ||
        !isTableFor(sin, x))
      return rewriter.notifyMatchFailure(op, "not x*cos + rotate_half(x)*sin");
    rewriter.replaceOpWithNewOp<RotaryOp>(op, type, x, cos, sin,
                                          RotaryStyle::half);
    return success();
  }
};

struct RaiseRotaryPass : tfc::impl::TfcRaiseRotaryBase<RaiseRotaryPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RotaryPattern>(&getContext());
    (void)applyPatternsGreedily(getOperation(), std::move(patterns),
                                raiseConfig());
  }
};

} // namespace
