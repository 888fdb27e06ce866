//===- GpuGemm.cpp - runtime functions that GPU models call from host code -===//
//
// Built in every configuration. tfc-gpu-gemm turns linalg.matmul /
// batch_matmul of a --target=cuda model into calls of
// tfcrt_gpu_matmul_{f32,f16,bf16}(A, B, C) (rank-3 strided views), and
// tfc-gpu-copy-constants turns the copy of a constant that stays in the
// object into tfcrt_gpu_upload(dst, src, bytes). During a GPU run they go to
// the device (cuBLASLt on the model's stream; a device-to-device copy from
// the constant's device copy); otherwise (--cuda-emulate-on-host, which runs
// the mapped loops on the CPU) they compute on the host.
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"
#include "GpuGemm.h"
#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <cstring>

using namespace tfcrt;
using namespace tfcrt::cuda;

namespace {

float load(GemmType t, const char *p) {
  if (t == GemmType::F32) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  if (t == GemmType::BF16) {
    uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  return static_cast<float>(*reinterpret_cast<const _Float16 *>(&h));
}

void store(GemmType t, char *p, float v) {
  if (t == GemmType::F32) {
    std::memcpy(p, &v, 4);
  } else if (t == GemmType::BF16) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    bits += 0x7fff + ((bits >> 16) & 1); // round to nearest even
    uint16_t h = static_cast<uint16_t>(bits >> 16);
    std::memcpy(p, &h, 2);
  } else {
    _Float16 h = static_cast<_Float16>(v);
    std::memcpy(p, &h, 2);
  }
}

/// The host version (emulation): f32 through the CPU GEMM, 16-bit types with
/// plain loops accumulating in f32.
void hostMatmul(GemmType t, Memref3 *a, Memref3 *b, Memref3 *c) {
  if (t == GemmType::F32) {
    _mlir_ciface_tfcrt_matmul_f32(reinterpret_cast<tfcrt_memref3_f32 *>(a),
                                  reinterpret_cast<tfcrt_memref3_f32 *>(b),
                                  reinterpret_cast<tfcrt_memref3_f32 *>(c));
    return;
  }
  const int64_t eb = 2;
  for (int64_t n = 0; n < c->sizes[0]; ++n)
    for (int64_t i = 0; i < c->sizes[1]; ++i)
      for (int64_t j = 0; j < c->sizes[2]; ++j) {
        float acc = 0;
        for (int64_t k = 0; k < a->sizes[2]; ++k) {
          int64_t na = a->sizes[0] == 1 ? 0 : n, nb = b->sizes[0] == 1 ? 0 : n;
          acc += load(t, a->aligned + eb * (a->offset + na * a->strides[0] +
                                            i * a->strides[1] +
                                            k * a->strides[2])) *
                 load(t, b->aligned + eb * (b->offset + nb * b->strides[0] +
                                            k * b->strides[1] +
                                            j * b->strides[2]));
        }
        store(t, c->aligned + eb * (c->offset + n * c->strides[0] +
                                    i * c->strides[1] + j * c->strides[2]),
              acc);
      }
}

void matmul(GemmType t, Memref3 *a, Memref3 *b, Memref3 *c) {
  if (deviceAllocsActive())
    gemm(t, a, b, c);
  else
    hostMatmul(t, a, b, c);
}

} // namespace

TFCRT_EXPORT void _mlir_ciface_tfcrt_gpu_matmul_f32(Memref3 *a, Memref3 *b,
                                                    Memref3 *c) {
  matmul(GemmType::F32, a, b, c);
}
TFCRT_EXPORT void _mlir_ciface_tfcrt_gpu_matmul_f16(Memref3 *a, Memref3 *b,
                                                    Memref3 *c) {
  matmul(GemmType::F16, a, b, c);
}
TFCRT_EXPORT void _mlir_ciface_tfcrt_gpu_matmul_bf16(Memref3 *a, Memref3 *b,
                                                     Memref3 *c) {
  matmul(GemmType::BF16, a, b, c);
}

TFCRT_EXPORT void tfcrt_gpu_upload(int64_t dst, int64_t src, int64_t bytes) {
  void *d = reinterpret_cast<void *>(dst);
  const void *s = reinterpret_cast<const void *>(src);
  if (bytes <= 0)
    return;
  if (deviceAllocsActive())
    uploadConstant(d, s, static_cast<uint64_t>(bytes));
  else
    std::memcpy(d, s, static_cast<size_t>(bytes));
}
