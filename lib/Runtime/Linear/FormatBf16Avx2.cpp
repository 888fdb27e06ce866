//===- FormatBf16Avx2.cpp - TFC_PACK_BF16 with AVX2 + FMA -----------------===//
//
// Target attributes on functions in an anonymous namespace only. Zen 3 has
// no bf16 arithmetic: a 32-bit lane of the packed panel is the pair (k, k+1)
// of one column, so a shift left by 16 widens the even k and a mask the odd
// one to f32, and two FMAs with f32 activations (not rounded, unlike the
// AVX512_BF16 level) consume them. Tile: 2 rows x one panel (32 columns):
// 8 accumulators, 2 widened weights, 4 broadcasts.
//
//===----------------------------------------------------------------------===//

#include "FormatQuant.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>

#define TFC_AVX2 __attribute__((target("avx2,fma")))

namespace tfcrt {
namespace linear {
namespace quant {
namespace {

size_t scratchBytes(const tfc_pack_header &h, int64_t m) {
  return Bf16Scratch(h.k, m).bytes;
}

/// Rows as f32 [m][2 * k2A], k padded with zeros.
TFC_AVX2 void prepare(const tfc_pack_header &h, const Rows &x, int64_t i0,
                      int64_t i1, void *scratch) {
  const Bf16Scratch sl(h.k, x.m);
  float *base = reinterpret_cast<float *>(alignScratch(scratch));
  const int64_t width = sl.k2A * 2;
  for (int64_t i = i0; i < i1; ++i) {
    float *d = base + i * width;
    const float *row = x.x + i * x.sm;
    if (x.sk == 1)
      std::memcpy(d, row, x.k * sizeof(float));
    else
      for (int64_t kk = 0; kk < x.k; ++kk)
        d[kk] = row[kk * x.sk];
    std::memset(d + x.k, 0, (width - x.k) * sizeof(float));
  }
}

template <int R>
TFC_AVX2 void tile(const float *a, int64_t lda, const uint16_t *w, int64_t k2,
                   float *out, int64_t ldo) {
  const __m256i hiMask = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
  __m256 acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < 4; ++v)
      acc[r][v] = _mm256_setzero_ps();
  for (int64_t kk = 0; kk < k2; ++kk) {
    __m256 x0[R], x1[R];
    for (int r = 0; r < R; ++r) {
      x0[r] = _mm256_broadcast_ss(a + r * lda + 2 * kk);
      x1[r] = _mm256_broadcast_ss(a + r * lda + 2 * kk + 1);
    }
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      const __m256i p = _mm256_loadu_si256(
          reinterpret_cast<const __m256i *>(w + kk * 64 + 16 * v));
      const __m256 even = _mm256_castsi256_ps(_mm256_slli_epi32(p, 16));
      const __m256 odd = _mm256_castsi256_ps(_mm256_and_si256(p, hiMask));
      for (int r = 0; r < R; ++r) {
        acc[r][v] = _mm256_fmadd_ps(x0[r], even, acc[r][v]);
        acc[r][v] = _mm256_fmadd_ps(x1[r], odd, acc[r][v]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < 4; ++v)
      _mm256_storeu_ps(out + r * ldo + 8 * v, acc[r][v]);
}

constexpr int kR = 2;

TFC_AVX2 void compute(const tfc_pack_header &h, const Rows &x,
                      const void *scratch, int64_t i0, int64_t i1, int64_t p0,
                      int64_t p1, float *out, int64_t ldo) {
  const Bf16Scratch sl(h.k, x.m);
  const float *a = reinterpret_cast<const float *>(alignScratch(scratch));
  const uint16_t *data = reinterpret_cast<const uint16_t *>(
      reinterpret_cast<const unsigned char *>(&h) + h.data_offset);
  const int64_t k2 = ceilDiv(h.k, 2), width = sl.k2A * 2;
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t i = i0; i < i1; i += kR) {
      const uint16_t *w = data + p * k2 * 64;
      float *o = out + (i - i0) * ldo + (p - p0) * 32;
      if (i1 - i >= 2)
        tile<2>(a + i * width, width, w, k2, o, ldo);
      else
        tile<1>(a + i * width, width, w, k2, o, ldo);
    }
}

const FormatImpl kImpl = {&scratchBytes, &prepare, &compute,
                          /*rowBlock=*/64, "bf16-avx2"};

} // namespace

const FormatImpl *bf16Avx2() { return &kImpl; }

} // namespace quant
} // namespace linear
} // namespace tfcrt

#else

namespace tfcrt {
namespace linear {
namespace quant {
const FormatImpl *bf16Avx2() { return nullptr; }
} // namespace quant
} // namespace linear
} // namespace tfcrt

#endif
