//===- PartitionPipeline.cpp - tfc-partition=pipeline:N -------------------===//
//
// Cuts the entry's single block between transformer layers (tfc.attention
// ops delimit them) into N stages and gives each stage an entry of its own
// (docs/DESIGN.md, "Pipeline partition"):
//   1. Every op is classified as cheap input-derived (computed from the
//      arguments and small constants by light ops: masks, positions, rotary
//      tables; every stage recomputes those it needs) or not, and gets a cost
//      estimate (FLOPs with dynamic dims assumed b = 1, s = 128).
//   2. Each boundary between layer i and i + 1 gets one candidate cut: the
//      latest position between the two attentions where the fewest non-cheap
//      values are live across it (the residual stream), all f32 tensors.
//   3. A DP over the candidates picks N - 1 cuts minimizing the largest stage
//      cost.
//   4. Stage k is a clone of the entry that receives the values live across
//      cut k - 1 (tfc.recv at its start), keeps its own ops and the cheap ones
//      they use, and sends the values live across cut k (tfc.send before its
//      return); only the last stage returns the model's results.
//
//===----------------------------------------------------------------------===//
#include "Partition.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <limits>

using namespace mlir;
using namespace mlir::tfc;

namespace {

/// A constant with more elements than this is a weight: reading it makes an
/// op part of the layer that owns the weight, never cheap to recompute.
constexpr int64_t kLargeConstant = 16384;
/// Dynamic dims in cost estimates: the first one of a type is taken as the
/// batch, the others as the sequence. Only the ratios between stages matter.
constexpr int64_t kAssumedBatch = 1;
constexpr int64_t kAssumedSeq = 128;

SmallVector<double> assumedShape(Type t) {
  SmallVector<double> shape;
  auto st = dyn_cast<ShapedType>(t);
  if (!st || !st.hasRank())
    return shape;
  bool first = true;
  for (int64_t d : st.getShape()) {
    if (!ShapedType::isDynamic(d)) {
      shape.push_back(d);
      continue;
    }
    shape.push_back(first ? kAssumedBatch : kAssumedSeq);
    first = false;
  }
  return shape;
}

double assumedNumel(Type t) {
  double n = 1;
  for (double d : assumedShape(t))
    n *= d;
  return n;
}

double lastDim(Value v) {
  SmallVector<double> s = assumedShape(v.getType());
  return s.empty() ? 1 : s.back();
}

bool isConstant(Value v) {
  Operation *def = v.getDefiningOp();
  return def && def->hasTrait<OpTrait::ConstantLike>();
}

bool isLargeConstant(Value v) {
  auto st = dyn_cast<ShapedType>(v.getType());
  return isConstant(v) && st && st.hasStaticShape() &&
         st.getNumElements() > kLargeConstant;
}

/// Ops whose recomputation costs real work or reads a weight. A matmul with
/// a small constant operand (the rotary inverse frequencies times the
/// positions) is a table computation, not a layer.
bool isHeavy(Operation *op) {
  if (isa<LinearOp, EmbeddingOp, AttentionOp, GatedMlpOp>(op))
    return true;
  if (auto mm = dyn_cast<MatmulOp>(op))
    if (!isConstant(mm.getLhs()) && !isConstant(mm.getRhs()))
      return true;
  return llvm::any_of(op->getOperands(), isLargeConstant);
}

/// FLOPs, roughly: matrix products count 2 per multiply-add, everything
/// else one per result element.
double estimateCost(Operation *op) {
  if (auto l = dyn_cast<LinearOp>(op))
    return 2 * assumedNumel(l.getType()) * lastDim(l.getInput());
  if (auto m = dyn_cast<MatmulOp>(op))
    return 2 * assumedNumel(m.getType()) * lastDim(m.getLhs());
  if (auto g = dyn_cast<GatedMlpOp>(op)) {
    double rows = assumedNumel(g.getInput().getType()) / lastDim(g.getInput());
    return 2 * rows *
           (assumedNumel(g.getWGate().getType()) +
            assumedNumel(g.getWUp().getType()) +
            assumedNumel(g.getWDown().getType()));
  }
  if (auto a = dyn_cast<AttentionOp>(op)) {
    // [b, hq, s, d] x [b, hkv, t, d]: scores and weighted sum.
    SmallVector<double> k = assumedShape(a.getKey().getType());
    double t = k.size() >= 2 ? k[k.size() - 2] : 1;
    return 4 * assumedNumel(a.getQuery().getType()) * t;
  }
  double n = 0;
  for (Type t : op->getResultTypes())
    n += assumedNumel(t);
  return n;
}

bool isSendable(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.getElementType().isF32();
}

/// The entry's block as a numbered op list with what the cut search needs.
struct Graph {
  SmallVector<Operation *> ops; // block order, terminator excluded
  SmallVector<bool> cheap;
  SmallVector<double> prefixCost; // prefixCost[i] = cost of ops[0, i)
  SmallVector<unsigned> layers;   // indices of the tfc.attention ops
  /// Non-cheap values with uses, and the op index of their last use (the
  /// terminator's index is ops.size()).
  SmallVector<std::pair<Value, unsigned>> lastUse;
  DenseMap<Operation *, unsigned> index;

  explicit Graph(Block &block) {
    for (Operation &op : block.without_terminator()) {
      index[&op] = ops.size();
      ops.push_back(&op);
    }
    index[block.getTerminator()] = ops.size();
    cheap.resize(ops.size());
    prefixCost.push_back(0);
    for (auto [i, op] : llvm::enumerate(ops)) {
      cheap[i] =
          op->hasTrait<OpTrait::ConstantLike>() ||
          (!isHeavy(op) && op->getNumRegions() == 0 && isMemoryEffectFree(op) &&
           llvm::all_of(op->getOperands(), [&](Value v) {
             Operation *def = v.getDefiningOp();
             return !def || (index.count(def) && cheap[index.lookup(def)]);
           }));
      prefixCost.push_back(prefixCost.back() +
                           (cheap[i] ? 0.0 : estimateCost(op)));
      if (isa<AttentionOp>(op))
        layers.push_back(i);
      if (cheap[i])
        continue;
      for (Value r : op->getResults()) {
        unsigned last = 0;
        for (Operation *user : r.getUsers())
          if (Operation *a = block.findAncestorOpInBlock(*user))
            last = std::max(last, index.lookup(a));
        if (last > i)
          lastUse.push_back({r, last});
      }
    }
  }

  unsigned defIndex(Value v) const { return index.lookup(v.getDefiningOp()); }

  /// Non-cheap values defined before op `p` and used at or after it.
  SmallVector<Value> liveAcross(unsigned p) const {
    SmallVector<Value> live;
    for (auto [v, last] : lastUse)
      if (defIndex(v) < p && p <= last)
        live.push_back(v);
    return live;
  }
};

/// One candidate cut per layer boundary: the position (cut before ops[pos])
/// or, when none works, the value that prevents it.
struct Boundary {
  std::optional<unsigned> pos;
  Value blocker;
};

Boundary findCut(const Graph &g, unsigned from, unsigned to) {
  // Count the live values and the unsendable ones at every position in
  // (from, to] with difference arrays.
  unsigned n = to - from;
  SmallVector<int> count(n + 1, 0), bad(n + 1, 0);
  auto addRange = [&](SmallVector<int> &a, unsigned lo, unsigned hi) {
    // positions p in [lo, hi] clipped to (from, to]
    lo = std::max(lo, from + 1);
    hi = std::min(hi, to);
    if (lo > hi)
      return;
    a[lo - from - 1] += 1;
    a[hi - from] -= 1;
  };
  for (auto [v, last] : g.lastUse) {
    addRange(count, g.defIndex(v) + 1, last);
    if (!isSendable(v))
      addRange(bad, g.defIndex(v) + 1, last);
  }
  Boundary b;
  int best = std::numeric_limits<int>::max(), c = 0, nb = 0;
  for (unsigned i = 0; i < n; ++i) {
    c += count[i];
    nb += bad[i];
    if (nb == 0 && c <= best) {
      best = c;
      b.pos = from + 1 + i;
    }
  }
  if (!b.pos) // report an unsendable value live across the layer end
    for (Value v : g.liveAcross(to))
      if (!isSendable(v)) {
        b.blocker = v;
        break;
      }
  return b;
}

/// Picks `parts - 1` of the candidate positions minimizing the largest stage
/// cost (DP over candidates in order).
SmallVector<unsigned> balance(const Graph &g, ArrayRef<unsigned> cand,
                              int64_t parts) {
  // Point 0 is the block start; point i > 0 is cand[i - 1].
  unsigned m = cand.size() + 1;
  auto at = [&](unsigned i) { return i == 0 ? 0u : cand[i - 1]; };
  auto cost = [&](unsigned i, unsigned j) {
    return g.prefixCost[at(j)] - g.prefixCost[at(i)];
  };
  double inf = std::numeric_limits<double>::infinity();
  // best[j][i]: the best largest cost of j stages ending at point i.
  SmallVector<SmallVector<double>> best(parts, SmallVector<double>(m, inf));
  SmallVector<SmallVector<unsigned>> from(parts, SmallVector<unsigned>(m, 0));
  best[0][0] = 0;
  for (int64_t j = 1; j < parts; ++j)
    for (unsigned i = 1; i < m; ++i)
      for (unsigned k = 0; k < i; ++k) {
        double c = std::max(best[j - 1][k], cost(k, i));
        if (c < best[j][i]) {
          best[j][i] = c;
          from[j][i] = k;
        }
      }
  double total = g.prefixCost.back();
  unsigned last = 0;
  double bestMax = inf;
  for (unsigned i = 1; i < m; ++i) {
    double c = std::max(best[parts - 1][i], total - g.prefixCost[at(i)]);
    if (c < bestMax) {
      bestMax = c;
      last = i;
    }
  }
  SmallVector<unsigned> cuts;
  for (int64_t j = parts - 1; j > 0; --j) {
    cuts.push_back(at(last));
    last = from[j][last];
  }
  std::reverse(cuts.begin(), cuts.end());
  return cuts;
}

/// Builds stage `k` covering ops [cuts[k-1], cuts[k]) of `main`.
LogicalResult buildStage(func::FuncOp main, const Graph &g,
                         ArrayRef<unsigned> cuts,
                         ArrayRef<SmallVector<Value>> crossing,
                         ArrayRef<int64_t> firstLayer, int64_t k) {
  int64_t parts = cuts.size() + 1;
  bool lastStage = k == parts - 1;
  unsigned begin = k == 0 ? 0 : cuts[k - 1];
  unsigned end = lastStage ? g.ops.size() : cuts[k];
  func::FuncOp f = partition::clonePart(main, k);
  Block &block = f.front();

  // The clone's ops, numbered like g.ops.
  SmallVector<Operation *> ops;
  for (Operation &op : block.without_terminator())
    ops.push_back(&op);
  IRMapping map;
  for (auto [orig, copy] : llvm::zip_equal(g.ops, ops))
    map.map(orig->getResults(), copy->getResults());

  OpBuilder b(f.getContext());
  if (k > 0) {
    b.setInsertionPointToStart(&block);
    for (auto [tag, v] : llvm::enumerate(crossing[k - 1])) {
      Value copy = map.lookup(v);
      auto recv = RecvOp::create(b, v.getLoc(), v.getType(), k - 1, tag);
      copy.replaceAllUsesWith(recv.getResult());
      map.map(v, recv.getResult());
    }
  }
  auto ret = cast<func::ReturnOp>(block.getTerminator());
  b.setInsertionPoint(ret);
  if (!lastStage) {
    for (auto [tag, v] : llvm::enumerate(crossing[k]))
      SendOp::create(b, v.getLoc(), map.lookup(v), k + 1, tag);
    func::ReturnOp::create(b, ret.getLoc());
    ret.erase();
    f.setFunctionType(
        FunctionType::get(f.getContext(), f.getArgumentTypes(), {}));
    f.removeResAttrsAttr();
  }

  // Drop the later stages' ops and the earlier stages' non-cheap ones (their
  // values that this stage needs now come from the recvs), latest first so
  // that users go before their operands.
  for (unsigned i = ops.size(); i-- > 0;) {
    if (i >= begin && i < end)
      continue;
    if (i < begin && g.cheap[i])
      continue;
    if (!ops[i]->use_empty())
      return ops[i]->emitError("tfc-partition: internal error: op of another "
                               "stage still used in stage ")
             << k;
    ops[i]->erase();
  }
  // Recomputed cheap ops and constants this stage does not use.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(block)))
    if (isOpTriviallyDead(&op))
      op.erase();

  f->setAttr("tfc.stage_layers",
             b.getDenseI64ArrayAttr({firstLayer[k], firstLayer[k + 1]}));
  return success();
}

} // namespace

LogicalResult partition::partitionPipeline(func::FuncOp main, int64_t parts) {
  if (!main.getBody().hasOneBlock())
    return main.emitError("tfc-partition: pipeline needs a single-block entry");
  Graph g(main.front());
  int64_t numLayers = g.layers.size();
  if (numLayers == 0)
    return main.emitError("tfc-partition: pipeline:")
           << parts
           << " cuts between tfc.attention layers, and the entry has none "
              "(run the raising passes first)";
  if (numLayers < parts)
    return main.emitError("tfc-partition: pipeline:")
           << parts << " needs at least " << parts << " layers, the model has "
           << numLayers;

  // One candidate per boundary between layers i and i + 1.
  SmallVector<unsigned> cand;
  SmallVector<int64_t> candLayer; // the first layer after the cut
  SmallVector<std::pair<int64_t, Value>> blocked;
  for (int64_t i = 0; i + 1 < numLayers; ++i) {
    Boundary bd = findCut(g, g.layers[i], g.layers[i + 1]);
    if (bd.pos) {
      cand.push_back(*bd.pos);
      candLayer.push_back(i + 1);
    } else {
      blocked.push_back({i, bd.blocker});
    }
  }
  if ((int64_t)cand.size() < parts - 1) {
    InFlightDiagnostic d = main.emitError("tfc-partition: pipeline:")
                           << parts << " needs " << parts - 1
                           << " layer boundaries that can be cut, found "
                           << cand.size() << " of " << numLayers - 1;
    for (auto [layer, v] : blocked) {
      if (!v)
        continue;
      d.attachNote(v.getLoc())
          << "this value of type " << v.getType()
          << " crosses the cut between layers " << layer << " and " << layer + 1
          << "; only f32 tensors can be sent";
    }
    return d;
  }

  SmallVector<unsigned> cuts = balance(g, cand, parts);
  SmallVector<int64_t> firstLayer = {0};
  for (unsigned c : cuts)
    firstLayer.push_back(candLayer[llvm::find(cand, c) - cand.begin()]);
  firstLayer.push_back(numLayers);
  SmallVector<SmallVector<Value>> crossing;
  for (unsigned c : cuts)
    crossing.push_back(g.liveAcross(c));

  for (int64_t k = 0; k < parts; ++k)
    if (failed(buildStage(main, g, cuts, crossing, firstLayer, k)))
      return failure();
  main.erase();
  return success();
}
