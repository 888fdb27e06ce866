//===- CalibKeys.cpp - names calibration statistics are keyed by ---------===//
#include "CalibKeys.h"

#include "mlir/IR/Builders.h"

#include <map>

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::calib;

std::string mlir::tfc::calib::nameOf(Location loc) {
  std::string found;
  loc->walk([&](Location l) {
    if (auto n = dyn_cast<NameLoc>(l)) {
      found = n.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return found;
}

std::vector<std::pair<Operation *, std::string>>
mlir::tfc::calib::keyedOps(ModuleOp module) {
  std::vector<std::pair<Operation *, std::string>> out;
  std::map<std::string, int> seen;
  int unnamed = 0;
  module.walk([&](Operation *op) {
    if (!isa<LinearOp, GatedMlpOp>(op))
      return;
    std::string key = nameOf(op->getLoc());
    if (key.empty())
      key = op->getName().stripDialect().str() + "#" +
            std::to_string(unnamed++);
    int &n = seen[key];
    if (++n > 1)
      key += "#" + std::to_string(n);
    out.emplace_back(op, key);
  });
  return out;
}

calib::GatedMlpParts mlir::tfc::calib::splitGatedMlp(GatedMlpOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto xt = cast<RankedTensorType>(op.getInput().getType());
  SmallVector<int64_t> hs(xt.getShape());
  hs.back() = cast<RankedTensorType>(op.getWGate().getType()).getDimSize(1);
  auto ht = RankedTensorType::get(hs, xt.getElementType());
  GatedMlpParts p;
  p.gate = LinearOp::create(b, loc, ht, op.getInput(), op.getWGate(), Value(),
                            false);
  p.up = LinearOp::create(b, loc, ht, op.getInput(), op.getWUp(), Value(),
                          false);
  Value a = UnaryOp::create(
      b, loc, ht, p.gate.getResult(),
      UnaryKindAttr::get(b.getContext(), op.getActivation()));
  p.hidden = BinaryOp::create(
      b, loc, ht, a, p.up.getResult(),
      BinaryKindAttr::get(b.getContext(), BinaryKind::mul));
  p.down = LinearOp::create(b, loc, op.getResult().getType(), p.hidden,
                            op.getWDown(), Value(), false);
  op.getResult().replaceAllUsesWith(p.down.getResult());
  return p;
}
