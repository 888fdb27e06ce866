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
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
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

} // namespace
