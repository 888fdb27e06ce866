//===- GpuPipeline.cpp - linalg -> NVVM kernels + host code (CUDA) --------===//
//
// The GPU pipeline (--target=cuda, docs/DESIGN.md "GPU") starts from the same
// linalg-on-tensors IR as the CPU one (toLinalgPipeline) and shares its
// bufferization and weights externalization; then:
//
//   tfc-externalize-weights{min-bytes=1}   every constant the file can hold
//   tfc-gpu-copy-constants                 what stays in the object (i1) is
//                                          copied into a runtime buffer
//   buffer-deallocation-pipeline
//   tfc-gpu-row-reductions{block-size}     reductions over the last loop ->
//                                          one block per row (own file)
//   convert-linalg-to-parallel-loops       parallel dims -> scf.parallel,
//                                          reductions -> scf.for inside
//   tfc-gpu-map-loops{block-size}          each top-level scf.parallel ->
//                                          one 1-D grid of blocks x threads
//   tfc-gpu-merge-kernels                  consecutive independent grids ->
//                                          one launch (own file)
//   convert-parallel-loops-to-gpu, gpu-kernel-outlining
//   nvvm-attach-target, convert-gpu-to-nvvm, gpu-module-to-binary
//   host: the CPU pipeline's LLVM lowering + gpu-to-llvm (mgpu* calls that
//         libtfcrt implements over the CUDA driver API)
//
// This is the plain reference mapping (one thread per output element, no
// tiling, no shared memory, matmuls as loops): correctness first.
//
//===----------------------------------------------------------------------===//
#include "tfc/Conversion/Pipelines.h"

#include "GpuMapping.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/Support/FileSystem.h"
#include <cstdlib>

using namespace mlir;

namespace {

/// Replaces each memref.get_global in a host function by a fresh buffer
/// filled by `tfcrt_gpu_upload(dst, src, bytes)`: globals live in the
/// object's read-only data, which a kernel cannot read, while buffers from
/// the runtime's allocator are device memory during a GPU run (the runtime
/// uploads each constant once and copies it on the device). Runs before
/// buffer deallocation, which then frees the copies.
struct GpuCopyConstantsPass
    : public PassWrapper<GpuCopyConstantsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GpuCopyConstantsPass)
  StringRef getArgument() const override { return "tfc-gpu-copy-constants"; }
  StringRef getDescription() const override {
    return "Copy each memref.get_global of a host function into an allocated "
           "buffer (tfcrt_gpu_upload: device memory during a GPU run); "
           "refuses non-static globals";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<memref::MemRefDialect, arith::ArithDialect, func::FuncDialect>();
  }
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<memref::GetGlobalOp> gets;
    module.walk([&](func::FuncOp f) {
      f.walk([&](memref::GetGlobalOp g) { gets.push_back(g); });
    });
    if (gets.empty())
      return;
    OpBuilder b(&getContext());
    Type i64 = b.getI64Type();
    constexpr StringLiteral kUpload = "tfcrt_gpu_upload";
    if (!module.lookupSymbol<func::FuncOp>(kUpload)) {
      b.setInsertionPointToStart(module.getBody());
      auto decl = func::FuncOp::create(
          b, module.getLoc(), kUpload,
          b.getFunctionType({i64, i64, i64}, {}));
      decl.setPrivate();
    }
    for (memref::GetGlobalOp g : gets) {
      MemRefType t = g.getType();
      if (!t.hasStaticShape() || !t.getLayout().isIdentity()) {
        g.emitOpError("tfc-gpu-copy-constants: global of type ")
            << t << " is not a static identity-layout memref";
        return signalPassFailure();
      }
      Location loc = g.getLoc();
      b.setInsertionPointAfter(g);
      auto buf = memref::AllocOp::create(
          b, loc, MemRefType::get(t.getShape(), t.getElementType()));
      g.getResult().replaceAllUsesWith(buf.getResult());
      int64_t elemBytes =
          (t.getElementType().getIntOrFloatBitWidth() + 7) / 8;
      auto ptr = [&](Value m) -> Value {
        Value idx = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, m);
        return arith::IndexCastOp::create(b, loc, i64, idx);
      };
      Value bytes = arith::ConstantIntOp::create(
          b, loc, i64, t.getNumElements() * elemBytes);
      func::CallOp::create(b, loc, kUpload, TypeRange{},
                           ValueRange{ptr(buf), ptr(g.getResult()), bytes});
    }
  }
};

/// True iff `op` is host code: not inside a loop that becomes a kernel.
bool onHost(Operation *op) {
  return !op->getParentOfType<scf::ParallelOp>() &&
         !op->getParentOfType<gpu::LaunchOp>() &&
         !op->getParentOfType<gpu::GPUModuleOp>();
}

/// Buffers are device memory during a GPU run, so host code must not touch
/// their contents. After convert-linalg-to-parallel-loops, in host code:
///   - memref.copy becomes an scf.parallel nest of loads and stores (a
///     kernel once mapped);
///   - a memref.store, or a host scf.for whose body reads or writes memory
///     (a linalg op with no parallel dim), is wrapped into a one-iteration
///     scf.parallel: one GPU thread runs it;
///   - a memref.load whose value host code needs is an error, except from a
///     rank-0 integer argument (a scalar input, which the runtime passes in
///     pinned memory both sides read);
///   - values a GPU loop takes from host code and that derive from such a
///     scalar (its load, integer arithmetic on it, views whose offsets or
///     sizes use it) are recomputed inside the loop, so that the kernel
///     reads the scalar itself and the launch does not bake its value in
///     (a KV-cache step's `past`: its CUDA graph then serves every
///     position). A function whose host code is left without such a read
///     gets `tfc.scalars_on_device`.
struct GpuDeviceMemoryPass
    : public PassWrapper<GpuDeviceMemoryPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GpuDeviceMemoryPass)
  StringRef getArgument() const override { return "tfc-gpu-device-memory"; }
  StringRef getDescription() const override {
    return "Move the buffer accesses of host code into GPU loops "
           "(memref.copy -> scf.parallel; host stores and loops over memory "
           "-> one-thread scf.parallel); host loads are refused";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<arith::ArithDialect, scf::SCFDialect, memref::MemRefDialect>();
  }

  static bool touchesMemory(Operation *op) {
    bool any = false;
    op->walk([&](Operation *o) {
      if (isa<memref::LoadOp, memref::StoreOp, memref::CopyOp>(o))
        any = true;
    });
    return any;
  }

  /// A rank-0 integer argument of the function (through casts): the
  /// runtime passes such inputs of a GPU model in pinned host memory that the
  /// device reads too (docs/DESIGN.md "Scalar inputs"), so host code may
  /// read them: a KV-cache step's `past`, which sets the cache rows it writes.
  static bool isHostScalarArg(Value m) {
    while (Operation *def = m.getDefiningOp()) {
      if (!isa<memref::CastOp, memref::ReinterpretCastOp>(def))
        return false;
      m = def->getOperand(0);
    }
    auto arg = dyn_cast<BlockArgument>(m);
    auto t = dyn_cast<MemRefType>(m.getType());
    return arg && t && t.getRank() == 0 &&
           isa<func::FuncOp>(arg.getOwner()->getParentOp()) &&
           t.getElementType().isSignlessInteger();
  }

  /// True iff `v` is computed on the host from a scalar argument's load by
  /// ops that can be recomputed in a kernel (integer arithmetic, casts,
  /// views).
  static bool fromScalar(Value v, DenseMap<Value, bool> &memo) {
    auto it = memo.find(v);
    if (it != memo.end())
      return it->second;
    memo[v] = false; // no cycles in SSA, but keep the walk finite
    bool result = false;
    if (Operation *def = v.getDefiningOp()) {
      if (auto load = dyn_cast<memref::LoadOp>(def)) {
        result = isHostScalarArg(load.getMemRef());
      } else if (isa<arith::ArithDialect>(def->getDialect()) ||
                 isa<memref::SubViewOp, memref::CastOp,
                     memref::ReinterpretCastOp, memref::ExpandShapeOp,
                     memref::CollapseShapeOp, memref::DimOp>(def)) {
        if (def->getNumRegions() == 0)
          for (Value o : def->getOperands())
            result |= fromScalar(o, memo);
      }
    }
    return memo[v] = result;
  }

  /// Clones into `b`'s block the host ops that compute `v` from scalar
  /// loads (values that do not derive from a scalar are used as they are).
  static Value cloneChain(OpBuilder &b, Value v, IRMapping &map,
                          DenseMap<Value, bool> &memo) {
    if (Value m = map.lookupOrNull(v))
      return m;
    if (!fromScalar(v, memo))
      return v;
    Operation *def = v.getDefiningOp();
    for (Value o : def->getOperands())
      map.map(o, cloneChain(b, o, map, memo));
    Operation *c = b.clone(*def, map);
    return c->getResult(cast<OpResult>(v).getResultNumber());
  }

  /// Recomputes inside each top-level GPU loop the values it takes from the
  /// host that derive from a scalar argument.
  static void sinkScalars(func::FuncOp f) {
    DenseMap<Value, bool> memo;
    // The loops that become kernels: not inside another one (at the top
    // level or under host control flow such as scf.if).
    SmallVector<scf::ParallelOp> loops;
    f.walk([&](scf::ParallelOp p) {
      if (onHost(p) && !p->getParentOfType<scf::ForOp>())
        loops.push_back(p);
    });
    for (scf::ParallelOp p : loops) {
      llvm::SetVector<Value> above;
      getUsedValuesDefinedAbove(p.getRegion(), above);
      OpBuilder b(p.getBody(), p.getBody()->begin());
      IRMapping map;
      for (Value v : above) {
        if (!fromScalar(v, memo))
          continue;
        Value inner = cloneChain(b, v, map, memo);
        replaceAllUsesInRegionWith(v, inner, p.getRegion());
      }
    }
    // The host copies left without users.
    bool changed = true;
    while (changed) {
      changed = false;
      SmallVector<Operation *> dead;
      f.walk([&](Operation *op) {
        if (onHost(op) && op->getNumResults() && op->use_empty() &&
            op->getNumRegions() == 0 && !isa<func::CallOp>(op) &&
            llvm::all_of(op->getResults(),
                         [&](Value r) { return fromScalar(r, memo); }))
          dead.push_back(op);
      });
      for (Operation *op : dead)
        op->erase();
      changed = !dead.empty();
    }
    bool hostReads = false;
    f.walk([&](memref::LoadOp load) {
      if (onHost(load) && isHostScalarArg(load.getMemRef()))
        hostReads = true;
    });
    bool hasScalars = llvm::any_of(f.getArguments(), [](BlockArgument a) {
      auto t = dyn_cast<MemRefType>(a.getType());
      return t && t.getRank() == 0;
    });
    if (hasScalars && !hostReads)
      f->setAttr("tfc.scalars_on_device", UnitAttr::get(f.getContext()));
  }

  static void wrapOneThread(Operation *op) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    auto par = scf::ParallelOp::create(b, loc, ValueRange{c0}, ValueRange{c1},
                                       ValueRange{c1});
    op->moveBefore(par.getBody()->getTerminator());
  }

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (f.isExternal())
      return;
    bool failedAny = false;
    SmallVector<memref::CopyOp> copies;
    SmallVector<Operation *> wrap;
    f.walk([&](Operation *op) {
      if (!onHost(op))
        return;
      if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        copies.push_back(copy);
      } else if (isa<memref::StoreOp>(op)) {
        if (!op->getParentOfType<scf::ForOp>())
          wrap.push_back(op);
      } else if (auto loop = dyn_cast<scf::ForOp>(op)) {
        if (!loop->getParentOfType<scf::ForOp>() && loop.getNumResults() == 0 &&
            touchesMemory(loop))
          wrap.push_back(op);
      } else if (isa<memref::LoadOp>(op) && !op->getParentOfType<scf::ForOp>()) {
        if (isHostScalarArg(cast<memref::LoadOp>(op).getMemRef()))
          return;
        op->emitOpError("tfc-gpu-device-memory: host code reads a buffer, "
                        "which is device memory on the GPU");
        failedAny = true;
      }
    });
    if (failedAny)
      return signalPassFailure();
    for (memref::CopyOp copy : copies) {
      OpBuilder b(copy);
      Location loc = copy.getLoc();
      Value src = copy.getSource(), dst = copy.getTarget();
      auto t = cast<MemRefType>(src.getType());
      Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
      Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
      SmallVector<Value> lbs, ubs, steps;
      for (int64_t k = 0; k < t.getRank(); ++k) {
        lbs.push_back(c0);
        ubs.push_back(memref::DimOp::create(b, loc, src, k));
        steps.push_back(c1);
      }
      if (t.getRank() == 0) {
        lbs.push_back(c0);
        ubs.push_back(c1);
        steps.push_back(c1);
      }
      auto par = scf::ParallelOp::create(b, loc, lbs, ubs, steps);
      b.setInsertionPoint(par.getBody()->getTerminator());
      SmallVector<Value> ivs(par.getInductionVars());
      if (t.getRank() == 0)
        ivs.clear();
      Value v = memref::LoadOp::create(b, loc, src, ivs);
      memref::StoreOp::create(b, loc, v, dst, ivs);
      copy.erase();
    }
    for (Operation *op : wrap)
      wrapOneThread(op);
    sinkScalars(f);
  }
};

/// Turns a nested scf.parallel (inside a loop that becomes a kernel) into a
/// nest of scf.for: each GPU thread runs it sequentially. Fails on loops
/// with reductions (linalg's parallel-loop lowering makes none).
LogicalResult serializeParallel(scf::ParallelOp loop) {
  if (loop.getNumResults() != 0)
    return failure();
  OpBuilder b(loop);
  IRMapping map;
  SmallVector<scf::ForOp> fors;
  for (auto [lb, ub, step, iv] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep(),
                 loop.getInductionVars())) {
    auto f = scf::ForOp::create(b, loop.getLoc(), lb, ub, step);
    map.map(iv, f.getInductionVar());
    b.setInsertionPoint(f.getBody()->getTerminator());
    fors.push_back(f);
  }
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, map);
  loop.erase();
  return success();
}

/// Whether `loop`'s body is straight-line code whose only side effects are
/// memref.store and in which no load follows a store (elementwise ops).
bool straightLine(scf::ParallelOp loop) {
  bool stored = false;
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (op.getNumRegions() != 0)
      return false;
    if (isa<memref::StoreOp>(op)) {
      stored = true;
      continue;
    }
    if (isa<memref::LoadOp>(op)) {
      if (stored)
        return false;
      continue;
    }
    if (!isMemoryEffectFree(&op))
      return false;
  }
  return true;
}

void emitScalarBodies(OpBuilder &b, Location loc, scf::ParallelOp loop,
                      const IRMapping &map, Value innerBase, Value innerTrip,
                      Value cV, int64_t perThread);

/// A load or store of the body that reads / writes V = `perThread`
/// consecutive elements across a thread's V iterations, aligned to V
/// elements wherever the memref's base pointer is: its last index is the
/// innermost induction variable, its other indices do not depend on it, the
/// memref's last stride is 1 and its offset and other strides are multiples
/// of V (statically: an identity layout whose last dim is, or a strided one
/// with static offset and strides). Returns that memref, or null.
Value contiguousMemRef(Operation *op, scf::ParallelOp loop, int64_t perThread) {
  Value iv = loop.getInductionVars().back();
  Value mem;
  ValueRange idx;
  if (auto l = dyn_cast<memref::LoadOp>(op)) {
    mem = l.getMemRef();
    idx = l.getIndices();
  } else if (auto st = dyn_cast<memref::StoreOp>(op)) {
    mem = st.getMemRef();
    idx = st.getIndices();
  } else {
    return Value();
  }
  // A view made inside the body (per iteration) is not one memref for the
  // V iterations.
  if (mem.getDefiningOp() && loop->isProperAncestor(mem.getDefiningOp()))
    return Value();
  auto t = cast<MemRefType>(mem.getType());
  if (t.getRank() == 0 || idx.back() != iv ||
      !t.getElementType().isIntOrFloat() ||
      t.getElementType().getIntOrFloatBitWidth() < 8 ||
      !llvm::isPowerOf2_64(t.getElementType().getIntOrFloatBitWidth()))
    return Value();
  if (t.getLayout().isIdentity()) {
    if (ShapedType::isDynamic(t.getShape().back()) ||
        t.getShape().back() % perThread != 0)
      return Value();
  } else {
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(t.getStridesAndOffset(strides, offset)) ||
        strides.back() != 1 || ShapedType::isDynamic(offset) ||
        offset % perThread != 0)
      return Value();
    for (int64_t st : ArrayRef<int64_t>(strides).drop_back())
      if (ShapedType::isDynamic(st) || st % perThread != 0)
        return Value();
  }
  for (Value v : idx.drop_back())
    if (v == iv || (v.getDefiningOp() &&
                    loop->isProperAncestor(v.getDefiningOp())))
      return Value();
  return mem;
}

/// The V = `perThread` iterations of a straight-line body as vectors where
/// it reads or writes V consecutive elements (see emitStraightLineBodies):
/// emitted into `b` (the then-branch of the uniform check), with
/// `first` the thread's first innermost index (the V iterations are
/// first .. first + V - 1, all inside).
void emitVectorBodies(OpBuilder &b, Location loc, scf::ParallelOp loop,
                      const IRMapping &map, Value first, int64_t perThread) {
  int64_t rank = loop.getNumLoops();
  Value iv = loop.getInductionVars()[rank - 1];
  // The loads: one vector.load each, its elements the V bodies' values.
  DenseMap<Operation *, Value> vecOf;
  auto alignOf = [&](Type e) {
    return static_cast<uint64_t>(perThread * (e.getIntOrFloatBitWidth() / 8));
  };
  for (Operation &op : loop.getBody()->without_terminator()) {
    auto l = dyn_cast<memref::LoadOp>(op);
    if (!l || !contiguousMemRef(&op, loop, perThread))
      continue;
    SmallVector<Value> idx;
    for (Value v : l.getIndices().drop_back())
      idx.push_back(map.lookupOrDefault(v));
    idx.push_back(first);
    Type e = l.getType();
    vecOf[&op] = vector::LoadOp::create(
        b, loc, VectorType::get({perThread}, e), l.getMemRef(), idx,
        /*nontemporal=*/false, llvm::MaybeAlign(alignOf(e)));
  }
  SmallVector<IRMapping> bodies;
  for (int64_t j = 0; j < perThread; ++j) {
    IRMapping mj = map;
    Value at = j == 0 ? first
                      : arith::AddIOp::create(
                            b, loc, first,
                            arith::ConstantIndexOp::create(b, loc, j));
    mj.map(iv, at);
    for (Operation &op : loop.getBody()->without_terminator()) {
      if (isa<memref::StoreOp>(op))
        continue;
      if (Value vec = vecOf.lookup(&op)) {
        mj.map(op.getResult(0), vector::ExtractOp::create(b, loc, vec, j));
        continue;
      }
      b.clone(op, mj);
    }
    bodies.push_back(std::move(mj));
  }
  // The stores: a vector.store of the V bodies' values, or one each.
  for (Operation &op : loop.getBody()->without_terminator()) {
    auto st = dyn_cast<memref::StoreOp>(op);
    if (!st)
      continue;
    if (!contiguousMemRef(&op, loop, perThread)) {
      for (IRMapping &mj : bodies)
        b.clone(op, mj);
      continue;
    }
    SmallVector<Value> vals, idx;
    for (IRMapping &mj : bodies)
      vals.push_back(mj.lookupOrDefault(st.getValueToStore()));
    Type e = st.getValueToStore().getType();
    Value vec = vector::FromElementsOp::create(
        b, loc, VectorType::get({perThread}, e), vals);
    for (Value v : st.getIndices().drop_back())
      idx.push_back(map.lookupOrDefault(v));
    idx.push_back(first);
    vector::StoreOp::create(b, loc, vec, st.getMemRef(), idx,
                            /*nontemporal=*/false, llvm::MaybeAlign(alignOf(e)));
  }
}

/// Whether every contiguous access of the body may be a V-element vector:
/// each such memref's base pointer is aligned to V elements (its offset and
/// strides are multiples of V: contiguousMemRef), so every thread's chunk,
/// which starts at a multiple of V, is aligned. The test is uniform over
/// the grid.
Value vectorOk(OpBuilder &b, Location loc, scf::ParallelOp loop,
               int64_t perThread) {
  Value ok;
  auto andWith = [&](Value c) {
    ok = ok ? arith::AndIOp::create(b, loc, ok, c).getResult() : c;
  };
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  llvm::SmallPtrSet<Value, 8> seen;
  for (Operation &op : loop.getBody()->without_terminator()) {
    Value mem = contiguousMemRef(&op, loop, perThread);
    if (!mem || !seen.insert(mem).second)
      continue;
    auto t = cast<MemRefType>(mem.getType());
    int64_t bytes = t.getElementType().getIntOrFloatBitWidth() / 8;
    Value cA = arith::ConstantIndexOp::create(b, loc, perThread * bytes);
    Value base =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, mem);
    andWith(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                  arith::RemUIOp::create(b, loc, base, cA),
                                  c0));
  }
  return ok;
}

/// Emits the V = `perThread` iterations of a straight-line body for one
/// thread (see mapToGrid): clamped loads first, guarded stores last. Where
/// the body reads or writes V consecutive elements of a memref (its last
/// index the innermost induction variable, last stride 1: an elementwise
/// op over rows), a thread whose V iterations are all inside and whose
/// memrefs are aligned to V elements (a uniform test) takes them as one
/// vector.load / vector.store each instead (8 or 16 bytes: half values
/// had been moved 2 bytes an instruction); the scalar bodies stay for the
/// rest.
void emitStraightLineBodies(OpBuilder &b, Location loc, scf::ParallelOp loop,
                            const IRMapping &map, Value innerBase,
                            Value innerTrip, Value cV, int64_t perThread,
                            bool vectorRows) {
  int64_t rank = loop.getNumLoops();
  // The vector path: V a power of two up to 8, the innermost loop from 0
  // by 1 (so iteration j is element innerBase + j), a contiguous access.
  bool vectorize = vectorRows && perThread > 1 && perThread <= 8 &&
                   llvm::isPowerOf2_64(perThread) &&
                   matchPattern(loop.getLowerBound()[rank - 1], m_Zero()) &&
                   matchPattern(loop.getStep()[rank - 1], m_One()) &&
                   llvm::any_of(loop.getBody()->without_terminator(),
                                [&](Operation &op) {
                                  return bool(contiguousMemRef(&op, loop,
                                                               perThread));
                                });
  if (vectorize) {
    Value cVec = arith::ConstantIndexOp::create(b, loc, perThread);
    Value full = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, cV, cVec),
        arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ule,
            arith::AddIOp::create(b, loc, innerBase, cVec), innerTrip));
    Value ok = arith::AndIOp::create(b, loc, full,
                                     vectorOk(b, loc, loop, perThread));
    auto ifOp = scf::IfOp::create(b, loc, ok, /*withElse=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      emitVectorBodies(b, loc, loop, map, innerBase, perThread);
    }
    b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    emitScalarBodies(b, loc, loop, map, innerBase, innerTrip, cV, perThread);
    return;
  }
  emitScalarBodies(b, loc, loop, map, innerBase, innerTrip, cV, perThread);
}

/// The scalar form of emitStraightLineBodies.
void emitScalarBodies(OpBuilder &b, Location loc, scf::ParallelOp loop,
                      const IRMapping &map, Value innerBase, Value innerTrip,
                      Value cV, int64_t perThread) {
  int64_t rank = loop.getNumLoops();
  Value first = arith::AddIOp::create(
      b, loc, loop.getLowerBound()[rank - 1],
      arith::MulIOp::create(b, loc, innerBase, loop.getStep()[rank - 1]));
  SmallVector<std::pair<Value, IRMapping>> bodies;
  for (int64_t j = 0; j < perThread; ++j) {
    IRMapping mj = map;
    Value inside;
    Value iv = first;
    if (j > 0) {
      Value cj = arith::ConstantIndexOp::create(b, loc, j);
      Value i = arith::AddIOp::create(b, loc, innerBase, cj);
      inside = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, cj, cV),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i,
                                innerTrip));
      Value at = arith::AddIOp::create(
          b, loc, loop.getLowerBound()[rank - 1],
          arith::MulIOp::create(b, loc, i, loop.getStep()[rank - 1]));
      iv = arith::SelectOp::create(b, loc, inside, at, first);
    }
    mj.map(loop.getInductionVars()[rank - 1], iv);
    for (Operation &op : loop.getBody()->without_terminator())
      if (!isa<memref::StoreOp>(op))
        b.clone(op, mj);
    bodies.push_back({inside, std::move(mj)});
  }
  for (auto &[inside, mj] : bodies) {
    OpBuilder::InsertionGuard g(b);
    if (inside) {
      auto ifOp = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    }
    for (Operation &op : loop.getBody()->without_terminator())
      if (isa<memref::StoreOp>(op))
        b.clone(op, mj);
  }
}

/// Rewrites a top-level scf.parallel over dims (i_0 .. i_{r-1}) into
///   scf.parallel (%blk, %thr) = (0, 0) to (ceildiv(N, B), B)
///     { lin = blk * B + thr; if (lin < N) { i_k = delinearize(lin) ... } }
/// with N = prod(trip counts), mapped to (block_x, thread_x): one thread per
/// iteration of the original loop, a 1-D grid (no 65535 limit of grid y/z).
/// With `perThread` = V > 1 each thread runs V consecutive iterations of the
/// innermost dim (its trip count becomes ceildiv(trip, V) in N and the
/// delinearization, each of the V bodies guarded by i < trip): the index
/// arithmetic (integer div / rem by the trip counts) is paid once per V
/// elements. V is chosen on the host: `perThread` when N >= `perThreadMin`,
/// else 1.
LogicalResult mapToGrid(scf::ParallelOp loop, int64_t blockSize,
                        int64_t perThread, int64_t perThreadMin,
                        bool vectorRows) {
  if (loop.getNumResults() != 0)
    return failure();
  SmallVector<scf::ParallelOp> nested;
  loop.getBody()->walk([&](scf::ParallelOp p) { nested.push_back(p); });
  // Innermost first, so that an outer nested loop clones serialized bodies.
  for (scf::ParallelOp p : llvm::reverse(nested))
    if (p.getNumResults() != 0)
      return failure();
  for (scf::ParallelOp p : llvm::reverse(nested))
    if (failed(serializeParallel(p)))
      return failure();

  Location loc = loop.getLoc();
  OpBuilder b(loop);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value cB = arith::ConstantIndexOp::create(b, loc, blockSize);
  SmallVector<Value> trips;
  Value total = c1, outer = c1;
  int64_t rank = loop.getNumLoops();
  for (auto [k, lb, ub, step] :
       llvm::enumerate(loop.getLowerBound(), loop.getUpperBound(),
                       loop.getStep())) {
    Value span = arith::SubIOp::create(b, loc, ub, lb);
    // Empty or negative range: zero trips (a 0-block grid is not launched).
    span = arith::MaxSIOp::create(b, loc, span, c0);
    Value trip = arith::CeilDivUIOp::create(b, loc, span, step);
    trips.push_back(trip);
    total = arith::MulIOp::create(b, loc, total, trip);
    if (static_cast<int64_t>(k) < rank - 1)
      outer = arith::MulIOp::create(b, loc, outer, trip);
  }
  // V iterations per thread only for loops of at least `perThreadMin`
  // iterations (decided on the host: small ops keep one thread per element,
  // so that they still fill the GPU).
  Value innerTrip, cV;
  if (perThread > 1 && rank > 0) {
    innerTrip = trips[rank - 1];
    Value big = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::uge, total,
        arith::ConstantIndexOp::create(b, loc, perThreadMin));
    cV = arith::SelectOp::create(
        b, loc, big, arith::ConstantIndexOp::create(b, loc, perThread), c1);
    trips[rank - 1] = arith::CeilDivUIOp::create(b, loc, innerTrip, cV);
    total = arith::MulIOp::create(b, loc, outer, trips[rank - 1]);
  }
  Value blocks = arith::CeilDivUIOp::create(b, loc, total, cB);
  auto grid = scf::ParallelOp::create(
      b, loc, ValueRange{c0, c0}, ValueRange{blocks, cB}, ValueRange{c1, c1});
  b.setInsertionPointToStart(grid.getBody());
  Value blk = grid.getInductionVars()[0], thr = grid.getInductionVars()[1];
  Value lin = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, blk, cB), thr);
  Value inRange =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, lin, total);
  auto guard = scf::IfOp::create(b, loc, inRange, /*withElse=*/false);
  b.setInsertionPointToStart(&guard.getThenRegion().front());
  IRMapping map;
  Value rest = lin;
  Value innerBase;
  for (int64_t k = rank - 1; k >= 0; --k) {
    Value idx = rest;
    if (k > 0) {
      idx = arith::RemUIOp::create(b, loc, rest, trips[k]);
      rest = arith::DivUIOp::create(b, loc, rest, trips[k]);
    }
    if (innerTrip && k == rank - 1) {
      innerBase = arith::MulIOp::create(b, loc, idx, cV);
      continue;
    }
    Value iv = arith::AddIOp::create(
        b, loc, loop.getLowerBound()[k],
        arith::MulIOp::create(b, loc, idx, loop.getStep()[k]));
    map.map(loop.getInductionVars()[k], iv);
  }
  // A straight-line body (no regions, no side effects but stores, no load
  // after a store): the V iterations are emitted one after the other with
  // their loads at indices clamped to the thread's first element (always
  // valid) and their stores last, each guarded by (j < V && i < trip). So
  // a thread has the loads of all V elements in flight at once (the guarded
  // loop below issues one element's loads per guard); iterations of an
  // scf.parallel are independent, so moving one's stores after another's
  // loads keeps the semantics.
  if (innerTrip && straightLine(loop)) {
    emitStraightLineBodies(b, loc, loop, map, innerBase, innerTrip, cV,
                           perThread, vectorRows);
  } else {
    if (innerTrip) {
      // V consecutive innermost iterations, each guarded.
      auto each = scf::ForOp::create(b, loc, c0, cV, c1);
      b.setInsertionPointToStart(each.getBody());
      Value i =
          arith::AddIOp::create(b, loc, innerBase, each.getInductionVar());
      Value in = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i,
                                       innerTrip);
      auto g = scf::IfOp::create(b, loc, in, /*withElse=*/false);
      b.setInsertionPointToStart(&g.getThenRegion().front());
      Value iv = arith::AddIOp::create(
          b, loc, loop.getLowerBound()[rank - 1],
          arith::MulIOp::create(b, loc, i, loop.getStep()[rank - 1]));
      map.map(loop.getInductionVars()[rank - 1], iv);
    }
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
  }

  if (failed(mlir::tfc::mapBlocksThreads(grid)))
    return failure();
  loop.erase();
  return success();
}

struct GpuMapLoopsPass
    : public PassWrapper<GpuMapLoopsPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GpuMapLoopsPass)
  GpuMapLoopsPass() = default;
  GpuMapLoopsPass(const GpuMapLoopsPass &o) : PassWrapper(o) {}
  GpuMapLoopsPass(int64_t b, int64_t v, int64_t vMin, bool vr) {
    blockSize = b;
    perThread = v;
    perThreadMin = vMin;
    vectorRows = vr;
  }
  StringRef getArgument() const override { return "tfc-gpu-map-loops"; }
  StringRef getDescription() const override {
    return "Map every outermost scf.parallel to a 1-D GPU grid (one thread "
           "per iteration; nested parallel loops run sequentially in the "
           "thread). Loops with reductions stay on the host.";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<arith::ArithDialect, scf::SCFDialect, gpu::GPUDialect,
             memref::MemRefDialect, vector::VectorDialect>();
  }
  Option<int64_t> blockSize{*this, "block-size",
                            llvm::cl::desc("Threads per block"),
                            llvm::cl::init(256)};
  Option<int64_t> perThread{
      *this, "per-thread",
      llvm::cl::desc("Consecutive innermost iterations per thread (1: one "
                     "thread per iteration, the plain mapping)"),
      llvm::cl::init(1)};
  Option<bool> vectorRows{
      *this, "vector-rows",
      llvm::cl::desc("With per-thread > 1: a thread's consecutive elements "
                     "of a contiguous, aligned row as one vector load / "
                     "store"),
      llvm::cl::init(true)};
  Option<int64_t> perThreadMin{
      *this, "per-thread-min",
      llvm::cl::desc("Iterations a loop needs (at run time) for per-thread > 1 "
                     "to apply"),
      llvm::cl::init(0)};

  void runOnOperation() override {
    if (perThread < 1 || perThread > 64) {
      getOperation().emitError("tfc-gpu-map-loops: per-thread must be in "
                               "[1, 64], got ")
          << static_cast<int64_t>(perThread);
      return signalPassFailure();
    }
    if (blockSize <= 0 || blockSize > 1024) {
      getOperation().emitError("tfc-gpu-map-loops: block-size must be in "
                               "[1, 1024], got ")
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outer;
    getOperation().walk([&](scf::ParallelOp p) {
      // Loops that carry a mapping already (tfc-gpu-row-reductions) stay.
      if (!p->getParentOfType<scf::ParallelOp>() &&
          !p->getParentOfType<gpu::LaunchOp>() &&
          !p->hasAttr(gpu::getMappingAttrName()))
        outer.push_back(p);
    });
    for (scf::ParallelOp p : outer)
      (void)mapToGrid(p, blockSize, perThread, perThreadMin,
                      vectorRows); // refused: stays on the host
  }
};

} // namespace

std::unique_ptr<Pass> mlir::tfc::createGpuCopyConstantsPass() {
  return std::make_unique<GpuCopyConstantsPass>();
}

std::unique_ptr<Pass> mlir::tfc::createGpuMapLoopsPass(int64_t blockSize,
                                                       int64_t perThread,
                                                       int64_t perThreadMin,
                                                       bool vectorRows) {
  return std::make_unique<GpuMapLoopsPass>(blockSize, perThread, perThreadMin,
                                           vectorRows);
}

std::string mlir::tfc::gpuLoweringPipeline(const PipelineOptions &o,
                                           const GpuPipelineOptions &g) {
  // eliminate-empty-tensors: an op whose result is inserted into a larger
  // tensor (a KV-cache step's new K / V rows into the cache argument)
  // writes into that tensor's slice instead of a new buffer copied there
  // afterwards: two kernels fewer per layer in a decode step.
  std::string p = "eliminate-empty-tensors,"
                  "one-shot-bufferize{bufferize-function-boundaries "
                  "function-boundary-type-conversion=identity-layout-map},"
                  "canonicalize,cse";
  // Everything the weights file can hold goes there (the runtime gives the
  // GPU a copy); what stays in the object is copied into buffers.
  p += ",tfc-externalize-weights{output=" + o.weightsPath + " min-bytes=1}";
  p += ",tfc-gpu-copy-constants";
  p += ",buffer-deallocation-pipeline,canonicalize";
  // Matmuls: cuBLASLt calls from host code (tfcrt_gpu_matmul_<type>).
  if (g.gemm)
    p += ",tfc-linalg-to-kernels{target=cuda}";
  // Row reductions (softmax / norm sums, reduce over the last axis): one
  // block per row with a block reduction, unless the plain mapping is asked
  // for; host emulation has no blocks to reduce over.
  if (g.rowReduceBlock > 0 && !g.emulateOnHost)
    p += ",func.func(tfc-gpu-row-reductions{block-size=" +
         std::to_string(g.rowReduceBlock) +
         " fuse=" + (g.rowFuse ? "true" : "false") +
         " few-rows=" + std::to_string(g.rowFewRows) +
         " few-block-size=" + std::to_string(g.rowFewBlock) +
         " warp-rows=" + std::to_string(g.rowWarps) +
         " remat=" + (g.rowRemat ? "true" : "false") +
         " unroll=" + std::to_string(g.rowUnroll) +
         " vector=" + std::to_string(g.rowVector) +
         " registers=" + std::to_string(g.rowRegisters) + "})";
  p += ",convert-linalg-to-parallel-loops,canonicalize,cse";
  // No canonicalize before the mapping: it would inline the one-iteration
  // loops that keep host stores on the GPU.
  p += ",func.func(tfc-gpu-device-memory)";
  p +=
      ",func.func(tfc-gpu-map-loops{block-size=" + std::to_string(g.blockSize) +
      " per-thread=" + std::to_string(g.perThread) +
      " per-thread-min=" + std::to_string(g.perThreadMin) +
      " vector-rows=" + (g.vectorRows ? "true" : "false") + "}";
  // Consecutive independent grids (a layer's rotaries of q and k and the
  // copy of v into the KV cache) as one launch each.
  if (g.mergeKernels)
    p += ",tfc-gpu-merge-kernels";
  // Host emulation (tests without a GPU): the mapped loops run as plain
  // loops on the CPU, which checks everything above numerically.
  const char *hostTail =
      ",finalize-memref-to-llvm{use-generic-functions=true},"
      "convert-math-to-llvm,convert-math-to-libm,convert-arith-to-llvm,"
      "convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,"
      "gpu-to-llvm,finalize-memref-to-llvm{use-generic-functions=true},"
      "convert-arith-to-llvm,convert-func-to-llvm,"
      "reconcile-unrealized-casts,canonicalize";
  if (g.emulateOnHost)
    return p +
           "),lower-affine,convert-scf-to-cf,tfc-lower-reshape-views,"
           "expand-strided-metadata,lower-affine" +
           hostTail;
  p += ",convert-parallel-loops-to-gpu)";
  p += ",gpu-kernel-outlining,lower-affine,convert-scf-to-cf,"
       "tfc-lower-reshape-views,expand-strided-metadata,lower-affine,"
       "canonicalize,cse";
  // Device side: kernels -> NVVM -> cubin (or PTX that the driver JITs).
  p += ",nvvm-attach-target{chip=" + g.chip + " features=" + g.features +
       " O=" + std::to_string(g.optLevel) + "}";
  p += std::string(",gpu.module(strip-debuginfo,") +
       (g.pdl ? "tfc-gpu-pdl," : "") + "convert-gpu-to-nvvm,canonicalize,cse,"
       "reconcile-unrealized-casts)";
  p += ",gpu-module-to-binary{format=" + g.format;
  if (!g.toolkitPath.empty())
    p += " toolkit=" + g.toolkitPath;
  p += "}";
  // Host side: the CPU pipeline's LLVM lowering, plus the launches.
  return p + hostTail;
}

LogicalResult mlir::tfc::mapBlocksThreads(scf::ParallelOp grid) {
  MLIRContext *ctx = grid.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  auto dim = [&](gpu::Processor p) {
    return gpu::ParallelLoopDimMappingAttr::get(ctx, p, id, id);
  };
  return gpu::setMappingAttr(
      grid, {dim(gpu::Processor::BlockX), dim(gpu::Processor::ThreadX)});
}

LogicalResult mlir::tfc::findCudaToolkit(StringRef explicitPath,
                                         std::string &path,
                                         std::string &error) {
  path = explicitPath.str();
  for (const char *var : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (path.empty() && std::getenv(var) && *std::getenv(var))
      path = std::getenv(var);
  if (path.empty())
    path = "/usr/local/cuda";
  // Without libdevice, ptxas fails later on __nv_expf & co with a vaguer
  // message (MLIR links it from the toolkit found here).
  std::string libdevice = path + "/nvvm/libdevice/libdevice.10.bc";
  if (llvm::sys::fs::exists(libdevice))
    return success();
  error = "--target=cuda needs the CUDA toolkit's libdevice, not found at '" +
          libdevice + "' (set --cuda-path or CUDA_HOME)";
  return failure();
}

void mlir::tfc::registerGpuTranslations(DialectRegistry &registry) {
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  registerNVVMDialectTranslation(registry);
}

void mlir::tfc::registerTfcGpuPasses() {
  PassRegistration<GpuCopyConstantsPass>();
  PassRegistration<GpuDeviceMemoryPass>();
  PassRegistration<GpuMapLoopsPass>();
  registerGpuRowReductionsPass();
  registerGpuMergeKernelsPass();
  registerGpuPdlPass();
  registerJoinLinearsPass();
  registerGpuAttentionHalfOutPass();
}
