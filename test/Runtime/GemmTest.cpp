//===- GemmTest.cpp - every fast GEMM path against the reference ----------===//
//
// Fresh random data on every run (the seed is printed on failure), never
// zeros; C starts as garbage so that "overwrite" is checked too. The bound
// is the classic one for recursive summation in float:
//   |fast - exact| <= 2 k eps sum_k |a_ik b_kj|   (+ |bias| eps)
// which a wrong index or a missed/double-counted k block exceeds by far.
//
//===----------------------------------------------------------------------===//

#include "Gemm/Gemm.h"
#include "Cuda/GpuGemm.h"
#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace tfcrt::gemm;

namespace {

unsigned testSeed() {
  static const unsigned seed = std::random_device{}();
  return seed;
}

struct Layout {
  bool transA = false, transB = false; // column-major A / B
  bool shareA = false, shareB = false; // batch stride 0
  bool bias = false;
  int64_t biasStride = 1;
  int64_t cColStride = 1; // > 1: C columns strided
};

std::string describe(int64_t batch, int64_t m, int64_t n, int64_t k,
                     const Layout &l) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "batch %lld m %lld n %lld k %lld transA %d transB %d shareA %d "
                "shareB %d bias %d(stride %lld) cColStride %lld seed %u",
                (long long)batch, (long long)m, (long long)n, (long long)k,
                l.transA, l.transB, l.shareA, l.shareB, l.bias,
                (long long)l.biasStride, (long long)l.cColStride, testSeed());
  return buf;
}

float nonZero(std::mt19937 &rng) {
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  float v;
  do
    v = d(rng);
  while (std::fabs(v) < 1e-3f);
  return v;
}

/// Runs `fast` on a fresh problem and compares with the reference.
void checkOne(int64_t batch, int64_t m, int64_t n, int64_t k, const Layout &l,
              Isa isa, std::mt19937 &rng) {
  SCOPED_TRACE(describe(batch, m, n, k, l) + " isa " + isaName(isa));
  const int64_t aItems = l.shareA ? 1 : batch, bItems = l.shareB ? 1 : batch;
  std::vector<float> a(aItems * m * k + 1), b(bItems * k * n + 1),
      bias(n * l.biasStride + 1);
  for (float &v : a)
    v = nonZero(rng);
  for (float &v : b)
    v = nonZero(rng);
  for (float &v : bias)
    v = nonZero(rng);
  const int64_t ldc = n * l.cColStride + 3; // padded rows
  std::vector<float> c(batch * m * ldc + 1, 12345.f), ref(c.size(), -777.f);

  Problem p;
  p.batch = batch;
  p.m = m;
  p.n = n;
  p.k = k;
  p.a = a.data() + 1; // unaligned on purpose
  p.sab = l.shareA ? 0 : m * k;
  p.sam = l.transA ? 1 : k;
  p.sak = l.transA ? m : 1;
  p.b = b.data() + 1;
  p.sbb = l.shareB ? 0 : k * n;
  p.sbk = l.transB ? 1 : n;
  p.sbn = l.transB ? k : 1;
  p.c = c.data();
  p.scb = m * ldc;
  p.scm = ldc;
  p.scn = l.cColStride;
  if (l.bias) {
    p.bias = bias.data();
    p.sbias = l.biasStride;
  }
  run(p, isa);
  Problem r = p;
  r.c = ref.data();
  reference(r);

  int reported = 0;
  for (int64_t bi = 0; bi < batch; ++bi)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double mag = 0;
        for (int64_t q = 0; q < k; ++q)
          mag += std::fabs(p.a[bi * p.sab + i * p.sam + q * p.sak] *
                           p.b[bi * p.sbb + q * p.sbk + j * p.sbn]);
        if (l.bias)
          mag += std::fabs(p.bias[j * p.sbias]);
        const double tol = 2.0 * (k + 1) * FLT_EPSILON * mag + 1e-30;
        const int64_t at = bi * p.scb + i * p.scm + j * p.scn;
        const double err = std::fabs(static_cast<double>(c[at]) - ref[at]);
        if (!(err <= tol) && reported++ < 5)
          ADD_FAILURE() << "C[" << bi << "][" << i << "][" << j
                        << "] = " << c[at] << ", reference " << ref[at]
                        << " (tolerance " << tol << ")";
      }
  // Nothing outside C was written (padding and unused strided columns).
  for (int64_t bi = 0; bi < batch; ++bi)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < ldc; ++j) {
        bool inside = j % l.cColStride == 0 && j / l.cColStride < n;
        if (!inside && c[bi * p.scb + i * ldc + j] != 12345.f && reported++ < 5)
          ADD_FAILURE() << "wrote outside C at [" << bi << "][" << i << "]["
                        << j << "]";
      }
  EXPECT_EQ(reported, 0);
}

struct Param {
  Isa isa;
  int threads;
};

class GemmTest : public ::testing::TestWithParam<Param> {
protected:
  void SetUp() override {
    if (!isaSupported(GetParam().isa))
      GTEST_SKIP() << isaName(GetParam().isa) << " not supported on this CPU";
    tfc_set_num_threads(GetParam().threads);
  }
  void TearDown() override { tfc_set_num_threads(0); }
  std::mt19937 rng{testSeed()};
};

TEST_P(GemmTest, EdgeSizes) {
  const int64_t sizes[] = {1, 2, 5, 13, 14, 15, 16, 17, 31, 32, 33, 65};
  Layout plain;
  for (int64_t m : sizes)
    for (int64_t n :
         {int64_t(1), int64_t(7), int64_t(32), int64_t(33), int64_t(65)})
      for (int64_t k : {int64_t(1), int64_t(3), int64_t(64)})
        checkOne(1, m, n, k, plain, GetParam().isa, rng);
}

TEST_P(GemmTest, TransposedAndStrided) {
  for (int bits = 0; bits < 32; ++bits) {
    Layout l;
    l.transA = bits & 1;
    l.transB = bits & 2;
    l.bias = bits & 4;
    l.biasStride = (bits & 8) ? 3 : 1;
    l.cColStride = (bits & 16) ? 2 : 1;
    checkOne(1, 37, 45, 29, l, GetParam().isa, rng);
    checkOne(1, 3, 70, 50, l, GetParam().isa, rng); // few-rows path
  }
}

TEST_P(GemmTest, Batched) {
  for (int bits = 0; bits < 8; ++bits) {
    Layout l;
    l.shareA = bits & 1;
    l.shareB = bits & 2;
    l.bias = bits & 4;
    checkOne(3, 20, 33, 17, l, GetParam().isa, rng);
    checkOne(5, 1, 40, 9, l, GetParam().isa, rng);
    checkOne(7, 16, 16, 8, l, GetParam().isa, rng); // many small items
  }
}

TEST_P(GemmTest, DeepK) {
  // Several k blocks: the first writes C (+ bias), the rest accumulate.
  Layout l;
  l.bias = true;
  checkOne(1, 29, 70, 1100, l, GetParam().isa, rng);
  l.transB = true;
  checkOne(1, 6, 100, 700, l, GetParam().isa, rng);
  checkOne(2, 150, 40, 600, l, GetParam().isa, rng);
}

TEST_P(GemmTest, FewRowsWideN) {
  // More columns than one pass of the few-rows kernel takes (kSmallChunk).
  Layout l;
  l.bias = true;
  checkOne(1, 3, kSmallChunk + 70, 9, l, GetParam().isa, rng);
  checkOne(2, 1, kSmallChunk + 17, 5, l, GetParam().isa, rng);
  checkOne(1, 11, kSmallChunk + 40, 7, l, GetParam().isa, rng);
  l.transB = true;
  checkOne(1, 8, 300, 33, l, GetParam().isa, rng);
  checkOne(1, 16, 70, 40, l, GetParam().isa, rng);
  // Large B (> 8 MB): few-rows kernels up to kMaxSmallM rows.
  l.transB = false;
  checkOne(1, 27, 1100, 2000, l, GetParam().isa, rng);
}

TEST_P(GemmTest, RandomShapes) {
  std::uniform_int_distribution<int64_t> dim(1, 160), batch(1, 4);
  std::uniform_int_distribution<int> coin(0, 1);
  for (int t = 0; t < 30; ++t) {
    Layout l;
    l.transA = coin(rng);
    l.transB = coin(rng);
    l.shareA = coin(rng) && coin(rng);
    l.shareB = coin(rng);
    l.bias = coin(rng);
    int64_t m = coin(rng) ? dim(rng) : dim(rng) % 9 + 1;
    checkOne(batch(rng), m, dim(rng), dim(rng), l, GetParam().isa, rng);
  }
}

TEST_P(GemmTest, ZeroK) {
  Layout l;
  checkOne(2, 5, 6, 0, l, GetParam().isa, rng);
  l.bias = true;
  checkOne(2, 5, 6, 0, l, GetParam().isa, rng);
}

std::vector<Param> params() {
  std::vector<Param> out;
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512})
    for (int threads : {1, 3})
      out.push_back({isa, threads});
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllIsas, GemmTest, ::testing::ValuesIn(params()),
                         [](const ::testing::TestParamInfo<Param> &info) {
                           return std::string(isaName(info.param.isa)) +
                                  "_threads" +
                                  std::to_string(info.param.threads);
                         });

/// The C entry points, as compiled code calls them: descriptors with
/// offsets, a size-1 batch that broadcasts, bias.
TEST(MatmulEntry, StridedDescriptors) {
  std::mt19937 rng(testSeed());
  const int64_t batch = 3, m = 9, n = 20, k = 11;
  std::vector<float> a(5 + m * k), b(7 + batch * k * n), bias(2 + n),
      c(batch * m * n, 99.f), ref(batch * m * n);
  for (float &v : a)
    v = nonZero(rng);
  for (float &v : b)
    v = nonZero(rng);
  for (float &v : bias)
    v = nonZero(rng);
  // A: one item [1, m, k], broadcast over the batch; B transposed [b, k, n].
  tfcrt_memref3_f32 da = {a.data(), a.data(), 5, {1, m, k}, {m * k, k, 1}};
  tfcrt_memref3_f32 db = {b.data(), b.data(), 7, {batch, k, n}, {k * n, 1, k}};
  tfcrt_memref1_f32 dbias = {bias.data(), bias.data(), 2, {n}, {1}};
  tfcrt_memref3_f32 dc = {c.data(), c.data(), 0, {batch, m, n}, {m * n, n, 1}};
  _mlir_ciface_tfcrt_matmul_bias_f32(&da, &db, &dbias, &dc);
  Problem p;
  p.batch = batch;
  p.m = m;
  p.n = n;
  p.k = k;
  p.a = a.data() + 5;
  p.sab = 0;
  p.sam = k;
  p.sak = 1;
  p.b = b.data() + 7;
  p.sbb = k * n;
  p.sbk = 1;
  p.sbn = k;
  p.c = ref.data();
  p.scb = m * n;
  p.scm = n;
  p.scn = 1;
  p.bias = bias.data() + 2;
  reference(p);
  for (size_t i = 0; i < c.size(); ++i)
    EXPECT_NEAR(c[i], ref[i], 1e-4) << "at " << i << " seed " << testSeed();

  // Without bias, and a shape mismatch leaves C untouched.
  _mlir_ciface_tfcrt_matmul_f32(&da, &db, &dc);
  p.bias = nullptr;
  reference(p);
  for (size_t i = 0; i < c.size(); ++i)
    EXPECT_NEAR(c[i], ref[i], 1e-4) << "at " << i;
  std::vector<float> before = c;
  tfcrt_memref3_f32 wrong = db;
  wrong.sizes[1] = k + 1;
  _mlir_ciface_tfcrt_matmul_f32(&da, &wrong, &dc);
  EXPECT_EQ(c, before);
}

//===-- tfcrt_gpu_linear_ex_* on the host (--cuda-emulate-on-host) --------===//
// The GPU entries compute on the host outside a GPU run: an RMS norm inside
// the GEMM call (x f32, its rows scaled, times the norm's scale and rounded
// to the weights' type as cuBLASLt's path does), the GLU in the epilogue,
// against a double reference; the RMS layer also bit for bit against the
// unfused pair (the norm rounded to bf16, then tfcrt_gpu_linear_bf16).

using tfcrt::cuda::GemmType;

struct ExBufs {
  GemmType t;
  int64_t m, k, nb, cols; // nb: w's columns (2 F with GLU), cols: out's
  std::vector<float> x;   // [m][k] f32 (RMS) or values rounded to t
  std::vector<unsigned char> xBytes, wBytes, resBytes, outBytes;
  std::vector<float> w, bias, res, tmp; // w [k][nb], res [m][cols]
  std::vector<float> scale;             // [k]: the norm's gamma
};

double exAct(int act, double v) {
  switch (act) {
  case TFCRT_ACT_GELU:
    return 0.5 * v * std::erfc(-v / std::sqrt(2.0));
  case TFCRT_ACT_GELU_TANH:
    return 0.5 * v *
           (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
  case TFCRT_ACT_SILU:
    return v / (1 + std::exp(-v));
  case TFCRT_ACT_RELU:
    return v < 0 ? 0 : v;
  default:
    return v;
  }
}

float roundTo(GemmType t, float v, unsigned char *bytes) {
  tfcrt::cuda::storeElem(t, bytes, v);
  return tfcrt::cuda::loadElem(t, bytes);
}

ExBufs exInputs(GemmType t, GemmType out, int64_t m, int64_t k, int64_t nb,
                int64_t cols, bool rms, std::mt19937 &rng) {
  ExBufs b{t, m, k, nb, cols, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}};
  const GemmType xt = rms ? GemmType::F32 : t;
  const size_t xb = tfcrt::cuda::elemBytes(xt), eb = tfcrt::cuda::elemBytes(t),
               ob = tfcrt::cuda::elemBytes(out);
  b.x.resize(m * k);
  b.xBytes.resize(m * k * xb);
  for (int64_t i = 0; i < m * k; ++i)
    b.x[i] = roundTo(xt, 3 * nonZero(rng), &b.xBytes[i * xb]);
  b.w.resize(k * nb);
  b.wBytes.resize(k * nb * eb);
  for (int64_t i = 0; i < k * nb; ++i)
    b.w[i] = roundTo(t, nonZero(rng) / std::sqrt(float(k)), &b.wBytes[i * eb]);
  b.bias.resize(nb);
  for (float &v : b.bias)
    v = nonZero(rng);
  b.res.resize(m * cols);
  b.resBytes.resize(m * cols * ob);
  for (int64_t i = 0; i < m * cols; ++i)
    b.res[i] = roundTo(out, nonZero(rng), &b.resBytes[i * ob]);
  b.outBytes.assign(m * cols * ob, 0xff);
  b.tmp.assign(m * (k + nb), 0.0f);
  b.scale.resize(k);
  std::uniform_real_distribution<float> g(0.25f, 2.0f);
  for (float &v : b.scale)
    v = g(rng);
  return b;
}

/// Calls the entry of b.t on b's buffers; returns the recorded kernel error.
/// With RMS the norm's scale b.scale is passed (scaleSize: another size).
tfc_status callEx(ExBufs &b, bool bias, bool residual, int64_t act,
                  int64_t flags, double eps, int64_t tmpCols = -1,
                  int64_t scaleSize = -1) {
  auto f = [](void *p) { return static_cast<float *>(p); };
  tfcrt_memref3_f32 x = {f(b.xBytes.data()),
                         f(b.xBytes.data()),
                         0,
                         {1, b.m, b.k},
                         {b.m * b.k, b.k, 1}};
  tfcrt_memref2_f32 w = {
      f(b.wBytes.data()), f(b.wBytes.data()), 0, {b.k, b.nb}, {b.nb, 1}};
  tfcrt_memref1_f32 bs = {
      b.bias.data(), b.bias.data(), 0, {bias ? b.nb : 0}, {1}};
  tfcrt_memref1_f32 sc = {b.scale.data(),
                          b.scale.data(),
                          0,
                          {scaleSize >= 0           ? scaleSize
                           : (flags & TFCRT_LX_RMS) ? b.k
                                                    : 0},
                          {1}};
  tfcrt_memref3_f32 r = {
      f(b.resBytes.data()),
      f(b.resBytes.data()),
      0,
      {residual ? 1 : 0, residual ? b.m : 0, residual ? b.cols : 0},
      {b.m * b.cols, b.cols, 1}};
  tfcrt_memref3_f32 o = {f(b.outBytes.data()),
                         f(b.outBytes.data()),
                         0,
                         {1, b.m, b.cols},
                         {b.m * b.cols, b.cols, 1}};
  const int64_t tc = tmpCols >= 0 ? tmpCols : b.k + b.nb;
  tfcrt_memref3_f32 tmp = {
      b.tmp.data(), b.tmp.data(), 0, {1, b.m, tc}, {b.m * tc, tc, 1}};
  switch (b.t) {
  case GemmType::F32:
    _mlir_ciface_tfcrt_gpu_linear_ex_f32(&x, &w, &bs, &sc, &r, &o, &tmp, 0, act,
                                         flags, eps);
    break;
  case GemmType::F16:
    _mlir_ciface_tfcrt_gpu_linear_ex_f16(&x, &w, &bs, &sc, &r, &o, &tmp, 0, act,
                                         flags, eps);
    break;
  case GemmType::BF16:
    _mlir_ciface_tfcrt_gpu_linear_ex_bf16(&x, &w, &bs, &sc, &r, &o, &tmp, 0,
                                          act, flags, eps);
    break;
  }
  std::string msg;
  return tfcrt::takeKernelError(msg);
}

/// The entry against a double reference: y = s_r (x w) (s_r exact, so the
/// rounding of x s_r to a half type is in the tolerance: u_T sum |x s w|),
/// then GLU or bias + residual and the activation, rounded to out.
void checkEx(GemmType t, int64_t m, int64_t k, int64_t cols, int64_t flags,
             int act, bool bias, bool residual, std::mt19937 &rng) {
  const bool rms = flags & TFCRT_LX_RMS, glu = flags & TFCRT_LX_GLU;
  const GemmType out = flags & TFCRT_LX_OUT_HALF ? t : GemmType::F32;
  const int64_t nb = glu ? 2 * cols : cols;
  SCOPED_TRACE("type " + std::to_string(int(t)) + " m " + std::to_string(m) +
               " k " + std::to_string(k) + " cols " + std::to_string(cols) +
               " flags " + std::to_string(flags) + " act " +
               std::to_string(act) + " seed " + std::to_string(testSeed()));
  ExBufs b = exInputs(t, out, m, k, nb, cols, rms, rng);
  const double eps = 1e-5;
  ASSERT_EQ(callEx(b, bias, residual, act, flags, eps), TFC_OK);
  const double uT = rms && t == GemmType::BF16  ? 1.0 / 256
                    : rms && t == GemmType::F16 ? 1.0 / 2048
                                                : 0.0;
  const double uOut = out == GemmType::BF16  ? 1.0 / 256
                      : out == GemmType::F16 ? 1.0 / 2048
                                             : 0.0;
  const size_t ob = tfcrt::cuda::elemBytes(out);
  int reported = 0;
  for (int64_t i = 0; i < m; ++i) {
    double s = 1;
    if (rms) {
      double ss = 0;
      for (int64_t q = 0; q < k; ++q)
        ss += double(b.x[i * k + q]) * b.x[i * k + q];
      s = 1 / std::sqrt(ss / k + eps);
    }
    std::vector<double> y(nb), ty(nb);
    for (int64_t j = 0; j < nb; ++j) {
      double acc = 0, mag = 0;
      for (int64_t q = 0; q < k; ++q) {
        // The norm's output x s scale (s applied below).
        const double xq = double(b.x[i * k + q]) * (rms ? b.scale[q] : 1.0f);
        acc += xq * b.w[q * nb + j];
        mag += std::fabs(xq * b.w[q * nb + j]);
      }
      y[j] = s * acc;
      ty[j] = (2.0 * (k + 3) * FLT_EPSILON + uT) * s * mag + 1e-6;
    }
    for (int64_t j = 0; j < cols; ++j) {
      double want, tol;
      if (glu) {
        const double g = y[j], u = y[cols + j], ag = exAct(act, g);
        want = ag * u;
        tol = 1.2 * std::fabs(u) * ty[j] + std::fabs(ag) * ty[cols + j] +
              1.2 * ty[j] * ty[cols + j];
      } else {
        double v = y[j], tv = ty[j];
        if (bias) {
          v += b.bias[j];
          tv += FLT_EPSILON * std::fabs(b.bias[j]);
        }
        want = exAct(act, v);
        tol = 1.2 * tv;
        if (residual) {
          want += b.res[i * cols + j];
          tol += 2 * FLT_EPSILON * std::fabs(b.res[i * cols + j]);
        }
      }
      tol += (4e-6 + uOut) * std::fabs(want);
      const double got =
          tfcrt::cuda::loadElem(out, &b.outBytes[(i * cols + j) * ob]);
      if (!(std::fabs(got - want) <= tol) && reported++ < 5)
        ADD_FAILURE() << "out[" << i << "][" << j << "] = " << got
                      << ", reference " << want << " (tolerance " << tol << ")";
    }
  }
}

TEST(GpuLinearEx, HostEmulation) {
  std::mt19937 rng(testSeed());
  const int silu = TFCRT_ACT_SILU, gelu = TFCRT_ACT_GELU,
            geluTanh = TFCRT_ACT_GELU_TANH, none = TFCRT_ACT_NONE;
  const int64_t rmsGlu = TFCRT_LX_RMS | TFCRT_LX_GLU;
  const GemmType bf16 = GemmType::BF16, f16 = GemmType::F16,
                 f32 = GemmType::F32;
  checkEx(bf16, 3, 40, 24, rmsGlu, silu, false, false, rng);
  checkEx(bf16, 3, 40, 24, rmsGlu | TFCRT_LX_OUT_HALF, geluTanh, false, false,
          rng);
  checkEx(f32, 2, 33, 20, rmsGlu, silu, false, false, rng);
  checkEx(f32, 2, 33, 16, TFCRT_LX_RMS, none, false, true, rng);
  checkEx(bf16, 4, 57, 16, TFCRT_LX_RMS, none, false, true, rng);
  checkEx(f16, 1, 64, 16, TFCRT_LX_RMS, geluTanh, true, false, rng);
  checkEx(bf16, 2, 31, 8, TFCRT_LX_GLU, gelu, false, false, rng);
  checkEx(f32, 5, 17, 12, 0, TFCRT_ACT_RELU, true, false, rng);
}

TEST(GpuLinearEx, RmsMatchesTheUnfusedPair) {
  // RMS + residual in bf16 against the norm (in f32 from the mean on, as
  // the kernels compute it), rounded to bf16, then tfcrt_gpu_linear_bf16.
  std::mt19937 rng(testSeed());
  const int64_t m = 3, k = 48, n = 16;
  const double eps = 1e-6;
  ExBufs b = exInputs(GemmType::BF16, GemmType::F32, m, k, n, n, true, rng);
  ASSERT_EQ(callEx(b, false, true, TFCRT_ACT_NONE, TFCRT_LX_RMS, eps), TFC_OK);
  std::vector<uint16_t> xn(m * k);
  for (int64_t i = 0; i < m; ++i) {
    double ss = 0;
    for (int64_t q = 0; q < k; ++q)
      ss += double(b.x[i * k + q]) * b.x[i * k + q];
    const float s =
        1.0f / std::sqrt(static_cast<float>(ss / k) + static_cast<float>(eps));
    for (int64_t q = 0; q < k; ++q)
      tfcrt::cuda::storeElem(GemmType::BF16, &xn[i * k + q],
                             b.x[i * k + q] * s * b.scale[q]);
  }
  std::vector<float> out(m * n, -1.0f);
  auto f = [](void *p) { return static_cast<float *>(p); };
  tfcrt_memref3_f32 x = {
      f(xn.data()), f(xn.data()), 0, {1, m, k}, {m * k, k, 1}};
  tfcrt_memref2_f32 w = {
      f(b.wBytes.data()), f(b.wBytes.data()), 0, {k, n}, {n, 1}};
  tfcrt_memref1_f32 bs = {b.bias.data(), b.bias.data(), 0, {0}, {1}};
  tfcrt_memref3_f32 r = {
      f(b.resBytes.data()), f(b.resBytes.data()), 0, {1, m, n}, {m * n, n, 1}};
  tfcrt_memref3_f32 o = {out.data(), out.data(), 0, {1, m, n}, {m * n, n, 1}};
  _mlir_ciface_tfcrt_gpu_linear_bf16(&x, &w, &bs, &r, &o, 0, TFCRT_ACT_NONE);
  EXPECT_EQ(std::memcmp(out.data(), b.outBytes.data(), out.size() * 4), 0)
      << "seed " << testSeed();
}

TEST(GpuLinearEx, Refusals) {
  std::mt19937 rng(testSeed());
  // OUT_HALF with f32 weights, an unknown flag, GLU with a bias, SiLU
  // without GLU, a residual after an activation.
  ExBufs f = exInputs(GemmType::F32, GemmType::F32, 2, 8, 8, 8, false, rng);
  EXPECT_EQ(callEx(f, false, false, 0, TFCRT_LX_OUT_HALF, 1e-5),
            TFC_ERR_UNSUPPORTED);
  EXPECT_EQ(callEx(f, false, false, 0, 8, 1e-5), TFC_ERR_UNSUPPORTED);
  EXPECT_EQ(callEx(f, false, false, TFCRT_ACT_SILU, 0, 1e-5),
            TFC_ERR_UNSUPPORTED);
  EXPECT_EQ(callEx(f, false, true, TFCRT_ACT_RELU, 0, 1e-5),
            TFC_ERR_UNSUPPORTED);
  ExBufs g = exInputs(GemmType::BF16, GemmType::F32, 2, 8, 16, 8, true, rng);
  EXPECT_EQ(
      callEx(g, true, false, TFCRT_ACT_SILU, TFCRT_LX_RMS | TFCRT_LX_GLU, 1e-5),
      TFC_ERR_UNSUPPORTED);
  // Shapes: out's columns not N / 2 with GLU, an odd N, tmp too small.
  EXPECT_EQ(callEx(g, false, false, TFCRT_ACT_NONE, TFCRT_LX_RMS, 1e-5),
            TFC_ERR_SHAPE); // out has 8 columns, w 16
  ExBufs odd = exInputs(GemmType::BF16, GemmType::F32, 2, 8, 15, 7, true, rng);
  EXPECT_EQ(callEx(odd, false, false, TFCRT_ACT_SILU,
                   TFCRT_LX_RMS | TFCRT_LX_GLU, 1e-5),
            TFC_ERR_SHAPE);
  EXPECT_EQ(callEx(g, false, false, TFCRT_ACT_SILU, TFCRT_LX_RMS | TFCRT_LX_GLU,
                   1e-5, 8 + 16 - 1),
            TFC_ERR_SHAPE);
  // A norm scale of the wrong size, or without RMS; a half result without
  // GLU (cuBLASLt has no half result with a bias + GELU epilogue).
  EXPECT_EQ(callEx(g, false, false, TFCRT_ACT_SILU, TFCRT_LX_RMS | TFCRT_LX_GLU,
                   1e-5, -1, 7),
            TFC_ERR_SHAPE);
  EXPECT_EQ(callEx(g, false, false, TFCRT_ACT_SILU, TFCRT_LX_GLU, 1e-5, -1, 8),
            TFC_ERR_SHAPE);
  ExBufs h = exInputs(GemmType::BF16, GemmType::BF16, 2, 8, 8, 8, true, rng);
  EXPECT_EQ(callEx(h, false, false, TFCRT_ACT_NONE,
                   TFCRT_LX_RMS | TFCRT_LX_OUT_HALF, 1e-5),
            TFC_ERR_UNSUPPORTED);
  // The same call with the whole tmp is fine.
  EXPECT_EQ(callEx(g, false, false, TFCRT_ACT_SILU, TFCRT_LX_RMS | TFCRT_LX_GLU,
                   1e-5),
            TFC_OK);
}

} // namespace
