//===- NormTest.cpp - layer / RMS norm kernels against the reference -----===//
//
// Every ISA level (called directly, whatever TFCRT_ISA says) is compared with
// the generic level, and the generic level with the contract in double
// precision, on odd shapes (rows 1, 3, 17; n 1, 7, 31, 384, 1000: every tail
// length of both vector widths, one full row of MiniLM, one past a multiple
// of 64) with rows inside larger buffers and output padding that must stay
// untouched. Fresh random data per run (the seed is printed).
//
// Tolerance: y = z * gamma + beta with z = (x - mean) / sigma. The f32 sums
// (sequential in the generic level, 4 x 8 or 4 x 16 partial sums in the
// others) differ from the exact ones by about u * sqrt(n^3 / 3) * |mean|
// for random data (u = 6e-8; x in [0, 2]: ~6e-7 of the mean at n = 1000),
// which moves z by ~1e-6 (and by |z| times that through the variance); the
// last multiply-adds add a few ulps of |y|. We require |y - ref| <=
// 2e-5 * (|gamma| * (1 + |z|) + |beta|), ten times that. A missed tail
// element or a wrong stride moves the mean by ~|x| / n >= 1e-3 of sigma,
// and z by as much: far above the bound.
//
//===----------------------------------------------------------------------===//

#include "Norm/Norm.h"
#include "Internal.h"
#include "Isa.h"
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace tfcrt;
using namespace tfcrt::norm;

namespace {

constexpr float kSentinel = 12345.0f;
constexpr double kTol = 2e-5;

unsigned testSeed() {
  static const unsigned seed = std::random_device{}();
  return seed;
}

const Kernels &kernelsFor(isa::Level level) {
  return isa::byLevel(level, kernelsGeneric(), kernelsAvx2(), kernelsAvx512());
}

/// One problem: x rows inside a buffer with row stride n + 5 (column
/// stride `cs`), y likewise, padding set to kSentinel.
struct Problem {
  int64_t rows, n, cs;
  bool rms, hasBeta;
  std::vector<float> x, gamma, beta, y;
  Params p;

  Problem(int64_t rows, int64_t n, bool rms, bool hasBeta, std::mt19937 &rng,
          int64_t cs = 1)
      : rows(rows), n(n), cs(cs), rms(rms), hasBeta(hasBeta) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const int64_t rs = n * cs + 5;
    x.assign(rows * rs, kSentinel);
    y.assign(rows * rs, kSentinel);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) // off-centre: the mean matters
        x[r * rs + j * cs] = 1.0f + u(rng) * (1.0f + 0.5f * (r % 3));
    gamma.resize(n);
    beta.resize(n);
    for (int64_t j = 0; j < n; ++j) {
      gamma[j] = 1.0f + 0.5f * u(rng);
      beta[j] = u(rng);
    }
    p.rows = rows;
    p.n = n;
    p.x = x.data();
    p.xs[0] = rs;
    p.xs[1] = cs;
    p.gamma = gamma.data();
    p.gs = 1;
    p.beta = hasBeta && !rms ? beta.data() : nullptr;
    p.bs = 1;
    p.y = y.data();
    p.ys[0] = rs;
    p.ys[1] = cs;
    p.eps = 1e-5f;
    p.rms = rms;
  }

  float at(const std::vector<float> &v, int64_t r, int64_t j) const {
    return v[r * p.xs[0] + j * cs];
  }

  std::string str() const {
    return "rows " + std::to_string(rows) + " n " + std::to_string(n) + " cs " +
           std::to_string(cs) + " rms " + std::to_string(rms) + " beta " +
           std::to_string(p.beta != nullptr) + " seed " +
           std::to_string(testSeed());
  }

  /// z[r][j] in double (the contract literally).
  std::vector<double> oracleZ() const {
    std::vector<double> z(rows * n);
    for (int64_t r = 0; r < rows; ++r) {
      double mean = 0, sq = 0;
      if (!rms) {
        for (int64_t j = 0; j < n; ++j)
          mean += at(x, r, j);
        mean /= n;
      }
      for (int64_t j = 0; j < n; ++j)
        sq += (at(x, r, j) - mean) * (at(x, r, j) - mean);
      const double inv = 1.0 / std::sqrt(sq / n + p.eps);
      for (int64_t j = 0; j < n; ++j)
        z[r * n + j] = (at(x, r, j) - mean) * inv;
    }
    return z;
  }

  /// Compares y with `ref` (values per [rows, n], row-major) and checks
  /// that nothing outside y's view was written.
  void check(const std::vector<double> &ref, const std::vector<double> &z,
             const std::string &what) const {
    int bad = 0;
    double worst = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) {
        const double got = at(y, r, j), want = ref[r * n + j];
        const double zz = std::fabs(z[r * n + j]);
        const double tol = kTol * (std::fabs(gamma[j]) * (1 + zz) +
                                   (p.beta ? std::fabs(beta[j]) : 0.0));
        worst = std::max(worst, std::fabs(got - want) / tol);
        if (!(std::fabs(got - want) <= tol) && bad++ < 5)
          ADD_FAILURE() << what << " " << str() << ": y[" << r << "][" << j
                        << "] = " << got << ", expected " << want;
      }
    EXPECT_EQ(bad, 0) << what << " " << str();
    EXPECT_LE(worst, 1.0) << what << " " << str();
    std::vector<char> inside(y.size(), 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j)
        inside[r * p.ys[0] + j * cs] = 1;
    int outside = 0;
    for (size_t i = 0; i < y.size(); ++i)
      if (!inside[i] && y[i] != kSentinel)
        ++outside;
    EXPECT_EQ(outside, 0) << what << " " << str() << ": written outside y";
  }

  std::vector<double> yAsDouble() const {
    std::vector<double> out(rows * n);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j)
        out[r * n + j] = at(y, r, j);
    return out;
  }

  void resetY() { std::fill(y.begin(), y.end(), kSentinel); }
};

class NormTest : public ::testing::TestWithParam<isa::Level> {
protected:
  void SetUp() override {
    if (!isa::supported(GetParam()))
      GTEST_SKIP() << isa::name(GetParam()) << " not supported on this CPU";
    tfc_set_num_threads(3);
  }
  void TearDown() override { tfc_set_num_threads(0); }
  const Kernels &ks() const { return kernelsFor(GetParam()); }
  std::mt19937 rng{testSeed()};
};

TEST_P(NormTest, MatchesGenericAndOracle) {
  for (bool rms : {false, true})
    for (bool hasBeta : {true, false}) {
      if (rms && !hasBeta)
        continue;
      for (int64_t rows : {1, 3, 17})
        for (int64_t n : {1, 7, 31, 384, 1000}) {
          Problem pr(rows, n, rms, hasBeta, rng);
          const std::vector<double> z = pr.oracleZ();
          std::vector<double> want(rows * n);
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < n; ++j)
              want[r * n + j] =
                  z[r * n + j] * pr.gamma[j] + (pr.p.beta ? pr.beta[j] : 0.0);
          // The generic level against the contract.
          run(pr.p, kernelsGeneric());
          pr.check(want, z, "generic vs oracle");
          const std::vector<double> generic = pr.yAsDouble();
          // This level against the generic one: through run() (threads)
          // and as one call of the level's function.
          pr.resetY();
          run(pr.p, ks());
          pr.check(generic, z, std::string(ks().name) + " vs generic");
          pr.resetY();
          ks().rows(pr.p, 0, rows);
          pr.check(generic, z, std::string(ks().name) + " rows()");
        }
    }
}

TEST_P(NormTest, NonUnitStrideTakesGeneric) {
  Problem pr(5, 33, false, true, rng, /*cs=*/2);
  const std::vector<double> z = pr.oracleZ();
  std::vector<double> want(pr.rows * pr.n);
  for (int64_t r = 0; r < pr.rows; ++r)
    for (int64_t j = 0; j < pr.n; ++j)
      want[r * pr.n + j] = z[r * pr.n + j] * pr.gamma[j] + pr.beta[j];
  run(pr.p, ks());
  pr.check(want, z, std::string(ks().name) + " strided");
}

INSTANTIATE_TEST_SUITE_P(Levels, NormTest,
                         ::testing::Values(isa::Level::Generic,
                                           isa::Level::Avx2,
                                           isa::Level::Avx512),
                         [](const auto &info) {
                           return std::string(isa::name(info.param));
                         });

tfcrt_memref2_f32 desc2(std::vector<float> &v, int64_t rows, int64_t n) {
  return {v.data(), v.data(), 0, {rows, n}, {n, 1}};
}
tfcrt_memref1_f32 desc1(std::vector<float> &v, int64_t n) {
  return {v.data(), v.data(), 0, {n}, {1}};
}

TEST(NormEntry, LayerAndRms) {
  std::mt19937 rng(testSeed());
  for (bool rms : {false, true}) {
    Problem pr(17, 384, rms, true, rng);
    run(pr.p, kernelsBest());
    const std::vector<double> want = pr.yAsDouble();
    // Contiguous copies through the C entry.
    std::vector<float> x(pr.rows * pr.n), y(x.size(), kSentinel);
    for (int64_t r = 0; r < pr.rows; ++r)
      for (int64_t j = 0; j < pr.n; ++j)
        x[r * pr.n + j] = pr.at(pr.x, r, j);
    auto xd = desc2(x, pr.rows, pr.n), yd = desc2(y, pr.rows, pr.n);
    auto gd = desc1(pr.gamma, pr.n), bd = desc1(pr.beta, pr.n);
    if (rms)
      _mlir_ciface_tfcrt_rms_norm_f32(&xd, &gd, &yd, 1e-5f);
    else
      _mlir_ciface_tfcrt_layer_norm_f32(&xd, &gd, &bd, &yd, 1e-5f);
    std::string msg;
    EXPECT_EQ(takeKernelError(msg), TFC_OK) << msg;
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_EQ(y[i], static_cast<float>(want[i])) << "element " << i;
  }
}

TEST(NormEntry, NoBetaMeansNone) {
  std::vector<float> x = {1, 2, 3, 4}, g = {1, 1}, y(4), none;
  auto xd = desc2(x, 2, 2), yd = desc2(y, 2, 2);
  auto gd = desc1(g, 2);
  auto bd = desc1(none, 0);
  _mlir_ciface_tfcrt_layer_norm_f32(&xd, &gd, &bd, &yd, 0.0f);
  std::string msg;
  ASSERT_EQ(takeKernelError(msg), TFC_OK) << msg;
  EXPECT_FLOAT_EQ(y[0], -1.0f);
  EXPECT_FLOAT_EQ(y[1], 1.0f);
  EXPECT_FLOAT_EQ(y[3], 1.0f);
}

TEST(NormEntry, MismatchFailsTheRun) {
  std::vector<float> x(6, 1.0f), g(2, 1.0f), b(3, 0.0f), y(6, 0.0f);
  auto xd = desc2(x, 2, 3), yd = desc2(y, 2, 3);
  auto gd = desc1(g, 2);
  auto bd = desc1(b, 3);
  _mlir_ciface_tfcrt_layer_norm_f32(&xd, &gd, &bd, &yd, 1e-5f);
  std::string msg;
  EXPECT_EQ(takeKernelError(msg), TFC_ERR_INTERNAL);
  EXPECT_NE(msg.find("gamma is not [n]"), std::string::npos) << msg;
  for (float v : y)
    EXPECT_TRUE(std::isnan(v));
}

} // namespace
