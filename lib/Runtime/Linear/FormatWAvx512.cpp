//===- FormatWAvx512.cpp - TFC_PACK_W8 / W4 with AVX-512 ------------------===//
//
// Target attributes on functions in an anonymous namespace only (see
// Gemm/KernelsAvx512.cpp for why). Both activation strategies of
// FormatQuant.h:
//
// Int8Act (AVX512_VNNI): per k step of 4 one 64-byte load holds 4 k x 32
// columns of W4 codes (low nibbles: columns 0-15, high: 16-31; two ands and
// a shift make the two u8 operands) or half of W8's; each row broadcasts 4
// s8 activations and issues two vpdpbusd (u8 codes x s8 activations, 64
// multiply-adds each). Per block of 32 k the int32 sums are converted and
// scaled by the block's activation scale; per group the weight scale and
// zero point term apply. Tile: up to 4 rows x 32 columns: 8 int32 + 8 block
// + 8 output accumulators. The codes are prefetched in software 8 blocks
// ahead (decode streams them from DRAM once per token).
//
// F32Act: codes widened to f32 (vpmovzxbd straight from memory, then
// vcvtdq2ps) in the VNNI order, so a zmm holds 4 columns x 4 consecutive k
// and the activations are a broadcast of 4 consecutive x; the 4 lanes of a
// column are added at the end.
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

#include <algorithm>
#include <cstring>

#define TFC_AVX512                                                             \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define TFC_VNNI                                                               \
  __attribute__((                                                              \
      target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma")))

namespace tfcrt {
namespace linear {
namespace quant {
namespace {

//===-- Int8Act -----------------------------------------------------------===//

size_t qScratchBytes(const tfc_pack_header &h, int64_t m) {
  return WQScratch(h, m).bytes;
}

TFC_AVX512 void qPrepare(const tfc_pack_header &h, const Rows &x, int64_t i0,
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
      const float amax = absMaxAvx512(row + k0 * x.sk, len, x.sk, &nan);
      const int32_t sum = quantizeAvx512(row + k0 * x.sk, len, x.sk,
                                         actInverse(amax), q + k0, 0);
      sx[b] = nan ? __builtin_nanf("") : actScale(amax);
      qs[b] = static_cast<float>(sum);
    }
  }
}

/// Prefetch distance of the Int8Act kernels: 8 blocks of 32 k (4 KB of W4,
/// 8 KB of W8). Measured with tfcrt-quant-bench stack (SmolLM2's linears, m
/// = 1, from DRAM): W4 10-15% and W8 20-25% faster than the hardware
/// streamers alone on one thread, faster on two as well (docs/PERFORMANCE.md
/// "Quantized decode").
constexpr int64_t kPrefetchBlocks = 8;

#define TFC_QTILE_TARGET TFC_VNNI
#include "QTileAvx512.inc"

/// The codes of one W8 / W4 panel, loaded from it (W8: two 64-byte halves
/// of each 4-k step) or unpacked from its nibbles (W4: low nibbles columns
/// 0-15, high 16-31: two ands and a shift).
template <bool W4> struct PanelCodes {
  static constexpr int64_t kStep = W4 ? 64 : 128; // bytes per 4 k
  const uint8_t *panel;

  TFC_VNNI void block(int64_t b) const {
    // Software prefetch kPrefetchBlocks ahead (into the next panel near a
    // panel's end: panels follow each other in memory, and a thread's slice
    // is a run of consecutive panels).
    const char *pb = reinterpret_cast<const char *>(panel + b * 8 * kStep);
#pragma GCC unroll 16
    for (int64_t l = 0; l < 8 * kStep; l += 64)
      _mm_prefetch(pb + kPrefetchBlocks * 8 * kStep + l, _MM_HINT_T0);
  }
  TFC_VNNI void step(int64_t b, int s, __m512i &lo, __m512i &hi) const {
    const uint8_t *p = panel + b * 8 * kStep + s * kStep;
    if (W4) {
      const __m512i nib = _mm512_set1_epi8(0x0F);
      const __m512i v = _mm512_loadu_si512(p);
      lo = _mm512_and_si512(v, nib);
      hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
    } else {
      lo = _mm512_loadu_si512(p);
      hi = _mm512_loadu_si512(p + 64);
    }
  }
};

/// R rows x one panel (32 columns), all groups.
template <int R, bool W4>
TFC_VNNI void qTile(const int8_t *q, int64_t ldq, const float *sx, int64_t ldsx,
                    const float *ag, int64_t ldag, const uint8_t *panel,
                    const float *sc, const float *zp, float zconst,
                    const WGeom &geo, float *out, int64_t ldo) {
  PanelCodes<W4> codes{panel};
  qTileWith<R>(codes, q, ldq, sx, ldsx, ag, ldag, sc, zp, zconst, geo.groups,
               geo.gs, geo.kp, out, ldo);
}

constexpr int kQR = 4;
using QTileFn = void (*)(const int8_t *, int64_t, const float *, int64_t,
                         const float *, int64_t, const uint8_t *, const float *,
                         const float *, float, const WGeom &, float *, int64_t);

template <bool W4>
TFC_VNNI void qCompute(const tfc_pack_header &h, const Rows &x,
                       const void *scratch, int64_t i0, int64_t i1, int64_t p0,
                       int64_t p1, float *out, int64_t ldo) {
  static constexpr QTileFn tiles[kQR] = {&qTile<1, W4>, &qTile<2, W4>,
                                         &qTile<3, W4>, &qTile<4, W4>};
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

TFC_AVX512 void fPrepare(const tfc_pack_header &h, const Rows &x, int64_t i0,
                         int64_t i1, void *scratch) {
  const WGeom geo(h);
  const WFScratch sl(h, x.m);
  unsigned char *base = alignScratch(scratch);
  for (int64_t i = i0; i < i1; ++i) {
    float *xr = reinterpret_cast<float *>(base) + i * sl.kpA;
    float *sums =
        reinterpret_cast<float *>(base + sl.sumOffset) + i * sl.gA * 4;
    const float *row = x.x + i * x.sm;
    if (x.sk == 1) {
      std::memcpy(xr, row, x.k * sizeof(float));
    } else {
      for (int64_t kk = 0; kk < x.k; ++kk)
        xr[kk] = row[kk * x.sk];
    }
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

/// Scales of columns 4j .. 4j + 3, each repeated over its 4 lanes.
TFC_AVX512 inline __m512 spread4(const float *p) {
  const __m512i idx =
      _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_loadu_ps(p)));
}

/// R (<= 2) rows x one panel; lanes of accumulator j are (column 4j + l / 4,
/// k = 4i + l % 4).
template <int R, bool W4>
TFC_AVX512 void fTile(const float *x, int64_t ldx, const float *xs,
                      int64_t ldxs, const uint8_t *panel, const float *sc,
                      const float *zp, float zconst, const WGeom &geo,
                      float *out, int64_t ldo) {
  constexpr int64_t kStep = W4 ? 64 : 128;
  const __m512i nib = _mm512_set1_epi32(0x0F);
  const __m512i center = _mm512_set1_epi32(W4 ? 8 : 128);
  const __m512 centerF = _mm512_set1_ps(W4 ? 8.0f : 128.0f);
  __m512 y[R][8];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < 8; ++j)
      y[r][j] = _mm512_setzero_ps();
  for (int64_t g = 0; g < geo.groups; ++g) {
    const int64_t kk0 = g * geo.gs / 4;
    const int64_t kk1 = std::min((g + 1) * geo.gs, geo.kp) / 4;
    __m512 acc[R][8];
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j)
        acc[r][j] = _mm512_setzero_ps();
    for (int64_t kk = kk0; kk < kk1; ++kk) {
      const uint8_t *pb = panel + kk * kStep;
      __m512 xv[R];
#pragma GCC unroll 2
      for (int r = 0; r < R; ++r)
        xv[r] = _mm512_broadcast_f32x4(_mm_loadu_ps(x + r * ldx + 4 * kk));
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        __m512 w0, w1;
        // Codes centred (u - 8 / u - 128, exact) so that the zero-point
        // term below is small: with raw u, x u and z sum(x) cancel.
        if (W4) {
          const __m512i e = _mm512_cvtepu8_epi32(
              _mm_loadu_si128(reinterpret_cast<const __m128i *>(pb + 16 * j)));
          w0 = _mm512_cvtepi32_ps(
              _mm512_sub_epi32(_mm512_and_si512(e, nib), center));
          w1 = _mm512_cvtepi32_ps(
              _mm512_sub_epi32(_mm512_srli_epi32(e, 4), center));
        } else {
          w0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(
              _mm512_cvtepu8_epi32(_mm_loadu_si128(
                  reinterpret_cast<const __m128i *>(pb + 16 * j))),
              center));
          w1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(
              _mm512_cvtepu8_epi32(_mm_loadu_si128(
                  reinterpret_cast<const __m128i *>(pb + 64 + 16 * j))),
              center));
        }
#pragma GCC unroll 2
        for (int r = 0; r < R; ++r) {
          acc[r][j] = _mm512_fmadd_ps(xv[r], w0, acc[r][j]);
          acc[r][4 + j] = _mm512_fmadd_ps(xv[r], w1, acc[r][4 + j]);
        }
      }
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      const __m512 s = spread4(sc + g * 32 + 4 * j);
      const __m512 z = _mm512_sub_ps(
          zp ? spread4(zp + g * 32 + 4 * j) : _mm512_set1_ps(zconst), centerF);
#pragma GCC unroll 2
      for (int r = 0; r < R; ++r) {
        const __m512 xsum =
            _mm512_broadcast_f32x4(_mm_loadu_ps(xs + r * ldxs + 4 * g));
        y[r][j] =
            _mm512_fmadd_ps(s, _mm512_fnmadd_ps(z, xsum, acc[r][j]), y[r][j]);
      }
    }
  }
  // Add the 4 lanes of each column: two rounds of pairwise sums.
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < 8; j += 4) {
      // a + b per pair of lanes, then per quad, for 4 accumulators at once.
      __m512 t[4];
      for (int u = 0; u < 4; ++u)
        t[u] = _mm512_add_ps(y[r][j + u],
                             _mm512_permute_ps(y[r][j + u], 0xB1)); // l ^ 1
      for (int u = 0; u < 4; ++u)
        t[u] = _mm512_add_ps(t[u], _mm512_permute_ps(t[u], 0x4E)); // l ^ 2
      // Lane 4c of t[u] is column 4(j + u) + c; gather the 16 sums.
      const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4,
                                            8, 12, 16, 20, 24, 28);
      const __m512 ab = _mm512_permutex2var_ps(t[0], idx, t[1]);
      const __m512 cd = _mm512_permutex2var_ps(t[2], idx, t[3]);
      _mm512_storeu_ps(out + r * ldo + 4 * j,
                       _mm512_shuffle_f32x4(ab, cd, 0x44));
    }
}

constexpr int kFR = 2;
using FTileFn = void (*)(const float *, int64_t, const float *, int64_t,
                         const uint8_t *, const float *, const float *, float,
                         const WGeom &, float *, int64_t);

template <bool W4>
TFC_AVX512 void fCompute(const tfc_pack_header &h, const Rows &x,
                         const void *scratch, int64_t i0, int64_t i1,
                         int64_t p0, int64_t p1, float *out, int64_t ldo) {
  static constexpr FTileFn tiles[kFR] = {&fTile<1, W4>, &fTile<2, W4>};
  const WGeom geo(h);
  const WFScratch sl(h, x.m);
  const WBlob blob(h, geo);
  const unsigned char *base = alignScratch(scratch);
  const float *xr = reinterpret_cast<const float *>(base);
  const float *sums = reinterpret_cast<const float *>(base + sl.sumOffset);
  for (int64_t p = p0; p < p1; ++p) {
    const float *sc = blob.scales + p * geo.groups * 32;
    const float *zp = blob.zeros ? blob.zeros + p * geo.groups * 32 : nullptr;
    for (int64_t i = i0; i < i1; i += kFR) {
      const int r = i1 - i < kFR ? static_cast<int>(i1 - i) : kFR;
      tiles[r - 1](xr + i * sl.kpA, sl.kpA, sums + i * sl.gA * 4, sl.gA * 4,
                   blob.data + p * blob.panelBytes, sc, zp, blob.zeroConst, geo,
                   out + (i - i0) * ldo + (p - p0) * 32, ldo);
    }
  }
}

const FormatImpl kImpls[2][2] = {
    {{&qScratchBytes, &qPrepare, &qCompute<false>, 64, "w8-int8act-avx512"},
     {&fScratchBytes, &fPrepare, &fCompute<false>, 64, "w8-f32act-avx512"}},
    {{&qScratchBytes, &qPrepare, &qCompute<true>, 64, "w4-int8act-avx512"},
     {&fScratchBytes, &fPrepare, &fCompute<true>, 64, "w4-f32act-avx512"}}};

} // namespace

const FormatImpl *wAvx512(uint32_t format, WStrategy s) {
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
const FormatImpl *wAvx512(uint32_t, WStrategy) { return nullptr; }
} // namespace quant
} // namespace linear
} // namespace tfcrt

#endif
