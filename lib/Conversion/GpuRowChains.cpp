//===- GpuRowChains.cpp - runs of row ops as one GPU kernel ---------------===//
//
// Option `fuse` of tfc-gpu-row-reductions (docs/DESIGN.md "Row chains"): the
// chain detection, its plan (row scalars in registers, rematerialized
// intermediates) and the emission of one scf.parallel (row, thread) per
// chain. The pass itself and the single row reductions are in
// GpuRowReductions.cpp.
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
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/SetVector.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/SaveAndRestore.h"

#include <map>
#include <tuple>
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;


using namespace mlir::tfc::rowops;

namespace {

//===----------------------------------------------------------------------===//
// Row chains: consecutive row ops fused into one kernel (option `fuse`).
//
// A layer norm is fill, copy, sum, x - mean, fill, sum of squares, the
// normalization, the rounding to half; a softmax is the scale + mask, fill,
// max, exp, fill, sum, div. Each op works row by row on the same rows, so
// the run of them becomes one block per row that runs the ops one after the
// other, separated by gpu.barrier:
//
//   scf.parallel (%row, %t) = (0, 0) to (rows, B)   {block_x, thread_x}
//     ivs = delinearize(%row)
//     op 1 (elementwise over the row: k = t, t + B, ...; a reduction as
//           above; a row-scalar fill / copy: thread 0)
//     gpu.barrier
//     op 2 ...
//
// A barrier makes the global-memory writes of the block visible to all its
// threads, so each op sees what the ops before it wrote for its row. The
// chain is sound when no block reads or writes another row's part of a
// buffer the chain writes: every buffer written in the chain is a
// memref.alloc, and every access of it in the chain (directly, or through an
// expand_shape that only adds unit dims) indexes its leading dims by the row
// indices (d0, ..., d_{R-1}); a row buffer may be indexed in any way along its
// last dim, which the whole block finishes before the next barrier.
// Ops between the chain's ops may only be host-side shape code (allocation,
// dims, views, index arithmetic); anything else ends the chain.
//===----------------------------------------------------------------------===//

/// A dim compared across buffers: a constant, or (an opaque base value, its
/// dim index) after looking through allocs, dims, casts and reshapes.
struct CanonDim {
  int64_t constant = ShapedType::kDynamic;
  Value base;
  int64_t index = -1;
  bool operator==(const CanonDim &o) const {
    return constant == o.constant && base == o.base && index == o.index;
  }
};

CanonDim canonDim(Value buf, int64_t d, int depth = 0);

CanonDim canonValue(Value v, int depth) {
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return CanonDim{*c, {}, -1};
  if (depth < 32)
    if (auto dim = v.getDefiningOp<memref::DimOp>())
      if (std::optional<int64_t> i = dim.getConstantIndex())
        return canonDim(dim.getSource(), *i, depth + 1);
  return CanonDim{ShapedType::kDynamic, v, -1};
}

CanonDim canonDim(Value buf, int64_t d, int depth) {
  auto t = cast<MemRefType>(buf.getType());
  if (!t.isDynamicDim(d))
    return CanonDim{t.getDimSize(d), {}, -1};
  Operation *def = buf.getDefiningOp();
  if (def && depth < 32) {
    if (auto a = dyn_cast<memref::AllocOp>(def))
      return canonValue(a.getDynamicSizes()[t.getDynamicDimIndex(d)],
                        depth + 1);
    if (auto e = dyn_cast<memref::ExpandShapeOp>(def)) {
      OpFoldResult f = e.getMixedOutputShape()[d];
      if (auto attr = dyn_cast<Attribute>(f))
        return CanonDim{cast<IntegerAttr>(attr).getInt(), {}, -1};
      return canonValue(cast<Value>(f), depth + 1);
    }
    if (auto c = dyn_cast<memref::CastOp>(def))
      return canonDim(c.getSource(), d, depth + 1);
    if (auto c = dyn_cast<memref::CollapseShapeOp>(def)) {
      // A group of one dynamic dim and static 1s is that dim.
      ReassociationIndices g = c.getReassociationIndices()[d];
      auto st = c.getSrcType();
      int64_t dyn = -1, dynCount = 0;
      bool ones = true;
      for (int64_t s : g) {
        if (st.isDynamicDim(s)) {
          dyn = s;
          ++dynCount;
        } else if (st.getDimSize(s) != 1) {
          ones = false;
        }
      }
      if (ones && dynCount == 1)
        return canonDim(c.getSrc(), dyn, depth + 1);
    }
  }
  return CanonDim{ShapedType::kDynamic, buf, d};
}

/// The allocation a buffer operand views, and the positions of the view's
/// dims that are dims of the allocation (the rest are unit dims the view
/// added). Null when the view is anything else.
struct Root {
  memref::AllocOp alloc;
  SmallVector<int64_t> keep; // view dim -> kept (in order)
  bool direct = true;        // the operand is the allocation itself
};

Root rootOf(Value v) {
  Root r;
  if (auto a = v.getDefiningOp<memref::AllocOp>()) {
    r.alloc = a;
    for (int64_t i = 0, e = a.getType().getRank(); i < e; ++i)
      r.keep.push_back(i);
    return r;
  }
  if (auto e = v.getDefiningOp<memref::ExpandShapeOp>()) {
    auto a = e.getSrc().getDefiningOp<memref::AllocOp>();
    if (!a)
      return r;
    // Each group: one source dim, plus static unit dims the view adds.
    auto rt = e.getResultType();
    SmallVector<int64_t> keep;
    for (ReassociationIndices g : e.getReassociationIndices()) {
      int64_t kept = -1;
      for (int64_t i : g)
        if (rt.isDynamicDim(i) || rt.getDimSize(i) != 1) {
          if (kept >= 0)
            return r; // a real split: not a unit-dim view
          kept = i;
        }
      if (kept < 0)
        kept = g.front(); // a source unit dim (all ones)
      keep.push_back(kept);
    }
    r.alloc = a;
    r.keep = keep;
    r.direct = false;
  }
  return r;
}

/// The root allocation behind a view chain, for alias checks (null when it
/// is not an allocation: an argument, a global, ...).
Operation *allocBehind(Value v) {
  for (int i = 0; i < 64; ++i) {
    Operation *d = v.getDefiningOp();
    if (!d)
      return nullptr;
    if (isa<memref::AllocOp>(d))
      return d;
    if (auto view = dyn_cast<ViewLikeOpInterface>(d)) {
      v = view.getViewSource();
      continue;
    }
    return nullptr;
  }
  return nullptr;
}

/// One op of a chain: a generic (reduction or all-parallel), a fill or a
/// copy, over `n` loops; the first R are the rows.
struct ChainOp {
  Operation *op;
  unsigned n;                       // loops (generic) or rank (fill / copy)
  std::optional<RowReduction> red;  // set for a row reduction
};

/// Loop count, as for a generic, of a fill / copy / generic; 0 if not a
/// candidate.
unsigned chainLoops(Operation *op, std::optional<RowReduction> &red) {
  red.reset();
  if (auto g = dyn_cast<linalg::GenericOp>(op)) {
    if (!g.hasPureBufferSemantics())
      return 0;
    for (Operation &o : g.getRegion().front().without_terminator())
      if (o.getNumRegions() != 0)
        return 0;
    unsigned n = g.getNumLoops();
    if (n < 1)
      return 0;
    if (g.getNumReductionLoops() == 0)
      return n;
    red = matchRowReduction(g);
    return red ? n : 0;
  }
  if (auto f = dyn_cast<linalg::FillOp>(op)) {
    if (!f.hasPureBufferSemantics())
      return 0;
    auto t = dyn_cast<MemRefType>(f.getDpsInitOperand(0)->get().getType());
    return t && t.getRank() > 0 ? t.getRank() : 0;
  }
  if (auto c = dyn_cast<memref::CopyOp>(op)) {
    auto s = cast<MemRefType>(c.getSource().getType());
    auto t = cast<MemRefType>(c.getTarget().getType());
    if (s.getRank() != t.getRank() || s.getRank() == 0 ||
        !s.getLayout().isIdentity() || !t.getLayout().isIdentity())
      return 0;
    for (int64_t d = 0; d < s.getRank(); ++d)
      if (!(canonDim(c.getSource(), d) == canonDim(c.getTarget(), d)))
        return 0;
    return s.getRank();
  }
  return 0;
}

/// The buffer operands of a chain op with their indexing maps over its n
/// loops and whether the op writes them.
struct Access {
  Value buf;
  AffineMap map;
  bool write;
};

SmallVector<Access> accessesOf(Operation *op, unsigned n) {
  SmallVector<Access> out;
  MLIRContext *ctx = op->getContext();
  if (auto g = dyn_cast<linalg::GenericOp>(op)) {
    for (OpOperand &o : g->getOpOperands())
      if (isa<MemRefType>(o.get().getType()))
        out.push_back({o.get(), g.getMatchingIndexingMap(&o),
                       g.isDpsInit(&o)});
  } else if (auto f = dyn_cast<linalg::FillOp>(op)) {
    out.push_back({f.getDpsInitOperand(0)->get(),
                   AffineMap::getMultiDimIdentityMap(n, ctx), true});
  } else if (auto c = dyn_cast<memref::CopyOp>(op)) {
    out.push_back(
        {c.getSource(), AffineMap::getMultiDimIdentityMap(n, ctx), false});
    out.push_back(
        {c.getTarget(), AffineMap::getMultiDimIdentityMap(n, ctx), true});
  }
  return out;
}

/// The row sizes (first R loops) of a chain op, or failure.
FailureOr<SmallVector<CanonDim>> rowSizes(Operation *op, unsigned n,
                                          unsigned R) {
  // Every loop of these ops is the dim of an identity-indexed written
  // buffer (generics: checked by rowLocal on their outputs below), except
  // a reduction's last loop.
  SmallVector<CanonDim> rows;
  for (const Access &a : accessesOf(op, n)) {
    if (!a.write)
      continue;
    for (unsigned d = 0; d < R; ++d) {
      if (a.map.getNumResults() <= d || a.map.getResult(d) !=
                                            getAffineDimExpr(d, op->getContext()))
        return failure();
      rows.push_back(canonDim(a.buf, d));
    }
    return rows;
  }
  return failure();
}

/// Whether an access with `map` over the op's loops, to a buffer whose
/// root allocation is `root` (unit dims of the view dropped), touches only
/// the current row's part of it: the root's first R dims are indexed by
/// d0..d_{R-1}, and the root has R dims (row-scalar) or R + 1 (a row).
bool rowLocal(Root root, AffineMap map, unsigned R, MLIRContext *ctx) {
  if (!root.alloc)
    return false;
  int64_t rank = root.alloc.getType().getRank();
  if (rank != static_cast<int64_t>(R) && rank != static_cast<int64_t>(R) + 1)
    return false;
  if (static_cast<int64_t>(root.keep.size()) != rank)
    return false;
  for (unsigned d = 0; d < R; ++d) {
    int64_t viewDim = root.keep[d];
    if (viewDim >= static_cast<int64_t>(map.getNumResults()) ||
        map.getResult(viewDim) != getAffineDimExpr(d, ctx))
      return false;
  }
  return true;
}

/// A host op that may sit between the chain's ops: no access to buffer
/// contents.
bool transparent(Operation *op) {
  if (isa<memref::AllocOp, memref::DimOp, memref::ExpandShapeOp,
          memref::CollapseShapeOp, memref::CastOp, memref::SubViewOp,
          memref::ReinterpretCastOp, memref::ExtractStridedMetadataOp,
          memref::ExtractAlignedPointerAsIndexOp, memref::GetGlobalOp>(op))
    return true;
  return op->getNumRegions() == 0 && isMemoryEffectFree(op);
}

struct Chain {
  SmallVector<ChainOp> ops;
  SmallVector<CanonDim> rows;
  unsigned R = 0;
  // Every buffer root the chain writes, and every access to any root.
  llvm::SmallPtrSet<Operation *, 8> written;
  SmallVector<std::pair<Operation *, bool>> accesses; // (root, row-local)
  bool hasReduction() const {
    for (const ChainOp &c : ops)
      if (c.red)
        return true;
    return false;
  }
};

/// Tries to append `op` (n loops) to `chain`; false when it does not fit.
/// An empty chain takes R = `firstR` (default: n - 1, the op's rows, at
/// least 1).
bool tryAppend(Chain &chain, Operation *op, unsigned n,
               std::optional<RowReduction> red, unsigned firstR = 0) {
  MLIRContext *ctx = op->getContext();
  // A rank-1 fill / op starting a chain is row-scalar over its one dim
  // (the fill of a softmax's [rows] maxima).
  unsigned R = chain.ops.empty() ? (firstR ? firstR : std::max(n - 1, 1u))
                                 : chain.R;
  if (R < 1)
    return false;
  // Reductions: the last loop reduces, so n = R + 1; others: R or R + 1.
  if (red ? n != R + 1 : (n != R && n != R + 1))
    return false;
  if (auto g = dyn_cast<linalg::GenericOp>(op); g && !red)
    for (OpOperand &o : g.getDpsInitsMutable())
      if (!g.getMatchingIndexingMap(&o).isIdentity())
        return false;
  FailureOr<SmallVector<CanonDim>> rows = rowSizes(op, n, R);
  if (failed(rows))
    return false;
  if (!chain.ops.empty() && *rows != chain.rows)
    return false;
  // Memory: writes only into allocations, row-locally; every access to a
  // root the chain (with this op) writes is row-local.
  SmallVector<Access> acc = accessesOf(op, n);
  llvm::SmallPtrSet<Operation *, 8> written = chain.written;
  SmallVector<std::pair<Operation *, bool>> mine;
  for (const Access &a : acc) {
    Operation *root = allocBehind(a.buf);
    bool local = rowLocal(rootOf(a.buf), a.map, R, ctx);
    if (a.write) {
      if (!root || !local)
        return false;
      written.insert(root);
    }
    mine.push_back({root, local});
  }
  auto all = chain.accesses;
  all.append(mine.begin(), mine.end());
  for (auto &[root, local] : all)
    if (root && written.contains(root) && !local)
      return false;
  // Nothing else may read a root this op writes (a different root can not
  // alias an allocation); accesses without a root are not to it.
  if (chain.ops.empty()) {
    chain.R = R;
    chain.rows = *rows;
  }
  chain.written = std::move(written);
  chain.accesses = std::move(all);
  chain.ops.push_back({op, n, red});
  return true;
}


/// How a chain op reads one of its operands (see ChainPlan).
enum class ReadKind {
  Memory,  // a load (or a scalar operand)
  Scalar,  // the row's value of a row-scalar buffer, known to every thread
  Version, // an element a rematerialized producer recomputes
};

/// What fusing a chain keeps out of memory:
/// - Row scalars in registers. After a fill, a copy, a row-scalar op or a
///   reduction (whose block / warp reduction gives every thread the row's
///   value) every thread knows the row's value of that buffer, so later
///   reads of it (the max in exp(x - max), the mean in x - mean) use the
///   value instead of a load. Thread 0 still stores it.
/// - Rematerialized intermediates. An elementwise op over the row and its
///   last dim whose result (the "version" of the buffer it writes, often in
///   place) is read only by later chain ops at the same element, and is dead
///   after the chain (a later chain op overwrites the buffer, or the buffer
///   is an allocation nothing else uses but memref.dealloc), is not emitted:
///   its readers recompute the element from the op's inputs (the softmax's
///   scaled scores and exponentials, the norm's residual sum and centred
///   values never go to memory). Its inputs must read the same values at
///   every reader: row scalars captured where the op stood, other
///   rematerialized versions (recursively), or memory that no chain op
///   writes between the op and its last (transitive) reader.
struct ChainPlan {
  struct Op {
    SmallVector<ReadKind> kind;   // per operand
    SmallVector<int> version;     // producer index, for ReadKind::Version
    bool candidate = false;       // could be rematerialized
    bool dropped = false;         // is rematerialized (not emitted)
  };
  SmallVector<Op> ops;
};

/// Whether `v` read with `map` is exactly the current row's element of a
/// row-scalar buffer (an allocation of R dims, maybe viewed with unit dims).
bool rowScalarRead(Value v, AffineMap map, unsigned R) {
  Root r = rootOf(v);
  return r.alloc && r.alloc.getType().getRank() == static_cast<int64_t>(R) &&
         rowLocal(r, map, R, v.getContext());
}

/// An elementwise op writing a whole version of an allocation: all-parallel
/// over the row and its last dim, one output, the allocation itself with
/// the identity map, its old value unread.
bool producerShape(const ChainOp &c, unsigned R) {
  auto g = dyn_cast<linalg::GenericOp>(c.op);
  if (!g || c.red || c.n != R + 1 || g.getNumDpsInits() != 1)
    return false;
  OpOperand *init = g.getDpsInitOperand(0);
  return init->get().getDefiningOp<memref::AllocOp>() &&
         g.getMatchingIndexingMap(init).isIdentity() &&
         g.getRegion().front().getArgument(init->getOperandNumber()).use_empty();
}

ChainPlan planChain(const Chain &chain, bool remat) {
  unsigned R = chain.R, N = chain.ops.size();
  ChainPlan plan;
  plan.ops.resize(N);
  llvm::DenseMap<Operation *, unsigned> pos;
  for (auto [i, c] : llvm::enumerate(chain.ops))
    pos[c.op] = i;
  // Forward simulation: which row scalars are known, which op wrote each
  // root last; every read of a root with the writer whose version it sees.
  llvm::SmallPtrSet<Operation *, 8> known;
  llvm::DenseMap<Operation *, int> lastWriter;
  struct Read {
    unsigned op;
    int version;
    bool exact; // a ReadKind::Version read of that version
  };
  llvm::DenseMap<Operation *, SmallVector<Read>> readsOf; // by root
  SmallVector<llvm::SmallPtrSet<Operation *, 4>> writes(N);
  for (auto [i, c] : llvm::enumerate(chain.ops)) {
    ChainPlan::Op &po = plan.ops[i];
    plan.ops[i].candidate = remat && producerShape(c, R);
    unsigned nOperands = c.op->getNumOperands();
    po.kind.assign(nOperands, ReadKind::Memory);
    po.version.assign(nOperands, -1);
    unsigned self = i; // a structured binding is not capturable (C++17)
    auto noteRead = [&](Operation *root, bool exact) {
      if (!root)
        return;
      auto it = lastWriter.find(root);
      readsOf[root].push_back(
          {self, it == lastWriter.end() ? -1 : it->second, exact});
    };
    if (auto g = dyn_cast<linalg::GenericOp>(c.op)) {
      Block &body = g.getRegion().front();
      for (OpOperand &o : g->getOpOperands()) {
        Value v = o.get();
        if (!isa<MemRefType>(v.getType()))
          continue;
        Operation *root = allocBehind(v);
        bool isInit = g.isDpsInit(&o);
        if (isInit && body.getArgument(o.getOperandNumber()).use_empty())
          continue; // written, not read
        if (isInit) { // a reduction's accumulator: loaded by thread 0
          noteRead(root, false);
          continue;
        }
        AffineMap map = g.getMatchingIndexingMap(&o);
        unsigned k = o.getOperandNumber();
        if (remat && root && known.contains(root) &&
            rowScalarRead(v, map, R)) {
          po.kind[k] = ReadKind::Scalar;
          noteRead(root, false);
          continue;
        }
        auto w = root ? lastWriter.find(root) : lastWriter.end();
        if (w != lastWriter.end() && w->second >= 0 &&
            plan.ops[w->second].candidate && v == root->getResult(0) &&
            map.isIdentity() && c.n == R + 1) {
          po.kind[k] = ReadKind::Version;
          po.version[k] = w->second;
          noteRead(root, true);
          continue;
        }
        noteRead(root, false);
      }
    } else if (auto cp = dyn_cast<memref::CopyOp>(c.op)) {
      Operation *root = allocBehind(cp.getSource());
      if (remat && c.n == R && root && known.contains(root) &&
          rowScalarRead(cp.getSource(),
                        AffineMap::getMultiDimIdentityMap(R, c.op->getContext()),
                        R))
        po.kind[0] = ReadKind::Scalar;
      noteRead(root, false);
    }
    // Writes: the roots, and whether each is a known row scalar now.
    for (const Access &a : accessesOf(c.op, c.n)) {
      if (!a.write)
        continue;
      Operation *root = allocBehind(a.buf);
      writes[i].insert(root);
      bool rowScalar = c.n == R;
      bool keepKnown = c.red && known.contains(root);
      if (rowScalar || keepKnown)
        known.insert(root);
      else
        known.erase(root);
      lastWriter[root] = i;
    }
  }
  // The last op that may evaluate each candidate's version: its readers,
  // and (as candidates may be dropped) their own last evaluators.
  SmallVector<unsigned> lastUse(N, 0);
  SmallVector<SmallVector<unsigned>> readers(N);
  SmallVector<bool> onlyExact(N, true), overwritten(N, false);
  for (auto &[root, reads] : readsOf)
    for (const Read &r : reads)
      if (r.version >= 0) {
        readers[r.version].push_back(r.op);
        if (!r.exact)
          onlyExact[r.version] = false;
      }
  for (unsigned i = 0; i < N; ++i)
    for (unsigned j = i + 1; j < N && plan.ops[i].candidate; ++j)
      if (writes[j].contains(allocBehind(
              cast<linalg::GenericOp>(chain.ops[i].op).getDpsInitOperand(0)
                  ->get()))) {
        overwritten[i] = true;
        break;
      }
  for (int i = static_cast<int>(N) - 1; i >= 0; --i) {
    unsigned last = i;
    for (unsigned j : readers[i])
      last = std::max(last, plan.ops[j].candidate ? std::max(j, lastUse[j]) : j);
    lastUse[i] = last;
  }
  for (unsigned i = 0; i < N; ++i) {
    ChainPlan::Op &po = plan.ops[i];
    if (!po.candidate || !onlyExact[i])
      continue;
    auto g = cast<linalg::GenericOp>(chain.ops[i].op);
    Value buf = g.getDpsInitOperand(0)->get();
    if (!overwritten[i]) { // dead after the chain: nothing else uses it
      bool dead = true;
      for (Operation *u : buf.getUsers())
        if (!pos.count(u) && !isa<memref::DeallocOp>(u))
          dead = false;
      if (!dead)
        continue;
    }
    bool stable = true;
    for (OpOperand *in : g.getDpsInputOperands()) {
      unsigned k = in->getOperandNumber();
      if (po.kind[k] == ReadKind::Scalar ||
          (po.kind[k] == ReadKind::Version && plan.ops[po.version[k]].dropped))
        continue;
      Operation *root = allocBehind(in->get());
      if (!root)
        continue; // not an allocation: no chain op writes it
      for (unsigned j = i + 1; j <= lastUse[i] && stable; ++j)
        stable = !writes[j].contains(root);
    }
    po.dropped = stable;
  }
  // A read of a version whose producer stays emitted is a load.
  for (ChainPlan::Op &po : plan.ops)
    for (auto [k, kind] : llvm::enumerate(po.kind))
      if (kind == ReadKind::Version && !plan.ops[po.version[k]].dropped)
        kind = ReadKind::Memory;
  return plan;
}

/// Emits a chain's ops for one row, following its plan.
/// Whether an access of `mem` through `map` (over the op's loops) touches
/// V consecutive elements for V consecutive values of the last loop, so
/// that a group's V elements are one vector: the last index is the last
/// loop, no other index depends on it, the memref's last stride is 1, and
/// its elements are a power-of-two number of bytes, V of them at most 16.
bool vectorAccess(Value mem, AffineMap map, int64_t V) {
  auto t = dyn_cast<MemRefType>(mem.getType());
  if (!t || t.getRank() == 0 || map.getNumDims() == 0 ||
      map.getNumResults() != static_cast<unsigned>(t.getRank()))
    return false;
  Type e = t.getElementType();
  if (!e.isIntOrFloat())
    return false;
  unsigned bits = e.getIntOrFloatBitWidth();
  if (bits < 8 || !llvm::isPowerOf2_32(bits) || V * bits / 8 > 16)
    return false;
  unsigned last = map.getNumDims() - 1;
  if (map.getResults().back() != getAffineDimExpr(last, map.getContext()))
    return false;
  for (AffineExpr r : map.getResults().drop_back())
    if (r.isFunctionOfDim(last))
      return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(t.getStridesAndOffset(strides, offset)) &&
         strides.back() == 1;
}

struct ChainEmitter {
  const Chain &chain;
  const ChainPlan &plan;
  OpBuilder &b;
  Location loc;
  ValueRange rowIvs;
  Value thr, cB, c0;
  bool warp;
  int64_t unroll = 1; // row elements each thread handles per loop iteration
  // Vector mode (vec > 1, behind vectorChainOk's test): a thread takes groups of
  // vec consecutive row elements, each contiguous access of a group one
  // vector load / store; groupBase is the current group's first element,
  // lane the element being emitted, vecLoads the group's loaded vectors.
  int64_t vec = 1;
  Value groupBase;
  int64_t lane = 0;
  std::map<std::tuple<const void *, const void *, const void *>, Value>
      vecLoads;
  llvm::DenseMap<Operation *, Value> scalar; // root -> the row's value
  SmallVector<llvm::DenseMap<unsigned, Value>> captured; // per op, operand
  // Register rows (regs > 0, fuseChain's test: every row loop's length
  // static, at most regs * regB): a thread's elements are k_j = thr + j
  // regB, every op's loop emitted straight-line at the kernel's top level
  // instead of as an scf.for, and a rematerialized version's value at an
  // element, computed once, serves every later reader: the row is read from
  // memory once instead of once per pass (a layer norm's sum, sum of
  // squares and store each reloaded it).
  int64_t regs = 0, regB = 0;
  std::map<std::pair<int64_t, int64_t>, std::pair<Value, Value>>
      regIndex; // (len, j) -> (k_j clamped to the row, inside; null: always)
  std::map<std::pair<unsigned, const void *>, Value>
      versions; // (dropped op, element index value) -> its value there

  ChainEmitter(const Chain &chain, const ChainPlan &plan, OpBuilder &b,
               Location loc, ValueRange rowIvs, Value thr, Value cB, Value c0,
               bool warp)
      : chain(chain), plan(plan), b(b), loc(loc), rowIvs(rowIvs), thr(thr),
        cB(cB), c0(c0), warp(warp), captured(chain.ops.size()) {}

  /// The row loop `for k0 = thr to len step B * U`, and in its body the U
  /// element indices k0 + u B, each clamped to the row (len - 1) and with
  /// whether it is inside. The clamped loads of all U elements come before
  /// any use, so a thread has U loads in flight instead of one (the loops
  /// were latency-bound: one dependent load per iteration), and a row
  /// shorter than U B still reads only valid elements. Callers guard
  /// stores and mask reductions with `inside`.
  struct Unrolled {
    scf::ForOp loop;
    SmallVector<Value> k, inside; // inside[0] is null: always inside
  };
  Unrolled rowLoop(Value len, ValueRange iterArgs) {
    Unrolled u;
    if (regs > 0)
      return regElems(len);
    int64_t U = std::max<int64_t>(unroll, 1);
    Value step = cB;
    if (U > 1)
      step = arith::MulIOp::create(
          b, loc, cB, arith::ConstantIndexOp::create(b, loc, U));
    u.loop = scf::ForOp::create(b, loc, thr, len, step, iterArgs);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(u.loop.getBody());
    Value k0 = u.loop.getInductionVar();
    u.k.push_back(k0);
    u.inside.push_back(Value());
    if (U > 1) {
      Value last = arith::SubIOp::create(
          b, loc, len, arith::ConstantIndexOp::create(b, loc, 1));
      Value k = k0;
      for (int64_t j = 1; j < U; ++j) {
        k = arith::AddIOp::create(b, loc, k, cB);
        Value in =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, k, len);
        u.k.push_back(arith::SelectOp::create(b, loc, in, k, last));
        u.inside.push_back(in);
      }
    }
    return u;
  }

  /// Register rows: no loop (u.loop null), the thread's elements k_j = thr
  /// + j regB of a row of static length `len` (ceil(len / regB) of them),
  /// the same index values for every op of that length; an element that
  /// may lie past the row's end is clamped to its last, with `inside`.
  Unrolled regElems(Value len) {
    Unrolled u;
    int64_t n = *getConstantIntValue(len);
    for (int64_t j = 0; j * regB < n; ++j) {
      std::pair<Value, Value> &ki = regIndex[{n, j}];
      if (!ki.first) {
        Value k = j == 0 ? thr
                         : arith::AddIOp::create(
                               b, loc, thr,
                               arith::ConstantIndexOp::create(b, loc, j * regB))
                               .getResult();
        if ((j + 1) * regB > n) { // thr + j regB may pass the row's end
          Value in =
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, k, len);
          k = arith::SelectOp::create(
              b, loc, in, k, arith::ConstantIndexOp::create(b, loc, n - 1));
          ki.second = in;
        }
        ki.first = k;
      }
      u.k.push_back(ki.first);
      u.inside.push_back(ki.second);
    }
    return u;
  }

  /// Operand `o` of chain op `i` (a generic) at loop indices `ivs`.
  Value operandAt(OpBuilder &ib, unsigned i, OpOperand *o, ValueRange ivs,
                  bool atOp) {
    auto g = cast<linalg::GenericOp>(chain.ops[i].op);
    unsigned k = o->getOperandNumber();
    const ChainPlan::Op &po = plan.ops[i];
    if (k < po.kind.size() && po.kind[k] == ReadKind::Scalar) {
      if (atOp)
        return scalar.lookup(allocBehind(o->get()));
      return captured[i].lookup(k);
    }
    if (k < po.kind.size() && po.kind[k] == ReadKind::Version)
      return recompute(ib, po.version[k], ivs);
    if (!isa<MemRefType>(o->get().getType()))
      return o->get(); // a scalar operand
    return loadElem(ib, o->get(), g.getMatchingIndexingMap(o), ivs);
  }

  /// The element of `mem` at loop indices `ivs` through `map`: in vector
  /// mode, where the access is contiguous (vectorAccess), lane `lane` of
  /// the group's vector load (made at the group's first use); else a load.
  Value loadElem(OpBuilder &ib, Value mem, AffineMap map, ValueRange ivs) {
    if (vec > 1 && vectorAccess(mem, map, vec)) {
      assert(groupBase && "a vector access outside a group loop");
      auto key = std::make_tuple(mem.getAsOpaquePointer(),
                                 map.getAsOpaquePointer(),
                                 groupBase.getAsOpaquePointer());
      Value &v = vecLoads[key];
      if (!v) {
        SmallVector<Value> at(ivs.begin(), ivs.end());
        at.back() = groupBase;
        Type e = cast<MemRefType>(mem.getType()).getElementType();
        v = vector::LoadOp::create(
            ib, loc, VectorType::get({vec}, e), mem,
            indicesAt(ib, loc, map, at), /*nontemporal=*/false,
            llvm::MaybeAlign(vec * e.getIntOrFloatBitWidth() / 8));
      }
      return vector::ExtractOp::create(ib, loc, v, lane);
    }
    return memref::LoadOp::create(ib, loc, mem, indicesAt(ib, loc, map, ivs));
  }

  /// The element of dropped producer `p`'s version at `ivs`.
  Value recompute(OpBuilder &ib, unsigned p, ValueRange ivs) {
    // Register rows: every reader of the version sits in the kernel's top
    // block after the first, at the same element index values.
    Value *memo = nullptr;
    if (regs > 0) {
      memo = &versions[{p, ivs.back().getAsOpaquePointer()}];
      if (*memo)
        return *memo;
    }
    auto g = cast<linalg::GenericOp>(chain.ops[p].op);
    Block &body = g.getRegion().front();
    IRMapping map;
    for (OpOperand *in : g.getDpsInputOperands()) {
      BlockArgument arg = body.getArgument(in->getOperandNumber());
      if (!arg.use_empty())
        map.map(arg, operandAt(ib, p, in, ivs, /*atOp=*/false));
    }
    for (Operation &o : body.without_terminator()) {
      if (auto index = dyn_cast<linalg::IndexOp>(o)) {
        map.map(index.getResult(), ivs[index.getDim()]);
        continue;
      }
      ib.clone(o, map);
    }
    Value v = map.lookupOrDefault(
        cast<linalg::YieldOp>(body.getTerminator()).getOperand(0));
    if (memo)
      *memo = v;
    return v;
  }

  /// The values op `i` (not a reduction) stores at `at`, with the buffers.
  SmallVector<std::pair<Value, SmallVector<Value>>>
  valuesAt(OpBuilder &ib, unsigned i, ValueRange at, SmallVector<Value> &bufs) {
    const ChainOp &c = chain.ops[i];
    SmallVector<std::pair<Value, SmallVector<Value>>> out;
    if (auto f = dyn_cast<linalg::FillOp>(c.op)) {
      bufs.push_back(f.getDpsInitOperand(0)->get());
      out.push_back({f.getDpsInputOperand(0)->get(), SmallVector<Value>(at)});
      return out;
    }
    if (auto cp = dyn_cast<memref::CopyOp>(c.op)) {
      Value v = plan.ops[i].kind[0] == ReadKind::Scalar
                    ? scalar.lookup(allocBehind(cp.getSource()))
                    : loadElem(ib, cp.getSource(),
                               AffineMap::getMultiDimIdentityMap(
                                   at.size(), ib.getContext()),
                               at);
      bufs.push_back(cp.getTarget());
      out.push_back({v, SmallVector<Value>(at)});
      return out;
    }
    auto g = cast<linalg::GenericOp>(c.op);
    Block &body = g.getRegion().front();
    IRMapping map;
    for (OpOperand &o : g->getOpOperands()) {
      BlockArgument arg = body.getArgument(o.getOperandNumber());
      if (!arg.use_empty())
        map.map(arg, operandAt(ib, i, &o, at, /*atOp=*/true));
    }
    for (Operation &o : body.without_terminator()) {
      if (auto index = dyn_cast<linalg::IndexOp>(o)) {
        map.map(index.getResult(), at[index.getDim()]);
        continue;
      }
      ib.clone(o, map);
    }
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    for (auto [r, init] : llvm::enumerate(g.getDpsInitsMutable())) {
      bufs.push_back(init.get());
      out.push_back({map.lookupOrDefault(yield.getOperand(r)),
                     indicesAt(ib, loc, g.getMatchingIndexingMap(&init), at)});
    }
    return out;
  }

  void forget(unsigned i) {
    for (const Access &a : accessesOf(chain.ops[i].op, chain.ops[i].n))
      if (a.write)
        scalar.erase(allocBehind(a.buf));
  }

  /// Emits op `i` for the current row: a loop over the last dim (k = t,
  /// t + B, ...), or for a row-scalar op its value in every thread and the
  /// store by thread 0.
  void emit(unsigned i, Value len) {
    const ChainOp &c = chain.ops[i];
    SmallVector<Value> ivs(rowIvs.begin(), rowIvs.end());
    ivs.resize(c.n);
    if (c.red) {
      emitReduction(i, ivs, len);
      return;
    }
    if (c.n == chain.R) { // row-scalar: every thread computes, thread 0 stores
      // Scalar accesses: a row-scalar op's "last loop" is a row dim, and
      // vectorChainOk does not test its memrefs.
      llvm::SaveAndRestore<int64_t> scalarOnly(vec, 1);
      SmallVector<Value> bufs;
      auto vals = valuesAt(b, i, ivs, bufs);
      forget(i);
      Value first =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, thr, c0);
      auto ifOp = scf::IfOp::create(b, loc, first, /*withElse=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      for (auto [k, vi] : llvm::enumerate(vals)) {
        memref::StoreOp::create(b, loc, vi.first, bufs[k], vi.second);
        scalar[allocBehind(bufs[k])] = vi.first;
      }
      return;
    }
    forget(i);
    if (vec > 1) {
      emitVector(i, ivs, len);
      return;
    }
    Unrolled u = rowLoop(len, {});
    OpBuilder::InsertionGuard guard(b);
    if (u.loop)
      b.setInsertionPoint(u.loop.getBody()->getTerminator());
    // Every element's values first (the loads of all U together), then
    // the stores, those past the row's end skipped.
    SmallVector<SmallVector<Value>> bufs(u.k.size());
    SmallVector<SmallVector<std::pair<Value, SmallVector<Value>>>> vals;
    for (auto [j, k] : llvm::enumerate(u.k)) {
      ivs[c.n - 1] = k;
      vals.push_back(valuesAt(b, i, ivs, bufs[j]));
    }
    for (auto [j, v] : llvm::enumerate(vals)) {
      OpBuilder::InsertionGuard g2(b);
      if (u.inside[j]) {
        auto ifOp = scf::IfOp::create(b, loc, u.inside[j], /*withElse=*/false);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      }
      for (auto [k, vi] : llvm::enumerate(v))
        memref::StoreOp::create(b, loc, vi.first, bufs[j][k], vi.second);
    }
  }

  /// Vector mode: the row loop over groups of vec elements (the row's
  /// length is a multiple of vec), group g's elements g vec .. g vec +
  /// vec - 1; per group of the unrolled loop, its first element's index.
  Unrolled groupLoop(Value len, ValueRange iterArgs,
                     SmallVector<Value> &bases) {
    Value cV = arith::ConstantIndexOp::create(b, loc, vec);
    Value groups = arith::DivUIOp::create(b, loc, len, cV);
    Unrolled u = rowLoop(groups, iterArgs);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(u.loop.getBody(), u.loop.getBody()->end());
    if (!u.loop.getBody()->empty() &&
        u.loop.getBody()->back().hasTrait<OpTrait::IsTerminator>())
      b.setInsertionPoint(u.loop.getBody()->getTerminator());
    for (Value g : u.k)
      bases.push_back(arith::MulIOp::create(b, loc, g, cV));
    return u;
  }

  /// The element index `lane` of the group starting at `base`.
  Value laneIndex(Value base, int64_t l) {
    if (l == 0)
      return base;
    return arith::AddIOp::create(b, loc, base,
                                 arith::ConstantIndexOp::create(b, loc, l));
  }

  /// emit() of an elementwise op in vector mode: every group's values
  /// first (its contiguous operands as one vector load each), then the
  /// stores, a vector store per group where the buffer's rows are
  /// contiguous (the outputs' maps are identities), a group past the row's
  /// end skipped.
  void emitVector(unsigned i, SmallVector<Value> &ivs, Value len) {
    const ChainOp &c = chain.ops[i];
    vecLoads.clear();
    SmallVector<Value> bases;
    Unrolled u = groupLoop(len, {}, bases);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(u.loop.getBody()->getTerminator());
    // [group][lane] -> the values and buffers.
    SmallVector<SmallVector<SmallVector<Value>>> bufs(bases.size());
    SmallVector<SmallVector<SmallVector<std::pair<Value, SmallVector<Value>>>>>
        vals(bases.size());
    for (auto [j, base] : llvm::enumerate(bases)) {
      groupBase = base;
      bufs[j].resize(vec);
      for (int64_t l = 0; l < vec; ++l) {
        lane = l;
        ivs[c.n - 1] = laneIndex(base, l);
        vals[j].push_back(valuesAt(b, i, ivs, bufs[j][l]));
      }
    }
    AffineMap id = AffineMap::getMultiDimIdentityMap(c.n, b.getContext());
    for (auto [j, base] : llvm::enumerate(bases)) {
      OpBuilder::InsertionGuard g2(b);
      if (u.inside[j]) {
        auto ifOp = scf::IfOp::create(b, loc, u.inside[j], /*withElse=*/false);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      }
      for (size_t k = 0; k < vals[j][0].size(); ++k) {
        Value buf = bufs[j][0][k];
        if (vectorAccess(buf, id, vec)) {
          SmallVector<Value> lanes;
          for (int64_t l = 0; l < vec; ++l)
            lanes.push_back(vals[j][l][k].first);
          Type e = cast<MemRefType>(buf.getType()).getElementType();
          Value v = vector::FromElementsOp::create(
              b, loc, VectorType::get({vec}, e), lanes);
          vector::StoreOp::create(
              b, loc, v, buf, vals[j][0][k].second, /*nontemporal=*/false,
              llvm::MaybeAlign(vec * e.getIntOrFloatBitWidth() / 8));
          continue;
        }
        for (int64_t l = 0; l < vec; ++l)
          memref::StoreOp::create(b, loc, vals[j][l][k].first, bufs[j][l][k],
                                  vals[j][l][k].second);
      }
    }
    groupBase = Value(); // its loop ends here
    vecLoads.clear();
  }

  void emitReduction(unsigned i, SmallVector<Value> &ivs, Value len) {
    const ChainOp &c = chain.ops[i];
    auto g = cast<linalg::GenericOp>(c.op);
    const RowReduction &rr = *c.red;
    Block &body = g.getRegion().front();
    BlockArgument outArg = body.getArguments().back();
    Value neutral = arith::ConstantOp::create(b, loc, rr.neutral);
    // Vector mode: the elements of each group (lanes), from contiguous
    // operands' vector loads.
    SmallVector<Value> bases;
    vecLoads.clear();
    Unrolled u = vec > 1 ? groupLoop(len, ValueRange{neutral}, bases)
                         : rowLoop(len, ValueRange{neutral});
    scf::ForOp loop = u.loop; // null with register rows: straight-line
    Value partial;            // this thread's part of the row's value
    {
      OpBuilder::InsertionGuard guard(b);
      if (loop)
        b.setInsertionPointToEnd(loop.getBody()); // after rowLoop's indices
      Value acc = loop ? loop.getRegionIterArgs()[0] : neutral;
      // (group or element j, lane l): element k_j (scalar mode) or
      // bases[j] + l (vector mode).
      SmallVector<std::pair<unsigned, int64_t>> elems;
      for (unsigned j = 0; j < u.k.size(); ++j)
        for (int64_t l = 0; l < (vec > 1 ? vec : 1); ++l)
          elems.push_back({j, l});
      for (auto [j, l] : elems) {
        if (vec > 1) {
          groupBase = bases[j];
          lane = l;
          ivs[c.n - 1] = laneIndex(bases[j], l);
        } else {
          ivs[c.n - 1] = u.k[j];
        }
        IRMapping map;
        for (OpOperand *in : g.getDpsInputOperands())
          map.map(body.getArgument(in->getOperandNumber()),
                  operandAt(b, i, in, ivs, /*atOp=*/true));
        map.map(outArg, acc);
        for (Operation &o : body.without_terminator()) {
          if (auto index = dyn_cast<linalg::IndexOp>(o)) {
            map.map(index.getResult(), ivs[index.getDim()]);
            continue;
          }
          b.clone(o, map);
        }
        Value next = map.lookup(rr.combine->getResult(0));
        // An element past the row's end (a clamped duplicate) adds nothing.
        acc = u.inside[j] ? arith::SelectOp::create(b, loc, u.inside[j], next,
                                                    acc)
                                .getResult()
                          : next;
      }
      if (loop) {
        scf::YieldOp::create(b, loc, acc);
        partial = loop.getResult(0);
      } else {
        partial = acc;
      }
      groupBase = Value(); // the group loop ends here
      vecLoads.clear();
    }
    Value x = rr.combine->getOperand(0) == outArg ? rr.combine->getOperand(1)
                                                  : rr.combine->getOperand(0);
    Value all;
    if (warp || (regs > 0 && regB == 32)) {
      // One warp per row (a warp per row, or register rows in blocks of one
      // warp): a butterfly of shuffles leaves the row's value in every lane
      // (no shared memory, no block barrier).
      all = partial;
      Value width = arith::ConstantIntOp::create(b, loc, 32, 32);
      for (int64_t off = 16; off >= 1; off /= 2) {
        Value o = arith::ConstantIntOp::create(b, loc, off, 32);
        Value other = gpu::ShuffleOp::create(b, loc, all, o, width,
                                             gpu::ShuffleMode::XOR)
                          .getShuffleResult();
        IRMapping step;
        step.map(outArg, all);
        step.map(x, other);
        all = b.clone(*rr.combine, step)->getResult(0);
      }
    } else {
      all = gpu::AllReduceOp::create(
          b, loc, partial,
          gpu::AllReduceOperationAttr::get(b.getContext(), rr.kind),
          b.getUnitAttr());
    }
    OpOperand *out = g.getDpsInitOperand(0);
    Operation *root = allocBehind(out->get());
    // The row's new value, in every thread when the old one is known.
    Value known = scalar.lookup(root);
    Value updated;
    if (known) {
      IRMapping fold;
      fold.map(outArg, known);
      fold.map(x, all);
      updated = b.clone(*rr.combine, fold)->getResult(0);
    }
    scalar.erase(root);
    Value first =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, thr, c0);
    auto ifOp = scf::IfOp::create(b, loc, first, /*withElse=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      ivs[c.n - 1] = c0;
      SmallVector<Value> idx =
          indicesAt(b, loc, g.getMatchingIndexingMap(out), ivs);
      Value v = updated;
      if (!v) {
        Value old = memref::LoadOp::create(b, loc, out->get(), idx);
        IRMapping fold;
        fold.map(outArg, old);
        fold.map(x, all);
        v = b.clone(*rr.combine, fold)->getResult(0);
      }
      memref::StoreOp::create(b, loc, v, out->get(), idx);
    }
    if (updated)
      scalar[root] = updated;
  }

  /// Captures what dropped op `i` reads as row scalars, where it stood.
  void capture(unsigned i) {
    const ChainPlan::Op &po = plan.ops[i];
    for (auto [k, kind] : llvm::enumerate(po.kind))
      if (kind == ReadKind::Scalar)
        captured[i][k] = scalar.lookup(allocBehind(chain.ops[i].op->getOperand(k)));
    forget(i);
  }
};

/// The trip count of loop `d` of a chain op, created at `b`.
Value loopSize(OpBuilder &b, Location loc, Operation *op, unsigned d) {
  if (auto l = dyn_cast<linalg::LinalgOp>(op)) {
    SmallVector<Range, 4> ranges = l.createLoopRanges(b, loc);
    return getValueOrCreateConstantIndexOp(b, loc, ranges[d].size);
  }
  auto c = cast<memref::CopyOp>(op);
  auto t = cast<MemRefType>(c.getTarget().getType());
  if (!t.isDynamicDim(d)) // static: a constant (vectorChainOk needs it)
    return arith::ConstantIndexOp::create(b, loc, t.getDimSize(d));
  return memref::DimOp::create(b, loc, c.getTarget(), d);
}

/// Fuses `chain` into one scf.parallel: a block of `blockSize` threads per
/// row, or with `warpRows` > 0 a warp (32 lanes) per row and `warpRows`
/// rows per block.
/// The run-time condition of a chain's vector mode (see fuseChain), or
/// null when the chain cannot take it: a row loop's length is not a static
/// multiple of V, or no access is contiguous.
Value vectorChainOk(OpBuilder &b, Location loc, const Chain &chain,
                    ArrayRef<Value> lens, int64_t V) {
  llvm::SetVector<Value> mems;
  for (auto [i, c] : llvm::enumerate(chain.ops)) {
    if (c.n == chain.R)
      continue; // row-scalar: stays scalar
    std::optional<int64_t> len = getConstantIntValue(lens[i]);
    if (!len || *len % V != 0)
      return Value();
    for (const Access &a : accessesOf(c.op, c.n))
      if (vectorAccess(a.buf, a.map, V))
        mems.insert(a.buf);
  }
  if (mems.empty())
    return Value();
  Value ok;
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value cV = arith::ConstantIndexOp::create(b, loc, V);
  for (Value mem : mems) {
    auto t = cast<MemRefType>(mem.getType());
    int64_t bytes = t.getElementType().getIntOrFloatBitWidth() / 8;
    auto md = memref::ExtractStridedMetadataOp::create(b, loc, mem);
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, mem);
    Value first = arith::AddIOp::create(
        b, loc, base,
        arith::MulIOp::create(b, loc, md.getOffset(),
                              arith::ConstantIndexOp::create(b, loc, bytes)));
    SmallVector<Value> zeros = {arith::RemUIOp::create(
        b, loc, first, arith::ConstantIndexOp::create(b, loc, V * bytes))};
    for (Value st : md.getStrides().drop_back())
      zeros.push_back(arith::RemUIOp::create(b, loc, st, cV));
    for (Value z : zeros) {
      Value c =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, z, c0);
      ok = ok ? arith::AndIOp::create(b, loc, ok, c).getResult() : c;
    }
  }
  return ok;
}

LogicalResult fuseChain(Chain &chain, const RowBlock &block, int64_t warpRows,
                        bool rematerialize, int64_t unroll, int64_t vector,
                        int64_t registers) {
  unsigned R = chain.R;
  int64_t staticRows = 1;
  for (const CanonDim &d : chain.rows)
    staticRows = d.constant == ShapedType::kDynamic || staticRows < 0
                     ? -1
                     : staticRows * d.constant;
  if (staticRows >= 0 && staticRows <= 1)
    return failure();
  Operation *last = chain.ops.back().op;
  OpBuilder b(last);
  Location loc = chain.ops.front().op->getLoc();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  bool warp = warpRows > 0;
  // Rows from the first op; each op's own last-dim length.
  Operation *first = chain.ops.front().op;
  SmallVector<Value> trips;
  Value rows = c1;
  for (unsigned d = 0; d < R; ++d) {
    Value t = loopSize(b, loc, first, d);
    trips.push_back(t);
    rows = arith::MulIOp::create(b, loc, rows, t);
  }
  Value cB = warp ? arith::ConstantIndexOp::create(b, loc, 32)
                  : block.threads(b, loc, rows, staticRows);
  SmallVector<Value> lens;
  for (const ChainOp &c : chain.ops)
    lens.push_back(c.n == R ? Value() : loopSize(b, loc, c.op, c.n - 1));
  Value blocks = rows, threads = cB;
  if (warp) {
    Value cW = arith::ConstantIndexOp::create(b, loc, warpRows);
    blocks = arith::CeilDivUIOp::create(b, loc, rows, cW);
    threads = arith::ConstantIndexOp::create(b, loc, 32 * warpRows);
  }
  auto grid = scf::ParallelOp::create(b, loc, ValueRange{c0, c0},
                                      ValueRange{blocks, threads},
                                      ValueRange{c1, c1});
  b.setInsertionPointToStart(grid.getBody());
  Value row = grid.getInductionVars()[0], thr = grid.getInductionVars()[1];
  if (warp) {
    // Row g * W + t / 32, lane t % 32; the rows past the end (the last
    // block) do nothing. The condition is the same for a whole warp, so
    // the shuffles and warp barriers inside see all 32 lanes.
    Value cW = arith::ConstantIndexOp::create(b, loc, warpRows);
    Value c32 = arith::ConstantIndexOp::create(b, loc, 32);
    row = arith::AddIOp::create(b, loc,
                                arith::MulIOp::create(b, loc, row, cW),
                                arith::DivUIOp::create(b, loc, thr, c32));
    thr = arith::RemUIOp::create(b, loc, thr, c32);
    Value inside =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, rows);
    auto ifOp = scf::IfOp::create(b, loc, inside, /*withElse=*/false);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  }
  SmallVector<Value> rowIvs(R);
  Value rest = row;
  for (int64_t d = static_cast<int64_t>(R) - 1; d >= 0; --d) {
    if (d > 0) {
      rowIvs[d] = arith::RemUIOp::create(b, loc, rest, trips[d]);
      rest = arith::DivUIOp::create(b, loc, rest, trips[d]);
    } else {
      rowIvs[d] = rest;
    }
  }
  ChainPlan plan = planChain(chain, rematerialize);
  // Register rows (ChainEmitter::regs): where every row loop's length is
  // static and a thread of a block of regB threads has at most `registers`
  // elements of it. regB is the block size of the many-rows grids (a warp
  // with warpRows); where the size is chosen at run time (RowBlock), a
  // uniform test on it picks this emission.
  const int64_t regB = warp ? 32 : block.size;
  int64_t regs = 0;
  if (registers > 0) {
    bool ok = true;
    for (auto [i, c] : llvm::enumerate(chain.ops)) {
      if (c.n == R)
        continue;
      std::optional<int64_t> n = getConstantIntValue(lens[i]);
      if (!n || *n <= 0) {
        ok = false;
        break;
      }
      regs = std::max(regs, (*n + regB - 1) / regB);
    }
    if (!ok || regs > registers)
      regs = 0;
  }
  std::optional<int64_t> staticB = getConstantIntValue(cB);
  if (staticB && *staticB != regB)
    regs = 0;
  auto emitAll = [&](int64_t vec, int64_t withRegs) {
    ChainEmitter em(chain, plan, b, loc, rowIvs, thr, cB, c0, warp);
    em.unroll = unroll;
    em.vec = vec;
    em.regs = withRegs;
    em.regB = regB;
    bool emitted = false;
    for (auto [i, c] : llvm::enumerate(chain.ops)) {
      if (plan.ops[i].dropped) {
        em.capture(i); // recomputed where it is read
        continue;
      }
      // Between ops: the block's barrier, or the warp's (__syncwarp, which
      // orders the lanes' memory accesses as bar.sync does the block's).
      if (emitted && warp)
        NVVM::SyncWarpOp::create(
            b, loc, arith::ConstantIntOp::create(b, loc, -1, 32));
      else if (emitted)
        gpu::BarrierOp::create(b, loc);
      em.emit(i, lens[i]);
      emitted = true;
    }
  };
  // Vector mode where every row loop's length is a static multiple of V and
  // some access is contiguous: taken when, at run time, every such memref's
  // first element is aligned to V elements and its other strides are
  // multiples of V (a uniform test: the whole grid takes one branch, so the
  // barriers inside stay uniform); the scalar emission otherwise.
  auto emitLoops = [&]() {
    if (Value ok =
            vector > 1 ? vectorChainOk(b, loc, chain, lens, vector) : Value()) {
      auto ifOp = scf::IfOp::create(b, loc, ok, /*withElse=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      emitAll(vector, 0);
      b.setInsertionPointToStart(&ifOp.getElseRegion().front());
      emitAll(1, 0);
    } else {
      emitAll(1, 0);
    }
  };
  if (regs > 0 && staticB) {
    emitAll(1, regs);
  } else if (regs > 0) {
    Value isB =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, cB,
                              arith::ConstantIndexOp::create(b, loc, regB));
    auto ifOp = scf::IfOp::create(b, loc, isB, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    emitAll(1, regs);
    b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    emitLoops();
  } else {
    emitLoops();
  }
  if (failed(mlir::tfc::mapBlocksThreads(grid)))
    return failure();
  for (ChainOp &c : chain.ops)
    c.op->erase();
  return success();
}

} // namespace

/// Finds the chains of the function's top-level ops and fuses those with a
/// reduction and at least two ops; returns how many.
unsigned mlir::tfc::rowops::fuseRowChains(func::FuncOp f, const RowBlock &rb,
                                          int64_t warpRows, bool rematerialize,
                                          int64_t unroll, int64_t vector,
                                          int64_t registers) {
  std::vector<Chain> done;
  Chain cur;
  auto close = [&]() {
    if (cur.ops.size() >= 2 && cur.hasReduction())
      done.push_back(std::move(cur));
    cur = Chain();
  };
  for (Block &block : f.getBody())
    for (Operation &op : block) {
      std::optional<RowReduction> red;
      unsigned n = chainLoops(&op, red);
      if (n > 0) {
        if (tryAppend(cur, &op, n, red))
          continue;
        // A chain without a reduction yet (fills, copies, elementwise ops)
        // may have taken its rows too wide: retry it with this op's rows
        // (a fill of the [b, s] sums before a reduction over [b, s, k]).
        if (!cur.hasReduction() && !cur.ops.empty() && n >= 2) {
          Chain retry;
          bool ok = true;
          for (const ChainOp &c : cur.ops)
            ok = ok && tryAppend(retry, c.op, c.n, c.red, n - 1);
          if (ok && tryAppend(retry, &op, n, red)) {
            cur = std::move(retry);
            continue;
          }
        }
        close();
        if (!tryAppend(cur, &op, n, red))
          cur = Chain();
        continue;
      }
      if (!cur.ops.empty() && transparent(&op))
        continue;
      close();
    }
  close();
  unsigned fused = 0;
  for (Chain &c : done)
    if (succeeded(fuseChain(c, rb, warpRows, rematerialize, unroll, vector,
                            registers)))
      ++fused;
  return fused;
}
