//===- KernelsAvx512.cpp - AVX-512 GEMM micro-kernels ---------------------===//
//
// Compiled for the baseline ISA; every function that uses AVX-512 carries a
// target attribute and lives in an anonymous namespace, so no AVX-512 code
// can leak into a shared (COMDAT) symbol that baseline code might call.
// Only reached when the CPU and OS support AVX-512F (GemmDriver.cpp).
//
// Micro-tile 14 x 32: 28 zmm accumulators + 2 zmm of B + 1 broadcast of A =
// 31 of the 32 zmm registers. Per k step it loads 2 vectors of B and 14
// scalars of A for 28 FMAs: 16 loads per 28 FMAs stays under the two load
// ports of Zen 4 / Skylake-X while the FMA pipes stay busy, and 28
// independent accumulators are well above latency x throughput (4 x 1 on
// Zen 4, 4 x 2 on Skylake-X). N = 32 divides the hidden sizes of common
// models (384, 768, 1024, 1536, 4096); the M edge uses a narrower instance
// of the same template (one per row count), not a padded full tile.
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 headers seed some intrinsics with _mm512_undefined_*(),
// which -Wuninitialized reports falsely once they are inlined here.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#define TFC_AVX512 __attribute__((target("avx512f,avx2,fma")))

namespace tfcrt {
namespace gemm {
namespace {

constexpr int kMR = 14;
constexpr int kNV = 2;
constexpr int kNR = 16 * kNV;

TFC_AVX512 inline __mmask16 tailMask(int64_t n) {
  if (n >= 16)
    return static_cast<__mmask16>(0xFFFF);
  if (n <= 0)
    return 0;
  return static_cast<__mmask16>((1u << n) - 1);
}

/// Stores an R x V tile of accumulators to C (csc == 1 fast path, masked on
/// the last vector; otherwise scalar scatter).
template <int R, int V>
TFC_AVX512 inline void storeTile(__m512 (&acc)[R][V], float *c, int64_t rsc,
                                 int64_t csc, int n, const float *bias,
                                 bool accumulate) {
  if (csc == 1) {
    const __mmask16 last = tailMask(n - 16 * (V - 1));
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
#pragma GCC unroll 4
      for (int j = 0; j < V; ++j) {
        const __mmask16 mk = j == V - 1 ? last : static_cast<__mmask16>(0xFFFF);
        float *p = c + i * rsc + 16 * j;
        __m512 v = acc[i][j];
        if (accumulate)
          v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, p));
        else if (bias)
          v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, bias + 16 * j));
        _mm512_mask_storeu_ps(p, mk, v);
      }
    }
    return;
  }
  alignas(64) float t[R][16 * V];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < V; ++j)
      _mm512_store_ps(&t[i][16 * j], acc[i][j]);
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < n; ++j) {
      float &dst = c[i * rsc + j * csc];
      float v = t[i][j];
      if (accumulate)
        dst += v;
      else
        dst = bias ? v + bias[j] : v;
    }
  }
}

/// R rows (R <= kMR) x V vectors (V <= kNV) of the 14 x 32 micro-tile.
template <int R, int V>
TFC_AVX512 void microTile(int64_t kc, const float *ap, const float *bp,
                          float *c, int64_t rsc, int64_t csc, int n,
                          const float *bias, bool accumulate) {
  __m512 acc[R][V];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < V; ++j)
      acc[i][j] = _mm512_setzero_ps();
  if (csc == 1) {
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      _mm_prefetch(reinterpret_cast<const char *>(c + i * rsc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(c + i * rsc + kNR - 1),
                   _MM_HINT_T0);
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
    __m512 b[V];
#pragma GCC unroll 4
    for (int j = 0; j < V; ++j)
      b[j] = _mm512_load_ps(bp + 16 * j);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      __m512 a = _mm512_set1_ps(ap[i]);
#pragma GCC unroll 4
      for (int j = 0; j < V; ++j)
        acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
    }
    ap += kMR;
    bp += kNR;
  }
  storeTile<R, V>(acc, c, rsc, csc, n, bias, accumulate);
}

using TileFn = void (*)(int64_t, const float *, const float *, float *, int64_t,
                        int64_t, int, const float *, bool);

template <int R> struct TileRow {
  static constexpr TileFn fns[kNV] = {&microTile<R, 1>, &microTile<R, 2>};
};
template <int R> constexpr TileFn TileRow<R>::fns[kNV];

constexpr const TileFn *tileTable[kMR] = {
    TileRow<1>::fns,  TileRow<2>::fns,  TileRow<3>::fns,  TileRow<4>::fns,
    TileRow<5>::fns,  TileRow<6>::fns,  TileRow<7>::fns,  TileRow<8>::fns,
    TileRow<9>::fns,  TileRow<10>::fns, TileRow<11>::fns, TileRow<12>::fns,
    TileRow<13>::fns, TileRow<14>::fns};
static_assert(kNV == 2, "update TileRow for another kNV");

TFC_AVX512 void micro(int64_t kc, const float *ap, const float *bp, float *c,
                      int64_t rsc, int64_t csc, int m, int n, const float *bias,
                      bool accumulate) {
  tileTable[m - 1][(n + 15) / 16 - 1](kc, ap, bp, c, rsc, csc, n, bias,
                                      accumulate);
}

//===-- packing -----------------------------------------------------------===//

/// Transposes a block of `rows` (<= 16) rows x `cols` (<= 16) columns read at
/// src + r * ld + c; column c goes to dst + c * dstStride as the lanes of
/// `storeMask`. Rows beyond `rows` read as zero (the packed panels' padding).
TFC_AVX512 inline void transpose16(const float *src, int64_t ld, int rows,
                                   int cols, float *dst, int64_t dstStride,
                                   __mmask16 storeMask) {
  const __mmask16 lm = tailMask(cols);
  __m512 r[16], t[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i)
    r[i] = i < rows ? _mm512_maskz_loadu_ps(lm, src + i * ld)
                    : _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]),
                  b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]),
                  d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      t[8 * h + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0x88);
      t[8 * h + 4 + i] =
          _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0xdd);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
    r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
  }
  for (int c = 0; c < cols; ++c)
    _mm512_mask_storeu_ps(dst + c * dstStride, storeMask, r[c]);
}

/// `rows` (<= ld <= 16) rows of row-major A into one [kc][ld] panel, lanes
/// [rows, ld) zero, by 16 x 16 transposes.
TFC_AVX512 void packPanel(const float *a, int64_t sam, int rows, int64_t kc,
                          int ld, float *dst) {
  for (int64_t k0 = 0; k0 < kc; k0 += 16) {
    const int cols = kc - k0 < 16 ? static_cast<int>(kc - k0) : 16;
    transpose16(a + k0, sam, rows, cols, dst + k0 * ld, ld,
                static_cast<__mmask16>((1u << ld) - 1));
  }
}

/// Row-major A (sak == 1): 14-row panels by 16 x 16 transposes instead of
/// scalar scatter. Matters when N is small: A is packed once per k block
/// and only reused N / 32 times.
TFC_AVX512 bool packA(const float *a, int64_t sam, int64_t sak, int64_t mc,
                      int64_t kc, float *dst) {
  if (sak != 1)
    return false;
  for (int64_t i0 = 0; i0 < mc; i0 += kMR) {
    const int rows = mc - i0 < kMR ? static_cast<int>(mc - i0) : kMR;
    packPanel(a + i0 * sam, sam, rows, kc, kMR, dst + i0 * kc);
  }
  return true;
}

/// Transposed B (sbk == 1, e.g. [N, K] linear weights or K^T in attention):
/// each 32-column panel is two 16 x 16 transposes per 16 k.
TFC_AVX512 bool packB(const float *b, int64_t sbk, int64_t sbn, int64_t kc,
                      int64_t nc, int64_t q0, int64_t q1, float *dst) {
  if (sbk != 1 || sbn == 1)
    return false;
  for (int64_t q = q0; q < q1; ++q) {
    float *d = dst + q * kNR * kc;
    for (int h = 0; h < kNV; ++h) {
      const int64_t c0 = q * kNR + 16 * h;
      const int rows =
          nc - c0 >= 16 ? 16 : (nc - c0 > 0 ? static_cast<int>(nc - c0) : 0);
      for (int64_t k0 = 0; k0 < kc; k0 += 16) {
        const int cols = kc - k0 < 16 ? static_cast<int>(kc - k0) : 16;
        transpose16(b + (rows ? c0 * sbn : 0) + k0, sbn, rows, cols,
                    d + k0 * kNR + 16 * h, kNR, static_cast<__mmask16>(0xFFFF));
      }
    }
  }
  return true;
}

//===-- few rows, B unpacked ----------------------------------------------===//

/// Row-major B with few rows of A is GEMV-like and bound by streaming B
/// from memory. Walking B down a narrow column block would jump a whole row
/// (often several pages) per k; instead each pass takes kRowsPerPass rows of
/// B and sweeps them left to right across the chunk, so every row is read
/// as one contiguous run the hardware prefetcher follows. The partial sums
/// live in `scratch` (M rows of kChunk + 64 floats: L1/L2) between passes.
/// Measured on Zen 4 (1 x 4096 x 4096): 8 rows per pass and whole 16 KB rows
/// stream B at ~26 GB/s, above a plain AVX-512 read loop (~22 GB/s);
/// software prefetch only made it slower.
constexpr int kRowsPerPass = 8;
constexpr int kRowsPerGroup = 8; // rows of A per register tile
constexpr int64_t kChunk = kSmallChunk;

/// One pass: rows [k0, k0 + kb) of B against G rows of A, over `width`
/// columns, adding into G rows of `sums` (row stride kChunk + 64).
template <int G>
TFC_AVX512 void smallRowPass(const float *const *arow, int64_t sak,
                             const float *brow, int64_t sbk, int kb,
                             int64_t width, float *sums, bool first) {
  constexpr int NV = G <= 6 ? 4 : 3; // G x NV <= 24 accumulators
  constexpr int W = 16 * NV;
  constexpr int64_t ld = kChunk + 64;
  for (int64_t j = 0; j < width; j += W) {
    __mmask16 mk[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      mk[v] = tailMask(width - j - 16 * v);
    __m512 acc[G][NV];
#pragma GCC unroll 8
    for (int i = 0; i < G; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        acc[i][v] = first ? _mm512_setzero_ps()
                          : _mm512_load_ps(sums + i * ld + j + 16 * v);
    for (int kk = 0; kk < kb; ++kk) {
      const float *bp = brow + kk * sbk + j;
      __m512 bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        bv[v] = _mm512_maskz_loadu_ps(mk[v], bp + 16 * v);
#pragma GCC unroll 8
      for (int i = 0; i < G; ++i) {
        const __m512 av = _mm512_set1_ps(arow[i][kk * sak]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v)
          acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < G; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        _mm512_store_ps(sums + i * ld + j + 16 * v, acc[i][v]);
  }
}

using PassFn = void (*)(const float *const *, int64_t, const float *, int64_t,
                        int, int64_t, float *, bool);
constexpr PassFn passTable[kRowsPerGroup] = {
    &smallRowPass<1>, &smallRowPass<2>, &smallRowPass<3>, &smallRowPass<4>,
    &smallRowPass<5>, &smallRowPass<6>, &smallRowPass<7>, &smallRowPass<8>};

TFC_AVX512 void smallRowMajorB(const Problem &p, int64_t bi, int64_t j0,
                               int64_t j1, float *scratch) {
  constexpr int64_t ld = kChunk + 64;
  const float *a = p.a + bi * p.sab;
  const float *b = p.b + bi * p.sbb;
  float *c = p.c + bi * p.scb;
  const int m = static_cast<int>(p.m);
  for (int64_t s0 = j0; s0 < j1; s0 += kChunk) {
    const int64_t width = j1 - s0 < kChunk ? j1 - s0 : kChunk;
    for (int64_t k0 = 0; k0 < p.k; k0 += kRowsPerPass) {
      const int kb =
          p.k - k0 < kRowsPerPass ? static_cast<int>(p.k - k0) : kRowsPerPass;
      // Row groups share the pass: its rows of B are in L1/L2 by then.
      for (int g0 = 0; g0 < m; g0 += kRowsPerGroup) {
        const int g = m - g0 < kRowsPerGroup ? m - g0 : kRowsPerGroup;
        const float *arow[kRowsPerGroup];
        for (int i = 0; i < g; ++i)
          arow[i] = a + (g0 + i) * p.sam + k0 * p.sak;
        passTable[g - 1](arow, p.sak, b + k0 * p.sbk + s0, p.sbk, kb, width,
                         scratch + g0 * ld, k0 == 0);
      }
    }
    for (int i = 0; i < m; ++i) {
      const float *sums = scratch + i * ld;
      float *crow = c + i * p.scm + s0 * p.scn;
      const float *bias = p.bias ? p.bias + s0 * p.sbias : nullptr;
      if (p.scn == 1 && (!bias || p.sbias == 1)) {
        for (int64_t j = 0; j < width; j += 16) {
          const __mmask16 mk = tailMask(width - j);
          __m512 r = _mm512_load_ps(sums + j);
          if (bias)
            r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mk, bias + j));
          _mm512_mask_storeu_ps(crow + j, mk, r);
        }
      } else {
        for (int64_t j = 0; j < width; ++j)
          crow[j * p.scn] = sums[j] + (bias ? bias[j * p.sbias] : 0.0f);
      }
    }
  }
}

/// Sum of the 16 lanes.
TFC_AVX512 inline float hsum(__m512 v) {
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(v);
}

/// R rows x 4 columns of C for B stored transposed (sbk == 1): dot products
/// along k, 16 lanes at a time, reduced at the end. A has unit column stride.
template <int R>
TFC_AVX512 void smallColTile(const float *const *arow, const float *const *brow,
                             int64_t kdim, float (&out)[4][4]) {
  __m512 acc[R][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q)
      acc[r][q] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= kdim; k += 16) {
    __m512 bv[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      _mm_prefetch(reinterpret_cast<const char *>(brow[q] + k + 256),
                   _MM_HINT_T0);
      bv[q] = _mm512_loadu_ps(brow[q] + k);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      __m512 a = _mm512_loadu_ps(arow[r] + k);
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q)
        acc[r][q] = _mm512_fmadd_ps(a, bv[q], acc[r][q]);
    }
  }
  if (k < kdim) {
    const __mmask16 mk = tailMask(kdim - k);
    __m512 bv[4];
    for (int q = 0; q < 4; ++q)
      bv[q] = _mm512_maskz_loadu_ps(mk, brow[q] + k);
    for (int r = 0; r < R; ++r) {
      __m512 a = _mm512_maskz_loadu_ps(mk, arow[r] + k);
      for (int q = 0; q < 4; ++q)
        acc[r][q] = _mm512_fmadd_ps(a, bv[q], acc[r][q]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q)
      out[r][q] = hsum(acc[r][q]);
}

TFC_AVX512 void smallColMajorB(const Problem &p, int64_t bi, int64_t j0,
                               int64_t j1, float * /*scratch*/) {
  const float *a = p.a + bi * p.sab;
  const float *b = p.b + bi * p.sbb;
  float *c = p.c + bi * p.scb;
  for (int64_t j = j0; j < j1; j += 4) {
    const int cols = j1 - j < 4 ? static_cast<int>(j1 - j) : 4;
    // Missing columns re-read the last real one; their results are dropped.
    const float *brow[4];
    for (int q = 0; q < 4; ++q)
      brow[q] = b + (j + (q < cols ? q : cols - 1)) * p.sbn;
    for (int64_t i0 = 0; i0 < p.m; i0 += 4) {
      const int rows = p.m - i0 < 4 ? static_cast<int>(p.m - i0) : 4;
      const float *arow[4];
      for (int r = 0; r < 4; ++r)
        arow[r] = a + (i0 + (r < rows ? r : rows - 1)) * p.sam;
      float out[4][4];
      switch (rows) {
      case 1:
        smallColTile<1>(arow, brow, p.k, out);
        break;
      case 2:
        smallColTile<2>(arow, brow, p.k, out);
        break;
      case 3:
        smallColTile<3>(arow, brow, p.k, out);
        break;
      default:
        smallColTile<4>(arow, brow, p.k, out);
        break;
      }
      for (int r = 0; r < rows; ++r)
        for (int q = 0; q < cols; ++q)
          c[(i0 + r) * p.scm + (j + q) * p.scn] =
              out[r][q] + (p.bias ? p.bias[(j + q) * p.sbias] : 0.0f);
    }
  }
}

} // namespace

TFC_AVX512 void packPanelAvx512(const float *a, int64_t sam, int rows,
                                int64_t kc, int ld, float *dst) {
  packPanel(a, sam, rows, kc, ld, dst);
}

const KernelSet &kernelsAvx512() {
  static const KernelSet set = {Isa::Avx512,
                                kMR,
                                kNR,
                                /*kc=*/384,
                                /*mc=*/140,
                                /*nc=*/1536,
                                &micro,
                                /*smallM=*/16,
                                &smallRowMajorB,
                                &smallColMajorB,
                                /*smallColumnAlign=*/64,
                                &packA,
                                &packB};
  return set;
}

} // namespace gemm
} // namespace tfcrt

#else // not x86-64: never selected (isaSupported(Avx512) is false)

namespace tfcrt {
namespace gemm {
void packPanelAvx512(const float *a, int64_t sam, int rows, int64_t kc, int ld,
                     float *dst) {
  for (int i = 0; i < ld; ++i)
    for (int64_t kk = 0; kk < kc; ++kk)
      dst[kk * ld + i] = i < rows ? a[i * sam + kk] : 0.0f;
}

const KernelSet &kernelsAvx512() { return kernelsGeneric(); }
} // namespace gemm
} // namespace tfcrt

#endif
