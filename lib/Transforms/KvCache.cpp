//===- KvCache.cpp - a cached step entry from a full-sequence decoder -----===//
//
// tfc-kv-cache (TfcPasses.td has the contract). The step function starts as
// a clone of the main entry, so every per-token op (embedding, norms,
// projections, MLP, lm head) is unchanged and runs on the n new tokens only;
// what depends on the whole sequence is rewritten:
//   - each tfc.attention writes its new key/value rows into the cache and
//     reads keys/values [0, T) back (T = past + n);
//   - its mask is the main entry's mask for a sequence of length T, rows
//     [past, past + n): the causal / window terms become the op's
//     attributes, and the residual (the padding mask) is recomputed at T by
//     cloning its ops with n -> T and attention_mask -> the full mask;
//   - positions (tfc.range 0..n) start at past.
// With `evict` the cache is a ring of R slots per layer (position p in slot
// p mod R) and each attention reads the ring oldest first followed by the
// new rows: R + n consecutive positions, past - R .. past + n - 1, so the
// same causal / window attributes and mask recomputation (for a sequence of
// R + n, whose mask the runtime passes) apply; the new rows are written
// after the read, so a chunk's queries still see the rows it overwrites.
// With sinks S (StreamingLLM) the cache has S more slots in front of the
// ring holding positions 0..S-1 for good; see rewrite() for how they are
// read.
// Soundness rests on the model being causal (proven per attention): the
// full-sequence model's rows [past, past + n) at length T depend only on
// the first T tokens, and the cached rows [0, past) are what earlier steps
// computed for them.
//
//===----------------------------------------------------------------------===//
#include "KvCache.h"
#include "RaiseAttention.h"
#include "RaiseUtils.h"
#include "tfc/Transforms/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <cmath>
#include <functional>

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCKVCACHE
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::raise;

BlockArgument kvcache::argNamed(func::FuncOp f, StringRef name) {
  for (unsigned i = 0; i < f.getNumArguments(); ++i)
    if (auto n = f.getArgAttrOfType<StringAttr>(i, "tfc.name"))
      if (n.getValue() == name)
        return f.getArgument(i);
  return {};
}

func::FuncOp kvcache::cloneAsStep(func::FuncOp main) {
  OpBuilder mb(main);
  mb.setInsertionPointAfter(main);
  auto step = cast<func::FuncOp>(mb.clone(*main));
  StringRef mainName = main.getSymName();
  std::string name = mainName.ends_with("_main")
                         ? (mainName.drop_back(5) + "_step").str()
                         : (mainName + "_step").str();
  step.setSymName(name);
  step->removeAttr("tfc.entry");
  step->setAttr("tfc.step_entry", mb.getUnitAttr());
  step->setAttr("llvm.emit_c_interface", mb.getUnitAttr());
  return step;
}

DictionaryAttr kvcache::argAttrs(OpBuilder &b, StringRef name,
                                 ArrayRef<std::string> dims) {
  SmallVector<Attribute> d;
  for (const std::string &x : dims)
    d.push_back(b.getStringAttr(x));
  return b.getDictionaryAttr({b.getNamedAttr("tfc.name", b.getStringAttr(name)),
                              b.getNamedAttr("tfc.dims", b.getArrayAttr(d))});
}

void kvcache::eraseDeadOps(func::FuncOp f) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation &op :
         llvm::make_early_inc_range(llvm::reverse(f.getBody().front())))
      if (isOpTriviallyDead(&op)) {
        op.erase();
        changed = true;
      }
  }
}

namespace {
using kvcache::argNamed;
using kvcache::eraseDeadOps;

bool isIntMatrix(Value v) {
  auto t = rtt(v);
  return t && t.getRank() == 2 && isa<IntegerType>(t.getElementType());
}

} // namespace

Value kvcache::boolMaskOf(Value mask) {
  if (!mask)
    return {};
  if (rtt(mask).getElementType().isInteger(1))
    return mask;
  auto sel = def<SelectOp>(mask);
  if (!sel || !rtt(sel.getCond()).getElementType().isInteger(1))
    return {};
  std::optional<double> zero = scalarFloat(sel.getLhs());
  std::optional<double> fill = scalarFloat(sel.getRhs());
  if (!zero || *zero != 0.0 || !fill || !(*fill <= -1e30))
    return {};
  return sel.getCond();
}

namespace {
using kvcache::boolMaskOf;

/// Static dims of `a` and `b` broadcast together (right-aligned, numpy).
SmallVector<int64_t> broadcastShape(RankedTensorType a, RankedTensorType b) {
  int64_t rank = std::max(a.getRank(), b.getRank());
  SmallVector<int64_t> out(rank, 1);
  for (int64_t i = 0; i < rank; ++i) {
    int64_t ia = i - (rank - a.getRank()), ib = i - (rank - b.getRank());
    int64_t da = ia >= 0 ? a.getDimSize(ia) : 1;
    int64_t db = ib >= 0 ? b.getDimSize(ib) : 1;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// What the cache stores per K/V element (option kv-dtype).
enum class KvDtype { F32, F16, I8 };

std::optional<KvDtype> parseKvDtype(StringRef s) {
  if (s == "f32")
    return KvDtype::F32;
  if (s == "f16")
    return KvDtype::F16;
  if (s == "int8")
    return KvDtype::I8;
  return std::nullopt;
}

/// f32 rows [.., d] as the cache stores them: f16 (tfc.cast), or int8 codes
/// per row (head and token) with their f32 scales [.., 1]
/// (tfc.dynamic_quantize per_row: symmetric, scale max|x| / 127).
std::pair<Value, Value> toCache(OpBuilder &b, Location loc, Value rows,
                                KvDtype dt) {
  auto t = rtt(rows);
  if (dt == KvDtype::F16)
    return {CastOp::create(b, loc, t.clone(b.getF16Type()), rows), Value()};
  SmallVector<int64_t> rowShape(t.getShape());
  rowShape.back() = 1;
  Type i8 = b.getIntegerType(8);
  auto q = DynamicQuantizeOp::create(
      b, loc, t.clone(i8), RankedTensorType::get(rowShape, b.getF32Type()),
      RankedTensorType::get(rowShape, i8), rows, b.getBoolAttr(true));
  return {q.getResult(), q.getScale()};
}

/// What the cache stores back in f32 (the attention's operand).
Value fromCache(OpBuilder &b, Location loc, Value stored, Value scales,
                KvDtype dt) {
  auto t = rtt(stored).clone(b.getF32Type());
  if (dt == KvDtype::F16)
    return CastOp::create(b, loc, t, stored);
  auto i64 = [&](int64_t x) { return b.getI64IntegerAttr(x); };
  return DequantizeOp::create(b, loc, t, stored, scales, Value(), i64(8),
                              b.getBoolAttr(false), i64(0), i64(0));
}

/// One tfc.attention of the step and what its mask proved.
struct Layer {
  AttentionOp op;
  MaskInfo info;      // causal proven; info.mask = the residual (or null)
  int64_t window = 0; // the step's window (op's, proven, option's: smallest)
  int64_t sinks = 0;  // the step's sink keys (op's or option's: largest)
};

/// Builds the step function in place of a clone of the main entry.
struct StepBuilder {
  func::FuncOp step;
  BlockArgument ids, fullMask, past, cache;
  Operation *maskSlice = nullptr; // [b, n] slice standing for the old mask
  // Index values. total: keys attended (past + n; ring: R + n); maskPast:
  // the new tokens' first row in the recomputed mask (past; ring: R).
  Value batch, n, pastIdx, total, maskPast;
  Value cacheTensor; // threaded through the insert_slices
  // kv-dtype int8: the scales argument [L, 2, b, hkv, max_len, 1] and its
  // tensor, threaded like cacheTensor.
  KvDtype dtype = KvDtype::F32;
  BlockArgument scales;
  Value scalesTensor;
  int64_t heads = 0, headDim = 0;
  Type elemType;
  DenseMap<Value, Value> maskAtTotal;
  // Ring mode (evict): R slots; slot of the oldest cached position (past
  // mod R) and R - it; the new rows written: [skip, second = skip + first)
  // to slot `slot`, [second, n) (rest rows) to slot 0; i1 [b, 1, 1, R + n]
  // key validity.
  int64_t ring = 0;
  // Sink slots [0, sinkSlots) in front of the ring (positions 0..S-1); the
  // ring is then slots [S, S + R).
  int64_t sinkSlots = 0;
  Value sinkAt, sinkCount; // new rows [0, sinkCount) go to slot sinkAt
  BlockArgument sinkMask;  // [b, S] i64: the mask of positions 0..S-1
  Value ringStart, ringHead, skip, slot, first, second, rest, valid;

  /// True for `tensor.dim x, 1` of the new tokens or of the mask slice: the
  /// sequence length n, which becomes T in a recomputed mask.
  bool isLengthDim(Operation *op) const {
    auto d = dyn_cast<tensor::DimOp>(op);
    if (!d)
      return false;
    std::optional<int64_t> i = d.getConstantIndex();
    Value src = d.getSource();
    return i && *i == 1 &&
           (src == ids || (maskSlice && src == maskSlice->getResult(0)));
  }

  FailureOr<Value> recomputeMask(OpBuilder &b, Value mask, Location loc);
  FailureOr<Layer> analyze(AttentionOp a, int64_t windowOpt,
                           int64_t sinksOpt);
  LogicalResult rewrite(Layer &l, int64_t layer);
  Value andValid(OpBuilder &b, Location loc, Value mask);
  Value withSinks(OpBuilder &b, Location loc, Value mask, int64_t window);
};

/// `mask` (computed for the n new tokens) recomputed for all T positions and
/// cut to the query rows [past, past + n).
FailureOr<Value> StepBuilder::recomputeMask(OpBuilder &b, Value mask,
                                            Location loc) {
  auto it = maskAtTotal.find(mask);
  if (it != maskAtTotal.end())
    return it->second;
  if (!mask.getDefiningOp())
    return failure();
  Block *body = &step.getBody().front();
  SetVector<Operation *> slice;
  BackwardSliceOptions opts;
  opts.inclusive = true;
  opts.omitBlockArguments = true;
  opts.filter = [&](Operation *op) {
    return op->getBlock() == body && op != maskSlice && !isLengthDim(op);
  };
  if (failed(getBackwardSlice(mask, &slice, opts)))
    return failure();
  IRMapping map;
  if (maskSlice)
    map.map(maskSlice->getResult(0), fullMask);
  for (Operation *op : slice) {
    if (op->getNumRegions())
      return failure();
    for (Value v : op->getOperands()) {
      // The tokens themselves, or anything computed from them, is not
      // mask; only their batch dim may be read.
      if (isa<BlockArgument>(v) && !(v == ids && isa<tensor::DimOp>(op)))
        return failure();
      Operation *d = v.getDefiningOp();
      if (d && !slice.contains(d)) {
        if (d == maskSlice)
          continue;
        if (isLengthDim(d))
          map.map(v, total);
        else if (d->getBlock() != body)
          return failure();
      }
    }
  }
  for (Operation *op : slice)
    b.clone(*op, map);
  Value full = map.lookup(mask);
  auto t = rtt(full);
  int64_t rank = t.getRank();
  if (rank >= 2 && t.getDimSize(rank - 2) != 1) {
    // Varies along queries: keep the rows of the new tokens.
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (int64_t i = 0; i < rank; ++i) {
      bool q = i == rank - 2;
      offsets.push_back(q ? OpFoldResult(maskPast) : b.getIndexAttr(0));
      if (q)
        sizes.push_back(n);
      else if (t.isDynamicDim(i))
        sizes.push_back(tensor::DimOp::create(b, loc, full, i).getResult());
      else
        sizes.push_back(b.getIndexAttr(t.getDimSize(i)));
      strides.push_back(b.getIndexAttr(1));
    }
    SmallVector<int64_t> shape(t.getShape());
    shape[rank - 2] = ShapedType::kDynamic;
    full = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, t.getElementType()), full, offsets,
        sizes, strides);
  }
  maskAtTotal[mask] = full;
  return full;
}

FailureOr<Layer> StepBuilder::analyze(AttentionOp a, int64_t windowOpt,
                                      int64_t sinksOpt) {
  Location loc = a.getLoc();
  Value q = a.getQuery(), k = a.getKey(), v = a.getValue();
  auto kt = rtt(k), vt = rtt(v);
  if (kt.getRank() != 4 || vt.getRank() != 4 || kt.isDynamicDim(1) ||
      kt.isDynamicDim(3) || vt.getDimSize(1) != kt.getDimSize(1) ||
      vt.getDimSize(3) != kt.getDimSize(3) ||
      kt.getElementType() != vt.getElementType())
    return a.emitOpError(
        "cannot be cached: key and value must be [b, h, n, d] with static, "
        "equal h and d");
  if (!sameDim(q, 2, ids, 1) || !sameDim(k, 2, ids, 1) ||
      !sameDim(v, 2, ids, 1))
    return a.emitOpError("cannot be cached: its query / key / value length "
                         "is not provably the input sequence length");
  if (!heads) {
    heads = kt.getDimSize(1);
    headDim = kt.getDimSize(3);
    elemType = kt.getElementType();
  } else if (heads != kt.getDimSize(1) || headDim != kt.getDimSize(3) ||
             elemType != kt.getElementType()) {
    return a.emitOpError("cannot be cached: its key heads / head dim differ "
                         "from the first layer's (one cache shape for all "
                         "layers)");
  }

  // Causal / window terms and the residual mask.
  Layer l;
  l.op = a;
  MaskInfo &info = l.info;
  if (a.getCausal()) {
    info.mask = a.getMask();
    info.causal = true;
    info.window = a.getWindow();
  } else if (Value c = boolMaskOf(a.getMask())) {
    PatternRewriter rewriter(a.getContext());
    rewriter.setInsertionPoint(a);
    info = analyzeBoolMask(rewriter, loc, c, q, k);
    if (int64_t w = a.getWindow())
      info.window = info.window ? std::min(info.window, w) : w;
  }
  if (!info.causal)
    return a.emitOpError(
        "is not causal: no key <= query position term is proven (an "
        "encoder?); a KV cache needs a causal decoder");
  l.window = info.window;
  if (windowOpt > 0)
    l.window = l.window ? std::min(l.window, windowOpt) : windowOpt;
  l.sinks = std::max<int64_t>(a.getSinks(), sinksOpt);
  if (l.sinks && !l.window)
    return a.emitOpError("has sink keys (")
           << l.sinks
           << ") but no sliding window: sinks are what a window keeps "
              "visible (give --kv-window=W or --attention=sink:S,local:W)";
  return l;
}

/// Ring mode: `mask` (null, i1 or float, broadcastable to [b, h, n, R + n])
/// restricted to the valid keys.
Value StepBuilder::andValid(OpBuilder &b, Location loc, Value mask) {
  if (!mask)
    return valid;
  auto mt = rtt(mask);
  auto type = RankedTensorType::get(broadcastShape(rtt(valid), mt),
                                    mt.getElementType());
  if (mt.getElementType().isInteger(1))
    return BinaryOp::create(b, loc, type, valid, mask, BinaryKind::and_);
  auto scalar = RankedTensorType::get({}, mt.getElementType());
  auto ninf = arith::ConstantOp::create(
      b, loc, scalar,
      DenseElementsAttr::get(scalar,
                             b.getFloatAttr(mt.getElementType(), -INFINITY)));
  return SelectOp::create(b, loc, type, valid, mask, ninf);
}

/// Ring mode with S sink slots: keys are [sink slots 0..S-1, the ring,
/// the new rows] (total = S + R + n); key j >= S is position
/// past - S - R + j, so the op's causal / window terms hold for it as for
/// consecutive positions (with `sinks` = S, the first S keys pass the
/// window term). Sink slot j is the key of position j for query i (position
/// past + i) only when past + i - j >= window: nearer, position j is a
/// ring or new row inside the window, and seen there (so never twice, and
/// never before it exists). Sink slots take their padding from sink_mask
/// (window_mask's columns are the ring's), the other keys keep `mask`.
Value StepBuilder::withSinks(OpBuilder &b, Location loc, Value mask,
                             int64_t window) {
  auto i1 = b.getI1Type();
  Value sIdx = arith::ConstantIndexOp::create(b, loc, sinkSlots);
  Value wIdx = arith::ConstantIndexOp::create(b, loc, window);
  Value lastSink = arith::ConstantIndexOp::create(b, loc, sinkSlots - 1);
  auto sinkOkType = RankedTensorType::get(
      {ShapedType::kDynamic, 1, ShapedType::kDynamic, ShapedType::kDynamic},
      i1);
  Value sinkOk = tensor::GenerateOp::create(
      b, loc, sinkOkType, ValueRange{batch, n, total},
      [&](OpBuilder &nb, Location nl, ValueRange iv) {
        Value isSink = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                             iv[3], sIdx);
        Value p = arith::AddIOp::create(nb, nl, pastIdx, iv[2]);
        Value far = arith::CmpIOp::create(
            nb, nl, arith::CmpIPredicate::uge, p,
            arith::AddIOp::create(nb, nl, iv[3], wIdx));
        // sink_mask[b, j] (read clamped; only sink columns use it).
        Value col = arith::MinUIOp::create(nb, nl, iv[3], lastSink);
        Value m = tensor::ExtractOp::create(nb, nl, sinkMask,
                                            ValueRange{iv[0], col});
        Value present = arith::CmpIOp::create(
            nb, nl, arith::CmpIPredicate::ne, m,
            arith::ConstantIntOp::create(nb, nl, m.getType(), 0));
        Value ok = arith::AndIOp::create(
            nb, nl, arith::AndIOp::create(nb, nl, isSink, far), present);
        tensor::YieldOp::create(nb, nl, ok);
      });
  auto colType =
      RankedTensorType::get({1, 1, 1, ShapedType::kDynamic}, i1);
  Value notSink = tensor::GenerateOp::create(
      b, loc, colType, ValueRange{total},
      [&](OpBuilder &nb, Location nl, ValueRange iv) {
        tensor::YieldOp::create(
            nb, nl,
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::uge, iv[3],
                                  sIdx)
                .getResult());
      });
  auto mt = rtt(mask);
  auto type = [&](Value x, Value y, Type et) {
    return RankedTensorType::get(broadcastShape(rtt(x), rtt(y)), et);
  };
  if (mt.getElementType().isInteger(1)) {
    Value keep = BinaryOp::create(b, loc, type(notSink, mask, i1), notSink,
                                  mask, BinaryKind::and_);
    return BinaryOp::create(b, loc, type(sinkOk, keep, i1), sinkOk, keep,
                            BinaryKind::or_);
  }
  Type et = mt.getElementType();
  auto scalar = RankedTensorType::get({}, et);
  auto cst = [&](double v) -> Value {
    return arith::ConstantOp::create(
        b, loc, scalar, DenseElementsAttr::get(scalar, b.getFloatAttr(et, v)));
  };
  Value rest = SelectOp::create(b, loc, type(notSink, mask, et), notSink, mask,
                                cst(-INFINITY));
  return SelectOp::create(b, loc, type(sinkOk, rest, et), sinkOk, cst(0.0),
                          rest);
}

LogicalResult StepBuilder::rewrite(Layer &l, int64_t layer) {
  AttentionOp a = l.op;
  OpBuilder b(a);
  Location loc = a.getLoc();
  Value q = a.getQuery(), k = a.getKey(), v = a.getValue();
  Value mask;
  if (l.info.mask) {
    FailureOr<Value> m = recomputeMask(b, l.info.mask, loc);
    if (failed(m))
      return a.emitOpError("cannot be cached: its mask is not computed from "
                           "attention_mask and the sequence length alone");
    mask = *m;
  }
  if (ring)
    mask = andValid(b, loc, mask);
  if (ring && sinkSlots)
    mask = withSinks(b, loc, mask, l.window);

  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  // The layer's part of the cache (and scales), [1, 2, b, hkv, max_len,
  // d]: its reads and writes go to this slice, which is inserted back once
  // after them. One-shot bufferization checks every read against the
  // writes along the chain of values it aliases; a chain through all the
  // layers' writes made that quadratic in the layers (SmolLM2 as a ring
  // with sinks: 52 s of a 80 s compile in OneShotBufferize), a chain per
  // layer keeps it short. The slice and its insertion bufferize in place.
  // Ring caches only: a linear cache's chain is short enough (0.8 s for
  // SmolLM2), and the GPU's _rope calls match its writes (fuseRopeCaches).
  const bool perLayer = ring;
  Value whole[2] = {cacheTensor, scalesTensor};
  auto layerSlice = [&](Value buf, bool back, Value part) -> Value {
    auto t = rtt(buf);
    SmallVector<OpFoldResult> offs(6, zero), szs, str(6, one);
    offs[0] = b.getIndexAttr(layer);
    for (int64_t d = 0; d < 6; ++d)
      szs.push_back(
          d == 0 ? one
          : t.isDynamicDim(d)
              ? OpFoldResult(tensor::DimOp::create(b, loc, buf, d).getResult())
              : OpFoldResult(b.getIndexAttr(t.getDimSize(d))));
    if (back)
      return tensor::InsertSliceOp::create(b, loc, part, buf, offs, szs, str);
    SmallVector<int64_t> shape(t.getShape());
    shape[0] = 1;
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, t.getElementType()), buf, offs,
        szs, str);
  };
  if (perLayer) {
    cacheTensor = layerSlice(whole[0], false, Value());
    if (scalesTensor)
      scalesTensor = layerSlice(whole[1], false, Value());
  }
  // Rows [pos, pos + len) of buffer[layer, kv] (the cache, or with int8 the
  // scales, whose last dim is 1), in the layer's slice.
  auto at = [&](int64_t kv, OpFoldResult pos, OpFoldResult len, int64_t last,
                SmallVector<OpFoldResult> &offsets,
                SmallVector<OpFoldResult> &sizes) {
    offsets = {perLayer ? zero : OpFoldResult(b.getIndexAttr(layer)),
               b.getIndexAttr(kv),
               zero,
               zero,
               pos,
               zero};
    sizes = {one, one, batch, b.getIndexAttr(heads), len, b.getIndexAttr(last)};
  };
  SmallVector<OpFoldResult> strides(6, one), offsets, sizes;
  auto rowsOf = [&](Value buffer, int64_t last) {
    return RankedTensorType::get(
        {ShapedType::kDynamic, heads, ShapedType::kDynamic, last},
        rtt(buffer).getElementType());
  };
  // buffer: true = the scales.
  auto read = [&](bool sc, int64_t kv, OpFoldResult pos,
                  OpFoldResult len) -> Value {
    Value buf = sc ? scalesTensor : cacheTensor;
    int64_t last = sc ? 1 : headDim;
    at(kv, pos, len, last, offsets, sizes);
    return tensor::ExtractSliceOp::create(b, loc, rowsOf(buf, last), buf,
                                          offsets, sizes, strides);
  };
  auto write = [&](bool sc, int64_t kv, Value src, OpFoldResult pos,
                   OpFoldResult len) {
    Value &buf = sc ? scalesTensor : cacheTensor;
    at(kv, pos, len, sc ? 1 : headDim, offsets, sizes);
    buf = tensor::InsertSliceOp::create(b, loc, src, buf, offsets, sizes,
                                        strides);
  };
  // The new rows as the cache stores them (codes, scales).
  Value rows[2] = {k, v}, srows[2] = {}, all[2];
  if (dtype != KvDtype::F32)
    for (int64_t kv = 0; kv < 2; ++kv)
      std::tie(rows[kv], srows[kv]) = toCache(b, loc, rows[kv], dtype);
  const int nbuf = scales ? 2 : 1; // cache (and scales)
  Value stored[2][2];              // [kv][buffer] rows the attention reads
  std::function<void()> writeRing; // ring: the writes after the read
  if (!ring) {
    // cache[layer, kv, :, :, past:past+n, :] = new rows; read [0, T).
    for (int64_t kv = 0; kv < 2; ++kv)
      for (int sc = 0; sc < nbuf; ++sc)
        write(sc, kv, sc ? srows[kv] : rows[kv], pastIdx, n);
    for (int64_t kv = 0; kv < 2; ++kv)
      for (int sc = 0; sc < nbuf; ++sc)
        stored[kv][sc] = read(sc, kv, zero, total);
  } else {
    // Read the ring oldest first, then the new rows: positions
    // past - R .. past + n - 1 ([b, h, R + n, d]); then write the last
    // min(n, R) new rows into their slots. With sinks the S sink slots come
    // first (written before the read: a chunk that holds positions < S and
    // is longer than the window sees them as sinks too).
    auto rowsPart = [&](Value src, OpFoldResult from,
                        OpFoldResult len) -> Value {
      return tensor::ExtractSliceOp::create(
          b, loc, rowsOf(src, rtt(src).getDimSize(3)), src,
          SmallVector<OpFoldResult>{zero, zero, from, zero},
          SmallVector<OpFoldResult>{batch, b.getIndexAttr(heads), len,
                                    b.getIndexAttr(rtt(src).getDimSize(3))},
          SmallVector<OpFoldResult>(4, one));
    };
    if (sinkSlots)
      for (int64_t kv = 0; kv < 2; ++kv)
        for (int sc = 0; sc < nbuf; ++sc) {
          Value src = sc ? srows[kv] : rows[kv];
          write(sc, kv, rowsPart(src, zero, sinkCount), sinkAt, sinkCount);
        }
    // The ring's first slot (S) and slot `at` of the ring as a cache slot.
    Value baseIdx =
        sinkSlots ? arith::ConstantIndexOp::create(b, loc, sinkSlots) : Value();
    OpFoldResult base = sinkSlots ? OpFoldResult(baseIdx) : zero;
    // (baseIdx by value: writeRing below runs inRing after this block.)
    auto inRing = [&, baseIdx](Value at) -> OpFoldResult {
      if (!sinkSlots)
        return at;
      return arith::AddIOp::create(b, loc, baseIdx, at).getResult();
    };
    OpFoldResult headAt = inRing(ringStart);
    for (int64_t kv = 0; kv < 2; ++kv)
      for (int sc = 0; sc < nbuf; ++sc) {
        SmallVector<Value> parts;
        if (sinkSlots)
          parts.push_back(read(sc, kv, zero, baseIdx)); // slots [0, S)
        parts.append({read(sc, kv, headAt, ringHead),
                      read(sc, kv, base, ringStart),
                      sc ? srows[kv] : rows[kv]});
        stored[kv][sc] =
            tensor::ConcatOp::create(b, loc, (int64_t)2, ValueRange(parts));
      }
    // The ring writes go after the attention (writeRing below), so that
    // the read ring rows are not overwritten before the attention reads
    // them: the CPU kernel reads the concat's parts in place
    // (tfcrt_attention_parts_*), where a concat before the writes was a
    // copy of them.
    // base and inRing are this block's: captured by value.
    writeRing = [&, base, inRing] {
      for (int64_t kv = 0; kv < 2; ++kv)
        for (int sc = 0; sc < nbuf; ++sc) {
          Value src = sc ? srows[kv] : rows[kv];
          auto part = [&](Value from, Value len) -> Value {
            return tensor::ExtractSliceOp::create(
                b, loc, rowsOf(src, rtt(src).getDimSize(3)), src,
                SmallVector<OpFoldResult>{zero, zero, from, zero},
                SmallVector<OpFoldResult>{
                    batch, b.getIndexAttr(heads), len,
                    b.getIndexAttr(rtt(src).getDimSize(3))},
                SmallVector<OpFoldResult>(4, one));
          };
          write(sc, kv, part(skip, first), inRing(slot), first);
          write(sc, kv, part(second, rest), base, rest);
        }
    };
  }
  for (int64_t kv = 0; kv < 2; ++kv)
    all[kv] = dtype == KvDtype::F32
                  ? stored[kv][0]
                  : fromCache(b, loc, stored[kv][0], stored[kv][1], dtype);
  auto cached = AttentionOp::create(
      b, loc, a.getType(), q, all[0], all[1], mask, Value(), a.getScaleAttr(),
      b.getBoolAttr(true), b.getI64IntegerAttr(l.window),
      b.getI64IntegerAttr(l.sinks), a.getBlockAttr(), a.getLayoutAttr(),
      a.getLayoutBlockAttr());
  if (writeRing)
    writeRing();
  if (perLayer) {
    cacheTensor = layerSlice(whole[0], true, cacheTensor);
    if (scalesTensor)
      scalesTensor = layerSlice(whole[1], true, scalesTensor);
  }
  // Structure that depends on the query's position beyond causality (a
  // sliding window, blocks, a block layout) must see the step's true
  // positions: a GPU session may not run decode steps over the whole cache
  // (TFC_MODEL_FLAG_STEP_POSITIONAL_ATTENTION).
  if (l.window > 0 || a.getBlock() > 0 || a.getLayout())
    step->setAttr("tfc.positional_attention", b.getUnitAttr());
  a.replaceAllUsesWith(cached.getResult());
  a.erase();
  return success();
}

/// logits=last: each step output whose dim 1 is the new tokens keeps
/// position n - 1 only ([b, 1, ...]). The slice goes in front of the
/// row-wise chain that ends in the output (every op computes each row from
/// the same row of its operand 0 alone, and each intermediate result has
/// no other use), so that chain runs on one row per sequence.
static LogicalResult keepLastPosition(func::FuncOp step) {
  BlockArgument ids = argNamed(step, "input_ids");
  if (!ids)
    return step.emitError("tfc-kv-cache: logits=last needs the step's "
                          "input_ids");
  auto idsDims =
      step.getArgAttrOfType<ArrayAttr>(ids.getArgNumber(), "tfc.dims");
  auto ret = cast<func::ReturnOp>(step.getBody().front().getTerminator());
  auto rowWise = [](Operation *op) {
    if (isa<LinearOp, RmsNormOp, LayerNormOp>(op))
      return true;
    // Per-tensor activation scales depend on every row.
    if (auto q = dyn_cast<QLinearOp>(op))
      return q.getActivation() != QuantActivation::tensor;
    return false;
  };
  SmallVector<Type> results(step.getResultTypes());
  bool any = false;
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    auto dims = step.getResultAttrOfType<ArrayAttr>(i, "tfc.dims");
    if (!t || t.getRank() < 2 || !t.isDynamicDim(1) || !dims ||
        dims.size() != (size_t)t.getRank() || !idsDims || idsDims.size() != 2 ||
        dims[1] != idsDims[1])
      continue;
    // Walk up the chain: `user` takes `top` as its operand 0.
    Operation *user = ret;
    unsigned operandNo = i;
    Value top = v;
    while (Operation *d = top.getDefiningOp()) {
      if (!rowWise(d) || !top.hasOneUse())
        break;
      Value in = d->getOperand(0);
      auto it = dyn_cast<RankedTensorType>(in.getType());
      if (!it || it.getRank() != t.getRank() || !it.isDynamicDim(1))
        break;
      user = d;
      operandNo = 0;
      top = in;
    }
    OpBuilder b(user);
    Location loc = user->getLoc();
    auto tt = cast<RankedTensorType>(top.getType());
    Value n = tensor::DimOp::create(b, loc, top, 1);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    SmallVector<OpFoldResult> offsets(tt.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes, strides(tt.getRank(), b.getIndexAttr(1));
    offsets[1] = arith::SubIOp::create(b, loc, n, one).getResult();
    for (int64_t d = 0; d < tt.getRank(); ++d)
      sizes.push_back(
          d == 1 ? OpFoldResult(one)
          : tt.isDynamicDim(d)
              ? OpFoldResult(tensor::DimOp::create(b, loc, top, d).getResult())
              : OpFoldResult(b.getIndexAttr(tt.getDimSize(d))));
    // Keeps top's type (dim 1 dynamic), so the chain's types stay valid.
    auto slice = tensor::ExtractSliceOp::create(b, loc, tt, top, offsets, sizes,
                                                strides);
    user->setOperand(operandNo, slice.getResult());
    // The output: dim 1 is 1 in its type and in the signature.
    SmallVector<int64_t> shape(t.getShape());
    shape[1] = 1;
    auto outType = RankedTensorType::get(shape, t.getElementType());
    b.setInsertionPoint(ret);
    Value cast = tensor::CastOp::create(b, loc, outType, ret.getOperand(i));
    ret->setOperand(i, cast);
    results[i] = outType;
    SmallVector<Attribute> nd(dims.begin(), dims.end());
    nd[1] = b.getStringAttr("1");
    step.setResultAttr(i, "tfc.dims", b.getArrayAttr(nd));
    any = true;
  }
  if (!any && !ret.getOperands().empty())
    return step.emitError("tfc-kv-cache: logits=last found no step output "
                          "whose dim 1 is the new tokens (input_ids dim 1)");
  step.setType(FunctionType::get(step.getContext(),
                                 step.getFunctionType().getInputs(), results));
  return success();
}

struct KvCachePass : tfc::impl::TfcKvCacheBase<KvCachePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // One entry, or one per part after tfc-partition (tfc.part = k): each
    // gets its own step, which keeps the attribute (cloneAsStep copies it)
    // and, in program order, the part's communication ops (they have
    // effects, so eraseDeadOps keeps them; at run time a stage's recv gets
    // the previous stage's step output [b, n, d]).
    SmallVector<func::FuncOp> entries;
    for (auto f : module.getOps<func::FuncOp>()) {
      if (f->hasAttr("tfc.step_entry")) {
        f.emitError("tfc-kv-cache: the module already has a step entry");
        return signalPassFailure();
      }
      if (f->hasAttr("tfc.entry"))
        entries.push_back(f);
    }
    if (entries.empty() ||
        llvm::any_of(entries, [](func::FuncOp f) { return f.isExternal(); })) {
      module.emitError("tfc-kv-cache: no function marked tfc.entry");
      return signalPassFailure();
    }
    if (entries.size() > 1)
      for (func::FuncOp f : entries)
        if (!f->hasAttr("tfc.part")) {
          f.emitError("tfc-kv-cache: several functions are marked "
                      "tfc.entry but '")
              << f.getSymName() << "' has no tfc.part";
          return signalPassFailure();
        }
    if (logits != "all" && logits != "last") {
      module.emitError("tfc-kv-cache: logits '")
          << logits << "' is not one of all, last";
      return signalPassFailure();
    }
    for (func::FuncOp f : entries)
      if (failed(run(f)))
        return signalPassFailure();
    if (logits == "last")
      for (auto f : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
        if (f->hasAttr("tfc.step_entry") && failed(keepLastPosition(f)))
          return signalPassFailure();
  }

  LogicalResult run(func::FuncOp main) {
    SmallVector<AttentionOp> mainAttention;
    main.walk([&](AttentionOp a) { mainAttention.push_back(a); });
    if (mainAttention.empty())
      return main.emitError("tfc-kv-cache: no tfc.attention in '")
             << main.getSymName()
             << (main->hasAttr("tfc.part")
                     ? "' (a part without attention layers has no cache; "
                       "partition so that every part holds some)"
                     : "' (nothing to cache: not a decoder, or attention was "
                       "not raised)");
    if (maxLen < 0 || window < 0 || sinks < 0)
      return main.emitError(
          "tfc-kv-cache: max-len, window and sinks must be >= 0");
    if (evict && maxLen > 0)
      return main.emitError("tfc-kv-cache: evict sizes the cache by the "
                            "window; it takes no max-len");
    std::optional<KvDtype> dt = parseKvDtype(kvDtype);
    if (!dt)
      return main.emitError("tfc-kv-cache: kv-dtype '")
             << kvDtype << "' is not one of f32, f16, int8";
    if (*dt != KvDtype::F32 && kvcache::hasPastInputs(main))
      return main.emitError("tfc-kv-cache: kv-dtype ")
             << kvDtype
             << " is not supported for with-past exports yet (export the "
                "model without past inputs)";
    if (evict && kvcache::hasPastInputs(main))
      return main.emitError("tfc-kv-cache: evict is not supported for "
                            "with-past exports (their graph reads the past "
                            "in position order)");
    if (kvcache::hasPastInputs(main)) {
      if (failed(kvcache::buildFromWithPast(main, maxLen)))
        return failure();
      // Both entries attend with absolute positions (query i + t - s).
      if (window > 0)
        for (Operation *f : {main.getOperation(), main->getNextNode()})
          f->walk([&](AttentionOp a) {
            a.setWindow(a.getWindow() ? std::min<int64_t>(a.getWindow(), window)
                                      : (int64_t)window);
          });
      return success();
    }

    BlockArgument ids = argNamed(main, "input_ids");
    BlockArgument mask = argNamed(main, "attention_mask");
    if (!ids && main.getNumArguments() >= 1)
      ids = main.getArgument(0);
    if (!mask && main.getNumArguments() == 2 && ids != main.getArgument(1))
      mask = main.getArgument(1);
    if (!ids || !isIntMatrix(ids) || (mask && !isIntMatrix(mask)))
      return main.emitError("tfc-kv-cache: expected inputs input_ids [b, n] "
                            "and optionally attention_mask [b, n], integer");
    for (BlockArgument arg : main.getArguments())
      if (arg != ids && arg != mask) {
        auto n =
            main.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "tfc.name");
        return main.emitError("tfc-kv-cache: input '")
               << (n ? n.getValue() : StringRef("?"))
               << "' is not input_ids or attention_mask (the only inputs a "
                  "cached decoder step takes)";
      }
    if (!rtt(ids).isDynamicDim(1))
      return main.emitError("tfc-kv-cache: the sequence length of input_ids "
                            "is static; export with a dynamic sequence axis");

    // The step: a clone of main with new arguments.
    func::FuncOp step = kvcache::cloneAsStep(main);
    if (failed(build(step, ids.getArgNumber(),
                     mask ? (int)mask.getArgNumber() : -1, *dt))) {
      step.erase();
      return failure();
    }
    // The full-sequence entry reads K/V through the cache's rounding, so
    // that both entries compute the same function (and perplexity measures
    // the cache's precision).
    if (*dt != KvDtype::F32)
      for (AttentionOp a : mainAttention) {
        OpBuilder b(a);
        for (unsigned i = 1; i <= 2; ++i) {
          auto [stored, sc] = toCache(b, a.getLoc(), a->getOperand(i), *dt);
          a->setOperand(i, fromCache(b, a.getLoc(), stored, sc, *dt));
        }
      }
    // The window and sinks apply to the full-sequence entry too, so that
    // both entries compute the same function.
    for (AttentionOp a : mainAttention) {
      if (window > 0)
        a.setWindow(a.getWindow() ? std::min<int64_t>(a.getWindow(), window)
                                  : (int64_t)window);
      if (sinks > 0 && a.getWindow())
        a.setSinks(std::max<int64_t>(a.getSinks(), sinks));
    }
    return success();
  }

  LogicalResult build(func::FuncOp step, unsigned idsNo, int maskNo,
                      KvDtype dtype) {
    MLIRContext *ctx = step.getContext();
    Location loc = step.getLoc();
    OpBuilder b(ctx);
    StepBuilder s;
    s.step = step;
    s.dtype = dtype;
    s.ids = step.getArgument(idsNo);

    // Attentions first: their key/value shapes and windows give the cache
    // type.
    SmallVector<Layer> layers;
    SmallVector<AttentionOp> attention;
    step.walk([&](AttentionOp a) { attention.push_back(a); });
    for (AttentionOp a : attention) {
      FailureOr<Layer> l = s.analyze(a, window, sinks);
      if (failed(l))
        return failure();
      if (evict && (a.getBlock() || a.getLayoutAttr()))
        return a.emitOpError("has a block-local / block layout structure: "
                             "a ring cache reads positions out of order, "
                             "which only a window (and sinks) allow");
      if (evict && !layers.empty() && layers.front().sinks != l->sinks)
        return a.emitOpError("has ")
               << l->sinks << " sink keys, the first layer "
               << layers.front().sinks
               << " (a ring cache has one set of sink slots)";
      if (evict && !l->window)
        return a.emitOpError("has no sliding window: eviction (a ring of "
                             "the window's size) needs one on every "
                             "attention (give --kv-window=W)");
      s.ring = evict ? std::max(s.ring, l->window) : 0;
      s.sinkSlots = evict ? l->sinks : 0;
      layers.push_back(*l);
    }
    int64_t ml = ShapedType::kDynamic;
    if (s.ring)
      ml = s.sinkSlots + s.ring;
    else if (maxLen > 0)
      ml = maxLen;
    if (dtype != KvDtype::F32 && !s.elemType.isF32())
      return layers.front().op.emitOpError("cannot be cached as ")
             << kvDtype << ": its keys / values are " << s.elemType
             << ", not f32";
    int64_t numLayers = layers.size();
    SmallVector<int64_t> cacheShape = {numLayers, 2,  ShapedType::kDynamic,
                                       s.heads,   ml, s.headDim};
    Type stored = dtype == KvDtype::F16  ? Type(b.getF16Type())
                  : dtype == KvDtype::I8 ? Type(b.getIntegerType(8))
                                         : s.elemType;
    auto cacheMemref = MemRefType::get(cacheShape, stored);
    auto cacheTensorType = RankedTensorType::get(cacheShape, stored);
    SmallVector<int64_t> scalesShape(cacheShape);
    scalesShape.back() = 1;

    // New arguments after the old ones, then the old mask is dropped:
    // (input_ids, attention_mask [b, T] (ring: window_mask [b, R + n]),
    // past, cache).
    auto idsDims = step.getArgAttrOfType<ArrayAttr>(idsNo, "tfc.dims");
    std::string batchSym = idsDims && idsDims.size() == 2
                               ? cast<StringAttr>(idsDims[0]).str()
                               : "batch";
    auto str = [](int64_t x) { return std::to_string(x); };
    unsigned at = step.getNumArguments();
    auto maskType = RankedTensorType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic}, b.getI64Type());
    if (maskNo >= 0)
      maskType = rtt(step.getArgument(maskNo));
    if (s.ring || maskNo >= 0) {
      if (failed(step.insertArgument(
              at++, maskType,
              s.ring
                  ? kvcache::argAttrs(b, "window_mask",
                                      {batchSym, "window_total"})
                  : kvcache::argAttrs(b, "attention_mask", {batchSym, "total"}),
              loc)))
        return failure();
      s.fullMask = step.getArgument(at - 1);
    }
    auto pastType = RankedTensorType::get({}, b.getI64Type());
    unsigned pastAt = at;
    if (failed(step.insertArgument(at++, pastType,
                                   kvcache::argAttrs(b, "past", {}), loc)) ||
        failed(step.insertArgument(
            at++, cacheMemref,
            kvcache::argAttrs(b, "cache",
                              {str(cacheShape[0]), "2", batchSym, str(s.heads),
                               ml > 0 ? str(ml) : "max_len", str(s.headDim)}),
            loc)))
      return failure();
    if (s.sinkSlots) {
      if (failed(step.insertArgument(
              at++,
              RankedTensorType::get({ShapedType::kDynamic, s.sinkSlots},
                                    b.getI64Type()),
              kvcache::argAttrs(b, "sink_mask", {batchSym, str(s.sinkSlots)}),
              loc)))
        return failure();
      s.sinkMask = step.getArgument(at - 1);
    }
    s.past = step.getArgument(pastAt);
    s.cache = step.getArgument(pastAt + 1);
    if (dtype == KvDtype::I8) {
      if (failed(step.insertArgument(
              at++, MemRefType::get(scalesShape, b.getF32Type()),
              kvcache::argAttrs(b, "cache_scales",
                                {str(cacheShape[0]), "2", batchSym,
                                 str(s.heads), ml > 0 ? str(ml) : "max_len",
                                 "1"}),
              loc)))
        return failure();
      s.scales = step.getArgument(at - 1);
    }

    Block &body = step.getBody().front();
    b.setInsertionPointToStart(&body);
    s.batch = tensor::DimOp::create(b, loc, s.ids, 0);
    s.n = tensor::DimOp::create(b, loc, s.ids, 1);
    Value pastI64 = tensor::ExtractOp::create(b, loc, s.past, ValueRange{});
    s.pastIdx = arith::IndexCastOp::create(b, loc, b.getIndexType(), pastI64);
    s.maskPast = s.ring ? Value(arith::ConstantIndexOp::create(
                              b, loc, s.sinkSlots + s.ring))
                        : s.pastIdx;
    if (s.fullMask) {
      s.total = tensor::DimOp::create(b, loc, s.fullMask, 1);
      if (maskNo >= 0) {
        auto slice = tensor::ExtractSliceOp::create(
            b, loc, maskType, s.fullMask,
            SmallVector<OpFoldResult>{b.getIndexAttr(0), s.maskPast},
            SmallVector<OpFoldResult>{s.batch, s.n},
            SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
        step.getArgument(maskNo).replaceAllUsesWith(slice.getResult());
        s.maskSlice = slice;
      }
    } else {
      s.total = arith::AddIOp::create(b, loc, s.pastIdx, s.n);
    }
    if (s.ring)
      buildRingIndices(b, loc, s);
    s.cacheTensor = bufferization::ToTensorOp::create(
        b, loc, cacheTensorType, s.cache, /*restrict=*/true,
        /*writable=*/true);
    if (s.scales)
      s.scalesTensor = bufferization::ToTensorOp::create(
          b, loc, RankedTensorType::get(scalesShape, b.getF32Type()), s.scales,
          /*restrict=*/true, /*writable=*/true);

    // Positions 0..n-1 of the new tokens (collected before masks are
    // recomputed, whose clones count keys 0..T-1).
    DimRef seq = resolveDim(s.ids, 1);
    SmallVector<RangeOp> positions;
    step.walk([&](RangeOp r) {
      std::optional<int64_t> start = scalarInt(r.getStart());
      std::optional<int64_t> delta = scalarInt(r.getDelta());
      if (start && *start == 0 && delta && *delta == 1 &&
          sameDim(resolveSize(r.getSize()), seq))
        positions.push_back(r);
    });

    for (auto [i, l] : llvm::enumerate(layers))
      if (failed(s.rewrite(l, i)))
        return failure();

    auto ret = cast<func::ReturnOp>(body.getTerminator());
    b.setInsertionPoint(ret);
    bufferization::MaterializeInDestinationOp::create(
        b, loc, TypeRange{}, s.cacheTensor, s.cache, /*restrict=*/true,
        /*writable=*/true);
    if (s.scales)
      bufferization::MaterializeInDestinationOp::create(
          b, loc, TypeRange{}, s.scalesTensor, s.scales, /*restrict=*/true,
          /*writable=*/true);

    for (RangeOp r : positions) {
      b.setInsertionPoint(r);
      Value start = s.past;
      auto et = rtt(r.getStart()).getElementType();
      if (et != b.getI64Type())
        start = CastOp::create(b, r.getLoc(), RankedTensorType::get({}, et),
                               s.past);
      r.getStartMutable().assign(start);
    }
    if (maskNo >= 0 && failed(step.eraseArgument(maskNo)))
      return failure();
    eraseDeadOps(step);
    return success();
  }

  /// Ring mode: the slot arithmetic shared by all layers and the key
  /// validity (window_mask != 0, which is 0 before position 0).
  static void buildRingIndices(OpBuilder &b, Location loc, StepBuilder &s) {
    Value r = arith::ConstantIndexOp::create(b, loc, s.ring); // R
    if (s.sinkSlots) {
      // Positions [past, min(past + n, S)) go to their sink slots.
      Value sIdx = arith::ConstantIndexOp::create(b, loc, s.sinkSlots);
      s.sinkAt = arith::MinUIOp::create(b, loc, s.pastIdx, sIdx);
      s.sinkCount = arith::MinUIOp::create(
          b, loc, s.n, arith::SubIOp::create(b, loc, sIdx, s.sinkAt));
    }
    s.ringStart = arith::RemUIOp::create(b, loc, s.pastIdx, r);
    s.ringHead = arith::SubIOp::create(b, loc, r, s.ringStart);
    Value m = arith::MinUIOp::create(b, loc, s.n, r); // rows kept
    s.skip = arith::SubIOp::create(b, loc, s.n, m);
    Value pos = arith::AddIOp::create(b, loc, s.pastIdx, s.skip);
    s.slot = arith::RemUIOp::create(b, loc, pos, r);
    s.first = arith::MinUIOp::create(b, loc, m,
                                     arith::SubIOp::create(b, loc, r, s.slot));
    s.second = arith::AddIOp::create(b, loc, s.skip, s.first);
    s.rest = arith::SubIOp::create(b, loc, m, s.first);
    auto i1 = RankedTensorType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic}, b.getI1Type());
    Value nz = CastOp::create(b, loc, i1, s.fullMask);
    s.valid = ReshapeOp::create(
        b, loc,
        RankedTensorType::get(
            {ShapedType::kDynamic, 1, 1, ShapedType::kDynamic}, b.getI1Type()),
        nz, ValueRange{s.batch, s.total});
  }
};

} // namespace
