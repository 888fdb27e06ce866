//===- Partition.cpp - tfc-partition: pipeline or tensor parts ------------===//
//
// The pass parses `strategy` (pipeline:N | tensor:N), finds the entry and
// hands it to PartitionPipeline.cpp or PartitionTensor.cpp. Both produce
// one entry per rank (Partition.h); the runtime runs entry k on rank k.
//
//===----------------------------------------------------------------------===//
#include "Partition.h"
#include "tfc/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCPARTITION
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;

std::string partition::partEntryName(func::FuncOp main, int64_t part) {
  StringRef name = main.getSymName();
  std::string p = "_p" + std::to_string(part);
  if (name.ends_with("_main"))
    return (name.drop_back(5) + p + "_main").str();
  return (name + p).str();
}

func::FuncOp partition::clonePart(func::FuncOp main, int64_t part) {
  OpBuilder b(main);
  auto f = cast<func::FuncOp>(b.clone(*main));
  f.setSymName(partEntryName(main, part));
  f->setAttr("tfc.entry", b.getUnitAttr());
  f->setAttr("tfc.part", b.getI64IntegerAttr(part));
  return f;
}

void partition::markModule(ModuleOp module, StringRef kind, int64_t parts) {
  Builder b(module.getContext());
  module->setAttr("tfc.partition",
                  b.getDictionaryAttr(
                      {b.getNamedAttr("kind", b.getStringAttr(kind)),
                       b.getNamedAttr("parts", b.getI64IntegerAttr(parts))}));
}

namespace {
struct PartitionPass : public tfc::impl::TfcPartitionBase<PartitionPass> {
  using TfcPartitionBase::TfcPartitionBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    StringRef s = strategy;
    auto [kind, count] = s.split(':');
    int64_t parts = 0;
    if ((kind != "pipeline" && kind != "tensor") ||
        count.getAsInteger(10, parts) || parts < 1) {
      module.emitError("tfc-partition: strategy must be pipeline:N or "
                       "tensor:N with N >= 1, got '")
          << strategy << "'";
      return signalPassFailure();
    }
    if (module->hasAttr("tfc.partition")) {
      module.emitError("tfc-partition: the module is already partitioned");
      return signalPassFailure();
    }
    func::FuncOp main;
    int entries = 0;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr("tfc.entry")) {
        main = f;
        ++entries;
      }
    if (entries != 1) {
      module.emitError("tfc-partition: expected one function marked "
                       "tfc.entry, found ")
          << entries;
      return signalPassFailure();
    }
    if (llvm::any_of(module.getOps<func::FuncOp>(), [](func::FuncOp f) {
          return f->hasAttr("tfc.step_entry");
        })) {
      module.emitError("tfc-partition: run it before tfc-kv-cache (the "
                       "step entries are derived per part)");
      return signalPassFailure();
    }
    if (parts == 1) // nothing to split: a one-rank "partition" is the model
      return;
    LogicalResult r = kind == "pipeline"
                          ? partition::partitionPipeline(main, parts)
                          : partition::partitionTensor(main, parts);
    if (failed(r))
      return signalPassFailure();
    partition::markModule(module, kind, parts);
  }
};
} // namespace
