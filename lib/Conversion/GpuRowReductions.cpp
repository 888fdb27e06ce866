//===- GpuRowReductions.cpp - row reductions as one GPU block per row -----===//
//
// tfc-gpu-row-reductions{block-size}: a linalg.generic on buffers whose last
// loop is its only reduction (the max / sum of softmax, the mean / variance
// sums of layer_norm and rms_norm, tfc.reduce over the last axis) becomes
//
//   scf.parallel (%row, %t) = (0, 0) to (rows, B)   {block_x, thread_x}
//     ivs = delinearize(%row)
//     %p = scf.for %k = %t to K step B iter_args(%a = neutral) {
//            %x = <the generic's body at (ivs, %k)>; combine(%a, %x) }
//     %r = gpu.all_reduce <combine> %p uniform
//     scf.if (%t == 0) { out[ivs] = combine(out[ivs], %r) }
//
// one block per output element ("row"), its B threads striding over the row
// (consecutive threads read consecutive elements), and a block reduction that
// convert-gpu-to-nvvm lowers to warp shuffles plus shared memory. The plain
// mapping (tfc-gpu-map-loops: one thread per output element that loops over
// the whole row) stays reachable: the pass is simply not run
// (tfc --cuda-row-reduce=false), and it is the reference tests compare with.
//
// Only combiners that gpu.all_reduce names (add, mul, max / min of floats and
// signed integers) on 32-bit element types are mapped; the rest keep the
// plain mapping. The loop must be at the top level of a function (host code).
//
//===----------------------------------------------------------------------===//
#include "tfc/Conversion/Pipelines.h"

#include "GpuMapping.h"
#include "GpuRowReductions.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

namespace {

/// The gpu.all_reduce operation of a combiner, if it has one.
std::optional<gpu::AllReduceOperation> reduceKind(Operation *op) {
  using K = gpu::AllReduceOperation;
  if (isa<arith::AddFOp, arith::AddIOp>(op))
    return K::ADD;
  if (isa<arith::MulFOp, arith::MulIOp>(op))
    return K::MUL;
  if (isa<arith::MaximumFOp>(op))
    return K::MAXIMUMF;
  if (isa<arith::MinimumFOp>(op))
    return K::MINIMUMF;
  if (isa<arith::MaxNumFOp>(op))
    return K::MAXNUMF;
  if (isa<arith::MinNumFOp>(op))
    return K::MINNUMF;
  if (isa<arith::MaxSIOp>(op))
    return K::MAXSI;
  if (isa<arith::MinSIOp>(op))
    return K::MINSI;
  return std::nullopt;
}

} // namespace

namespace mlir::tfc::rowops {

std::optional<RowReduction> matchRowReduction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op->getNumRegions() != 1)
    return std::nullopt;
  unsigned n = op.getNumLoops();
  if (n == 0 || op.getNumReductionLoops() != 1 ||
      op.getIteratorTypesArray()[n - 1] != utils::IteratorType::reduction)
    return std::nullopt;
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (outMap.isFunctionOfDim(n - 1))
    return std::nullopt;
  Block &body = op.getRegion().front();
  BlockArgument outArg = body.getArguments().back();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1 || !outArg.hasOneUse())
    return std::nullopt;
  Operation *comb = yield.getOperand(0).getDefiningOp();
  if (!comb || comb->getBlock() != &body || comb->getNumOperands() != 2 ||
      *outArg.getUsers().begin() != comb)
    return std::nullopt;
  Type et = outArg.getType();
  if (!(et.isF32() || et.isInteger(32)))
    return std::nullopt;
  std::optional<gpu::AllReduceOperation> kind = reduceKind(comb);
  std::optional<TypedAttr> neutral = arith::getNeutralElement(comb);
  if (!kind || !neutral)
    return std::nullopt;
  // Plain scalar code only (no nested regions) in the body.
  for (Operation &o : body.without_terminator())
    if (o.getNumRegions() != 0)
      return std::nullopt;
  return RowReduction{comb, *kind, *neutral};
}

/// Loads operand `opnd` of `op` at the loop indices `ivs`.
Value loadAt(OpBuilder &b, Location loc, linalg::GenericOp op, OpOperand *opnd,
             ValueRange ivs) {
  Value v = opnd->get();
  if (!isa<MemRefType>(v.getType()))
    return v; // a scalar operand
  AffineMap map = op.getMatchingIndexingMap(opnd);
  SmallVector<Value> idx;
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    idx.push_back(
        affine::AffineApplyOp::create(b, loc, map.getSubMap({r}), ivs));
  return memref::LoadOp::create(b, loc, v, idx);
}

/// The element of `opnd` at loop indices `ivs` through `map`.
SmallVector<Value> indicesAt(OpBuilder &b, Location loc, AffineMap map,
                             ValueRange ivs) {
  SmallVector<Value> idx;
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    idx.push_back(
        affine::AffineApplyOp::create(b, loc, map.getSubMap({r}), ivs));
  return idx;
}

Value RowBlock::threads(OpBuilder &b, Location loc, Value rows,
                        int64_t staticRows) const {
  if (fewRows <= 0 || fewSize <= 0 || fewSize == size)
    return arith::ConstantIndexOp::create(b, loc, size);
  if (staticRows >= 0)
    return arith::ConstantIndexOp::create(b, loc,
                                          staticRows <= fewRows ? fewSize : size);
  Value few = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ule, rows,
      arith::ConstantIndexOp::create(b, loc, fewRows));
  return arith::SelectOp::create(b, loc, few,
                                 arith::ConstantIndexOp::create(b, loc, fewSize),
                                 arith::ConstantIndexOp::create(b, loc, size));
}

} // namespace mlir::tfc::rowops

using namespace mlir::tfc::rowops;

namespace {

LogicalResult rewrite(linalg::GenericOp op, const RowReduction &rr,
                      const RowBlock &block) {
  unsigned n = op.getNumLoops();
  // A grid of one (or no) block: canonicalization would fold the row loop
  // away, leaving a thread loop that the plain mapping would guard. Keep the
  // plain mapping for it.
  SmallVector<int64_t> staticRanges = op.getStaticLoopRanges();
  int64_t staticRows = 1;
  for (unsigned d = 0; d + 1 < n; ++d)
    staticRows = ShapedType::isDynamic(staticRanges[d]) || staticRows < 0
                     ? -1
                     : staticRows * staticRanges[d];
  if (staticRows >= 0 && staticRows <= 1)
    return failure();
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<Range, 4> ranges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  // Rows: the product of the parallel trip counts (offsets 0, strides 1).
  SmallVector<Value> trips;
  Value rows = c1;
  for (unsigned d = 0; d + 1 < n; ++d) {
    Value t = getValueOrCreateConstantIndexOp(b, loc, ranges[d].size);
    trips.push_back(t);
    rows = arith::MulIOp::create(b, loc, rows, t);
  }
  Value cB = block.threads(b, loc, rows, staticRows);
  Value len = getValueOrCreateConstantIndexOp(b, loc, ranges[n - 1].size);
  auto grid = scf::ParallelOp::create(b, loc, ValueRange{c0, c0},
                                      ValueRange{rows, cB}, ValueRange{c1, c1});
  b.setInsertionPointToStart(grid.getBody());
  Value row = grid.getInductionVars()[0], thr = grid.getInductionVars()[1];
  SmallVector<Value> ivs(n);
  Value rest = row;
  for (int64_t d = static_cast<int64_t>(n) - 2; d >= 0; --d) {
    if (d > 0) {
      ivs[d] = arith::RemUIOp::create(b, loc, rest, trips[d]);
      rest = arith::DivUIOp::create(b, loc, rest, trips[d]);
    } else {
      ivs[d] = rest;
    }
  }
  Block &body = op.getRegion().front();
  BlockArgument outArg = body.getArguments().back();
  Value neutral = arith::ConstantOp::create(b, loc, rr.neutral);
  // Each thread: its partial over k = t, t + B, ... (coalesced across the
  // block's threads).
  auto loop = scf::ForOp::create(b, loc, thr, len, cB, ValueRange{neutral});
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    ivs[n - 1] = loop.getInductionVar();
    IRMapping map;
    for (OpOperand *in : op.getDpsInputOperands())
      map.map(body.getArgument(in->getOperandNumber()),
              loadAt(b, loc, op, in, ivs));
    map.map(outArg, loop.getRegionIterArgs()[0]);
    for (Operation &o : body.without_terminator()) {
      if (auto index = dyn_cast<linalg::IndexOp>(o)) {
        map.map(index.getResult(), ivs[index.getDim()]);
        continue;
      }
      b.clone(o, map);
    }
    scf::YieldOp::create(b, loc, map.lookup(rr.combine->getResult(0)));
  }
  Value partial = loop.getResult(0);
  Value all = gpu::AllReduceOp::create(
      b, loc, partial,
      gpu::AllReduceOperationAttr::get(b.getContext(), rr.kind),
      b.getUnitAttr());
  // Thread 0 folds the block's value into the output (its initial value).
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, thr, c0);
  auto ifOp = scf::IfOp::create(b, loc, first, /*withElse=*/false);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  ivs[n - 1] = c0;
  OpOperand *out = op.getDpsInitOperand(0);
  AffineMap outMap = op.getMatchingIndexingMap(out);
  SmallVector<Value> idx;
  for (unsigned r = 0; r < outMap.getNumResults(); ++r)
    idx.push_back(
        affine::AffineApplyOp::create(b, loc, outMap.getSubMap({r}), ivs));
  Value old = memref::LoadOp::create(b, loc, out->get(), idx);
  IRMapping fold;
  fold.map(outArg, old);
  Value x = rr.combine->getOperand(0) == outArg ? rr.combine->getOperand(1)
                                                : rr.combine->getOperand(0);
  fold.map(x, all);
  Value v = b.clone(*rr.combine, fold)->getResult(0);
  memref::StoreOp::create(b, loc, v, out->get(), idx);

  if (failed(mlir::tfc::mapBlocksThreads(grid)))
    return failure();
  op.erase();
  return success();
}

struct GpuRowReductionsPass
    : public PassWrapper<GpuRowReductionsPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GpuRowReductionsPass)
  GpuRowReductionsPass() = default;
  GpuRowReductionsPass(const GpuRowReductionsPass &o) : PassWrapper(o) {}
  GpuRowReductionsPass(int64_t b, bool f, int64_t w, bool r, int64_t u,
                       int64_t fr, int64_t fb, int64_t v) {
    vector = v;
    blockSize = b;
    fewRows = fr;
    fewBlockSize = fb;
    fuse = f;
    warpRows = w;
    remat = r;
    unroll = u;
  }
  StringRef getArgument() const override { return "tfc-gpu-row-reductions"; }
  StringRef getDescription() const override {
    return "Map each linalg.generic (buffers) whose last loop is its only "
           "reduction to one GPU block per output element: threads stride "
           "over the row, then a block reduction (gpu.all_reduce)";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<affine::AffineDialect, arith::ArithDialect, scf::SCFDialect,
             gpu::GPUDialect, memref::MemRefDialect, NVVM::NVVMDialect,
             vector::VectorDialect>();
  }
  Option<bool> fuse{*this, "fuse",
                    llvm::cl::desc("Fuse runs of row ops (norms, softmax: "
                                   "elementwise, fill, copy and reductions "
                                   "over the same rows) into one block per "
                                   "row"),
                    llvm::cl::init(false)};
  Option<bool> remat{
      *this, "remat",
      llvm::cl::desc("With fuse: recompute a chain's elementwise "
                     "intermediates where later ops read them instead of "
                     "storing them"),
      llvm::cl::init(false)};
  Option<int64_t> unroll{
      *this, "unroll",
      llvm::cl::desc("With fuse: row elements each thread loads together "
                     "per loop iteration (1: one)"),
      llvm::cl::init(1)};
  Option<int64_t> vector{
      *this, "vector",
      llvm::cl::desc("With fuse: a thread takes groups of this many "
                     "consecutive row elements, each contiguous access one "
                     "vector load / store where the buffers are aligned at "
                     "run time (1: one element at a time; 1, 2, 4 or 8)"),
      llvm::cl::init(1)};
  Option<int64_t> registers{
      *this, "registers",
      llvm::cl::desc("With fuse: chains whose row loops all have a static "
                     "length of at most this many elements a thread keep "
                     "the row's recomputed values in registers, every loop "
                     "emitted straight-line (0: off; at most 64)"),
      llvm::cl::init(0)};
  Option<int64_t> warpRows{
      *this, "warp-rows",
      llvm::cl::desc("With fuse: a warp per row of a chain and this many "
                     "rows per block (0: a block of block-size threads per "
                     "row)"),
      llvm::cl::init(0)};
  Option<int64_t> blockSize{*this, "block-size",
                            llvm::cl::desc("Threads per block (one row each)"),
                            llvm::cl::init(128)};
  Option<int64_t> fewRows{
      *this, "few-rows",
      llvm::cl::desc("Grids of at most this many rows take blocks of "
                     "few-block-size threads (0: never)"),
      llvm::cl::init(0)};
  Option<int64_t> fewBlockSize{
      *this, "few-block-size",
      llvm::cl::desc("Threads per block (one row each) of a grid of at most "
                     "few-rows rows"),
      llvm::cl::init(0)};

  void runOnOperation() override {
    if (blockSize < 32 || blockSize > 1024 || blockSize % 32 != 0) {
      getOperation().emitError("tfc-gpu-row-reductions: block-size must be a "
                               "multiple of 32 in [32, 1024], got ")
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    if (warpRows < 0 || warpRows > 32) {
      getOperation().emitError("tfc-gpu-row-reductions: warp-rows must be "
                               "in [0, 32], got ")
          << static_cast<int64_t>(warpRows);
      return signalPassFailure();
    }
    if (unroll < 1 || unroll > 16) {
      getOperation().emitError("tfc-gpu-row-reductions: unroll must be in "
                               "[1, 16], got ")
          << static_cast<int64_t>(unroll);
      return signalPassFailure();
    }
    if (fewRows < 0 || (fewRows > 0 && fewBlockSize != 0 &&
                        (fewBlockSize < 32 || fewBlockSize > 1024 ||
                         fewBlockSize % 32 != 0))) {
      getOperation().emitError("tfc-gpu-row-reductions: few-rows must be >= "
                               "0 and few-block-size 0 (off) or a multiple of "
                               "32 in [32, 1024], got ")
          << static_cast<int64_t>(fewRows) << " / "
          << static_cast<int64_t>(fewBlockSize);
      return signalPassFailure();
    }
    if (vector != 1 && vector != 2 && vector != 4 && vector != 8) {
      getOperation().emitError("tfc-gpu-row-reductions: vector must be 1, 2, "
                               "4 or 8, got ")
          << static_cast<int64_t>(vector);
      return signalPassFailure();
    }
    if (registers < 0 || registers > 64) {
      getOperation().emitError("tfc-gpu-row-reductions: registers must be "
                               "in [0, 64], got ")
          << static_cast<int64_t>(registers);
      return signalPassFailure();
    }
    RowBlock block{blockSize, fewRows, fewBlockSize};
    if (fuse)
      (void)fuseRowChains(getOperation(), block, warpRows, remat, unroll,
                          vector, registers);
    SmallVector<std::pair<linalg::GenericOp, RowReduction>> todo;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op->getParentOfType<scf::ParallelOp>() ||
          op->getParentOfType<scf::ForOp>() ||
          op->getParentOfType<gpu::LaunchOp>())
        return;
      if (std::optional<RowReduction> rr = matchRowReduction(op))
        todo.push_back({op, *rr});
    });
    for (auto &[op, rr] : todo)
      (void)rewrite(op, rr, block); // refused: the plain mapping
  }
};

} // namespace

std::unique_ptr<Pass> mlir::tfc::createGpuRowReductionsPass(int64_t blockSize,
                                                             bool fuse,
                                                             int64_t warpRows,
                                                             bool remat,
                                                             int64_t unroll,
                                                             int64_t fewRows,
                                                             int64_t fewBlock,
                                                             int64_t vector) {
  return std::make_unique<GpuRowReductionsPass>(blockSize, fuse, warpRows,
                                                remat, unroll, fewRows,
                                                fewBlock, vector);
}

void mlir::tfc::registerGpuRowReductionsPass() {
  PassRegistration<GpuRowReductionsPass>();
}
