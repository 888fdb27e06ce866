//===- NormAvx512.cpp - layer / RMS norm on zmm (AVX-512) -----------------===//
//
// NormAvx2.cpp on 16 lanes: four accumulators for the sum and the sum of
// squares about the mean, then y = (x - mean) * inv * gamma + beta; the
// last n % 16 elements through masked loads / stores (maskz: the masked
// lanes of x - mean are 0). Target attributes on functions of an anonymous
// namespace only (see Gemm/KernelsAvx512.cpp).
//
//===----------------------------------------------------------------------===//

#include "Norm.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own _mm512_undefined_* seeds (see Gemm/KernelsAvx512).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#define TFC_AVX512                                                             \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))

namespace tfcrt {
namespace norm {
namespace {

/// sum of x[0, n); tm holds lanes [0, n % 16).
TFC_AVX512 inline float rowSum(const float *x, int64_t n, __mmask16 tm) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + j));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + j + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + j + 32));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + j + 48));
  }
  for (; j + 16 <= n; j += 16)
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + j));
  if (j < n)
    a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(tm, x + j));
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

TFC_AVX512 inline __m512 sq(__m512 a, __m512 c) {
  return _mm512_fmadd_ps(c, c, a);
}

/// sum of (x[j] - mean)^2 over [0, n).
TFC_AVX512 inline float rowSquares(const float *x, int64_t n, __mmask16 tm,
                                   __m512 m) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) {
    a0 = sq(a0, _mm512_sub_ps(_mm512_loadu_ps(x + j), m));
    a1 = sq(a1, _mm512_sub_ps(_mm512_loadu_ps(x + j + 16), m));
    a2 = sq(a2, _mm512_sub_ps(_mm512_loadu_ps(x + j + 32), m));
    a3 = sq(a3, _mm512_sub_ps(_mm512_loadu_ps(x + j + 48), m));
  }
  for (; j + 16 <= n; j += 16)
    a0 = sq(a0, _mm512_sub_ps(_mm512_loadu_ps(x + j), m));
  if (j < n)
    a1 = sq(a1, _mm512_maskz_sub_ps(tm, _mm512_maskz_loadu_ps(tm, x + j), m));
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

template <bool Rms, bool Beta>
TFC_AVX512 void rowsT(const Params &p, int64_t r0, int64_t r1) {
  const int64_t n = p.n;
  const float nf = static_cast<float>(n);
  const __mmask16 tm = static_cast<__mmask16>((1u << (n % 16)) - 1);
  for (int64_t r = r0; r < r1; ++r) {
    const float *x = p.x + r * p.xs[0];
    float *y = p.y + r * p.ys[0];
    const float mean = Rms ? 0.0f : rowSum(x, n, tm) / nf;
    const __m512 m = _mm512_set1_ps(mean);
    const float ss = rowSquares(x, n, tm, m);
    const __m512 inv = _mm512_set1_ps(1.0f / __builtin_sqrtf(ss / nf + p.eps));
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
      __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + j), m), inv);
      v = Beta ? _mm512_fmadd_ps(v, _mm512_loadu_ps(p.gamma + j),
                                 _mm512_loadu_ps(p.beta + j))
               : _mm512_mul_ps(v, _mm512_loadu_ps(p.gamma + j));
      _mm512_storeu_ps(y + j, v);
    }
    if (j < n) {
      __m512 v = _mm512_mul_ps(
          _mm512_sub_ps(_mm512_maskz_loadu_ps(tm, x + j), m), inv);
      const __m512 g = _mm512_maskz_loadu_ps(tm, p.gamma + j);
      v = Beta ? _mm512_fmadd_ps(v, g, _mm512_maskz_loadu_ps(tm, p.beta + j))
               : _mm512_mul_ps(v, g);
      _mm512_mask_storeu_ps(y + j, tm, v);
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

const Kernels &kernelsAvx512() {
  static const Kernels k = {"avx512", &rows};
  return k;
}

} // namespace norm
} // namespace tfcrt

#else // not x86-64: never selected

namespace tfcrt {
namespace norm {
const Kernels &kernelsAvx512() { return kernelsGeneric(); }
} // namespace norm
} // namespace tfcrt

#endif
