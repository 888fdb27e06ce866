//===- KernelsAvx2.cpp - AVX2 + FMA GEMM micro-kernel ---------------------===//
//
// Micro-tile 6 x 16: 12 ymm accumulators + 2 ymm of B + 1 broadcast = 15 of
// the 16 ymm registers (the classic Haswell shape). Edge tiles are computed
// in full (the packed panels are zero-padded) into a local tile and copied.
// Few rows (decode) stream B unpacked, as the AVX-512 set does: without
// them Zen 3 would pack the whole weight matrix on every decode step.
// Target attributes only; see KernelsAvx512.cpp for why.
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "../Simd.h"

#define TFC_AVX2 __attribute__((target("avx2,fma")))

namespace tfcrt {
namespace gemm {
namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

TFC_AVX2 void micro(int64_t kc, const float *ap, const float *bp, float *c,
                    int64_t rsc, int64_t csc, int m, int n, const float *bias,
                    bool accumulate) {
  // Named accumulators: with an array GCC 12 keeps them in memory here.
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
         c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00,
         c51 = c00;
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(bp);
    const __m256 b1 = _mm256_load_ps(bp + 8);
    __m256 a = _mm256_broadcast_ss(ap + 0);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(ap + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(ap + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(ap + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(ap + 4);
    c40 = _mm256_fmadd_ps(a, b0, c40);
    c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(ap + 5);
    c50 = _mm256_fmadd_ps(a, b0, c50);
    c51 = _mm256_fmadd_ps(a, b1, c51);
    ap += kMR;
    bp += kNR;
  }
  alignas(32) float t[kMR][kNR];
  _mm256_store_ps(&t[0][0], c00);
  _mm256_store_ps(&t[0][8], c01);
  _mm256_store_ps(&t[1][0], c10);
  _mm256_store_ps(&t[1][8], c11);
  _mm256_store_ps(&t[2][0], c20);
  _mm256_store_ps(&t[2][8], c21);
  _mm256_store_ps(&t[3][0], c30);
  _mm256_store_ps(&t[3][8], c31);
  _mm256_store_ps(&t[4][0], c40);
  _mm256_store_ps(&t[4][8], c41);
  _mm256_store_ps(&t[5][0], c50);
  _mm256_store_ps(&t[5][8], c51);
  if (m == kMR && n == kNR && csc == 1) {
    for (int i = 0; i < kMR; ++i) {
      float *p = c + i * rsc;
      __m256 v0 = _mm256_load_ps(&t[i][0]), v1 = _mm256_load_ps(&t[i][8]);
      if (accumulate) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(p));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(p + 8));
      } else if (bias) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(bias));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(bias + 8));
      }
      _mm256_storeu_ps(p, v0);
      _mm256_storeu_ps(p + 8, v1);
    }
    return;
  }
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float &dst = c[i * rsc + j * csc];
      if (accumulate)
        dst += t[i][j];
      else
        dst = bias ? t[i][j] + bias[j] : t[i][j];
    }
  }
}

//===-- few rows, B unpacked (the AVX-512 scheme on 16 ymm) ---------------===//

/// Lanes [0, n) of 8 (n clamped to 0..8) as a maskload/maskstore mask.
TFC_AVX2 inline __m256i laneMask(int64_t n) {
  static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                    0,  0,  0,  0,  0,  0,  0,  0};
  const int64_t c = n < 0 ? 0 : n > 8 ? 8 : n;
  return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(table + 8 - c));
}

/// Row-major B, few rows of A: as KernelsAvx512.cpp's smallRowMajorB, each
/// pass takes kRowsPerPass rows of B and sweeps them left to right across
/// the chunk (contiguous runs the prefetcher follows), partial sums in
/// `scratch`. Register tiles of G rows x NV ymm: G <= 2 -> 4 vectors,
/// G = 3 -> 3, G <= 6 -> 2 (accumulators + B + one broadcast <= 16).
constexpr int kRowsPerPass = 8;
constexpr int kRowsPerGroup = 6;
constexpr int64_t kChunk = kSmallChunk;

template <int G>
TFC_AVX2 void smallRowPass(const float *const *arow, int64_t sak,
                           const float *brow, int64_t sbk, int kb,
                           int64_t width, float *sums, bool first) {
  constexpr int NV = G <= 2 ? 4 : G == 3 ? 3 : 2;
  constexpr int W = 8 * NV;
  constexpr int64_t ld = kChunk + 64;
  for (int64_t j = 0; j < width; j += W) {
    const bool full = j + W <= width;
    __m256i mk[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      mk[v] = laneMask(width - j - 8 * v);
    __m256 acc[G][NV];
#pragma GCC unroll 6
    for (int i = 0; i < G; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        acc[i][v] = first ? _mm256_setzero_ps()
                          : _mm256_load_ps(sums + i * ld + j + 8 * v);
    for (int kk = 0; kk < kb; ++kk) {
      const float *bp = brow + kk * sbk + j;
      __m256 bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        bv[v] = full ? _mm256_loadu_ps(bp + 8 * v)
                     : _mm256_maskload_ps(bp + 8 * v, mk[v]);
#pragma GCC unroll 6
      for (int i = 0; i < G; ++i) {
        const __m256 av = _mm256_broadcast_ss(arow[i] + kk * sak);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v)
          acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
      }
    }
    // Sums may run past `width` into the row's padding (ld > kChunk + W).
#pragma GCC unroll 6
    for (int i = 0; i < G; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        _mm256_store_ps(sums + i * ld + j + 8 * v, acc[i][v]);
  }
}

using PassFn = void (*)(const float *const *, int64_t, const float *, int64_t,
                        int, int64_t, float *, bool);
constexpr PassFn passTable[kRowsPerGroup] = {
    &smallRowPass<1>, &smallRowPass<2>, &smallRowPass<3>,
    &smallRowPass<4>, &smallRowPass<5>, &smallRowPass<6>};

TFC_AVX2 void smallRowMajorB(const Problem &p, int64_t bi, int64_t j0,
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
        int64_t j = 0;
        for (; j + 8 <= width; j += 8) {
          __m256 r = _mm256_load_ps(sums + j);
          if (bias)
            r = _mm256_add_ps(r, _mm256_loadu_ps(bias + j));
          _mm256_storeu_ps(crow + j, r);
        }
        for (; j < width; ++j)
          crow[j] = sums[j] + (bias ? bias[j] : 0.0f);
      } else {
        for (int64_t j = 0; j < width; ++j)
          crow[j * p.scn] = sums[j] + (bias ? bias[j * p.sbias] : 0.0f);
      }
    }
  }
}

using simd::hsum;

/// R rows x 4 columns of C for B stored transposed (sbk == 1): dot products
/// along k, 8 lanes at a time. One row keeps two accumulators per column
/// (8 FMA chains: Zen 3's 2 pipes x 4 cycles).
template <int R>
TFC_AVX2 void smallColTile(const float *const *arow, const float *const *brow,
                           int64_t kdim, float (&out)[2][4]) {
  constexpr int U = R == 1 ? 2 : 1;
  __m256 acc[U][R][4];
#pragma GCC unroll 2
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q)
        acc[u][r][q] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 * U <= kdim; k += 8 * U) {
#pragma GCC unroll 2
    for (int u = 0; u < U; ++u) {
      __m256 bv[4];
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q)
        bv[q] = _mm256_loadu_ps(brow[q] + k + 8 * u);
#pragma GCC unroll 2
      for (int r = 0; r < R; ++r) {
        const __m256 av = _mm256_loadu_ps(arow[r] + k + 8 * u);
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q)
          acc[u][r][q] = _mm256_fmadd_ps(av, bv[q], acc[u][r][q]);
      }
    }
  }
  for (; k < kdim; k += 8) {
    const __m256i mk = laneMask(kdim - k);
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_maskload_ps(arow[r] + k, mk);
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q)
        acc[0][r][q] = _mm256_fmadd_ps(av, _mm256_maskload_ps(brow[q] + k, mk),
                                       acc[0][r][q]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q)
      out[r][q] = hsum(U > 1 ? _mm256_add_ps(acc[0][r][q], acc[U - 1][r][q])
                             : acc[0][r][q]);
}

TFC_AVX2 void smallColMajorB(const Problem &p, int64_t bi, int64_t j0,
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
    for (int64_t i0 = 0; i0 < p.m; i0 += 2) {
      const int rows = p.m - i0 < 2 ? 1 : 2;
      const float *arow[2] = {a + i0 * p.sam, a + (i0 + rows - 1) * p.sam};
      float out[2][4];
      if (rows == 1)
        smallColTile<1>(arow, brow, p.k, out);
      else
        smallColTile<2>(arow, brow, p.k, out);
      for (int r = 0; r < rows; ++r)
        for (int q = 0; q < cols; ++q)
          c[(i0 + r) * p.scm + (j + q) * p.scn] =
              out[r][q] + (p.bias ? p.bias[(j + q) * p.sbias] : 0.0f);
    }
  }
}

} // namespace

const KernelSet &kernelsAvx2() {
  static const KernelSet set = {Isa::Avx2,
                                kMR,
                                kNR,
                                /*kc=*/384,
                                /*mc=*/120,
                                /*nc=*/1536,
                                &micro,
                                /*smallM=*/16,
                                &smallRowMajorB,
                                &smallColMajorB,
                                /*smallColumnAlign=*/32,
                                nullptr,
                                nullptr};
  return set;
}

} // namespace gemm
} // namespace tfcrt

#else

namespace tfcrt {
namespace gemm {
const KernelSet &kernelsAvx2() { return kernelsGeneric(); }
} // namespace gemm
} // namespace tfcrt

#endif
