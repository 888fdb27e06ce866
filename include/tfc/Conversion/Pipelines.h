//===- Pipelines.h - tfc pass pipelines per target --------------*- C++ -*-===//
#ifndef TFC_CONVERSION_PIPELINES_H
#define TFC_CONVERSION_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include <string>

namespace mlir::tfc {

struct PipelineOptions {
  bool raise = true;           // run the raising passes
  bool kernels = true;         // matmuls -> libtfcrt micro-kernels
  bool cpuKernels = false;     // tfc-cpu-kernels: linear / gated_mlp /
                               // attention -> libtfcrt kernels (CPU target)
  std::string weightsPath;     // .tfcw output ("" = layout only)
  bool profile = false;        // per-op-class timing hooks (--profile)
  std::string partition;       // tfc-partition strategy ("" = none)
  bool kvCache = false;        // tfc-kv-cache: add the cached step entry
  int64_t kvMaxLen = 0;        //   static cache length (0: dynamic)
  int64_t kvWindow = 0;        //   sliding attention window (0: none)
  bool kvEvict = false;        //   ring cache of the window's size
  int64_t kvSinks = 0;         //   sink keys (and ring sink slots)
  std::string kvDtype = "f32"; //   cache element type: f32 | f16 | int8
  std::string kvLogits = "all"; //  step logits: all | last position
  bool sinkQuery = false;       // tfc-sink-query: sinks at cache positions
  bool sinkQueryStrict = true;  // ... an error where it cannot (else a remark)
  std::string quantize;        // tfc-quantize recipe ("" = none)
  int64_t quantGroup = -1;     //   --quant-group (-1: the preset's)
  std::string quantSym;        //   "sym" / "asym" / "" (the preset's)
  std::string calibStats;      //   --calib-stats FILE
  std::string prune;           // tfc-prune options ("" = no pass)
  std::string attention;       // tfc-sparsify-attention pattern ("" = none)
  std::string quantMethod;     //   --quant-method rtn|gptq ("" = recipe's)
  std::string calibRange;      //   --calib-range (static activations)
  bool gptqActOrder = false;   //   --gptq-act-order
  std::string quantClip;       //   --quant-clip minmax|mse|hmse ("" = recipe's)
  bool observe = false;        // tfc-insert-observers (tfc --observe)
  std::string sparse = "auto"; // tfc-cpu-kernels sparse= (auto|off|force)
  bool nativeHalfMatmul = false; // tfc-to-linalg: half matmuls stay half
                                 // (CUDA: cuBLAS accumulates them in f32)
  std::string gpuAttention;      // CUDA: tfc.attention -> the fused kernel
                                 // (f32 | f16 | bf16 products; "" = linalg)
  bool gpuLinear = false;         // CUDA: tfc.linear -> one cuBLASLt GEMM
                                 // with its epilogue (tfcrt_gpu_linear_*)
  bool joinLinears = false;      // q / k / v projections as one linear
                                 // (tfc-join-linears; CPU kernels, CUDA)
  bool gpuFuseNorm = false;      // CUDA: an RMS norm, a gated MLP's GLU
                                 // and a residual add run inside the GEMM
                                 // calls (tfcrt_gpu_linear_ex_*)
  bool gpuAttentionHalfOut = false; // CUDA half: the attention call writes
                                 // the half result the output projection
                                 // reads (tfc-gpu-attention-half-out)
  bool gpuRope = false;          // CUDA: a KV-cache step's rotary and cache
                                 // writes inside the attention call
                                 // (tfc-cpu-kernels{gpu-rope})
};

/// Textual pipelines (for tfc-opt and the driver).
std::string frontendPipeline(const PipelineOptions &o);       // -> tfc ops
std::string toLinalgPipeline(const PipelineOptions &o);       // -> linalg
std::string cpuLoweringPipeline(const PipelineOptions &o);    // linalg -> llvm

/// Passes not declared in TableGen (registered by registerTfcPipelines).
std::unique_ptr<Pass> createMathApproximationPass();
std::unique_ptr<Pass> createLowerReshapeViewsPass();
std::unique_ptr<Pass> createOutlineKernelsPass();
std::unique_ptr<Pass> createLowerParallelCallsPass();
std::unique_ptr<Pass> createInsertProfilingPass();
std::unique_ptr<Pass> createEarlyDeallocPass();

/// GPU target (--target=cuda, lib/Conversion/GpuPipeline.cpp).
struct GpuPipelineOptions {
  std::string chip = "sm_90";      // nvvm-attach-target chip
  std::string features = "+ptx80"; // PTX ISA version
  std::string format = "bin";      // gpu-module-to-binary: bin (cubin), isa
                                   // (PTX, JIT-compiled by the driver), fatbin
  int optLevel = 3;                // NVPTX optimization level
  std::string toolkitPath;         // CUDA toolkit: libdevice, ptxas ("" =
                                   // MLIR's search: CUDA_ROOT/HOME/PATH)
  int64_t blockSize = 256;         // threads per block (tfc-gpu-map-loops)
  int64_t perThread = 4;           // innermost iterations per thread (there)
  bool vectorRows = true;          // ... aligned contiguous rows as vectors
  int64_t perThreadMin = 1 << 20;  // ... for loops of at least this many
  bool gemm = true;                // matmuls through cuBLASLt (else loops)
  int64_t rowReduceBlock = 32;     // tfc-gpu-row-reductions' threads per
                                   // block (0: the plain mapping)
  int64_t rowFewRows = 1024;       // ... grids of at most this many rows
  int64_t rowFewBlock = 256;       // ... take blocks of this many threads
                                   // (0 / 0: always rowReduceBlock)
  bool rowFuse = true;             // ... and runs of row ops (norms,
                                   // softmax) fused into one kernel
  int64_t rowWarps = 0;            // ... a warp per row of such a run,
                                   // this many rows per block (0: a block)
  bool rowRemat = true;            // ... its elementwise intermediates
                                   // recomputed where read, not stored
  int64_t rowUnroll = 4;           // ... row elements a thread loads at once
  int64_t rowVector = 1;           // ... consecutive row elements a thread
                                   // takes as one vector (1: one each)
  int64_t rowRegisters = 0;        // ... rows of at most this many elements
                                   // a thread kept in registers (0: off)
  bool mergeKernels = true;        // consecutive independent grids as one
                                   // launch (tfc-gpu-merge-kernels)
  bool pdl = false;                // kernels begin with griddepcontrol
                                   // (tfc-gpu-pdl: programmatic dependent
                                   // launch)
  bool emulateOnHost = false;      // stop after the loop mapping and run the
                                   // mapped loops on the CPU (tests)
};
/// linalg on tensors -> LLVM dialect host code + a gpu.binary of the kernels.
std::string gpuLoweringPipeline(const PipelineOptions &o,
                                const GpuPipelineOptions &g);
std::unique_ptr<Pass> createGpuCopyConstantsPass();
std::unique_ptr<Pass> createGpuMapLoopsPass(int64_t blockSize = 256,
                                            int64_t perThread = 1,
                                            int64_t perThreadMin = 0,
                                            bool vectorRows = true);
/// Row reductions as one block per row (GpuRowReductions.cpp).
std::unique_ptr<Pass> createGpuRowReductionsPass(int64_t blockSize = 128,
                                                 bool fuse = false,
                                                 int64_t warpRows = 0,
                                                 bool remat = false,
                                                 int64_t unroll = 1,
                                                 int64_t fewRows = 0,
                                                 int64_t fewBlock = 0,
                                                 int64_t vector = 1);
void registerGpuRowReductionsPass();
/// Sibling projections as one linear (JoinLinears.cpp).
std::unique_ptr<Pass> createJoinLinearsPass();
void registerJoinLinearsPass();
/// Consecutive independent grids as one launch (GpuMergeKernels.cpp).
std::unique_ptr<Pass> createGpuMergeKernelsPass();
void registerGpuMergeKernelsPass();
/// Kernels that wait for / release the next launch (GpuPdl.cpp).
std::unique_ptr<Pass> createGpuPdlPass();
void registerGpuPdlPass();
/// A half attention call that writes the half result its reader rounds to
/// (GpuAttentionHalfOut.cpp).
std::unique_ptr<Pass> createGpuAttentionHalfOutPass();
void registerGpuAttentionHalfOutPass();
/// Registers tfc-gpu-copy-constants, tfc-gpu-row-reductions,
/// tfc-gpu-map-loops, tfc-gpu-merge-kernels, tfc-gpu-pdl, tfc-join-linears and
/// tfc-gpu-attention-half-out.
void registerTfcGpuPasses();
/// The CUDA toolkit to compile kernels with: `explicitPath`, else $CUDA_ROOT,
/// $CUDA_HOME, $CUDA_PATH, else /usr/local/cuda; fails (with `error`) when
/// it has no libdevice, which the kernels' math functions link.
LogicalResult findCudaToolkit(StringRef explicitPath, std::string &path,
                              std::string &error);
/// The LLVM IR translations gpu-module-to-binary (kernels) and object
/// emission (gpu.binary, launches) need.
void registerGpuTranslations(DialectRegistry &registry);

} // namespace mlir::tfc

#endif
