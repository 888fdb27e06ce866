//===- Stats.cpp - accumulating activation statistics ---------------------===//
#include "tfc/Calibration/Stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace tfc::calib;

const std::vector<std::string> &tfc::calib::clipMethods() {
  static const std::vector<std::string> m = {"minmax", "p99.9", "p99.99",
                                             "p99.999", "mse"};
  return m;
}

void tfc::calib::gramReference(const float *x, int64_t rows, int64_t k,
                               float *out) {
  std::fill(out, out + k * k, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * k;
    for (int64_t i = 0; i < k; ++i) {
      float xi = xr[i];
      if (xi == 0.0f)
        continue;
      float *o = out + i * k;
      for (int64_t j = 0; j < k; ++j)
        o[j] += xi * xr[j];
    }
  }
}

TensorStats::TensorStats(std::string name, std::vector<std::string> ops,
                         int64_t k, bool withHessian)
    : name(std::move(name)), ops(std::move(ops)), k(k),
      histogram(kHistogramBins, 0), channelSq(k, 0.0) {
  if (withHessian)
    hessian.assign(static_cast<size_t>(k * k), 0.0);
}

void TensorStats::grow(double absMax) {
  if (range == 0) {
    range = absMax;
    return;
  }
  while (absMax > range) {
    // New bin of old bin i over [-2R, 2R]: B/4 + i/2 (B divisible by 4).
    std::vector<uint64_t> merged(kHistogramBins, 0);
    for (int64_t i = 0; i < kHistogramBins; ++i)
      merged[kHistogramBins / 4 + i / 2] += histogram[i];
    histogram.swap(merged);
    range *= 2;
  }
}

void TensorStats::add(const float *x, int64_t n, GramFn gram) {
  if (n <= 0)
    return;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t i = 0; i < n * k; ++i) {
    double v = x[i];
    if (!std::isfinite(v))
      continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (rows == 0) {
    min = lo;
    max = hi;
  } else {
    min = std::min(min, lo);
    max = std::max(max, hi);
  }
  double absMax = std::max(std::fabs(lo), std::fabs(hi));
  if (std::isfinite(absMax) && absMax > 0)
    grow(absMax);
  const double B = static_cast<double>(kHistogramBins);
  for (int64_t i = 0; i < n * k; ++i) {
    double v = x[i];
    if (!std::isfinite(v))
      continue;
    int64_t bin = range > 0 ? static_cast<int64_t>(
                                  std::floor((v + range) / (2 * range) * B))
                            : kHistogramBins / 2;
    histogram[std::clamp<int64_t>(bin, 0, kHistogramBins - 1)]++;
  }
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < k; ++j) {
      double v = x[r * k + j];
      channelSq[j] += v * v;
    }
  if (!hessian.empty()) {
    gramScratch.resize(static_cast<size_t>(k * k));
    gram(x, n, k, gramScratch.data());
    for (size_t i = 0; i < hessian.size(); ++i)
      hessian[i] += gramScratch[i];
  }
  rows += n;
}

namespace {
/// |x| histogram folded from the signed one: B/2 bins of width range/(B/2).
std::vector<double> folded(const TensorStats &s) {
  int64_t half = kHistogramBins / 2;
  std::vector<double> f(half, 0.0);
  for (int64_t i = 0; i < kHistogramBins; ++i) {
    int64_t j = i >= half ? i - half : half - 1 - i;
    f[j] += static_cast<double>(s.histogram[i]);
  }
  return f;
}
} // namespace

double TensorStats::absPercentile(double p) const {
  std::vector<double> f = folded(*this);
  double total = 0;
  for (double c : f)
    total += c;
  if (total == 0 || range == 0)
    return 0;
  double w = range / static_cast<double>(f.size());
  double target = p * total, acc = 0;
  for (size_t j = 0; j < f.size(); ++j) {
    if (acc + f[j] >= target && f[j] > 0) {
      double frac = (target - acc) / f[j];
      return std::min((static_cast<double>(j) + frac) * w,
                      std::max(std::fabs(min), std::fabs(max)));
    }
    acc += f[j];
  }
  return std::max(std::fabs(min), std::fabs(max));
}

double TensorStats::mseClip() const {
  std::vector<double> f = folded(*this);
  double absMax = std::max(std::fabs(min), std::fabs(max));
  if (range == 0 || absMax == 0)
    return absMax;
  double w = range / static_cast<double>(f.size());
  double best = absMax, bestErr = std::numeric_limits<double>::infinity();
  // Candidates: every bin edge up to max|x| (and max|x| itself).
  int64_t last = std::min<int64_t>(
      static_cast<int64_t>(f.size()),
      static_cast<int64_t>(std::ceil(absMax / w)));
  for (int64_t t = 1; t <= last; ++t) {
    double T = std::min(static_cast<double>(t) * w, absMax);
    double s = T / 127.0, round = s * s / 12.0, err = 0;
    for (size_t j = 0; j < f.size(); ++j) {
      if (f[j] == 0)
        continue;
      double m = (static_cast<double>(j) + 0.5) * w; // bin centre
      double e;
      if (m > T)
        e = (m - T) * (m - T) + round;
      else if (m < s / 2)
        e = m * m; // rounds to 0
      else
        e = round;
      err += f[j] * e;
    }
    if (err < bestErr) {
      bestErr = err;
      best = T;
    }
  }
  return best;
}

double TensorStats::clip(const std::string &method) const {
  if (method == "minmax")
    return std::max(std::fabs(min), std::fabs(max));
  if (method == "p99.9")
    return absPercentile(0.999);
  if (method == "p99.99")
    return absPercentile(0.9999);
  if (method == "p99.999")
    return absPercentile(0.99999);
  if (method == "mse")
    return mseClip();
  return 0;
}
