//===- FormatSparseAvx512.cpp - sparse formats on AVX-512 -----------------===//
//
// Few rows (decode, memory-bound): the panels stream once, one after the
// other (masks and values each one sequential stream), prefetched 8 KB
// ahead in software. MASK: per k row, vexpandps of two 16-bit halves of
// the mask (register form: the memory form is microcoded on AMD) over
// unaligned loads of the next values (the data section has 32 floats of
// padding past the end). 2:4: x[4g .. 4g+4) broadcast to the
// four 128-bit lanes and vpermilps'd by the 2-bit positions.
// Many rows: tiles of 12 (MASK) or 8 (2:4) rows over one panel at a time,
// the same arithmetic per stored value as the dense kernel (vexpandps /
// vpermilps are cheap next to the FMAs, measured: densifying panels for
// the F32 kernel instead was slower); for MASK panels below kSkipDensity
// with 17+ rows the skip path: x transposed ([k][16 * NV] rows), one FMA
// of 16 rows per stored value into accumulators [32][16 * NV] in L1.
//
//===----------------------------------------------------------------------===//

#include "SparseKernels.h"

#include <cstring>

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#define TFC_AVX512 __attribute__((target("avx512f,avx2,fma,popcnt,bmi")))

namespace tfcrt {
namespace linear {
namespace sparse {
namespace {

/// Up to this many rows, the streaming (decode) kernels.
constexpr int64_t kStreamRows = 4;
/// Rows per skip-path pass (16 per zmm), and the fewest rows it takes.
constexpr int kSkipRows = 64;
constexpr int64_t kSkipMinRows = 17;
/// Rows of a many-rows tile (2 kMR accumulators + 2 expanded rows + 1).
constexpr int kMR = 12;

thread_local GrowBuffer packedRows, skipAcc;

/// ap[kk * R + i] = x[i0 + i][kk] (MASK decode layout [k][R]).
void packRowsK(const Rows &x, int64_t i0, int R, float *ap) {
  for (int64_t kk = 0; kk < x.k; ++kk)
    for (int i = 0; i < R; ++i)
      ap[kk * R + i] = x.x[(i0 + i) * x.sm + kk * x.sk];
}

//===-- MASK --------------------------------------------------------------===//

/// The 32 columns of mask row `m` from the values at `v` (not advanced).
/// The loads stay separate instructions: clang otherwise folds them into
/// vexpandps's memory form, which on AMD (Zen 4, Zen 5) is microcoded and
/// keeps cache misses from overlapping (SmolLM2 decode at 70 %, Zen 5:
/// 10.6 -> 6.4 ms per step from this alone).
TFC_AVX512 __attribute__((always_inline)) inline void
expandRow(uint32_t m, const float *v, __m512 &b0, __m512 &b1) {
  const __mmask16 lo = static_cast<__mmask16>(m);
  const __mmask16 hi = static_cast<__mmask16>(m >> 16);
  __m512 l0 = _mm512_loadu_ps(v);
  __m512 l1 = _mm512_loadu_ps(v + __builtin_popcount(lo));
  asm("" : "+v"(l0), "+v"(l1));
  b0 = _mm512_maskz_expand_ps(lo, l0);
  b1 = _mm512_maskz_expand_ps(hi, l1);
}

/// acc[i] += a[i] * (b0, b1) for R rows (one k row of a tile).
template <int R>
TFC_AVX512 __attribute__((always_inline)) inline void
fmaRows(const float *a, __m512 b0, __m512 b1, __m512 (*acc)[2]) {
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i) {
    const __m512 x = _mm512_set1_ps(a[i]);
    acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
    acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
  }
}

/// Few rows (decode): how far ahead the values and masks are prefetched.
/// The hardware prefetcher alone leaves the expansion waiting on DRAM
/// (measured on a Zen 5, gate_up 576 x 3072 at 70 %, 2 threads: 58 -> 45
/// us at 8 KB; 2 and 4 KB ahead gain less, 16 KB the same).
constexpr int kPrefetchValues = 2048; // floats (8 KB)
constexpr int kPrefetchMasks = 256;   // k rows (1 KB)

/// R (1-4) rows over panels p0 .. p1, one panel after the other: the
/// panels of a blob are contiguous, so masks and values are each one
/// sequential stream, prefetched ahead in software. U k rows per step with
/// their own accumulators (a single row would wait on the FMA latency).
template <int R>
TFC_AVX512 void streamMask(int64_t k, const float *ap, const MaskView &mv,
                           int64_t p0, int64_t p1, float *out, int64_t ldo) {
  constexpr int U = R == 1 ? 4 : R == 2 ? 2 : 1;
  for (int64_t q = p0; q < p1; ++q) {
    __m512 acc[U][R][2];
#pragma GCC unroll 4
    for (int u = 0; u < U; ++u)
#pragma GCC unroll 4
      for (int i = 0; i < R; ++i)
        acc[u][i][0] = acc[u][i][1] = _mm512_setzero_ps();
    const uint32_t *mk = mv.panelMasks(q);
    const float *v = mv.panelValues(q);
    int64_t kk = 0;
    for (; kk + U <= k; kk += U) {
      if ((kk & 15) < U)
        _mm_prefetch(reinterpret_cast<const char *>(mk + kk + kPrefetchMasks),
                     _MM_HINT_T0);
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) {
        const uint32_t m = mk[kk + u];
        _mm_prefetch(reinterpret_cast<const char *>(v + kPrefetchValues),
                     _MM_HINT_T0);
        __m512 b0, b1;
        expandRow(m, v, b0, b1);
        v += __builtin_popcount(m);
        fmaRows<R>(ap + (kk + u) * R, b0, b1, acc[u]);
      }
    }
    for (; kk < k; ++kk) {
      const uint32_t m = mk[kk];
      __m512 b0, b1;
      expandRow(m, v, b0, b1);
      v += __builtin_popcount(m);
      fmaRows<R>(ap + kk * R, b0, b1, acc[0]);
    }
    float *o = out + (q - p0) * kP;
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      __m512 s0 = acc[0][i][0], s1 = acc[0][i][1];
#pragma GCC unroll 4
      for (int u = 1; u < U; ++u) {
        s0 = _mm512_add_ps(s0, acc[u][i][0]);
        s1 = _mm512_add_ps(s1, acc[u][i][1]);
      }
      _mm512_storeu_ps(o + i * ldo, s0);
      _mm512_storeu_ps(o + i * ldo + 16, s1);
    }
  }
}

/// Many rows: R (1-12) rows over one panel, expanded once per k row.
template <int R>
TFC_AVX512 void tileMask(int64_t k, const float *ap, const MaskView &mv,
                         int64_t q, float *out, int64_t ldo) {
  __m512 acc[R][2];
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i)
    acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  const uint32_t *mk = mv.panelMasks(q);
  const float *v = mv.panelValues(q);
  for (int64_t kk = 0; kk < k; ++kk) {
    // The values pointer advances by one popcount of the whole mask per
    // k row (a one-add chain); the upper half's offset is off that chain.
    const uint32_t m = mk[kk];
    __m512 b0, b1;
    expandRow(m, v, b0, b1);
    v += __builtin_popcount(m);
    fmaRows<R>(ap + kk * R, b0, b1, acc);
  }
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i) {
    _mm512_storeu_ps(out + i * ldo, acc[i][0]);
    _mm512_storeu_ps(out + i * ldo + 16, acc[i][1]);
  }
}

using MaskTileFn = void (*)(int64_t, const float *, const MaskView &, int64_t,
                            float *, int64_t);
constexpr MaskTileFn kMaskTiles[kMR] = {
    &tileMask<1>, &tileMask<2>,  &tileMask<3>,  &tileMask<4>,
    &tileMask<5>, &tileMask<6>,  &tileMask<7>,  &tileMask<8>,
    &tileMask<9>, &tileMask<10>, &tileMask<11>, &tileMask<12>};

[[maybe_unused]] TFC_AVX512 void densifyMask(const MaskView &mv, int64_t q,
                                             float *dst) {
  const uint32_t *mk = mv.panelMasks(q);
  const float *v = mv.panelValues(q);
  for (int64_t kk = 0; kk < mv.k; ++kk) {
    const uint32_t m = mk[kk];
    __m512 b0, b1;
    expandRow(m, v, b0, b1);
    _mm512_store_ps(dst + kk * kP, b0);
    _mm512_store_ps(dst + kk * kP + 16, b1);
    v += __builtin_popcount(m);
  }
}

/// Skip path, one panel, NV * 16 rows of xt ([k][NV * 16]) into acc
/// ([32][NV * 16]).
template <int NV>
TFC_AVX512 void skipPanel(int64_t k, const float *xt, const uint32_t *mk,
                          const float *v, float *acc) {
  constexpr int W = NV * 16;
  for (int c = 0; c < kP * NV; ++c)
    _mm512_store_ps(acc + c * 16, _mm512_setzero_ps());
  for (int64_t kk = 0; kk < k; ++kk) {
    uint32_t m = mk[kk];
    if (!m)
      continue;
    __m512 xv[NV];
#pragma GCC unroll 4
    for (int r = 0; r < NV; ++r)
      xv[r] = _mm512_load_ps(xt + kk * W + r * 16);
    for (; m; m &= m - 1) {
      float *a = acc + __builtin_ctz(m) * W;
      const __m512 w = _mm512_set1_ps(*v++);
#pragma GCC unroll 4
      for (int r = 0; r < NV; ++r)
        _mm512_store_ps(a + r * 16,
                        _mm512_fmadd_ps(w, xv[r], _mm512_load_ps(a + r * 16)));
    }
  }
}

using SkipFn = void (*)(int64_t, const float *, const uint32_t *, const float *,
                        float *);
constexpr SkipFn kSkipFns[4] = {&skipPanel<1>, &skipPanel<2>, &skipPanel<3>,
                                &skipPanel<4>};

void skipMask(const MaskView &mv, const Rows &x, int64_t i0, int64_t i1,
              int64_t p0, int64_t p1, float *out, int64_t ldo) {
  const int64_t k = x.k;
  for (int64_t r0 = i0; r0 < i1; r0 += kSkipRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kSkipRows, i1 - r0));
    const int nv = (rows + 15) / 16, w = nv * 16;
    float *xt = static_cast<float *>(
        packedRows.get(static_cast<size_t>(k * w) * sizeof(float)));
    float *acc = static_cast<float *>(
        skipAcc.get(static_cast<size_t>(kP * w) * sizeof(float)));
    float *o = out + (r0 - i0) * ldo;
    if (!xt || !acc)
      return tileFailed(o, rows, (p1 - p0) * kP, ldo);
    for (int64_t kk = 0; kk < k; ++kk)
      for (int i = 0; i < w; ++i)
        xt[kk * w + i] = i < rows ? x.x[(r0 + i) * x.sm + kk * x.sk] : 0.0f;
    for (int64_t q = p0; q < p1; ++q) {
      kSkipFns[nv - 1](k, xt, mv.panelMasks(q), mv.panelValues(q), acc);
      for (int i = 0; i < rows; ++i)
        for (int c = 0; c < kP; ++c)
          o[i * ldo + (q - p0) * kP + c] = acc[c * w + i];
    }
  }
}

TFC_AVX512 void computeMask(const tfc_pack_header &h, const Rows &x,
                            const void *, int64_t i0, int64_t i1, int64_t p0,
                            int64_t p1, float *out, int64_t ldo) {
  const MaskView mv(h);
  const int64_t rows = i1 - i0;
  // TFCRT_EXPAND=table: the AVX2 kernel's permutation table instead of
  // vexpandps for few rows (isa::Features::slowExpand; tests, and a CPU
  // where vexpandps turns out slow).
  if (rows <= kStreamRows && isa::features().slowExpand)
    if (const FormatImpl *table = maskAvx2())
      return table->compute(h, x, nullptr, i0, i1, p0, p1, out, ldo);
  if (rows <= kStreamRows) {
    float *ap = static_cast<float *>(
        packedRows.get(static_cast<size_t>(rows * h.k) * sizeof(float)));
    if (!ap)
      return tileFailed(out, rows, (p1 - p0) * kP, ldo);
    packRowsK(x, i0, static_cast<int>(rows), ap);
    switch (rows) {
    case 1:
      return streamMask<1>(h.k, ap, mv, p0, p1, out, ldo);
    case 2:
      return streamMask<2>(h.k, ap, mv, p0, p1, out, ldo);
    case 3:
      return streamMask<3>(h.k, ap, mv, p0, p1, out, ldo);
    default:
      return streamMask<4>(h.k, ap, mv, p0, p1, out, ldo);
    }
  }
  if (rows >= kSkipMinRows && mv.density(p0, p1) < skipDensity(kSkipDensity))
    return skipMask(mv, x, i0, i1, p0, p1, out, ldo);
  // Tiles of up to kMR rows, panels inner: a panel is expanded once per
  // tile (2 vexpandps per k row against 2 kMR FMAs) and comes from L2 for
  // the next tile.
  float *ap = static_cast<float *>(
      packedRows.get(static_cast<size_t>(rows * h.k) * sizeof(float)));
  if (!ap)
    return tileFailed(out, rows, (p1 - p0) * kP, ldo);
  // Rows split evenly (16 = 8 + 8, not 12 + 4: a short tile is bound by
  // the expansion, not the FMAs).
  const int64_t tiles = (rows + kMR - 1) / kMR;
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t r0 = rows * t / tiles;
    const int r = static_cast<int>(rows * (t + 1) / tiles - r0);
    float *a = ap + r0 * h.k;
    packRowsK(x, i0 + r0, r, a);
    for (int64_t q = p0; q < p1; ++q)
      kMaskTiles[r - 1](h.k, a, mv, q, out + r0 * ldo + (q - p0) * kP, ldo);
  }
}

//===-- 2:4 ---------------------------------------------------------------===//

/// ap [G][R][4]: x[i0 + i][4g + j] at (g * R + i) * 4 + j, zero past k.
void packRows24(const Rows &x, int64_t i0, int R, int64_t groups, float *ap) {
  for (int64_t g = 0; g < groups; ++g)
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < 4; ++j) {
        const int64_t kk = 4 * g + j;
        ap[(g * R + i) * 4 + j] =
            kk < x.k ? x.x[(i0 + i) * x.sm + kk * x.sk] : 0.0f;
      }
}

template <int R, int NP>
TFC_AVX512 void tile24(const View24 &v, const float *ap, int64_t q, float *out,
                       int64_t ldo) {
  __m512 acc[R][NP][2];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j)
      acc[i][j][0] = acc[i][j][1] = _mm512_setzero_ps();
  const float *vals[NP];
  const unsigned char *idx[NP];
#pragma GCC unroll 4
  for (int j = 0; j < NP; ++j) {
    vals[j] = v.panelValues(q + j);
    idx[j] = v.panelIndex(q + j);
  }
  for (int64_t g = 0; g < v.groups; ++g) {
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
      const __m512i iv = _mm512_cvtepu8_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i *>(idx[j] + g * 16)));
      const __m512i i0l = iv, i1l = _mm512_srli_epi32(iv, 2);
      const __m512i i0h = _mm512_srli_epi32(iv, 4),
                    i1h = _mm512_srli_epi32(iv, 6);
      const float *w = vals[j] + g * 64;
      const __m512 v0l = _mm512_load_ps(w), v0h = _mm512_load_ps(w + 16);
      const __m512 v1l = _mm512_load_ps(w + 32), v1h = _mm512_load_ps(w + 48);
#pragma GCC unroll 4
      for (int i = 0; i < R; ++i) {
        const __m512 xb =
            _mm512_broadcast_f32x4(_mm_loadu_ps(ap + (g * R + i) * 4));
        acc[i][j][0] =
            _mm512_fmadd_ps(_mm512_permutevar_ps(xb, i0l), v0l, acc[i][j][0]);
        acc[i][j][1] =
            _mm512_fmadd_ps(_mm512_permutevar_ps(xb, i0h), v0h, acc[i][j][1]);
        acc[i][j][0] =
            _mm512_fmadd_ps(_mm512_permutevar_ps(xb, i1l), v1l, acc[i][j][0]);
        acc[i][j][1] =
            _mm512_fmadd_ps(_mm512_permutevar_ps(xb, i1h), v1h, acc[i][j][1]);
      }
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
      _mm512_storeu_ps(out + i * ldo + j * kP, acc[i][j][0]);
      _mm512_storeu_ps(out + i * ldo + j * kP + 16, acc[i][j][1]);
    }
}

template <int R>
TFC_AVX512 void stream24(const View24 &v, const float *ap, int64_t p0,
                         int64_t p1, float *out, int64_t ldo) {
  constexpr int NP = R <= 2 ? 2 : 1;
  int64_t q = p0;
  for (; q + NP <= p1; q += NP)
    tile24<R, NP>(v, ap, q, out + (q - p0) * kP, ldo);
  for (; q < p1; ++q)
    tile24<R, 1>(v, ap, q, out + (q - p0) * kP, ldo);
}

constexpr int k24Rows = 8;
using Tile24Fn = void (*)(const View24 &, const float *, int64_t, float *,
                          int64_t);
constexpr Tile24Fn k24Tiles[k24Rows] = {
    &tile24<1, 1>, &tile24<2, 1>, &tile24<3, 1>, &tile24<4, 1>,
    &tile24<5, 1>, &tile24<6, 1>, &tile24<7, 1>, &tile24<8, 1>};

[[maybe_unused]] TFC_AVX512 void densify24(const View24 &v, int64_t k,
                                           int64_t q, float *dst) {
  const float *vals = v.panelValues(q);
  const unsigned char *idx = v.panelIndex(q);
  const __m512i three = _mm512_set1_epi32(3);
  for (int64_t g = 0; g < v.groups; ++g) {
    const __m512i iv = _mm512_cvtepu8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(idx + g * 16)));
    const __m512i pos[2][2] = {
        {_mm512_and_si512(iv, three),
         _mm512_and_si512(_mm512_srli_epi32(iv, 4), three)},
        {_mm512_and_si512(_mm512_srli_epi32(iv, 2), three),
         _mm512_srli_epi32(iv, 6)}};
    const float *w = vals + g * 64;
    for (int j = 0; j < 4 && 4 * g + j < k; ++j) {
      const __m512i jv = _mm512_set1_epi32(j);
      for (int half = 0; half < 2; ++half) {
        __m512 r =
            _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(pos[0][half], jv),
                                _mm512_load_ps(w + half * 16));
        r = _mm512_mask_mov_ps(r, _mm512_cmpeq_epi32_mask(pos[1][half], jv),
                               _mm512_load_ps(w + 32 + half * 16));
        _mm512_store_ps(dst + (4 * g + j) * kP + half * 16, r);
      }
    }
  }
}

TFC_AVX512 void compute24(const tfc_pack_header &h, const Rows &x, const void *,
                          int64_t i0, int64_t i1, int64_t p0, int64_t p1,
                          float *out, int64_t ldo) {
  const View24 v(h);
  const int64_t rows = i1 - i0;
  if (rows <= kStreamRows) {
    float *ap = static_cast<float *>(packedRows.get(
        static_cast<size_t>(rows * v.groups * 4) * sizeof(float)));
    if (!ap)
      return tileFailed(out, rows, (p1 - p0) * kP, ldo);
    packRows24(x, i0, static_cast<int>(rows), v.groups, ap);
    switch (rows) {
    case 1:
      return stream24<1>(v, ap, p0, p1, out, ldo);
    case 2:
      return stream24<2>(v, ap, p0, p1, out, ldo);
    case 3:
      return stream24<3>(v, ap, p0, p1, out, ldo);
    default:
      return stream24<4>(v, ap, p0, p1, out, ldo);
    }
  }
  // Tiles of up to k24Rows rows, panels inner (4 vpermilps + 4 FMAs per
  // row and group of 4 k: the dense kernel's 8 FMAs).
  float *ap = static_cast<float *>(
      packedRows.get(static_cast<size_t>(rows * v.groups * 4) * sizeof(float)));
  if (!ap)
    return tileFailed(out, rows, (p1 - p0) * kP, ldo);
  const int64_t tiles = (rows + k24Rows - 1) / k24Rows;
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t r0 = rows * t / tiles;
    const int r = static_cast<int>(rows * (t + 1) / tiles - r0);
    float *a = ap + r0 * v.groups * 4;
    packRows24(x, i0 + r0, r, v.groups, a);
    for (int64_t q = p0; q < p1; ++q)
      k24Tiles[r - 1](v, a, q, out + r0 * ldo + (q - p0) * kP, ldo);
  }
}

//===-- MASK_W8 -----------------------------------------------------------===//

#define TFC_AVX512_VBMI2                                                       \
  __attribute__((target("avx512f,avx512bw,avx512vbmi2,popcnt")))

constexpr int kW8PrefetchValues = 4096; // bytes of codes
constexpr int kW8PrefetchMasks = 128;   // u64 masks (1 KB)

/// Panel q as W8 codes: per 64-byte half block one vpexpandb (register
/// form, as for vexpandps) of the next stored codes and a flip to u8.
TFC_AVX512_VBMI2 void densifyW8Vbmi2(const MaskW8View &mv, int64_t q,
                                     uint8_t *dst) {
  const uint64_t *mk = mv.panelMasks(q);
  const int8_t *v = mv.panelValues(q);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t h = 0; h < mv.kp / 2; ++h) {
    // Decode reads the codes and masks from DRAM: prefetched ahead in
    // software, as the MASK decode tiles do.
    if ((h & 7) == 0)
      _mm_prefetch(reinterpret_cast<const char *>(mk + h + kW8PrefetchMasks),
                   _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char *>(v + kW8PrefetchValues),
                 _MM_HINT_T0);
    const uint64_t m = mk[h];
    __m512i l = _mm512_loadu_si512(v);
    asm("" : "+v"(l));
    _mm512_store_si512(dst + h * 64,
                       _mm512_xor_si512(_mm512_maskz_expand_epi8(m, l), flip));
    v += __builtin_popcountll(m);
  }
}

#define TFC_VNNI_VBMI2                                                         \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,"       \
                        "avx512vbmi2,popcnt")))

#define TFC_QTILE_TARGET TFC_VNNI_VBMI2
#include "QTileAvx512.inc"

/// The codes of one MASK_W8 panel as W8's tile reads them: each 64-byte
/// operand expanded (vpexpandb, register form) from the stream of stored
/// codes and flipped to u8; codes and masks prefetched ahead (one sequential
/// stream each).
struct StreamCodes {
  const uint64_t *mk;
  const int8_t *v;

  TFC_VNNI_VBMI2 void block(int64_t b) const {
    // A block's masks are two lines; its codes up to 16 x 64 bytes, one
    // line per step prefetched in step() (enough up to 50 % density, where
    // the stream still pays).
    const uint64_t *mb = mk + b * 16;
    _mm_prefetch(reinterpret_cast<const char *>(mb + kW8PrefetchMasks),
                 _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char *>(mb + kW8PrefetchMasks + 8),
                 _MM_HINT_T0);
  }
  TFC_VNNI_VBMI2 void step(int64_t b, int s, __m512i &lo, __m512i &hi) {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    const uint64_t m0 = mk[b * 16 + 2 * s], m1 = mk[b * 16 + 2 * s + 1];
    _mm_prefetch(reinterpret_cast<const char *>(v + kW8PrefetchValues),
                 _MM_HINT_T0);
    __m512i l0 = _mm512_loadu_si512(v);
    v += __builtin_popcountll(m0);
    __m512i l1 = _mm512_loadu_si512(v);
    v += __builtin_popcountll(m1);
    asm("" : "+v"(l0), "+v"(l1));
    lo = _mm512_xor_si512(_mm512_maskz_expand_epi8(m0, l0), flip);
    hi = _mm512_xor_si512(_mm512_maskz_expand_epi8(m1, l1), flip);
  }
};

/// Few rows (decode) with int8 activations: W8's VNNI tile
/// (QTileAvx512.inc) over the expanded codes, R (1-4) rows over panels
/// p0 .. p1, one after the other. Symmetric codes: zero point 128 after
/// the flip.
template <int R>
TFC_VNNI_VBMI2 void
streamW8Vnni(const MaskW8View &mv, const quant::WQScratch &sl,
             const unsigned char *base, int64_t i0, int64_t gs, int64_t p0,
             int64_t p1, float *out, int64_t ldo) {
  const int8_t *q = reinterpret_cast<const int8_t *>(base) + i0 * sl.kpA;
  const float *sx =
      reinterpret_cast<const float *>(base + sl.sxOffset) + i0 * sl.nbA;
  const float *ag =
      reinterpret_cast<const float *>(base + sl.aOffset) + i0 * sl.nbA;
  for (int64_t p = p0; p < p1; ++p) {
    StreamCodes codes{mv.panelMasks(p), mv.panelValues(p)};
    qTileWith<R>(codes, q, sl.kpA, sx, sl.nbA, ag, sl.nbA, mv.panelScales(p),
                 nullptr, 128.0f, mv.groups, gs, mv.kp, out + (p - p0) * kP,
                 ldo);
  }
}

void computeMaskW8(const tfc_pack_header &h, const Rows &x, const void *scratch,
                   int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
                   int64_t ldo) {
  const FormatImpl *w8 = w8ImplFor(h, isa::Level::Avx512);
  const isa::Features &f = isa::features();
  // The fused decode tiles: int8 activations, VNNI and VBMI2, and the W8
  // kernel the prepare() ran is the VNNI one (its scratch layout).
  // TFCRT_EXPAND=table (isa::Features::slowExpand) takes the AVX2 table
  // expansion as on a CPU without VBMI2 (tests run both).
  const bool vbmi2 = f.vbmi2 && !f.slowExpand;
  if (i1 - i0 <= 4 && !(h.flags & TFC_PACK_FLAG_ACT_F32) && f.vnni && vbmi2 &&
      w8 == quantFormatImpl(TFC_PACK_W8, isa::Level::Avx512)) {
    const MaskW8View mv(h);
    const quant::WQScratch sl(h, x.m);
    const unsigned char *base = quant::alignScratch(scratch);
    const int64_t gs = h.group ? h.group : mv.kp;
    switch (i1 - i0) {
    case 1:
      return streamW8Vnni<1>(mv, sl, base, i0, gs, p0, p1, out, ldo);
    case 2:
      return streamW8Vnni<2>(mv, sl, base, i0, gs, p0, p1, out, ldo);
    case 3:
      return streamW8Vnni<3>(mv, sl, base, i0, gs, p0, p1, out, ldo);
    default:
      return streamW8Vnni<4>(mv, sl, base, i0, gs, p0, p1, out, ldo);
    }
  }
  if (vbmi2)
    viaDenseW8(w8, h, x, scratch, i0, i1, p0, p1, out, ldo, &densifyW8Vbmi2);
  else
    viaDenseW8(w8, h, x, scratch, i0, i1, p0, p1, out, ldo, &densifyW8Avx2);
}

constexpr FormatImpl kMaskW8 = {&maskW8ScratchAt<isa::Level::Avx512>,
                                &maskW8PrepareAt<isa::Level::Avx512>,
                                &computeMaskW8, 128, "sparse-mask-w8-avx512"};
constexpr FormatImpl kMask = {nullptr, nullptr, &computeMask, kSkipRows,
                              "sparse-mask-avx512"};
constexpr FormatImpl k24 = {nullptr, nullptr, &compute24, 28,
                            "sparse-2:4-avx512"};

} // namespace

const FormatImpl *maskAvx512() { return &kMask; }
const FormatImpl *s24Avx512() { return &k24; }
const FormatImpl *maskW8Avx512() { return &kMaskW8; }

} // namespace sparse
} // namespace linear
} // namespace tfcrt

#else

namespace tfcrt {
namespace linear {
namespace sparse {
const FormatImpl *maskAvx512() { return nullptr; }
const FormatImpl *s24Avx512() { return nullptr; }
const FormatImpl *maskW8Avx512() { return nullptr; }
} // namespace sparse
} // namespace linear
} // namespace tfcrt

#endif
