//===- SparseGpt.cpp - SparseGPT weight reconstruction --------------------===//
#include "tfc/Calibration/SparseGpt.h"

#include "tfc/Calibration/Hessian.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace tfc::calib;

bool tfc::calib::sparseGpt(std::vector<double> &w, int64_t k, int64_t n,
                           const double *hessian, const SparseGptOptions &o,
                           std::string &error) {
  if (o.m > 0 &&
      (o.nKeep <= 0 || o.nKeep >= o.m || k % o.m != 0 || o.block % o.m != 0)) {
    error = "N:M needs 0 < N < M, M dividing k and the block size";
    return false;
  }
  if (o.m == 0 && !(o.sparsity > 0 && o.sparsity < 1)) {
    error = "sparsity must be in (0, 1)";
    return false;
  }
  std::vector<double> h(hessian, hessian + k * k), u;
  std::vector<char> dead;
  if (!dampedInverseFactor(h, k, o.damp, u, dead, error))
    return false;
  for (int64_t i = 0; i < k; ++i)
    if (dead[i])
      std::fill(w.begin() + i * n, w.begin() + (i + 1) * n, 0.0);

  // pruned[(i - i1) * n + j]: the mask of the current block.
  const int64_t bs = std::max<int64_t>(1, o.block);
  std::vector<char> pruned(static_cast<size_t>(bs * n), 0);
  int64_t blockStart = 0;
  auto score = [&](int64_t i, int64_t j) {
    double d = u[i * k + i];
    double v = w[i * n + j];
    return v * v / (d * d);
  };
  auto startBlock = [&](int64_t i1, int64_t i2) {
    blockStart = i1;
    std::fill(pruned.begin(), pruned.end(), 0);
    if (o.m > 0)
      return;
    size_t total = static_cast<size_t>((i2 - i1) * n);
    size_t count = static_cast<size_t>(std::floor(o.sparsity * total));
    if (count == 0)
      return;
    std::vector<double> s(total);
    for (int64_t i = i1; i < i2; ++i)
      for (int64_t j = 0; j < n; ++j)
        s[(i - i1) * n + j] = score(i, j);
    std::vector<uint32_t> idx(total);
    std::iota(idx.begin(), idx.end(), 0);
    auto less = [&](uint32_t a, uint32_t b) {
      return s[a] < s[b] || (s[a] == s[b] && a < b);
    };
    std::nth_element(idx.begin(), idx.begin() + (count - 1), idx.end(), less);
    for (size_t t = 0; t < count; ++t)
      pruned[idx[t]] = 1;
  };
  std::vector<std::pair<double, int64_t>> grp(static_cast<size_t>(o.m));
  auto compress = [&](int64_t i, const double *row, double *out) {
    int64_t r0 = i - blockStart;
    if (o.m > 0 && i % o.m == 0)
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t t = 0; t < o.m; ++t)
          grp[t] = {score(i + t, j), t};
        std::sort(grp.begin(), grp.end());
        for (int64_t t = 0; t < o.m - o.nKeep; ++t)
          pruned[(r0 + grp[t].second) * n + j] = 1;
      }
    for (int64_t j = 0; j < n; ++j)
      out[j] = pruned[r0 * n + j] ? 0.0 : row[j];
  };
  obsSweep(w, k, n, u, bs, startBlock, compress);
  return true;
}
