//===- FormatF32Avx512.cpp - TFC_PACK_F32 on AVX-512 ----------------------===//
//
// B is the packed weight itself: panel q, rows [pc, pc + kc) is a
// contiguous [kc][32] block, exactly the B micro-panel of the 14 x 32 GEMM
// micro-kernel (Gemm/KernelsAvx512.cpp), so nothing of W is packed per
// call; only the rows of x are (into [kc][R] micro-panels, R <= 14).
//
// Up to 56 rows (decode, and every row block the driver hands out): one to
// four micro-panels over the whole of k, panels in turn: each panel streams
// from memory once, contiguously, and from L1/L2 for the others.
// 1-6 rows (decode) read 4 or 2 panels at once (more DRAM streams in
// flight); a lone panel with 1-4 rows keeps 2-4 accumulator sets along k,
// so that weights already in L2/L3 are not bound by the FMA latency.
// More rows in one call (only direct callers): Goto-style, k blocked (KC),
// the x micro-panel in L1 and the B slices streaming from L2.
//
//===----------------------------------------------------------------------===//

#include "../Gemm/Gemm.h"
#include "LinearInternal.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own _mm512_undefined_* seeds (see Gemm/KernelsAvx512).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#define TFC_AVX512 __attribute__((target("avx512f,avx2,fma")))

namespace tfcrt {
namespace linear {
namespace {

constexpr int kMR = 14;
constexpr int kP = 32;
constexpr int64_t kKC = 384;
/// Up to this many rows (10 micro-panels), the few-rows (streaming) order;
/// also the largest row block the driver hands out (Linear.cpp), so W is
/// streamed once per up to this many rows.
constexpr int kMaxGroups = 10;
constexpr int64_t kStreamRows = kMaxGroups * kMR;
/// Up to this many rows the driver's threads split the panels of one row
/// block (a 53-token prompt: W read once per call); more rows go in row
/// blocks of up to kStreamRows (MiniLM's 128 rows: two of 64, one per
/// thread, 16% faster than 128 rows with the panels split).
constexpr int kPanelSplitRows = 8 * kMR;

thread_local GrowBuffer packedRows;
/// What packedRows holds in the few-rows order (reset by the blocked one).
thread_local PackedRowsKey packedKey;

/// U sets of accumulators along k for R rows (<= 24 zmm in all).
template <int R> constexpr int unrollFor() {
  return R == 1 ? 4 : R <= 4 ? 2 : 1;
}

/// s[i][0..32) = sum_kk ap[kk * lda + i] * bp[kk * 32 + 0..32), i < R.
/// pf (not null): rows of the panel after bp, prefetched into L2 along the
/// way, one (128 bytes) every pfEvery k steps (each of several row groups
/// over a panel that comes from memory takes its share of the next one).
template <int R>
TFC_AVX512 inline __attribute__((always_inline)) void
dotTile(int64_t kc, const float *ap, int64_t lda, const float *bp,
        const float *pf, __m512 (&s)[R][2], int pfEvery = 1) {
  constexpr int U = unrollFor<R>();
  __m512 acc[U][R][2];
#pragma GCC unroll 4
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
      acc[u][i][0] = acc[u][i][1] = _mm512_setzero_ps();
  int64_t kk = 0;
  int pfCount = 0;
  for (; kk + U <= kc; kk += U) {
    if (pf)
      for (int u = 0; u < U; ++u) {
        if (++pfCount < pfEvery)
          continue;
        pfCount = 0;
        _mm_prefetch(reinterpret_cast<const char *>(pf), _MM_HINT_T1);
        _mm_prefetch(reinterpret_cast<const char *>(pf + 16), _MM_HINT_T1);
        pf += kP;
      }
#pragma GCC unroll 4
    for (int u = 0; u < U; ++u) {
      const __m512 b0 = _mm512_load_ps(bp + (kk + u) * kP);
      const __m512 b1 = _mm512_load_ps(bp + (kk + u) * kP + 16);
      const float *a = ap + (kk + u) * lda;
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        const __m512 av = _mm512_set1_ps(a[i]);
        acc[u][i][0] = _mm512_fmadd_ps(av, b0, acc[u][i][0]);
        acc[u][i][1] = _mm512_fmadd_ps(av, b1, acc[u][i][1]);
      }
    }
  }
  for (; kk < kc; ++kk) {
    const __m512 b0 = _mm512_load_ps(bp + kk * kP);
    const __m512 b1 = _mm512_load_ps(bp + kk * kP + 16);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const __m512 av = _mm512_set1_ps(ap[kk * lda + i]);
      acc[0][i][0] = _mm512_fmadd_ps(av, b0, acc[0][i][0]);
      acc[0][i][1] = _mm512_fmadd_ps(av, b1, acc[0][i][1]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    s[i][0] = acc[0][i][0];
    s[i][1] = acc[0][i][1];
#pragma GCC unroll 4
    for (int u = 1; u < U; ++u) {
      s[i][0] = _mm512_add_ps(s[i][0], acc[u][i][0]);
      s[i][1] = _mm512_add_ps(s[i][1], acc[u][i][1]);
    }
  }
}

/// out[i][0..32) (+)= the tile (dotTile), i < R.
template <int R>
TFC_AVX512 void tile(int64_t kc, const float *ap, int64_t lda, const float *bp,
                     float *out, int64_t ldo, bool accumulate,
                     const float *pf = nullptr, int pfEvery = 1) {
  __m512 s[R][2];
  dotTile<R>(kc, ap, lda, bp, pf, s, pfEvery);
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    float *o = out + i * ldo;
    __m512 s0 = s[i][0], s1 = s[i][1];
    if (accumulate) {
      s0 = _mm512_add_ps(s0, _mm512_loadu_ps(o));
      s1 = _mm512_add_ps(s1, _mm512_loadu_ps(o + 16));
    }
    _mm512_storeu_ps(o, s0);
    _mm512_storeu_ps(o + 16, s1);
  }
}

/// The tile (dotTile) finished by o.tile into output rows [r0, r0 + R),
/// `cols` of its 32 columns valid, output columns from c0.
template <int R>
TFC_AVX512 void tileInto(int64_t kc, const float *ap, int64_t lda,
                         const float *bp, const float *pf, const TileOut &o,
                         int64_t r0, int cols, int64_t c0, int pfEvery) {
  __m512 s[R][2];
  dotTile<R>(kc, ap, lda, bp, pf, s, pfEvery);
  alignas(64) float buf[R][kP];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    _mm512_store_ps(buf[i], s[i][0]);
    _mm512_store_ps(buf[i] + 16, s[i][1]);
  }
  o.tile(&buf[0][0], kP, R, cols, o, r0, c0);
}

/// R rows against NP consecutive panels at once: NP concurrent sequential
/// streams keep more DRAM requests in flight than one. Measured here,
/// alternating configurations call by call (medians; W from DRAM): one row
/// 4 streams vs 1: +12 %, vs 2: +5 %, 6 streams slower; 4 rows 2 streams
/// vs 1: +15 %. Software prefetch instead was slower.
template <int R, int NP>
TFC_AVX512 void tileStreams(int64_t kc, const float *ap, int64_t lda,
                            const float *bp, int64_t pstride, float *out,
                            int64_t ldo) {
  __m512 acc[R][NP][2];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j)
      acc[i][j][0] = acc[i][j][1] = _mm512_setzero_ps();
  for (int64_t kk = 0; kk < kc; ++kk) {
    __m512 b[NP][2];
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
      b[j][0] = _mm512_load_ps(bp + j * pstride + kk * kP);
      b[j][1] = _mm512_load_ps(bp + j * pstride + kk * kP + 16);
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const __m512 av = _mm512_set1_ps(ap[kk * lda + i]);
#pragma GCC unroll 4
      for (int j = 0; j < NP; ++j) {
        acc[i][j][0] = _mm512_fmadd_ps(av, b[j][0], acc[i][j][0]);
        acc[i][j][1] = _mm512_fmadd_ps(av, b[j][1], acc[i][j][1]);
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
      _mm512_storeu_ps(out + i * ldo + j * kP, acc[i][j][0]);
      _mm512_storeu_ps(out + i * ldo + j * kP + 16, acc[i][j][1]);
    }
}

constexpr int kMaxStreamRows = 6;
constexpr int streamsFor(int rows) { return rows <= 2 ? 4 : 2; }
using StreamFn = void (*)(int64_t, const float *, int64_t, const float *,
                          int64_t, float *, int64_t);
constexpr StreamFn kStreamTiles[kMaxStreamRows] = {
    &tileStreams<1, 4>, &tileStreams<2, 4>, &tileStreams<3, 2>,
    &tileStreams<4, 2>, &tileStreams<5, 2>, &tileStreams<6, 2>};

using TileFn = void (*)(int64_t, const float *, int64_t, const float *, float *,
                        int64_t, bool, const float *, int);
constexpr TileFn kTiles[kMR] = {
    &tile<1>, &tile<2>, &tile<3>,  &tile<4>,  &tile<5>,  &tile<6>,  &tile<7>,
    &tile<8>, &tile<9>, &tile<10>, &tile<11>, &tile<12>, &tile<13>, &tile<14>};

using TileIntoFn = void (*)(int64_t, const float *, int64_t, const float *,
                            const float *, const TileOut &, int64_t, int,
                            int64_t, int);
constexpr TileIntoFn kTilesInto[kMR] = {
    &tileInto<1>,  &tileInto<2>,  &tileInto<3>,  &tileInto<4>,  &tileInto<5>,
    &tileInto<6>,  &tileInto<7>,  &tileInto<8>,  &tileInto<9>,  &tileInto<10>,
    &tileInto<11>, &tileInto<12>, &tileInto<13>, &tileInto<14>};

/// Rows [i0, i0 + rows) x k range [pc, pc + kc) of x into micro-panels of
/// kMR rows, [kc][lda] each (lda = kMR, or rows when rows <= kMR). Rows
/// with unit k stride go through 16 x 16 transposes at any panel height:
/// the few-rows order splits rows evenly (128 rows are 10 groups of 12-13),
/// and a scalar scatter for those had cost the down projection (k = 1536,
/// n = 384: x reused only 12 times) ~15 % of its time.
void packRows(const Rows &x, int64_t i0, int64_t rows, int64_t pc, int64_t kc,
              int64_t lda, float *dst) {
  for (int64_t r0 = 0; r0 < rows; r0 += kMR) {
    const int64_t r = rows - r0 < kMR ? rows - r0 : kMR;
    float *d = dst + r0 * kc;
    if (x.sk == 1) {
      gemm::packPanelAvx512(x.x + (i0 + r0) * x.sm + pc, x.sm,
                            static_cast<int>(r), kc, static_cast<int>(lda), d);
      continue;
    }
    for (int64_t i = 0; i < r; ++i) {
      const float *s = x.x + (i0 + r0 + i) * x.sm + pc * x.sk;
      for (int64_t kk = 0; kk < kc; ++kk)
        d[kk * lda + i] = s[kk * x.sk];
    }
  }
}

/// Whether row groups share the next panel's prefetch (fewRows; default
/// on, TFCRT_F32_PF_SPREAD=0 off).
bool spreadPrefetch() {
  static const bool on = [] {
    const char *e = std::getenv("TFCRT_F32_PF_SPREAD");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

/// The few-rows order (rows <= kStreamRows): whole k per tile, panels
/// outer, so that each panel comes from memory once and from L1/L2 for the
/// other row groups (rows split evenly: 16 = 8 + 8). `streams(q, np, ap)`
/// runs np panels from q for a lone group of <= kMaxStreamRows rows;
/// `one(g, rowsInGroup, q, apGroup, next)` one tile. False: no memory.
template <typename Streams, typename One>
TFC_AVX512 bool fewRows(const tfc_pack_header &h, const Rows &x, int64_t i0,
                        int64_t i1, int64_t p0, int64_t p1, Streams &&streams,
                        One &&one) {
  const float *w = reinterpret_cast<const float *>(
      reinterpret_cast<const char *>(&h) + h.data_offset);
  const int64_t k = h.k, rows = i1 - i0;
  const int64_t groups = (rows + kMR - 1) / kMR;
  float *ap = static_cast<float *>(
      packedRows.get(static_cast<size_t>(rows * k) * sizeof(float)));
  if (!ap)
    return false;
  int64_t g0[kMaxGroups + 1];
  for (int64_t g = 0; g <= groups; ++g)
    g0[g] = rows * g / groups;
  // Another panel slice of rows this thread packed for the same call:
  // packed already (SmolLM2's 53-token prefill packed its rows 8 times
  // per call, 12% of the run).
  if (!packedKey.holds(x, i0, i1))
    for (int64_t g = 0; g < groups; ++g)
      packRows(x, i0 + g0[g], g0[g + 1] - g0[g], 0, k, g0[g + 1] - g0[g],
               ap + g0[g] * k);
  packedKey = {x.call, i0, i1};
  int64_t q = p0;
  if (groups == 1 && rows <= kMaxStreamRows) {
    const int np = streamsFor(static_cast<int>(rows));
    for (; q + np <= p1; q += np)
      streams(q, np, ap, w + q * k * kP);
  }
  // Several groups: the next panel is prefetched along the way (SmolLM2's
  // 53-row prefill reads its 540 MB of weights once, 13-14 rows per group
  // at a time: one sequential stream per thread otherwise). Each group
  // prefetches its share, k / groups rows, one row every `groups` of its k
  // steps: the panel's DRAM traffic spread over the whole panel's compute.
  // (The first group alone had prefetched all of it, at `groups` times the
  // rate: on the Intel Xeon family 6 model 207, whose core streams ~17 GB/s,
  // the 53-token prefill ran 10 % faster spread, docs/PERFORMANCE.md;
  // TFCRT_F32_PF_SPREAD=0 restores the first-group prefetch.)
  const bool spread = spreadPrefetch();
  for (; q < p1; ++q)
    for (int64_t g = 0; g < groups; ++g) {
      const float *next = nullptr;
      int every = 1;
      if (groups > 1 && q + 1 < p1) {
        if (spread) {
          next = w + (q + 1) * k * kP + (k * g / groups) * kP;
          every = static_cast<int>(groups);
        } else if (g == 0) {
          next = w + (q + 1) * k * kP;
        }
      }
      one(g0[g], g0[g + 1] - g0[g], q, ap + g0[g] * k, w + q * k * kP, next,
          every);
    }
  return true;
}

TFC_AVX512 void computeInto(const tfc_pack_header &h, const Rows &x,
                            const void * /*scratch*/, int64_t i0, int64_t i1,
                            int64_t p0, int64_t p1, const TileOut &o) {
  const int64_t k = h.k, rows = i1 - i0;
  // Valid columns of panel q and its first output column.
  auto cols = [&](int64_t q) {
    return static_cast<int>(std::min<int64_t>(kP, h.n - q * kP));
  };
  auto c0 = [&](int64_t q) { return o.gated ? q * kP / 2 : q * kP; };
  const bool ok = fewRows(
      h, x, i0, i1, p0, p1,
      [&](int64_t q, int np, const float *ap, const float *bp) {
        alignas(64) float buf[kMaxStreamRows * 4 * kP];
        kStreamTiles[rows - 1](k, ap, rows, bp, k * kP, buf, np * kP);
        for (int j = 0; j < np; ++j)
          o.tile(buf + j * kP, np * kP, static_cast<int>(rows), cols(q + j),
                 o, 0, c0(q + j));
      },
      [&](int64_t r0, int64_t r, int64_t q, const float *ap, const float *bp,
          const float *next, int every) {
        kTilesInto[r - 1](k, ap, r, bp, next, o, r0, cols(q), c0(q), every);
      });
  if (!ok) { // records the error; y gets NaN where the tiles would go
    float nan;
    tileFailed(&nan, 1, 1, 1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t q = p0; q < p1; ++q)
        for (int c = 0; c < (o.gated ? cols(q) / 2 : cols(q)); ++c)
          o.y[r * o.ldy + c0(q) + c] = nan;
  }
}

TFC_AVX512 void compute(const tfc_pack_header &h, const Rows &x,
                        const void * /*scratch*/, int64_t i0, int64_t i1,
                        int64_t p0, int64_t p1, float *out, int64_t ldo) {
  const float *w = reinterpret_cast<const float *>(
      reinterpret_cast<const char *>(&h) + h.data_offset);
  const int64_t k = h.k, rows = i1 - i0;
  if (rows <= kStreamRows) {
    const bool ok = fewRows(
        h, x, i0, i1, p0, p1,
        [&](int64_t q, int, const float *ap, const float *bp) {
          kStreamTiles[rows - 1](k, ap, rows, bp, k * kP, out + (q - p0) * kP,
                                 ldo);
        },
        [&](int64_t r0, int64_t r, int64_t q, const float *ap, const float *bp,
            const float *next, int every) {
          kTiles[r - 1](k, ap, r, bp, out + r0 * ldo + (q - p0) * kP, ldo,
                        false, next, every);
        });
    if (!ok)
      tileFailed(out, rows, (p1 - p0) * kP, ldo);
    return;
  }
  packedKey = {};
  const int64_t kBlocks = (k + kKC - 1) / kKC;
  const int64_t kcMax = (k + kBlocks - 1) / kBlocks;
  const int64_t panels = (rows + kMR - 1) / kMR;
  float *ap = static_cast<float *>(packedRows.get(
      static_cast<size_t>(panels * kMR * kcMax) * sizeof(float)));
  if (!ap)
    return tileFailed(out, rows, (p1 - p0) * kP, ldo);
  for (int64_t pc = 0; pc < k; pc += kcMax) {
    const int64_t kc = k - pc < kcMax ? k - pc : kcMax;
    packRows(x, i0, rows, pc, kc, kMR, ap);
    for (int64_t r0 = 0; r0 < rows; r0 += kMR) {
      const int64_t r = rows - r0 < kMR ? rows - r0 : kMR;
      const TileFn fn = kTiles[r - 1];
      const float *a = ap + r0 * kc;
      for (int64_t q = p0; q < p1; ++q)
        fn(kc, a, kMR, w + (q * k + pc) * kP, out + r0 * ldo + (q - p0) * kP,
           ldo, pc > 0, nullptr, 1);
    }
  }
}

// Row blocks of up to 10 micro-panels (140 rows), so that the driver always
// gets the few-rows order (whole k, panels outer) and streams W once per
// block: 10 against 8 (SmolLM2's 512-token prompt in 4 row blocks of 128
// instead of 6 of 85, so its 113 MB lm_head is streamed 4 times, not 6):
// SmolLM2 prefill of 512 tokens, 5 alternating rounds, 325.5 / 341.3 / 339.4
// / 342.5 / 328.1 -> 323.1 / 336.0 / 336.6 / 339.2 / 326.6 ms (MiniLM batch
// 1 and 32 unchanged). 8 against 4 (56 rows), Zen 5, 2 threads,
// alternating runs: MiniLM batch 1 (128 rows: 2 row blocks instead of 4, so W, 42 MB > L3, is read
// twice instead of 4 times) 8.05-8.21 -> 7.62-7.73 ms; SmolLM2 prefill 53
// and 512 tokens and MiniLM batch 32 unchanged.
// 4 against 2 micro-panels (28 rows), 2 threads, alternating runs of
// the same models: SmolLM2 prefill 53 tokens 94 -> 85 ms (the driver split
// 53 rows into two row blocks, each thread streaming all 540 MB of W; now
// the threads split the panels), 512 tokens 688 -> 610 ms, MiniLM batch 1
// 4% faster, batch 32 unchanged. The 28-row blocks had been measured as
// fast or up to 5 % faster than 56-row blocks in the Goto order.
constexpr FormatImpl kImpl = {nullptr,     nullptr,      &compute,
                              kStreamRows, "f32-avx512", &computeInto,
                              kPanelSplitRows};

} // namespace

const FormatImpl *f32Avx512() { return &kImpl; }

} // namespace linear
} // namespace tfcrt

#else

namespace tfcrt {
namespace linear {
const FormatImpl *f32Avx512() { return nullptr; }
} // namespace linear
} // namespace tfcrt

#endif
