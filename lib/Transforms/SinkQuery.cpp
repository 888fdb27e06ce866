//===- SinkQuery.cpp - attention sinks at their cache positions -----------===//
//
// tfc-sink-query (dialects/Tfc/TfcPasses.td): every attention with sinks gets
// a `sink_query`, its query rotated at the constant position S + W - 1.
//
//===----------------------------------------------------------------------===//

#include "tfc/Dialect/Tfc/TfcDialect.h"
#include "tfc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"

#include <map>

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCSINKQUERY
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;

namespace {

/// `v` recomputed with every tfc.range in its backward slice replaced by
/// range(pos, 0, same size). Only ops that depend on a range are cloned (at
/// the builder's insertion point); the others are reused, so the result is
/// `v` itself when nothing depends on a range.
Value atPosition(OpBuilder &b, Value v, int64_t pos,
                 DenseMap<Value, Value> &memo) {
  if (auto it = memo.find(v); it != memo.end())
    return it->second;
  Operation *d = v.getDefiningOp();
  Value out = v;
  if (!d || d->getNumRegions()) {
    // A block argument or an op with regions: kept.
  } else if (auto r = dyn_cast<RangeOp>(d)) {
    auto cst = [&](Value like, int64_t x) -> Value {
      auto t = cast<RankedTensorType>(like.getType());
      Type et = t.getElementType();
      Attribute a =
          isa<FloatType>(et)
              ? Attribute(DenseElementsAttr::get(
                    t, b.getFloatAttr(et, static_cast<double>(x))))
              : Attribute(DenseElementsAttr::get(t, b.getIntegerAttr(et, x)));
      return arith::ConstantOp::create(b, r.getLoc(), cast<TypedAttr>(a));
    };
    out = RangeOp::create(b, r.getLoc(), r.getType(), cst(r.getStart(), pos),
                          cst(r.getDelta(), 0), r.getSize())
              .getResult();
  } else {
    IRMapping map;
    bool changed = false;
    for (Value o : d->getOperands()) {
      Value n = atPosition(b, o, pos, memo);
      changed |= n != o;
      map.map(o, n);
    }
    if (changed)
      out = b.clone(*d, map)->getResult(cast<OpResult>(v).getResultNumber());
  }
  memo[v] = out;
  return out;
}

struct SinkQueryPass : tfc::impl::TfcSinkQueryBase<SinkQueryPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp a) {
      if (a.getSinks() > 0 && !a.getSinkQuery())
        ops.push_back(a);
    });
    // One clone of a cos / sin chain per position, shared by the layers
    // (walk order: the first user's clones are placed before it and
    // dominate the later layers of its function).
    std::map<int64_t, DenseMap<Value, Value>> memos;
    // Strict: an error, and the pass stops (true). Else the attention keeps
    // absolute sink positions, with a remark.
    auto refuse = [&](Operation *at, const Twine &why) {
      if (strict) {
        at->emitOpError("tfc-sink-query: ") << why;
        signalPassFailure();
        return true;
      }
      at->emitRemark("tfc-sink-query: sinks keep absolute positions: ") << why;
      return false;
    };
    for (AttentionOp a : ops) {
      auto rot = a.getQuery().getDefiningOp<RotaryOp>();
      if (!rot) {
        if (refuse(a, "the query is not a tfc.rotary (sinks at cache "
                      "positions need the query's rotation)"))
          return;
        continue;
      }
      const int64_t pos = a.getSinks() + a.getWindow() - 1;
      OpBuilder b(a);
      DenseMap<Value, Value> &memo = memos[pos];
      Value cos = atPosition(b, rot.getCos(), pos, memo);
      Value sin = atPosition(b, rot.getSin(), pos, memo);
      if (cos == rot.getCos() && sin == rot.getSin()) {
        if (refuse(rot, "cos / sin do not depend on a tfc.range of positions"))
          return;
        continue;
      }
      auto sq = RotaryOp::create(b, rot.getLoc(), rot.getType(), rot.getInput(),
                                 cos, sin, rot.getStyleAttr());
      a.getSinkQueryMutable().assign(sq.getResult());
    }
  }
};

} // namespace
