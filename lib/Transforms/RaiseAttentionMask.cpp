//===- RaiseAttentionMask.cpp - causal / window terms of attention masks --===//
//
// An i1 attention mask is an AND tree (tfc.binary and, through tfc.expand,
// splat-true constants dropped) of terms. A term comparing a key position j
// with a query position i is recognised when
//   - j is range(0, 1, n) reshaped to [..., 1, n] (varying only along the
//     last dim) and i the same along the second-to-last dim, each possibly
//     plus/minus an integer constant;
//   - n is provably the key length t for j and the query length s for i, and
//     s == t, so the mask's positions are the op's (whose query position is
//     i + t - s);
// and then
//   j <= i (also i >= j, j < i + 1, ...)    -> causal
//   j > i - W (also j >= i - W + 1, ...)    -> window W (i - j < W)
//   i >= c, j >= c with c <= 0              -> always true, dropped.
// Every other term stays in the residual mask (their AND). Sound because
// the op applies mask, causal and window as one conjunction.
// dropTrueMaskTerms drops only the always-true terms and the broadcasts:
// for the condition of a float mask select(c, 0, fill) with a finite fill,
// which must not be split (HF's padding mask for encoders, expanded by the
// exporter to [b, 1, s, t] and AND-ed with `arange(s) >= 0`, becomes the
// [b, 1, 1, t] padding row it is).
//
//===----------------------------------------------------------------------===//
#include "RaiseAttention.h"
#include "RaiseUtils.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::raise;

namespace {

/// A position vector: range(0, 1, size) + offset, laid out along dim
/// `rank - 1 - fromRight` of an otherwise all-ones shape.
struct Position {
  Value size;
  int64_t fromRight = -1;
  int64_t offset = 0;
};

/// The single dim of `t` that is not a static 1 (counted from the right),
/// or -1.
int64_t onlyNonUnitDim(RankedTensorType t) {
  int64_t found = -1;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (t.getDimSize(i) == 1)
      continue;
    if (found >= 0)
      return -1;
    found = t.getRank() - 1 - i;
  }
  return found;
}

std::optional<Position> matchPosition(Value v) {
  Position p;
  // Integer offsets: pos + c, c + pos, pos - c.
  while (auto b = def<BinaryOp>(v)) {
    Value next;
    if (b.getFn() == BinaryKind::add) {
      matchEitherOrder(b, [&](Value a, Value c) {
        std::optional<int64_t> k = scalarInt(c);
        if (!k || a.getType() != v.getType())
          return false;
        p.offset += *k;
        next = a;
        return true;
      });
    } else if (b.getFn() == BinaryKind::sub) {
      std::optional<int64_t> k = scalarInt(b.getRhs());
      if (k && b.getLhs().getType() == v.getType()) {
        p.offset -= *k;
        next = b.getLhs();
      }
    }
    if (!next)
      break;
    v = next;
  }
  auto t = rtt(v);
  if (!t || !isa<IntegerType>(t.getElementType()) || t.getRank() < 1)
    return std::nullopt;
  p.fromRight = onlyNonUnitDim(t);
  if (p.fromRight < 0)
    return std::nullopt;
  // Reshapes between shapes with one non-unit dim keep the element order.
  while (auto r = def<ReshapeOp>(v)) {
    if (onlyNonUnitDim(rtt(r.getInput())) < 0)
      return std::nullopt;
    v = r.getInput();
  }
  auto range = def<RangeOp>(v);
  std::optional<int64_t> start =
      range ? scalarInt(range.getStart()) : std::nullopt;
  std::optional<int64_t> delta =
      range ? scalarInt(range.getDelta()) : std::nullopt;
  if (!start || !delta || *start != 0 || *delta != 1)
    return std::nullopt;
  p.size = range.getSize();
  return p;
}

bool isSplatTrue(Value v) {
  DenseElementsAttr attr;
  return matchPattern(v, m_Constant(&attr)) &&
         attr.getElementType().isInteger(1) && attr.isSplat() &&
         attr.getSplatValue<bool>();
}

/// Mirrors a predicate for swapped operands (a < b <=> b > a).
CmpPredicate swapped(CmpPredicate p) {
  switch (p) {
  case CmpPredicate::lt:
    return CmpPredicate::gt;
  case CmpPredicate::le:
    return CmpPredicate::ge;
  case CmpPredicate::gt:
    return CmpPredicate::lt;
  case CmpPredicate::ge:
    return CmpPredicate::le;
  default:
    return p;
  }
}

enum class TermKind { other, alwaysTrue, causal, window };

struct Term {
  TermKind kind = TermKind::other;
  int64_t window = 0;
};

/// Classifies one AND term. `s` / `t` are the query / key lengths.
Term classify(Value term, const DimRef &s, const DimRef &t) {
  Term r;
  auto cmp = def<CmpOp>(term);
  if (!cmp)
    return r;
  CmpPredicate pred = cmp.getPredicate();
  std::optional<Position> a = matchPosition(cmp.getLhs());
  std::optional<Position> b = matchPosition(cmp.getRhs());
  auto lengthOk = [&](const Position &p) {
    return p.fromRight == 0   ? sameDim(resolveSize(p.size), t)
           : p.fromRight == 1 ? sameDim(resolveSize(p.size), s)
                              : false;
  };
  // pos <pred> c: true for every position in [0, n) when it holds at 0.
  auto constCase = [&](const Position &p, Value c, CmpPredicate pr) {
    std::optional<int64_t> k = scalarInt(c);
    if (!k || !lengthOk(p))
      return false;
    int64_t lo = p.offset; // smallest value of the position
    return (pr == CmpPredicate::ge && lo >= *k) ||
           (pr == CmpPredicate::gt && lo > *k);
  };
  if (a && !b) {
    if (constCase(*a, cmp.getRhs(), pred))
      r.kind = TermKind::alwaysTrue;
    return r;
  }
  if (b && !a) {
    if (constCase(*b, cmp.getLhs(), swapped(pred)))
      r.kind = TermKind::alwaysTrue;
    return r;
  }
  if (!a || !b || !lengthOk(*a) || !lengthOk(*b))
    return r;
  // Normalize to key (j + ka) <pred> query (i + qa).
  if (a->fromRight == 1 && b->fromRight == 0) {
    std::swap(a, b);
    pred = swapped(pred);
  }
  if (a->fromRight != 0 || b->fromRight != 1)
    return r;
  // j <pred> i + c with c = qa - ka.
  int64_t c = b->offset - a->offset;
  switch (pred) {
  case CmpPredicate::le: // j <= i + c
    if (c == 0)
      r.kind = TermKind::causal;
    break;
  case CmpPredicate::lt: // j < i + c
    if (c == 1)
      r.kind = TermKind::causal;
    break;
  case CmpPredicate::gt: // j > i + c  <=>  i - j < -c
    if (-c >= 1) {
      r.kind = TermKind::window;
      r.window = -c;
    }
    break;
  case CmpPredicate::ge: // j >= i + c  <=>  i - j < 1 - c
    if (1 - c >= 1) {
      r.kind = TermKind::window;
      r.window = 1 - c;
    }
    break;
  default:
    break;
  }
  return r;
}

} // namespace

namespace {

/// analyzeBoolMask, or with `onlyTrue` dropTrueMaskTerms (causal and window
/// terms stay in the residual).
MaskInfo splitBoolMask(PatternRewriter &rewriter, Location loc, Value mask,
                       Value query, Value key, bool onlyTrue) {
  MaskInfo unchanged;
  unchanged.mask = mask;
  DimRef s = resolveDim(query, 2), t = resolveDim(key, 2);
  if (!sameDim(s, t))
    return unchanged;

  SmallVector<Value> terms, work = {mask};
  bool stripped = false; // an expand or a splat true dropped
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (auto a = binaryOf(v, BinaryKind::and_)) {
      work.push_back(a.getRhs());
      work.push_back(a.getLhs());
    } else if (auto e = def<ExpandOp>(v)) {
      work.push_back(e.getInput());
      stripped = true;
    } else if (!isSplatTrue(v)) {
      terms.push_back(v);
    } else {
      stripped = true;
    }
  }

  MaskInfo info;
  SmallVector<Value> residual;
  bool changed = onlyTrue && stripped;
  for (Value term : terms) {
    Term c = classify(term, s, t);
    if (onlyTrue && c.kind != TermKind::alwaysTrue)
      c.kind = TermKind::other;
    switch (c.kind) {
    case TermKind::other:
      residual.push_back(term);
      continue;
    case TermKind::alwaysTrue:
      break;
    case TermKind::causal:
      info.causal = true;
      break;
    case TermKind::window:
      info.window = info.window ? std::min(info.window, c.window) : c.window;
      break;
    }
    changed = true;
  }
  if (!changed)
    return unchanged;
  for (Value term : residual) {
    if (!info.mask) {
      info.mask = term;
      continue;
    }
    FailureOr<SmallVector<int64_t>> shape =
        broadcastShapes({rtt(info.mask).getShape(), rtt(term).getShape()});
    if (failed(shape))
      return unchanged;
    auto type = RankedTensorType::get(*shape, rewriter.getI1Type());
    info.mask = BinaryOp::create(rewriter, loc, type, info.mask, term,
                                 BinaryKind::and_);
  }
  return info;
}

} // namespace

MaskInfo raise::analyzeBoolMask(PatternRewriter &rewriter, Location loc,
                                Value mask, Value query, Value key) {
  return splitBoolMask(rewriter, loc, mask, query, key, /*onlyTrue=*/false);
}

Value raise::dropTrueMaskTerms(PatternRewriter &rewriter, Location loc,
                               Value mask, Value query, Value key) {
  return splitBoolMask(rewriter, loc, mask, query, key, /*onlyTrue=*/true)
      .mask;
}
