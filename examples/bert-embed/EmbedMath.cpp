//===- EmbedMath.cpp - pooling, normalization and rank statistics ---------===//

#include "EmbedMath.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

namespace bertembed {

std::vector<float> meanPool(const float *hidden, const int64_t *mask,
                            size_t batch, size_t seq, size_t dim) {
  std::vector<float> out(batch * dim, 0.0f);
  std::vector<double> acc(dim);
  for (size_t b = 0; b < batch; ++b) {
    std::fill(acc.begin(), acc.end(), 0.0);
    double count = 0;
    for (size_t s = 0; s < seq; ++s) {
      if (!mask[b * seq + s])
        continue;
      const float *h = hidden + (b * seq + s) * dim; // [dim]
      for (size_t k = 0; k < dim; ++k)
        acc[k] += h[k];
      count += 1;
    }
    count = std::max(count, 1e-9);
    for (size_t k = 0; k < dim; ++k)
      out[b * dim + k] = static_cast<float>(acc[k] / count);
  }
  return out;
}

std::vector<float> l2NormalizeRows(std::vector<float> &x, size_t rows,
                                   size_t dim) {
  std::vector<float> norms(rows);
  for (size_t r = 0; r < rows; ++r) {
    float *v = x.data() + r * dim;
    double ss = 0;
    for (size_t k = 0; k < dim; ++k)
      ss += static_cast<double>(v[k]) * v[k];
    double n = std::sqrt(ss);
    norms[r] = static_cast<float>(n);
    double scale = 1.0 / std::max(n, 1e-12);
    for (size_t k = 0; k < dim; ++k)
      v[k] = static_cast<float>(v[k] * scale);
  }
  return norms;
}

double cosine(const float *a, const float *b, size_t dim) {
  double dot = 0, na = 0, nb = 0;
  for (size_t k = 0; k < dim; ++k) {
    dot += static_cast<double>(a[k]) * b[k];
    na += static_cast<double>(a[k]) * a[k];
    nb += static_cast<double>(b[k]) * b[k];
  }
  if (na == 0 || nb == 0)
    return 0;
  return dot / std::sqrt(na * nb);
}

std::vector<double> averageRanks(const std::vector<double> &x) {
  size_t n = x.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> ranks(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && x[order[j + 1]] == x[order[i]])
      ++j;
    double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (size_t k = i; k <= j; ++k)
      ranks[order[k]] = avg;
    i = j + 1;
  }
  return ranks;
}

double pearson(const std::vector<double> &x, const std::vector<double> &y) {
  size_t n = std::min(x.size(), y.size());
  if (n < 2 || x.size() != y.size())
    return std::numeric_limits<double>::quiet_NaN();
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0)
    return std::numeric_limits<double>::quiet_NaN();
  return sxy / std::sqrt(sxx * syy);
}

double spearman(const std::vector<double> &x, const std::vector<double> &y) {
  if (x.size() != y.size())
    return std::numeric_limits<double>::quiet_NaN();
  return pearson(averageRanks(x), averageRanks(y));
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: renormalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | ((127 - 15 - e) << 23) | ((mant & 0x3FF) << 13);
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

} // namespace bertembed
