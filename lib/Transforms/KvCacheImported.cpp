//===- KvCacheImported.cpp - with-past exports onto the cached step -------===//
//
// An Optimum-style "with-past" export already computes one step:
//   main(input_ids [b, n], attention_mask [b, T], past_key_values.<l>.key /
//        .value [b, h, past, d]) -> (logits, present.<l>.key / .value)
// with present = concat(past, new rows) along the sequence, and positions and
// masks derived from the past length inside the graph. tfc-kv-cache maps it
// onto the same two entries as a full-sequence export:
//   - step: each past input becomes rows [0, past) of the session's cache,
//     each present's concat becomes "insert the new rows at past, read rows
//     [0, T)" (the graph's attention, mask and positions are kept as they
//     are: they already handle a past); the present outputs go;
//   - main: the past inputs become empty [b, h, 0, d] tensors and the present
//     outputs go, which is the full-sequence model (its signature is the
//     plain one, within the runtime's input limit whatever the layer count).
// Refused with a diagnostic: a present that is not concat(its past, rows),
// missing or duplicated layers, key/value shapes that differ.
//
//===----------------------------------------------------------------------===//
#include "KvCache.h"
#include "RaiseUtils.h"
#include "tfc/Transforms/Passes.h"

#include "llvm/ADT/BitVector.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::raise;

namespace {

/// "<prefix><l>.key" / "<prefix><l>.value" -> (l, 0 / 1).
bool parseKv(StringRef name, StringRef prefix, int64_t &layer, int64_t &kv) {
  if (!name.consume_front(prefix))
    return false;
  auto [num, rest] = name.split('.');
  if (num.getAsInteger(10, layer) || layer < 0)
    return false;
  if (rest == "key")
    kv = 0;
  else if (rest == "value")
    kv = 1;
  else
    return false;
  return true;
}

StringRef nameOf(DictionaryAttr attrs) {
  auto n = attrs ? attrs.getAs<StringAttr>("tfc.name") : StringAttr();
  return n ? n.getValue() : StringRef();
}

struct Slot {
  int64_t layer, kv;
};

} // namespace

bool kvcache::hasPastInputs(func::FuncOp main) {
  for (unsigned i = 0; i < main.getNumArguments(); ++i) {
    int64_t l, kv;
    if (parseKv(nameOf(main.getArgAttrDict(i)), "past_key_values.", l, kv))
      return true;
  }
  return false;
}

LogicalResult kvcache::buildFromWithPast(func::FuncOp main, int64_t maxLen) {
  // Inputs and outputs by name.
  BlockArgument ids = argNamed(main, "input_ids");
  BlockArgument mask = argNamed(main, "attention_mask");
  DenseMap<unsigned, Slot> pastArgs; // arg number -> slot
  DenseMap<unsigned, Slot> presents; // result number -> slot
  int64_t layers = 0;
  for (unsigned i = 0; i < main.getNumArguments(); ++i) {
    BlockArgument a = main.getArgument(i);
    if (a == ids || a == mask)
      continue;
    StringRef n = nameOf(main.getArgAttrDict(i));
    Slot s;
    if (!parseKv(n, "past_key_values.", s.layer, s.kv))
      return main.emitError("tfc-kv-cache: input '")
             << n
             << "' of a with-past export is not input_ids, "
                "attention_mask or past_key_values.<l>.key/value";
    pastArgs[i] = s;
    layers = std::max(layers, s.layer + 1);
  }
  for (unsigned i = 0; i < main.getNumResults(); ++i) {
    Slot s;
    if (parseKv(nameOf(main.getResultAttrDict(i)), "present.", s.layer, s.kv))
      presents[i] = s;
  }
  if (!ids || !rtt(ids) || rtt(ids).getRank() != 2 || !mask)
    return main.emitError("tfc-kv-cache: a with-past export needs input_ids "
                          "[b, n] and attention_mask [b, past + n]");
  if ((int64_t)pastArgs.size() != 2 * layers ||
      (int64_t)presents.size() != 2 * layers || main.getNumResults() < 1 ||
      presents.count(0))
    return main.emitError("tfc-kv-cache: expected past_key_values.<l>.key/"
                          "value inputs and present.<l>.key/value outputs "
                          "for every layer l < ")
           << layers << " after the logits";

  // Every present is concat(its past input, new rows) along dim 2.
  auto ret = cast<func::ReturnOp>(main.getBody().front().getTerminator());
  SmallVector<Value> pastOf(2 * layers);
  for (auto [argNo, s] : pastArgs) {
    if (pastOf[2 * s.layer + s.kv])
      return main.emitError("tfc-kv-cache: two inputs for past layer ")
             << s.layer;
    pastOf[2 * s.layer + s.kv] = main.getArgument(argNo);
  }
  auto pt = rtt(pastOf[0]);
  if (!pt || pt.getRank() != 4 || pt.isDynamicDim(1) || pt.isDynamicDim(3))
    return main.emitError("tfc-kv-cache: past keys must be [b, h, past, d] "
                          "with static h and d");
  for (Value p : pastOf)
    if (p.getType() != pastOf[0].getType())
      return main.emitError("tfc-kv-cache: past keys/values of different "
                            "types (one cache shape for all layers)");
  for (auto [resNo, s] : presents) {
    auto cat = ret.getOperand(resNo).getDefiningOp<tensor::ConcatOp>();
    if (!cat || cat.getDim() != 2 || cat.getInputs().size() != 2 ||
        cat.getInputs()[0] != pastOf[2 * s.layer + s.kv])
      return main.emitError("tfc-kv-cache: output '")
             << nameOf(main.getResultAttrDict(resNo))
             << "' is not concat(its past input, new rows) along the "
                "sequence";
  }
  int64_t heads = pt.getDimSize(1), headDim = pt.getDimSize(3);
  Type et = pt.getElementType();

  // The step.
  func::FuncOp step = cloneAsStep(main);
  OpBuilder b(step.getContext());
  Location loc = step.getLoc();
  int64_t ml = maxLen > 0 ? maxLen : ShapedType::kDynamic;
  SmallVector<int64_t> cacheShape = {layers, 2,  ShapedType::kDynamic,
                                     heads,  ml, headDim};
  auto idsDims =
      main.getArgAttrOfType<ArrayAttr>(ids.getArgNumber(), "tfc.dims");
  std::string batchSym = idsDims && idsDims.size() == 2
                             ? cast<StringAttr>(idsDims[0]).str()
                             : "batch";
  unsigned at = step.getNumArguments();
  if (failed(step.insertArgument(at, RankedTensorType::get({}, b.getI64Type()),
                                 argAttrs(b, "past", {}), loc)) ||
      failed(step.insertArgument(
          at + 1, MemRefType::get(cacheShape, et),
          argAttrs(b, "cache",
                   {std::to_string(layers), "2", batchSym,
                    std::to_string(heads),
                    maxLen > 0 ? std::to_string(maxLen) : "max_len",
                    std::to_string(headDim)}),
          loc)))
    return failure();
  Value past = step.getArgument(at), cache = step.getArgument(at + 1);
  Value sIds = step.getArgument(ids.getArgNumber());
  Value sMask = step.getArgument(mask.getArgNumber());

  Block &body = step.getBody().front();
  b.setInsertionPointToStart(&body);
  Value batch = tensor::DimOp::create(b, loc, sIds, 0);
  Value n = tensor::DimOp::create(b, loc, sIds, 1);
  Value total = tensor::DimOp::create(b, loc, sMask, 1);
  Value pastIdx = arith::IndexCastOp::create(
      b, loc, b.getIndexType(),
      tensor::ExtractOp::create(b, loc, past, ValueRange{}));
  (void)n;
  Value cacheTensor = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get(cacheShape, et), cache,
      /*restrict=*/true, /*writable=*/true);
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  SmallVector<OpFoldResult> strides(6, one);
  auto rows = [&](Slot s, OpFoldResult from, OpFoldResult len,
                  SmallVector<OpFoldResult> &offsets,
                  SmallVector<OpFoldResult> &sizes) {
    offsets = {
        b.getIndexAttr(s.layer), b.getIndexAttr(s.kv), zero, zero, from, zero};
    sizes = {
        one, one, batch, b.getIndexAttr(heads), len, b.getIndexAttr(headDim)};
  };
  auto rowsType = RankedTensorType::get(
      {ShapedType::kDynamic, heads, ShapedType::kDynamic, headDim}, et);
  SmallVector<OpFoldResult> offsets, sizes;
  // Past inputs: the cached rows [0, past).
  for (auto [argNo, s] : pastArgs) {
    rows(s, zero, pastIdx, offsets, sizes);
    Value cached = tensor::ExtractSliceOp::create(b, loc, rowsType, cacheTensor,
                                                  offsets, sizes, strides);
    if (cached.getType() != step.getArgument(argNo).getType())
      cached = tensor::CastOp::create(b, loc, step.getArgument(argNo).getType(),
                                      cached);
    step.getArgument(argNo).replaceAllUsesWith(cached);
  }
  // Presents, in program order: write the new rows, read [0, T).
  auto sret = cast<func::ReturnOp>(body.getTerminator());
  DenseMap<Operation *, Slot> concatSlot;
  for (auto [resNo, s] : presents)
    concatSlot[sret.getOperand(resNo).getDefiningOp()] = s;
  for (Operation &op : llvm::make_early_inc_range(body)) {
    auto it = concatSlot.find(&op);
    if (it == concatSlot.end())
      continue;
    auto cat = cast<tensor::ConcatOp>(op);
    b.setInsertionPoint(cat);
    rows(it->second, pastIdx, n, offsets, sizes);
    cacheTensor =
        tensor::InsertSliceOp::create(b, cat.getLoc(), cat.getInputs()[1],
                                      cacheTensor, offsets, sizes, strides);
    rows(it->second, zero, total, offsets, sizes);
    Value all = tensor::ExtractSliceOp::create(
        b, cat.getLoc(), rowsType, cacheTensor, offsets, sizes, strides);
    if (all.getType() != cat.getType())
      all = tensor::CastOp::create(b, cat.getLoc(), cat.getType(), all);
    cat.getResult().replaceAllUsesWith(all);
    cat.erase();
  }
  b.setInsertionPoint(sret);
  bufferization::MaterializeInDestinationOp::create(
      b, loc, TypeRange{}, cacheTensor, cache, /*restrict=*/true,
      /*writable=*/true);
  llvm::BitVector presentResults(step.getNumResults()),
      pastInputs(step.getNumArguments());
  for (auto [resNo, s] : presents)
    presentResults.set(resNo);
  for (auto [argNo, s] : pastArgs)
    pastInputs.set(argNo);
  sret->eraseOperands(presentResults);
  if (failed(step.eraseResults(presentResults)) ||
      failed(step.eraseArguments(pastInputs)))
    return failure();
  eraseDeadOps(step);

  // Main: the full-sequence model (empty past, no presents).
  OpBuilder mb(main.getContext());
  Block &mbody = main.getBody().front();
  mb.setInsertionPointToStart(&mbody);
  Value mBatch = tensor::DimOp::create(mb, loc, ids, 0);
  for (auto [argNo, s] : pastArgs) {
    Value empty = tensor::EmptyOp::create(
        mb, loc, ArrayRef<int64_t>{ShapedType::kDynamic, heads, 0, headDim}, et,
        ValueRange{mBatch});
    Value cast = tensor::CastOp::create(
        mb, loc, main.getArgument(argNo).getType(), empty);
    main.getArgument(argNo).replaceAllUsesWith(cast);
  }
  llvm::BitVector mainPast(main.getNumArguments());
  for (auto [argNo, s] : pastArgs)
    mainPast.set(argNo);
  ret->eraseOperands(presentResults);
  if (failed(main.eraseResults(presentResults)) ||
      failed(main.eraseArguments(mainPast)))
    return failure();
  eraseDeadOps(main);
  return success();
}
