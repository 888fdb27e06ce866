//===- FormatF32Avx2.cpp - TFC_PACK_F32 on AVX2 + FMA ---------------------===//
//
// The layout is the AVX-512 one (panels of 32 columns); this kernel reads a
// half panel at a time: a 6 x 16 micro-tile (12 ymm accumulators + 2 of B
// + 1 broadcast = 15 of 16 registers, the GEMM's Haswell/Zen shape) whose
// B rows sit 32 floats apart. Each half row is one 64-byte cache line, so
// the two halves of a panel use every byte they bring in.
//
// Few rows: up to 6 rows go over whole panels in pairs (4 ymm per row; one
// row with two accumulator sets along k, 8 independent FMA chains for the
// 2 FMA pipes x 4 cycles of Zen 3): each panel is read sequentially from
// memory once, then from L2 for the next pair. One row (decode at batch
// 1) reads 3 (or 2) panels at once: several DRAM streams a thread, as the
// AVX-512 kernel's 4. 7-18 rows use the 6 x 16 tile on both halves in turn.
//
//===----------------------------------------------------------------------===//

#include "LinearInternal.h"

#include <cstdlib>

#if defined(__x86_64__)
#include <immintrin.h>

#define TFC_AVX2 __attribute__((target("avx2,fma")))

namespace tfcrt {
namespace linear {
namespace {

constexpr int kMR = 6;
constexpr int kP = 32;
constexpr int64_t kKC = 384;
/// Up to this many rows, the few-rows (streaming) order.
constexpr int64_t kStreamRows = 3 * kMR;

thread_local GrowBuffer packedRows;
/// What packedRows holds in the blocked order, every k block (reset by the
/// few-rows one).
thread_local PackedRowsKey packedKey;

/// out[i][0..16) (+)= sum_kk ap[kk * lda + i] * bp[kk * 32 + 0..16), i < R.
/// B rows LDB floats apart: kP in the packed panels, 16 in the staged copy.
template <int R, int LDB = kP>
TFC_AVX2 void tileHalf(int64_t kc, const float *ap, int64_t lda,
                       const float *bp, float *out, int64_t ldo,
                       bool accumulate) {
  __m256 acc[R][2];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
    acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t kk = 0; kk < kc; ++kk) {
    const __m256 b0 = _mm256_load_ps(bp + kk * LDB);
    const __m256 b1 = _mm256_load_ps(bp + kk * LDB + 8);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const __m256 av = _mm256_broadcast_ss(ap + kk * lda + i);
      acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    float *o = out + i * ldo;
    __m256 s0 = acc[i][0], s1 = acc[i][1];
    if (accumulate) {
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(o));
      s1 = _mm256_add_ps(s1, _mm256_loadu_ps(o + 8));
    }
    _mm256_storeu_ps(o, s0);
    _mm256_storeu_ps(o + 8, s1);
  }
}

/// The whole panel for R (1 or 2) rows; U accumulator sets along k.
template <int R>
TFC_AVX2 void tileFull(int64_t kc, const float *ap, int64_t lda,
                       const float *bp, float *out, int64_t ldo) {
  constexpr int U = R == 1 ? 2 : 1;
  __m256 acc[U][R][4];
#pragma GCC unroll 2
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 2
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v)
        acc[u][i][v] = _mm256_setzero_ps();
  int64_t kk = 0;
  for (; kk + U <= kc; kk += U) {
#pragma GCC unroll 2
    for (int u = 0; u < U; ++u) {
      __m256 b[4];
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v)
        b[v] = _mm256_load_ps(bp + (kk + u) * kP + 8 * v);
#pragma GCC unroll 2
      for (int i = 0; i < R; ++i) {
        const __m256 av = _mm256_broadcast_ss(ap + (kk + u) * lda + i);
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v)
          acc[u][i][v] = _mm256_fmadd_ps(av, b[v], acc[u][i][v]);
      }
    }
  }
  for (; kk < kc; ++kk) {
#pragma GCC unroll 2
    for (int i = 0; i < R; ++i) {
      const __m256 av = _mm256_broadcast_ss(ap + kk * lda + i);
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v)
        acc[0][i][v] = _mm256_fmadd_ps(av, _mm256_load_ps(bp + kk * kP + 8 * v),
                                       acc[0][i][v]);
    }
  }
#pragma GCC unroll 2
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      __m256 s = acc[0][i][v];
      if (U > 1)
        s = _mm256_add_ps(s, acc[U - 1][i][v]);
      _mm256_storeu_ps(out + i * ldo + 8 * v, s);
    }
}

/// One or two rows against NP consecutive whole panels at once: NP
/// sequential DRAM streams in flight instead of one (the AVX-512 kernel's
/// tileStreams; 4 ymm a panel, so NP x 4 x R accumulators + a broadcast:
/// NP = 3 at one row fills 13 of the 16 registers, the FMAs take B from
/// memory).
template <int R, int NP>
TFC_AVX2 void tileStreams(int64_t kc, const float *ap, int64_t lda,
                          const float *bp, int64_t pstride, float *out,
                          int64_t ldo) {
  __m256 acc[R][NP][4];
#pragma GCC unroll 2
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j)
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v)
        acc[i][j][v] = _mm256_setzero_ps();
  for (int64_t kk = 0; kk < kc; ++kk) {
#pragma GCC unroll 2
    for (int i = 0; i < R; ++i) {
      const __m256 av = _mm256_broadcast_ss(ap + kk * lda + i);
#pragma GCC unroll 4
      for (int j = 0; j < NP; ++j)
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v)
          acc[i][j][v] = _mm256_fmadd_ps(
              av, _mm256_load_ps(bp + j * pstride + kk * kP + 8 * v),
              acc[i][j][v]);
    }
  }
#pragma GCC unroll 2
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j)
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v)
        _mm256_storeu_ps(out + i * ldo + j * kP + 8 * v, acc[i][j][v]);
}

/// Panels a 1-row call streams at once (TFCRT_F32_AVX2_STREAMS, 1-3;
/// default 3; 1: one panel at a time, as before).
int streamsOneRow() {
  static const int v = [] {
    const char *e = std::getenv("TFCRT_F32_AVX2_STREAMS");
    const int x = e && *e ? std::atoi(e) : 3;
    return x < 1 || x > 3 ? 3 : x;
  }();
  return v;
}

using HalfFn = void (*)(int64_t, const float *, int64_t, const float *, float *,
                        int64_t, bool);
constexpr HalfFn kHalves[kMR] = {&tileHalf<1>, &tileHalf<2>, &tileHalf<3>,
                                 &tileHalf<4>, &tileHalf<5>, &tileHalf<6>};
constexpr HalfFn kStagedHalves[kMR] = {&tileHalf<1, 16>, &tileHalf<2, 16>,
                                       &tileHalf<3, 16>, &tileHalf<4, 16>,
                                       &tileHalf<5, 16>, &tileHalf<6, 16>};

thread_local GrowBuffer stagedSlice;

/// Rows [i0, i0 + rows) x k range [pc, pc + kc) of x into micro-panels of
/// kMR rows, [kc][lda] each. Contiguous rows of a micro-panel as high as its
/// stride (full ones, and the few-rows order's groups of any height) go
/// through 8 x 8 in-register transposes (the scalar loop cost ~9 % of a
/// large product); their 8-float stores run 8 - lda floats past each k slot
/// into the next, which the next store (or micro-panel) overwrites, so `dst`
/// needs kPackSlack floats of room past the last micro-panel.
constexpr int64_t kPackSlack = 8;

/// `rows` (1..kMR) rows from src (row stride sm) into [kc][rows].
TFC_AVX2 void packPanelRows(const float *src, int64_t sm, int rows, int64_t kc,
                            float *dst) {
  const int64_t lda = rows;
  int64_t k0 = 0;
  for (; k0 + 8 <= kc; k0 += 8) {
    __m256 r[8];
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i)
      r[i] =
          i < rows ? _mm256_loadu_ps(src + i * sm + k0) : _mm256_setzero_ps();
    r[6] = r[7] = _mm256_setzero_ps();
    __m256 t[8], u[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      u[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
      u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
      u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
      u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      _mm256_storeu_ps(dst + (k0 + c) * lda,
                       _mm256_permute2f128_ps(u[c], u[4 + c], 0x20));
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      _mm256_storeu_ps(dst + (k0 + 4 + c) * lda,
                       _mm256_permute2f128_ps(u[c], u[4 + c], 0x31));
    }
  }
  for (; k0 < kc; ++k0)
    for (int i = 0; i < rows; ++i)
      dst[k0 * lda + i] = src[i * sm + k0];
}

void packRows(const Rows &x, int64_t i0, int64_t rows, int64_t pc, int64_t kc,
              int64_t lda, float *dst) {
  for (int64_t r0 = 0; r0 < rows; r0 += kMR) {
    const int64_t r = rows - r0 < kMR ? rows - r0 : kMR;
    float *d = dst + r0 * kc;
    if (x.sk == 1 && r == lda) {
      packPanelRows(x.x + (i0 + r0) * x.sm + pc, x.sm, static_cast<int>(r), kc,
                    d);
      continue;
    }
    for (int64_t i = 0; i < r; ++i) {
      const float *s = x.x + (i0 + r0 + i) * x.sm + pc * x.sk;
      if (x.sk == 1)
        for (int64_t kk = 0; kk < kc; ++kk)
          d[kk * lda + i] = s[kk];
      else
        for (int64_t kk = 0; kk < kc; ++kk)
          d[kk * lda + i] = s[kk * x.sk];
    }
  }
}

TFC_AVX2 void compute(const tfc_pack_header &h, const Rows &x,
                      const void * /*scratch*/, int64_t i0, int64_t i1,
                      int64_t p0, int64_t p1, float *out, int64_t ldo) {
  const float *w = reinterpret_cast<const float *>(
      reinterpret_cast<const char *>(&h) + h.data_offset);
  const int64_t k = h.k, rows = i1 - i0;
  if (rows <= kStreamRows) {
    packedKey = {};
    // Whole k per tile, panels outer (each panel from memory once). Up to
    // 6 rows go in pairs over the whole panel (sequential reads: faster
    // from DRAM than two strided half passes, measured at 4 rows); more in
    // up to 3 even groups of <= 6 on half panels.
    const int64_t groups =
        rows <= kMR ? (rows + 1) / 2 : (rows + kMR - 1) / kMR;
    float *ap = static_cast<float *>(packedRows.get(
        static_cast<size_t>(rows * k + kPackSlack) * sizeof(float)));
    if (!ap)
      return tileFailed(out, rows, (p1 - p0) * kP, ldo);
    int64_t g0[kMR / 2 + 1];
    for (int64_t g = 0; g <= groups; ++g)
      g0[g] = rows * g / groups;
    for (int64_t g = 0; g < groups; ++g)
      packRows(x, i0 + g0[g], g0[g + 1] - g0[g], 0, k, g0[g + 1] - g0[g],
               ap + g0[g] * k);
    int64_t q = p0;
    if (rows == 1) {
      // Threes, then twos: the driver hands out slices of 4 panels, which
      // go as 2 + 2 rather than 3 + 1 (one stream for a quarter of them).
      const int np = streamsOneRow();
      if (np == 3)
        for (; p1 - q >= 3 && p1 - q != 4; q += 3)
          tileStreams<1, 3>(k, ap, 1, w + q * k * kP, k * kP,
                            out + (q - p0) * kP, ldo);
      if (np >= 2)
        for (; q + 2 <= p1; q += 2)
          tileStreams<1, 2>(k, ap, 1, w + q * k * kP, k * kP,
                            out + (q - p0) * kP, ldo);
    }
    for (; q < p1; ++q) {
      const float *b = w + q * k * kP;
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t r = g0[g + 1] - g0[g];
        const float *a = ap + g0[g] * k;
        float *o = out + g0[g] * ldo + (q - p0) * kP;
        if (r == 1) {
          tileFull<1>(k, a, 1, b, o, ldo);
        } else if (r == 2) {
          tileFull<2>(k, a, 2, b, o, ldo);
        } else {
          kHalves[r - 1](k, a, r, b, o, ldo, false);
          kHalves[r - 1](k, a, r, b + 16, o + 16, ldo, false);
        }
      }
    }
    return;
  }
  const int64_t kBlocks = (k + kKC - 1) / kKC;
  const int64_t kcMax = (k + kBlocks - 1) / kBlocks;
  const int64_t panels = (rows + kMR - 1) / kMR;
  // Every k block's micro-panels, one after the other: the driver hands a
  // thread several panel slices of the same rows (a 53-row prefill: 8 per
  // call), which then pack them once.
  const int64_t blockFloats = panels * kMR * kcMax;
  float *apAll = static_cast<float *>(packedRows.get(
      static_cast<size_t>(kBlocks * blockFloats + kPackSlack) * sizeof(float)));
  float *sb = static_cast<float *>(
      stagedSlice.get(static_cast<size_t>(kcMax * 16) * sizeof(float)));
  if (!apAll || !sb)
    return tileFailed(out, rows, (p1 - p0) * kP, ldo);
  if (!packedKey.holds(x, i0, i1))
    for (int64_t pc = 0, bi = 0; pc < k; pc += kcMax, ++bi)
      packRows(x, i0, rows, pc, k - pc < kcMax ? k - pc : kcMax, kMR,
               apAll + bi * blockFloats);
  packedKey = {x.call, i0, i1};
  for (int64_t pc = 0, bi = 0; pc < k; pc += kcMax, ++bi) {
    const int64_t kc = k - pc < kcMax ? k - pc : kcMax;
    const float *ap = apAll + bi * blockFloats;
    // BLIS order: a half-panel slice (kc x 16) stays in L1 while the x
    // micro-panels stream from L2. Read in place, its rows 128 bytes apart
    // use only half of L1's sets (16 KB for a 24 KB slice), so it is first
    // copied to a contiguous buffer: 2-6 % faster, measured alternating.
    for (int64_t q = p0; q < p1; ++q)
      for (int h = 0; h < 2; ++h) {
        const float *b = w + (q * k + pc) * kP + 16 * h;
        // While the first half is staged, the next panel's slice is
        // prefetched into L2: staging from memory was latency-bound (the
        // copy was 29% of SmolLM2's 53-token prefill on this path).
        const float *next =
            h == 0 && q + 1 < p1 ? w + ((q + 1) * k + pc) * kP : nullptr;
        for (int64_t kk = 0; kk < kc; ++kk) {
          if (next) {
            _mm_prefetch(reinterpret_cast<const char *>(next + kk * kP),
                         _MM_HINT_T1);
            _mm_prefetch(reinterpret_cast<const char *>(next + kk * kP + 16),
                         _MM_HINT_T1);
          }
          _mm256_store_ps(sb + kk * 16, _mm256_load_ps(b + kk * kP));
          _mm256_store_ps(sb + kk * 16 + 8, _mm256_load_ps(b + kk * kP + 8));
        }
        float *o = out + (q - p0) * kP + 16 * h;
        for (int64_t r0 = 0; r0 < rows; r0 += kMR) {
          const int64_t r = rows - r0 < kMR ? rows - r0 : kMR;
          kStagedHalves[r - 1](kc, ap + r0 * kc, kMR, sb, o + r0 * ldo, ldo,
                               pc > 0);
        }
      }
  }
}

constexpr FormatImpl kImpl = {nullptr, nullptr, &compute, 16 * kMR, "f32-avx2"};

} // namespace

const FormatImpl *f32Avx2() { return &kImpl; }

} // namespace linear
} // namespace tfcrt

#else

namespace tfcrt {
namespace linear {
const FormatImpl *f32Avx2() { return nullptr; }
} // namespace linear
} // namespace tfcrt

#endif
