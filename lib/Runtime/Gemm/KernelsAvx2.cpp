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
  // Named accumulators: with an array GCC 12 keeps them in memory here.
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
         c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00,
         c51 = c00;
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(bp);
    const __m256 b1 = _mm256_load_ps(bp + 8);
    __m256 a = _mm256_broadcast_ss(ap + 0);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(ap + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(ap + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(ap + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(ap + 4);
    c40 = _mm256_fmadd_ps(a, b0, c40);
    c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(ap + 5);
    c50 = _mm256_fmadd_ps(a, b0, c50);
    c51 = _mm256_fmadd_ps(a, b1, c51);
    ap += kMR;
    bp += kNR;
  }
  alignas(32) float t[kMR][kNR];
  _mm256_store_ps(&t[0][0], c00);
  _mm256_store_ps(&t[0][8], c01);
  _mm256_store_ps(&t[1][0], c10);
  _mm256_store_ps(&t[1][8], c11);
  _mm256_store_ps(&t[2][0], c20);
  _mm256_store_ps(&t[2][8], c21);
  _mm256_store_ps(&t[3][0], c30);
  _mm256_store_ps(&t[3][8], c31);
  _mm256_store_ps(&t[4][0], c40);
  _mm256_store_ps(&t[4][8], c41);
  _mm256_store_ps(&t[5][0], c50);
  _mm256_store_ps(&t[5][8], c51);
  if (m == kMR && n == kNR && csc == 1) {
    for (int i = 0; i < kMR; ++i) {
      float *p = c + i * rsc;
      __m256 v0 = _mm256_load_ps(&t[i][0]), v1 = _mm256_load_ps(&t[i][8]);
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
  static const KernelSet set = {Isa::Avx2,
                                kMR,
                                kNR,
                                /*kc=*/384,
                                /*mc=*/120,
                                /*nc=*/1536,
                                &micro,
                                /*smallM=*/0,
                                nullptr,
                                nullptr,
                                /*smallColumnAlign=*/16,
                                nullptr,
                                nullptr};
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
