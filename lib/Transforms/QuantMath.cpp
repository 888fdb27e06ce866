//===- QuantMath.cpp - round-to-nearest weight quantization ---------------===//
#include "QuantMath.h"

#include <algorithm>
#include <cmath>

using namespace mlir::tfc::quant;

GroupGrid mlir::tfc::quant::gridFor(double mn, double mx, double amax,
                                    int64_t bits, bool symmetric, Grid grid) {
  const double levels = double((int64_t(1) << bits) - 1);
  GroupGrid g;
  if (symmetric) {
    if (grid == Grid::Int8Kernel) {
      g.scale = amax / 127.0;
      g.lo = -127.0;
      g.hi = 127.0;
    } else {
      g.scale = 2.0 * amax / levels;
      g.lo = -double(int64_t(1) << (bits - 1));
      g.hi = double((int64_t(1) << (bits - 1)) - 1);
    }
  } else {
    g.scale = (mx - mn) / levels;
    g.lo = 0.0;
    g.hi = levels;
  }
  if (!(g.scale > 0.0))
    g.scale = 1.0; // an all-zero group: any scale, codes 0 (or zero)
  if (!symmetric)
    g.zero = std::clamp(std::nearbyint(-mn / g.scale), g.lo, g.hi);
  g.fscale = static_cast<float>(g.scale);
  return g;
}

std::optional<Clip> mlir::tfc::quant::clipFromName(const std::string &name) {
  if (name == "minmax")
    return Clip::MinMax;
  if (name == "mse")
    return Clip::Mse;
  if (name == "hmse")
    return Clip::HMse;
  return std::nullopt;
}

const char *mlir::tfc::quant::clipName(Clip clip) {
  switch (clip) {
  case Clip::MinMax:
    return "minmax";
  case Clip::Mse:
    return "mse";
  case Clip::HMse:
    return "hmse";
  }
  return "minmax";
}

GroupGrid mlir::tfc::quant::chooseGrid(const double *v, int64_t m,
                                       int64_t stride, const double *d,
                                       int64_t bits, bool symmetric,
                                       Grid grid, Clip clip) {
  double mn = 0.0, mx = 0.0, amax = 0.0;
  for (int64_t i = 0; i < m; ++i) {
    const double x = v[i * stride];
    mn = std::min(mn, x);
    mx = std::max(mx, x);
    amax = std::max(amax, std::fabs(x));
  }
  GroupGrid best = gridFor(mn, mx, amax, bits, symmetric, grid);
  if (clip == Clip::MinMax || amax == 0.0)
    return best;
  auto error = [&](const GroupGrid &g) {
    double e = 0.0;
    for (int64_t i = 0; i < m; ++i) {
      const double x = v[i * stride];
      const double r = std::fabs(g.value(g.code(x)) - x);
      e += clip == Clip::HMse ? (d ? d[i] : 1.0) * r * r : std::pow(r, 2.4);
    }
    return e;
  };
  double bestErr = error(best);
  for (int i = 1; i < 80; ++i) {
    const double p = 1.0 - i / 100.0;
    GroupGrid g = gridFor(p * mn, p * mx, p * amax, bits, symmetric, grid);
    const double e = error(g);
    if (e < bestErr) {
      bestErr = e;
      best = g;
    }
  }
  return best;
}

double GroupGrid::code(double v) const {
  // Round half to even in f32, as the reference lowering does.
  double c = std::nearbyint(v / fscale) + zero;
  return std::clamp(c, lo, hi);
}

QuantizedWeight mlir::tfc::quant::roundToNearest(const float *w, int64_t k,
                                                 int64_t n, bool transposed,
                                                 int64_t bits, int64_t group,
                                                 bool symmetric, Grid grid,
                                                 Clip clip,
                                                 const double *diag) {
  QuantizedWeight q;
  q.k = k;
  q.n = n;
  int64_t g = group > 0 ? group : k;
  q.groups = (k + g - 1) / g;
  q.codes.resize(static_cast<size_t>(k * n));
  q.scales.resize(static_cast<size_t>(q.groups * n));
  if (!symmetric)
    q.zeros.resize(static_cast<size_t>(q.groups * n));
  q.unsignedCodes = !symmetric;
  auto at = [&](int64_t kk, int64_t j) {
    return transposed ? w[j * k + kk] : w[kk * n + j];
  };
  std::vector<double> col(static_cast<size_t>(g));
  for (int64_t gi = 0; gi < q.groups; ++gi) {
    int64_t k0 = gi * g, k1 = std::min(k, k0 + g);
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t kk = k0; kk < k1; ++kk)
        col[kk - k0] = at(kk, j);
      GroupGrid gg = chooseGrid(col.data(), k1 - k0, 1,
                                diag ? diag + k0 : nullptr, bits, symmetric,
                                grid, clip);
      q.scales[gi * n + j] = static_cast<float>(gg.scale);
      if (!symmetric)
        q.zeros[gi * n + j] = static_cast<int8_t>(
            static_cast<int32_t>(gg.zero)); // 0..255 as a byte
      for (int64_t kk = k0; kk < k1; ++kk) {
        double c = gg.code(at(kk, j));
        q.codes[kk * n + j] = static_cast<int8_t>(static_cast<int32_t>(c));
      }
    }
  }
  return q;
}

std::vector<float> mlir::tfc::quant::dequantize(const QuantizedWeight &q,
                                                int64_t group) {
  std::vector<float> out(static_cast<size_t>(q.k * q.n));
  int64_t g = group > 0 ? group : q.k;
  for (int64_t kk = 0; kk < q.k; ++kk)
    for (int64_t j = 0; j < q.n; ++j) {
      int64_t gi = kk / g;
      int32_t c = q.unsignedCodes
                      ? static_cast<int32_t>(
                            static_cast<uint8_t>(q.codes[kk * q.n + j]))
                      : q.codes[kk * q.n + j];
      int32_t z = q.zeros.empty()
                      ? 0
                      : static_cast<int32_t>(
                            static_cast<uint8_t>(q.zeros[gi * q.n + j]));
      out[kk * q.n + j] = static_cast<float>(c - z) * q.scales[gi * q.n + j];
    }
  return out;
}
