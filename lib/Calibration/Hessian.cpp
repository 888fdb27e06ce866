//===- Hessian.cpp - damped inverse Cholesky for GPTQ / SparseGPT ---------===//
#include "tfc/Calibration/Hessian.h"

#include <algorithm>
#include <cmath>

using namespace tfc::calib;

bool tfc::calib::choleskyLower(std::vector<double> &a, int64_t k) {
  // Row-oriented Cholesky-Banachiewicz: row i uses rows j < i (contiguous).
  for (int64_t i = 0; i < k; ++i) {
    double *ai = a.data() + i * k;
    for (int64_t j = 0; j <= i; ++j) {
      const double *aj = a.data() + j * k;
      double s = ai[j];
      for (int64_t t = 0; t < j; ++t)
        s -= ai[t] * aj[t];
      if (i == j) {
        if (!(s > 0))
          return false;
        ai[i] = std::sqrt(s);
      } else {
        ai[j] = s / aj[j];
      }
    }
    for (int64_t j = i + 1; j < k; ++j)
      ai[j] = 0;
  }
  return true;
}

bool tfc::calib::invertedCholeskyUpper(std::vector<double> &h, int64_t k,
                                       double damp, std::vector<char> &dead,
                                       std::string &error) {
  dead.assign(static_cast<size_t>(k), 0);
  double mean = 0;
  for (int64_t i = 0; i < k; ++i) {
    if (h[i * k + i] == 0) {
      h[i * k + i] = 1;
      dead[i] = 1;
    }
    mean += h[i * k + i];
  }
  mean /= static_cast<double>(k);
  for (int64_t i = 0; i < k; ++i)
    h[i * k + i] += damp * mean;
  // H = L L^T.
  if (!choleskyLower(h, k)) {
    error = "the damped Hessian is not positive definite (raise the damping)";
    return false;
  }
  // M = L^-1 (lower), by forward substitution column by column: row i of
  // M: M[i][j] = (delta_ij - sum_{t=j}^{i-1} L[i][t] M[t][j]) / L[i][i].
  std::vector<double> m(static_cast<size_t>(k * k), 0.0);
  for (int64_t i = 0; i < k; ++i) {
    const double *li = h.data() + i * k;
    double *mi = m.data() + i * k;
    for (int64_t t = 0; t < i; ++t) {
      double c = li[t];
      if (c == 0)
        continue;
      const double *mt = m.data() + t * k;
      for (int64_t j = 0; j <= t; ++j)
        mi[j] -= c * mt[j];
    }
    mi[i] += 1.0;
    double inv = 1.0 / li[i];
    for (int64_t j = 0; j <= i; ++j)
      mi[j] *= inv;
  }
  // H^-1 = M^T M: (M^T M)[i][j] = sum_{t >= max(i,j)} M[t][i] M[t][j].
  std::vector<double> &inv = h;
  std::fill(inv.begin(), inv.end(), 0.0);
  for (int64_t t = 0; t < k; ++t) {
    const double *mt = m.data() + t * k;
    for (int64_t i = 0; i <= t; ++i) {
      double c = mt[i];
      if (c == 0)
        continue;
      double *row = inv.data() + i * k;
      for (int64_t j = 0; j <= i; ++j)
        row[j] += c * mt[j];
    }
  }
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i + 1; j < k; ++j)
      inv[i * k + j] = inv[j * k + i];
  // H^-1 = L2 L2^T, U = L2^T: H^-1 = U^T U.
  if (!choleskyLower(inv, k)) {
    error = "the inverse of the damped Hessian is not positive definite "
            "(raise the damping)";
    return false;
  }
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i + 1; j < k; ++j) {
      inv[i * k + j] = inv[j * k + i];
      inv[j * k + i] = 0;
    }
  return true;
}

bool tfc::calib::dampedInverseFactor(const std::vector<double> &hessian,
                                     int64_t k, double damp,
                                     std::vector<double> &u,
                                     std::vector<char> &dead,
                                     std::string &error) {
  std::string why;
  for (int attempt = 0;; ++attempt) {
    u = hessian;
    if (invertedCholeskyUpper(u, k, damp, dead, why))
      return true;
    if (attempt == 3) {
      error = why;
      return false;
    }
    damp *= 10;
  }
}

void tfc::calib::obsSweep(std::vector<double> &w, int64_t k, int64_t n,
                          const std::vector<double> &u, int64_t block,
                          const SweepBlockFn &startBlock,
                          const SweepRowFn &compress) {
  const int64_t bs = std::max<int64_t>(1, block);
  std::vector<double> err(static_cast<size_t>(bs * n));
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i1 = 0; i1 < k; i1 += bs) {
    int64_t i2 = std::min(k, i1 + bs);
    if (startBlock)
      startBlock(i1, i2);
    for (int64_t i = i1; i < i2; ++i) {
      double *row = w.data() + i * n;
      compress(i, row, out.data());
      double d = u[i * k + i];
      double *e = err.data() + (i - i1) * n;
      for (int64_t j = 0; j < n; ++j) {
        e[j] = (row[j] - out[j]) / d;
        row[j] = out[j];
      }
      // Feed the error into the block's later rows.
      for (int64_t r = i + 1; r < i2; ++r) {
        double c = u[i * k + r];
        if (c == 0)
          continue;
        double *wrow = w.data() + r * n;
        for (int64_t j = 0; j < n; ++j)
          wrow[j] -= e[j] * c;
      }
    }
    // ... and, once per block, into every row after it.
    for (int64_t r = i2; r < k; ++r) {
      double *wrow = w.data() + r * n;
      for (int64_t i = i1; i < i2; ++i) {
        double c = u[i * k + r];
        if (c == 0)
          continue;
        const double *e = err.data() + (i - i1) * n;
        for (int64_t j = 0; j < n; ++j)
          wrow[j] -= e[j] * c;
      }
    }
  }
}
