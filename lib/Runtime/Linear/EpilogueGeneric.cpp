//===- EpilogueGeneric.cpp - bias, activation, residual in plain C++ ------===//
//
// The portable epilogue: libm's erfc and exp in float. GELU is written with
// erfc so that x * Phi(x) keeps its relative accuracy for negative x (1 +
// erf(z) cancels there).
//
//===----------------------------------------------------------------------===//

#include "LinearInternal.h"

#include <cmath>

namespace tfcrt {
namespace linear {
namespace {

inline float activate(float v, int act) {
  switch (act) {
  case TFCRT_ACT_GELU:
    return 0.5f * v * std::erfc(-v * 0.70710678118654752f);
  case TFCRT_ACT_GELU_TANH: {
    // 0.5 (1 + tanh u) == 1 / (1 + exp(-2u)), which does not cancel for
    // negative u.
    const float u = 0.79788456080286536f * (v + 0.044715f * v * v * v);
    return v / (1.0f + std::exp(-2.0f * u));
  }
  case TFCRT_ACT_SILU:
    return v / (1.0f + std::exp(-v));
  case TFCRT_ACT_RELU:
    return v < 0.0f ? 0.0f : v; // NaN stays NaN
  default:
    return v;
  }
}

void dense(const float *acc, const float *bias, const float *res, float *y,
           int64_t count, int act) {
  for (int64_t j = 0; j < count; ++j) {
    float v = activate(acc[j] + (bias ? bias[j] : 0.0f), act);
    y[j] = res ? v + res[j] : v;
  }
}

void gated(const float *gate, const float *up, const float *res, float *y,
           int64_t count, int act) {
  for (int64_t j = 0; j < count; ++j) {
    float v = activate(gate[j], act) * up[j];
    y[j] = res ? v + res[j] : v;
  }
}

} // namespace

const EpilogueKernels &epilogueGeneric() {
  static const EpilogueKernels k = {&dense, &gated, "generic", nullptr};
  return k;
}

} // namespace linear
} // namespace tfcrt
