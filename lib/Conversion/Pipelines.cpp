//===- Pipelines.cpp - tfc pass pipelines per target ----------------------===//
//
// CPU pipeline (docs/DESIGN.md):
//   raise (tfc-raise-*) -> tfc-to-linalg -> elementwise fusion ->
//   one-shot bufferization (identity layouts at the boundary) ->
//   buffer deallocation -> tfc-linalg-to-kernels -> tfc-externalize-weights
//   -> loops -> polynomial math -> LLVM dialect (generic alloc functions).
//
//===----------------------------------------------------------------------===//
#include "tfc/Conversion/Pipelines.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "tfc/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::tfc;

namespace {
/// exp/tanh/erf/log/... as polynomials (vectorizable, ~1 ulp for f32).
struct MathApproximationPass
    : public PassWrapper<MathApproximationPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MathApproximationPass)
  StringRef getArgument() const override { return "tfc-math-approx"; }
  StringRef getDescription() const override {
    return "Expand math ops (exp, tanh, erf, log, ...) into polynomial "
           "approximations that vectorize";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<math::MathDialect, vector::VectorDialect, arith::ArithDialect>();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) {
          name.consume_front("math.");
          return name == "exp" || name == "tanh" || name == "erf" ||
                 name == "log" || name == "expm1" || name == "log1p";
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

/// Elementwise producer/consumer fusion on tensors, without the reshape
/// propagation of upstream's linalg-fuse-elementwise-ops (which rewrites
/// named matmuls into generics and hides them from the kernel pass).
struct FuseElementwisePass
    : public PassWrapper<FuseElementwisePass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FuseElementwisePass)
  StringRef getArgument() const override { return "tfc-fuse-elementwise"; }
  StringRef getDescription() const override {
    return "Fuse elementwise linalg.generic producers into their consumers "
           "(single-use producers only)";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<linalg::LinalgDialect, tensor::TensorDialect>();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::ControlFusionFn control = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

std::unique_ptr<Pass> mlir::tfc::createMathApproximationPass() {
  return std::make_unique<MathApproximationPass>();
}

std::string mlir::tfc::frontendPipeline(const PipelineOptions &o) {
  std::string p = "canonicalize,cse";
  if (o.raise)
    p += ",func.func(tfc-raise-linear,tfc-raise-norms,tfc-raise-activations,"
         "tfc-raise-rotary,tfc-raise-attention),canonicalize,cse";
  if (!o.prune.empty())
    p += ",tfc-prune{" + o.prune + "},canonicalize,cse";
  if (!o.attention.empty())
    p += ",tfc-sparsify-attention{pattern=" + o.attention + "},canonicalize,cse";
  if (!o.partition.empty())
    p += ",tfc-partition{strategy=" + o.partition + "},canonicalize,cse";
  if (!o.quantize.empty())
    p += ",tfc-quantize{recipe=" + o.quantize +
         " group=" + std::to_string(o.quantGroup) +
         (o.quantSym.empty() ? "" : " symmetric=" + o.quantSym) +
         (o.calibStats.empty() ? "" : " stats=" + o.calibStats) +
         (o.quantMethod.empty() ? "" : " method=" + o.quantMethod) +
         (o.calibRange.empty() ? "" : " act-range=" + o.calibRange) +
         (o.gptqActOrder ? " act-order=true" : "") +
         (o.quantClip.empty() ? "" : " clip=" + o.quantClip) +
         "},canonicalize,cse";
  if (o.observe)
    p += ",tfc-insert-observers";
  if (o.kvCache)
    p += ",tfc-kv-cache{max-len=" + std::to_string(o.kvMaxLen) +
         " window=" + std::to_string(o.kvWindow) +
         (o.kvEvict ? " evict=true" : "") +
         (o.kvSinks ? " sinks=" + std::to_string(o.kvSinks) : "") +
         (o.kvDtype != "f32" ? " kv-dtype=" + o.kvDtype : "") +
         (o.kvLogits != "all" ? " logits=" + o.kvLogits : "") +
         "},canonicalize,cse";
  if (o.sinkQuery)
    p += std::string(",tfc-sink-query") +
         (o.sinkQueryStrict ? "" : "{strict=false}") + ",canonicalize,cse";
  return p;
}

std::string mlir::tfc::toLinalgPipeline(const PipelineOptions &o) {
  std::string kernels = ",tfc-cpu-kernels";
  if (o.sparse != "auto")
    kernels += "{sparse=" + o.sparse + "}";
  const bool gpuKernels = !o.gpuAttention.empty() || o.gpuLinear;
  if (!o.cpuKernels && gpuKernels)
    kernels = ",tfc-cpu-kernels{" +
              (o.gpuAttention.empty() ? std::string("attention=false")
                                      : "gpu=" + o.gpuAttention) +
              (o.gpuLinear ? " gpu-linear=true" : "") +
              (o.gpuFuseNorm ? " gpu-fuse-norm=true" : "") +
              (o.gpuRope ? " gpu-rope=true" : "") + "}";
  // CUDA: an attention's q / k / v projections as one GEMM, before the
  // linears become GEMM calls.
  return frontendPipeline(o) +
         (o.joinLinears ? ",tfc-join-linears" : "") +
         (o.cpuKernels || gpuKernels ? kernels : "") +
         ",tfc-to-linalg" +
         (o.nativeHalfMatmul ? "{native-half-matmul=true}" : "") +
         (o.gpuAttentionHalfOut ? ",tfc-gpu-attention-half-out" : "") +
         ",canonicalize,cse,tfc-fuse-elementwise,"
         "canonicalize,cse";
}

std::string mlir::tfc::cpuLoweringPipeline(const PipelineOptions &o) {
  std::string p =
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "canonicalize,cse";
  if (!getenv("TFC_DEBUG_NO_DEALLOC"))
    p += ",buffer-deallocation-pipeline,canonicalize";
  if (o.kernels)
    p += ",tfc-linalg-to-kernels";
  p += ",tfc-early-dealloc";
  p += ",tfc-externalize-weights{output=" + o.weightsPath + "}";
  // Parallel dims become scf.parallel, which tfc-outline-kernels turns into
  // parallel bodies run over the thread pool (tfc-lower-parallel-calls).
  p += ",convert-linalg-to-parallel-loops,lower-affine,canonicalize,cse,"
       "tfc-outline-kernels,";
  if (o.profile)
    p += "tfc-insert-profiling,";
  p += ""
       "tfc-math-approx,convert-scf-to-cf,tfc-lower-reshape-views,"
       "expand-strided-metadata,"
       "lower-affine,finalize-memref-to-llvm{use-generic-functions=true},"
       "convert-math-to-llvm,convert-math-to-libm,convert-arith-to-llvm,"
       "convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,"
       "convert-vector-to-llvm,finalize-memref-to-llvm{use-generic-functions=true},"
       "convert-arith-to-llvm,convert-func-to-llvm,"
       "reconcile-unrealized-casts,tfc-lower-parallel-calls,canonicalize";
  return p;
}

void mlir::tfc::registerTfcPipelines() {
  PassRegistration<MathApproximationPass>();
  PassRegistration<FuseElementwisePass>();
  PassRegistration<Pass>([] { return createLowerReshapeViewsPass(); });
  PassRegistration<Pass>([] { return createOutlineKernelsPass(); });
  PassRegistration<Pass>([] { return createLowerParallelCallsPass(); });
  PassRegistration<Pass>([] { return createInsertProfilingPass(); });
  PassRegistration<Pass>([] { return createEarlyDeallocPass(); });
}
