//===- Gemv.h - GEMMs of few rows (decode), host and device side --*- C++ -*-===//
//
// A decode step's linear layers multiply 1..8 rows of activations by a
// weight matrix: memory-bound work that reads the weights once. GemvKernels.cu
// computes C = A x B (+ residual) (+ bias) (then ReLU / tanh-GELU) for such
// calls in one kernel whose every thread keeps up to 12 16-byte
// weight loads in flight; Gemm.cpp sends calls of at most kGemvMaxM rows to it
// (GemvLaunch.cpp) instead of cuBLASLt when the weights' rows are contiguous
// (docs/DESIGN.md, "Decode GEMMs").
//
// Included by nvcc (GemvKernels.cu) and by the host compiler: plain data.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_GEMV_H
#define TFC_LIB_RUNTIME_CUDA_GEMV_H

namespace tfcrt::cuda {

/// Threads of a block; kGemvColThreads of them side by side over the columns
/// (16 bytes of B each), the rest over K (kGemvThreads / kGemvColThreads
/// lanes, each taking every that-many-th row of B).
constexpr int kGemvThreads = 256;
constexpr int kGemvColThreads = 4;
/// Rows of B a thread loads before it uses any (loads in flight); a block
/// takes kGemvUnroll x K lanes rows of B per step, and stages the rows of A
/// they meet in shared memory meanwhile.
constexpr int kGemvUnroll = 12;
/// The same for the split-K kernels (a split's rows are few: 4 x 64 rows a
/// step covers most splits in one step), whose blocks fit two an SM.
constexpr int kGemvSplitUnroll = 4;
/// The most rows of A (per batch item) a call may have.
constexpr int kGemvMaxM = 8;
/// The most blocks one call's K is split over (a cluster: 8 is the portable
/// cluster size).
constexpr int kGemvMaxSplits = 8;

/// One call, element strides (B's and C's columns and the residual's are
/// contiguous). Types: A, B of the kernel's type T; C and the residual of T
/// (outHalf, only for f16 / bf16) or f32; bias f32.
struct GemvArgs {
  const void *a;
  const void *b;
  void *c;
  const float *bias; // [n] or null
  const void *res;   // like C, or null
  long long aBatch, aRow, aCol;
  long long bBatch, bRow;
  long long cBatch, cRow;
  long long rBatch, rRow;
  int m, n, k;
  int act;     // 0 none, 1 ReLU, 2 tanh-GELU
  int outHalf; // 1: C (and the residual) of type T, 0: f32
  int pdl;     // launched with programmatic dependent launch: wait for the
               // previous kernel (griddepcontrol) after the first B loads
  int splits;  // 1, or split K: clusters of `splits` blocks along x (at
               // most kGemvMaxSplits), rank s summing K rows
               // [s kSplit, (s + 1) kSplit)
  int kSplit;
};

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_GEMV_H
