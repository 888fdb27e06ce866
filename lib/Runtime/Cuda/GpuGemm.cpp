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
#include "../Linear/LinearInternal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <cstring>
#include <vector>

using namespace tfcrt;
using namespace tfcrt::cuda;

size_t tfcrt::cuda::elemBytes(GemmType t) {
  return t == GemmType::F32 ? 4 : 2;
}

float tfcrt::cuda::loadElem(GemmType t, const void *p) {
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
  _Float16 v;
  std::memcpy(&v, &h, 2);
  return static_cast<float>(v);
}

void tfcrt::cuda::storeElem(GemmType t, void *p, float v) {
  if (t == GemmType::F32) {
    std::memcpy(p, &v, 4);
  } else if (t == GemmType::BF16) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    uint16_t h;
    if ((bits & 0x7fffffffu) > 0x7f800000u) // NaN stays a (quiet) NaN
      h = static_cast<uint16_t>((bits >> 16) | 0x0040u);
    else
      h = static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1)) >>
                                16); // round to nearest even
    std::memcpy(p, &h, 2);
  } else {
    _Float16 h = static_cast<_Float16>(v);
    std::memcpy(p, &h, 2);
  }
}

namespace {

/// The host version (emulation): f32 through the CPU GEMM, 16-bit types with
/// plain loops accumulating in f32; C of type `out` (f32, or t).
void hostMatmul(GemmType t, Memref3 *a, Memref3 *b, Memref3 *c, GemmType out) {
  if (t == GemmType::F32) {
    _mlir_ciface_tfcrt_matmul_f32(reinterpret_cast<tfcrt_memref3_f32 *>(a),
                                  reinterpret_cast<tfcrt_memref3_f32 *>(b),
                                  reinterpret_cast<tfcrt_memref3_f32 *>(c));
    return;
  }
  const int64_t eb = 2, ob = static_cast<int64_t>(elemBytes(out));
  for (int64_t n = 0; n < c->sizes[0]; ++n)
    for (int64_t i = 0; i < c->sizes[1]; ++i)
      for (int64_t j = 0; j < c->sizes[2]; ++j) {
        float acc = 0;
        for (int64_t k = 0; k < a->sizes[2]; ++k) {
          int64_t na = a->sizes[0] == 1 ? 0 : n, nb = b->sizes[0] == 1 ? 0 : n;
          acc += loadElem(t, a->aligned + eb * (a->offset + na * a->strides[0] +
                                            i * a->strides[1] +
                                            k * a->strides[2])) *
                 loadElem(t, b->aligned + eb * (b->offset + nb * b->strides[0] +
                                            k * b->strides[1] +
                                            j * b->strides[2]));
        }
        storeElem(out, c->aligned + ob * (c->offset + n * c->strides[0] +
                                      i * c->strides[1] + j * c->strides[2]),
              acc);
      }
}

void matmul(GemmType t, Memref3 *a, Memref3 *b, Memref3 *c) {
  if (deviceAllocsActive())
    gemm(t, a, b, c);
  else
    hostMatmul(t, a, b, c, t);
}

/// tfcrt_gpu_linear_*: x [1, M, K], w [K, N] (or [N, K] with transposeW).
void gpuLinear(GemmType t, Memref3 *x, tfcrt_memref2_f32 *w,
               tfcrt_memref1_f32 *bias, Memref3 *residual, Memref3 *out,
               int64_t transposeW, int64_t act) {
  // w as a rank-3 [1, K, N] view.
  Memref3 w3;
  w3.allocated = reinterpret_cast<char *>(w->allocated);
  w3.aligned = reinterpret_cast<char *>(w->aligned);
  w3.offset = w->offset;
  const int i = transposeW ? 1 : 0, j = transposeW ? 0 : 1;
  w3.sizes[0] = 1;
  w3.sizes[1] = w->sizes[i];
  w3.sizes[2] = w->sizes[j];
  w3.strides[0] = w->sizes[0] * w->sizes[1];
  w3.strides[1] = w->strides[i];
  w3.strides[2] = w->strides[j];
  const bool hasBias = bias->sizes[0] != 0;
  const bool hasResidual = residual->sizes[1] != 0 || residual->sizes[2] != 0;
  const int64_t M = out->sizes[1], N = out->sizes[2];
  if ((hasBias && bias->sizes[0] != N) || x->sizes[2] != w3.sizes[1] ||
      w3.sizes[2] != N || x->sizes[1] != M) {
    kernelError(TFC_ERR_SHAPE,
                format("tfcrt_gpu_linear: shapes x [%lld, %lld], w [%lld, "
                       "%lld], out [%lld, %lld] disagree",
                       (long long)x->sizes[1], (long long)x->sizes[2],
                       (long long)w3.sizes[1], (long long)w3.sizes[2],
                       (long long)M, (long long)N));
    return;
  }
  if (deviceAllocsActive()) {
    if (hasBias && N > 1 && bias->strides[0] != 1) {
      // cuBLASLt's epilogue reads the bias as a contiguous vector.
      kernelError(TFC_ERR_UNSUPPORTED,
                  format("tfcrt_gpu_linear: a bias with stride %lld (the GEMM "
                         "epilogue needs a contiguous one; compile with "
                         "--cuda-linear=false)",
                         (long long)bias->strides[0]));
      return;
    }
    Epilogue ep;
    ep.bias = hasBias ? bias->aligned + bias->offset : nullptr;
    ep.act = static_cast<int>(act);
    ep.residual = hasResidual ? residual : nullptr;
    gemm(t, x, &w3, out, GemmType::F32, ep);
    return;
  }
  // The host version (emulation): the product, then the CPU kernels'
  // reference epilogue (EpilogueGeneric.cpp) on rows gathered to unit stride.
  hostMatmul(t, x, &w3, out, GemmType::F32);
  const linear::EpilogueKernels &epi = linear::epilogueGeneric();
  std::vector<float> b(hasBias ? N : 0), res(hasResidual ? N : 0), row(N);
  for (int64_t c = 0; c < static_cast<int64_t>(b.size()); ++c)
    b[c] = bias->aligned[bias->offset + c * bias->strides[0]];
  float *o = reinterpret_cast<float *>(out->aligned) + out->offset;
  const float *rp = hasResidual ? reinterpret_cast<float *>(residual->aligned) +
                                      residual->offset
                                : nullptr;
  for (int64_t r = 0; r < M; ++r) {
    for (int64_t c = 0; c < N; ++c) {
      row[c] = o[r * out->strides[1] + c * out->strides[2]];
      if (rp)
        res[c] = rp[r * residual->strides[1] + c * residual->strides[2]];
    }
    epi.dense(row.data(), hasBias ? b.data() : nullptr,
              rp ? res.data() : nullptr, row.data(), N, static_cast<int>(act));
    for (int64_t c = 0; c < N; ++c)
      o[r * out->strides[1] + c * out->strides[2]] = row[c];
  }
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

#define TFC_GPU_LINEAR_ENTRY(NAME, TYPE)                                       \
  TFCRT_EXPORT TFCRT_GPU_LINEAR_DECL(NAME) {                                   \
    gpuLinear(TYPE, reinterpret_cast<Memref3 *>(x), w, bias,                   \
              reinterpret_cast<Memref3 *>(residual),                           \
              reinterpret_cast<Memref3 *>(out), transpose_w, act);             \
  }
TFC_GPU_LINEAR_ENTRY(f32, GemmType::F32)
TFC_GPU_LINEAR_ENTRY(f16, GemmType::F16)
TFC_GPU_LINEAR_ENTRY(bf16, GemmType::BF16)
