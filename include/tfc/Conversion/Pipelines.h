//===- Pipelines.h - tfc pass pipelines per target --------------*- C++ -*-===//
#ifndef TFC_CONVERSION_PIPELINES_H
#define TFC_CONVERSION_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include <string>

namespace mlir::tfc {

struct PipelineOptions {
  bool raise = true;           // run the raising passes
  bool kernels = true;         // matmuls -> libtfcrt micro-kernels
  std::string weightsPath;     // .tfcw output ("" = layout only)
  bool profile = false;        // per-op-class timing hooks (--profile)
};

/// Textual pipelines (for tfc-opt and the driver).
std::string frontendPipeline(const PipelineOptions &o);       // -> tfc ops
std::string toLinalgPipeline(const PipelineOptions &o);       // -> linalg
std::string cpuLoweringPipeline(const PipelineOptions &o);    // linalg -> llvm

/// Passes not declared in TableGen (registered by registerTfcPipelines).
std::unique_ptr<Pass> createMathApproximationPass();
std::unique_ptr<Pass> createLowerReshapeViewsPass();
std::unique_ptr<Pass> createOutlineKernelsPass();
std::unique_ptr<Pass> createInsertProfilingPass();

} // namespace mlir::tfc

#endif
