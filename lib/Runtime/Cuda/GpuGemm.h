//===- GpuGemm.h - GEMM entry points of GPU models (internal) ---*- C++ -*-===//
#ifndef TFC_LIB_RUNTIME_CUDA_GPUGEMM_H
#define TFC_LIB_RUNTIME_CUDA_GPUGEMM_H

#include <cstdint>

namespace tfcrt::cuda {

enum class GemmType { F32, F16, BF16 };

/// A rank-3 strided memref descriptor of any element type.
struct Memref3 {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizes[3];
  int64_t strides[3];
};

/// C[b] = A[b] x B[b] on the current run's stream through cuBLASLt (Gemm.cpp;
/// only called while deviceAllocsActive()). Errors are recorded.
void gemm(GemmType type, const Memref3 *A, const Memref3 *B,
          const Memref3 *C);

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_GPUGEMM_H
