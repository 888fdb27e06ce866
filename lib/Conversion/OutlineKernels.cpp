//===- OutlineKernels.cpp - one function per top-level loop nest ----------===//
//
// After linalg is lowered to loops, the entry function holds hundreds of loop
// nests. LLVM's optimizer is super-linear in function size (alias queries,
// GVN, the vectorizers), so one giant function compiled slower than all the
// loops apart. This pass moves every top-level scf.for/scf.parallel nest of
// the entry into a private `noinline` function taking the values it uses
// (constants are re-materialized inside, so static trip counts stay static).
// The call boundary is also where per-kernel profiling hooks go
// (InsertProfiling.cpp).
//
// A top-level scf.parallel (what convert-linalg-to-parallel-loops makes of a
// linalg op's parallel dims) becomes a *parallel body*: a function
// `<entry>_k<N>_par(captured..., begin, end, work)` that runs iterations
// [begin, end) of a linearized outer space, called with (0, N, work);
// tfc-lower-parallel-calls later turns that call into tfcrt_parallel_work,
// which splits [0, N) over the runtime's threads when `work` (the scalar
// iterations of the whole nest, a cost estimate) is worth a wake-up. The
// space: with loops nested in the body (reductions), every parallel dim is
// linearized; otherwise the last dim is cut into blocks of kBlock iterations
// that stay an inner scf.for, so LLVM still vectorizes it, and the blocks
// and the other dims are linearized (a [1, 4096] loop still splits).
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/RegionUtils.h"
#include "tfc/Conversion/Pipelines.h"

using namespace mlir;

namespace {

/// The main entry and, with tfc-kv-cache, the step entry.
SmallVector<func::FuncOp> entryFunctions(ModuleOp module) {
  SmallVector<func::FuncOp> entries;
  module.walk([&](func::FuncOp f) {
    if ((f->hasAttr("tfc.entry") || f->hasAttr("tfc.step_entry")) &&
        !f.isExternal())
      entries.push_back(f);
  });
  return entries;
}

/// Iterations of the last dim per block of a body without nested loops.
constexpr int64_t kBlock = 1024;

/// max(ceildiv(ub - lb, step), 0)
Value tripCount(OpBuilder &b, Location loc, Value lb, Value ub, Value step) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value span = arith::SubIOp::create(b, loc, ub, lb);
  Value t = arith::CeilDivSIOp::create(b, loc, span, step);
  return arith::MaxSIOp::create(b, loc, t, zero);
}

bool hasNestedLoops(scf::ParallelOp par) {
  bool nested = false;
  par.getBody()->walk([&](Operation *op) {
    if (isa<LoopLikeOpInterface>(op))
      nested = true;
  });
  return nested;
}

/// Product of the trip counts of the loops nested in `par` whose bounds are
/// defined outside it (computable before the call); others count as 1.
Value nestedWork(OpBuilder &b, Location loc, scf::ParallelOp par) {
  Value work = arith::ConstantIndexOp::create(b, loc, 1);
  par.getBody()->walk([&](scf::ForOp f) {
    for (Value v : {f.getLowerBound(), f.getUpperBound(), f.getStep()})
      if (par->isAncestor(v.getParentRegion()->getParentOp()) ||
          (v.getDefiningOp() && par->isAncestor(v.getDefiningOp())))
        return;
    work = arith::MulIOp::create(
        b, loc, work,
        tripCount(b, loc, f.getLowerBound(), f.getUpperBound(), f.getStep()));
  });
  return work;
}

/// The outer space of a parallel body: (number of linear iterations,
/// per-dim trip counts, blocks of the last dim or 0 when fully linearized).
struct Space {
  Value n;
  SmallVector<Value> trips;
  Value lastBlocks; // null: every dim linearized
};

Space outerSpace(OpBuilder &b, Location loc, scf::ParallelOp par,
                 ValueRange lbs, ValueRange ubs, ValueRange steps,
                 bool linearizeAll) {
  Space sp;
  sp.n = arith::ConstantIndexOp::create(b, loc, 1);
  size_t r = lbs.size();
  for (size_t i = 0; i < r; ++i)
    sp.trips.push_back(tripCount(b, loc, lbs[i], ubs[i], steps[i]));
  for (size_t i = 0; i + (linearizeAll ? 0 : 1) < r; ++i)
    sp.n = arith::MulIOp::create(b, loc, sp.n, sp.trips[i]);
  if (!linearizeAll) {
    sp.lastBlocks = arith::CeilDivSIOp::create(
        b, loc, sp.trips.back(), arith::ConstantIndexOp::create(b, loc, kBlock));
    sp.n = arith::MulIOp::create(b, loc, sp.n, sp.lastBlocks);
  }
  return sp;
}

struct OutlineKernelsPass
    : public PassWrapper<OutlineKernelsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(OutlineKernelsPass)
  StringRef getArgument() const override { return "tfc-outline-kernels"; }
  StringRef getDescription() const override {
    return "Move each top-level loop nest of the entry function into its own "
           "noinline function; scf.parallel nests become parallel bodies "
           "called over a linearized range";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<func::FuncDialect, arith::ArithDialect, scf::SCFDialect>();
  }

  void runOnOperation() override {
    for (func::FuncOp entry : entryFunctions(getOperation()))
      outline(entry);
  }

  /// Fills the parallel body `fn` (arguments: the captured values, then
  /// begin, end, work) with the iterations [begin, end) of `par`.
  void buildParallelBody(OpBuilder &b, scf::ParallelOp par, IRMapping &map,
                         Value begin, Value end) {
    Location loc = par.getLoc();
    bool all = hasNestedLoops(par);
    SmallVector<Value> lbs, ubs, steps;
    for (Value v : par.getLowerBound())
      lbs.push_back(map.lookupOrDefault(v));
    for (Value v : par.getUpperBound())
      ubs.push_back(map.lookupOrDefault(v));
    for (Value v : par.getStep())
      steps.push_back(map.lookupOrDefault(v));
    Space sp = outerSpace(b, loc, par, lbs, ubs, steps, all);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto outer = scf::ForOp::create(b, loc, begin, end, one);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(outer.getBody());
    Value rest = outer.getInductionVar();
    size_t r = lbs.size();
    SmallVector<Value> ivs(r);
    Value blockStart, blockEnd;
    if (!all) {
      Value blk = arith::RemSIOp::create(b, loc, rest, sp.lastBlocks);
      rest = arith::DivSIOp::create(b, loc, rest, sp.lastBlocks);
      Value bs = arith::ConstantIndexOp::create(b, loc, kBlock);
      blockStart = arith::MulIOp::create(b, loc, blk, bs);
      blockEnd = arith::MinSIOp::create(
          b, loc, arith::AddIOp::create(b, loc, blockStart, bs), sp.trips.back());
    }
    // Delinearize the remaining dims, last (fastest) first.
    for (int64_t i = static_cast<int64_t>(r) - (all ? 1 : 2); i >= 0; --i) {
      Value idx = i == 0 ? rest : arith::RemSIOp::create(b, loc, rest, sp.trips[i]);
      if (i > 0)
        rest = arith::DivSIOp::create(b, loc, rest, sp.trips[i]);
      ivs[i] = arith::AddIOp::create(
          b, loc, lbs[i], arith::MulIOp::create(b, loc, idx, steps[i]));
    }
    auto cloneBody = [&](OpBuilder &bb) {
      Block *body = par.getBody();
      for (auto [arg, iv] : llvm::zip(body->getArguments(), ivs))
        map.map(arg, iv);
      for (Operation &op : body->without_terminator())
        bb.clone(op, map);
    };
    if (all) {
      cloneBody(b);
      return;
    }
    auto inner = scf::ForOp::create(b, loc, blockStart, blockEnd, one);
    b.setInsertionPointToStart(inner.getBody());
    ivs[r - 1] = arith::AddIOp::create(
        b, loc, lbs[r - 1],
        arith::MulIOp::create(b, loc, inner.getInductionVar(), steps[r - 1]));
    cloneBody(b);
  }

  /// A parallel nest we can split: no results, no reductions.
  static bool splittable(Operation *nest) {
    auto par = dyn_cast<scf::ParallelOp>(nest);
    return par && par.getNumResults() == 0 && par.getInitVals().empty() &&
           par.getNumLoops() > 0;
  }

  void outline(func::FuncOp entry) {
    SmallVector<Operation *> nests;
    for (Operation &op : entry.getBody().front())
      if (isa<scf::ForOp, scf::ParallelOp>(op))
        nests.push_back(&op);
    OpBuilder b(&getContext());
    int counter = 0;
    std::string prefix = entry.getSymName().str() + "_k";
    for (Operation *nest : nests) {
      // Loop nests here produce no results (buffer semantics).
      if (nest->getNumResults())
        continue;
      // Values from above: the op's operands and what its regions capture.
      SetVector<Value> captured;
      for (Value v : nest->getOperands())
        captured.insert(v);
      for (Region &r : nest->getRegions())
        getUsedValuesDefinedAbove(r, captured);
      // Constants are cloned into the kernel instead of passed.
      SmallVector<Value> args;
      SmallVector<Operation *> constants;
      for (Value v : captured) {
        Operation *def = v.getDefiningOp();
        if (def && def->hasTrait<OpTrait::ConstantLike>() &&
            def->getNumResults() == 1 && !isa<memref::GetGlobalOp>(def))
          constants.push_back(def);
        else
          args.push_back(v);
      }
      bool parallel = splittable(nest);
      SmallVector<Type> argTypes;
      for (Value v : args)
        argTypes.push_back(v.getType());
      if (parallel)
        argTypes.append(3, b.getIndexType()); // begin, end, work
      b.setInsertionPoint(entry);
      std::string name =
          prefix + std::to_string(counter++) + (parallel ? "_par" : "");
      auto fn = func::FuncOp::create(b, nest->getLoc(), name,
                                     b.getFunctionType(argTypes, {}));
      fn.setPrivate();
      fn->setAttr("passthrough", b.getArrayAttr({b.getStringAttr("noinline")}));
      if (parallel)
        fn->setAttr("tfc.parallel_body", b.getUnitAttr());
      Block *body = fn.addEntryBlock();
      IRMapping map;
      for (auto [v, a] : llvm::zip(args, body->getArguments()))
        map.map(v, a);
      b.setInsertionPointToStart(body);
      for (Operation *c : constants)
        b.clone(*c, map);
      if (parallel) {
        unsigned nArgs = body->getNumArguments();
        buildParallelBody(b, cast<scf::ParallelOp>(nest), map,
                          body->getArgument(nArgs - 3),
                          body->getArgument(nArgs - 2));
      } else {
        b.clone(*nest, map);
      }
      func::ReturnOp::create(b, nest->getLoc());
      b.setInsertionPoint(nest);
      SmallVector<Value> callArgs(args);
      if (parallel) {
        auto par = cast<scf::ParallelOp>(nest);
        Location loc = nest->getLoc();
        bool all = hasNestedLoops(par);
        Space sp = outerSpace(b, loc, par, par.getLowerBound(),
                              par.getUpperBound(), par.getStep(), all);
        Value work = nestedWork(b, loc, par);
        for (Value t : sp.trips)
          work = arith::MulIOp::create(b, loc, work, t);
        callArgs.push_back(arith::ConstantIndexOp::create(b, loc, 0));
        callArgs.push_back(sp.n);
        callArgs.push_back(work);
      }
      func::CallOp::create(b, nest->getLoc(), fn, callArgs);
      nest->erase();
    }
  }
};

} // namespace

std::unique_ptr<Pass> mlir::tfc::createOutlineKernelsPass() {
  return std::make_unique<OutlineKernelsPass>();
}
