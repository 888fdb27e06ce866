//===- GpuGemvTest.cpp - few-row GEMM kernels against a host reference ----===//
//
// tfcrt-gpu-gemv-test (built with TFC_ENABLE_CUDA=ON; exit 77 without a GPU):
// launches the GEMV kernels (lib/Runtime/Cuda/GemvKernels.cu) directly on
// random inputs and checks every output element against a double-precision
// reference on the same (rounded) inputs, in every type (f32, f16, bf16; f32
// or half results), for 1..8 rows, odd K (one and several steps of the
// kernel), N from one column group to many, bias / ReLU / tanh-GELU /
// residual epilogues, strided A (row-major with padding and transposed),
// padded B and C rows, batches with B shared or per item; each whole-K and
// split over K (the launcher's choice and forced counts). C is poisoned
// first (0xff bytes: NaN in every type), and the padding between its rows
// must stay poisoned. It also checks which calls gemvSuits refuses and the
// split counts gemvSplits chooses, before it opens the device: those two run
// (and can fail) without a GPU too, in CI.
//
// tfcrt_gpu_linear_ex_* (an RMS norm folded into the GEMM, the GLU in its
// epilogue) twice: the GEMV kernels launched directly with the new options
// (every type, 1 / 2 / 5 / 8 rows, RMS on f32 A, GLU with SiLU / tanh-GELU /
// erf-GELU, f32 or half out, bias, residual; with and without PDL, a split
// asked for and ignored), and the entry itself inside runs of a model
// without weights, eager, captured and replayed as a CUDA graph: one GEMV
// launch at one row (f32: 5 too), cuBLASLt between tfc_rms_scale and tfc_glu
// for 5 and 24 rows and for transposed weights, checked through the run's
// counters. tmp starts poisoned (NaN), so a read of scratch the runtime did
// not write shows.
//
//   tfcrt-gpu-gemv-test           the checks
//   tfcrt-gpu-gemv-test --bench   SmolLM2-135M's decode shapes, CUDA events,
//                                 weights rotated through more than the L2
//
//===----------------------------------------------------------------------===//

#include "Cuda/Cuda.h"
#include "Cuda/CudaDriver.h"
#include "Cuda/DeviceRun.h"
#include "Cuda/Gemv.h"
#include "Cuda/GemvLaunch.h"
#include "GpuTestUtil.h"
#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace tfcrt;
using namespace tfcrt::gputest;
using tfcrt::cuda::GemmType;
using tfcrt::cuda::Memref3;

namespace {

using cuda::elemBytes;

const char *typeName(GemmType t) {
  return t == GemmType::F32 ? "f32" : t == GemmType::F16 ? "f16" : "bf16";
}

/// x rounded to type t, its bytes written to `out`.
float encode(GemmType t, float x, unsigned char *out) {
  cuda::storeElem(t, out, x);
  return cuda::loadElem(t, out);
}

struct Case {
  std::string name;
  GemmType t = GemmType::BF16, out = GemmType::F32;
  int64_t batch = 1, m = 1, n = 64, k = 64;
  bool bias = false, residual = false, aTransposed = false, bShared = true;
  int act = TFCRT_ACT_NONE;
  int64_t aPad = 0, bPad = 0, cPad = 0; // extra elements per row
};

/// A host matrix set [batch][rows][cols] with row stride `ld` (>= cols),
/// uploaded as type t; `vals` keeps the rounded values.
struct HostMat {
  int64_t batch, rows, cols, ld;
  std::vector<unsigned char> bytes;
  std::vector<float> vals;
};

HostMat randomMat(GemmType t, int64_t batch, int64_t rows, int64_t cols,
                  int64_t ld, std::mt19937 &rng, float scale = 1.0f) {
  HostMat h{batch, rows, cols, ld, {}, {}};
  const size_t eb = elemBytes(t);
  h.bytes.assign(batch * rows * ld * eb, 0);
  h.vals.assign(batch * rows * ld, 0.0f);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < batch * rows * ld; ++i)
    h.vals[i] = encode(t, u(rng) * scale, &h.bytes[i * eb]);
  return h;
}

int runCase(const Case &c, std::mt19937 &rng, CUstream stream) {
  const size_t eb = elemBytes(c.t), ob = elemBytes(c.out);
  const int64_t B = c.batch, M = c.m, N = c.n, K = c.k;
  // A: [B][M][K] row-major (ld K + aPad), or transposed: stored [B][K][M].
  HostMat a = c.aTransposed ? randomMat(c.t, B, K, M, M + c.aPad, rng)
                            : randomMat(c.t, B, M, K, K + c.aPad, rng);
  const int64_t bBatches = c.bShared ? 1 : B;
  HostMat w = randomMat(c.t, bBatches, K, N, N + c.bPad, rng);
  std::vector<float> bias(N);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float &x : bias)
    x = u(rng);
  const int64_t ldc = N + c.cPad;
  HostMat res = randomMat(c.out, B, M, N, ldc, rng);

  DevBuf da(a.bytes.size()), dw(w.bytes.size()), dc(B * M * ldc * ob),
      dbias(N * 4), dres(res.bytes.size());
  if (!da.p || !dw.p || !dc.p || !dbias.p || !dres.p)
    return 1;
  ok(D->cuMemcpyHtoD(da.p, a.bytes.data(), a.bytes.size()), "HtoD");
  ok(D->cuMemcpyHtoD(dw.p, w.bytes.data(), w.bytes.size()), "HtoD");
  ok(D->cuMemcpyHtoD(dbias.p, bias.data(), N * 4), "HtoD");
  ok(D->cuMemcpyHtoD(dres.p, res.bytes.data(), res.bytes.size()), "HtoD");
  ok(D->cuMemsetD8Async(dc.p, 0xff, dc.bytes, stream), "cuMemsetD8Async");

  Memref3 A{}, W{}, C{}, R{};
  A.aligned = A.allocated = reinterpret_cast<char *>(da.p);
  A.sizes[0] = B, A.sizes[1] = M, A.sizes[2] = K;
  if (c.aTransposed) {
    A.strides[0] = K * (M + c.aPad), A.strides[1] = 1,
    A.strides[2] = M + c.aPad;
  } else {
    A.strides[0] = M * (K + c.aPad), A.strides[1] = K + c.aPad,
    A.strides[2] = 1;
  }
  W.aligned = W.allocated = reinterpret_cast<char *>(dw.p);
  W.sizes[0] = bBatches, W.sizes[1] = K, W.sizes[2] = N;
  W.strides[0] = K * (N + c.bPad), W.strides[1] = N + c.bPad, W.strides[2] = 1;
  C.aligned = C.allocated = reinterpret_cast<char *>(dc.p);
  C.sizes[0] = B, C.sizes[1] = M, C.sizes[2] = N;
  C.strides[0] = M * ldc, C.strides[1] = ldc, C.strides[2] = 1;
  R = C;
  R.aligned = R.allocated = reinterpret_cast<char *>(dres.p);
  cuda::Epilogue ep;
  ep.bias = c.bias ? reinterpret_cast<const void *>(dbias.p) : nullptr;
  ep.act = c.act;
  ep.residual = c.residual ? &R : nullptr;

  std::string why;
  if (!cuda::gemvSuits(c.t, &A, &W, &C, c.out, ep, &why)) {
    std::printf("FAIL %s: refused (%s)\n", c.name.c_str(), why.c_str());
    return 1;
  }
  // Whole K, plain and with programmatic dependent launch (the kernels'
  // griddepcontrol path), then split K: the split the launcher chooses on
  // this GPU, and forced 2, 3 and 8 splits (fewer where K has fewer rows),
  // plain and with PDL. C poisoned before each.
  // Then whole K in the narrow kernel (one row; others ignore it) and not,
  // with PDL and the residual read before the wait (resEarly), and without.
  struct Launch {
    bool pdl;
    int split;
    int narrow = -2;
    bool resEarly = false;
  };
  int64_t bad = 0, padTouched = 0;
  double worst = 0;
  bool first = true;
  for (Launch l :
       {Launch{false, 1}, Launch{true, 1}, Launch{false, -1}, Launch{false, 2},
        Launch{true, 3}, Launch{false, 8}, Launch{false, 1, 2},
        Launch{true, 1, 2, true}, Launch{true, 1, 0, true}}) {
    const bool pdl = l.pdl;
    ep.resEarly = l.resEarly;
    if (!first && !ok(D->cuMemsetD8Async(dc.p, 0xff, dc.bytes, stream),
                      "cuMemsetD8Async"))
      return 1;
    first = false;
    std::string err;
    int64_t grid = 0;
    if (!cuda::launchGemv(c.t, &A, &W, &C, c.out, ep, stream, err, &grid, pdl,
                          l.split, l.narrow) ||
        !ok(D->cuStreamSynchronize(stream), "cuStreamSynchronize")) {
      std::printf("FAIL %s: %s\n", c.name.c_str(), err.c_str());
      return 1;
    }
    // A split launch must have run split (not the whole-K fallback): its
    // grid is the column groups x splits x batch.
    {
      const int64_t wide = cuda::gemvBlockColumns(c.t, false, false);
      const int S = cuda::gemvSplits((N + wide - 1) / wide * B, K,
                                     cuda::multiprocessors(D), l.split);
      const int64_t cols = cuda::gemvBlockColumns(
          c.t, false, cuda::gemvNarrow(M, K, S, l.narrow));
      const int64_t groups = (N + cols - 1) / cols;
      if (grid != groups * S * B) {
        std::printf("FAIL %s: split %d launched %lld blocks, want %lld "
                    "(%d splits)\n",
                    c.name.c_str(), l.split, (long long)grid,
                    (long long)(groups * S * B), S);
        return 1;
      }
    }
    std::vector<unsigned char> got(dc.bytes);
    if (!ok(D->cuMemcpyDtoHAsync(got.data(), dc.p, dc.bytes, stream),
            "cuMemcpyDtoHAsync") ||
        !ok(D->cuStreamSynchronize(stream), "cuStreamSynchronize"))
      return 1;

    const double halfEps = c.out == GemmType::F16    ? 1.0 / 2048
                           : c.out == GemmType::BF16 ? 1.0 / 256
                                                     : 0.0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < ldc; ++j) {
          const unsigned char *p = &got[((b * M + i) * ldc + j) * ob];
          if (j >= N) { // padding: must still be 0xff
            for (size_t q = 0; q < ob; ++q)
              padTouched += p[q] != 0xff;
            continue;
          }
          double s = 0, mag = 0;
          for (int64_t kk = 0; kk < K; ++kk) {
            const double x = c.aTransposed
                                 ? a.vals[(b * K + kk) * (M + c.aPad) + i]
                                 : a.vals[(b * M + i) * (K + c.aPad) + kk];
            const double y =
                w.vals[((c.bShared ? 0 : b) * K + kk) * (N + c.bPad) + j];
            s += x * y;
            mag += std::fabs(x * y);
          }
          if (c.residual) {
            const double r = res.vals[(b * M + i) * ldc + j];
            s += r;
            mag += std::fabs(r);
          }
          if (c.bias) {
            s += bias[j];
            mag += std::fabs(bias[j]);
          }
          if (c.act == TFCRT_ACT_RELU)
            s = std::max(s, 0.0);
          else if (c.act == TFCRT_ACT_GELU_TANH)
            s = 0.5 * s *
                (1.0 +
                 std::tanh(0.7978845608028654 * (s + 0.044715 * s * s * s)));
          const double v = cuda::loadElem(c.out, p);
          const double err = std::fabs(v - s);
          const double tol = 2e-6 * mag + 1e-6 + halfEps * std::fabs(s);
          if (!(err <= tol)) { // NaN (unwritten) fails too
            if (bad < 3)
              std::printf("  %s (split %d, pdl %d, narrow %d): [%lld, %lld, "
                          "%lld] got %.7g want %.7g\n",
                          c.name.c_str(), l.split, pdl ? 1 : 0, l.narrow,
                          (long long)b, (long long)i, (long long)j, v, s);
            ++bad;
          }
          if (err > worst)
            worst = err;
        }
  }
  if (bad || padTouched) {
    std::printf("FAIL %s: %lld wrong, %lld padding bytes written\n",
                c.name.c_str(), (long long)bad, (long long)padTouched);
    return 1;
  }
  std::printf("ok   %-44s max abs err %.3g\n", c.name.c_str(), worst);
  return 0;
}

std::vector<Case> cases() {
  std::vector<Case> v;
  for (GemmType t : {GemmType::F32, GemmType::F16, GemmType::BF16}) {
    const int64_t vec = 16 / elemBytes(t);
    struct Shape {
      int64_t m, n, k;
    };
    for (Shape s :
         {Shape{1, vec, 1}, Shape{1, 40, 7}, Shape{3, 64, 77},
          Shape{2, 96, 768}, Shape{5, 200, 769}, Shape{8, 576, 1536},
          Shape{1, 960, 576}, Shape{7, 136, 2000}, Shape{4, 1000, 333},
          Shape{1, 576, 1536}, Shape{1, 200, 3101}}) {
      if (s.n % vec)
        continue;
      Case c;
      c.t = t;
      c.m = s.m, c.n = s.n, c.k = s.k;
      c.name = std::string(typeName(t)) + " m" + std::to_string(s.m) + " n" +
               std::to_string(s.n) + " k" + std::to_string(s.k);
      v.push_back(c);
    }
    // Epilogues, with f32 and (for halves) half results.
    std::vector<GemmType> outs = {GemmType::F32};
    if (t != GemmType::F32)
      outs.push_back(t);
    for (GemmType out : outs) {
      const std::string on =
          std::string(typeName(t)) + "->" + typeName(out) + " ";
      Case c;
      c.t = t, c.out = out, c.m = 3, c.n = 8 * vec, c.k = 100;
      c.bias = true;
      c.name = on + "bias";
      v.push_back(c);
      c.act = TFCRT_ACT_RELU;
      c.name = on + "bias relu";
      v.push_back(c);
      c.act = TFCRT_ACT_GELU_TANH;
      c.name = on + "bias gelu";
      v.push_back(c);
      c.act = TFCRT_ACT_NONE;
      c.bias = false;
      c.residual = true;
      c.m = 8, c.n = 576, c.k = 1536;
      c.name = on + "residual m8 n576 k1536";
      v.push_back(c);
      c.bias = true;
      c.m = 1, c.n = 576, c.k = 576;
      c.name = on + "residual bias m1";
      v.push_back(c);
      c.k = 1540; // the narrow kernel by default: two steps of it
      c.name = on + "residual bias m1 k1540";
      v.push_back(c);
    }
    // Layouts.
    Case c;
    c.t = t, c.m = 4, c.n = 24 * vec, c.k = 130;
    c.aPad = 3, c.bPad = vec, c.cPad = 5;
    c.name = std::string(typeName(t)) + " padded A / B / C rows";
    v.push_back(c);
    c.aTransposed = true;
    c.aPad = 1;
    c.name = std::string(typeName(t)) + " transposed A";
    v.push_back(c);
    c.aTransposed = false;
    c.batch = 3;
    c.residual = true;
    c.name = std::string(typeName(t)) + " batch 3, B shared";
    v.push_back(c);
    c.bShared = false;
    c.bias = true;
    c.name = std::string(typeName(t)) + " batch 3, B per item";
    v.push_back(c);
  }
  return v;
}

/// gemvSuits must refuse what the kernels cannot do.
/// The record behind the residual read before the PDL wait (no GPU needed):
/// what the last launch writes is unknown until its launcher notes it,
/// overlaps are found at either end, and other work forgets it again.
int launchWriteRecord() {
  int bad = 0;
  auto expect = [&](bool got, bool want, const char *what) {
    if (got != want) {
      std::printf("FAIL launch write record: %s: got %d\n", what, got ? 1 : 0);
      ++bad;
    }
  };
  alignas(16) static char buf[1024];
  cuda::forgetLaunchWrites();
  expect(cuda::lastLaunchMayWrite(buf, 16), true, "unknown writes");
  cuda::noteLaunchWrites(buf + 256, 256); // [256, 512)
  expect(cuda::lastLaunchMayWrite(buf, 256), false, "just before");
  expect(cuda::lastLaunchMayWrite(buf + 512, 64), false, "just after");
  expect(cuda::lastLaunchMayWrite(buf + 255, 2), true, "over the start");
  expect(cuda::lastLaunchMayWrite(buf + 511, 1), true, "the last byte");
  expect(cuda::lastLaunchMayWrite(buf, 1024), true, "around it");
  cuda::forgetLaunchWrites();
  expect(cuda::lastLaunchMayWrite(buf, 16), true, "forgotten");
  if (!bad)
    std::printf("ok   launch write record\n");
  return bad;
}

int refusals() {
  int failures = 0;
  char dummy alignas(16)[64];
  auto view = [&](int64_t b, int64_t r, int64_t c, int64_t sr, int64_t sc) {
    Memref3 m{};
    m.allocated = m.aligned = dummy;
    m.sizes[0] = b, m.sizes[1] = r, m.sizes[2] = c;
    m.strides[0] = r * sr, m.strides[1] = sr, m.strides[2] = sc;
    return m;
  };
  struct Refusal {
    const char *name;
    Memref3 A, B, C;
    GemmType out;
    int act;
  };
  const GemmType h = GemmType::BF16;
  std::vector<Refusal> rs = {
      {"9 rows", view(1, 9, 64, 64, 1), view(1, 64, 64, 64, 1),
       view(1, 9, 64, 64, 1), GemmType::F32, TFCRT_ACT_NONE},
      {"N not a multiple of 8 halves", view(1, 1, 64, 64, 1),
       view(1, 64, 60, 60, 1), view(1, 1, 60, 60, 1), GemmType::F32,
       TFCRT_ACT_NONE},
      {"B transposed", view(1, 1, 64, 64, 1), view(1, 64, 64, 1, 64),
       view(1, 1, 64, 64, 1), GemmType::F32, TFCRT_ACT_NONE},
      {"B row stride not 16 bytes", view(1, 1, 64, 64, 1),
       view(1, 64, 64, 68, 1), view(1, 1, 64, 64, 1), GemmType::F32,
       TFCRT_ACT_NONE},
      {"C columns strided", view(1, 1, 64, 64, 1), view(1, 64, 64, 64, 1),
       view(1, 1, 64, 128, 2), GemmType::F32, TFCRT_ACT_NONE},
      {"erf GELU", view(1, 1, 64, 64, 1), view(1, 64, 64, 64, 1),
       view(1, 1, 64, 64, 1), GemmType::F32, TFCRT_ACT_GELU},
  };
  for (const Refusal &r : rs) {
    cuda::Epilogue ep;
    ep.act = r.act;
    std::string why;
    if (cuda::gemvSuits(h, &r.A, &r.B, &r.C, r.out, ep, &why)) {
      std::printf("FAIL refusal %s: accepted\n", r.name);
      ++failures;
    } else {
      std::printf("ok   refuses %s (%s)\n", r.name, why.c_str());
    }
  }
  // The dispatch policy (gemvEnabled), when the environment leaves it at
  // its defaults: f32 GEMMs of 1-8 rows take the kernels, f16 / bf16 ones
  // only at one row (cuBLASLt is faster at 2-8, docs/PERFORMANCE.md).
  if (!std::getenv("TFC_CUDA_GEMV") && !std::getenv("TFC_CUDA_GEMV_MAXM")) {
    struct Policy {
      GemmType t;
      int64_t rows;
      bool take;
    };
    const Policy ps[] = {{GemmType::F32, 1, true},   {GemmType::F32, 8, true},
                         {GemmType::F32, 9, false},  {GemmType::BF16, 1, true},
                         {GemmType::BF16, 2, false}, {GemmType::F16, 1, true},
                         {GemmType::F16, 8, false},  {GemmType::F16, 0, false}};
    for (const Policy &p : ps) {
      const bool got = cuda::gemvEnabled(p.t, p.rows);
      std::printf("%s policy %s %lld rows: %s\n", got == p.take ? "ok  " : "FAIL",
                  p.t == GemmType::F32 ? "f32" : p.t == GemmType::F16 ? "f16" : "bf16",
                  (long long)p.rows, got ? "GEMV kernels" : "cuBLASLt");
      failures += got != p.take;
    }
  }
  return failures;
}

//===-- tfcrt_gpu_linear_ex_*: RMS norm and GLU --------------------------===//

double actRef(int act, double x) {
  switch (act) {
  case TFCRT_ACT_RELU:
    return std::max(x, 0.0);
  case TFCRT_ACT_GELU_TANH:
    return 0.5 * x *
           (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  case TFCRT_ACT_SILU:
    return x / (1.0 + std::exp(-x));
  case TFCRT_ACT_GELU:
    return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
  default:
    return x;
  }
}

/// Unit roundoff of a result stored as t (0 for f32).
double roundoff(GemmType t) {
  return t == GemmType::F16    ? 1.0 / 2048
         : t == GemmType::BF16 ? 1.0 / 256
                               : 0.0;
}

/// What an ex call must produce, row-major [M][cols], from the rounded
/// inputs in double: y = s_r (x w), then GLU or residual + bias, then act.
/// Tolerances, per output, from mag = s_r sum_k |x w|: 3e-6 mag for the f32
/// sums (+ u_T mag where x s_r is rounded to T: cuBLASLt's path), the
/// product rule for GLU (|act'| <= 1.2), 4e-6 relative for the activation,
/// u_out relative for the rounding of the result.
struct ExRef {
  std::vector<double> want, tol;
};
ExRef exReference(int64_t M, int64_t K, int64_t NB,
                  const std::vector<float> &x, // [M][K]
                  const std::function<double(int64_t, int64_t)> &w, bool rms,
                  const std::vector<float> &gamma, // [K]: the norm's scale
                  double eps, bool glu, int act, const float *bias,
                  const std::vector<float> *res, // [M][cols] or null
                  double xnRound, GemmType out) {
  const int64_t cols = glu ? NB / 2 : NB;
  ExRef r;
  r.want.resize(M * cols);
  r.tol.resize(M * cols);
  std::vector<double> y(NB), ty(NB);
  for (int64_t m = 0; m < M; ++m) {
    double s = 1;
    if (rms) {
      double ss = 0;
      for (int64_t k = 0; k < K; ++k)
        ss += double(x[m * K + k]) * x[m * K + k];
      s = 1 / std::sqrt(ss / K + eps);
    }
    for (int64_t j = 0; j < NB; ++j) {
      double acc = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        // The norm's output x s gamma (s applied below).
        const double p =
            x[m * K + k] * (rms ? double(gamma[k]) : 1.0) * w(k, j);
        acc += p;
        mag += std::fabs(p);
      }
      y[j] = s * acc;
      ty[j] = (3e-6 + xnRound) * s * mag + 1e-6;
    }
    for (int64_t j = 0; j < cols; ++j) {
      double want, tol;
      if (glu) {
        const double g = y[j], u = y[cols + j], ag = actRef(act, g);
        want = ag * u;
        tol = 1.2 * std::fabs(u) * ty[j] + std::fabs(ag) * ty[cols + j] +
              1.2 * ty[j] * ty[cols + j];
      } else {
        double v = y[j], tv = ty[j];
        if (res) {
          v += (*res)[m * cols + j];
          tv += 2e-6 * std::fabs((*res)[m * cols + j]);
        }
        if (bias) {
          v += bias[j];
          tv += 2e-6 * std::fabs(bias[j]);
        }
        want = actRef(act, v);
        tol = (act == TFCRT_ACT_NONE ? 1.0 : 1.2) * tv;
      }
      r.want[m * cols + j] = want;
      r.tol[m * cols + j] = tol + (4e-6 + roundoff(out)) * std::fabs(want);
    }
  }
  return r;
}

/// Checks C's bytes (rows of ldc elements of type out, the first cols
/// compared, the rest still 0xff); prints the first misses.
int64_t checkOut(const std::string &name, const std::vector<unsigned char> &got,
                 GemmType out, int64_t M, int64_t cols, int64_t ldc,
                 const ExRef &ref, double &worst) {
  const size_t ob = elemBytes(out);
  int64_t bad = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const unsigned char *p = &got[(i * ldc + j) * ob];
      if (j >= cols) {
        for (size_t q = 0; q < ob; ++q)
          if (p[q] != 0xff) {
            if (bad < 3)
              std::printf("  %s: padding [%lld, %lld] written\n", name.c_str(),
                          (long long)i, (long long)j);
            ++bad;
            break;
          }
        continue;
      }
      const double v = cuda::loadElem(out, p), want = ref.want[i * cols + j];
      const double err = std::fabs(v - want);
      if (!(err <= ref.tol[i * cols + j])) { // NaN (unwritten) fails too
        if (bad < 3)
          std::printf("  %s: [%lld, %lld] got %.7g want %.7g (tol %.3g)\n",
                      name.c_str(), (long long)i, (long long)j, v, want,
                      ref.tol[i * cols + j]);
        ++bad;
      }
      if (err > worst)
        worst = err;
    }
  return bad;
}

constexpr double kExEps = 1e-5;

struct ExCase {
  std::string name;
  GemmType t = GemmType::BF16, out = GemmType::F32;
  int64_t m = 1, k = 576, n = 64; // n: C's columns (F with GLU)
  bool rms = false, glu = false, bias = false, residual = false;
  int act = TFCRT_ACT_NONE;
  int64_t bPad = 0, cPad = 0;
};

/// The GEMV kernels launched directly with the ex options.
int runExCase(const ExCase &c, std::mt19937 &rng, CUstream stream) {
  const GemmType at = c.rms ? GemmType::F32 : c.t; // A's type
  const size_t ab = elemBytes(at), ob = elemBytes(c.out);
  const int64_t M = c.m, K = c.k, F = c.n, NB = c.glu ? 2 * F : F;
  const int64_t ldb = NB + c.bPad, ldc = F + c.cPad, aOff = 3;
  // A x 2 (RMS: a scale far from 1), at aOff elements into its buffer.
  HostMat a = randomMat(at, 1, M, K, K, rng, c.rms ? 2.0f : 1.0f);
  HostMat w = randomMat(c.t, 1, K, NB, ldb, rng,
                        2.0f / std::sqrt(static_cast<float>(K)));
  std::vector<float> bias(F);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float &x : bias)
    x = u(rng);
  HostMat res = randomMat(c.out, 1, M, F, ldc, rng);
  std::vector<float> gamma(K);
  std::uniform_real_distribution<float> gu(0.25f, 2.0f);
  for (float &v : gamma)
    v = gu(rng);
  std::vector<float> resDense(M * F);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < F; ++j)
      resDense[i * F + j] = res.vals[i * ldc + j];

  DevBuf da((aOff + M * K) * ab), dw(w.bytes.size()), dc(M * ldc * ob),
      dbias(F * 4), dres(res.bytes.size()), dgamma(K * 4);
  if (!da.p || !dw.p || !dc.p || !dbias.p || !dres.p || !dgamma.p)
    return 1;
  dgamma.put(gamma.data());
  ok(D->cuMemcpyHtoD(da.p + aOff * ab, a.bytes.data(), a.bytes.size()), "HtoD");
  dw.put(w.bytes.data());
  dbias.put(bias.data());
  dres.put(res.bytes.data());

  Memref3 A{}, W{}, C{}, R{};
  A.aligned = A.allocated = reinterpret_cast<char *>(da.p);
  A.offset = aOff; // in A's elements: f32 with RMS whatever T
  A.sizes[0] = 1, A.sizes[1] = M, A.sizes[2] = K;
  A.strides[0] = M * K, A.strides[1] = K, A.strides[2] = 1;
  W.aligned = W.allocated = reinterpret_cast<char *>(dw.p);
  W.sizes[0] = 1, W.sizes[1] = K, W.sizes[2] = NB;
  W.strides[0] = K * ldb, W.strides[1] = ldb, W.strides[2] = 1;
  C.aligned = C.allocated = reinterpret_cast<char *>(dc.p);
  C.sizes[0] = 1, C.sizes[1] = M, C.sizes[2] = F;
  C.strides[0] = M * ldc, C.strides[1] = ldc, C.strides[2] = 1;
  R = C;
  R.aligned = R.allocated = reinterpret_cast<char *>(dres.p);
  cuda::Epilogue ep;
  ep.bias = c.bias ? reinterpret_cast<const void *>(dbias.p) : nullptr;
  ep.act = c.act;
  ep.residual = c.residual ? &R : nullptr;
  ep.rmsEps = c.rms ? kExEps : -1;
  ep.rmsScale = c.rms ? reinterpret_cast<const float *>(dgamma.p) : nullptr;
  ep.aF32 = c.rms;
  ep.glu = c.glu;
  std::string why;
  if (!cuda::gemvSuits(c.t, &A, &W, &C, c.out, ep, &why)) {
    std::printf("FAIL %s: refused (%s)\n", c.name.c_str(), why.c_str());
    return 1;
  }
  const ExRef ref = exReference(
      M, K, NB, a.vals,
      [&](int64_t k, int64_t j) { return double(w.vals[k * ldb + j]); }, c.rms,
      gamma, kExEps, c.glu, c.act, c.bias ? bias.data() : nullptr,
      c.residual ? &resDense : nullptr, 0.0, c.out);
  // Whole K whatever the split asked for; plain and with PDL; the narrow
  // kernel as the launcher chooses (one row, K past one wide step), never
  // and always (one row), the last with the residual read before the wait.
  int64_t bad = 0;
  double worst = 0;
  for (int l = 0; l < 4; ++l) {
    if (!ok(D->cuMemsetD8Async(dc.p, 0xff, dc.bytes, stream),
            "cuMemsetD8Async"))
      return 1;
    std::string err;
    int64_t grid = 0;
    const bool pdl = l == 1 || l == 3;
    const int narrow = l == 2 ? 0 : l == 3 ? 2 : -2;
    ep.resEarly = l == 3;
    const int64_t cols =
        cuda::gemvBlockColumns(c.t, c.glu, cuda::gemvNarrow(M, K, 1, narrow));
    if (!cuda::launchGemv(c.t, &A, &W, &C, c.out, ep, stream, err, &grid, pdl,
                          l == 1 ? 8 : -1, narrow) ||
        !ok(D->cuStreamSynchronize(stream), "cuStreamSynchronize")) {
      std::printf("FAIL %s: %s\n", c.name.c_str(), err.c_str());
      return 1;
    }
    if (grid != (F + cols - 1) / cols) {
      std::printf("FAIL %s: %lld blocks, want %lld (whole K)\n", c.name.c_str(),
                  (long long)grid, (long long)((F + cols - 1) / cols));
      return 1;
    }
    std::vector<unsigned char> got(dc.bytes);
    if (!ok(D->cuMemcpyDtoHAsync(got.data(), dc.p, dc.bytes, stream),
            "cuMemcpyDtoHAsync") ||
        !ok(D->cuStreamSynchronize(stream), "cuStreamSynchronize"))
      return 1;
    static const char *const how[] = {"", " (pdl)", " (narrow 0)",
                                      " (pdl, narrow 2, residual early)"};
    bad += checkOut(c.name + how[l], got, c.out, M, F, ldc, ref, worst);
  }
  if (bad) {
    std::printf("FAIL %s: %lld wrong\n", c.name.c_str(), (long long)bad);
    return 1;
  }
  std::printf("ok   %-52s max abs err %.3g\n", c.name.c_str(), worst);
  return 0;
}

std::vector<ExCase> exCases() {
  std::vector<ExCase> v;
  for (GemmType t : {GemmType::F32, GemmType::F16, GemmType::BF16}) {
    const bool half = t != GemmType::F32;
    const GemmType hout = half ? t : GemmType::F32;
    const int64_t small = half ? 40 : 20;
    for (int64_t m : {1, 2, 5, 8}) {
      const std::string tn =
          std::string(typeName(t)) + " m" + std::to_string(m) + " ";
      ExCase c;
      c.t = t, c.m = m;
      c.rms = true, c.glu = true, c.act = TFCRT_ACT_SILU;
      c.k = 576, c.n = small, c.cPad = 3;
      c.name = tn + "rms glu silu k576 f" + std::to_string(small);
      v.push_back(c);
      c.act = TFCRT_ACT_GELU_TANH, c.k = 1000, c.n = 1536, c.out = hout;
      c.bPad = 16 / elemBytes(t), c.cPad = 0;
      c.name = tn + "rms glu gelu-tanh k1000 f1536 ->" + typeName(hout);
      v.push_back(c);
      c = ExCase();
      c.t = t, c.m = m;
      c.rms = true, c.residual = true, c.k = 1544, c.n = 576, c.cPad = 5;
      c.name = tn + "rms residual k1544 n576";
      v.push_back(c);
      c = ExCase();
      c.t = t, c.m = m;
      c.glu = true, c.act = TFCRT_ACT_GELU, c.k = 1000, c.n = small;
      c.name = tn + "glu erf-gelu (A of T) k1000 f" + std::to_string(small);
      v.push_back(c);
      c = ExCase();
      c.t = t, c.m = m, c.out = hout;
      c.rms = true, c.bias = true, c.act = TFCRT_ACT_RELU, c.k = 576;
      c.n = half ? 64 : 32;
      c.name = tn + "rms bias relu k576 ->" + typeName(hout);
      v.push_back(c);
    }
  }
  return v;
}

//===-- the entry inside runs (eager, captured, replayed) ----------------===//

struct EntryCase {
  std::string name;
  GemmType t = GemmType::BF16;
  int64_t m = 1, k = 576, n = 64; // n: out's columns (F with GLU)
  int64_t flags = 0;
  int act = TFCRT_ACT_NONE;
  bool bias = false, residual = false, transposeW = false;
};

int runEntryCase(const EntryCase &c, cuda::DeviceModel *model,
                 std::mt19937 &rng, CUstream stream) {
  const bool rms = c.flags & TFCRT_LX_RMS, glu = c.flags & TFCRT_LX_GLU;
  const GemmType xt = rms ? GemmType::F32 : c.t;
  const GemmType ot = c.flags & TFCRT_LX_OUT_HALF ? c.t : GemmType::F32;
  const size_t xb = elemBytes(xt), ob = elemBytes(ot);
  const int64_t M = c.m, K = c.k, F = c.n, NB = glu ? 2 * F : F;
  const int64_t ldo = F + 2, xOff = 3;
  HostMat x = randomMat(xt, 1, M, K, K, rng, rms ? 2.0f : 1.0f);
  // w stored [K][NB], or [NB][K] with transposeW.
  const float ws = 2.0f / std::sqrt(static_cast<float>(K));
  HostMat w = c.transposeW ? randomMat(c.t, 1, NB, K, K, rng, ws)
                           : randomMat(c.t, 1, K, NB, NB, rng, ws);
  std::vector<float> bias(NB);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float &b : bias)
    b = u(rng);
  HostMat res = randomMat(ot, 1, M, F, F, rng);
  std::vector<float> gamma(K);
  std::uniform_real_distribution<float> gu(0.25f, 2.0f);
  for (float &v : gamma)
    v = gu(rng);

  DevBuf dx((xOff + M * K) * xb), dw(w.bytes.size()), dbias(NB * 4),
      dres(res.bytes.size()), dout(M * ldo * ob), dtmp(M * (K + NB) * 4),
      dgamma(K * 4);
  if (!dx.p || !dw.p || !dbias.p || !dres.p || !dout.p || !dtmp.p || !dgamma.p)
    return 1;
  dgamma.put(gamma.data());
  ok(D->cuMemcpyHtoD(dx.p + xOff * xb, x.bytes.data(), x.bytes.size()), "HtoD");
  dw.put(w.bytes.data());
  dbias.put(bias.data());
  dres.put(res.bytes.data());

  tfcrt_memref3_f32 X{}, R{}, O{}, T{};
  X.allocated = X.aligned = reinterpret_cast<float *>(dx.p);
  X.offset = xOff; // in x's elements
  X.sizes[0] = 1, X.sizes[1] = M, X.sizes[2] = K;
  X.strides[0] = M * K, X.strides[1] = K, X.strides[2] = 1;
  tfcrt_memref2_f32 Wd{};
  Wd.allocated = Wd.aligned = reinterpret_cast<float *>(dw.p);
  if (c.transposeW) {
    Wd.sizes[0] = NB, Wd.sizes[1] = K, Wd.strides[0] = K, Wd.strides[1] = 1;
  } else {
    Wd.sizes[0] = K, Wd.sizes[1] = NB, Wd.strides[0] = NB, Wd.strides[1] = 1;
  }
  tfcrt_memref1_f32 Bd{};
  Bd.allocated = Bd.aligned = reinterpret_cast<float *>(dbias.p);
  Bd.sizes[0] = c.bias ? NB : 0, Bd.strides[0] = 1;
  tfcrt_memref1_f32 Gd{}; // the norm's scale with RMS
  Gd.allocated = Gd.aligned = reinterpret_cast<float *>(dgamma.p);
  Gd.sizes[0] = rms ? K : 0, Gd.strides[0] = 1;
  if (c.residual) {
    R.allocated = R.aligned = reinterpret_cast<float *>(dres.p);
    R.sizes[0] = 1, R.sizes[1] = M, R.sizes[2] = F;
    R.strides[0] = M * F, R.strides[1] = F, R.strides[2] = 1;
  }
  O.allocated = O.aligned = reinterpret_cast<float *>(dout.p);
  O.sizes[0] = 1, O.sizes[1] = M, O.sizes[2] = F;
  O.strides[0] = M * ldo, O.strides[1] = ldo, O.strides[2] = 1;
  T.allocated = T.aligned = reinterpret_cast<float *>(dtmp.p);
  T.sizes[0] = 1, T.sizes[1] = M, T.sizes[2] = K + NB;
  T.strides[0] = M * (K + NB), T.strides[1] = K + NB, T.strides[2] = 1;

  std::vector<float> resDense(res.vals.begin(), res.vals.end());
  // Rounding x s_r to T is cuBLASLt's path's; either path passes with it.
  const ExRef ref = exReference(
      M, K, NB, x.vals,
      [&](int64_t k, int64_t j) {
        return double(c.transposeW ? w.vals[j * K + k] : w.vals[k * NB + j]);
      },
      rms, gamma, kExEps, glu, c.act, c.bias ? bias.data() : nullptr,
      c.residual ? &resDense : nullptr, rms ? roundoff(c.t) : 0.0, ot);
  // One GEMV launch where the policy sends the call to the kernels (they
  // take every case here but transposed weights); else cuBLASLt and one
  // launch each for the norm and the GLU.
  const bool envSet = std::getenv("TFC_CUDA_GEMV") ||
                      std::getenv("TFC_CUDA_GEMV_MAXM") ||
                      std::getenv("TFC_CUDA_GRAPHS");
  const bool gemv = cuda::gemvEnabled(c.t, M) && !c.transposeW;
  const uint64_t wantLaunches = gemv ? 0 : (rms ? 1 : 0) + (glu ? 1 : 0);
  int64_t bad = 0;
  double worst = 0;
  const char modes[] = {'e', 'c', 'r'};
  for (int run = 0; run < 3; ++run) {
    if (!ok(D->cuMemsetD8Async(dout.p, 0xff, dout.bytes, stream),
            "cuMemsetD8Async") ||
        !ok(D->cuMemsetD8Async(dtmp.p, 0xff, dtmp.bytes, stream),
            "cuMemsetD8Async") ||
        !ok(D->cuStreamSynchronize(stream), "cuStreamSynchronize"))
      return 1;
    cuda::beginRun(model);
    cuda::runCompiled(c.name, [&] {
      tfcrt_memref3_f32 *rp = &R;
      switch (c.t) {
      case GemmType::F32:
        _mlir_ciface_tfcrt_gpu_linear_ex_f32(&X, &Wd, &Bd, &Gd, rp, &O, &T,
                                             c.transposeW, c.act, c.flags,
                                             kExEps);
        break;
      case GemmType::F16:
        _mlir_ciface_tfcrt_gpu_linear_ex_f16(&X, &Wd, &Bd, &Gd, rp, &O, &T,
                                             c.transposeW, c.act, c.flags,
                                             kExEps);
        break;
      case GemmType::BF16:
        _mlir_ciface_tfcrt_gpu_linear_ex_bf16(&X, &Wd, &Bd, &Gd, rp, &O, &T,
                                              c.transposeW, c.act, c.flags,
                                              kExEps);
        break;
      }
    });
    const bool fine = cuda::finishRun();
    const std::string cudaError = cuda::error();
    cuda::endRun();
    std::string msg;
    if (takeKernelError(msg) != TFC_OK || !fine) {
      std::printf("FAIL %s: run %d: %s%s\n", c.name.c_str(), run, msg.c_str(),
                  cudaError.c_str());
      return 1;
    }
    const cuda::RunStats st = cuda::lastRunStats();
    if (!envSet && st.mode != modes[run]) {
      std::printf("FAIL %s: run %d was '%c', want '%c' (not capturable?)\n",
                  c.name.c_str(), run, st.mode, modes[run]);
      return 1;
    }
    if (!envSet && run == 0 && (st.gemms != 1 || st.launches != wantLaunches)) {
      std::printf("FAIL %s: %llu GEMMs and %llu launches, want 1 and %llu "
                  "(%s path)\n",
                  c.name.c_str(), (unsigned long long)st.gemms,
                  (unsigned long long)st.launches,
                  (unsigned long long)wantLaunches, gemv ? "GEMV" : "cuBLASLt");
      return 1;
    }
    std::vector<unsigned char> got(dout.bytes);
    if (!ok(D->cuMemcpyDtoHAsync(got.data(), dout.p, dout.bytes, stream),
            "cuMemcpyDtoHAsync") ||
        !ok(D->cuStreamSynchronize(stream), "cuStreamSynchronize"))
      return 1;
    bad += checkOut(c.name + " (run " + std::string(1, modes[run]) + ")", got,
                    ot, M, F, ldo, ref, worst);
  }
  if (bad) {
    std::printf("FAIL %s: %lld wrong\n", c.name.c_str(), (long long)bad);
    return 1;
  }
  std::printf("ok   %-52s %s, max abs err %.3g\n", c.name.c_str(),
              gemv ? "GEMV" : "cuBLASLt", worst);
  return 0;
}

std::vector<EntryCase> entryCases() {
  std::vector<EntryCase> v;
  for (GemmType t : {GemmType::F32, GemmType::F16, GemmType::BF16}) {
    const bool half = t != GemmType::F32;
    const int64_t small = half ? 40 : 20;
    const int64_t outHalf = half ? TFCRT_LX_OUT_HALF : 0;
    for (int64_t m : {1, 5, 24}) {
      const std::string tn =
          std::string("entry ") + typeName(t) + " m" + std::to_string(m) + " ";
      EntryCase c;
      c.t = t, c.m = m;
      c.flags = TFCRT_LX_RMS | TFCRT_LX_GLU | outHalf;
      c.act = TFCRT_ACT_SILU, c.k = 576, c.n = 1536;
      c.name = tn + "rms glu silu k576 f1536" + (half ? " half out" : "");
      v.push_back(c);
      c = EntryCase();
      c.t = t, c.m = m;
      c.flags = TFCRT_LX_RMS, c.residual = true, c.k = 1000, c.n = 576;
      c.name = tn + "rms residual k1000 n576";
      v.push_back(c);
      c = EntryCase();
      c.t = t, c.m = m;
      c.flags = TFCRT_LX_GLU, c.act = TFCRT_ACT_GELU_TANH, c.k = 1544;
      c.n = small;
      c.name = tn + "glu gelu-tanh k1544 f" + std::to_string(small);
      v.push_back(c);
      c = EntryCase();
      c.t = t, c.m = m;
      c.flags = TFCRT_LX_RMS, c.bias = true;
      c.act = TFCRT_ACT_GELU_TANH, c.k = 576, c.n = 64;
      c.name = tn + "rms bias gelu-tanh k576 n64";
      v.push_back(c);
      c = EntryCase();
      c.t = t, c.m = m, c.k = 576, c.n = 64, c.bias = true;
      c.act = TFCRT_ACT_RELU;
      c.name = tn + "plain bias relu k576 n64";
      v.push_back(c);
    }
    EntryCase c;
    c.t = t, c.m = 1, c.transposeW = true;
    c.flags = TFCRT_LX_RMS | TFCRT_LX_GLU, c.act = TFCRT_ACT_SILU;
    c.k = 576, c.n = small;
    c.name =
        std::string("entry ") + typeName(t) + " m1 transposed w rms glu silu";
    v.push_back(c);
  }
  // f32 with M K not a multiple of 4: y goes 4-byte aligned after xn.
  EntryCase c;
  c.t = GemmType::F32, c.m = 23, c.k = 577, c.n = 20;
  c.flags = TFCRT_LX_RMS | TFCRT_LX_GLU, c.act = TFCRT_ACT_GELU;
  c.name = "entry f32 m23 k577 rms glu erf-gelu (y 4-aligned)";
  v.push_back(c);
  return v;
}

int exTests(std::mt19937 &rng, CUstream stream) {
  int failures = 0;
  for (const ExCase &c : exCases())
    failures += runExCase(c, rng, stream);
  cuda::DeviceModel *model = nullptr;
  std::string err;
  if (cuda::loadDeviceModel(nullptr, 0, &model, err) != TFC_OK) {
    std::printf("FAIL loading a model without weights: %s\n", err.c_str());
    return failures + 1;
  }
  for (const EntryCase &c : entryCases())
    failures += runEntryCase(c, model, rng, stream);
  cuda::freeDeviceModel(model);
  return failures;
}

/// gemvSuits on the ex options (no GPU needed).
int exRefusals() {
  int failures = 0;
  char dummy alignas(16)[64];
  auto view = [&](int64_t r, int64_t c) {
    Memref3 m{};
    m.allocated = m.aligned = dummy;
    m.sizes[0] = 1, m.sizes[1] = r, m.sizes[2] = c;
    m.strides[0] = r * c, m.strides[1] = c, m.strides[2] = 1;
    return m;
  };
  const float fakeBias = 0;
  const Memref3 A = view(1, 64), B = view(64, 128), C = view(1, 64),
                C2 = view(1, 60), B2 = view(64, 120), A9 = view(9, 64),
                C9 = view(9, 64), Cn = view(1, 128);
  struct Check {
    const char *name;
    const Memref3 *a, *b, *c;
    bool rms, glu, bias, residual;
    int act;
    bool take;
  };
  const Check cs[] = {
      {"rms glu silu", &A, &B, &C, true, true, false, false, TFCRT_ACT_SILU,
       true},
      {"glu erf-gelu", &A, &B, &C, false, true, false, false, TFCRT_ACT_GELU,
       true},
      {"rms bias relu", &A, &B, &Cn, true, false, true, false, TFCRT_ACT_RELU,
       true},
      {"rms residual", &A, &B, &Cn, true, false, false, true, TFCRT_ACT_NONE,
       true},
      {"glu with a bias", &A, &B, &C, true, true, true, false, TFCRT_ACT_SILU,
       false},
      {"glu with a residual", &A, &B, &C, false, true, false, true,
       TFCRT_ACT_NONE, false},
      {"glu B not 2 F columns", &A, &B, &Cn, false, true, false, false,
       TFCRT_ACT_SILU, false},
      {"glu F not 8 halves", &A, &B2, &C2, false, true, false, false,
       TFCRT_ACT_SILU, false},
      {"silu without glu", &A, &B, &Cn, true, false, false, false,
       TFCRT_ACT_SILU, false},
      {"rms glu 9 rows", &A9, &B, &C9, true, true, false, false, TFCRT_ACT_SILU,
       false},
  };
  for (const Check &k : cs) {
    cuda::Epilogue ep;
    ep.act = k.act;
    ep.rmsEps = k.rms ? kExEps : -1;
    ep.aF32 = k.rms;
    ep.glu = k.glu;
    ep.bias = k.bias ? &fakeBias : nullptr;
    ep.residual = k.residual ? k.c : nullptr;
    std::string why;
    const bool got =
        cuda::gemvSuits(GemmType::BF16, k.a, k.b, k.c, GemmType::F32, ep, &why);
    std::printf("%s ex %s: %s%s%s\n", got == k.take ? "ok  " : "FAIL", k.name,
                got ? "taken" : "refused", got ? "" : " - ",
                got ? "" : why.c_str());
    failures += got != k.take;
  }
  return failures;
}

int bench(CUstream stream) {
  // SmolLM2-135M's decode GEMMs: q|k|v, o, gate|up, down, lm_head.
  struct Shape {
    const char *name;
    int64_t k, n;
  };
  const Shape shapes[] = {{"qkv", 576, 960},
                          {"o", 576, 576},
                          {"gate|up", 576, 3072},
                          {"down", 1536, 576},
                          {"lm_head", 576, 49152}};
  CUevent e0, e1;
  D->cuEventCreate(&e0, 0);
  D->cuEventCreate(&e1, 0);
  for (GemmType t : {GemmType::BF16, GemmType::F32})
    for (int64_t m : {1, 8})
      for (const Shape &s : shapes) {
        const size_t eb = elemBytes(t), wBytes = s.k * s.n * eb;
        // Enough copies of the weights that each launch reads from HBM.
        const int copies =
            static_cast<int>(std::max<size_t>(2, (256u << 20) / wBytes));
        DevBuf dw(wBytes * copies), da(m * s.k * eb), dc(m * s.n * 4);
        if (!dw.p || !da.p || !dc.p)
          return 1;
        // Nonzero weights and activations (0x3c3c: 1.18 in bf16).
        D->cuMemsetD8Async(dw.p, 0x3c, dw.bytes, stream);
        D->cuMemsetD8Async(da.p, 0x3c, da.bytes, stream);
        Memref3 A{}, W{}, C{};
        A.aligned = reinterpret_cast<char *>(da.p);
        A.sizes[0] = 1, A.sizes[1] = m, A.sizes[2] = s.k;
        A.strides[0] = m * s.k, A.strides[1] = s.k, A.strides[2] = 1;
        W.sizes[0] = 1, W.sizes[1] = s.k, W.sizes[2] = s.n;
        W.strides[0] = s.k * s.n, W.strides[1] = s.n, W.strides[2] = 1;
        C.aligned = reinterpret_cast<char *>(dc.p);
        C.sizes[0] = 1, C.sizes[1] = m, C.sizes[2] = s.n;
        C.strides[0] = m * s.n, C.strides[1] = s.n, C.strides[2] = 1;
        cuda::Epilogue ep;
        // Whole K (wide kernel), the launcher's split and whole K in the
        // narrow kernel (one row), launches alternating.
        const int nv = m == 1 ? 3 : 2;
        std::vector<float> us[3];
        int64_t blocks[3] = {0, 0, 0};
        std::string err;
        for (int it = 0; it < 210 * nv; ++it) {
          const int v = it % nv;
          W.aligned =
              reinterpret_cast<char *>(dw.p + (it / nv % copies) * wBytes);
          D->cuEventRecord(e0, stream);
          if (!cuda::launchGemv(t, &A, &W, &C, GemmType::F32, ep, stream, err,
                                &blocks[v], false, v == 1 ? -1 : 1,
                                v == 2 ? 2 : 0)) {
            std::printf("launch failed: %s\n", err.c_str());
            return 1;
          }
          D->cuEventRecord(e1, stream);
          D->cuEventSynchronize(e1);
          float ms = 0;
          D->cuEventElapsedTime(&ms, e0, e1);
          if (it >= 10 * nv)
            us[v].push_back(ms * 1e3f);
        }
        for (int v = 0; v < nv; ++v) {
          std::sort(us[v].begin(), us[v].end());
          const double med = us[v][us[v].size() / 2];
          std::printf("bench gemv %-4s m%lld %-8s k%-5lld n%-6lld %-7s %4lld "
                      "blocks median %6.2f us  %7.1f GB/s (weights)\n",
                      typeName(t), (long long)m, s.name, (long long)s.k,
                      (long long)s.n,
                      v == 0   ? "whole-K"
                      : v == 1 ? "split"
                               : "narrow",
                      (long long)blocks[v], med, wBytes / (med * 1e-6) / 1e9);
        }
      }
  D->cuEventDestroy(e0);
  D->cuEventDestroy(e1);
  return 0;
}

} // namespace

/// gemvSplits, the host's choice of split count (no GPU needed: these and
/// the refusals run before the device opens, so CI checks them too).
int splitChoices() {
  int failures = 0;
  auto expect = [&](const char *what, int got, int want) {
    if (got != want) {
      std::printf("FAIL gemvSplits %s: %d, want %d\n", what, got, want);
      ++failures;
    }
  };
  // Forced counts, clamped to K's rows and to no empty split.
  expect("forced 1", cuda::gemvSplits(18, 576, 132, 1), 1);
  expect("forced 0", cuda::gemvSplits(18, 576, 132, 0), 1);
  expect("forced 3", cuda::gemvSplits(18, 576, 132, 3), 3);
  expect("forced 99", cuda::gemvSplits(18, 576, 132, 99), cuda::kGemvMaxSplits);
  expect("forced 8, K 7", cuda::gemvSplits(1, 7, 132, 8), 7);
  expect("forced 8, K 9", cuda::gemvSplits(1, 9, 132, 8), 5); // ceil(9/5) = 2
  expect("forced 8, K 1", cuda::gemvSplits(1, 1, 132, 8), 1);
  // The launcher's choice (132 SMs, at least 64 rows a split): SmolLM2's
  // o / down (18 column groups), q|k|v (30), gate|up (96), lm_head (1,536).
  expect("auto o", cuda::gemvSplits(18, 576, 132, -1), 8);
  expect("auto down", cuda::gemvSplits(18, 1536, 132, -1), 8);
  expect("auto qkv", cuda::gemvSplits(30, 576, 132, -1), 8);
  expect("auto gate|up", cuda::gemvSplits(96, 576, 132, -1), 2);
  expect("auto lm_head", cuda::gemvSplits(1536, 576, 132, -1), 1);
  expect("auto short K", cuda::gemvSplits(1, 100, 132, -1), 1);
  expect("auto K 200", cuda::gemvSplits(1, 200, 132, -1), 2);
  expect("auto 1 SM", cuda::gemvSplits(1, 4096, 1, -1), 1);
  // Every choice: 1..kGemvMaxSplits splits, none without rows.
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const int64_t blocks = 1 + rng() % 3000, K = 1 + rng() % 5000;
    const int sms = 1 + static_cast<int>(rng() % 200);
    const int split = static_cast<int>(rng() % 12) - 1; // -1 .. 10
    const int S = cuda::gemvSplits(blocks, K, sms, split);
    const int64_t per = (K + S - 1) / S;
    if (S < 1 || S > cuda::kGemvMaxSplits || S > K || per * (S - 1) >= K) {
      std::printf("FAIL gemvSplits(%lld, %lld, %d, %d) = %d\n",
                  (long long)blocks, (long long)K, sms, split, S);
      ++failures;
      break;
    }
  }
  if (!failures)
    std::printf("ok   gemvSplits: forced, chosen and 20000 random calls\n");
  return failures;
}

int main(int argc, char **argv) {
  const bool bench = argc > 1 && std::string(argv[1]) == "--bench";
  int failures =
      bench ? 0
            : splitChoices() + refusals() + exRefusals() + launchWriteRecord();
  CUstream stream = nullptr;
  if (int rc = openDevice(stream))
    return failures ? 1 : rc;
  if (bench)
    return ::bench(stream);
  std::mt19937 rng(1234);
  for (const Case &c : cases())
    failures += runCase(c, rng, stream);
  failures += exTests(rng, stream);
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
