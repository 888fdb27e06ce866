//===- RaiseNorms.cpp - decomposed RMSNorm / LayerNorm -> tfc ops ---------===//
//
// Two steps, each a pattern, so that every exporter spelling composes:
//  1. the normalization core becomes the op with a unit scale:
//       x * inv_sqrt(mean(x^2) + eps)          -> rms_norm(x, 1, eps)
//       (x - mean(x)) * inv_sqrt(var + eps)    -> layer_norm(x, 1, eps)
//     with inv_sqrt one of rsqrt(v), reciprocal(sqrt(v)), 1 / sqrt(v),
//     pow(v, -0.5), or a division by sqrt(v); x^2 as pow(x, 2) or x * x;
//     mean a keepdims reduce over the last dim only (or sum / d); var the
//     mean of the squared centred x; float-to-float casts around x ignored;
//  2. a following multiply by a constant [d] (either side) becomes the
//     scale, and for LayerNorm an add of a constant [d] the bias.
// Requires eps and the weights to be constants and the op's result type to
// equal x's (no broadcasting beyond the normalized tensor).
//
//===----------------------------------------------------------------------===//
#include "RaiseUtils.h"
#include "tfc/Transforms/Passes.h"

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCRAISENORMS
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::raise;

namespace {

/// `m` = mean of `*in` over the last dim with keepdims (reduce mean, or
/// reduce sum divided by / multiplied with the inverse of the static size).
bool matchMeanLast(Value m, Value &in) {
  auto isLastKeep = [](ReduceOp r) {
    int64_t rank = rtt(r.getInput()).getRank();
    return r.getKeepdims() && r.getAxes() == ArrayRef<int64_t>{rank - 1};
  };
  if (auto r = def<ReduceOp>(m)) {
    if (r.getKind() != ReduceKind::mean || !isLastKeep(r))
      return false;
    in = r.getInput();
    return true;
  }
  // sum(x) / d or sum(x) * (1/d)
  Value sum;
  double factor = 0;
  if (auto div = binaryOf(m, BinaryKind::div)) {
    std::optional<double> c = scalarFloat(div.getRhs());
    if (!c || *c == 0)
      return false;
    sum = div.getLhs();
    factor = 1.0 / *c;
  } else if (auto mul = binaryOf(m, BinaryKind::mul)) {
    if (!matchEitherOrder(mul, [&](Value a, Value b) {
          std::optional<double> c = scalarFloat(b);
          if (!c)
            return false;
          sum = a;
          factor = *c;
          return true;
        }))
      return false;
  } else {
    return false;
  }
  auto r = def<ReduceOp>(sum);
  if (!r || r.getKind() != ReduceKind::sum || !isLastKeep(r) ||
      r.getResult().getType() != m.getType())
    return false;
  int64_t d = rtt(r.getInput()).getShape().back();
  if (ShapedType::isDynamic(d) || std::fabs(factor * d - 1.0) > 1e-6)
    return false;
  in = r.getInput();
  return true;
}

/// `sq` = x^2 (pow(x, 2) or x * x); returns x with float casts stripped.
Value matchSquare(Value sq) {
  if (auto p = binaryOf(sq, BinaryKind::pow))
    return isScalar(p.getRhs(), 2.0) ? stripFloatCasts(p.getLhs()) : Value();
  if (auto m = binaryOf(sq, BinaryKind::mul))
    if (stripFloatCasts(m.getLhs()) == stripFloatCasts(m.getRhs()))
      return stripFloatCasts(m.getLhs());
  return Value();
}

/// `v` = add(m, eps) (either order), eps a one-element float constant.
bool matchPlusEps(Value v, Value &m, double &eps) {
  auto add = binaryOf(v, BinaryKind::add);
  return add && matchEitherOrder(add, [&](Value a, Value b) {
           std::optional<double> e = scalarFloat(b);
           if (!e || a.getType() != v.getType())
             return false;
           m = a;
           eps = *e;
           return true;
         });
}

/// `r` = 1/sqrt(v): rsqrt(v), reciprocal(sqrt(v)), 1 / sqrt(v), pow(v, -0.5).
Value matchInvSqrt(Value r) {
  if (auto u = unaryOf(r, UnaryKind::rsqrt))
    return u.getInput();
  if (auto u = unaryOf(r, UnaryKind::reciprocal))
    if (auto s = unaryOf(u.getInput(), UnaryKind::sqrt))
      return s.getInput();
  if (auto d = binaryOf(r, BinaryKind::div))
    if (isScalar(d.getLhs(), 1.0))
      if (auto s = unaryOf(d.getRhs(), UnaryKind::sqrt))
        return s.getInput();
  if (auto p = binaryOf(r, BinaryKind::pow))
    if (isScalar(p.getRhs(), -0.5))
      return p.getLhs();
  return Value();
}

/// Matches `root` = num * inv_sqrt(den) or num / sqrt(den); sets num, den.
bool matchNormalize(BinaryOp root, Value &num, Value &den) {
  if (root.getFn() == BinaryKind::div) {
    auto s = unaryOf(root.getRhs(), UnaryKind::sqrt);
    if (!s)
      return false;
    num = root.getLhs();
    den = s.getInput();
    return true;
  }
  if (root.getFn() != BinaryKind::mul)
    return false;
  return matchEitherOrder(root, [&](Value a, Value b) {
    Value v = matchInvSqrt(b);
    if (!v)
      return false;
    num = a;
    den = v;
    return true;
  });
}

/// Reshapes a constant [1, ..., 1, d] to [d]; null when it is not one.
Value asVector(PatternRewriter &rewriter, Location loc, Value c, int64_t d,
               Type et) {
  auto t = rtt(c);
  if (!t || !isConstant(c) || t.getElementType() != et || t.getRank() < 1 ||
      t.getShape().back() != d)
    return Value();
  for (int64_t s : t.getShape().drop_back())
    if (s != 1)
      return Value();
  if (t.getRank() == 1)
    return c;
  return ReshapeOp::create(rewriter, loc, RankedTensorType::get({d}, et), c,
                           ValueRange());
}

/// Common checks of a raised norm: float x, static last dim, result type.
bool normShapeOk(Value x, Value root) {
  auto t = rtt(x);
  return t && t.getRank() >= 1 && isa<FloatType>(t.getElementType()) &&
         !ShapedType::isDynamic(t.getShape().back()) &&
         x.getType() == root.getType();
}

/// x * inv_sqrt(mean(x^2) + eps) -> rms_norm(x, ones, eps).
struct RmsNormCore : OpRewritePattern<BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BinaryOp op,
                                PatternRewriter &rewriter) const override {
    Value x, den, meanSq, sq;
    double eps;
    if (!matchNormalize(op, x, den) || !matchPlusEps(den, meanSq, eps) ||
        !matchMeanLast(meanSq, sq))
      return failure();
    Value base = matchSquare(sq);
    if (!base || base != stripFloatCasts(x) || !normShapeOk(x, op.getResult()))
      return rewriter.notifyMatchFailure(op, "not x * rsqrt(mean(x^2)+eps)");
    auto t = rtt(x);
    Value ones = splatVector(rewriter, op.getLoc(), t.getElementType(),
                             t.getShape().back(), 1.0);
    rewriter.replaceOpWithNewOp<RmsNormOp>(op, t, x, ones,
                                           rewriter.getF64FloatAttr(eps));
    return success();
  }
};

/// (x - mean(x)) * inv_sqrt(mean((x - mean(x))^2) + eps) -> layer_norm.
struct LayerNormCore : OpRewritePattern<BinaryOp> {
  // Tried before RmsNormCore, which would see the centred x as its input.
  LayerNormCore(MLIRContext *ctx) : OpRewritePattern(ctx, /*benefit=*/2) {}

  /// `d` = x - mean(x); returns x.
  static Value matchCentered(Value d) {
    auto sub = binaryOf(d, BinaryKind::sub);
    Value in;
    if (!sub || !matchMeanLast(sub.getRhs(), in) || in != sub.getLhs())
      return Value();
    return sub.getLhs();
  }

  LogicalResult matchAndRewrite(BinaryOp op,
                                PatternRewriter &rewriter) const override {
    Value centered, den, var, sq;
    double eps;
    if (!matchNormalize(op, centered, den) || !matchPlusEps(den, var, eps) ||
        !matchMeanLast(var, sq))
      return failure();
    Value x = matchCentered(centered);
    Value c2 = matchSquare(sq);
    if (!x || !c2 || (c2 != centered && matchCentered(c2) != x) ||
        !normShapeOk(x, op.getResult()))
      return rewriter.notifyMatchFailure(op, "not a centred normalization");
    auto t = rtt(x);
    Value ones = splatVector(rewriter, op.getLoc(), t.getElementType(),
                             t.getShape().back(), 1.0);
    rewriter.replaceOpWithNewOp<LayerNormOp>(op, t, x, ones, Value(),
                                             rewriter.getF64FloatAttr(eps));
    return success();
  }
};

/// mul(norm(x, ones), w [d]) -> norm(x, w), for rms_norm and a bias-less
/// layer_norm.
struct FoldNormScale : OpRewritePattern<BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BinaryOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getFn() != BinaryKind::mul)
      return failure();
    Operation *norm = nullptr;
    Value w;
    matchEitherOrder(op, [&](Value a, Value b) {
      Operation *n = a.getDefiningOp();
      if (!n || !n->hasOneUse() || a.getType() != op.getResult().getType())
        return false;
      Value scale;
      if (auto r = dyn_cast<RmsNormOp>(n))
        scale = r.getScale();
      else if (auto l = dyn_cast<LayerNormOp>(n); l && !l.getBias())
        scale = l.getScale();
      std::optional<double> s = scale ? splatFloat(scale) : std::nullopt;
      if (!s || *s != 1.0 || !isConstant(b))
        return false;
      norm = n;
      w = b;
      return true;
    });
    if (!norm)
      return failure();
    auto t = rtt(op.getResult());
    Value scale = asVector(rewriter, op.getLoc(), w, t.getShape().back(),
                           t.getElementType());
    if (!scale)
      return rewriter.notifyMatchFailure(op, "weight is not a constant [d]");
    if (auto r = dyn_cast<RmsNormOp>(norm))
      rewriter.replaceOpWithNewOp<RmsNormOp>(op, t, r.getInput(), scale,
                                             r.getEpsilonAttr());
    else {
      auto l = cast<LayerNormOp>(norm);
      rewriter.replaceOpWithNewOp<LayerNormOp>(op, t, l.getInput(), scale,
                                               Value(), l.getEpsilonAttr());
    }
    return success();
  }
};

/// add(layer_norm(x, g), b [d]) -> layer_norm(x, g, b).
struct FoldLayerNormBias : OpRewritePattern<BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BinaryOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getFn() != BinaryKind::add)
      return failure();
    LayerNormOp ln;
    Value b;
    matchEitherOrder(op, [&](Value x, Value y) {
      auto l = def<LayerNormOp>(x);
      if (!l || l.getBias() || !l->hasOneUse() || !isConstant(y) ||
          x.getType() != op.getResult().getType())
        return false;
      ln = l;
      b = y;
      return true;
    });
    if (!ln)
      return failure();
    auto t = rtt(op.getResult());
    Value bias = asVector(rewriter, op.getLoc(), b, t.getShape().back(),
                          t.getElementType());
    if (!bias)
      return rewriter.notifyMatchFailure(op, "bias is not a constant [d]");
    rewriter.replaceOpWithNewOp<LayerNormOp>(
        op, t, ln.getInput(), ln.getScale(), bias, ln.getEpsilonAttr());
    return success();
  }
};

struct RaiseNormsPass : tfc::impl::TfcRaiseNormsBase<RaiseNormsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RmsNormCore, LayerNormCore, FoldNormScale, FoldLayerNormBias>(
        &getContext());
    (void)applyPatternsGreedily(getOperation(), std::move(patterns),
                                raiseConfig());
  }
};

} // namespace
