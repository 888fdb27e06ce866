//===- NormGeneric.cpp - portable layer / RMS norm (the reference) --------===//
//
// The reference lowering's arithmetic literally: f32 sums in index order,
// the mean subtracted before squaring, (c * inv) * gamma + beta. Any
// strides. The ISA levels are tested against it (test/Runtime/NormTest.cpp).
//
//===----------------------------------------------------------------------===//

#include "Norm.h"

#include <cmath>

namespace tfcrt {
namespace norm {
namespace {

void rows(const Params &p, int64_t r0, int64_t r1) {
  const float nf = static_cast<float>(p.n);
  for (int64_t r = r0; r < r1; ++r) {
    const float *x = p.x + r * p.xs[0];
    float *y = p.y + r * p.ys[0];
    float mean = 0.0f;
    if (!p.rms) {
      float sum = 0.0f;
      for (int64_t j = 0; j < p.n; ++j)
        sum += x[j * p.xs[1]];
      mean = sum / nf;
    }
    float sq = 0.0f;
    for (int64_t j = 0; j < p.n; ++j) {
      const float c = x[j * p.xs[1]] - mean;
      sq += c * c;
    }
    const float inv = 1.0f / std::sqrt(sq / nf + p.eps);
    for (int64_t j = 0; j < p.n; ++j) {
      float v = (x[j * p.xs[1]] - mean) * inv * p.gamma[j * p.gs];
      if (p.beta)
        v += p.beta[j * p.bs];
      y[j * p.ys[1]] = v;
    }
  }
}

} // namespace

const Kernels &kernelsGeneric() {
  static const Kernels k = {"generic", &rows};
  return k;
}

} // namespace norm
} // namespace tfcrt
