//===- RaiseAttention.cpp - scaled dot-product subgraphs -> tfc.attention -===//
//
// Root: matmul(P, V) with rank-4 operands. Walking up from P:
//   P = select(isnan(S), 0, S)          optional NaN guard (sdpa exports)
//   S = softmax(L, axis 3)
//   L = A + M | M + A                   float mask M; M = select(c, 0, -inf)
//                                       becomes the i1 mask c
//     | (A + B) + M                     float bias B and mask M (MPNet's
//                                       relative position bias): mask B + M
//     | select(c, A, -inf)              i1 mask c
//     | A
//   A = Z * c | c * Z | Z / c ...       scalar scales, multiplied together
//   Z = matmul(Q', K')
//   Q' = q * c ...                      (sqrt of the scale on q and on k^T)
//   K' = kT * c ...
//   kT = transpose(x, p)                k = transpose(x, p with its last two
//                                       entries swapped), materialized unless
//                                       it is the identity
//      | reshape(transpose(reshape(k) [B*H, t, d], [0, 2, 1]), [B, H, d, t])
// and key / value heads repeated for GQA as
//   reshape(expand(reshape(kv [b, hkv, t, d] -> [b, hkv, 1, t, d])
//          -> [b, hkv, g, t, d]) -> [b, hkv*g, t, d])
// fold back to kv (the op's head mapping i -> i / g is that layout).
// Dims are compared symbolically (raise::sameDim); anything unproven is
// left alone. With an i1 mask, RaiseAttentionMask.cpp may further recognise
// causal / sliding-window terms.
//
// Note: without a NaN guard, a row whose scores are all -inf gives NaN in
// the source graph and 0 in tfc.attention; every other row is unchanged.
//
//===----------------------------------------------------------------------===//
#include "RaiseAttention.h"
#include "RaiseUtils.h"
#include "tfc/Transforms/Passes.h"

#include <cmath>

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCRAISEATTENTION
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::raise;

namespace {

bool isNegInfScalar(Value v) {
  std::optional<double> x = scalarFloat(v);
  return x && std::isinf(*x) && *x < 0;
}

/// Strips scalar multiplications / divisions that keep the type of `v`,
/// folding them into `scale`.
Value stripScale(Value v, double &scale) {
  while (true) {
    Value next;
    double c = 1;
    if (auto mul = binaryOf(v, BinaryKind::mul)) {
      matchEitherOrder(mul, [&](Value a, Value b) {
        std::optional<double> s = scalarFloat(b);
        if (!s || a.getType() != v.getType())
          return false;
        next = a;
        c = *s;
        return true;
      });
    } else if (auto div = binaryOf(v, BinaryKind::div)) {
      std::optional<double> s = scalarFloat(div.getRhs());
      if (s && *s != 0 && div.getLhs().getType() == v.getType()) {
        next = div.getLhs();
        c = 1.0 / *s;
      }
    }
    if (!next)
      return v;
    scale *= c;
    v = next;
  }
}

/// k such that `kt` = k with its last two dims swapped. Either an existing
/// value (`value`) or a transpose of `source` by `perm` to materialize.
struct Untransposed {
  Value value;
  Value source;
  SmallVector<int64_t, 4> perm;
};

std::optional<Untransposed> untranspose(Value kt) {
  auto t = rtt(kt);
  if (!t || t.getRank() != 4)
    return std::nullopt;
  if (auto tr = def<TransposeOp>(kt)) {
    ArrayRef<int64_t> p = tr.getPerm();
    Untransposed u;
    u.perm = {p[0], p[1], p[3], p[2]};
    if (llvm::equal(u.perm, llvm::seq<int64_t>(0, 4)))
      u.value = tr.getInput();
    else
      u.source = tr.getInput();
    return u;
  }
  // reshape(transpose(reshape(k [B, H, t, d] -> [X, t, d]), [0, 2, 1])
  //         -> [B, H, d, t]): the trailing dims match, so the reshapes only
  // collapse and re-split the leading B*H (element counts force X = B*H).
  auto r2 = def<ReshapeOp>(kt);
  auto tr = r2 ? def<TransposeOp>(r2.getInput()) : TransposeOp();
  auto r1 = tr ? def<ReshapeOp>(tr.getInput()) : ReshapeOp();
  if (!r1 || tr.getPerm() != ArrayRef<int64_t>{0, 2, 1})
    return std::nullopt;
  Value k = r1.getInput();
  if (rtt(k).getRank() != 4 || rtt(r1.getResult()).getRank() != 3)
    return std::nullopt;
  Value r1v = r1.getResult(), trv = tr.getResult();
  if (!sameDim(r1v, 1, k, 2) || !sameDim(r1v, 2, k, 3) ||
      !sameDim(kt, 2, trv, 1) || !sameDim(kt, 3, trv, 2) ||
      !sameDim(kt, 1, k, 1))
    return std::nullopt;
  Untransposed u;
  u.value = k;
  return u;
}

/// Undoes the GQA repeat of `v` [b, hkv*g, t, d]; returns kv and g, or
/// `v` itself and 1.
Value unrepeatKv(Value v, int64_t &group) {
  group = 1;
  auto r2 = def<ReshapeOp>(v);
  auto ex = r2 ? def<ExpandOp>(r2.getInput()) : ExpandOp();
  auto r1 = ex ? def<ReshapeOp>(ex.getInput()) : ReshapeOp();
  if (!r1)
    return v;
  Value kv = r1.getInput(), u = r1.getResult(), e = ex.getResult();
  auto kvt = rtt(kv), ut = rtt(u), et = rtt(e);
  if (kvt.getRank() != 4 || ut.getRank() != 5 || et.getRank() != 5)
    return v;
  // [b, hkv, t, d] -> [b, hkv, 1, t, d]
  if (ut.getDimSize(2) != 1 || !sameDim(u, 0, kv, 0) || !sameDim(u, 1, kv, 1) ||
      !sameDim(u, 3, kv, 2) || !sameDim(u, 4, kv, 3))
    return v;
  // -> [b, hkv, g, t, d]
  for (int64_t i : {0, 1, 3, 4})
    if (!sameDim(e, i, u, i))
      return v;
  int64_t g = et.getDimSize(2), hkv = kvt.getDimSize(1);
  if (ShapedType::isDynamic(g) || ShapedType::isDynamic(hkv))
    return v;
  // -> [b, hkv * g, t, d]
  if (rtt(v).getDimSize(1) != hkv * g || !sameDim(v, 0, e, 0) ||
      !sameDim(v, 2, e, 3) || !sameDim(v, 3, e, 4))
    return v;
  group = g;
  return kv;
}

/// Batch dims of two matmul operands that the op takes as equal: both
/// static and equal, or both dynamic (assumed equal by the dialect).
bool batchDimsAgree(Value a, Value b) {
  auto at = rtt(a), bt = rtt(b);
  for (int64_t i = 0; i < 2; ++i) {
    int64_t x = at.getDimSize(i), y = bt.getDimSize(i);
    if (ShapedType::isDynamic(x) != ShapedType::isDynamic(y))
      return false;
    if (!ShapedType::isDynamic(x) && x != y)
      return false;
  }
  return true;
}

/// The ONNX broadcast of two ranked types (a static 1 gives way; two
/// dynamic dims stay dynamic).
RankedTensorType broadcastType(RankedTensorType a, RankedTensorType b) {
  int64_t r = std::max(a.getRank(), b.getRank());
  SmallVector<int64_t> shape(r, 1);
  for (int64_t i = 0; i < r; ++i) {
    int64_t x = i < a.getRank() ? a.getDimSize(a.getRank() - 1 - i) : 1;
    int64_t y = i < b.getRank() ? b.getDimSize(b.getRank() - 1 - i) : 1;
    int64_t d = x == 1 ? y : (y == 1 ? x : (ShapedType::isDynamic(x) ? y : x));
    shape[r - 1 - i] = d;
  }
  return RankedTensorType::get(shape, a.getElementType());
}

struct AttentionPattern : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp pv,
                                PatternRewriter &rewriter) const override {
    Value p = pv.getLhs(), vExp = pv.getRhs();
    if (rtt(p).getRank() != 4 || rtt(vExp).getRank() != 4)
      return failure();
    // Optional NaN guard: select(isnan(S), 0, S).
    if (auto sel = def<SelectOp>(p)) {
      auto nan = unaryOf(sel.getCond(), UnaryKind::isnan);
      std::optional<double> zero = scalarFloat(sel.getLhs());
      if (nan && nan.getInput() == sel.getRhs() && zero && *zero == 0.0 &&
          sel.getRhs().getType() == p.getType())
        p = sel.getRhs();
    }
    auto softmax = def<SoftmaxOp>(p);
    if (!softmax || softmax.getAxis() != 3)
      return rewriter.notifyMatchFailure(pv, "no softmax on the last axis");
    Value logits = softmax.getInput();

    // Mask.
    Value scores, mask;
    double scale = 1.0;
    Value q, kT;
    auto matchScores = [&](Value a) {
      double s = 1.0;
      auto mm = def<MatmulOp>(stripScale(a, s));
      if (!mm || a.getType() != logits.getType())
        return false;
      Value qq = stripScale(mm.getLhs(), s);
      Value kk = stripScale(mm.getRhs(), s);
      if (rtt(qq).getRank() != 4 || rtt(kk).getRank() != 4)
        return false;
      scores = a;
      scale = s;
      q = qq;
      kT = kk;
      return true;
    };
    auto maskOk = [&](Value m) {
      auto t = rtt(m);
      return t && t.getRank() <= 4 &&
             (t.getElementType().isInteger(1) ||
              t.getElementType() == rtt(logits).getElementType());
    };
    if (auto add = binaryOf(logits, BinaryKind::add)) {
      matchEitherOrder(add, [&](Value a, Value m) {
        if (!maskOk(m) || !matchScores(a))
          return false;
        mask = m;
        return true;
      });
      // (scores + bias) + mask, bias a float position bias (MPNet, T5-style
      // relative attention): one float mask bias + mask.
      Value bias, outer;
      if (!mask)
        matchEitherOrder(add, [&](Value inner, Value m2) {
          auto in = binaryOf(inner, BinaryKind::add);
          if (!in || !inner.hasOneUse() || !maskOk(m2) ||
              rtt(m2).getElementType().isInteger(1))
            return false;
          return matchEitherOrder(in, [&](Value a, Value m1) {
            if (!maskOk(m1) || rtt(m1).getElementType().isInteger(1) ||
                !matchScores(a))
              return false;
            bias = m1;
            outer = m2;
            return true;
          });
        });
      if (bias) {
        RankedTensorType bt = broadcastType(rtt(bias), rtt(outer));
        mask = BinaryOp::create(
            rewriter, pv.getLoc(), bt, bias, outer,
            BinaryKindAttr::get(rewriter.getContext(), BinaryKind::add));
      }
      if (!mask)
        return rewriter.notifyMatchFailure(pv, "add is not scores + mask");
      // select(c, 0, -inf) added is the i1 mask c.
      if (auto sel = def<SelectOp>(mask)) {
        std::optional<double> zero = scalarFloat(sel.getLhs());
        if (zero && *zero == 0.0 && isNegInfScalar(sel.getRhs()) &&
            maskOk(sel.getCond()))
          mask = sel.getCond();
      }
    } else if (auto sel = def<SelectOp>(logits)) {
      if (!isNegInfScalar(sel.getRhs()) || !maskOk(sel.getCond()) ||
          !matchScores(sel.getLhs()))
        return rewriter.notifyMatchFailure(pv, "select is not a mask");
      mask = sel.getCond();
    } else if (!matchScores(logits)) {
      return rewriter.notifyMatchFailure(pv, "no q k^T");
    }

    // Keys and values.
    std::optional<Untransposed> kx = untranspose(kT);
    if (!kx)
      return rewriter.notifyMatchFailure(pv, "k^T is not a transpose of k");
    int64_t gk = 1, gv = 1;
    Value kExp = kx->value, k, v = unrepeatKv(vExp, gv);
    if (kExp)
      k = unrepeatKv(kExp, gk);
    if (gk != gv) {
      // Only one side repeated: use both as they are (still exact).
      k = kExp;
      v = vExp;
      gk = gv = 1;
    }
    if (!batchDimsAgree(q, kT) || !batchDimsAgree(p, vExp))
      return rewriter.notifyMatchFailure(pv, "batch dims broadcast");
    auto qt = rtt(q);
    if (qt.getElementType() != rtt(vExp).getElementType() ||
        !isa<FloatType>(qt.getElementType()))
      return failure();

    Location loc = pv.getLoc();
    if (!k) {
      auto st = rtt(kx->source);
      SmallVector<int64_t> shape;
      for (int64_t i : kx->perm)
        shape.push_back(st.getDimSize(i));
      k = TransposeOp::create(rewriter, loc,
                              RankedTensorType::get(shape, st.getElementType()),
                              kx->source, kx->perm);
    }
    MaskInfo info;
    if (mask && rtt(mask).getElementType().isInteger(1)) {
      info = analyzeBoolMask(rewriter, loc, mask, q, k);
    } else {
      info.mask = mask;
      // A float mask select(c, a, b) of scalars: c without its always-true
      // terms and broadcasts (exact: the op broadcasts its mask), so an
      // exporter's [b, 1, s, t] expansion of a padding row stays the row
      // [b, 1, 1, t] (the GPU kernels stage one shared row per key tile).
      auto sel = mask ? def<SelectOp>(mask) : SelectOp();
      if (sel && rtt(sel.getCond()).getElementType().isInteger(1) &&
          rtt(sel.getLhs()).hasStaticShape() &&
          rtt(sel.getRhs()).hasStaticShape() &&
          rtt(sel.getLhs()).getNumElements() == 1 &&
          rtt(sel.getRhs()).getNumElements() == 1) {
        Value c = dropTrueMaskTerms(rewriter, loc, sel.getCond(), q, k);
        if (!c) {
          // Always true: every score gets the same lhs, which softmax
          // ignores; a finite one keeps the mask (an infinite one would
          // make every row NaN in the source: keep it as it is).
          std::optional<double> a = scalarFloat(sel.getLhs());
          if (a && *a == 0.0)
            info.mask = Value();
        } else if (c != sel.getCond() &&
                   rtt(c).getRank() == rtt(mask).getRank()) {
          info.mask = SelectOp::create(
              rewriter, loc,
              RankedTensorType::get(rtt(c).getShape(),
                                    rtt(mask).getElementType()),
              c, sel.getLhs(), sel.getRhs());
        }
      }
    }
    rewriter.replaceOpWithNewOp<AttentionOp>(
        pv, pv.getResult().getType(), q, k, v, info.mask, Value(),
        rewriter.getF64FloatAttr(scale), rewriter.getBoolAttr(info.causal),
        rewriter.getI64IntegerAttr(info.window), rewriter.getI64IntegerAttr(0),
        rewriter.getI64IntegerAttr(0), DenseIntElementsAttr(),
        rewriter.getI64IntegerAttr(0));
    return success();
  }
};

struct RaiseAttentionPass
    : tfc::impl::TfcRaiseAttentionBase<RaiseAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<AttentionPattern>(&getContext());
    (void)applyPatternsGreedily(getOperation(), std::move(patterns),
                                raiseConfig());
    remarkUnraised(getOperation());
  }

  /// A remark (tfc --remarks) for each attention-shaped softmax -- rank 4,
  /// last axis, feeding a matmul -- that stayed generic, saying why.
  static void remarkUnraised(Operation *root) {
    root->walk([](SoftmaxOp sm) {
      auto t = rtt(sm.getResult());
      if (t.getRank() != 4 || sm.getAxis() != 3)
        return;
      bool feedsMatmul = llvm::any_of(sm->getUsers(), [](Operation *u) {
        if (isa<MatmulOp>(u))
          return true;
        return isa<SelectOp>(u) && llvm::any_of(u->getUsers(), [](Operation *w) {
                 return isa<MatmulOp>(w);
               });
      });
      if (!feedsMatmul)
        return;
      // Walk back from the logits through elementwise ops to q k^T.
      bool softcap = false, scores = false;
      SmallVector<Value> work = {sm.getInput()};
      for (int steps = 0; !work.empty() && steps < 16; ++steps) {
        Value v = work.pop_back_val();
        Operation *d = v.getDefiningOp();
        if (!d)
          continue;
        if (isa<MatmulOp>(d)) {
          scores = true;
          continue;
        }
        if (auto u = dyn_cast<UnaryOp>(d); u && u.getFn() == UnaryKind::tanh)
          softcap = true;
        if (isa<UnaryOp, BinaryOp, SelectOp, CastOp>(d))
          for (Value o : d->getOperands())
            if (auto ot = dyn_cast<RankedTensorType>(o.getType());
                ot && ot.getRank() == 4)
              work.push_back(o);
      }
      if (!scores)
        return;
      if (softcap)
        sm.emitRemark()
            << "attention stays generic: logit soft-capping (tanh(s/c)*c "
               "between q*k^T and the softmax); tfc.attention has no soft-cap";
      else
        sm.emitRemark()
            << "attention stays generic: the ops between q*k^T and the "
               "softmax are not a scale, a mask or a position bias";
    });
  }
};

} // namespace
