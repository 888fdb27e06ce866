//===- InsertObservers.cpp - --tfc-insert-observers for calibration -------===//
//
// Puts a tfc.observe on every tensor a tfc.linear or tfc.gated_mlp reads,
// once per tensor (q, k and v read one), after splitting each gated MLP into
// its linears so that the down projection's input is a tensor too. The side
// table `tfc.observers` (a module attribute the driver writes out as
// <stem>.observers.json) maps each id to the tensor's name, its feature dim
// k and the keys (CalibKeys.h) of the ops that read it. Only `tfc --observe`
// runs this pass: a normal compile never sees an observer.
//
//===----------------------------------------------------------------------===//
#include "CalibKeys.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "tfc/Transforms/Passes.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCINSERTOBSERVERS
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;

namespace {

struct InsertObserversPass
    : public tfc::impl::TfcInsertObserversBase<InsertObserversPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Tensor -> keys of the ops reading it, in first-use order.
    llvm::MapVector<Value, std::vector<std::string>> readers;
    std::vector<Operation *> dead;
    for (auto &[op, key] : calib::keyedOps(module)) {
      if (auto l = dyn_cast<LinearOp>(op)) {
        readers[l.getInput()].push_back(key);
        continue;
      }
      auto g = cast<GatedMlpOp>(op);
      readers[g.getInput()].push_back(key);
      calib::GatedMlpParts parts = calib::splitGatedMlp(g);
      readers[parts.hidden].push_back(calib::downKey(key));
      dead.push_back(op);
    }
    for (Operation *op : dead)
      op->erase();
    OpBuilder b(module.getContext());
    SmallVector<Attribute> table;
    int64_t id = 0;
    for (auto &[v, keys] : readers) {
      auto t = dyn_cast<RankedTensorType>(v.getType());
      if (!t || !t.getElementType().isF32() || t.getRank() < 1)
        continue;
      if (Operation *d = v.getDefiningOp())
        b.setInsertionPointAfter(d);
      else
        b.setInsertionPointToStart(cast<BlockArgument>(v).getOwner());
      ObserveOp::create(b, v.getLoc(), v, b.getI64IntegerAttr(id),
                        b.getStringAttr(keys.front()));
      SmallVector<Attribute> ops;
      for (const std::string &k : keys)
        ops.push_back(b.getStringAttr(k));
      NamedAttribute fields[] = {
          b.getNamedAttr("id", b.getI64IntegerAttr(id)),
          b.getNamedAttr("name", b.getStringAttr(keys.front())),
          b.getNamedAttr("k", b.getI64IntegerAttr(t.getShape().back())),
          b.getNamedAttr("ops", b.getArrayAttr(ops))};
      table.push_back(b.getDictionaryAttr(fields));
      ++id;
    }
    module->setAttr("tfc.observers", b.getArrayAttr(table));
  }
};

} // namespace
