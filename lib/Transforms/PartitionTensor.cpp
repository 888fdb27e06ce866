//===- PartitionTensor.cpp - tfc-partition=tensor:N ---------------------===//
//
// Megatron-style tensor parallelism (docs/DESIGN.md, "Tensor partition").
// The entry is matched once (that is where diagnostics come from), then every
// rank's copy (Partition.h, clonePart) is matched again and rewritten in
// place for its rank:
//   - attention blocks by heads (KV heads for GQA): q/k/v projections sliced
//     by output columns, the reshape/transpose/rotary ops between them and
//     the attention retyped to the rank's head count, o_proj sliced by input
//     rows, then tfc.all_reduce and o_proj's bias;
//   - tfc.gated_mlp and linear -> activation -> linear MLPs by the hidden
//     size (columns, then rows, then tfc.all_reduce and the down bias);
//   - the token embedding by vocabulary rows (masked lookup, all_reduce);
//   - a returned tfc.linear (the LM head) by output features, then
//     tfc.all_gather along the last axis.
// Everything else is replicated. Weight shards are new constants sliced at
// compile time; replicated weights keep the original constants.
//
//===----------------------------------------------------------------------===//
#include "Partition.h"
#include "RaiseUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/SetVector.h"

#include <map>

using namespace mlir;
using namespace mlir::tfc;
using raise::def;
using raise::rtt;

namespace {

/// [start, length) along one axis of a weight.
using Piece = std::pair<int64_t, int64_t>;

/// Part `r` of `n` split into `parts` contiguous pieces, the first n % parts
/// pieces one larger (9 over 4 -> 3, 2, 2, 2).
Piece evenSplit(int64_t n, int64_t parts, int64_t r) {
  int64_t base = n / parts, extra = n % parts;
  return {r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
}

SmallVector<int64_t> splitSizes(int64_t n, int64_t parts) {
  SmallVector<int64_t> sizes;
  for (int64_t r = 0; r < parts; ++r)
    sizes.push_back(evenSplit(n, parts, r).second);
  return sizes;
}

RankedTensorType withDim(Type t, int64_t axis, int64_t size) {
  auto tt = cast<RankedTensorType>(t);
  SmallVector<int64_t> shape(tt.getShape());
  shape[axis < 0 ? shape.size() + axis : axis] = size;
  return tt.clone(shape);
}

void setDim(Value v, int64_t axis, int64_t size) {
  v.setType(withDim(v.getType(), axis, size));
}

/// True when `v` is an arith.constant whose data this file can slice: dense
/// or resource elements with a static shape and whole-byte elements. A
/// resource without data (printed IR with elided resources) gives shards
/// without data: the IR is still right, and still has no weights.
bool isSliceable(Value v) {
  auto c = def<arith::ConstantOp>(v);
  if (!c)
    return false;
  auto type = dyn_cast<RankedTensorType>(c.getType());
  if (!type || !type.hasStaticShape())
    return false;
  Type et = type.getElementType();
  if (!et.isIntOrFloat() || et.getIntOrFloatBitWidth() % 8 != 0)
    return false;
  return isa<DenseResourceElementsAttr, DenseElementsAttr>(c.getValue());
}

int64_t staticDim(Value v, int64_t axis) {
  auto t = rtt(v);
  return t.getDimSize(axis < 0 ? t.getRank() + axis : axis);
}

/// A linear's output features are the weight's columns ([k, n]) or, with
/// transpose_weight, its rows ([n, k]).
int64_t outAxis(LinearOp l) { return l.getTransposeWeight() ? 0 : 1; }
int64_t inAxis(LinearOp l) { return l.getTransposeWeight() ? 1 : 0; }

/// A linear whose weight (and bias, if any) can be sliced.
bool isShardableLinear(LinearOp l) {
  return l && isSliceable(l.getWeight()) &&
         (!l.getBias() || isSliceable(l.getBias())) &&
         rtt(l.getResult()).getElementType().isF32();
}

bool hasPerm(TransposeOp t, ArrayRef<int64_t> perm) {
  return t && t.getPerm() == perm;
}

/// linear -> reshape [b, s, h, d] -> transpose [b, h, s, d] (-> rotary),
/// every op used once, feeding one operand of a tfc.attention.
struct Projection {
  LinearOp linear;
  ReshapeOp reshape;
  TransposeOp transpose;
  RotaryOp rotary; // may be null
};

/// The attention with its three projections and the output chain
/// transpose [b, s, h, dv] -> reshape [b, s, h * dv] -> o_proj.
struct AttentionBlock {
  AttentionOp attn;
  Projection q, k, v;
  TransposeOp outTranspose;
  ReshapeOp outReshape;
  LinearOp oProj;
};

/// up linear -> elementwise activation ops -> down linear.
struct DenseMlp {
  LinearOp up;
  SmallVector<Operation *> acts;
  LinearOp down;
};

struct Plan {
  SmallVector<AttentionBlock> attentions;
  SmallVector<GatedMlpOp> gatedMlps;
  SmallVector<DenseMlp> denseMlps;
  EmbeddingOp embedding; // the token (vocabulary) embedding, or null
  SmallVector<LinearOp> heads;
};

FailureOr<Projection> matchProjection(AttentionOp attn, Value operand,
                                      StringRef what, bool report) {
  auto fail = [&](const Twine &why) -> FailureOr<Projection> {
    if (report)
      attn.emitOpError("cannot be tensor-partitioned: its ")
          << what << " is not linear -> reshape [b, s, h, d] -> transpose "
          << "[b, h, s, d] (-> tfc.rotary), each used once (" << why << ")";
    return failure();
  };
  Projection p;
  Value v = operand;
  if ((p.rotary = def<RotaryOp>(v))) {
    if (!v.hasOneUse())
      return fail("the rotary result has other uses");
    v = p.rotary.getInput();
  }
  p.transpose = def<TransposeOp>(v);
  if (!hasPerm(p.transpose, {0, 2, 1, 3}) || !v.hasOneUse())
    return fail("no single-use transpose [0, 2, 1, 3]");
  v = p.transpose.getInput();
  p.reshape = def<ReshapeOp>(v);
  if (!p.reshape || !v.hasOneUse())
    return fail("no single-use reshape");
  auto in = rtt(p.reshape.getInput()), out = rtt(p.reshape.getResult());
  if (in.getRank() != 3 || out.getRank() != 4 || out.isDynamicDim(2) ||
      out.isDynamicDim(3) || in.isDynamicDim(2) ||
      in.getDimSize(2) != out.getDimSize(2) * out.getDimSize(3) ||
      !raise::sameDim(p.reshape.getInput(), 0, p.reshape.getResult(), 0) ||
      !raise::sameDim(p.reshape.getInput(), 1, p.reshape.getResult(), 1))
    return fail("the reshape does not split a static last dim into heads");
  v = p.reshape.getInput();
  p.linear = def<LinearOp>(v);
  if (!p.linear || !v.hasOneUse())
    return fail("no single-use tfc.linear");
  if (!isShardableLinear(p.linear))
    return fail("the linear's weight or bias is not an f32 constant");
  return p;
}

FailureOr<AttentionBlock> matchAttention(AttentionOp attn, int64_t parts,
                                         bool report) {
  AttentionBlock blk;
  blk.attn = attn;
  auto q = matchProjection(attn, attn.getQuery(), "query", report);
  if (failed(q))
    return failure();
  auto k = matchProjection(attn, attn.getKey(), "key", report);
  if (failed(k))
    return failure();
  auto v = matchProjection(attn, attn.getValue(), "value", report);
  if (failed(v))
    return failure();
  blk.q = *q, blk.k = *k, blk.v = *v;
  auto fail = [&](const Twine &why) -> FailureOr<AttentionBlock> {
    if (report)
      attn.emitOpError("cannot be tensor-partitioned: ") << why;
    return failure();
  };
  Value res = attn.getResult();
  blk.outTranspose = res.hasOneUse()
                         ? dyn_cast<TransposeOp>(*res.getUsers().begin())
                         : TransposeOp();
  if (!hasPerm(blk.outTranspose, {0, 2, 1, 3}) ||
      !blk.outTranspose.getResult().hasOneUse())
    return fail("its result is not used once by a transpose [0, 2, 1, 3]");
  blk.outReshape =
      dyn_cast<ReshapeOp>(*blk.outTranspose.getResult().getUsers().begin());
  if (!blk.outReshape || !blk.outReshape.getResult().hasOneUse() ||
      rtt(blk.outReshape.getResult()).getRank() != 3 ||
      !raise::sameDim(blk.outTranspose.getResult(), 0,
                      blk.outReshape.getResult(), 0) ||
      !raise::sameDim(blk.outTranspose.getResult(), 1,
                      blk.outReshape.getResult(), 1))
    return fail("its heads are not merged by a reshape [b, s, h * dv] used "
                "once");
  blk.oProj =
      dyn_cast<LinearOp>(*blk.outReshape.getResult().getUsers().begin());
  if (!blk.oProj || blk.oProj.getInput() != blk.outReshape.getResult() ||
      !isShardableLinear(blk.oProj))
    return fail("its merged heads do not feed a tfc.linear with constant "
                "f32 weights (o_proj)");
  auto qt = rtt(attn.getQuery()), kt = rtt(attn.getKey());
  if (qt.isDynamicDim(1) || kt.isDynamicDim(1))
    return fail("its head counts are not static");
  int64_t hq = qt.getDimSize(1);
  if (hq < parts)
    return fail("it has " + Twine(hq) + " query heads, fewer than the " +
                Twine(parts) + " parts");
  if (Value mask = attn.getMask()) {
    auto mt = rtt(mask);
    int64_t headAxis = mt.getRank() - 3;
    if (headAxis >= 0 && mt.getDimSize(headAxis) != 1)
      return fail("its mask varies over heads");
  }
  return blk;
}

/// A chain of single-use elementwise ops (tfc.unary, tfc.binary with a
/// one-element constant) from `v` back to a tfc.linear.
bool matchDenseMlp(LinearOp down, DenseMlp &mlp) {
  Value v = down.getInput();
  while (true) {
    Operation *op = v.getDefiningOp();
    if (!op || !v.hasOneUse())
      return false;
    if (auto up = dyn_cast<LinearOp>(op)) {
      if (mlp.acts.empty() || !isShardableLinear(up))
        return false;
      mlp.up = up;
      mlp.down = down;
      std::reverse(mlp.acts.begin(), mlp.acts.end());
      return true;
    }
    if (auto u = dyn_cast<UnaryOp>(op)) {
      mlp.acts.push_back(op);
      v = u.getInput();
      continue;
    }
    auto bin = dyn_cast<BinaryOp>(op);
    if (!bin)
      return false;
    Value other;
    if (raise::isConstant(bin.getRhs()) &&
        rtt(bin.getRhs()).getNumElements() == 1)
      v = bin.getLhs(), other = bin.getRhs();
    else if (raise::isConstant(bin.getLhs()) &&
             rtt(bin.getLhs()).getNumElements() == 1)
      v = bin.getRhs(), other = bin.getLhs();
    else
      return false;
    if (rtt(other).getRank() > rtt(v).getRank())
      return false;
    mlp.acts.push_back(op);
  }
}

FailureOr<Plan> matchPlan(func::FuncOp f, int64_t parts, bool report) {
  Plan plan;
  DenseSet<Operation *> claimed;
  bool ok = true;
  f.walk([&](AttentionOp attn) {
    auto blk = matchAttention(attn, parts, report);
    if (failed(blk)) {
      ok = false;
      return;
    }
    for (Operation *op :
         {blk->q.linear.getOperation(), blk->k.linear.getOperation(),
          blk->v.linear.getOperation(), blk->oProj.getOperation()})
      claimed.insert(op);
    plan.attentions.push_back(*blk);
  });
  if (!ok)
    return failure();

  f.walk([&](GatedMlpOp mlp) {
    if (isSliceable(mlp.getWGate()) && isSliceable(mlp.getWUp()) &&
        isSliceable(mlp.getWDown()) &&
        rtt(mlp.getResult()).getElementType().isF32() &&
        staticDim(mlp.getWGate(), 1) >= parts)
      plan.gatedMlps.push_back(mlp);
  });

  f.walk([&](LinearOp down) {
    DenseMlp mlp;
    if (claimed.contains(down) || !isShardableLinear(down) ||
        !matchDenseMlp(down, mlp) || claimed.contains(mlp.up))
      return;
    int64_t hidden = staticDim(mlp.up.getResult(), -1);
    if (ShapedType::isDynamic(hidden) || hidden < parts)
      return;
    claimed.insert(down);
    claimed.insert(mlp.up);
    plan.denseMlps.push_back(mlp);
  });

  // The token embedding: the largest table looked up by a model input.
  f.walk([&](EmbeddingOp e) {
    if (!isa<BlockArgument>(e.getIds()) || !isSliceable(e.getTable()) ||
        !rtt(e.getTable()).getElementType().isF32() ||
        staticDim(e.getTable(), 0) < parts)
      return;
    if (!plan.embedding ||
        staticDim(e.getTable(), 0) > staticDim(plan.embedding.getTable(), 0))
      plan.embedding = e;
  });

  // LM heads: linears whose result the entry returns.
  for (Value r : f.front().getTerminator()->getOperands()) {
    auto l = def<LinearOp>(r);
    if (!l || claimed.contains(l) || !isShardableLinear(l))
      continue;
    int64_t n = staticDim(r, -1);
    if (ShapedType::isDynamic(n) || n < parts)
      continue;
    claimed.insert(l);
    plan.heads.push_back(l);
  }
  return plan;
}

/// Rewrites one rank's function: slices constants (each slice made once per
/// function, so a tied table and LM head share their shard).
class Sharder {
public:
  Sharder(func::FuncOp f, int64_t rank, int64_t parts)
      : f(f), rank(rank), parts(parts), b(f.getContext()) {}

  void run(const Plan &plan) {
    for (const AttentionBlock &blk : plan.attentions)
      shardAttention(blk);
    for (GatedMlpOp mlp : plan.gatedMlps)
      shardGatedMlp(mlp);
    for (const DenseMlp &mlp : plan.denseMlps)
      shardDenseMlp(mlp);
    if (plan.embedding)
      shardEmbedding(plan.embedding);
    for (LinearOp head : plan.heads)
      shardHead(head);
    for (Operation *c : sliced)
      if (c->use_empty())
        c->erase();
  }

private:
  func::FuncOp f;
  int64_t rank, parts;
  OpBuilder b;
  std::map<std::tuple<Operation *, int64_t, SmallVector<Piece>>, Value> cache;
  SetVector<Operation *> sliced;

  /// A new constant: the `pieces` of `cst` along `axis`, concatenated.
  Value slice(Value cst, int64_t axis, ArrayRef<Piece> pieces) {
    auto c = cst.getDefiningOp<arith::ConstantOp>();
    auto key =
        std::make_tuple(c.getOperation(), axis, SmallVector<Piece>(pieces));
    if (Value v = cache[key])
      return v;
    auto type = cast<RankedTensorType>(c.getType());
    int64_t len = 0;
    for (Piece p : pieces)
      len += p.second;
    RankedTensorType newType = withDim(type, axis, len);
    Attribute attr;
    auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
    auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue());
    AsmResourceBlob *blob = res ? res.getRawHandle().getBlob() : nullptr;
    std::string name;
    if (res)
      name = (res.getRawHandle().getKey() + "_p" + Twine(rank)).str();
    if (dense && dense.isSplat()) {
      attr = dense.resizeSplat(newType);
    } else if (res && !blob) {
      attr = DenseResourceElementsAttr::get(
          newType,
          DenseResourceElementsHandle::getManagerInterface(f.getContext())
              .insert(name));
    } else {
      ArrayRef<char> data = dense ? dense.getRawData() : blob->getData();
      ArrayRef<int64_t> shape = type.getShape();
      int64_t inner = type.getElementTypeBitWidth() / 8;
      for (int64_t i = axis + 1; i < type.getRank(); ++i)
        inner *= shape[i];
      int64_t outer = 1;
      for (int64_t i = 0; i < axis; ++i)
        outer *= shape[i];
      std::vector<char> out;
      out.reserve(outer * len * inner);
      for (int64_t o = 0; o < outer; ++o)
        for (Piece p : pieces) {
          const char *src = data.data() + (o * shape[axis] + p.first) * inner;
          out.insert(out.end(), src, src + p.second * inner);
        }
      if (dense) {
        attr = DenseElementsAttr::getFromRawBuffer(newType, out);
      } else {
        attr = DenseResourceElementsAttr::get(
            newType, name,
            HeapAsmResourceBlob::allocateAndCopyWithAlign(
                ArrayRef<char>(out), alignof(std::max_align_t)));
      }
    }
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&f.front());
    Value v = arith::ConstantOp::create(b, c.getLoc(), cast<TypedAttr>(attr));
    sliced.insert(c);
    cache[key] = v;
    return v;
  }

  /// Keeps the linear's output features `pieces` (column-parallel).
  void sliceOutputs(LinearOp l, ArrayRef<Piece> pieces) {
    int64_t n = 0;
    for (Piece p : pieces)
      n += p.second;
    l.getWeightMutable().assign(slice(l.getWeight(), outAxis(l), pieces));
    if (Value bias = l.getBias())
      l.getBiasMutable().assign(slice(bias, 0, pieces));
    setDim(l.getResult(), -1, n);
  }

  /// Keeps the linear's input features `piece` (row-parallel), then sums
  /// the ranks' partial results and adds the bias once, after the sum.
  void sliceInputsAndReduce(LinearOp l, Piece piece) {
    l.getWeightMutable().assign(slice(l.getWeight(), inAxis(l), piece));
    Value bias = l.getBias();
    if (bias)
      l.getBiasMutable().clear();
    b.setInsertionPointAfter(l);
    Value partial = l.getResult();
    Value sum = AllReduceOp::create(b, l.getLoc(), partial, (uint64_t)parts);
    Value out = sum;
    if (bias)
      out = BinaryOp::create(b, l.getLoc(), sum.getType(), sum, bias,
                             BinaryKind::add);
    partial.replaceAllUsesExcept(out, sum.getDefiningOp());
  }

  void shardProjection(Projection p, ArrayRef<Piece> cols, int64_t heads) {
    sliceOutputs(p.linear, cols);
    setDim(p.reshape.getResult(), 2, heads);
    setDim(p.transpose.getResult(), 1, heads);
    if (p.rotary)
      setDim(p.rotary.getResult(), 1, heads);
  }

  void shardAttention(AttentionBlock blk) {
    int64_t hq = staticDim(blk.attn.getQuery(), 1);
    int64_t hkv = staticDim(blk.attn.getKey(), 1);
    int64_t d = staticDim(blk.attn.getKey(), 3);
    int64_t dv = staticDim(blk.attn.getValue(), 3);
    int64_t group = hq / hkv;
    // This rank's query heads [qStart, qStart + qCount) and, per kv head it
    // keeps, the kv head's index in the model.
    int64_t qStart, qCount;
    SmallVector<int64_t> kvHeads;
    if (hkv >= parts) {
      auto [kvStart, kvCount] = evenSplit(hkv, parts, rank);
      qStart = kvStart * group, qCount = kvCount * group;
      for (int64_t h = kvStart; h < kvStart + kvCount; ++h)
        kvHeads.push_back(h);
    } else {
      // Fewer kv heads than ranks: split the query heads and give every
      // query head its own copy of its kv head (the rank runs plain MHA).
      std::tie(qStart, qCount) = evenSplit(hq, parts, rank);
      for (int64_t h = qStart; h < qStart + qCount; ++h)
        kvHeads.push_back(h / group);
    }
    auto headCols = [&](int64_t dim) {
      SmallVector<Piece> cols;
      for (int64_t h : kvHeads) {
        if (!cols.empty() && cols.back().first + cols.back().second == h * dim)
          cols.back().second += dim;
        else
          cols.push_back({h * dim, dim});
      }
      return cols;
    };
    int64_t hkvRank = kvHeads.size();
    shardProjection(blk.q, {{qStart * d, qCount * d}}, qCount);
    shardProjection(blk.k, headCols(d), hkvRank);
    shardProjection(blk.v, headCols(dv), hkvRank);
    setDim(blk.attn.getResult(), 1, qCount);
    setDim(blk.outTranspose.getResult(), 2, qCount);
    setDim(blk.outReshape.getResult(), 2, qCount * dv);
    sliceInputsAndReduce(blk.oProj, {qStart * dv, qCount * dv});
  }

  void shardGatedMlp(GatedMlpOp mlp) {
    Piece h = evenSplit(staticDim(mlp.getWGate(), 1), parts, rank);
    mlp.getWGateMutable().assign(slice(mlp.getWGate(), 1, h));
    mlp.getWUpMutable().assign(slice(mlp.getWUp(), 1, h));
    mlp.getWDownMutable().assign(slice(mlp.getWDown(), 0, h));
    b.setInsertionPointAfter(mlp);
    Value partial = mlp.getResult();
    auto sum = AllReduceOp::create(b, mlp.getLoc(), partial, (uint64_t)parts);
    partial.replaceAllUsesExcept(sum, sum);
  }

  void shardDenseMlp(DenseMlp mlp) {
    Piece h = evenSplit(staticDim(mlp.up.getResult(), -1), parts, rank);
    sliceOutputs(mlp.up, h);
    for (Operation *act : mlp.acts)
      setDim(act->getResult(0), -1, h.second);
    sliceInputsAndReduce(mlp.down, h);
  }

  /// table_r [V_r, d] holds rows [off, off + V_r): lookup of
  /// clamp(ids, 0, V - 1) - off (the op clamps it into [0, V_r)), zeroed
  /// where the id is not in this rank's range, summed over the ranks. The
  /// global clamp keeps the unpartitioned op's handling of bad ids.
  void shardEmbedding(EmbeddingOp e) {
    Location loc = e.getLoc();
    Value ids = e.getIds();
    auto idsType = rtt(ids);
    Type it = idsType.getElementType();
    int64_t vocab = staticDim(e.getTable(), 0);
    Piece rows = evenSplit(vocab, parts, rank);
    Value table = slice(e.getTable(), 0, rows);
    b.setInsertionPoint(e);
    auto scalar = [&](int64_t v) -> Value {
      auto t = RankedTensorType::get({}, it);
      return arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(t,
                                 ArrayRef<Attribute>{b.getIntegerAttr(it, v)}));
    };
    Value zero = scalar(0), last = scalar(vocab - 1);
    Value off = scalar(rows.first), size = scalar(rows.second);
    Value clamped =
        BinaryOp::create(b, loc, idsType, ids, zero, BinaryKind::max);
    clamped = BinaryOp::create(b, loc, idsType, clamped, last, BinaryKind::min);
    Value local =
        BinaryOp::create(b, loc, idsType, clamped, off, BinaryKind::sub);
    auto boolType = idsType.clone(b.getI1Type());
    Value ge = CmpOp::create(b, loc, boolType, local, zero, CmpPredicate::ge);
    Value lt = CmpOp::create(b, loc, boolType, local, size, CmpPredicate::lt);
    Value mine = BinaryOp::create(b, loc, boolType, ge, lt, BinaryKind::and_);
    // [..., 1] so that it broadcasts over the embedding dim.
    SmallVector<Value> dims;
    for (int64_t i = 0; i < idsType.getRank(); ++i)
      if (idsType.isDynamicDim(i))
        dims.push_back(tensor::DimOp::create(b, loc, ids, i));
    SmallVector<int64_t> shape(idsType.getShape());
    shape.push_back(1);
    Value mine1 = ReshapeOp::create(b, loc, boolType.clone(shape), mine, dims);
    Type resType = e.getType();
    Value rowsOut = EmbeddingOp::create(b, loc, resType, table, local);
    Value zeroF = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                               ArrayRef<Attribute>{b.getF32FloatAttr(0)}));
    Value masked = SelectOp::create(b, loc, resType, mine1, rowsOut, zeroF);
    Value sum = AllReduceOp::create(b, loc, masked, (uint64_t)parts);
    e.getResult().replaceAllUsesWith(sum);
    e.erase();
  }

  /// Column-parallel LM head: this rank's logits, gathered along the last
  /// axis (every rank returns the full logits).
  void shardHead(LinearOp l) {
    Value out = l.getResult();
    auto full = rtt(out);
    int64_t n = full.getDimSize(full.getRank() - 1);
    Piece cols = evenSplit(n, parts, rank);
    sliceOutputs(l, cols);
    b.setInsertionPointAfter(l);
    auto gathered =
        AllGatherOp::create(b, l.getLoc(), full, out, full.getRank() - 1,
                            splitSizes(n, parts), (uint64_t)rank);
    out.replaceAllUsesExcept(gathered, gathered);
  }
};

} // namespace

LogicalResult partition::partitionTensor(func::FuncOp main, int64_t parts) {
  if (!main.getBody().hasOneBlock())
    return main.emitError("tfc-partition: expected a single-block entry");
  // Diagnostics come from the entry; the parts, copies of it, then match.
  if (failed(matchPlan(main, parts, /*report=*/true)))
    return failure();
  for (int64_t k = 0; k < parts; ++k) {
    func::FuncOp part = clonePart(main, k);
    FailureOr<Plan> plan = matchPlan(part, parts, /*report=*/false);
    if (failed(plan))
      return part.emitError("tfc-partition: part ")
             << k << " did not match like the entry";
    Sharder(part, k, parts).run(*plan);
  }
  main.erase();
  return success();
}
