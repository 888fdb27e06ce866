//===- GptqReferenceTest.cpp - GPTQ against a textbook reference ---------===//
//
// lib/Transforms/Gptq.cpp (blocked, lazy updates through the upper Cholesky
// factor of H^-1, lib/Calibration/Hessian.cpp) must compute the same codes,
// scales and zero points as GPTQ written the slow, obvious way, here: the
// damped H^-1 by Gauss-Jordan, rows quantized one at a time, each row's
// error fed into every row not yet quantized through H^-1's column, then
// that row eliminated from H^-1 (OBS, Frantar et al. 2022, eq. 3); without
// act-order a group's scale / zero point come from its rows *as updated so
// far*, when its first row is reached; with act-order ("static groups")
// from the original weights. The grid (asymmetric: [min(w,0), max(w,0)] on
// 0..2^b-1, zero = round(-min / scale); symmetric weight-only: scale =
// 2 max|w| / (2^b - 1) on -2^(b-1)..2^(b-1)-1) is written out again here,
// so a GPTQ that rounded on one grid and stored another (what the W4
// kernels dequantize) fails too: its dequantized loss would not match.
//
//===----------------------------------------------------------------------===//
#include "Gptq.h"
#include "QuantMath.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

using namespace mlir::tfc::quant;

namespace {

/// A layer whose inputs are correlated, of unequal scales, with two dead
/// features: H = X^T X [k, k], W [k, n] with a few large weights.
struct RefLayer {
  int64_t k = 96, n = 24, rows = 400;
  std::vector<float> w;
  std::vector<double> h;
  RefLayer() {
    std::mt19937 rng(21);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> z(rows * k), mix(k * k), x(rows * k, 0.0f);
    for (float &v : z)
      v = nd(rng);
    for (float &v : mix)
      v = 0.25f * nd(rng);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < k; ++j) {
        if (j == 5 || j == 70)
          continue; // dead inputs
        float v = z[r * k + j] * (1.0f + float(j % 5));
        for (int64_t t = 0; t < k; ++t)
          v += z[r * k + t] * mix[t * k + j];
        x[r * k + j] = v;
      }
    w.resize(k * n);
    for (float &v : w)
      v = 0.05f * nd(rng);
    for (int64_t i = 0; i < 8; ++i)
      w[(i * 37 % k) * n + i * 5 % n] *= 6.0f; // outliers
    h.assign(k * k, 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j)
          h[i * k + j] += double(x[r * k + i]) * x[r * k + j];
  }
};

/// One group's grid, written out independently of QuantMath.
struct RefGrid {
  float scale = 1;
  double zero = 0, lo = 0, hi = 0;
  RefGrid(const std::vector<double> &v, int64_t bits, bool symmetric) {
    double mn = 0, mx = 0;
    for (double x : v) {
      mn = std::min(mn, x);
      mx = std::max(mx, x);
    }
    double levels = double((1 << bits) - 1), s;
    if (symmetric) {
      s = 2 * std::max(-mn, mx) / levels;
      lo = -double(1 << (bits - 1));
      hi = double((1 << (bits - 1)) - 1);
    } else {
      s = (mx - mn) / levels;
      lo = 0;
      hi = levels;
    }
    if (!(s > 0))
      s = 1;
    if (!symmetric)
      zero = std::clamp(std::nearbyint(-mn / s), lo, hi);
    scale = float(s);
  }
  double code(double v) const {
    return std::clamp(std::nearbyint(double(float(v)) / scale) + zero, lo, hi);
  }
  double value(double c) const { return (c - zero) * scale; }
};

struct RefResult {
  std::vector<int32_t> codes; // [k, n]
  std::vector<float> scales;  // [groups, n]
  std::vector<double> deq;    // [k, n]
};

RefResult referenceGptq(const RefLayer &l, int64_t bits, int64_t group,
                        bool symmetric, bool actOrder, double damp) {
  const int64_t k = l.k, n = l.n, g = group > 0 ? group : k;
  const int64_t groups = (k + g - 1) / g;
  std::vector<double> w(l.w.begin(), l.w.end()), a = l.h;
  double mean = 0;
  for (int64_t i = 0; i < k; ++i) {
    if (a[i * k + i] == 0) {
      a[i * k + i] = 1;
      std::fill(w.begin() + i * n, w.begin() + (i + 1) * n, 0.0);
    }
    mean += a[i * k + i] / double(k);
  }
  for (int64_t i = 0; i < k; ++i)
    a[i * k + i] += damp * mean;
  // inv = a^-1 by Gauss-Jordan (a is SPD: no pivoting needed).
  std::vector<double> inv(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    inv[i * k + i] = 1;
  for (int64_t p = 0; p < k; ++p) {
    double d = a[p * k + p];
    for (int64_t j = 0; j < k; ++j) {
      a[p * k + j] /= d;
      inv[p * k + j] /= d;
    }
    for (int64_t r = 0; r < k; ++r) {
      if (r == p)
        continue;
      double f = a[r * k + p];
      for (int64_t j = 0; j < k; ++j) {
        a[r * k + j] -= f * a[p * k + j];
        inv[r * k + j] -= f * inv[p * k + j];
      }
    }
  }
  std::vector<int64_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  if (actOrder)
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
      return l.h[x * k + x] > l.h[y * k + y];
    });
  std::vector<RefGrid> grids;
  RefResult res;
  res.codes.assign(k * n, 0);
  res.scales.assign(groups * n, 0.0f);
  res.deq.assign(k * n, 0.0);
  auto setGroup = [&](int64_t gi) {
    for (int64_t j = 0; j < n; ++j) {
      std::vector<double> v;
      for (int64_t i = gi * g; i < std::min(k, (gi + 1) * g); ++i)
        v.push_back(w[i * n + j]);
      grids[gi * n + j] = RefGrid(v, bits, symmetric);
      res.scales[gi * n + j] = grids[gi * n + j].scale;
    }
  };
  grids.assign(groups * n, RefGrid({}, bits, symmetric));
  if (actOrder)
    for (int64_t gi = 0; gi < groups; ++gi)
      setGroup(gi);
  std::vector<char> done(k, 0);
  for (int64_t i : order) {
    if (!actOrder && i % g == 0)
      setGroup(i / g); // from the rows as updated so far
    double d = inv[i * k + i];
    for (int64_t j = 0; j < n; ++j) {
      const RefGrid &gr = grids[(i / g) * n + j];
      double c = gr.code(w[i * n + j]);
      res.codes[i * n + j] = int32_t(c);
      res.deq[i * n + j] = gr.value(c);
      double e = (w[i * n + j] - gr.value(c)) / d;
      for (int64_t r = 0; r < k; ++r)
        if (!done[r] && r != i)
          w[r * n + j] -= e * inv[r * k + i];
      w[i * n + j] = gr.value(c);
    }
    done[i] = 1;
    // Eliminate row / column i from inv.
    std::vector<double> col(k);
    for (int64_t r = 0; r < k; ++r)
      col[r] = inv[r * k + i];
    for (int64_t r = 0; r < k; ++r)
      for (int64_t s = 0; s < k; ++s)
        inv[r * k + s] -= col[r] * col[s] / d;
  }
  return res;
}

/// sum_j (w - v)_j^T H (w - v)_j: the layer's output squared error.
double proxyLoss(const RefLayer &l, const std::vector<double> &v) {
  double loss = 0;
  for (int64_t j = 0; j < l.n; ++j)
    for (int64_t a = 0; a < l.k; ++a) {
      double da = l.w[a * l.n + j] - v[a * l.n + j], t = 0;
      for (int64_t b = 0; b < l.k; ++b)
        t += l.h[a * l.k + b] * (l.w[b * l.n + j] - v[b * l.n + j]);
      loss += da * t;
    }
  return loss;
}

void expectMatchesReference(int64_t bits, int64_t group, bool symmetric,
                            bool actOrder, int64_t block) {
  RefLayer l;
  RefResult ref = referenceGptq(l, bits, group, symmetric, actOrder, 0.01);
  GptqOptions o;
  o.actOrder = actOrder;
  o.block = block;
  std::string error;
  std::optional<QuantizedWeight> q =
      gptq(l.w.data(), l.k, l.n, /*transposed=*/false, l.h.data(), bits, group,
           symmetric, Grid::WeightOnly, o, error);
  ASSERT_TRUE(q) << error;
  std::vector<float> d = dequantize(*q, group);
  std::vector<double> deq(d.begin(), d.end());
  int64_t same = 0;
  for (int64_t i = 0; i < l.k * l.n; ++i) {
    int32_t c =
        q->unsignedCodes ? int32_t(uint8_t(q->codes[i])) : int32_t(q->codes[i]);
    same += c == ref.codes[i];
  }
  int64_t sameScale = 0;
  for (size_t i = 0; i < ref.scales.size(); ++i)
    sameScale += std::fabs(q->scales[i] - ref.scales[i]) <=
                 1e-5f * std::fabs(ref.scales[i]);
  // Rounding order differs (lazy block updates): allow a rare tie to
  // round the other way, nothing more.
  double share = double(same) / double(l.k * l.n);
  double lossRef = proxyLoss(l, ref.deq), lossQ = proxyLoss(l, deq);
  std::vector<double> rtnDeq;
  {
    QuantizedWeight r = roundToNearest(l.w.data(), l.k, l.n, false, bits, group,
                                       symmetric, Grid::WeightOnly);
    std::vector<float> rd = dequantize(r, group);
    rtnDeq.assign(rd.begin(), rd.end());
  }
  double lossRtn = proxyLoss(l, rtnDeq);
  std::printf("bits %lld group %lld sym %d act-order %d block %lld: codes "
              "%.4f same, loss %.6g (reference %.6g, rtn %.6g)\n",
              (long long)bits, (long long)group, symmetric, actOrder,
              (long long)block, share, lossQ, lossRef, lossRtn);
  EXPECT_GE(share, 0.998);
  EXPECT_GE(sameScale, int64_t(ref.scales.size()) - 1);
  EXPECT_NEAR(lossQ, lossRef, 1e-3 * lossRef);
  EXPECT_LT(lossRef, 0.8 * lossRtn); // the layer is one GPTQ helps
}

TEST(GptqReference, W4Group32AsymSeveralBlocks) {
  expectMatchesReference(4, 32, false, false, 16);
}
TEST(GptqReference, W4Group32AsymGroupsStartMidBlock) {
  expectMatchesReference(4, 32, false, false, 128);
}
TEST(GptqReference, W4Group32AsymBlockNotAMultipleOfTheGroup) {
  // Blocks of 48: the group at row 32 would straddle the block end at 48.
  expectMatchesReference(4, 32, false, false, 48);
}
TEST(GptqReference, W4Group64AsymPartialLastGroup) {
  expectMatchesReference(4, 64, false, false, 32);
}
TEST(GptqReference, W4PerChannelSym) {
  expectMatchesReference(4, 0, true, false, 16);
}
TEST(GptqReference, W4Group32SymActOrder) {
  expectMatchesReference(4, 32, true, true, 16);
}
TEST(GptqReference, W4Group32AsymActOrder) {
  expectMatchesReference(4, 32, false, true, 32);
}

} // namespace
