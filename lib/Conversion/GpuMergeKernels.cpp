//===- GpuMergeKernels.cpp - independent 1-D grids as one launch ----------===//
//
// tfc-gpu-merge-kernels (after tfc-gpu-map-loops): two consecutive grid loops
// (mapped to block x, thread x)
//
//   scf.parallel (%b, %t) = (0, 0) to (%nA, T) { A(%b, %t) }
//   <host shape code: constants, index arithmetic, dims, views, allocs>
//   scf.parallel (%b, %t) = (0, 0) to (%nB, T) { B(%b, %t) }
//
// that touch no common memory (neither writes what the other reads or
// writes) become one launch of %nA + %nB blocks:
//
//   scf.parallel (%b, %t) = (0, 0) to (%nA + %nB, T) {
//     scf.if (%b < %nA) { A(%b, %t) } else { B(%b - %nA, %t) } }
//
// Repeated, so a run of k independent grids is one launch. Why: a decode
// step's kernels are a few hundred threads each and their cost is the launch
// (a CUDA graph node, ~3 us), not the work; the rotary of q, the rotary of k
// into the KV cache and the copy of v into it are three such kernels per
// layer that read different buffers and write different ones.
//
// The branch is uniform per block, so each block runs exactly one of the
// bodies and a thread runs the same code as before, with the block index
// shifted for B: the same arithmetic, element for element.
//
// Independence is decided per pair of accesses (memref.load / store and
// vector.load / store in the bodies, through views back to a root buffer):
// different allocations, an allocation and anything else, and different
// arguments of an entry function (the runtime passes each input and the
// cache as its own buffer) are different memory; accesses of one root are
// disjoint when the subviews they go through from the root have disjoint
// static ranges in some dimension (the K and V halves of a layer's cache:
// [l, 0, ...] and [l, 1, ...]).
// Anything else in a body with a memory effect (a call, an atomic), a GPU
// op (barriers, block reductions: the row kernels, whose block size differs
// anyway), a different thread count, or host code between the loops that
// is more than shape code (a deallocation, a call, a host load) keeps the
// launches apart. So does a merged kernel whose arguments would pass 4 KB
// (CUDA's classic kernel parameter limit).
//
//===----------------------------------------------------------------------===//
#include "tfc/Conversion/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace {

/// CUDA's classic limit on a kernel's parameters (bytes).
constexpr int64_t kMaxParamBytes = 4096;

/// One memory access of a grid's body: the buffer it reaches through views
/// and the subview of that buffer it stays inside (null: anywhere in it).
struct Access {
  Value root;
  memref::SubViewOp range;
  bool write;
};

/// The thread count of `loop` if it is a grid of tfc-gpu-map-loops' form:
/// (block, thread) from (0, 0) step (1, 1), mapped to block x and thread x,
/// with a constant thread count and no results.
std::optional<int64_t> gridThreads(scf::ParallelOp loop) {
  if (loop.getNumLoops() != 2 || loop.getNumResults() != 0)
    return std::nullopt;
  for (Value v : llvm::concat<Value>(loop.getLowerBound(), loop.getStep()))
    if (!getConstantIntValue(v))
      return std::nullopt;
  if (*getConstantIntValue(loop.getLowerBound()[0]) != 0 ||
      *getConstantIntValue(loop.getLowerBound()[1]) != 0 ||
      *getConstantIntValue(loop.getStep()[0]) != 1 ||
      *getConstantIntValue(loop.getStep()[1]) != 1)
    return std::nullopt;
  auto mapping = loop->getAttrOfType<ArrayAttr>(gpu::getMappingAttrName());
  if (!mapping || mapping.size() != 2)
    return std::nullopt;
  auto dim = [&](int i) {
    return dyn_cast<gpu::ParallelLoopDimMappingAttr>(mapping[i]);
  };
  if (!dim(0) || !dim(1) || dim(0).getProcessor() != gpu::Processor::BlockX ||
      dim(1).getProcessor() != gpu::Processor::ThreadX ||
      !dim(0).getMap().isIdentity() || !dim(1).getMap().isIdentity() ||
      !dim(0).getBound().isIdentity() || !dim(1).getBound().isIdentity())
    return std::nullopt;
  return getConstantIntValue(loop.getUpperBound()[1]);
}

/// The buffer `m` is a view of, and the subview of it closest to it when
/// every view in between stays inside that subview (subviews, reshapes,
/// casts, transposes); else the range is null.
std::pair<Value, memref::SubViewOp> rootOf(Value m) {
  memref::SubViewOp range;
  bool inside = true;
  while (Operation *def = m.getDefiningOp()) {
    if (auto sv = dyn_cast<memref::SubViewOp>(def)) {
      range = sv;
    } else if (!isa<memref::ExpandShapeOp, memref::CollapseShapeOp,
                    memref::CastOp, memref::TransposeOp>(def)) {
      if (!isa<ViewLikeOpInterface>(def))
        break;
      inside = false; // reinterpret_cast, view: anywhere in the buffer
    }
    m = def->getOperand(0);
  }
  return {m, inside ? range : memref::SubViewOp()};
}

/// The accesses of `loop`'s body, or nothing when it has an effect other
/// than loads and stores (or any GPU op).
std::optional<SmallVector<Access>> accessesOf(scf::ParallelOp loop) {
  SmallVector<Access> out;
  bool ok = true;
  loop.getBody()->walk([&](Operation *op) {
    if (isa<gpu::GPUDialect, NVVM::NVVMDialect>(op->getDialect())) {
      ok = false;
      return WalkResult::interrupt();
    }
    if (auto l = dyn_cast<memref::LoadOp>(op)) {
      auto [root, range] = rootOf(l.getMemRef());
      out.push_back({root, range, false});
    } else if (auto s = dyn_cast<memref::StoreOp>(op)) {
      auto [root, range] = rootOf(s.getMemRef());
      out.push_back({root, range, true});
    } else if (auto vl = dyn_cast<vector::LoadOp>(op)) {
      // tfc-gpu-map-loops' vector rows: the same elements as the scalar
      // bodies beside them.
      auto [root, range] = rootOf(vl.getBase());
      out.push_back({root, range, false});
    } else if (auto vs = dyn_cast<vector::StoreOp>(op)) {
      auto [root, range] = rootOf(vs.getBase());
      out.push_back({root, range, true});
    } else if (!op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() &&
               !isa<memref::AllocaOp>(op) && !isMemoryEffectFree(op)) {
      ok = false;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (!ok)
    return std::nullopt;
  return out;
}

/// Whether `f`'s arguments are distinct buffers: an entry the runtime calls
/// (each input staged in its own buffer, the KV cache its own allocation).
bool distinctArgs(func::FuncOp f) {
  return f->hasAttr("tfc.entry") || f->hasAttr("tfc.step_entry");
}

bool isAllocation(Value v) {
  return v.getDefiningOp<memref::AllocOp>() ||
         v.getDefiningOp<memref::AllocaOp>();
}

bool isArgOf(Value v, func::FuncOp f) {
  auto a = dyn_cast<BlockArgument>(v);
  return a && a.getOwner() == &f.getBody().front();
}

/// Whether the static ranges of two subviews of one identity-layout buffer
/// are disjoint in some dimension.
bool disjoint(memref::SubViewOp a, memref::SubViewOp b) {
  if (!a || !b || a.getSource() != b.getSource() ||
      !a.getSourceType().getLayout().isIdentity())
    return false;
  for (int64_t d = 0; d < a.getSourceType().getRank(); ++d) {
    std::optional<int64_t> oa = getConstantIntValue(a.getMixedOffsets()[d]),
                           ob = getConstantIntValue(b.getMixedOffsets()[d]),
                           sa = getConstantIntValue(a.getMixedSizes()[d]),
                           sb = getConstantIntValue(b.getMixedSizes()[d]),
                           ta = getConstantIntValue(a.getMixedStrides()[d]),
                           tb = getConstantIntValue(b.getMixedStrides()[d]);
    if (!oa || !ob || !sa || !sb || !ta || !tb || *sa <= 0 || *sb <= 0)
      continue;
    // [first, last] index along d of each range.
    int64_t la = *oa + (*sa - 1) * *ta, lb = *ob + (*sb - 1) * *tb;
    if (la < *ob || lb < *oa)
      return true;
  }
  return false;
}

bool conflict(const Access &a, const Access &b, func::FuncOp f) {
  if (!a.write && !b.write)
    return false;
  if (a.root == b.root)
    return !disjoint(a.range, b.range);
  if (isAllocation(a.root) && (isAllocation(b.root) || isArgOf(b.root, f)))
    return false;
  if (isAllocation(b.root) && isArgOf(a.root, f))
    return false;
  if (isArgOf(a.root, f) && isArgOf(b.root, f))
    return !distinctArgs(f);
  return true; // unknown buffers may alias
}

/// Bytes of the kernel parameters a value becomes (a memref: its
/// descriptor's pointers, offset, sizes and strides).
int64_t paramBytes(Value v) {
  if (auto m = dyn_cast<MemRefType>(v.getType()))
    return 8 * (3 + 2 * m.getRank());
  return 8;
}

/// Host ops a grid may move past: shape code and allocations.
bool movable(Operation &op) {
  if (op.getNumRegions() != 0)
    return false;
  return isMemoryEffectFree(&op) || isa<memref::AllocOp, memref::AllocaOp>(op);
}

/// Merges grid `a` into the later grid `b` (see the file comment) when they
/// are independent; returns the merged loop, or null.
scf::ParallelOp tryMerge(scf::ParallelOp a, scf::ParallelOp b, func::FuncOp f) {
  std::optional<int64_t> ta = gridThreads(a), tb = gridThreads(b);
  if (!ta || !tb || *ta != *tb)
    return {};
  for (Operation *op = a->getNextNode(); op != b.getOperation();
       op = op->getNextNode())
    if (!movable(*op))
      return {};
  std::optional<SmallVector<Access>> xa = accessesOf(a), xb = accessesOf(b);
  if (!xa || !xb)
    return {};
  for (const Access &p : *xa)
    for (const Access &q : *xb)
      if (conflict(p, q, f))
        return {};
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(a.getRegion(), captured);
  getUsedValuesDefinedAbove(b.getRegion(), captured);
  captured.insert(a.getUpperBound()[0]);
  int64_t bytes = 0;
  for (Value v : captured)
    bytes += paramBytes(v);
  if (bytes > kMaxParamBytes)
    return {};

  OpBuilder bld(b);
  Location loc = FusedLoc::get(f.getContext(), {a.getLoc(), b.getLoc()});
  Value nA = a.getUpperBound()[0];
  Value total = arith::AddIOp::create(bld, loc, nA, b.getUpperBound()[0]);
  auto merged = scf::ParallelOp::create(bld, loc, b.getLowerBound(),
                                        ValueRange{total, b.getUpperBound()[1]},
                                        b.getStep());
  merged->setAttr(gpu::getMappingAttrName(),
                  b->getAttr(gpu::getMappingAttrName()));
  bld.setInsertionPointToStart(merged.getBody());
  Value blk = merged.getInductionVars()[0], thr = merged.getInductionVars()[1];
  Value inA =
      arith::CmpIOp::create(bld, loc, arith::CmpIPredicate::ult, blk, nA);
  auto branch = scf::IfOp::create(bld, loc, inA, /*withElseRegion=*/true);
  auto cloneBody = [&](scf::ParallelOp from, Block &into, Value blkV) {
    OpBuilder ib = OpBuilder::atBlockTerminator(&into);
    IRMapping map;
    map.map(from.getInductionVars()[0], blkV);
    map.map(from.getInductionVars()[1], thr);
    for (Operation &op : from.getBody()->without_terminator())
      ib.clone(op, map);
  };
  cloneBody(a, branch.getThenRegion().front(), blk);
  {
    OpBuilder eb = OpBuilder::atBlockBegin(&branch.getElseRegion().front());
    Value blkB = arith::SubIOp::create(eb, loc, blk, nA);
    cloneBody(b, branch.getElseRegion().front(), blkB);
  }
  a.erase();
  b.erase();
  return merged;
}

struct GpuMergeKernelsPass
    : public PassWrapper<GpuMergeKernelsPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GpuMergeKernelsPass)
  StringRef getArgument() const override { return "tfc-gpu-merge-kernels"; }
  StringRef getDescription() const override {
    return "Merge consecutive independent 1-D GPU grids (tfc-gpu-map-loops' "
           "loops separated by host shape code only, touching no common "
           "memory) into one launch whose blocks branch to either body";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<arith::ArithDialect, scf::SCFDialect, gpu::GPUDialect>();
  }

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (f.isExternal())
      return;
    // Grids sit at the top level of the function (host code).
    Block &body = f.getBody().front();
    scf::ParallelOp current;
    for (Operation *op = &body.front(); op;) {
      Operation *next = op->getNextNode();
      if (auto p = dyn_cast<scf::ParallelOp>(op); p && gridThreads(p)) {
        scf::ParallelOp merged = current ? tryMerge(current, p, f) : nullptr;
        current = merged ? merged : p;
      } else if (!movable(*op)) {
        current = {};
      }
      op = next;
    }
  }
};

} // namespace

std::unique_ptr<Pass> mlir::tfc::createGpuMergeKernelsPass() {
  return std::make_unique<GpuMergeKernelsPass>();
}

void mlir::tfc::registerGpuMergeKernelsPass() {
  PassRegistration<GpuMergeKernelsPass>();
}
