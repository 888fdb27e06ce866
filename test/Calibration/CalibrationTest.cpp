//===- CalibrationTest.cpp - the calibration library and GPTQ ------------===//
//
// Statistics of known inputs are exact (min / max / rows / squared norms /
// Hessian against a direct sum; the histogram keeps every value when its
// range doubles); the stats file round-trips; the damped inverse Cholesky
// factor satisfies U^T U (H + damp) = I; GPTQ on a small random layer with
// correlated inputs has a smaller output error ||XW - XQ||_F than
// round-to-nearest on the same grid, with and without act-order; SparseGPT
// prunes exactly the requested share per block / keeps the N:M pattern and
// has a smaller output error than the same mask without reconstruction.
//
//===----------------------------------------------------------------------===//
#include "Gptq.h"
#include "QuantMath.h"
#include "tfc/Calibration/Hessian.h"
#include "tfc/Calibration/SparseGpt.h"
#include "tfc/Calibration/Stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

using namespace tfc::calib;
using namespace mlir::tfc::quant;

namespace {

std::vector<float> randn(size_t n, uint32_t seed, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

TEST(CalibStats, KnownInputIsExact) {
  const int64_t k = 3;
  // rows: (1, -2, 0.5), (4, 0, -1), (-3, 2, 2)
  std::vector<float> x = {1, -2, 0.5f, 4, 0, -1, -3, 2, 2};
  TensorStats s("t", {"a", "b"}, k, /*hessian=*/true);
  s.add(x.data(), 2);
  s.add(x.data() + 6, 1);
  EXPECT_EQ(s.rows, 3);
  EXPECT_EQ(s.min, -3.0);
  EXPECT_EQ(s.max, 4.0);
  EXPECT_EQ(s.channelSq, (std::vector<double>{26, 8, 5.25}));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) {
      double want = 0;
      for (int r = 0; r < 3; ++r)
        want += double(x[r * k + i]) * x[r * k + j];
      EXPECT_EQ(s.hessian[i * k + j], want) << i << "," << j;
    }
  // Every value is in the histogram (the range doubled from 2 to 4).
  uint64_t total = 0;
  for (uint64_t c : s.histogram)
    total += c;
  EXPECT_EQ(total, 9u);
  EXPECT_EQ(s.range, 4.0);
  EXPECT_EQ(s.clip("minmax"), 4.0);
  EXPECT_LE(s.clip("mse"), 4.0);
  EXPECT_GT(s.clip("mse"), 0.0);
}

TEST(CalibStats, PercentilesOfAUniformRamp) {
  // |x| = 0.0001 * i for i in [1, 10000]: the p-quantile of |x| is ~p.
  const int64_t k = 1;
  std::vector<float> x(10000);
  for (int i = 0; i < 10000; ++i)
    x[i] = (i % 2 ? 1.0f : -1.0f) * 0.0001f * float(i + 1);
  TensorStats s("t", {"t"}, k, false);
  s.add(x.data(), 10000);
  double w = s.range / (kHistogramBins / 2); // one |x| bin
  EXPECT_NEAR(s.absPercentile(0.5), 0.5, 2 * w);
  EXPECT_NEAR(s.clip("p99.9"), 0.999, 2 * w);
  EXPECT_NEAR(s.clip("p99.99"), 0.9999, 2 * w);
  // Uniform data has no outliers worth clipping: MSE keeps almost all.
  EXPECT_GT(s.clip("mse"), 0.95);
}

TEST(CalibStats, MseClipsAHeavyTail) {
  // Laplace data: the squared error of int8 steps over the whole range
  // exceeds that of clipping the sparse far tail, so the MSE threshold
  // lies below max|x| (and far above the bulk).
  std::mt19937 rng(3);
  std::exponential_distribution<float> e(1.0f);
  std::vector<float> x(200000);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = (i % 2 ? 1.0f : -1.0f) * e(rng);
  TensorStats s("t", {"t"}, 1, false);
  s.add(x.data(), static_cast<int64_t>(x.size()));
  std::printf("laplace: minmax %.3f mse %.3f p99.99 %.3f\n", s.clip("minmax"),
              s.clip("mse"), s.clip("p99.99"));
  EXPECT_LT(s.clip("mse"), 0.95 * s.clip("minmax"));
  EXPECT_GT(s.clip("mse"), s.absPercentile(0.99));
  // A single far outlier is kept: clipping it costs more than coarser
  // steps for everything else.
  std::vector<float> y = randn(20000, 3);
  y[17] = 100.0f;
  TensorStats o("o", {"o"}, 1, false);
  o.add(y.data(), 20000);
  EXPECT_EQ(o.clip("minmax"), 100.0);
  EXPECT_LT(o.clip("p99.99"), 10.0);
}

TEST(CalibStats, FileRoundTrip) {
  std::vector<float> x = randn(40 * 6, 5);
  std::vector<TensorStats> ts;
  ts.emplace_back("x", std::vector<std::string>{"q", "k"}, 6, true);
  ts.emplace_back("h", std::vector<std::string>{"down"}, 3, false);
  ts[0].add(x.data(), 40);
  ts[1].add(x.data(), 80);
  std::string path = ::testing::TempDir() + "/calib-roundtrip.json", error;
  ASSERT_TRUE(writeStats(path, "m", 7, ts, error)) << error;
  StatsFile f;
  ASSERT_TRUE(f.load(path, error)) << error;
  EXPECT_EQ(f.samples, 7);
  ASSERT_EQ(f.tensors().size(), 2u);
  const TensorRecord *r = f.forOp("k");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->name, "x");
  EXPECT_EQ(r->rows, 40);
  EXPECT_EQ(r->min, ts[0].min);
  EXPECT_EQ(r->clip.at("mse"), ts[0].clip("mse"));
  const double *h = f.hessian(*r);
  ASSERT_NE(h, nullptr);
  for (int i = 0; i < 36; ++i)
    EXPECT_EQ(h[i], ts[0].hessian[i]);
  const double *n = f.channelSqNorms(*f.forOp("down"));
  ASSERT_NE(n, nullptr);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(n[i], ts[1].channelSq[i]);
  EXPECT_EQ(f.hessian(*f.forOp("down")), nullptr);
  EXPECT_EQ(f.forOp("nope"), nullptr);
  std::remove(path.c_str());
  std::remove((path + ".bin").c_str());
}

TEST(CalibHessian, InverseCholeskyFactor) {
  const int64_t k = 12;
  std::vector<float> x = randn(50 * k, 9);
  std::vector<double> h(k * k, 0.0);
  for (int r = 0; r < 50; ++r)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        h[i * k + j] += double(x[r * k + i]) * x[r * k + j];
  std::vector<double> damped = h, u = h;
  double mean = 0;
  for (int64_t i = 0; i < k; ++i)
    mean += h[i * k + i] / k;
  for (int64_t i = 0; i < k; ++i)
    damped[i * k + i] += 0.01 * mean;
  std::vector<char> dead;
  std::string error;
  ASSERT_TRUE(invertedCholeskyUpper(u, k, 0.01, dead, error)) << error;
  // (U^T U) damped = I.
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) {
      double v = 0;
      for (int64_t t = 0; t < k; ++t) {
        double inv = 0; // (U^T U)[i][t]
        for (int64_t s = 0; s <= std::min(i, t); ++s)
          inv += u[s * k + i] * u[s * k + t];
        v += inv * damped[t * k + j];
      }
      EXPECT_NEAR(v, i == j ? 1.0 : 0.0, 1e-9);
    }
  for (int64_t i = 1; i < k; ++i)
    EXPECT_EQ(u[i * k + 0], 0.0); // upper triangular
}

/// ||X W - X deq(Q)||_F^2 for X [rows, k], W [k, n].
double outputError(const std::vector<float> &x, int64_t rows,
                   const std::vector<float> &w, const QuantizedWeight &q,
                   int64_t group) {
  std::vector<float> d = dequantize(q, group);
  int64_t k = q.k, n = q.n;
  double err = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double a = 0, b = 0;
      for (int64_t i = 0; i < k; ++i) {
        a += double(x[r * k + i]) * w[i * n + j];
        b += double(x[r * k + i]) * d[i * n + j];
      }
      err += (a - b) * (a - b);
    }
  return err;
}

struct Layer {
  int64_t k = 64, n = 48, rows = 512;
  std::vector<float> x, w;
  std::vector<double> h;
  Layer() {
    // Correlated inputs with unequal scales (as real activations are).
    std::vector<float> z = randn(rows * k, 11), mix = randn(k * k, 12, 0.3f);
    x.assign(rows * k, 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < k; ++j) {
        float v = z[r * k + j] * (1.0f + float(j % 7));
        for (int64_t t = 0; t < k; ++t)
          v += z[r * k + t] * mix[t * k + j];
        x[r * k + j] = v;
      }
    w = randn(k * n, 13, 0.05f);
    h.assign(k * k, 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j)
          h[i * k + j] += double(x[r * k + i]) * x[r * k + j];
  }
};

void expectGptqBeatsRtn(int64_t bits, int64_t group, bool symmetric,
                        bool actOrder, bool transposed) {
  Layer l;
  std::vector<float> w = l.w; // [k, n]
  std::vector<float> src = w;
  if (transposed) { // [n, k]
    for (int64_t i = 0; i < l.k; ++i)
      for (int64_t j = 0; j < l.n; ++j)
        src[j * l.k + i] = w[i * l.n + j];
  }
  QuantizedWeight rtn = roundToNearest(src.data(), l.k, l.n, transposed, bits,
                                       group, symmetric, Grid::WeightOnly);
  GptqOptions o;
  o.actOrder = actOrder;
  o.block = 16; // several blocks
  std::string error;
  std::optional<QuantizedWeight> g =
      gptq(src.data(), l.k, l.n, transposed, l.h.data(), bits, group,
           symmetric, Grid::WeightOnly, o, error);
  ASSERT_TRUE(g) << error;
  EXPECT_EQ(g->groups, rtn.groups);
  EXPECT_EQ(g->zeros.size(), rtn.zeros.size());
  double eR = outputError(l.x, l.rows, w, rtn, group);
  double eG = outputError(l.x, l.rows, w, *g, group);
  std::printf("gptq/rtn error %.3f\n", eG / eR);
  EXPECT_LT(eG, 0.8 * eR) << "bits " << bits << " group " << group
                          << " sym " << symmetric << " act-order "
                          << actOrder;
}

TEST(Gptq, BeatsRoundToNearestW4Group32Asym) {
  expectGptqBeatsRtn(4, 32, false, false, false);
}
TEST(Gptq, BeatsRoundToNearestW4PerChannelSym) {
  expectGptqBeatsRtn(4, 0, true, false, false);
}
TEST(Gptq, BeatsRoundToNearestW4ActOrder) {
  expectGptqBeatsRtn(4, 32, false, true, false);
}
TEST(Gptq, BeatsRoundToNearestW8TransposedWeight) {
  expectGptqBeatsRtn(8, 0, true, false, true);
}

TEST(Gptq, DeadInputsGetZeroWeights) {
  // Feature 2 is never active: its weights become 0 (they never matter).
  const int64_t k = 4, n = 3;
  std::vector<float> w = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::vector<double> h(k * k, 0.0);
  for (int64_t i : {0, 1, 3})
    h[i * k + i] = 2.0;
  std::string error;
  auto q = gptq(w.data(), k, n, false, h.data(), 8, 0, true,
                Grid::Int8Kernel, GptqOptions(), error);
  ASSERT_TRUE(q) << error;
  for (int64_t j = 0; j < n; ++j)
    EXPECT_EQ(q->codes[2 * n + j], 0);
}

// The grid search (QuantMath.h chooseGrid): candidate p = 1 is min / max,
// so a search never does worse than min / max on its own measure. With an
// outlier in a group of small weights, a Hessian weight that says its
// feature does not matter makes the search clip it (a finer grid for the
// rest), and one that says it matters most keeps it on the grid.
TEST(QuantGrid, SearchClipsOutliersOnlyWhereTheHessianAllows) {
  const std::vector<float> vf = randn(64, 31, 0.02f);
  std::vector<double> v(vf.begin(), vf.end());
  v[9] = 0.5; // the outlier
  const auto mm = chooseGrid(v.data(), 64, 1, nullptr, 4, false,
                             Grid::WeightOnly, Clip::MinMax);
  double mn = 0, mx = 0;
  for (double x : v)
    mn = std::min(mn, x), mx = std::max(mx, x);
  const auto ref = gridFor(mn, mx, std::max(-mn, mx), 4, false,
                           Grid::WeightOnly);
  EXPECT_EQ(mm.scale, ref.scale);
  EXPECT_EQ(mm.zero, ref.zero);
  auto err = [&](const GroupGrid &g, const double *d, double e) {
    double s = 0;
    for (int i = 0; i < 64; ++i) {
      double r = std::fabs(g.value(g.code(v[i])) - v[i]);
      s += (d ? d[i] : 1.0) * std::pow(r, e);
    }
    return s;
  };
  const auto mse = chooseGrid(v.data(), 64, 1, nullptr, 4, false,
                              Grid::WeightOnly, Clip::Mse);
  EXPECT_LE(mse.scale, mm.scale);
  EXPECT_LE(err(mse, nullptr, 2.4), err(mm, nullptr, 2.4));
  std::vector<double> heavy(64, 1.0), light(64, 1.0);
  heavy[9] = 1e6; // the outlier's feature matters most
  light[9] = 1e-6;
  const auto gh = chooseGrid(v.data(), 64, 1, heavy.data(), 4, false,
                             Grid::WeightOnly, Clip::HMse);
  const auto gl = chooseGrid(v.data(), 64, 1, light.data(), 4, false,
                             Grid::WeightOnly, Clip::HMse);
  EXPECT_LE(err(gh, heavy.data(), 2.0), err(mm, heavy.data(), 2.0));
  EXPECT_LE(err(gl, light.data(), 2.0), err(mm, light.data(), 2.0));
  EXPECT_LT(std::fabs(gh.value(gh.code(v[9])) - v[9]), 0.02);
  EXPECT_LT(gl.scale, 0.8 * mm.scale); // the outlier clipped
  EXPECT_GT(std::fabs(gl.value(gl.code(v[9])) - v[9]), 0.1);
  // Every code on the grid, whatever the clip.
  for (const GroupGrid *g : {&mm, &mse, &gh, &gl})
    for (double x : v) {
      const double c = g->code(x);
      EXPECT_GE(c, 0.0);
      EXPECT_LE(c, 15.0);
    }
}

// GPTQ with the Hessian-weighted grid against round-to-nearest on the same
// grid search: the error feedback still pays.
TEST(Gptq, HmseGridBeatsRoundToNearestWithIt) {
  Layer l;
  std::vector<double> diag(l.k);
  for (int64_t i = 0; i < l.k; ++i)
    diag[i] = l.h[i * l.k + i];
  QuantizedWeight rtn =
      roundToNearest(l.w.data(), l.k, l.n, false, 4, 32, false,
                     Grid::WeightOnly, Clip::HMse, diag.data());
  QuantizedWeight rtnMm = roundToNearest(l.w.data(), l.k, l.n, false, 4, 32,
                                         false, Grid::WeightOnly);
  GptqOptions o;
  o.block = 16;
  o.clip = Clip::HMse;
  std::string error;
  auto g = gptq(l.w.data(), l.k, l.n, false, l.h.data(), 4, 32, false,
                Grid::WeightOnly, o, error);
  ASSERT_TRUE(g) << error;
  double eR = outputError(l.x, l.rows, l.w, rtn, 32);
  double eMm = outputError(l.x, l.rows, l.w, rtnMm, 32);
  double eG = outputError(l.x, l.rows, l.w, *g, 32);
  std::printf("rtn-hmse/rtn %.3f gptq-hmse/rtn-hmse %.3f\n", eR / eMm,
              eG / eR);
  EXPECT_LT(eR, eMm); // the weighted search alone helps the output
  EXPECT_LT(eG, 0.8 * eR);
}

/// ||X (W - V)||_F^2 for X [rows, k], W and V [k, n] (V in double).
double sparseError(const Layer &l, const std::vector<double> &v) {
  double err = 0;
  for (int64_t r = 0; r < l.rows; ++r)
    for (int64_t j = 0; j < l.n; ++j) {
      double a = 0;
      for (int64_t i = 0; i < l.k; ++i)
        a += double(l.x[r * l.k + i]) * (l.w[i * l.n + j] - v[i * l.n + j]);
      err += a * a;
    }
  return err;
}

void expectSparseGptBeatsMask(int64_t nKeep, int64_t m) {
  Layer l;
  std::vector<double> w(l.w.begin(), l.w.end());
  SparseGptOptions o;
  o.sparsity = 0.5;
  o.nKeep = nKeep;
  o.m = m;
  o.block = 16; // four blocks
  std::string error;
  ASSERT_TRUE(sparseGpt(w, l.k, l.n, l.h.data(), o, error)) << error;
  std::vector<double> masked(l.w.size());
  int64_t zeros = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    masked[i] = w[i] == 0 ? 0.0 : l.w[i];
    zeros += w[i] == 0;
  }
  EXPECT_EQ(zeros, l.k * l.n / 2);
  if (m)
    for (int64_t j = 0; j < l.n; ++j)
      for (int64_t g = 0; g < l.k; g += m) {
        int64_t nz = 0;
        for (int64_t i = g; i < g + m; ++i)
          nz += w[i * l.n + j] != 0;
        EXPECT_LE(nz, nKeep);
      }
  double eS = sparseError(l, w), eM = sparseError(l, masked);
  std::printf("sparsegpt/mask-only error %.3f\n", eS / eM);
  EXPECT_LT(eS, 0.9 * eM);
}

TEST(SparseGpt, Unstructured50BeatsItsMaskAlone) {
  expectSparseGptBeatsMask(0, 0);
}
TEST(SparseGpt, TwoFourBeatsItsMaskAlone) { expectSparseGptBeatsMask(2, 4); }

TEST(SparseGpt, RefusesBadNm) {
  std::vector<double> w(8 * 2, 1.0), h(8 * 8, 0.0);
  for (int64_t i = 0; i < 8; ++i)
    h[i * 8 + i] = 1.0;
  SparseGptOptions o;
  o.nKeep = 4;
  o.m = 2;
  std::string error;
  EXPECT_FALSE(sparseGpt(w, 8, 2, h.data(), o, error));
  EXPECT_NE(error.find("0 < N < M"), std::string::npos);
}

} // namespace
