//===- RaiseUtils.cpp - matcher helpers shared by the raising passes ------===//
#include "RaiseUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::raise;

BinaryOp raise::binaryOf(Value v, BinaryKind k) {
  auto op = def<BinaryOp>(v);
  return op && op.getFn() == k ? op : BinaryOp();
}

UnaryOp raise::unaryOf(Value v, UnaryKind k) {
  auto op = def<UnaryOp>(v);
  return op && op.getFn() == k ? op : UnaryOp();
}

Value raise::stripFloatCasts(Value v) {
  while (auto c = def<CastOp>(v)) {
    auto in = rtt(c.getInput());
    if (!in || !isa<FloatType>(in.getElementType()) ||
        !isa<FloatType>(rtt(c.getResult()).getElementType()))
      break;
    v = c.getInput();
  }
  return v;
}

bool raise::isConstant(Value v) { return v && matchPattern(v, m_Constant()); }

bool raise::isOneElementFloat(Type t) {
  auto tt = dyn_cast<RankedTensorType>(t);
  return tt && tt.hasStaticShape() && tt.getNumElements() == 1 &&
         isa<FloatType>(tt.getElementType());
}

std::optional<double> raise::splatFloat(Value v) {
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  if (!isa<FloatType>(attr.getElementType()) || !attr.isSplat())
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

std::optional<int64_t> raise::scalarInt(Value v) {
  auto t = v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
  DenseElementsAttr attr;
  if (!t || !t.hasStaticShape() || t.getNumElements() != 1 ||
      !isa<IntegerType>(t.getElementType()) ||
      !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  return attr.getSplatValue<APInt>().getSExtValue();
}

std::optional<double> raise::scalarFloat(Value v) {
  if (!v || !isOneElementFloat(v.getType()))
    return std::nullopt;
  return splatFloat(v);
}

bool raise::isScalar(Value v, double expected) {
  std::optional<double> x = scalarFloat(v);
  if (!x)
    return false;
  return std::fabs(*x - expected) <= 1e-5 * std::max(1.0, std::fabs(expected));
}

bool raise::matchEitherOrder(Operation *op,
                             llvm::function_ref<bool(Value, Value)> fn) {
  if (!op || op->getNumOperands() != 2)
    return false;
  return fn(op->getOperand(0), op->getOperand(1)) ||
         fn(op->getOperand(1), op->getOperand(0));
}

static bool flattenInto(Value v, Type rootType, Product &p,
                        unsigned maxLeaves) {
  if (v.getType() == rootType) {
    if (auto mul = binaryOf(v, BinaryKind::mul)) {
      for (Value o : {mul.getLhs(), mul.getRhs()}) {
        if (std::optional<double> c = scalarFloat(o))
          p.scale *= *c;
        else if (!flattenInto(o, rootType, p, maxLeaves))
          return false;
      }
      return true;
    }
    if (auto div = binaryOf(v, BinaryKind::div)) {
      std::optional<double> c = scalarFloat(div.getRhs());
      if (c && *c != 0.0) {
        p.scale /= *c;
        return flattenInto(div.getLhs(), rootType, p, maxLeaves);
      }
    }
    if (auto pow = binaryOf(v, BinaryKind::pow)) {
      std::optional<double> n = scalarFloat(pow.getRhs());
      if (n && *n >= 1 && *n <= 4 && *n == std::floor(*n)) {
        for (int i = 0; i < (int)*n; ++i)
          if (!flattenInto(pow.getLhs(), rootType, p, maxLeaves))
            return false;
        return true;
      }
    }
  }
  if (p.factors.size() >= maxLeaves)
    return false;
  p.factors.push_back(v);
  return true;
}

std::optional<Product> raise::flattenProduct(Value v, unsigned maxLeaves) {
  Product p;
  if (!flattenInto(v, v.getType(), p, maxLeaves))
    return std::nullopt;
  return p;
}

//===----------------------------------------------------------------------===//
// Symbolic dims
//===----------------------------------------------------------------------===//

static DimRef resolveIndex(Value idx, unsigned depth);
static DimRef resolveDimImpl(Value v, int64_t i, unsigned depth);

static DimRef opaque(Value v, int64_t i) {
  DimRef r;
  r.tensor = v;
  r.pos = i;
  return r;
}

static DimRef resolveIndex(Value idx, unsigned depth) {
  DimRef r;
  APInt c;
  if (matchPattern(idx, m_ConstantInt(&c))) {
    r.size = c.getSExtValue();
    return r;
  }
  if (auto dim = def<tensor::DimOp>(idx)) {
    std::optional<int64_t> p = dim.getConstantIndex();
    if (p && rtt(dim.getSource()))
      return resolveDimImpl(dim.getSource(), *p, depth + 1);
  }
  // max(dim, 0) is the dim: sizes are never negative.
  if (auto mx = def<arith::MaxSIOp>(idx)) {
    APInt zero;
    for (int i = 0; i < 2; ++i)
      if (matchPattern(mx->getOperand(1 - i), m_ConstantInt(&zero)) &&
          zero.isZero() && def<tensor::DimOp>(mx->getOperand(i)))
        return resolveIndex(mx->getOperand(i), depth + 1);
  }
  r.index = idx;
  return r;
}

/// Dim `i` of the result of an elementwise op with broadcasting: the first
/// operand whose aligned dim is not a static 1 (dynamic dims are assumed
/// equal, as the dialect's broadcasting rule says).
static DimRef resolveBroadcast(ValueRange operands, int64_t rank, int64_t i,
                               unsigned depth) {
  for (Value o : operands) {
    auto t = rtt(o);
    if (!t)
      continue;
    int64_t j = i - (rank - t.getRank());
    if (j < 0 || t.getDimSize(j) == 1)
      continue;
    return resolveDimImpl(o, j, depth + 1);
  }
  return DimRef();
}

static DimRef resolveDimImpl(Value v, int64_t i, unsigned depth) {
  auto t = rtt(v);
  if (!t || i < 0 || i >= t.getRank())
    return DimRef();
  if (!t.isDynamicDim(i)) {
    DimRef r;
    r.size = t.getDimSize(i);
    return r;
  }
  Operation *op = v.getDefiningOp();
  if (!op || depth > 256)
    return opaque(v, i);
  int64_t rank = t.getRank();
  auto dynOperand = [&](ValueRange dims) -> DimRef {
    int64_t k = t.getDynamicDimIndex(i);
    if (k < (int64_t)dims.size())
      return resolveIndex(dims[k], depth + 1);
    return opaque(v, i);
  };
  if (auto r = dyn_cast<ReshapeOp>(op))
    return dynOperand(r.getDims());
  if (auto e = dyn_cast<ExpandOp>(op))
    return dynOperand(e.getDims());
  if (auto tr = dyn_cast<TransposeOp>(op))
    return resolveDimImpl(tr.getInput(), tr.getPerm()[i], depth + 1);
  if (isa<UnaryOp, CastOp, SoftmaxOp, RotaryOp, RmsNormOp, LayerNormOp>(op))
    return resolveDimImpl(op->getOperand(0), i, depth + 1);
  if (isa<BinaryOp, CmpOp, SelectOp>(op)) {
    DimRef r = resolveBroadcast(op->getOperands(), rank, i, depth);
    return r.isStatic() || r.index || r.tensor ? r : opaque(v, i);
  }
  if (auto mm = dyn_cast<MatmulOp>(op)) {
    auto lt = rtt(mm.getLhs()), rt = rtt(mm.getRhs());
    if (i == rank - 1)
      return resolveDimImpl(mm.getRhs(), rt.getRank() - 1, depth + 1);
    if (i == rank - 2)
      return resolveDimImpl(mm.getLhs(), lt.getRank() - 2, depth + 1);
    // Batch dims broadcast like an elementwise op over the batch prefixes.
    for (Value o : {mm.getLhs(), mm.getRhs()}) {
      auto ot = rtt(o);
      int64_t j = i - (rank - ot.getRank());
      if (j >= 0 && j < ot.getRank() - 2 && ot.getDimSize(j) != 1)
        return resolveDimImpl(o, j, depth + 1);
    }
    return opaque(v, i);
  }
  if (auto lin = dyn_cast<LinearOp>(op)) {
    if (i < rank - 1)
      return resolveDimImpl(lin.getInput(), i, depth + 1);
    return opaque(v, i);
  }
  if (auto g = dyn_cast<GatherOp>(op)) {
    int64_t axis = g.getAxis();
    int64_t ir = rtt(g.getIndices()).getRank();
    if (i < axis)
      return resolveDimImpl(g.getInput(), i, depth + 1);
    if (i < axis + ir)
      return resolveDimImpl(g.getIndices(), i - axis, depth + 1);
    return resolveDimImpl(g.getInput(), i - ir + 1, depth + 1);
  }
  if (auto e = dyn_cast<EmbeddingOp>(op)) {
    if (i < rank - 1)
      return resolveDimImpl(e.getIds(), i, depth + 1);
    return opaque(v, i);
  }
  if (auto a = dyn_cast<AttentionOp>(op)) {
    if (i == 3)
      return resolveDimImpl(a.getValue(), 3, depth + 1);
    return resolveDimImpl(a.getQuery(), i, depth + 1);
  }
  if (auto s = dyn_cast<tensor::ExtractSliceOp>(op)) {
    if (s.getSourceType().getRank() != rank)
      return opaque(v, i);
    OpFoldResult size = s.getMixedSizes()[i];
    if (auto val = dyn_cast<Value>(size))
      return resolveIndex(val, depth + 1);
    return opaque(v, i);
  }
  if (auto c = dyn_cast<tensor::ConcatOp>(op)) {
    if ((int64_t)c.getDim() != i)
      return resolveDimImpl(c.getInputs().front(), i, depth + 1);
    return opaque(v, i);
  }
  return opaque(v, i);
}

DimRef raise::resolveDim(Value v, int64_t i) { return resolveDimImpl(v, i, 0); }

DimRef raise::resolveSize(Value index) { return resolveIndex(index, 0); }

bool raise::sameDim(const DimRef &a, const DimRef &b) {
  if (a.isStatic() || b.isStatic())
    return a.size == b.size;
  if (a.index || b.index)
    return a.index == b.index;
  return a.tensor && a.tensor == b.tensor && a.pos == b.pos;
}

bool raise::sameDim(Value a, int64_t i, Value b, int64_t j) {
  return sameDim(resolveDim(a, i), resolveDim(b, j));
}

Value raise::splatVector(OpBuilder &b, Location loc, Type et, int64_t n,
                         double value) {
  auto type = RankedTensorType::get({n}, et);
  auto attr = DenseElementsAttr::get(type, b.getFloatAttr(et, value));
  return arith::ConstantOp::create(b, loc, type, attr);
}

namespace {
/// A raising pattern replaces a subgraph by one op (attention from a dozen
/// ONNX nodes). The ops that die with the replaced root -- the producers
/// used only by it, transitively, and by nothing the new op still reads --
/// lend their locations (the importer's ONNX node names) to the new op, so
/// the profiler names every node a raised kernel computes
/// (InsertProfiling.cpp). The new op's own location stays first: the first
/// name is still the root's (Quantize's recipes key on it). Stateless, so
/// one instance serves every pass and thread.
struct FuseAbsorbedLocations : RewriterBase::Listener {
  void notifyOperationReplaced(Operation *op, ValueRange values) override {
    Operation *r = values.empty() ? nullptr : values.front().getDefiningOp();
    if (!r || r == op || r->hasTrait<OpTrait::ConstantLike>())
      return;
    constexpr size_t kMaxAbsorbed = 256; // bounds the walk on huge graphs
    llvm::SmallPtrSet<Operation *, 16> dead;
    dead.insert(op);
    SmallVector<Location> locs = {r->getLoc(), op->getLoc()};
    SmallVector<Operation *> work;
    auto producers = [&](Operation *o) {
      for (Value v : o->getOperands())
        if (Operation *d = v.getDefiningOp())
          work.push_back(d);
    };
    producers(op);
    while (!work.empty() && dead.size() < kMaxAbsorbed) {
      Operation *d = work.pop_back_val();
      if (dead.contains(d) || d == r || d->getNumRegions() ||
          d->hasTrait<OpTrait::ConstantLike>() || !isMemoryEffectFree(d) ||
          !llvm::all_of(d->getUsers(),
                        [&](Operation *u) { return dead.contains(u); }))
        continue;
      dead.insert(d);
      locs.push_back(d->getLoc());
      producers(d);
    }
    r->setLoc(FusedLoc::get(r->getContext(), locs));
  }
};
} // namespace

GreedyRewriteConfig raise::raiseConfig() {
  static FuseAbsorbedLocations fuseLocations;
  GreedyRewriteConfig config;
  config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
  config.setUseTopDownTraversal(true);
  config.setListener(&fuseLocations);
  return config;
}
