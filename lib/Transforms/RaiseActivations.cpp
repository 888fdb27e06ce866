//===- RaiseActivations.cpp - SiLU / GELU / gated MLP -> tfc ops ----------===//
//
// Phase 1 (elementwise activations, on products flattened with
// raise::flattenProduct so any association and constant placement match):
//   x * sigmoid(x)                                  -> unary silu
//   0.5 * x * (1 + erf(x / sqrt(2)))                -> unary gelu
//     (x * 0.5 or x / 2; x / 1.4142 or x * 0.7071; 1 + e or e + 1)
//   0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
//                                                   -> unary gelu_tanh
//     (x^3 as pow(x, 3) or x * x * x; also sqrt(2/pi) x (1 + 0.044715 x^2))
// Phase 2 (after phase 1, so the gate's use count is final):
//   linear(act(linear(x, Wg)) * linear(x, Wu), Wd)  -> gated_mlp act
//   with no biases, untransposed weights and single-use intermediates (so no
//   matmul is duplicated).
//
//===----------------------------------------------------------------------===//
#include "RaiseUtils.h"
#include "tfc/Transforms/Passes.h"

#include <cmath>

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCRAISEACTIVATIONS
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::raise;

namespace {

bool approx(double a, double b) {
  return std::fabs(a - b) <= 1e-5 * std::max(1.0, std::fabs(b));
}

/// `v` = 1 + f(...) (either order); returns the other operand.
Value matchOnePlus(Value v) {
  auto add = binaryOf(v, BinaryKind::add);
  Value other;
  if (add && matchEitherOrder(add, [&](Value a, Value b) {
        if (!isScalar(b, 1.0) || a.getType() != v.getType())
          return false;
        other = a;
        return true;
      }))
    return other;
  return Value();
}

/// Matches the root as 0.5 * x * (1 + fn(arg)); sets x and arg.
bool matchHalfXOnePlus(Value root, UnaryKind fn, Value &x, Value &arg) {
  std::optional<Product> p = flattenProduct(root, 2);
  if (!p || p->factors.size() != 2 || !approx(p->scale, 0.5))
    return false;
  for (int i = 0; i < 2; ++i) {
    Value cand = p->factors[i], other = p->factors[1 - i];
    auto u = unaryOf(matchOnePlus(other), fn);
    if (!u || cand.getType() != root.getType())
      continue;
    x = cand;
    arg = u.getInput();
    return true;
  }
  return false;
}

/// True when the product `v` is scale * x^3 (x * x * x or pow(x, 3)).
bool isScaledCube(Value v, Value x, double scale) {
  std::optional<Product> p = flattenProduct(v, 3);
  return p && p->factors.size() == 3 && approx(p->scale, scale) &&
         llvm::all_of(p->factors, [&](Value f) { return f == x; });
}

struct SiluPattern : OpRewritePattern<BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BinaryOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getFn() != BinaryKind::mul)
      return failure();
    Value x;
    matchEitherOrder(op, [&](Value a, Value b) {
      auto s = unaryOf(b, UnaryKind::sigmoid);
      if (!s || s.getInput() != a || a.getType() != op.getResult().getType())
        return false;
      x = a;
      return true;
    });
    if (!x)
      return failure();
    rewriter.replaceOpWithNewOp<UnaryOp>(op, x.getType(), x, UnaryKind::silu);
    return success();
  }
};

struct GeluPattern : OpRewritePattern<BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BinaryOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getFn() != BinaryKind::mul && op.getFn() != BinaryKind::div)
      return failure();
    if (!isa<FloatType>(rtt(op.getResult()).getElementType()))
      return failure();
    Value x, arg;
    if (matchHalfXOnePlus(op.getResult(), UnaryKind::erf, x, arg)) {
      // erf(x / sqrt(2))
      std::optional<Product> p = flattenProduct(arg, 1);
      if (!p || p->factors.size() != 1 || p->factors[0] != x ||
          !approx(p->scale, 1.0 / std::sqrt(2.0)))
        return rewriter.notifyMatchFailure(op, "erf argument is not x/sqrt2");
      rewriter.replaceOpWithNewOp<UnaryOp>(op, x.getType(), x, UnaryKind::gelu);
      return success();
    }
    if (matchHalfXOnePlus(op.getResult(), UnaryKind::tanh, x, arg)) {
      const double k = 0.7978845608028654, c = 0.044715; // sqrt(2/pi)
      std::optional<Product> p = flattenProduct(arg, 2);
      if (!p || !approx(p->scale, k))
        return rewriter.notifyMatchFailure(op, "tanh argument scale");
      bool ok = false;
      if (p->factors.size() == 1) {
        // k * (x + c x^3)
        auto add = binaryOf(p->factors[0], BinaryKind::add);
        ok = add && matchEitherOrder(add, [&](Value a, Value b) {
               return a == x && isScaledCube(b, x, c);
             });
      } else if (p->factors.size() == 2) {
        // k * x * (1 + c x^2)
        for (int i = 0; i < 2 && !ok; ++i) {
          if (p->factors[i] != x)
            continue;
          Value inner = matchOnePlus(p->factors[1 - i]);
          std::optional<Product> q =
              inner ? flattenProduct(inner, 2) : std::nullopt;
          ok = q && q->factors.size() == 2 && approx(q->scale, c) &&
               q->factors[0] == x && q->factors[1] == x;
        }
      }
      if (!ok)
        return rewriter.notifyMatchFailure(op, "not the tanh approximation");
      rewriter.replaceOpWithNewOp<UnaryOp>(op, x.getType(), x,
                                           UnaryKind::gelu_tanh);
      return success();
    }
    return failure();
  }
};

/// linear(act(linear(x, Wg)) * linear(x, Wu), Wd) -> gated_mlp.
struct GatedMlpPattern : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  static bool plainLinear(LinearOp l) {
    return l && !l.getBias() && !l.getTransposeWeight() && l->hasOneUse();
  }

  LogicalResult matchAndRewrite(LinearOp down,
                                PatternRewriter &rewriter) const override {
    if (down.getBias() || down.getTransposeWeight())
      return failure();
    auto h = binaryOf(down.getInput(), BinaryKind::mul);
    if (!h || !h->hasOneUse())
      return failure();
    LinearOp gate, up;
    UnaryKind act;
    matchEitherOrder(h, [&](Value a, Value b) {
      auto u = def<UnaryOp>(a);
      if (!u || !u->hasOneUse() ||
          (u.getFn() != UnaryKind::silu && u.getFn() != UnaryKind::gelu &&
           u.getFn() != UnaryKind::gelu_tanh))
        return false;
      auto g = def<LinearOp>(u.getInput());
      auto p = def<LinearOp>(b);
      if (!plainLinear(g) || !plainLinear(p) || g.getInput() != p.getInput() ||
          g.getWeight().getType() != p.getWeight().getType() ||
          a.getType() != b.getType() || a.getType() != h.getResult().getType())
        return false;
      gate = g;
      up = p;
      act = u.getFn();
      return true;
    });
    if (!gate)
      return rewriter.notifyMatchFailure(down, "not act(x Wg) * (x Wu)");
    rewriter.replaceOpWithNewOp<GatedMlpOp>(
        down, down.getResult().getType(), gate.getInput(), gate.getWeight(),
        up.getWeight(), down.getWeight(), act);
    return success();
  }
};

struct RaiseActivationsPass
    : tfc::impl::TfcRaiseActivationsBase<RaiseActivationsPass> {
  void runOnOperation() override {
    RewritePatternSet acts(&getContext());
    acts.add<SiluPattern, GeluPattern>(&getContext());
    (void)applyPatternsGreedily(getOperation(), std::move(acts), raiseConfig());
    RewritePatternSet mlp(&getContext());
    mlp.add<GatedMlpPattern>(&getContext());
    (void)applyPatternsGreedily(getOperation(), std::move(mlp), raiseConfig());
    remarkUnraisedMlps(getOperation());
  }

  /// A remark (tfc --remarks) for each act(x Wg) * (x Wu) -> linear that
  /// stayed three linears because of biases or transposed weights.
  static void remarkUnraisedMlps(Operation *root) {
    root->walk([](LinearOp down) {
      auto h = binaryOf(down.getInput(), BinaryKind::mul);
      if (!h)
        return;
      LinearOp gate, up;
      matchEitherOrder(h, [&](Value a, Value b) {
        auto u = def<UnaryOp>(a);
        if (!u || (u.getFn() != UnaryKind::silu && u.getFn() != UnaryKind::gelu &&
                   u.getFn() != UnaryKind::gelu_tanh))
          return false;
        auto g = def<LinearOp>(u.getInput());
        auto p = def<LinearOp>(b);
        if (!g || !p || g.getInput() != p.getInput())
          return false;
        gate = g;
        up = p;
        return true;
      });
      if (!gate)
        return;
      bool bias = gate.getBias() || up.getBias() || down.getBias();
      bool transposed = gate.getTransposeWeight() || up.getTransposeWeight() ||
                        down.getTransposeWeight();
      if (bias)
        down.emitRemark() << "gated MLP stays tfc.linear + activation + mul: "
                             "its projections have biases (tfc.gated_mlp has "
                             "no bias operands)";
      else if (transposed)
        down.emitRemark() << "gated MLP stays tfc.linear + activation + mul: "
                             "transposed weights";
      else
        down.emitRemark() << "gated MLP stays tfc.linear + activation + mul: "
                             "an intermediate has other uses";
    });
  }
};

} // namespace
