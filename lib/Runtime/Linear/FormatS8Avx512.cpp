//===- FormatS8Avx512.cpp - TFC_PACK_S8 with AVX512_VNNI ------------------===//
//
// Compiled for the baseline ISA; every function that uses AVX-512 carries a
// target attribute and lives in an anonymous namespace (or, for the two
// activation helpers the W formats share, is an ordinary external function
// only called on a CPU that has AVX-512), so no AVX-512 code can leak into a
// shared inline symbol.
//
// vpdpbusd multiplies u8 by s8: prepare() stores the s8 activations + 128
// as u8, and the kernel takes 128 * (column sum of W) back out, which is
// exact (the symmetric s8 activations never reach -128, so +128 fits u8).
// Micro-tile 8 rows x 3 panels (48 columns): 24 zmm accumulators + 3 of
// weights + 1 broadcast; per k step of 4, 3 loads and 8 broadcasts feed 24
// vpdpbusd (each 64 multiply-adds).
//
//===----------------------------------------------------------------------===//

#include "FormatQuant.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 headers seed some intrinsics with _mm512_undefined_*(),
// which -Wuninitialized reports falsely once they are inlined here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cmath>
#include <cstring>

#define TFC_AVX512                                                             \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define TFC_VNNI                                                               \
  __attribute__((                                                              \
      target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma")))

namespace tfcrt {
namespace linear {
namespace quant {

TFC_AVX512 float absMaxAvx512(const float *x, int64_t len, int64_t sk,
                              bool *nan) {
  if (sk != 1) {
    float amax = 0.0f;
    bool isNan = false;
    for (int64_t t = 0; t < len; ++t) {
      const float a = std::fabs(x[t * sk]);
      isNan |= a != a;
      amax = a > amax ? a : amax;
    }
    *nan = isNan;
    return amax;
  }
  __m512 m = _mm512_setzero_ps();
  __mmask16 nanMask = 0;
  for (int64_t t = 0; t < len; t += 16) {
    const __mmask16 mk =
        len - t >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (len - t)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(mk, x + t);
    nanMask |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    // max(a, b) answers b when a is NaN: NaN is left out of the maximum.
    m = _mm512_max_ps(_mm512_abs_ps(v), m);
  }
  *nan = nanMask != 0;
  return _mm512_reduce_max_ps(m);
}

TFC_AVX512 int32_t quantizeAvx512(const float *x, int64_t len, int64_t sk,
                                  float inv, int8_t *q, uint8_t flip) {
  const __m512 vinv = _mm512_set1_ps(inv);
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
  const __m128i vflip = _mm_set1_epi8(static_cast<char>(flip));
  __m512i sum = _mm512_setzero_si512();
  int64_t t = 0;
  if (sk == 1)
    for (; t < len; t += 16) {
      const __mmask16 mk =
          len - t >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (len - t)) - 1);
      const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, x + t), vinv);
      __m512i c = _mm512_cvtps_epi32(v); // nearest even; NaN -> INT_MIN
      c = _mm512_min_epi32(_mm512_max_epi32(c, lo), hi);
      c = _mm512_maskz_mov_epi32(mk, c);
      sum = _mm512_add_epi32(sum, c);
      const __m128i b = _mm_xor_si128(_mm512_cvtepi32_epi8(c), vflip);
      _mm_mask_storeu_epi8(q + t, mk, b);
    }
  int32_t s = _mm512_reduce_add_epi32(sum);
  for (; t < len; ++t) {
    const int8_t v = quantizeAct(x[t * sk], inv);
    s += v;
    q[t] = static_cast<int8_t>(v ^ flip);
  }
  return s;
}

namespace {

constexpr int kR = 8, kV = 3;

size_t scratchBytes(const tfc_pack_header &h, int64_t m) {
  return S8Scratch(h.k, m).bytes;
}

TFC_AVX512 void prepare(const tfc_pack_header &h, const Rows &x, int64_t i0,
                        int64_t i1, void *scratch) {
  const S8Scratch sl(h.k, x.m);
  unsigned char *base = alignScratch(scratch);
  float *scales = reinterpret_cast<float *>(base + sl.scalesOffset);
  const bool isStatic = h.flags & TFC_PACK_FLAG_ACT_STATIC;
  for (int64_t i = i0; i < i1; ++i) {
    const float *row = x.x + i * x.sm;
    bool nan;
    const float amax = absMaxAvx512(row, x.k, x.sk, &nan);
    float sx = isStatic ? h.act_scale : actScale(amax);
    const float inv = isStatic ? 1.0f / h.act_scale : actInverse(amax);
    int8_t *q = reinterpret_cast<int8_t *>(base + i * sl.rowBytes);
    std::memset(q, 0x80, sl.rowBytes); // u8 128 = s8 0
    quantizeAvx512(row, x.k, x.sk, inv, q, 0x80);
    scales[i] = nan ? std::nanf("") : sx;
  }
}

/// R rows x V panels of 16 columns, all of k.
template <int R, int V>
TFC_VNNI void tile(const uint8_t *a, int64_t lda, const int8_t *w,
                   int64_t panelBytes, int64_t k4, const float *sx,
                   const float *sw, const int32_t *colSums, float *out,
                   int64_t ldo) {
  __m512i acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v)
      acc[r][v] = _mm512_setzero_si512();
  for (int64_t kk = 0; kk < k4; ++kk) {
    __m512i b[V];
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v)
      b[v] = _mm512_loadu_si512(w + v * panelBytes + kk * 64);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      int32_t bits;
      std::memcpy(&bits, a + r * lda + 4 * kk, 4);
      const __m512i av = _mm512_set1_epi32(bits);
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, b[v]);
    }
  }
#pragma GCC unroll 3
  for (int v = 0; v < V; ++v) {
    const __m512i corr =
        _mm512_slli_epi32(_mm512_loadu_si512(colSums + 16 * v), 7);
    const __m512 swv = _mm512_loadu_ps(sw + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 t = _mm512_mul_ps(_mm512_set1_ps(sx[r]), swv);
      const __m512 y = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][v], corr));
      _mm512_storeu_ps(out + r * ldo + 16 * v, _mm512_mul_ps(y, t));
    }
  }
}

using TileFn = void (*)(const uint8_t *, int64_t, const int8_t *, int64_t,
                        int64_t, const float *, const float *, const int32_t *,
                        float *, int64_t);

template <int R> struct TileRow {
  static constexpr TileFn fns[kV] = {&tile<R, 1>, &tile<R, 2>, &tile<R, 3>};
};
template <int R> constexpr TileFn TileRow<R>::fns[kV];
constexpr const TileFn *kTiles[kR] = {
    TileRow<1>::fns, TileRow<2>::fns, TileRow<3>::fns, TileRow<4>::fns,
    TileRow<5>::fns, TileRow<6>::fns, TileRow<7>::fns, TileRow<8>::fns};

TFC_VNNI void compute(const tfc_pack_header &h, const Rows &x,
                      const void *scratch, int64_t i0, int64_t i1, int64_t p0,
                      int64_t p1, float *out, int64_t ldo) {
  const S8Scratch sl(h.k, x.m);
  const unsigned char *base = alignScratch(scratch);
  const float *sx = reinterpret_cast<const float *>(base + sl.scalesOffset);
  const unsigned char *blob = reinterpret_cast<const unsigned char *>(&h);
  const int8_t *data = reinterpret_cast<const int8_t *>(blob + h.data_offset);
  const float *sw = reinterpret_cast<const float *>(blob + h.scales_offset);
  const int32_t *sums =
      reinterpret_cast<const int32_t *>(blob + h.extra_offset);
  const int64_t k4 = ceilDiv(h.k, 4), panelBytes = k4 * 64;
  for (int64_t p = p0; p < p1; p += kV) {
    const int v = p1 - p < kV ? static_cast<int>(p1 - p) : kV;
    for (int64_t i = i0; i < i1; i += kR) {
      const int r = i1 - i < kR ? static_cast<int>(i1 - i) : kR;
      kTiles[r - 1][v - 1](base + i * sl.rowBytes, sl.rowBytes,
                           data + p * panelBytes, panelBytes, k4, sx + i,
                           sw + p * 16, sums + p * 16,
                           out + (i - i0) * ldo + (p - p0) * 16, ldo);
    }
  }
}

const FormatImpl kImpl = {&scratchBytes, &prepare, &compute,
                          /*rowBlock=*/64, "s8-avx512-vnni"};

} // namespace

const FormatImpl *s8Avx512Vnni() { return &kImpl; }

} // namespace quant
} // namespace linear
} // namespace tfcrt

#else

namespace tfcrt {
namespace linear {
namespace quant {
const FormatImpl *s8Avx512Vnni() { return nullptr; }
} // namespace quant
} // namespace linear
} // namespace tfcrt

#endif
