//===- InsertProfiling.cpp - per-kernel timing hooks ----------------------===//
//
// tfc-insert-profiling (tfc --profile) wraps every call of the entry
// functions -- outlined loop nests and runtime kernels, after
// tfc-outline-kernels -- in tfcrt_prof_enter(id) / tfcrt_prof_exit(id). An id
// is a *site*: what the kernel was lowered from, read from MLIR locations
// carried through lowering:
//   - the op class: the first FusedLoc metadata string of the call's
//     location (tfc-to-linalg and tfc-cpu-kernels tag everything they build
//     from a tfc op with FusedLoc<"linear">[loc of the op]); "other" if none;
//   - the tfc ops: every such metadata string in the call's location and,
//     for a call of an outlined body, in the body's operations (elementwise
//     fusion clones the producers' bodies with their locations, so a fused
//     nest names all its ops);
//   - the ONNX nodes: every NameLoc (the importer's node names) found there.
// The module attribute tfc.op_classes lists one line per site, the fields
// separated by tabs: op class, the tfc ops (space-separated, "tfc."
// prefixed), then one field per ONNX node; tfc writes it into
// tfc_model_desc.op_classes (tfc_runtime.h). Sites with identical lines
// share an id.
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "tfc/Conversion/Pipelines.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace {

/// Where a site's attribution is gathered from one location.
struct Attribution {
  std::string opClass;
  llvm::SetVector<StringRef> tfcOps;
  llvm::SetVector<StringRef> nodes;

  void add(Location loc) {
    loc->walk([&](Location l) {
      if (auto f = dyn_cast<FusedLoc>(l))
        if (auto s = dyn_cast_or_null<StringAttr>(f.getMetadata())) {
          if (opClass.empty())
            opClass = s.str();
          tfcOps.insert(s.getValue());
        }
      if (auto n = dyn_cast<NameLoc>(l))
        nodes.insert(n.getName().getValue());
      return WalkResult::advance();
    });
  }

  /// The tab-separated line of tfc.op_classes.
  std::string line() const {
    auto clean = [](StringRef s) {
      std::string out = s.str();
      for (char &c : out)
        if (c == '\t' || c == '\n' || c == '\r')
          c = ' ';
      return out;
    };
    std::string l = clean(opClass.empty() ? "other" : opClass) + "\t";
    for (size_t i = 0; i < tfcOps.size(); ++i)
      l += (i ? " tfc." : "tfc.") + clean(tfcOps[i]);
    for (StringRef n : nodes)
      l += "\t" + clean(n);
    return l;
  }
};

/// The main entry and, with tfc-kv-cache, the step entry (and every
/// partition's).
SmallVector<func::FuncOp> entryFunctions(ModuleOp module) {
  SmallVector<func::FuncOp> entries;
  module.walk([&](func::FuncOp f) {
    if ((f->hasAttr("tfc.entry") || f->hasAttr("tfc.step_entry")) &&
        !f.isExternal())
      entries.push_back(f);
  });
  return entries;
}

struct InsertProfilingPass
    : public PassWrapper<InsertProfilingPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(InsertProfilingPass)
  StringRef getArgument() const override { return "tfc-insert-profiling"; }
  StringRef getDescription() const override {
    return "Wrap each kernel call of the entry functions in tfcrt_prof_enter/"
           "exit calls keyed by site (op class, tfc ops, ONNX nodes from the "
           "locations); records the sites in the module attribute "
           "tfc.op_classes";
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
    SmallVector<func::CallOp> calls;
    for (func::FuncOp entry : entries)
      entry.walk([&](func::CallOp c) {
        if (!c.getCallee().starts_with("tfcrt_prof"))
          calls.push_back(c);
      });
    llvm::StringMap<int64_t> ids;
    SmallVector<Attribute> lines;
    for (func::CallOp c : calls) {
      Attribution a;
      a.add(c.getLoc());
      if (auto callee = module.lookupSymbol<func::FuncOp>(c.getCallee()))
        if (!callee.isExternal())
          callee.walk([&](Operation *op) { a.add(op->getLoc()); });
      std::string line = a.line();
      auto it = ids.try_emplace(line, (int64_t)lines.size());
      if (it.second)
        lines.push_back(b.getStringAttr(line));
      b.setInsertionPoint(c);
      Value id = arith::ConstantOp::create(
          b, c.getLoc(), b.getI64IntegerAttr(it.first->second));
      func::CallOp::create(b, c.getLoc(), "tfcrt_prof_enter", TypeRange{},
                           ValueRange{id});
      b.setInsertionPointAfter(c);
      func::CallOp::create(b, c.getLoc(), "tfcrt_prof_exit", TypeRange{},
                           ValueRange{id});
    }
    module->setAttr("tfc.op_classes", b.getArrayAttr(lines));
  }
};

} // namespace

std::unique_ptr<Pass> mlir::tfc::createInsertProfilingPass() {
  return std::make_unique<InsertProfilingPass>();
}
