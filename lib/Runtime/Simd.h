//===- Simd.h - small vector helpers shared by the ISA kernel files -*- C++ -*-===//
//
// Helpers that several kernel families (Gemm, Linear, Attention, Norm) used
// to define each for itself. Every function carries its ISA's target
// attribute and lives in an anonymous namespace, as in the kernel files, so
// no AVX2 / AVX-512 code becomes a shared symbol a baseline caller could
// reach. Include only from files compiled for x86-64.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_SIMD_H
#define TFC_LIB_RUNTIME_SIMD_H

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#define TFC_SIMD_AVX2 __attribute__((target("avx2,fma")))
#define TFC_SIMD_AVX512                                                        \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))

namespace tfcrt {
namespace simd {
namespace {

/// The sum of the 8 lanes of v.
TFC_SIMD_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// e^r for the reduced argument r = x - n ln 2 (n = round(x log2 e), ln 2
/// split in two for the subtraction): the Cephes polynomial of
/// expNoDenormal (below). The caller multiplies by 2^n.
TFC_SIMD_AVX2 inline __m256 expReduced8(__m256 x, __m256 n) {
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201E-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), r);
  return _mm256_add_ps(y, _mm256_set1_ps(1.0f));
}

/// exp(x) on 8 lanes: expReduced8, 2^n built in the exponent bits; exactly
/// 0 below `minArg` (-inf gives 0, no denormal results), arguments clamped
/// to [minArg, maxArg]; min / max return their second operand for a NaN,
/// so NaN stays NaN.
TFC_SIMD_AVX2 inline __m256 exp8NoDenormal(__m256 x, float minArg,
                                           float maxArg) {
  const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(minArg), _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_set1_ps(maxArg),
                    _mm256_max_ps(_mm256_set1_ps(minArg), x));
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 y = expReduced8(x, n);
  const __m256i e = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(under, _mm256_mul_ps(y, _mm256_castsi256_ps(e)));
}

/// exp8NoDenormal(x, ln FLT_MIN, any) for x <= 0, -inf or NaN only (a
/// softmax's score minus its running max): n = round(x log2 e) taken by
/// adding 1.5 * 2^23 + 127, whose low mantissa bits are then 2^n's exponent
/// field, so no vroundps, vcvtps2dq, integer add or upper clamp (16 vector
/// ops instead of 20). Over [-90, 0] in steps of 1e-5 it differs from
/// exp8NoDenormal in 4 of 9e6 arguments (ties of the rounding), both within
/// 8.4e-8 relative; exactly 1 at 0, 0 below ln FLT_MIN, NaN stays NaN.
TFC_SIMD_AVX2 inline __m256 exp8NonPositive(__m256 x) {
  const __m256 minArg = _mm256_set1_ps(-87.3365f);
  const __m256 under = _mm256_cmp_ps(x, minArg, _CMP_LT_OQ);
  x = _mm256_max_ps(minArg, x); // a NaN x stays (max returns it)
  const __m256 magic = _mm256_set1_ps(12583039.0f); // 1.5 * 2^23 + 127
  const __m256 t =
      _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic);
  const __m256 y = expReduced8(x, _mm256_sub_ps(t, magic));
  // n + 127 in [1, 254] sits in t's low bits; shifted, the rest falls out.
  const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(t), 23);
  return _mm256_andnot_ps(under, _mm256_mul_ps(y, _mm256_castsi256_ps(e)));
}

/// Lanes [0, min(n, 8)) all ones (a vmaskmov mask).
TFC_SIMD_AVX2 inline __m256i tailMask8(int64_t n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(
      _mm256_set1_epi32(static_cast<int>(std::min<int64_t>(n, 8))), idx);
}

/// exp(x) in float: the Cephes polynomial (~1 ulp), 2^n by vscalefps;
/// exactly 1 at 0, and exactly 0 below ln(FLT_MIN) (-inf gives 0, and no
/// result is a denormal: each costs a microcode assist on Intel cores
/// without FTZ). Arguments above `maxArg` are clamped to it; NaN stays NaN.
TFC_SIMD_AVX512 inline __m512 expNoDenormal(__m512 x,
                                            float maxArg = 88.3762626647949f) {
  const __mmask16 under =
      _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3365f), _CMP_LT_OQ);
  x = _mm512_min_ps(_mm512_set1_ps(maxArg),
                    _mm512_max_ps(_mm512_set1_ps(-87.3365f), x));
  const __m512 n = _mm512_roundscale_ps(
      _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 y = _mm512_set1_ps(1.9875691500E-4f);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507E-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073E-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894E-2f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459E-1f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201E-1f));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), r);
  y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));
  return _mm512_maskz_mov_ps(static_cast<__mmask16>(~under),
                             _mm512_scalef_ps(y, n));
}

} // namespace
} // namespace simd
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_SIMD_H
