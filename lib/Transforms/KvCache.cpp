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

/// The i1 condition of a float mask `select(c, 0, fill)` whose fill is -inf
/// or a huge negative finite value (the dynamo export's float min), or null.
Value boolMaskOf(Value mask) {
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

/// Builds the step function in place of a clone of the main entry.
struct StepBuilder {
  func::FuncOp step;
  BlockArgument ids, fullMask, past, cache;
  Operation *maskSlice = nullptr; // [b, n] slice standing for the old mask
  Value batch, n, pastIdx, total; // index values
  Value cacheTensor;              // threaded through the insert_slices
  int64_t heads = 0, headDim = 0;
  Type elemType;
  DenseMap<Value, Value> maskAtTotal;

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
  LogicalResult rewrite(AttentionOp a, int64_t layer, int64_t windowOpt);
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
      offsets.push_back(q ? OpFoldResult(pastIdx) : b.getIndexAttr(0));
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

LogicalResult StepBuilder::rewrite(AttentionOp a, int64_t layer,
                                   int64_t windowOpt) {
  OpBuilder b(a);
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
  MaskInfo info;
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
  int64_t window = info.window;
  if (windowOpt > 0)
    window = window ? std::min(window, windowOpt) : windowOpt;
  Value mask;
  if (info.mask) {
    FailureOr<Value> m = recomputeMask(b, info.mask, loc);
    if (failed(m))
      return a.emitOpError("cannot be cached: its mask is not computed from "
                           "attention_mask and the sequence length alone");
    mask = *m;
  }

  // cache[layer, kv, :, :, past:past+n, :] = new rows; read [0, T).
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  auto at = [&](int64_t kv, OpFoldResult pos, OpFoldResult len,
                SmallVector<OpFoldResult> &offsets,
                SmallVector<OpFoldResult> &sizes) {
    offsets = {
        b.getIndexAttr(layer), b.getIndexAttr(kv), zero, zero, pos, zero};
    sizes = {
        one, one, batch, b.getIndexAttr(heads), len, b.getIndexAttr(headDim)};
  };
  SmallVector<OpFoldResult> strides(6, one), offsets, sizes;
  Value rows[2] = {k, v};
  for (int64_t kv = 0; kv < 2; ++kv) {
    at(kv, pastIdx, n, offsets, sizes);
    Value src = rows[kv];
    cacheTensor = tensor::InsertSliceOp::create(b, loc, src, cacheTensor,
                                                offsets, sizes, strides);
  }
  auto rowsType = RankedTensorType::get(
      {ShapedType::kDynamic, heads, ShapedType::kDynamic, headDim}, elemType);
  Value all[2];
  for (int64_t kv = 0; kv < 2; ++kv) {
    at(kv, zero, total, offsets, sizes);
    all[kv] = tensor::ExtractSliceOp::create(b, loc, rowsType, cacheTensor,
                                             offsets, sizes, strides);
  }
  auto cached = AttentionOp::create(b, loc, a.getType(), q, all[0], all[1],
                                    mask, a.getScaleAttr(), b.getBoolAttr(true),
                                    b.getI64IntegerAttr(window));
  a.replaceAllUsesWith(cached.getResult());
  a.erase();
  return success();
}

struct KvCachePass : tfc::impl::TfcKvCacheBase<KvCachePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp main;
    for (auto f : module.getOps<func::FuncOp>()) {
      if (f->hasAttr("tfc.step_entry")) {
        f.emitError("tfc-kv-cache: the module already has a step entry");
        return signalPassFailure();
      }
      if (f->hasAttr("tfc.entry"))
        main = f;
    }
    if (!main || main.isExternal()) {
      module.emitError("tfc-kv-cache: no function marked tfc.entry");
      return signalPassFailure();
    }
    if (failed(run(main)))
      signalPassFailure();
  }

  LogicalResult run(func::FuncOp main) {
    SmallVector<AttentionOp> mainAttention;
    main.walk([&](AttentionOp a) { mainAttention.push_back(a); });
    if (mainAttention.empty())
      return main.emitError("tfc-kv-cache: no tfc.attention in '")
             << main.getSymName()
             << "' (nothing to cache: not a decoder, or attention was not "
                "raised)";
    if (maxLen < 0 || window < 0)
      return main.emitError("tfc-kv-cache: max-len and window must be >= 0");
    if (kvcache::hasPastInputs(main)) {
      if (failed(kvcache::buildFromWithPast(main, maxLen)))
        return failure();
      // Both entries attend with absolute positions (query i + t - s).
      if (window > 0)
        getOperation().walk([&](AttentionOp a) {
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
                     mask ? (int)mask.getArgNumber() : -1))) {
      step.erase();
      return failure();
    }
    // The window applies to the full-sequence entry too, so that both
    // entries compute the same function.
    if (window > 0)
      for (AttentionOp a : mainAttention)
        a.setWindow(a.getWindow() ? std::min<int64_t>(a.getWindow(), window)
                                  : (int64_t)window);
    return success();
  }

  LogicalResult build(func::FuncOp step, unsigned idsNo, int maskNo) {
    MLIRContext *ctx = step.getContext();
    Location loc = step.getLoc();
    OpBuilder b(ctx);
    StepBuilder s;
    s.step = step;
    s.ids = step.getArgument(idsNo);

    // Attentions first: their key/value shapes give the cache type.
    SmallVector<AttentionOp> attention;
    step.walk([&](AttentionOp a) { attention.push_back(a); });
    auto kt = rtt(attention.front().getKey());
    if (kt.getRank() != 4 || kt.isDynamicDim(1) || kt.isDynamicDim(3))
      return attention.front().emitOpError(
          "cannot be cached: key must be [b, h, n, d] with static h and d");
    int64_t layers = attention.size();
    int64_t ml = maxLen > 0 ? (int64_t)maxLen : ShapedType::kDynamic;
    SmallVector<int64_t> cacheShape = {
        layers,           2,  ShapedType::kDynamic,
        kt.getDimSize(1), ml, kt.getDimSize(3)};
    auto cacheMemref = MemRefType::get(cacheShape, kt.getElementType());
    auto cacheTensorType =
        RankedTensorType::get(cacheShape, kt.getElementType());

    // New arguments after the old ones, then the old mask is dropped:
    // (input_ids, attention_mask [b, T], past, cache).
    auto named = [&](StringRef n, ArrayRef<StringRef> dims) {
      SmallVector<Attribute> d;
      for (StringRef x : dims)
        d.push_back(b.getStringAttr(x));
      return b.getDictionaryAttr(
          {b.getNamedAttr("tfc.name", b.getStringAttr(n)),
           b.getNamedAttr("tfc.dims", b.getArrayAttr(d))});
    };
    auto idsDims = step.getArgAttrOfType<ArrayAttr>(idsNo, "tfc.dims");
    StringRef batchSym = idsDims && idsDims.size() == 2
                             ? cast<StringAttr>(idsDims[0]).getValue()
                             : StringRef("batch");
    std::string ls = std::to_string(layers), hs = std::to_string(cacheShape[3]),
                ds = std::to_string(cacheShape[5]),
                ms = maxLen > 0 ? std::to_string(maxLen) : "max_len";
    unsigned at = step.getNumArguments();
    auto maskType = RankedTensorType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic}, b.getI64Type());
    if (maskNo >= 0) {
      maskType = rtt(step.getArgument(maskNo));
      if (failed(step.insertArgument(
              at++, maskType, named("attention_mask", {batchSym, "total"}),
              loc)))
        return failure();
    }
    auto pastType = RankedTensorType::get({}, b.getI64Type());
    if (failed(step.insertArgument(at++, pastType, named("past", {}), loc)) ||
        failed(step.insertArgument(
            at++, cacheMemref, named("cache", {ls, "2", batchSym, hs, ms, ds}),
            loc)))
      return failure();
    s.past = step.getArgument(at - 2);
    s.cache = step.getArgument(at - 1);
    if (maskNo >= 0)
      s.fullMask = step.getArgument(at - 3);

    Block &body = step.getBody().front();
    b.setInsertionPointToStart(&body);
    s.batch = tensor::DimOp::create(b, loc, s.ids, 0);
    s.n = tensor::DimOp::create(b, loc, s.ids, 1);
    Value pastI64 = tensor::ExtractOp::create(b, loc, s.past, ValueRange{});
    s.pastIdx = arith::IndexCastOp::create(b, loc, b.getIndexType(), pastI64);
    if (s.fullMask) {
      s.total = tensor::DimOp::create(b, loc, s.fullMask, 1);
      auto slice = tensor::ExtractSliceOp::create(
          b, loc, maskType, s.fullMask,
          SmallVector<OpFoldResult>{b.getIndexAttr(0), s.pastIdx},
          SmallVector<OpFoldResult>{s.batch, s.n},
          SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
      step.getArgument(maskNo).replaceAllUsesWith(slice.getResult());
      s.maskSlice = slice;
    } else {
      s.total = arith::AddIOp::create(b, loc, s.pastIdx, s.n);
    }
    s.cacheTensor = bufferization::ToTensorOp::create(
        b, loc, cacheTensorType, s.cache, /*restrict=*/true,
        /*writable=*/true);

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

    for (auto [layer, a] : llvm::enumerate(attention))
      if (failed(s.rewrite(a, layer, window)))
        return failure();

    auto ret = cast<func::ReturnOp>(body.getTerminator());
    b.setInsertionPoint(ret);
    bufferization::MaterializeInDestinationOp::create(
        b, loc, TypeRange{}, s.cacheTensor, s.cache, /*restrict=*/true,
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
};

} // namespace
