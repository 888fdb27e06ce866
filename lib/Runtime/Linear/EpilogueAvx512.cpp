//===- EpilogueAvx512.cpp - bias, activation, residual on zmm -------------===//
//
// Vector forms of the activations (EpilogueGeneric.cpp is the reference):
//   exp      Cephes expf: 2^n * p(r), r = x - n ln 2 (two-part ln 2),
//            degree-6 polynomial, scaled by vscalefps; exactly 0 below
//            ln(FLT_MIN) (no denormal results: they cost assists)
//   1 / a    vrcp14ps and one Newton step (no vdivps)
//   GELU     x / 2 + |x| erf(|x|/sqrt2) / 2, the erf by a table of 16
//            degree-5 polynomials (geluV): Phi to ~3e-8 absolute, as ONNX
//            Runtime's and PyTorch's GELU (EpilogueGeneric keeps the erfc
//            form, relatively accurate in the negative tail too)
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

/// GELU's erf half: g(a) = erf(a / sqrt2) / 2 for a = |x| in [0, 6], as 16
/// degree-5 polynomials in u = s - i, s = a / 0.4 (the intervals centred on
/// i * 0.4, |u| <= 0.5; node 15 = a >= 6, where g is 0.5 in float). Rows:
/// the coefficients of u^5 ... u^0, one lane an interval (vpermps picks a
/// lane by the index). Fit by least squares on Chebyshev nodes
/// (scripts/fit_gelu_table.py); node 0's even terms are 0, so g(0) = 0.
alignas(64) const float kGeluTab[6][16] = {
    {1.012823850e-04f, 6.448613567e-05f, -1.031589363e-05f, -5.850120579e-05f,
     -5.466465518e-05f, -2.311925164e-05f, 2.893529427e-06f, 1.165500271e-05f,
     9.424918062e-06f, 4.886035185e-06f, 1.879752858e-06f, 5.657557267e-07f,
     1.367222779e-07f, 2.693352741e-08f, 4.367246120e-09f, 5.868064923e-10f},
    {0.0f, 4.420492623e-04f, 5.789647112e-04f, 3.864193277e-04f,
     8.481265832e-05f, -1.131157187e-04f, -1.571498869e-04f, -1.143265254e-04f,
     -5.919884279e-05f, -2.365343971e-05f, -7.550159353e-06f, -1.961349881e-06f,
     -4.193588552e-07f, -7.435009763e-08f, -1.098773073e-08f,
     -1.358690715e-09f},
    {-4.255278502e-03f, -3.299647244e-03f, -1.112455968e-03f, 9.113054839e-04f,
     1.845685882e-03f, 1.727721305e-03f, 1.137069659e-03f, 5.775257596e-04f,
     2.349780407e-04f, 7.805994392e-05f, 2.141055484e-05f, 4.883625934e-06f,
     9.308997164e-07f, 1.488116510e-07f, 2.000227362e-08f, 2.265150068e-09f},
    {0.0f, -1.178425178e-02f, -1.853984408e-02f, -1.864173636e-02f,
     -1.419800892e-02f, -8.638747968e-03f, -4.299851134e-03f, -1.773070195e-03f,
     -6.103002233e-04f, -1.762042957e-04f, -4.281375368e-05f, -8.775411516e-06f,
     -1.519924922e-06f, -2.227493496e-07f, -2.764967633e-08f,
     -2.909303687e-09f},
    {1.595769078e-01f, 1.473080516e-01f, 1.158766225e-01f, 7.767442614e-02f,
     4.436833411e-02f, 2.159638703e-02f, 8.957811631e-03f, 3.166180104e-03f,
     9.536352009e-04f, 2.447608567e-04f, 5.353216329e-05f, 9.977023183e-06f,
     1.584531333e-06f, 2.144444267e-07f, 2.473109362e-08f, 2.430452950e-09f},
    {0.0f, 1.554217339e-01f, 2.881445885e-01f, 3.849303424e-01f,
     4.452007115e-01f, 4.772498608e-01f, 4.918024540e-01f, 4.974448681e-01f,
     4.993128479e-01f, 4.998408854e-01f, 4.999683201e-01f, 4.999945760e-01f,
     4.999991953e-01f, 4.999999106e-01f, 5.000000000e-01f, 5.000000000e-01f},
};

/// x * Phi(x) = x / 2 + |x| g(|x|) (x erf(x) is even): no exp, no divide,
/// no select; 6 vpermps and 5 FMAs of the table above, ~18 uops a zmm
/// against ~37 for the erfc form (exp + reciprocal + 10-term fit) that
/// this replaced. Phi is accurate to ~3e-8 absolute (float rounding), like
/// ONNX Runtime's and PyTorch's erf-based GELU: relative accuracy for
/// x >= -1, absolute (|err| <= ~1e-7 |x|) in the negative tail, where
/// EpilogueGeneric's erfc form stays the accurate reference. NaN stays NaN
/// (min returns its second operand, the NaN x goes through the last FMA).
TFC_AVX512 inline __m512 geluV(__m512 x) {
  const __m512 magic = _mm512_set1_ps(8388608.0f); // 2^23: round to integer
  const __m512 a = _mm512_abs_ps(x);
  const __m512 s = _mm512_min_ps(_mm512_mul_ps(a, _mm512_set1_ps(2.5f)),
                                 _mm512_set1_ps(15.0f));
  const __m512 t = _mm512_add_ps(s, magic); // round(s) in the low bits
  const __m512 u = _mm512_sub_ps(s, _mm512_sub_ps(t, magic));
  const __m512i idx = _mm512_castps_si512(t);
  __m512 p = _mm512_permutexvar_ps(idx, _mm512_load_ps(kGeluTab[0]));
  for (int j = 1; j < 6; ++j)
    p = _mm512_fmadd_ps(
        p, u, _mm512_permutexvar_ps(idx, _mm512_load_ps(kGeluTab[j])));
  return _mm512_fmadd_ps(a, p, _mm512_mul_ps(x, _mm512_set1_ps(0.5f)));
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
