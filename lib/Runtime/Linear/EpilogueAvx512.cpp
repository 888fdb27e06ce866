//===- EpilogueAvx512.cpp - bias, activation, residual on zmm -------------===//
//
// Vector forms of the activations (EpilogueGeneric.cpp is the reference):
//   exp      Cephes expf: 2^n * p(r), r = x - n ln 2 (two-part ln 2),
//            degree-6 polynomial, scaled by vscalefps; exactly 0 below
//            ln(FLT_MIN) (no denormal results: they cost assists)
//   1 / a    vrcp14ps and one Newton step (no vdivps)
//   GELU     x * Phi(x), Phi(x) = 1 - e or e with e = erfc(|x|/sqrt2) / 2
//            (x >= 0 or not); erfc by the Chebyshev fit of Numerical
//            Recipes (erfcc: fractional error < 1.2e-7 for every z >= 0),
//            so GELU keeps ~1e-6 relative accuracy for negative x too
//   GELU_TANH x * sigmoid(2u): 0.5 (1 + tanh u) == 1 / (1 + exp(-2u))
//   SiLU     x * sigmoid(x)
// Target attributes on functions of an anonymous namespace only (see
// Gemm/KernelsAvx512.cpp).
//
//===----------------------------------------------------------------------===//

#include "LinearInternal.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own _mm512_undefined_* seeds (see Gemm/KernelsAvx512).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "../Simd.h"

#define TFC_AVX512                                                             \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))

namespace tfcrt {
namespace linear {
namespace {

/// exp(x), exactly 0 below ln(FLT_MIN) instead of a denormal (measured: a
/// denormal per vector put bias + GELU at half the GEMM's speed on random
/// data, whose GELU inputs reach -20); arguments clamped at 88.7.
TFC_AVX512 inline __m512 expV(__m512 x) {
  return simd::expNoDenormal(x, 88.7f);
}

/// 1 / a: vrcp14ps (relative error < 2^-14) and one Newton step (~2^-28),
/// instead of vdivps (one zmm per 16 cycles on Golden Cove; the GELU
/// epilogue's bound). rcp14 of a NaN is a NaN.
TFC_AVX512 inline __m512 recipV(__m512 a) {
  const __m512 r = _mm512_rcp14_ps(a);
  return _mm512_mul_ps(r, _mm512_fnmadd_ps(a, r, _mm512_set1_ps(2.0f)));
}

TFC_AVX512 inline __m512 sigmoidV(__m512 v) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return recipV(
      _mm512_add_ps(one, expV(_mm512_sub_ps(_mm512_setzero_ps(), v))));
}

TFC_AVX512 inline __m512 geluV(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 z =
      _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678118654752f));
  const __m512 t = recipV(_mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), one));
  __m512 p = _mm512_set1_ps(0.17087277f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.82215223f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.48851587f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.13520398f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.27886807f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.18628806f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.09678418f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.37409196f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.00002368f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.26551223f));
  p = _mm512_fnmadd_ps(z, z, p); // -z^2 + poly
  // e = erfc(z) / 2
  const __m512 e =
      _mm512_mul_ps(_mm512_mul_ps(t, _mm512_set1_ps(0.5f)), expV(p));
  const __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
  const __m512 phi = _mm512_mask_sub_ps(e, pos, one, e);
  return _mm512_mul_ps(x, phi);
}

TFC_AVX512 inline __m512 geluTanhV(__m512 x) {
  const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
  const __m512 u2 =
      _mm512_mul_ps(_mm512_fmadd_ps(x3, _mm512_set1_ps(0.044715f), x),
                    _mm512_set1_ps(2.0f * 0.79788456080286536f));
  return _mm512_mul_ps(x, sigmoidV(u2));
}

template <int Act> TFC_AVX512 inline __m512 actV(__m512 v) {
  switch (Act) {
  case TFCRT_ACT_GELU:
    return geluV(v);
  case TFCRT_ACT_GELU_TANH:
    return geluTanhV(v);
  case TFCRT_ACT_SILU:
    return _mm512_mul_ps(v, sigmoidV(v));
  case TFCRT_ACT_RELU:
    return _mm512_max_ps(_mm512_setzero_ps(), v);
  default:
    return v;
  }
}

TFC_AVX512 inline __mmask16 tailMask(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF)
                 : static_cast<__mmask16>((1u << n) - 1);
}

template <int Act>
TFC_AVX512 void denseT(const float *acc, const float *bias, const float *res,
                       float *y, int64_t count) {
  for (int64_t j = 0; j < count; j += 16) {
    const __mmask16 mk = tailMask(count - j);
    __m512 v = _mm512_maskz_loadu_ps(mk, acc + j);
    if (bias)
      v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, bias + j));
    v = actV<Act>(v);
    if (res)
      v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, res + j));
    _mm512_mask_storeu_ps(y + j, mk, v);
  }
}

template <int Act>
TFC_AVX512 void gatedT(const float *gate, const float *up, const float *res,
                       float *y, int64_t count) {
  for (int64_t j = 0; j < count; j += 16) {
    const __mmask16 mk = tailMask(count - j);
    __m512 v = actV<Act>(_mm512_maskz_loadu_ps(mk, gate + j));
    v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mk, up + j));
    if (res)
      v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, res + j));
    _mm512_mask_storeu_ps(y + j, mk, v);
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

/// TileOut::tile. Prefetches the next tile's residual and output lines of
/// each row: the driver's pass read them row by row, where the hardware
/// prefetcher follows, but a tile touches 128 bytes of each of its 14 rows
/// and the next tile of those rows comes after the other row groups, so
/// nothing but this brings them in ahead.
template <int Act, bool Gated>
TFC_AVX512 void tileT(const float *acc, int64_t lda, int rows, int cols,
                      const TileOut &o, int64_t r0, int64_t c0) {
  const int outCols = Gated ? cols / 2 : cols;
  const float *bias = o.bias ? o.bias + c0 : nullptr;
  for (int i = 0; i < rows; ++i) {
    const float *a = acc + i * lda;
    float *y = o.y + (r0 + i) * o.ldy + c0;
    const float *res = o.res ? o.res + (r0 + i) * o.ldr + c0 : nullptr;
    if (res) {
      _mm_prefetch(reinterpret_cast<const char *>(res + outCols), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(res + 2 * outCols - 1),
                   _MM_HINT_T0);
    }
    _mm_prefetch(reinterpret_cast<const char *>(y + outCols), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char *>(y + 2 * outCols - 1),
                 _MM_HINT_T0);
    if (Gated)
      gatedT<Act>(a, a + outCols, res, y, outCols);
    else
      denseT<Act>(a, bias, res, y, outCols);
  }
}

template <bool Gated>
void tileG(const float *acc, int64_t lda, int rows, int cols, const TileOut &o,
           int64_t r0, int64_t c0) {
  switch (o.act) {
  case TFCRT_ACT_GELU:
    return tileT<TFCRT_ACT_GELU, Gated>(acc, lda, rows, cols, o, r0, c0);
  case TFCRT_ACT_GELU_TANH:
    return tileT<TFCRT_ACT_GELU_TANH, Gated>(acc, lda, rows, cols, o, r0, c0);
  case TFCRT_ACT_SILU:
    return tileT<TFCRT_ACT_SILU, Gated>(acc, lda, rows, cols, o, r0, c0);
  case TFCRT_ACT_RELU:
    return tileT<TFCRT_ACT_RELU, Gated>(acc, lda, rows, cols, o, r0, c0);
  default:
    return tileT<TFCRT_ACT_NONE, Gated>(acc, lda, rows, cols, o, r0, c0);
  }
}

void tile(const float *acc, int64_t lda, int rows, int cols, const TileOut &o,
          int64_t r0, int64_t c0) {
  if (o.gated)
    tileG<true>(acc, lda, rows, cols, o, r0, c0);
  else
    tileG<false>(acc, lda, rows, cols, o, r0, c0);
}

} // namespace

const EpilogueKernels &epilogueAvx512() {
  static const EpilogueKernels k = {&dense, &gated, "avx512", &tile};
  return k;
}

} // namespace linear
} // namespace tfcrt

#else

namespace tfcrt {
namespace linear {
const EpilogueKernels &epilogueAvx512() { return epilogueGeneric(); }
} // namespace linear
} // namespace tfcrt

#endif
