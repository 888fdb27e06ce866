//===- KernelsGeneric.cpp - portable C++ GEMM micro-kernel ----------------===//
//
// Micro-tile 4 x 8 in plain C++: the compiler vectorizes the inner loops for
// whatever baseline the library is built for (SSE2 on x86-64: 8 xmm
// accumulators). The fallback when neither AVX2 nor AVX-512 is available.
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

namespace tfcrt {
namespace gemm {
namespace {

constexpr int kMR = 4;
constexpr int kNR = 8;

void micro(int64_t kc, const float *ap, const float *bp, float *c, int64_t rsc,
           int64_t csc, int m, int n, const float *bias, bool accumulate) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < kMR; ++i) {
      const float a = ap[i];
      for (int j = 0; j < kNR; ++j)
        acc[i][j] += a * bp[j];
    }
    ap += kMR;
    bp += kNR;
  }
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float &dst = c[i * rsc + j * csc];
      if (accumulate)
        dst += acc[i][j];
      else
        dst = bias ? acc[i][j] + bias[j] : acc[i][j];
    }
  }
}

} // namespace

const KernelSet &kernelsGeneric() {
  static const KernelSet set = {Isa::Generic,
                                kMR,
                                kNR,
                                /*kc=*/256,
                                /*mc=*/128,
                                /*nc=*/1024,
                                &micro,
                                /*smallM=*/0,
                                nullptr,
                                nullptr,
                                /*smallColumnAlign=*/8,
                                nullptr,
                                nullptr};
  return set;
}

} // namespace gemm
} // namespace tfcrt
