//===- GpuPdl.cpp - kernels that let the next launch start early ----------===//
//
// tfc-gpu-pdl (on gpu.module, before convert-gpu-to-nvvm; tfc --cuda-pdl):
// every kernel of the module begins with
//   nvvm.griddepcontrol wait               (the previous kernel in the stream
//                                          has finished and its stores are
//                                          visible)
//   nvvm.griddepcontrol launch_dependents  (the next kernel may be scheduled)
// so the runtime may launch it with programmatic stream serialization
// (Hopper's programmatic dependent launch): the next kernel's blocks are
// resident and waiting while this one runs, and the launch gap between them
// goes. Waiting before anything else keeps stream order for every memory
// access; triggering after the wait keeps at most one kernel waiting behind
// the running one. Launched without that attribute, both are no-ops. The
// model says it has such kernels with TFC_MODEL_FLAG_CUDA_PDL (docs/DESIGN.md
// "Programmatic dependent launch").
//
//===----------------------------------------------------------------------===//

#include "tfc/Conversion/Pipelines.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace {

struct GpuPdlPass
    : public PassWrapper<GpuPdlPass, OperationPass<gpu::GPUModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GpuPdlPass)
  StringRef getArgument() const override { return "tfc-gpu-pdl"; }
  StringRef getDescription() const override {
    return "Begin every kernel with griddepcontrol wait + launch_dependents "
           "(programmatic dependent launch)";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<NVVM::NVVMDialect>();
  }
  void runOnOperation() override {
    getOperation().walk([](gpu::GPUFuncOp f) {
      if (!f.isKernel() || f.getBody().empty())
        return;
      OpBuilder b(f.getContext());
      b.setInsertionPointToStart(&f.getBody().front());
      NVVM::GriddepcontrolOp::create(b, f.getLoc(),
                                     NVVM::GridDepActionKind::wait);
      NVVM::GriddepcontrolOp::create(
          b, f.getLoc(), NVVM::GridDepActionKind::launch_dependents);
    });
  }
};

} // namespace

std::unique_ptr<Pass> mlir::tfc::createGpuPdlPass() {
  return std::make_unique<GpuPdlPass>();
}

void mlir::tfc::registerGpuPdlPass() { PassRegistration<GpuPdlPass>(); }
