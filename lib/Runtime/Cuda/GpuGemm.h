//===- GpuGemm.h - GEMM entry points of GPU models (internal) ---*- C++ -*-===//
#ifndef TFC_LIB_RUNTIME_CUDA_GPUGEMM_H
#define TFC_LIB_RUNTIME_CUDA_GPUGEMM_H

#include <cstddef>
#include <cstdint>

namespace tfcrt::cuda {

enum class GemmType { F32, F16, BF16 };

/// Bytes of one element (4 or 2).
size_t elemBytes(GemmType t);
/// One element at p as f32, and v stored at p rounded to the type (to
/// nearest even): the host versions of the GEMMs and tests use them.
float loadElem(GemmType t, const void *p);
void storeElem(GemmType t, void *p, float v);

/// A rank-3 strided memref descriptor of any element type.
struct Memref3 {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizes[3];
  int64_t strides[3];
};

/// What a linear layer adds to its product inside the GEMM (cuBLASLt's
/// epilogue): C = act(A x B + bias) + residual.
/// rmsEps, rmsScale, aF32 and glu (tfcrt_gpu_linear_ex_*) only the GEMV
/// kernels have (gemvSuits); gemm() refuses them otherwise, and linearEx
/// does the same around cuBLASLt for calls of more rows.
struct Epilogue {
  const void *bias = nullptr;        ///< f32 [N] on the device, or null
  int act = 0;                       ///< TFCRT_ACT_NONE, _RELU or _GELU_TANH
  const Memref3 *residual = nullptr; ///< f32 like C, or null (act must be none)
  /// >= 0: y = s_r ((A diag(rmsScale)) x B) for row r, s_r = 1 /
  /// sqrt(mean_k A[r, k]^2 + rmsEps) (an RMS norm before the GEMM).
  double rmsEps = -1;
  /// The norm's scale, f32 [K] on the device (null: ones).
  const float *rmsScale = nullptr;
  /// A is f32 whatever the GEMM's type (an RMS norm's input).
  bool aF32 = false;
  /// C (N columns) = act(y[:, :N]) * y[:, N:] of y = A x B (2N columns):
  /// the gated MLP's GLU; act also TFCRT_ACT_SILU or _GELU; no bias or
  /// residual.
  bool glu = false;
  /// The caller promises that the residual was written two or more kernels
  /// before this GEMM's (no kernel in between writes it): a GEMV launch with
  /// PDL may read it before its wait (GemvArgs::resEarly). Without the
  /// promise the launcher decides from the run's record of the last launch
  /// (TFC_CUDA_GEMV_RES_EARLY, GemvLaunch.cpp).
  bool resEarly = false;
};

/// Whether a linear layer's GPU epilogue has activation `act` (a
/// TFCRT_ACT_*): cuBLASLt's (none, ReLU, tanh-GELU), and with the GLU also
/// SiLU and erf-GELU (the GEMV kernels and tfc_glu have them).
bool epilogueHasAct(int act, bool glu);

/// C[b] = A[b] x B[b] on the current run's stream through cuBLASLt (Gemm.cpp;
/// only called while deviceAllocsActive()). Errors are recorded.
void gemm(GemmType type, const Memref3 *A, const Memref3 *B,
          const Memref3 *C);
/// The same with C of type `out` (f32, or `type`) and an epilogue.
void gemm(GemmType type, const Memref3 *A, const Memref3 *B, const Memref3 *C,
          GemmType out, const Epilogue &ep);
/// tfcrt_gpu_linear_ex_*'s device half (Gemm.cpp; only called while
/// deviceAllocsActive(), shapes already checked): C = the epilogue `ep`
/// (rmsEps, glu, bias, act, residual) of A x B, one GEMV launch where the
/// GEMV kernels take the call, else cuBLASLt between tfc_rms_scale (A's
/// rows scaled and rounded to `type`) and tfc_glu, their intermediates in
/// `tmp` (device f32 scratch of at least M (K + B's N) elements). Errors
/// are recorded.
void linearEx(GemmType type, const Memref3 *A, const Memref3 *B,
              const Memref3 *C, GemmType out, const Epilogue &ep,
              const Memref3 *tmp);

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_GPUGEMM_H
