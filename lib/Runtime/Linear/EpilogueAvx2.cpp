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

TFC_AVX2 inline __m256 geluV(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 absX = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  const __m256 z = _mm256_mul_ps(absX, _mm256_set1_ps(0.70710678118654752f));
  const __m256 t = recipV(_mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), one));
  __m256 p = _mm256_set1_ps(0.17087277f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.82215223f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.48851587f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.13520398f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.27886807f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.18628806f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.09678418f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.37409196f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.00002368f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.26551223f));
  p = _mm256_fnmadd_ps(z, z, p);
  const __m256 e =
      _mm256_mul_ps(_mm256_mul_ps(t, _mm256_set1_ps(0.5f)), expV(p));
  const __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
  const __m256 phi = _mm256_blendv_ps(e, _mm256_sub_ps(one, e), pos);
  return _mm256_mul_ps(x, phi);
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
