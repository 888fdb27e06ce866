//===- NormAvx2.cpp - layer / RMS norm on ymm (AVX2 + FMA) ----------------===//
//
// Per row: the sum (four accumulators of 8 lanes, so the adds pipeline),
// the sum of squares about the mean, then y = (x - mean) * inv * gamma +
// beta; the last n % 8 elements through masked loads / stores (the masked
// lanes of x - mean are zeroed before squaring). The row stays in L1
// between the passes. Target attributes on functions of an anonymous
// namespace only (see Gemm/KernelsAvx2.cpp).
//
//===----------------------------------------------------------------------===//

#include "Norm.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "../Simd.h"

#define TFC_AVX2 __attribute__((target("avx2,fma")))

namespace tfcrt {
namespace norm {
namespace {

using simd::hsum;

/// sum of x[0, n).
TFC_AVX2 inline float rowSum(const float *x, int64_t n, __m256i tm) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + j));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + j + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + j + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + j + 24));
  }
  for (; j + 8 <= n; j += 8)
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + j));
  if (j < n)
    a1 = _mm256_add_ps(a1, _mm256_maskload_ps(x + j, tm));
  return hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

TFC_AVX2 inline __m256 sq(__m256 a, __m256 c) {
  return _mm256_fmadd_ps(c, c, a);
}

/// sum of (x[j] - mean)^2 over [0, n).
TFC_AVX2 inline float rowSquares(const float *x, int64_t n, __m256i tm,
                                 __m256 m) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    a0 = sq(a0, _mm256_sub_ps(_mm256_loadu_ps(x + j), m));
    a1 = sq(a1, _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), m));
    a2 = sq(a2, _mm256_sub_ps(_mm256_loadu_ps(x + j + 16), m));
    a3 = sq(a3, _mm256_sub_ps(_mm256_loadu_ps(x + j + 24), m));
  }
  for (; j + 8 <= n; j += 8)
    a0 = sq(a0, _mm256_sub_ps(_mm256_loadu_ps(x + j), m));
  if (j < n) // masked lanes: 0 - mean, zeroed before squaring
    a1 = sq(a1, _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, tm), m),
                              _mm256_castsi256_ps(tm)));
  return hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

template <bool Rms, bool Beta>
TFC_AVX2 void rowsT(const Params &p, int64_t r0, int64_t r1) {
  const int64_t n = p.n;
  const float nf = static_cast<float>(n);
  const __m256i tm = simd::tailMask8(n % 8);
  for (int64_t r = r0; r < r1; ++r) {
    const float *x = p.x + r * p.xs[0];
    float *y = p.y + r * p.ys[0];
    const float mean = Rms ? 0.0f : rowSum(x, n, tm) / nf;
    const __m256 m = _mm256_set1_ps(mean);
    const float ss = rowSquares(x, n, tm, m);
    const __m256 inv = _mm256_set1_ps(1.0f / __builtin_sqrtf(ss / nf + p.eps));
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), m), inv);
      v = Beta ? _mm256_fmadd_ps(v, _mm256_loadu_ps(p.gamma + j),
                                 _mm256_loadu_ps(p.beta + j))
               : _mm256_mul_ps(v, _mm256_loadu_ps(p.gamma + j));
      _mm256_storeu_ps(y + j, v);
    }
    if (j < n) {
      __m256 v =
          _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, tm), m), inv);
      const __m256 g = _mm256_maskload_ps(p.gamma + j, tm);
      v = Beta ? _mm256_fmadd_ps(v, g, _mm256_maskload_ps(p.beta + j, tm))
               : _mm256_mul_ps(v, g);
      _mm256_maskstore_ps(y + j, tm, v);
    }
  }
}

void rows(const Params &p, int64_t r0, int64_t r1) {
  if (p.rms)
    rowsT<true, false>(p, r0, r1);
  else if (p.beta)
    rowsT<false, true>(p, r0, r1);
  else
    rowsT<false, false>(p, r0, r1);
}

} // namespace

const Kernels &kernelsAvx2() {
  static const Kernels k = {"avx2", &rows};
  return k;
}

} // namespace norm
} // namespace tfcrt

#else // not x86-64: never selected

namespace tfcrt {
namespace norm {
const Kernels &kernelsAvx2() { return kernelsGeneric(); }
} // namespace norm
} // namespace tfcrt

#endif
