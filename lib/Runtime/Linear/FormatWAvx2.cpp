//===- FormatWAvx2.cpp - TFC_PACK_W8 / W4 with AVX2 -----------------------===//
//
// Target attributes on functions in an anonymous namespace only. A panel
// (32 columns) is done in two halves of 16 columns per group (the group's
// bytes stay in L1 for the second half), since 16 ymm registers do not hold
// a whole panel's accumulators.
//
// Int8Act: W4 codes (u8 0..15) times s8 activations by vpmaddubsw cannot
// saturate (2 * 15 * 127), nor can a whole block's int16 sums (16 * 15 *
// 127 = 30480), so W4 widens to int32 once per block. W8 codes (u8 0..255)
// could saturate, so W8 takes the sign trick of the S8 kernel on q = u -
// 128: |q| (u8 <= 128) times sign(q) * x (|x| <= 127), pairs <= 2 * 128 *
// 127 = 32512; its sums are of q, so the zero point used is zu - 128.
// F32Act: as on AVX-512, lanes are (column, k mod 4): a ymm holds 2 columns
// x 4 consecutive k.
//
//===----------------------------------------------------------------------===//

#include "FormatQuant.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#define TFC_AVX2 __attribute__((target("avx2,fma")))

namespace tfcrt {
namespace linear {
namespace quant {
namespace {

//===-- Int8Act -----------------------------------------------------------===//

size_t qScratchBytes(const tfc_pack_header &h, int64_t m) {
  return WQScratch(h, m).bytes;
}

TFC_AVX2 void qPrepare(const tfc_pack_header &h, const Rows &x, int64_t i0,
                       int64_t i1, void *scratch) {
  const WGeom geo(h);
  const WQScratch sl(h, x.m);
  unsigned char *base = alignScratch(scratch);
  for (int64_t i = i0; i < i1; ++i) {
    int8_t *q = reinterpret_cast<int8_t *>(base + i * sl.kpA);
    float *sx = reinterpret_cast<float *>(base + sl.sxOffset) + i * sl.nbA;
    float *qs = reinterpret_cast<float *>(base + sl.aOffset) + i * sl.nbA;
    const float *row = x.x + i * x.sm;
    std::memset(q, 0, sl.kpA);
    for (int64_t b = 0; b < geo.blocks; ++b) {
      const int64_t k0 = b * kActBlock;
      const int64_t len = std::min<int64_t>(kActBlock, x.k - k0);
      bool nan;
      const float amax = absMaxAvx2(row + k0 * x.sk, len, x.sk, &nan);
      const int32_t sum =
          quantizeAvx2(row + k0 * x.sk, len, x.sk, actInverse(amax), q + k0, 0);
      sx[b] = nan ? __builtin_nanf("") : actScale(amax);
      qs[b] = static_cast<float>(sum);
    }
  }
}

/// Columns of accumulator v (0, 1) in half `half` of a panel.
template <bool W4> inline int columnOf(int half, int v) {
  return W4 ? 16 * v + 8 * half : 16 * half + 8 * v;
}

/// R rows x one panel, both halves per group; out accumulates over groups.
/// Prefetch distance of the Int8Act kernels, in blocks of 32 k.
constexpr int64_t kPrefetchBlocks = 8;

template <int R, bool W4>
TFC_AVX2 void qTile(const int8_t *q, int64_t ldq, const float *sx, int64_t ldsx,
                    const float *ag, int64_t ldag, const uint8_t *panel,
                    const float *sc, const float *zp, float zconst,
                    const WGeom &geo, float *out, int64_t ldo) {
  constexpr int64_t kStep = W4 ? 64 : 128;
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i nib = _mm256_set1_epi8(0x0F), bias = _mm256_set1_epi8(-128);
  // W8 sums are of q = u - 128 (sign trick), so its zero point is zu - 128.
  const float zshift = W4 ? 0.0f : 128.0f;
  for (int64_t g = 0; g < geo.groups; ++g) {
    const int64_t b0 = g * geo.gs / kActBlock;
    const int64_t b1 = std::min((g + 1) * geo.gs, geo.kp) / kActBlock;
    for (int half = 0; half < 2; ++half) {
      __m256 yg[R][2];
      for (int r = 0; r < R; ++r)
        yg[r][0] = yg[r][1] = _mm256_setzero_ps();
      __m256 zv[2];
      for (int v = 0; v < 2; ++v) {
        const int c = columnOf<W4>(half, v);
        zv[v] = _mm256_sub_ps(zp ? _mm256_loadu_ps(zp + g * 32 + c)
                                 : _mm256_set1_ps(zconst),
                              _mm256_set1_ps(zshift));
      }
      for (int64_t b = b0; b < b1; ++b) {
        const uint8_t *pb = panel + b * 8 * kStep + half * (kStep / 2);
        // Software prefetch kPrefetchBlocks ahead (as in FormatWAvx512.cpp);
        // the second half re-reads the group from cache.
        if (half == 0)
          for (int64_t l = 0; l < 8 * kStep; l += 64)
            _mm_prefetch(reinterpret_cast<const char *>(pb) +
                             kPrefetchBlocks * 8 * kStep + l,
                         _MM_HINT_T0);
        __m256i acc[R][2];
        for (int r = 0; r < R; ++r)
          acc[r][0] = acc[r][1] = _mm256_setzero_si256();
#pragma GCC unroll 2
        for (int s = 0; s < 8; ++s) {
          __m256i w0, w1;
          if (W4) {
            const __m256i v = _mm256_loadu_si256(
                reinterpret_cast<const __m256i *>(pb + s * kStep));
            w0 = _mm256_and_si256(v, nib);
            w1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
          } else {
            w0 = _mm256_xor_si256(
                _mm256_loadu_si256(
                    reinterpret_cast<const __m256i *>(pb + s * kStep)),
                bias);
            w1 = _mm256_xor_si256(
                _mm256_loadu_si256(
                    reinterpret_cast<const __m256i *>(pb + s * kStep + 32)),
                bias);
          }
          const __m256i a0 = W4 ? w0 : _mm256_abs_epi8(w0);
          const __m256i a1 = W4 ? w1 : _mm256_abs_epi8(w1);
#pragma GCC unroll 2
          for (int r = 0; r < R; ++r) {
            int32_t bits;
            std::memcpy(&bits, q + r * ldq + b * kActBlock + 4 * s, 4);
            const __m256i xv = _mm256_set1_epi32(bits);
            const __m256i x0 = W4 ? xv : _mm256_sign_epi8(xv, w0);
            const __m256i x1 = W4 ? xv : _mm256_sign_epi8(xv, w1);
            if (W4) {
              // int16 sums of a block: 16 products of <= 15 x 127 each,
              // at most 30480, so vpmaddwd waits for the block's end.
              acc[r][0] =
                  _mm256_add_epi16(acc[r][0], _mm256_maddubs_epi16(a0, x0));
              acc[r][1] =
                  _mm256_add_epi16(acc[r][1], _mm256_maddubs_epi16(a1, x1));
            } else {
              acc[r][0] = _mm256_add_epi32(
                  acc[r][0],
                  _mm256_madd_epi16(_mm256_maddubs_epi16(a0, x0), ones));
              acc[r][1] = _mm256_add_epi32(
                  acc[r][1],
                  _mm256_madd_epi16(_mm256_maddubs_epi16(a1, x1), ones));
            }
          }
        }
        if (W4)
          for (int r = 0; r < R; ++r) {
            acc[r][0] = _mm256_madd_epi16(acc[r][0], ones);
            acc[r][1] = _mm256_madd_epi16(acc[r][1], ones);
          }
        for (int r = 0; r < R; ++r) {
          const __m256 s = _mm256_set1_ps(sx[r * ldsx + b]);
          const __m256 qsum = _mm256_set1_ps(ag[r * ldag + b]);
          // acc - z * qsum: integers below 2^24, exact in f32.
          yg[r][0] = _mm256_fmadd_ps(
              s, _mm256_fnmadd_ps(zv[0], qsum, _mm256_cvtepi32_ps(acc[r][0])),
              yg[r][0]);
          yg[r][1] = _mm256_fmadd_ps(
              s, _mm256_fnmadd_ps(zv[1], qsum, _mm256_cvtepi32_ps(acc[r][1])),
              yg[r][1]);
        }
      }
      for (int v = 0; v < 2; ++v) {
        const int c = columnOf<W4>(half, v);
        const __m256 s = _mm256_loadu_ps(sc + g * 32 + c);
        for (int r = 0; r < R; ++r) {
          float *o = out + r * ldo + c;
          const __m256 prev = g ? _mm256_loadu_ps(o) : _mm256_setzero_ps();
          _mm256_storeu_ps(o, _mm256_fmadd_ps(s, yg[r][v], prev));
        }
      }
    }
  }
}

constexpr int kQR = 2;
using QTileFn = void (*)(const int8_t *, int64_t, const float *, int64_t,
                         const float *, int64_t, const uint8_t *, const float *,
                         const float *, float, const WGeom &, float *, int64_t);

template <bool W4>
TFC_AVX2 void qCompute(const tfc_pack_header &h, const Rows &x,
                       const void *scratch, int64_t i0, int64_t i1, int64_t p0,
                       int64_t p1, float *out, int64_t ldo) {
  static constexpr QTileFn tiles[kQR] = {&qTile<1, W4>, &qTile<2, W4>};
  const WGeom geo(h);
  const WQScratch sl(h, x.m);
  const WBlob blob(h, geo);
  const unsigned char *base = alignScratch(scratch);
  const int8_t *q = reinterpret_cast<const int8_t *>(base);
  const float *sx = reinterpret_cast<const float *>(base + sl.sxOffset);
  const float *ag = reinterpret_cast<const float *>(base + sl.aOffset);
  for (int64_t p = p0; p < p1; ++p) {
    const float *sc = blob.scales + p * geo.groups * 32;
    const float *zp = blob.zeros ? blob.zeros + p * geo.groups * 32 : nullptr;
    for (int64_t i = i0; i < i1; i += kQR) {
      const int r = i1 - i < kQR ? static_cast<int>(i1 - i) : kQR;
      tiles[r - 1](q + i * sl.kpA, sl.kpA, sx + i * sl.nbA, sl.nbA,
                   ag + i * sl.nbA, sl.nbA, blob.data + p * blob.panelBytes, sc,
                   zp, blob.zeroConst, geo,
                   out + (i - i0) * ldo + (p - p0) * 32, ldo);
    }
  }
}

//===-- F32Act ------------------------------------------------------------===//

size_t fScratchBytes(const tfc_pack_header &h, int64_t m) {
  return WFScratch(h, m).bytes;
}

TFC_AVX2 void fPrepare(const tfc_pack_header &h, const Rows &x, int64_t i0,
                       int64_t i1, void *scratch) {
  const WGeom geo(h);
  const WFScratch sl(h, x.m);
  unsigned char *base = alignScratch(scratch);
  for (int64_t i = i0; i < i1; ++i) {
    float *xr = reinterpret_cast<float *>(base) + i * sl.kpA;
    float *sums =
        reinterpret_cast<float *>(base + sl.sumOffset) + i * sl.gA * 4;
    const float *row = x.x + i * x.sm;
    for (int64_t kk = 0; kk < x.k; ++kk)
      xr[kk] = row[kk * x.sk];
    std::memset(xr + x.k, 0, (sl.kpA - x.k) * sizeof(float));
    for (int64_t g = 0; g < geo.groups; ++g) {
      const int64_t k1 = std::min((g + 1) * geo.gs, geo.kp);
      __m128 s = _mm_setzero_ps();
      for (int64_t kk = g * geo.gs; kk < k1; kk += 4)
        s = _mm_add_ps(s, _mm_loadu_ps(xr + kk));
      _mm_storeu_ps(sums + g * 4, s);
    }
  }
}

/// One row x one panel. In half `half`, accumulator j (< 8) holds columns
/// colF(half, j) and colF(half, j) + 1, lanes (column, k mod 4).
template <bool W4> inline int colF(int half, int j) {
  if (W4) // bytes 32 half + 8 (j % 4): low nibbles, or high (j >= 4)
    return (j < 4 ? 0 : 16) + 8 * half + 2 * (j % 4);
  return 16 * half + 2 * j;
}

template <bool W4>
TFC_AVX2 void fTile(const float *x, const float *xs, const uint8_t *panel,
                    const float *sc, const float *zp, float zconst,
                    const WGeom &geo, float *out) {
  constexpr int64_t kStep = W4 ? 64 : 128;
  const __m256i nib = _mm256_set1_epi32(0x0F);
  const __m256i spread = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
  const __m256i center = _mm256_set1_epi32(W4 ? 8 : 128);
  const __m256 centerF = _mm256_set1_ps(W4 ? 8.0f : 128.0f);
  alignas(32) float y[2][8][8] = {};
  for (int64_t g = 0; g < geo.groups; ++g) {
    const int64_t kk0 = g * geo.gs / 4;
    const int64_t kk1 = std::min((g + 1) * geo.gs, geo.kp) / 4;
    const __m256 xsum =
        _mm256_broadcast_ps(reinterpret_cast<const __m128 *>(xs + 4 * g));
    for (int half = 0; half < 2; ++half) {
      __m256 acc[8];
      for (int j = 0; j < 8; ++j)
        acc[j] = _mm256_setzero_ps();
      for (int64_t kk = kk0; kk < kk1; ++kk) {
        const uint8_t *pb = panel + kk * kStep + half * (kStep / 2);
        const __m256 xv =
            _mm256_broadcast_ps(reinterpret_cast<const __m128 *>(x + 4 * kk));
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          const __m256i e = _mm256_cvtepu8_epi32(
              _mm_loadl_epi64(reinterpret_cast<const __m128i *>(pb + 8 * j)));
          // Codes centred (u - 8 / u - 128, exact) so that the zero-point
          // term below is small: with raw u, x u and z sum(x) cancel.
          if (W4) {
            acc[j] = _mm256_fmadd_ps(
                xv,
                _mm256_cvtepi32_ps(
                    _mm256_sub_epi32(_mm256_and_si256(e, nib), center)),
                acc[j]);
            acc[4 + j] = _mm256_fmadd_ps(
                xv,
                _mm256_cvtepi32_ps(
                    _mm256_sub_epi32(_mm256_srli_epi32(e, 4), center)),
                acc[4 + j]);
          } else {
            const __m256i e1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(
                reinterpret_cast<const __m128i *>(pb + 32 + 8 * j)));
            acc[j] = _mm256_fmadd_ps(
                xv, _mm256_cvtepi32_ps(_mm256_sub_epi32(e, center)), acc[j]);
            acc[4 + j] = _mm256_fmadd_ps(
                xv, _mm256_cvtepi32_ps(_mm256_sub_epi32(e1, center)),
                acc[4 + j]);
          }
        }
      }
      for (int j = 0; j < 8; ++j) {
        const int c = colF<W4>(half, j);
        const __m256 s = _mm256_permutevar8x32_ps(
            _mm256_castps128_ps256(_mm_castpd_ps(_mm_load_sd(
                reinterpret_cast<const double *>(sc + g * 32 + c)))),
            spread);
        const __m256 z = _mm256_sub_ps(
            zp ? _mm256_permutevar8x32_ps(
                     _mm256_castps128_ps256(_mm_castpd_ps(_mm_load_sd(
                         reinterpret_cast<const double *>(zp + g * 32 + c)))),
                     spread)
               : _mm256_set1_ps(zconst),
            centerF);
        _mm256_store_ps(y[half][j],
                        _mm256_fmadd_ps(s, _mm256_fnmadd_ps(z, xsum, acc[j]),
                                        _mm256_load_ps(y[half][j])));
      }
    }
  }
  for (int half = 0; half < 2; ++half)
    for (int j = 0; j < 8; ++j) {
      const float *l = y[half][j];
      const int c = colF<W4>(half, j);
      out[c] = (l[0] + l[1]) + (l[2] + l[3]);
      out[c + 1] = (l[4] + l[5]) + (l[6] + l[7]);
    }
}

template <bool W4>
TFC_AVX2 void fCompute(const tfc_pack_header &h, const Rows &x,
                       const void *scratch, int64_t i0, int64_t i1, int64_t p0,
                       int64_t p1, float *out, int64_t ldo) {
  const WGeom geo(h);
  const WFScratch sl(h, x.m);
  const WBlob blob(h, geo);
  const unsigned char *base = alignScratch(scratch);
  const float *xr = reinterpret_cast<const float *>(base);
  const float *sums = reinterpret_cast<const float *>(base + sl.sumOffset);
  for (int64_t p = p0; p < p1; ++p) {
    const float *sc = blob.scales + p * geo.groups * 32;
    const float *zp = blob.zeros ? blob.zeros + p * geo.groups * 32 : nullptr;
    for (int64_t i = i0; i < i1; ++i)
      fTile<W4>(xr + i * sl.kpA, sums + i * sl.gA * 4,
                blob.data + p * blob.panelBytes, sc, zp, blob.zeroConst, geo,
                out + (i - i0) * ldo + (p - p0) * 32);
  }
}

const FormatImpl kImpls[2][2] = {
    {{&qScratchBytes, &qPrepare, &qCompute<false>, 64, "w8-int8act-avx2"},
     {&fScratchBytes, &fPrepare, &fCompute<false>, 64, "w8-f32act-avx2"}},
    {{&qScratchBytes, &qPrepare, &qCompute<true>, 64, "w4-int8act-avx2"},
     {&fScratchBytes, &fPrepare, &fCompute<true>, 64, "w4-f32act-avx2"}}};

} // namespace

const FormatImpl *wAvx2(uint32_t format, WStrategy s) {
  if (format != TFC_PACK_W8 && format != TFC_PACK_W4)
    return nullptr;
  return &kImpls[format == TFC_PACK_W4][static_cast<int>(s)];
}

} // namespace quant
} // namespace linear
} // namespace tfcrt

#else

namespace tfcrt {
namespace linear {
namespace quant {
const FormatImpl *wAvx2(uint32_t, WStrategy) { return nullptr; }
} // namespace quant
} // namespace linear
} // namespace tfcrt

#endif
