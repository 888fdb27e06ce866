//===- GemvLaunch.h - GEMMs of few rows, host side --------------*- C++ -*-===//
//
// Gemm.cpp sends a GEMM of at most kGemvMaxM rows here (when TFC_CUDA_GEMV
// allows it) before it asks cuBLASLt; GemvLaunch.cpp loads the embedded
// kernels (GemvKernels.cu) and launches one. Tests launch directly on a
// stream of their own.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_GEMVLAUNCH_H
#define TFC_LIB_RUNTIME_CUDA_GEMVLAUNCH_H

#include "GpuGemm.h"

#include <cstdint>
#include <string>

namespace tfcrt::cuda {

/// Whether a GEMM of type t with `rows` rows of A should take the GEMV
/// kernels (the policy; gemvSuits says whether they can): every type by
/// default, f32 up to kGemvMaxM rows, f16 / bf16 at one row
/// (TFC_CUDA_GEMV_MAXM: one limit for every type); TFC_CUDA_GEMV=0: none,
/// =f32: f32 only. Measured on an
/// H100 (2026-12-05): f32 steps 10-14 % faster than with cuBLASLt; bf16 the
/// same at batch 1 without PDL and 45 % slower at batch 8, where the 8-row
/// kernel (234 registers, one block an SM) loses to cuBLASLt's. On an H200
/// (2026-12-06) bf16 at one row with --cuda-pdl: 0.99 ms a step against
/// cuBLASLt's 1.22 (docs/PERFORMANCE.md).
bool gemvEnabled(GemmType t, int64_t rows);

/// Whether the kernels take this call: at most kGemvMaxM rows, B's and C's
/// (and the residual's) columns contiguous, B's rows 16-byte aligned, N a
/// multiple of 16 bytes' worth of elements, an activation the kernels have.
/// With ep.glu: N is C's columns (B has 2N), no bias or residual, SiLU and
/// erf-GELU too. `why` says what stops it otherwise.
bool gemvSuits(GemmType t, const Memref3 *A, const Memref3 *B,
               const Memref3 *C, GemmType out, const Epilogue &ep,
               std::string *why = nullptr);

/// Enqueues C = act(A x B + residual + bias) on `stream` (a CUstream;
/// device pointers in the descriptors) for a call that gemvSuits. False
/// with `error` set when the kernels cannot load or the launch fails.
/// grid: the blocks launched.
/// pdl: with programmatic dependent launch (the kernel waits for the
/// previous one after issuing its first weight loads).
/// split: K's split count (clusters of that many blocks; GemvKernels.cu):
/// -2 as TFC_CUDA_GEMV_SPLIT says (default: 1), -1 chooses (gemvSplits),
/// 1 never splits, 2..kGemvMaxSplits forces it. A device that refuses the
/// cluster launch gets the whole-K kernel. Calls with ep's rmsEps, aF32 or
/// glu always take the whole-K kernel (split ignored).
/// narrow: whether a one-row whole-K call takes the narrow kernel
/// (gemvNarrow): -2 as TFC_CUDA_GEMV_NARROW says (default 1), 0 never, 1
/// where K needs more than one step of the wide kernel, 2 always.
bool launchGemv(GemmType t, const Memref3 *A, const Memref3 *B,
                const Memref3 *C, GemmType out, const Epilogue &ep,
                void *stream, std::string &error, int64_t *grid = nullptr,
                bool pdl = false, int split = -2, int narrow = -2);

/// Whether a call of M rows over K with `splits` takes the narrow kernel
/// (narrow as launchGemv's).
bool gemvNarrow(int64_t M, int64_t K, int splits, int narrow = -2);

/// Output columns a block of the GEMV kernels writes (a GLU block half of
/// the columns it reads).
int64_t gemvBlockColumns(GemmType t, bool glu, bool narrow);

/// The split count of a call of `blocks` whole-K blocks (column groups x
/// batch) over K rows on a GPU of `sms` multiprocessors. split -2: as
/// TFC_CUDA_GEMV_SPLIT says (unset: 1; "auto": -1); -1: doubled from 1
/// while the blocks are fewer than the SMs and every split keeps
/// TFC_CUDA_GEMV_SPLIT_MINK (64) rows; split >= 0: that many (at most
/// kGemvMaxSplits). Never a split without rows.
int gemvSplits(int64_t blocks, int64_t K, int sms, int split = -2);

/// Enqueues tfc_rms_scale_<t> on `stream`: xn (device, row-major [M, K] of
/// type t) = X[0]'s rows (f32 [1, M, K], any strides) times
/// s_r = 1 / sqrt(mean_k X[0, r, k]^2 + eps) times scale[k] (device f32
/// [K], or null), rounded to t. grid: the blocks launched (block:
/// kGemvThreads).
bool launchRmsScale(GemmType t, const Memref3 *X, const float *scale, void *xn,
                    double eps, void *stream, std::string &error,
                    int64_t *grid = nullptr);

/// Enqueues tfc_glu_<t> on `stream`: C[0, r, j] = act(y[r, j]) *
/// y[r, F + j] for C [1, M, F] of type out (f32, or t when t is a half
/// type; any strides), y device f32 row-major [M, 2F]; act a TFCRT_ACT_*.
bool launchGlu(GemmType t, const float *y, const Memref3 *C, GemmType out,
               int act, void *stream, std::string &error,
               int64_t *grid = nullptr);

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_GEMVLAUNCH_H
