//===- FormatBf16Avx512.cpp - TFC_PACK_BF16 with AVX512_BF16 --------------===//
//
// Target attributes on functions in an anonymous namespace only (see
// Gemm/KernelsAvx512.cpp). vdpbf16ps multiplies pairs of bf16 and adds both
// products to an f32 lane, so the activations are rounded to bf16 (nearest
// even) in prepare(): this level's results differ from the AVX2 / generic
// ones (f32 activations times widened weights) by that rounding.
// A k step of 2 of one panel is 2 zmm (columns 0-15, 16-31, each lane a
// pair); each row broadcasts its pair. Tile: up to 6 rows x 2 panels = 24
// accumulators + 4 weights + 1 broadcast.
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

#include <cstring>

#define TFC_BF16                                                               \
  __attribute__((                                                              \
      target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma")))

namespace tfcrt {
namespace linear {
namespace quant {
namespace {

size_t scratchBytes(const tfc_pack_header &h, int64_t m) {
  return Bf16Scratch(h.k, m).bytes;
}

/// Rows as bf16 pairs [m][k2A] (k padded with zeros).
TFC_BF16 void prepare(const tfc_pack_header &h, const Rows &x, int64_t i0,
                      int64_t i1, void *scratch) {
  const Bf16Scratch sl(h.k, x.m);
  uint16_t *base = reinterpret_cast<uint16_t *>(alignScratch(scratch));
  const int64_t width = sl.k2A * 2; // bf16 values per row
  for (int64_t i = i0; i < i1; ++i) {
    uint16_t *d = base + i * width;
    const float *row = x.x + i * x.sm;
    if (x.sk != 1) {
      for (int64_t kk = 0; kk < width; ++kk)
        d[kk] = kk < x.k ? toBf16(row[kk * x.sk]) : 0;
      continue;
    }
    for (int64_t kk = 0; kk < width; kk += 32) {
      const int64_t left = x.k - kk;
      const __mmask16 m0 = left >= 16 ? __mmask16(0xFFFF)
                           : left > 0 ? __mmask16((1u << left) - 1)
                                      : 0;
      const __mmask16 m1 = left >= 32  ? __mmask16(0xFFFF)
                           : left > 16 ? __mmask16((1u << (left - 16)) - 1)
                                       : 0;
      const __m512 a = _mm512_maskz_loadu_ps(m0, row + kk);
      const __m512 b = _mm512_maskz_loadu_ps(m1, row + kk + 16);
      // Lower 16 results from the second operand: values stay in order.
      _mm512_storeu_si512(d + kk, (__m512i)_mm512_cvtne2ps_pbh(b, a));
    }
  }
}

template <int R, int P>
TFC_BF16 void tile(const uint32_t *a, int64_t lda, const uint16_t *w,
                   int64_t panelElems, int64_t k2, float *out, int64_t ldo) {
  __m512 acc[R][2 * P];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < 2 * P; ++v)
      acc[r][v] = _mm512_setzero_ps();
  for (int64_t kk = 0; kk < k2; ++kk) {
    __m512bh b[2 * P];
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) {
      const uint16_t *wp = w + p * panelElems + kk * 64;
      b[2 * p] = (__m512bh)_mm512_loadu_si512(wp);
      b[2 * p + 1] = (__m512bh)_mm512_loadu_si512(wp + 32);
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m512bh av =
          (__m512bh)_mm512_set1_epi32(static_cast<int>(a[r * lda + kk]));
#pragma GCC unroll 4
      for (int v = 0; v < 2 * P; ++v)
        acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, b[v]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < 2 * P; ++v)
      _mm512_storeu_ps(out + r * ldo + 16 * v, acc[r][v]);
}

constexpr int kR = 6, kP = 2;
using TileFn = void (*)(const uint32_t *, int64_t, const uint16_t *, int64_t,
                        int64_t, float *, int64_t);
template <int R> struct TileRow {
  static constexpr TileFn fns[kP] = {&tile<R, 1>, &tile<R, 2>};
};
template <int R> constexpr TileFn TileRow<R>::fns[kP];
constexpr const TileFn *kTiles[kR] = {TileRow<1>::fns, TileRow<2>::fns,
                                      TileRow<3>::fns, TileRow<4>::fns,
                                      TileRow<5>::fns, TileRow<6>::fns};

TFC_BF16 void compute(const tfc_pack_header &h, const Rows &x,
                      const void *scratch, int64_t i0, int64_t i1, int64_t p0,
                      int64_t p1, float *out, int64_t ldo) {
  const Bf16Scratch sl(h.k, x.m);
  const uint32_t *a = reinterpret_cast<const uint32_t *>(alignScratch(scratch));
  const uint16_t *data = reinterpret_cast<const uint16_t *>(
      reinterpret_cast<const unsigned char *>(&h) + h.data_offset);
  const int64_t k2 = ceilDiv(h.k, 2), panelElems = k2 * 64;
  for (int64_t p = p0; p < p1; p += kP) {
    const int np = p1 - p < kP ? static_cast<int>(p1 - p) : kP;
    for (int64_t i = i0; i < i1; i += kR) {
      const int r = i1 - i < kR ? static_cast<int>(i1 - i) : kR;
      kTiles[r - 1][np - 1](a + i * sl.k2A, sl.k2A, data + p * panelElems,
                            panelElems, k2,
                            out + (i - i0) * ldo + (p - p0) * 32, ldo);
    }
  }
}

const FormatImpl kImpl = {&scratchBytes, &prepare, &compute,
                          /*rowBlock=*/48, "bf16-avx512-bf16"};

} // namespace

const FormatImpl *bf16Avx512Bf16() { return &kImpl; }

} // namespace quant
} // namespace linear
} // namespace tfcrt

#else

namespace tfcrt {
namespace linear {
namespace quant {
const FormatImpl *bf16Avx512Bf16() { return nullptr; }
} // namespace quant
} // namespace linear
} // namespace tfcrt

#endif
