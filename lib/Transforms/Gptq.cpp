//===- Gptq.cpp - GPTQ weight quantization --------------------------------===//
#include "Gptq.h"

#include "tfc/Calibration/Hessian.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir::tfc::quant;

std::optional<QuantizedWeight>
mlir::tfc::quant::gptq(const float *w, int64_t k, int64_t n, bool transposed,
                       const double *hessian, int64_t bits, int64_t group,
                       bool symmetric, Grid grid, const GptqOptions &o,
                       std::string &error) {
  int64_t g = group > 0 ? group : k;
  int64_t groups = (k + g - 1) / g;
  // Row r of `wr` is input feature perm[r]: [k, n] in visiting order.
  std::vector<int64_t> perm(static_cast<size_t>(k));
  std::iota(perm.begin(), perm.end(), 0);
  if (o.actOrder)
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return hessian[a * k + a] > hessian[b * k + b];
    });
  std::vector<double> h(static_cast<size_t>(k * k));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      h[i * k + j] = hessian[perm[i] * k + perm[j]];
  std::vector<double> wr(static_cast<size_t>(k * n));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      wr[i * n + j] = transposed ? w[j * k + perm[i]] : w[perm[i] * n + j];
  std::vector<char> dead;
  std::vector<double> u;
  if (!::tfc::calib::dampedInverseFactor(h, k, o.damp, u, dead, error))
    return std::nullopt;
  for (int64_t i = 0; i < k; ++i)
    if (dead[i])
      std::fill(wr.begin() + i * n, wr.begin() + (i + 1) * n, 0.0);

  QuantizedWeight q;
  q.k = k;
  q.n = n;
  q.groups = groups;
  q.unsignedCodes = !symmetric;
  q.codes.assign(static_cast<size_t>(k * n), 0);
  q.scales.assign(static_cast<size_t>(groups * n), 1.0f);
  if (!symmetric)
    q.zeros.assign(static_cast<size_t>(groups * n), 0);
  std::vector<GroupGrid> grids(static_cast<size_t>(groups * n));
  // Group parameters from the weights of rows [k0, k1) of the original
  // order; `src(kk, j)` reads feature kk.
  std::vector<double> col(static_cast<size_t>(g)), diag(static_cast<size_t>(g));
  auto computeGroup = [&](int64_t gi, auto src) {
    int64_t k0 = gi * g, k1 = std::min(k, k0 + g);
    for (int64_t kk = k0; kk < k1; ++kk)
      diag[kk - k0] = hessian[kk * k + kk];
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t kk = k0; kk < k1; ++kk)
        col[kk - k0] = src(kk, j);
      GroupGrid gg = chooseGrid(col.data(), k1 - k0, 1, diag.data(), bits,
                                symmetric, grid, o.clip);
      grids[gi * n + j] = gg;
      q.scales[gi * n + j] = static_cast<float>(gg.scale);
      if (!symmetric)
        q.zeros[gi * n + j] =
            static_cast<int8_t>(static_cast<int32_t>(gg.zero));
    }
  };
  std::vector<int64_t> pos(static_cast<size_t>(k)); // feature -> row of wr
  for (int64_t i = 0; i < k; ++i)
    pos[perm[i]] = i;
  if (o.actOrder)
    for (int64_t gi = 0; gi < groups; ++gi)
      computeGroup(gi,
                   [&](int64_t kk, int64_t j) { return wr[pos[kk] * n + j]; });

  // A group's parameters are computed when its first row is reached, from
  // its rows as updated so far: every one of them must already hold the
  // error of every earlier row. Rows past the current block get the block's
  // errors only at its end, so a group must not straddle a block boundary
  // it does not start at: blocks a multiple of the group or dividing it.
  int64_t block = std::max<int64_t>(1, o.block);
  if (!o.actOrder && g < k && block % g != 0 && g % block != 0)
    block = std::gcd(block, g);
  ::tfc::calib::obsSweep(
      wr, k, n, u, block, nullptr,
      [&](int64_t i, const double *row, double *out) {
        int64_t feat = perm[i];
        int64_t gi = feat / g;
        // Without act-order rows come in feature order: a group's
        // parameters come from its rows as updated so far.
        if (!o.actOrder && feat % g == 0)
          computeGroup(gi, [&](int64_t kk, int64_t j) {
            return wr[kk * n + j];
          });
        for (int64_t j = 0; j < n; ++j) {
          const GroupGrid &gg = grids[gi * n + j];
          double c = gg.code(static_cast<float>(row[j]));
          q.codes[feat * n + j] =
              static_cast<int8_t>(static_cast<int32_t>(c));
          out[j] = gg.value(c);
        }
      });
  return q;
}
