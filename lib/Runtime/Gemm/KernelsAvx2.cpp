//===- KernelsAvx2.cpp - AVX2 + FMA GEMM micro-kernel ---------------------===//
//
// Micro-tile 6 x 16: 12 ymm accumulators + 2 ymm of B + 1 broadcast = 15 of
// the 16 ymm registers (the classic Haswell shape). Edge tiles are computed
// in full (the packed panels are zero-padded) into a local tile and copied.
// Target attributes only; see KernelsAvx512.cpp for why.
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TFC_AVX2 __attribute__((target("avx2,fma")))

namespace tfcrt {
namespace gemm {
namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

TFC_AVX2 void micro(int64_t kc, const float *ap, const float *bp, float *c,
                    int64_t rsc, int64_t csc, int m, int n, const float *bias,
                    bool accumulate) {
  __m256 acc[kMR][2];
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i) {
    acc[i][0] = _mm256_setzero_ps();
    acc[i][1] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(bp);
    __m256 b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      __m256 a = _mm256_broadcast_ss(ap + i);
      acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
    }
    ap += kMR;
    bp += kNR;
  }
  if (m == kMR && n == kNR && csc == 1) {
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      float *p = c + i * rsc;
      __m256 v0 = acc[i][0], v1 = acc[i][1];
      if (accumulate) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(p));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(p + 8));
      } else if (bias) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(bias));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(bias + 8));
      }
      _mm256_storeu_ps(p, v0);
      _mm256_storeu_ps(p + 8, v1);
    }
    return;
  }
  alignas(32) float t[kMR][kNR];
  for (int i = 0; i < kMR; ++i) {
    _mm256_store_ps(&t[i][0], acc[i][0]);
    _mm256_store_ps(&t[i][8], acc[i][1]);
  }
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float &dst = c[i * rsc + j * csc];
      if (accumulate)
        dst += t[i][j];
      else
        dst = bias ? t[i][j] + bias[j] : t[i][j];
    }
  }
}

} // namespace

const KernelSet &kernelsAvx2() {
  static const KernelSet set = {Isa::Avx2, kMR,  kNR,     /*kc=*/256,
                                /*mc=*/120, /*nc=*/1024, &micro,
                                /*smallM=*/0, nullptr,    nullptr,
                                /*smallColumnAlign=*/16};
  return set;
}

} // namespace gemm
} // namespace tfcrt

#else

namespace tfcrt {
namespace gemm {
const KernelSet &kernelsAvx2() { return kernelsGeneric(); }
} // namespace gemm
} // namespace tfcrt

#endif
