//===- Gemv.h - few-row GEMMs (decode), host and device side ----*- C++ -*-===//
//
// A decode step's linear layers multiply 1..8 rows of activations by a
// weight matrix: memory-bound work that reads the weights once. GemvKernels.cu
// computes C = A x B (+ residual) (+ bias) (then ReLU / tanh-GELU) for such
// calls in one kernel whose every thread keeps up to 12 16-byte
// weight loads in flight; Gemm.cpp sends calls of at most kGemvMaxM rows to it
// (GemvLaunch.cpp) instead of cuBLASLt when the weights' rows are contiguous
// (docs/DESIGN.md, "Decode GEMMs"). The same kernels also fold an RMS norm
// of A's rows and a gated MLP's GLU into that one launch
// (tfcrt_gpu_linear_ex_*); RmsScaleArgs / GluArgs are the two small kernels
// that do the same around cuBLASLt for calls of many rows.
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
/// The narrow one-row kernels' (tfc_gemv_<T>_m1_nw): half the columns a
/// block, twice the K lanes, so one step covers 2 x kGemvUnroll x 64 rows.
constexpr int kGemvNarrowColThreads = 2;
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
  // tfcrt_gpu_linear_ex_*: whole K only (splits 1, the big kernels; the
  // split kernels ignore these).
  int aF32;              // A is f32 whatever T (an RMS norm's input)
  int rms;               // row m's sums times s_m = 1 / sqrt(mean_k A[m, k]^2 +
  float rmsEps;          // rmsEps), before the rest of the epilogue; A's
  const float *rmsScale; // elements times rmsScale[k] (or null) as staged
  int glu;          // C[m, n] = act(y[m, n]) * y[m, gluOff + n], n < this.n,
  long long gluOff; // y = A x B: B's up columns start at gluOff
  // With pdl, whole K, no GLU: the residual is loaded before the wait (the
  // caller promises that no kernel after the one two launches back writes
  // it).
  int resEarly;
};

/// The kernels' activation codes (GemvArgs::act, GluArgs::act).
enum GemvAct {
  kGemvActNone = 0,
  kGemvActRelu = 1,
  kGemvActGeluTanh = 2,
  kGemvActSilu = 3,
  kGemvActGelu = 4
};

/// tfc_rms_scale_<T>: xn[r, k] = x[r, k] * s_r * scale[k] rounded to T, s_r as
/// GemvArgs::rms says; x f32 with any strides, xn row-major [m, k]. One
/// block a row.
struct RmsScaleArgs {
  const float *x;
  const float *scale; // the norm's [k] scale, or null (ones)
  void *xn;
  long long xRow, xCol;
  int m, k;
  float eps;
};

/// tfc_glu_<T>: out[r, j] = act(y[r, j]) * y[r, f + j], y f32 row-major
/// [m, 2f]; out of T (outHalf) or f32, any strides.
struct GluArgs {
  const float *y;
  void *out;
  long long oRow, oCol;
  long long m, f;
  int act;
  int outHalf;
};

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_GEMV_H
