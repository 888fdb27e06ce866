//===- GpuGemm.cpp - runtime functions GPU models call from host code -----===//
//
// Built in every configuration. tfc-gpu-gemm turns linalg.matmul /
// batch_matmul of a --target=cuda model into calls of
// tfcrt_gpu_matmul_{f32,f16,bf16}(A, B, C) (rank-3 strided views), and
// tfc-gpu-copy-constants turns the copy of a constant that stays in the
// object into tfcrt_gpu_upload(dst, src, bytes). During a GPU run they go to
// the device (cuBLASLt on the model's stream; a device-to-device copy from
// the constant's device copy); otherwise (--cuda-emulate-on-host, which runs
// the mapped loops on the CPU) they compute on the host. So do the linear
// layers' entries, tfcrt_gpu_linear_* and tfcrt_gpu_linear_ex_* (an RMS
// norm folded into the GEMM, the gated MLP's GLU in its epilogue).
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"
#include "GpuGemm.h"
#include "Internal.h"
#include "../Linear/LinearInternal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <cmath>
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

bool tfcrt::cuda::epilogueHasAct(int act, bool glu) {
  const bool plain = act == TFCRT_ACT_NONE || act == TFCRT_ACT_RELU ||
                     act == TFCRT_ACT_GELU_TANH;
  return plain || (glu && (act == TFCRT_ACT_SILU || act == TFCRT_ACT_GELU));
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

/// w [K, N] (or [N, K] with transposeW) as a rank-3 [1, K, N] view.
Memref3 weightView(const tfcrt_memref2_f32 *w, int64_t transposeW) {
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
  return w3;
}

/// tfcrt_gpu_linear_*: x [1, M, K], w [K, N] (or [N, K] with transposeW).
void gpuLinear(GemmType t, Memref3 *x, tfcrt_memref2_f32 *w,
               tfcrt_memref1_f32 *bias, Memref3 *residual, Memref3 *out,
               int64_t transposeW, int64_t act) {
  Memref3 w3 = weightView(w, transposeW);
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

/// tfcrt_gpu_linear_ex_* (tfc_kernels.h): gpuLinear's layer with an RMS
/// norm folded in and / or the GLU in the epilogue.
void gpuLinearEx(GemmType t, Memref3 *x, tfcrt_memref2_f32 *w,
                 tfcrt_memref1_f32 *bias, tfcrt_memref1_f32 *scale,
                 Memref3 *residual, Memref3 *out, Memref3 *tmp,
                 int64_t transposeW, int64_t act, int64_t flags, double eps) {
  const char *name = t == GemmType::F32   ? "tfcrt_gpu_linear_ex_f32"
                     : t == GemmType::F16 ? "tfcrt_gpu_linear_ex_f16"
                                          : "tfcrt_gpu_linear_ex_bf16";
  Memref3 w3 = weightView(w, transposeW);
  const bool rms = flags & TFCRT_LX_RMS, glu = flags & TFCRT_LX_GLU;
  const bool outHalf = flags & TFCRT_LX_OUT_HALF;
  const bool hasBias = bias->sizes[0] != 0;
  const bool hasScale = scale->sizes[0] != 0;
  const bool hasResidual = residual->sizes[1] != 0 || residual->sizes[2] != 0;
  const int64_t M = out->sizes[1], K = w3.sizes[1], N = w3.sizes[2];
  const int64_t cols = glu ? N / 2 : N; // out's columns
  auto refuse = [&](tfc_status status, const std::string &why) {
    kernelError(status, format("%s: %s", name, why.c_str()));
  };
  if (flags & ~int64_t(TFCRT_LX_RMS | TFCRT_LX_GLU | TFCRT_LX_OUT_HALF))
    return refuse(TFC_ERR_UNSUPPORTED,
                  format("unknown flags %lld", (long long)flags));
  if (outHalf && t == GemmType::F32)
    return refuse(TFC_ERR_UNSUPPORTED, "OUT_HALF with f32 weights");
  // A half result only for the GLU (what the compiler emits: down reads
  // it); cuBLASLt has no half result with a bias + GELU epilogue.
  if (outHalf && !glu)
    return refuse(TFC_ERR_UNSUPPORTED, "OUT_HALF without GLU");
  if (hasScale && (!rms || scale->sizes[0] != K))
    return refuse(TFC_ERR_SHAPE,
                  format("a norm scale of %lld elements %s",
                         (long long)scale->sizes[0],
                         rms ? "for K elements" : "without RMS"));
  // Activations: cuBLASLt's without GLU (the same call may take either
  // path), every one with it.
  if (!epilogueHasAct(static_cast<int>(act), glu))
    return refuse(TFC_ERR_UNSUPPORTED,
                  format("activation %lld%s", (long long)act,
                         glu ? "" : " without GLU (cuBLASLt's epilogue)"));
  if (glu && (hasBias || hasResidual))
    return refuse(TFC_ERR_UNSUPPORTED, "GLU with a bias or a residual");
  if (hasResidual && act != TFCRT_ACT_NONE)
    return refuse(TFC_ERR_UNSUPPORTED, "a residual after an activation");
  if (rms && !(eps >= 0))
    return refuse(TFC_ERR_UNSUPPORTED, format("RMS eps %g", eps));
  const int64_t tmpElems = tmp->sizes[0] * tmp->sizes[1] * tmp->sizes[2];
  const bool tmpDense =
      (tmp->sizes[2] <= 1 || tmp->strides[2] == 1) &&
      (tmp->sizes[1] <= 1 || tmp->strides[1] == tmp->sizes[2]) &&
      (tmp->sizes[0] <= 1 || tmp->strides[0] == tmp->sizes[1] * tmp->sizes[2]);
  if (x->sizes[0] != 1 || out->sizes[0] != 1 || x->sizes[1] != M ||
      x->sizes[2] != K || (glu && N % 2 != 0) || out->sizes[2] != cols ||
      (hasBias && bias->sizes[0] != N) ||
      (hasResidual && (residual->sizes[0] != 1 || residual->sizes[1] != M ||
                       residual->sizes[2] != cols)) ||
      (rms && K == 0) || !tmpDense || tmpElems < M * (K + N))
    return refuse(
        TFC_ERR_SHAPE,
        format("shapes x [%lld, %lld, %lld], w [%lld, %lld]%s, bias [%lld], "
               "residual [%lld, %lld, %lld], out [%lld, %lld, %lld], tmp "
               "[%lld, %lld, %lld] (dense %d) disagree",
               (long long)x->sizes[0], (long long)x->sizes[1],
               (long long)x->sizes[2], (long long)K, (long long)N,
               glu ? " (gate|up)" : "", (long long)bias->sizes[0],
               (long long)residual->sizes[0], (long long)residual->sizes[1],
               (long long)residual->sizes[2], (long long)out->sizes[0],
               (long long)M, (long long)out->sizes[2], (long long)tmp->sizes[0],
               (long long)tmp->sizes[1], (long long)tmp->sizes[2],
               tmpDense ? 1 : 0));
  if (M == 0 || cols == 0)
    return;
  const GemmType ot = outHalf ? t : GemmType::F32;
  if (deviceAllocsActive()) {
    if (hasBias && N > 1 && bias->strides[0] != 1)
      return refuse(TFC_ERR_UNSUPPORTED,
                    format("a bias with stride %lld (the GEMM epilogue needs "
                           "a contiguous one)",
                           (long long)bias->strides[0]));
    if (hasScale && K > 1 && scale->strides[0] != 1)
      return refuse(TFC_ERR_UNSUPPORTED, format("a norm scale with stride %lld",
                                                (long long)scale->strides[0]));
    Epilogue ep;
    ep.bias = hasBias ? bias->aligned + bias->offset : nullptr;
    ep.act = static_cast<int>(act);
    ep.residual = hasResidual ? residual : nullptr;
    ep.rmsEps = rms ? eps : -1;
    ep.rmsScale = hasScale ? scale->aligned + scale->offset : nullptr;
    ep.aF32 = rms;
    ep.glu = glu;
    linearEx(t, x, &w3, out, ot, ep, tmp);
    return;
  }
  // The host version (emulation), as cuBLASLt's path computes it: x's rows
  // scaled and rounded to t (RMS), the product in f32 (hostMatmul), then
  // the CPU kernels' reference epilogue (EpilogueGeneric.cpp).
  const size_t eb = elemBytes(t), ob = elemBytes(ot);
  Memref3 a = *x;
  std::vector<unsigned char> xn;
  if (rms) {
    xn.resize(static_cast<size_t>(M * K) * eb);
    const float *xp = reinterpret_cast<const float *>(x->aligned) + x->offset;
    for (int64_t r = 0; r < M; ++r) {
      const float *row = xp + r * x->strides[1];
      double ss = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double v = row[k * x->strides[2]];
        ss += v * v;
      }
      // In f32 from the mean on, as the kernels do.
      const float s = 1.0f / std::sqrt(static_cast<float>(ss / K) +
                                       static_cast<float>(eps));
      for (int64_t k = 0; k < K; ++k)
        storeElem(
            t, &xn[(r * K + k) * eb],
            hasScale ? row[k * x->strides[2]] * s *
                           scale->aligned[scale->offset + k * scale->strides[0]]
                     : row[k * x->strides[2]] * s);
    }
    a.allocated = a.aligned = reinterpret_cast<char *>(xn.data());
    a.offset = 0;
    a.strides[0] = M * K, a.strides[1] = K, a.strides[2] = 1;
  }
  std::vector<float> y(static_cast<size_t>(M * N));
  Memref3 yv{};
  yv.allocated = yv.aligned = reinterpret_cast<char *>(y.data());
  yv.sizes[0] = 1, yv.sizes[1] = M, yv.sizes[2] = N;
  yv.strides[0] = M * N, yv.strides[1] = N, yv.strides[2] = 1;
  hostMatmul(t, &a, &w3, &yv, GemmType::F32);
  const linear::EpilogueKernels &epi = linear::epilogueGeneric();
  std::vector<float> b(hasBias ? N : 0), res(hasResidual ? cols : 0), row(cols);
  for (int64_t c = 0; c < static_cast<int64_t>(b.size()); ++c)
    b[c] = bias->aligned[bias->offset + c * bias->strides[0]];
  for (int64_t r = 0; r < M; ++r) {
    const float *yr = &y[r * N];
    if (glu) {
      epi.gated(yr, yr + cols, nullptr, row.data(), cols,
                static_cast<int>(act));
    } else {
      for (int64_t c = 0; c < static_cast<int64_t>(res.size()); ++c)
        res[c] =
            loadElem(ot, residual->aligned +
                             ob * (residual->offset + r * residual->strides[1] +
                                   c * residual->strides[2]));
      epi.dense(yr, hasBias ? b.data() : nullptr,
                hasResidual ? res.data() : nullptr, row.data(), cols,
                static_cast<int>(act));
    }
    for (int64_t c = 0; c < cols; ++c)
      storeElem(ot,
                out->aligned + ob * (out->offset + r * out->strides[1] +
                                     c * out->strides[2]),
                row[c]);
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

#define TFC_GPU_LINEAR_EX_ENTRY(NAME, TYPE)                                    \
  TFCRT_EXPORT TFCRT_GPU_LINEAR_EX_DECL(NAME) {                                \
    gpuLinearEx(TYPE, reinterpret_cast<Memref3 *>(x), w, bias, scale,          \
                reinterpret_cast<Memref3 *>(residual),                         \
                reinterpret_cast<Memref3 *>(out),                              \
                reinterpret_cast<Memref3 *>(tmp), transpose_w, act, flags,     \
                eps);                                                          \
  }
TFC_GPU_LINEAR_EX_ENTRY(f32, GemmType::F32)
TFC_GPU_LINEAR_EX_ENTRY(f16, GemmType::F16)
TFC_GPU_LINEAR_EX_ENTRY(bf16, GemmType::BF16)
// The names for a half x (_xh) or out (_oh): the descriptors are untyped
// here, the flags say what they hold.
TFC_GPU_LINEAR_EX_ENTRY(f16_oh, GemmType::F16)
TFC_GPU_LINEAR_EX_ENTRY(bf16_oh, GemmType::BF16)
TFC_GPU_LINEAR_EX_ENTRY(f16_xh_oh, GemmType::F16)
TFC_GPU_LINEAR_EX_ENTRY(bf16_xh_oh, GemmType::BF16)
