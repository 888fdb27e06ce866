//===- OpClass.cpp - which role a transformer op plays -------------------===//
#include "OpClass.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"

using namespace mlir;
using namespace mlir::tfc;
using quant::OpClass;

bool mlir::tfc::isPassThroughOp(Operation *op) {
  return isa<ReshapeOp, TransposeOp, RotaryOp, ExpandOp, CastOp,
             tensor::ExtractSliceOp, tensor::CastOp, tensor::CollapseShapeOp,
             tensor::ExpandShapeOp>(op);
}

namespace {
/// Does `v` reach an attention operand (0..2) through pass-through ops?
bool feedsAttention(Value v, int depth = 0) {
  if (depth > 8)
    return false;
  for (OpOperand &use : v.getUses()) {
    Operation *u = use.getOwner();
    if (isa<AttentionOp>(u) && use.getOperandNumber() <= 2)
      return true;
    if (isPassThroughOp(u))
      for (Value r : u->getResults())
        if (feedsAttention(r, depth + 1))
          return true;
  }
  return false;
}

/// Does `v` come from an attention result through pass-through ops?
bool fromAttention(Value v, int depth = 0) {
  if (depth > 8)
    return false;
  Operation *d = v.getDefiningOp();
  if (!d)
    return false;
  if (isa<AttentionOp>(d))
    return true;
  if (isPassThroughOp(d))
    return fromAttention(d->getOperand(0), depth + 1);
  return false;
}

/// Does `v` reach the entry's return through pass-through ops?
bool returned(Value v, int depth = 0) {
  if (depth > 8)
    return false;
  for (OpOperand &use : v.getUses()) {
    Operation *u = use.getOwner();
    if (isa<func::ReturnOp>(u))
      return true;
    if (isPassThroughOp(u) && returned(u->getResult(0), depth + 1))
      return true;
  }
  return false;
}
} // namespace

OpClass mlir::tfc::classifyOp(Operation *op) {
  if (isa<EmbeddingOp>(op))
    return OpClass::Embedding;
  if (isa<AttentionOp>(op))
    return OpClass::Attention;
  if (isa<GatedMlpOp>(op))
    return OpClass::Mlp;
  auto l = cast<LinearOp>(op);
  if (returned(l.getResult()))
    return OpClass::LmHead;
  if (feedsAttention(l.getResult()))
    return OpClass::Qkv;
  if (fromAttention(l.getInput()))
    return OpClass::OutProj;
  return OpClass::Mlp;
}

std::string mlir::tfc::onnxNodeName(Location loc) {
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
