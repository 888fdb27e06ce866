//===- EpilogueAvx2.cpp - bias, activation, residual on ymm ---------------===//
//
// The approximations of EpilogueAvx512.cpp on 8 lanes. Without vscalefps,
// 2^n is built in the exponent bits, so exp's argument is clamped to
// [-87.3, 88.3] (n in the normal range), and below -87.3 it returns exactly
// 0: a product with its ~1e-38 would be a denormal, which costs a microcode
// assist (the GELU epilogue on random data, x < -13).
//
//===----------------------------------------------------------------------===//

#include "LinearInternal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "../Simd.h"

#define TFC_AVX2 __attribute__((target("avx2,fma")))

namespace tfcrt {
namespace linear {
namespace {

/// exp(x), 0 below -87.3 (the header's clamps).
TFC_AVX2 inline __m256 expV(__m256 x) {
  return simd::exp8NoDenormal(x, -87.3f, 88.3f);
}

/// 1 / a: vrcpps (relative error < 1.5 * 2^-12) and one Newton step
/// (~2e-7), instead of vdivps: measured on the GELU epilogue (Intel core,
/// AVX2 path) the divide was its bound.
TFC_AVX2 inline __m256 recipV(__m256 a) {
  const __m256 r = _mm256_rcp_ps(a);
  return _mm256_mul_ps(r, _mm256_fnmadd_ps(a, r, _mm256_set1_ps(2.0f)));
}

TFC_AVX2 inline __m256 sigmoidV(__m256 v) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return recipV(
      _mm256_add_ps(one, expV(_mm256_sub_ps(_mm256_setzero_ps(), v))));
}

/// GELU's erf half g(a) = erf(a / sqrt2) / 2, a = |x| in [0, 6], as 8
/// degree-6 polynomials in u = s - i, s = a * 7 / 6 (intervals centred on
/// i * 6 / 7; node 7 = a >= 6): the AVX-512 form (EpilogueAvx512.cpp) with
/// vpermps's 8 lanes. `scripts/fit_gelu_table.py --intervals 8 --degree 6
/// --print` writes the rows (u^6 ... u^0).
alignas(32) const float kGeluTab8[7][8] = {
    {0.0f, -1.035993337e-03f, 4.719129065e-04f, 1.584452111e-04f,
     -7.311542140e-05f, -1.690084900e-05f, -1.007352353e-06f,
     -2.231238128e-08f},
    {4.441822879e-03f, -8.432425675e-04f, -2.086086664e-03f, 3.615610767e-04f,
     3.063867043e-04f, 3.872554225e-05f, 1.713391498e-06f, 3.091960110e-08f},
    {0.0f, 1.206068881e-02f, 2.207724319e-04f, -3.055943176e-03f,
     -7.548962603e-04f, -6.059851876e-05f, -1.939962431e-06f,
     -2.654503106e-08f},
    {-4.185008258e-02f, -7.703707088e-03f, 1.867215522e-02f, 8.618848398e-03f,
     1.261436730e-03f, 7.438845932e-05f, 1.898607252e-06f, 2.160969892e-08f},
    {0.0f, -8.699648082e-02f, -5.779952183e-02f, -1.381430309e-02f,
     -1.407688716e-03f, -6.450919318e-05f, -1.361733894e-06f,
     -1.341756040e-08f},
    {3.419498503e-01f, 2.368247658e-01f, 7.867143303e-02f, 1.253509801e-02f,
     9.580286569e-04f, 3.512846888e-05f, 6.183116739e-07f, 5.230338385e-09f},
    {0.0f, 3.043170273e-01f, 4.567618668e-01f, 4.949360192e-01f,
     4.996966124e-01f, 4.999908805e-01f, 4.999998510e-01f, 5.000000000e-01f},
};

/// x / 2 + |x| g(|x|): 7 vpermps and 6 FMAs, no exp or divide (~21 uops a
/// ymm against ~40 for the erfc form it replaced). Phi to ~3e-8 absolute
/// (see EpilogueAvx512.cpp's geluV).
TFC_AVX2 inline __m256 geluV(__m256 x) {
  const __m256 magic = _mm256_set1_ps(8388608.0f); // 2^23: round to integer
  const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  const __m256 s = _mm256_min_ps(_mm256_mul_ps(a, _mm256_set1_ps(7.0f / 6.0f)),
                                 _mm256_set1_ps(7.0f));
  const __m256 t = _mm256_add_ps(s, magic); // round(s) in the low bits
  const __m256 u = _mm256_sub_ps(s, _mm256_sub_ps(t, magic));
  const __m256i idx = _mm256_castps_si256(t);
  __m256 p = _mm256_permutevar8x32_ps(_mm256_load_ps(kGeluTab8[0]), idx);
  for (int j = 1; j < 7; ++j)
    p = _mm256_fmadd_ps(
        p, u, _mm256_permutevar8x32_ps(_mm256_load_ps(kGeluTab8[j]), idx));
  return _mm256_fmadd_ps(a, p, _mm256_mul_ps(x, _mm256_set1_ps(0.5f)));
}

TFC_AVX2 inline __m256 geluTanhV(__m256 x) {
  const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
  const __m256 u2 =
      _mm256_mul_ps(_mm256_fmadd_ps(x3, _mm256_set1_ps(0.044715f), x),
                    _mm256_set1_ps(2.0f * 0.79788456080286536f));
  return _mm256_mul_ps(x, sigmoidV(u2));
}

template <int Act> TFC_AVX2 inline __m256 actV(__m256 v) {
  switch (Act) {
  case TFCRT_ACT_GELU:
    return geluV(v);
  case TFCRT_ACT_GELU_TANH:
    return geluTanhV(v);
  case TFCRT_ACT_SILU:
    return _mm256_mul_ps(v, sigmoidV(v));
  case TFCRT_ACT_RELU:
    return _mm256_max_ps(_mm256_setzero_ps(), v);
  default:
    return v;
  }
}

/// Up to 8 floats (zero-padded) into a vector, and back.
TFC_AVX2 inline __m256 loadTail(const float *p, int64_t n) {
  alignas(32) float t[8] = {};
  for (int64_t i = 0; i < n; ++i)
    t[i] = p[i];
  return _mm256_load_ps(t);
}
TFC_AVX2 inline void storeTail(float *p, __m256 v, int64_t n) {
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  for (int64_t i = 0; i < n; ++i)
    p[i] = t[i];
}

template <int Act>
TFC_AVX2 void denseT(const float *acc, const float *bias, const float *res,
                     float *y, int64_t count) {
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    __m256 v = _mm256_loadu_ps(acc + j);
    if (bias)
      v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
    v = actV<Act>(v);
    if (res)
      v = _mm256_add_ps(v, _mm256_loadu_ps(res + j));
    _mm256_storeu_ps(y + j, v);
  }
  if (j < count) {
    const int64_t r = count - j;
    __m256 v = loadTail(acc + j, r);
    if (bias)
      v = _mm256_add_ps(v, loadTail(bias + j, r));
    v = actV<Act>(v);
    if (res)
      v = _mm256_add_ps(v, loadTail(res + j, r));
    storeTail(y + j, v, r);
  }
}

template <int Act>
TFC_AVX2 void gatedT(const float *gate, const float *up, const float *res,
                     float *y, int64_t count) {
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    __m256 v = _mm256_mul_ps(actV<Act>(_mm256_loadu_ps(gate + j)),
                             _mm256_loadu_ps(up + j));
    if (res)
      v = _mm256_add_ps(v, _mm256_loadu_ps(res + j));
    _mm256_storeu_ps(y + j, v);
  }
  if (j < count) {
    const int64_t r = count - j;
    __m256 v =
        _mm256_mul_ps(actV<Act>(loadTail(gate + j, r)), loadTail(up + j, r));
    if (res)
      v = _mm256_add_ps(v, loadTail(res + j, r));
    storeTail(y + j, v, r);
  }
}

void dense(const float *acc, const float *bias, const float *res, float *y,
           int64_t count, int act) {
  switch (act) {
  case TFCRT_ACT_GELU:
    return denseT<TFCRT_ACT_GELU>(acc, bias, res, y, count);
  case TFCRT_ACT_GELU_TANH:
    return denseT<TFCRT_ACT_GELU_TANH>(acc, bias, res, y, count);
  case TFCRT_ACT_SILU:
    return denseT<TFCRT_ACT_SILU>(acc, bias, res, y, count);
  case TFCRT_ACT_RELU:
    return denseT<TFCRT_ACT_RELU>(acc, bias, res, y, count);
  default:
    return denseT<TFCRT_ACT_NONE>(acc, bias, res, y, count);
  }
}

void gated(const float *gate, const float *up, const float *res, float *y,
           int64_t count, int act) {
  switch (act) {
  case TFCRT_ACT_GELU:
    return gatedT<TFCRT_ACT_GELU>(gate, up, res, y, count);
  case TFCRT_ACT_GELU_TANH:
    return gatedT<TFCRT_ACT_GELU_TANH>(gate, up, res, y, count);
  case TFCRT_ACT_SILU:
    return gatedT<TFCRT_ACT_SILU>(gate, up, res, y, count);
  case TFCRT_ACT_RELU:
    return gatedT<TFCRT_ACT_RELU>(gate, up, res, y, count);
  default:
    return gatedT<TFCRT_ACT_NONE>(gate, up, res, y, count);
  }
}

} // namespace

const EpilogueKernels &epilogueAvx2() {
  static const EpilogueKernels k = {&dense, &gated, "avx2", nullptr};
  return k;
}

} // namespace linear
} // namespace tfcrt

#else

namespace tfcrt {
namespace linear {
const EpilogueKernels &epilogueAvx2() { return epilogueGeneric(); }
} // namespace linear
} // namespace tfcrt

#endif
