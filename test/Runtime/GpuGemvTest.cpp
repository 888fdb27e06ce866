//===- GpuGemvTest.cpp - the few-row GEMM kernels against a host reference
//-===//
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
#include "tfc/Runtime/tfc_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
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
                  int64_t ld, std::mt19937 &rng) {
  HostMat h{batch, rows, cols, ld, {}, {}};
  const size_t eb = elemBytes(t);
  h.bytes.assign(batch * rows * ld * eb, 0);
  h.vals.assign(batch * rows * ld, 0.0f);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < batch * rows * ld; ++i)
    h.vals[i] = encode(t, u(rng), &h.bytes[i * eb]);
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
  struct Launch {
    bool pdl;
    int split;
  };
  int64_t bad = 0, padTouched = 0;
  double worst = 0;
  bool first = true;
  for (Launch l : {Launch{false, 1}, Launch{true, 1}, Launch{false, -1},
                   Launch{false, 2}, Launch{true, 3}, Launch{false, 8}}) {
    const bool pdl = l.pdl;
    if (!first && !ok(D->cuMemsetD8Async(dc.p, 0xff, dc.bytes, stream),
                      "cuMemsetD8Async"))
      return 1;
    first = false;
    std::string err;
    int64_t grid = 0;
    if (!cuda::launchGemv(c.t, &A, &W, &C, c.out, ep, stream, err, &grid,
                          pdl, l.split) ||
        !ok(D->cuStreamSynchronize(stream), "cuStreamSynchronize")) {
      std::printf("FAIL %s: %s\n", c.name.c_str(), err.c_str());
      return 1;
    }
    // A split launch must have run split (not the whole-K fallback): its
    // grid is the column groups x splits x batch.
    {
      const int64_t cols = cuda::kGemvColThreads * (16 / static_cast<int64_t>(eb));
      const int64_t groups = (N + cols - 1) / cols;
      const int S =
          cuda::gemvSplits(groups * B, K, cuda::multiprocessors(D), l.split);
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
              std::printf("  %s (split %d, pdl %d): [%lld, %lld, %lld] got "
                          "%.7g want %.7g\n",
                          c.name.c_str(), l.split, pdl ? 1 : 0, (long long)b,
                          (long long)i, (long long)j, v, s);
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
          Shape{1, 960, 576}, Shape{7, 136, 2000}, Shape{4, 1000, 333}}) {
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
        // Whole K and the launcher's split, launches alternating.
        std::vector<float> us[2];
        int64_t blocks[2] = {0, 0};
        std::string err;
        for (int it = 0; it < 420; ++it) {
          const int v = it % 2;
          W.aligned =
              reinterpret_cast<char *>(dw.p + (it / 2 % copies) * wBytes);
          D->cuEventRecord(e0, stream);
          if (!cuda::launchGemv(t, &A, &W, &C, GemmType::F32, ep, stream,
                                err, &blocks[v], false, v ? -1 : 1)) {
            std::printf("launch failed: %s\n", err.c_str());
            return 1;
          }
          D->cuEventRecord(e1, stream);
          D->cuEventSynchronize(e1);
          float ms = 0;
          D->cuEventElapsedTime(&ms, e0, e1);
          if (it >= 20)
            us[v].push_back(ms * 1e3f);
        }
        for (int v = 0; v < 2; ++v) {
          std::sort(us[v].begin(), us[v].end());
          const double med = us[v][us[v].size() / 2];
          std::printf("bench gemv %-4s m%lld %-8s k%-5lld n%-6lld %-7s %4lld "
                      "blocks median %6.2f us  %7.1f GB/s (weights)\n",
                      typeName(t), (long long)m, s.name, (long long)s.k,
                      (long long)s.n, v ? "split" : "whole-K",
                      (long long)blocks[v], med,
                      wBytes / (med * 1e-6) / 1e9);
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
  int failures = bench ? 0 : splitChoices() + refusals();
  CUstream stream = nullptr;
  if (int rc = openDevice(stream))
    return failures ? 1 : rc;
  if (bench)
    return ::bench(stream);
  std::mt19937 rng(1234);
  for (const Case &c : cases())
    failures += runCase(c, rng, stream);
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
