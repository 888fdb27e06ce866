//===- OutlineKernels.cpp - one function per top-level loop nest ----------===//
//
// After linalg is lowered to loops, the entry function holds hundreds of loop
// nests. LLVM's optimizer is super-linear in function size (alias queries,
// GVN, the vectorizers), so one giant function compiled slower than all the
// loops apart. This pass moves every top-level scf.for/scf.parallel nest of
// the entry into a private `noinline` function taking the values it uses
// (constants are re-materialized inside, so static trip counts stay static).
// The call boundary is also where per-kernel profiling hooks go.
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

struct OutlineKernelsPass
    : public PassWrapper<OutlineKernelsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(OutlineKernelsPass)
  StringRef getArgument() const override { return "tfc-outline-kernels"; }
  StringRef getDescription() const override {
    return "Move each top-level loop nest of the entry function into its own "
           "noinline function";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<func::FuncDialect>();
  }

  void runOnOperation() override {
    for (func::FuncOp entry : entryFunctions(getOperation()))
      outline(entry);
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
      SmallVector<Type> argTypes;
      for (Value v : args)
        argTypes.push_back(v.getType());
      b.setInsertionPoint(entry);
      std::string name = prefix + std::to_string(counter++);
      auto fn = func::FuncOp::create(b, nest->getLoc(), name,
                                     b.getFunctionType(argTypes, {}));
      fn.setPrivate();
      fn->setAttr("passthrough", b.getArrayAttr({b.getStringAttr("noinline")}));
      Block *body = fn.addEntryBlock();
      IRMapping map;
      for (auto [v, a] : llvm::zip(args, body->getArguments()))
        map.map(v, a);
      b.setInsertionPointToStart(body);
      for (Operation *c : constants)
        b.clone(*c, map);
      b.clone(*nest, map);
      func::ReturnOp::create(b, nest->getLoc());
      // Loop nests here produce no results (buffer semantics).
      if (nest->getNumResults()) {
        fn.erase();
        continue;
      }
      b.setInsertionPoint(nest);
      func::CallOp::create(b, nest->getLoc(), fn, args);
      nest->erase();
    }
  }
};

} // namespace

std::unique_ptr<Pass> mlir::tfc::createOutlineKernelsPass() {
  return std::make_unique<OutlineKernelsPass>();
}

//===----------------------------------------------------------------------===//
// tfc-insert-profiling
//===----------------------------------------------------------------------===//

namespace {

/// The op class a location carries (set by tfc-to-linalg), or "other".
std::string opClassOf(Location loc) {
  std::string found;
  loc->walk([&](Location l) {
    if (auto f = dyn_cast<FusedLoc>(l))
      if (auto s = dyn_cast_or_null<StringAttr>(f.getMetadata())) {
        found = s.str();
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  return found.empty() ? "other" : found;
}

struct InsertProfilingPass
    : public PassWrapper<InsertProfilingPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(InsertProfilingPass)
  StringRef getArgument() const override { return "tfc-insert-profiling"; }
  StringRef getDescription() const override {
    return "Wrap each kernel call of the entry function in tfcrt_prof_enter/"
           "exit calls keyed by op class; records the classes in the module "
           "attribute tfc.op_classes";
  }
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> entries = entryFunctions(module);
    if (entries.empty())
      return;
    OpBuilder b(&getContext());
    auto i64 = b.getI64Type();
    auto hookType = b.getFunctionType({i64}, {});
    for (const char *name : {"tfcrt_prof_enter", "tfcrt_prof_exit"})
      if (!module.lookupSymbol(name)) {
        b.setInsertionPointToStart(module.getBody());
        func::FuncOp::create(b, module.getLoc(), name, hookType).setPrivate();
      }
    llvm::StringMap<int64_t> ids;
    SmallVector<Attribute> names;
    SmallVector<func::CallOp> calls;
    for (func::FuncOp entry : entries)
      entry.walk([&](func::CallOp c) {
        if (!c.getCallee().starts_with("tfcrt_prof"))
          calls.push_back(c);
      });
    for (func::CallOp c : calls) {
      std::string cls = opClassOf(c.getLoc());
      auto it = ids.try_emplace(cls, (int64_t)names.size());
      if (it.second)
        names.push_back(b.getStringAttr(cls));
      b.setInsertionPoint(c);
      Value id = arith::ConstantOp::create(b, c.getLoc(),
                                           b.getI64IntegerAttr(it.first->second));
      func::CallOp::create(b, c.getLoc(), "tfcrt_prof_enter", TypeRange{},
                           ValueRange{id});
      b.setInsertionPointAfter(c);
      func::CallOp::create(b, c.getLoc(), "tfcrt_prof_exit", TypeRange{},
                           ValueRange{id});
    }
    module->setAttr("tfc.op_classes", b.getArrayAttr(names));
  }
};

} // namespace

std::unique_ptr<Pass> mlir::tfc::createInsertProfilingPass() {
  return std::make_unique<InsertProfilingPass>();
}
