//===- GpuAttentionHalfOut.cpp - the attention kernel writes half ---------===//
//
// tfc-gpu-attention-half-out (after tfc-to-linalg{native-half-matmul}, on the
// CUDA target; tfc --cuda-attention-half-out, default on): in an f16 / bf16
// build, the fused attention call writes its f32 result into a fresh buffer,
// and the only reader is the rounding kernel in front of the output
// projection's half GEMM:
//
//   %a = memref.alloc(..) : memref<..xf32>
//   call @tfcrt_gpu_attention_bf16mma(.., <views of %a>, ..)
//   %t = bufferization.to_tensor %a
//   %r = <collapse_shape / expand_shape of %t>
//   %h = linalg.generic ins(%r) { arith.truncf f32 -> bf16 }
//
// (or the _rope entries, tfc-cpu-kernels{gpu-rope}: the same 13 operands and
// five more). It becomes one call of tfcrt_gpu_attention_bf16mma_hout
// (_rope_hout) into a bf16 buffer (the same views), whose kernel rounds each
// output element to nearest even as it stores it: the same bits as before, one
// launch and a pass over the attention's output fewer per layer (docs/DESIGN.md
// "The attention kernel writes half"). Anything else reading the f32 result
// leaves it alone.
//
//===----------------------------------------------------------------------===//

#include "tfc/Conversion/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace {

/// The half type a generic only rounds its single f32 input to (identity
/// maps, all parallel, body `truncf; yield`), else null.
Type truncTarget(linalg::GenericOp g) {
  if (g.getNumDpsInputs() != 1 || g.getNumDpsInits() != 1 ||
      g->getNumResults() != 1)
    return {};
  for (AffineMap m : g.getIndexingMapsArray())
    if (!m.isIdentity())
      return {};
  if (g.getNumReductionLoops() != 0)
    return {};
  Block &body = g.getRegion().front();
  if (body.getOperations().size() != 2)
    return {};
  auto t = dyn_cast<arith::TruncFOp>(body.front());
  auto y = dyn_cast<linalg::YieldOp>(body.back());
  if (!t || !y || t.getIn() != body.getArgument(0) ||
      y.getNumOperands() != 1 || y.getOperand(0) != t.getResult())
    return {};
  if (t.getRoundingmodeAttr() ||
      (t.getFastmathAttr() != nullptr &&
       t.getFastmath() != arith::FastMathFlags::none))
    return {};
  Type in = t.getIn().getType(), out = t.getType();
  if (!in.isF32() || !(out.isF16() || out.isBF16()))
    return {};
  return out;
}

struct GpuAttentionHalfOutPass
    : public PassWrapper<GpuAttentionHalfOutPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GpuAttentionHalfOutPass)
  StringRef getArgument() const override {
    return "tfc-gpu-attention-half-out";
  }
  StringRef getDescription() const override {
    return "A half GPU attention call whose f32 result is only rounded to "
           "f16 / bf16 writes the half result itself";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<func::FuncDialect, memref::MemRefDialect, tensor::TensorDialect,
             bufferization::BufferizationDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp c) {
      StringRef n = c.getCallee();
      if (n == "tfcrt_gpu_attention_f16mma" ||
          n == "tfcrt_gpu_attention_bf16mma" ||
          n == "tfcrt_gpu_attention_f16mma_rope" ||
          n == "tfcrt_gpu_attention_bf16mma_rope")
        calls.push_back(c);
    });
    for (func::CallOp c : calls)
      rewrite(module, c);
  }

  /// Follows the call's out operand (#5) back to its alloc through casts and
  /// transposes; the alloc's other users must be those views and one
  /// to_tensor, read only through reshapes by one truncf generic.
  void rewrite(ModuleOp module, func::CallOp call) {
    // The _rope entries take the same 13 operands, then their own 5.
    const bool rope = call.getCallee().ends_with("_rope");
    if (call.getNumOperands() != (rope ? 18u : 13u))
      return;
    const bool bf16 =
        call.getCallee().starts_with("tfcrt_gpu_attention_bf16mma");
    SmallVector<Operation *> views; // alloc -> call operand, in order
    Value v = call.getOperand(5);
    while (Operation *def = v.getDefiningOp()) {
      if (isa<memref::CastOp, memref::TransposeOp>(def)) {
        if (!def->hasOneUse())
          return;
        views.push_back(def);
        v = def->getOperand(0);
        continue;
      }
      break;
    }
    auto alloc = v.getDefiningOp<memref::AllocOp>();
    if (!alloc || !alloc.getType().getElementType().isF32() ||
        !alloc.getType().getLayout().isIdentity())
      return;
    std::reverse(views.begin(), views.end());
    // Without views the call must take the buffer as its result only (it is
    // replaced there alone).
    if (views.empty() &&
        llvm::count(call.getOperands(), alloc.getResult()) != 1)
      return;
    bufferization::ToTensorOp toTensor;
    for (Operation *u : alloc->getUsers()) {
      if (!views.empty() && u == views.front())
        continue;
      if (views.empty() && u == call.getOperation())
        continue;
      auto t = dyn_cast<bufferization::ToTensorOp>(u);
      if (!t || toTensor)
        return;
      toTensor = t;
    }
    if (!toTensor || toTensor->getBlock() != call->getBlock() ||
        !call->isBeforeInBlock(toTensor))
      return;
    // Along the chain, tensor.dim may read any value (the sizes are the
    // same in half); exactly one other user goes on.
    SmallVector<Operation *> reshapes;
    SmallVector<std::pair<tensor::DimOp, unsigned>> dims; // (op, chain pos)
    Value r = toTensor.getResult();
    linalg::GenericOp round;
    while (true) {
      Operation *next = nullptr;
      for (Operation *u : r.getUsers()) {
        if (auto d = dyn_cast<tensor::DimOp>(u)) {
          dims.push_back({d, (unsigned)reshapes.size()});
          continue;
        }
        if (next)
          return;
        next = u;
      }
      if (!next)
        return;
      if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(next)) {
        reshapes.push_back(next);
        r = next->getResult(0);
        continue;
      }
      round = dyn_cast<linalg::GenericOp>(next);
      break;
    }
    if (!round)
      return;
    Type half = truncTarget(round);
    if (!half || half.isBF16() != bf16)
      return;
    // The reshaped half result must be exactly the generic's result (a
    // generic may also cast static / dynamic dims).
    if (RankedTensorType::get(cast<RankedTensorType>(r.getType()).getShape(),
                              half) != round->getResult(0).getType())
      return;
    // A memref type with the half element type.
    auto halfOf = [&](Type t) -> MemRefType {
      auto mt = cast<MemRefType>(t);
      return MemRefType::get(mt.getShape(), half, mt.getLayout(),
                             mt.getMemorySpace());
    };
    MLIRContext *ctx = module.getContext();
    SmallVector<Type> argTypes(call.getOperandTypes());
    argTypes[5] = halfOf(argTypes[5]);
    auto calleeType = FunctionType::get(ctx, argTypes, {});
    std::string name = call.getCallee().str() + "_hout";
    auto decl = module.lookupSymbol<func::FuncOp>(name);
    if (decl && decl.getFunctionType() != calleeType)
      return; // another signature under that name: leave this call alone
    if (!decl) {
      OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
      decl = func::FuncOp::create(mb, call.getLoc(), name, calleeType);
      decl.setPrivate();
      decl->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
    }

    OpBuilder b(alloc);
    auto newAlloc = memref::AllocOp::create(
        b, alloc.getLoc(), halfOf(alloc.getType()), alloc.getDynamicSizes(),
        alloc.getSymbolOperands(), alloc.getAlignmentAttr());
    // The views again, on the half buffer.
    b.setInsertionPoint(call);
    Value hv = newAlloc.getResult();
    for (Operation *op : views) {
      Type nt = halfOf(op->getResult(0).getType());
      if (auto cst = dyn_cast<memref::CastOp>(op))
        hv = memref::CastOp::create(b, cst.getLoc(), nt, hv);
      else {
        auto tr = cast<memref::TransposeOp>(op);
        hv = memref::TransposeOp::create(b, tr.getLoc(), nt, hv,
                                         tr.getPermutationAttr());
      }
    }
    SmallVector<Value> args(call.getOperands());
    args[5] = hv;
    func::CallOp::create(b, call.getLoc(), name, TypeRange{}, args);
    // The result, reshaped as before, replaces the rounding generic's.
    b.setInsertionPoint(toTensor);
    auto tt = cast<RankedTensorType>(toTensor.getType());
    Value t = bufferization::ToTensorOp::create(
        b, toTensor.getLoc(), RankedTensorType::get(tt.getShape(), half),
        newAlloc.getResult(), toTensor.getRestrict(), toTensor.getWritable());
    SmallVector<Value> chain = {t};
    for (Operation *op : reshapes) {
      b.setInsertionPoint(op);
      auto rt = cast<RankedTensorType>(op->getResult(0).getType());
      auto nt = RankedTensorType::get(rt.getShape(), half);
      if (auto c = dyn_cast<tensor::CollapseShapeOp>(op))
        t = tensor::CollapseShapeOp::create(b, c.getLoc(), nt, t,
                                            c.getReassociationIndices());
      else {
        auto e = cast<tensor::ExpandShapeOp>(op);
        t = tensor::ExpandShapeOp::create(b, e.getLoc(), nt, t,
                                          e.getReassociationIndices(),
                                          e.getMixedOutputShape());
      }
      chain.push_back(t);
    }
    for (auto [d, pos] : dims)
      d.getSourceMutable().assign(chain[pos]);
    round->getResult(0).replaceAllUsesWith(t);
    round->erase();
    for (auto it = reshapes.rbegin(); it != reshapes.rend(); ++it)
      (*it)->erase();
    toTensor->erase();
    call->erase();
    for (auto it = views.rbegin(); it != views.rend(); ++it)
      (*it)->erase();
    alloc->erase();
  }
};

} // namespace

std::unique_ptr<Pass> mlir::tfc::createGpuAttentionHalfOutPass() {
  return std::make_unique<GpuAttentionHalfOutPass>();
}

void mlir::tfc::registerGpuAttentionHalfOutPass() {
  PassRegistration<GpuAttentionHalfOutPass>();
}
