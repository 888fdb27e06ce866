//===- FormatS8Avx2.cpp - TFC_PACK_S8 with AVX2 (no VNNI) -----------------===//
//
// Target attributes on functions in an anonymous namespace, as in
// Gemm/KernelsAvx2.cpp (the two activation helpers shared with the W
// formats are ordinary external functions only called on AVX2 CPUs).
//
// vpmaddubsw multiplies u8 by s8 and adds pairs with int16 saturation. The
// sign trick feeds it |x| (u8, <= 127) and sign(x) * w (s8, |w| <= 127):
// a pair sum is at most 2 * 127 * 127 = 32258 < 32767, so nothing
// saturates and the int32 sums (vpmaddwd by ones) are exact -- which is why
// both activations and weights are symmetric (no -128).
// Micro-tile 4 rows x one panel (16 columns = 2 ymm): 8 accumulators + 2
// weights + |x|, x, a temporary and the ones = 14 of 16 ymm.
//
//===----------------------------------------------------------------------===//

#include "FormatQuant.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cmath>
#include <cstring>

#define TFC_AVX2 __attribute__((target("avx2,fma")))

namespace tfcrt {
namespace linear {
namespace quant {

TFC_AVX2 float absMaxAvx2(const float *x, int64_t len, int64_t sk, bool *nan) {
  float amax = 0.0f;
  bool isNan = false;
  int64_t t = 0;
  if (sk == 1 && len >= 8) {
    const __m256 signBit = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    int nanBits = 0;
    for (; t + 8 <= len; t += 8) {
      const __m256 v = _mm256_loadu_ps(x + t);
      nanBits |= _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      // max(a, b) answers b when a is NaN: NaN is left out of the maximum.
      m = _mm256_max_ps(_mm256_andnot_ps(signBit, v), m);
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, m);
    for (float l : lanes)
      amax = l > amax ? l : amax;
    isNan = nanBits != 0;
  }
  for (; t < len; ++t) {
    const float a = std::fabs(x[t * sk]);
    isNan |= a != a;
    amax = a > amax ? a : amax;
  }
  *nan = isNan;
  return amax;
}

TFC_AVX2 int32_t quantizeAvx2(const float *x, int64_t len, int64_t sk,
                              float inv, int8_t *q, uint8_t flip) {
  int32_t s = 0;
  int64_t t = 0;
  if (sk == 1) {
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    const __m256i vflip = _mm256_set1_epi8(static_cast<char>(flip));
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i sum = _mm256_setzero_si256();
    for (; t + 32 <= len; t += 32) {
      __m256i c[4];
      for (int j = 0; j < 4; ++j) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + t + 8 * j), vinv);
        c[j] = _mm256_cvtps_epi32(v); // nearest even; NaN -> INT_MIN
        c[j] = _mm256_min_epi32(_mm256_max_epi32(c[j], lo), hi);
        sum = _mm256_add_epi32(sum, c[j]);
      }
      // Values are within +-127: the saturating packs are plain narrowing.
      __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(c[0], c[1]),
                                     _mm256_packs_epi32(c[2], c[3]));
      b = _mm256_permutevar8x32_epi32(b, order);
      _mm256_storeu_si256(reinterpret_cast<__m256i *>(q + t),
                          _mm256_xor_si256(b, vflip));
    }
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i *>(lanes), sum);
    for (int32_t l : lanes)
      s += l;
  }
  for (; t < len; ++t) {
    const int8_t v = quantizeAct(x[t * sk], inv);
    s += v;
    q[t] = static_cast<int8_t>(v ^ flip);
  }
  return s;
}

namespace {

constexpr int kR = 4;

size_t scratchBytes(const tfc_pack_header &h, int64_t m) {
  return S8Scratch(h.k, m).bytes;
}

TFC_AVX2 void prepare(const tfc_pack_header &h, const Rows &x, int64_t i0,
                      int64_t i1, void *scratch) {
  const S8Scratch sl(h.k, x.m);
  unsigned char *base = alignScratch(scratch);
  float *scales = reinterpret_cast<float *>(base + sl.scalesOffset);
  const bool isStatic = h.flags & TFC_PACK_FLAG_ACT_STATIC;
  for (int64_t i = i0; i < i1; ++i) {
    const float *row = x.x + i * x.sm;
    bool nan;
    const float amax = absMaxAvx2(row, x.k, x.sk, &nan);
    float sx = isStatic ? h.act_scale : actScale(amax);
    const float inv = isStatic ? 1.0f / h.act_scale : actInverse(amax);
    int8_t *q = reinterpret_cast<int8_t *>(base + i * sl.rowBytes);
    std::memset(q, 0, sl.rowBytes);
    quantizeAvx2(row, x.k, x.sk, inv, q, 0);
    scales[i] = nan ? std::nanf("") : sx;
  }
}

/// R rows x one panel (16 columns), all of k.
template <int R>
TFC_AVX2 void tile(const int8_t *a, int64_t lda, const int8_t *w, int64_t k4,
                   const float *sx, const float *sw, float *out, int64_t ldo) {
  __m256i acc[R][2];
  for (int r = 0; r < R; ++r)
    acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t kk = 0; kk < k4; ++kk) {
    const __m256i b0 =
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + kk * 64));
    const __m256i b1 =
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + kk * 64 + 32));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      int32_t bits;
      std::memcpy(&bits, a + r * lda + 4 * kk, 4);
      const __m256i xv = _mm256_set1_epi32(bits);
      const __m256i xa = _mm256_abs_epi8(xv);
      const __m256i t0 = _mm256_maddubs_epi16(xa, _mm256_sign_epi8(b0, xv));
      const __m256i t1 = _mm256_maddubs_epi16(xa, _mm256_sign_epi8(b1, xv));
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(t0, ones));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(t1, ones));
    }
  }
  for (int v = 0; v < 2; ++v) {
    const __m256 swv = _mm256_loadu_ps(sw + 8 * v);
    for (int r = 0; r < R; ++r) {
      const __m256 t = _mm256_mul_ps(_mm256_set1_ps(sx[r]), swv);
      _mm256_storeu_ps(out + r * ldo + 8 * v,
                       _mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][v]), t));
    }
  }
}

using TileFn = void (*)(const int8_t *, int64_t, const int8_t *, int64_t,
                        const float *, const float *, float *, int64_t);
constexpr TileFn kTiles[kR] = {&tile<1>, &tile<2>, &tile<3>, &tile<4>};

TFC_AVX2 void compute(const tfc_pack_header &h, const Rows &x,
                      const void *scratch, int64_t i0, int64_t i1, int64_t p0,
                      int64_t p1, float *out, int64_t ldo) {
  const S8Scratch sl(h.k, x.m);
  const unsigned char *base = alignScratch(scratch);
  const float *sx = reinterpret_cast<const float *>(base + sl.scalesOffset);
  const unsigned char *blob = reinterpret_cast<const unsigned char *>(&h);
  const int8_t *data = reinterpret_cast<const int8_t *>(blob + h.data_offset);
  const float *sw = reinterpret_cast<const float *>(blob + h.scales_offset);
  const int64_t k4 = ceilDiv(h.k, 4), panelBytes = k4 * 64;
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t i = i0; i < i1; i += kR) {
      const int r = i1 - i < kR ? static_cast<int>(i1 - i) : kR;
      kTiles[r - 1](reinterpret_cast<const int8_t *>(base + i * sl.rowBytes),
                    sl.rowBytes, data + p * panelBytes, k4, sx + i, sw + p * 16,
                    out + (i - i0) * ldo + (p - p0) * 16, ldo);
    }
}

const FormatImpl kImpl = {&scratchBytes, &prepare, &compute,
                          /*rowBlock=*/64, "s8-avx2"};

} // namespace

const FormatImpl *s8Avx2() { return &kImpl; }

} // namespace quant
} // namespace linear
} // namespace tfcrt

#else

namespace tfcrt {
namespace linear {
namespace quant {
const FormatImpl *s8Avx2() { return nullptr; }
} // namespace quant
} // namespace linear
} // namespace tfcrt

#endif
