// What bounds the AVX2 MASK kernel's one-row tile on this CPU
// (docs/PERFORMANCE.md, "The AVX2 one-row MASK tile on Zen 3").
//
//   c++ -O2 -mavx2 -mfma -mpopcnt -o /tmp/expand_probe scripts/avx2_expand_probe.cpp
//   /tmp/expand_probe
//
// Core cycles come from a chain of dependent adds (1 cycle each), so the
// figures hold whatever the TSC rate. Prints, each measured 3 times:
//   - latency and throughput of vpermps, vpermilps and vblendvps (ymm);
//   - vgatherdps throughput from an L1-resident x (the column-major
//     alternative to expanding rows: one gather per 8 stored values);
//   - the one-row tile's inner loop (FormatSparseAvx2.cpp tileMask<1>: a
//     32-bit mask per k row, 4 table loads, 4 vpermps over unaligned loads
//     at popcount offsets, vblendvps zeroing, 4 FMAs) at 70 % zeros, against
//     the same loop with one value stream per 8-column group (no in-row
//     offsets: 3 popcounts and their masking fewer) and against a constant
//     permutation (no table: the table's share).
// Results swing with what shares the core (on the lent Zen 3, 12 to 23
// cycles per k row between minutes): compare lines of one run only.
#include <immintrin.h>
#include <x86intrin.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace {

double tscPerCycle() {
  uint64_t x = 1;
  const long n = 200000000;
  const uint64_t t0 = __rdtsc();
  for (long i = 0; i < n; ++i)
    __asm__ volatile("add %0, %0\n\tadd %0, %0\n\tadd %0, %0\n\tadd %0, %0"
                     : "+r"(x));
  return double(__rdtsc() - t0) / (4.0 * n);
}

// V 0-2: throughput (8 independent chains); 3-5: latency (one chain).
#define TFC_OP8(OP)                                                            \
  a0 = OP(a0); a1 = OP(a1); a2 = OP(a2); a3 = OP(a3);                          \
  a4 = OP(a4); a5 = OP(a5); a6 = OP(a6); a7 = OP(a7)
template <int V> __attribute__((noinline)) float prim(__m256i idx, long n) {
  __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0,
         a5 = a0, a6 = a0, a7 = a0;
  __m256 m = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 31));
  __asm__ volatile("" : "+x"(m));
  auto pv = [&](__m256 a) { return _mm256_permutevar8x32_ps(a, idx); };
  auto pl = [&](__m256 a) { return _mm256_permutevar_ps(a, idx); };
  const __m256 other = _mm256_set1_ps(2.0f);
  auto bl = [&](__m256 a) { return _mm256_blendv_ps(a, other, m); };
  for (long i = 0; i < n; ++i) {
    if (V == 0) {
      TFC_OP8(pv);
    } else if (V == 1) {
      TFC_OP8(pl);
    } else if (V == 2) {
      TFC_OP8(bl);
    } else if (V == 3) {
      a0 = pv(a0);
    } else if (V == 4) {
      a0 = pl(a0);
    } else {
      a0 = bl(a0);
    }
    __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4),
                     "+x"(a5), "+x"(a6), "+x"(a7));
  }
  return _mm256_cvtss_f32(_mm256_add_ps(
      _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
      _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7))));
}
#undef TFC_OP8

__attribute__((noinline)) float gather(const uint16_t *idx, const float *v,
                                       const float *x, long steps, int reps) {
  __m256 acc[4] = {};
  for (int r = 0; r < reps; ++r)
    for (long s = 0; s < steps; s += 4)
      for (int a = 0; a < 4; ++a) {
        const __m256i ix = _mm256_cvtepu16_epi32(
            _mm_loadu_si128(reinterpret_cast<const __m128i *>(idx + 8 * (s + a))));
        acc[a] = _mm256_fmadd_ps(_mm256_i32gather_ps(x, ix, 4),
                                 _mm256_load_ps(v + 8 * (s + a)), acc[a]);
      }
  return _mm256_cvtss_f32(
      _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

alignas(32) int32_t perm[256][8];

inline __m256 expand8(__m256i p, const float *v) {
  return _mm256_blendv_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(v), p),
                          _mm256_setzero_ps(), _mm256_castsi256_ps(p));
}

// V 0: one value stream per k row (the packed layout); 1: a stream per
// 8-column group; 2: as 0 with a constant permutation.
template <int V>
__attribute__((noinline)) float tile(const uint32_t *mk, const float *v,
                                     const float *const *vs, const float *x,
                                     long k, int reps) {
  __m256 acc[4] = {};
  const __m256i cst = _mm256_setr_epi32(0, 1, INT32_MIN, 2, 3, INT32_MIN, 4,
                                        INT32_MIN);
  for (int r = 0; r < reps; ++r) {
    const float *vv = v;
    const float *s[4] = {vs[0], vs[1], vs[2], vs[3]};
    for (long kk = 0; kk < k; ++kk) {
      const uint32_t m = mk[kk];
      const __m256 a = _mm256_set1_ps(x[kk]);
      if (V == 1) {
        for (int c = 0; c < 4; ++c) {
          const unsigned b = (m >> (8 * c)) & 255u;
          acc[c] = _mm256_fmadd_ps(
              a,
              expand8(_mm256_load_si256(
                          reinterpret_cast<const __m256i *>(perm[b])),
                      s[c]),
              acc[c]);
          s[c] += __builtin_popcount(b);
        }
        continue;
      }
      const int off[4] = {0, __builtin_popcount(m & 0xFFu),
                          __builtin_popcount(m & 0xFFFFu),
                          __builtin_popcount(m & 0xFFFFFFu)};
      for (int c = 0; c < 4; ++c) {
        const __m256i p =
            V == 2 ? cst
                   : _mm256_load_si256(reinterpret_cast<const __m256i *>(
                         perm[(m >> (8 * c)) & 255u]));
        acc[c] = _mm256_fmadd_ps(a, expand8(p, vv + off[c]), acc[c]);
      }
      vv += __builtin_popcount(m);
    }
  }
  return _mm256_cvtss_f32(
      _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

} // namespace

int main() {
  const double tpc = tscPerCycle();
  std::printf("TSC ticks per core cycle: %.3f\n", tpc);
  for (int b = 0; b < 256; ++b) {
    int at = 0;
    for (int l = 0; l < 8; ++l)
      perm[b][l] = (b >> l & 1) ? at++ : INT32_MIN;
  }
  const __m256i idx = _mm256_setr_epi32(1, 0, 3, 2, 5, 4, 7, 6);
  const long n = 20000000;
  std::mt19937 g(1);
  // Gather: 8 x 190 steps of indices into a 576-float x.
  const long steps = 190 * 8;
  std::vector<uint16_t> gi(steps * 8);
  for (auto &i : gi)
    i = g() % 576;
  std::vector<float> gx(576, 1.0f);
  float *gv = static_cast<float *>(aligned_alloc(64, steps * 8 * 4));
  for (long i = 0; i < steps * 8; ++i)
    gv[i] = 1.0f;
  // Tile: 576 k rows (one SmolLM2 panel's), 30 % of the bits set.
  const long k = 576;
  std::vector<uint32_t> mk(k);
  for (auto &m : mk) {
    m = 0;
    for (int i = 0; i < 32; ++i)
      if (g() % 10 < 3)
        m |= 1u << i;
  }
  std::vector<float> v(k * 32 + 64), v4(k * 32 + 256), x(k, 1.0f);
  for (auto &f : v)
    f = (g() % 100) * 0.01f;
  const float *vs[4];
  size_t o = 0;
  for (int c = 0; c < 4; ++c) {
    vs[c] = v4.data() + o;
    for (auto m : mk)
      o += __builtin_popcount((m >> (8 * c)) & 255u);
    o += 16;
  }
  const int reps = 20000;
  auto cyc = [&](uint64_t t, double per) { return double(t) / tpc / per; };
  float sink = 0;
  for (int round = 0; round < 3; ++round) {
    uint64_t t[6];
    for (int i = 0; i < 6; ++i) {
      const uint64_t t0 = __rdtsc();
      sink += i == 0 ? prim<0>(idx, n) : i == 1 ? prim<1>(idx, n)
              : i == 2 ? prim<2>(idx, n) : i == 3 ? prim<3>(idx, n)
              : i == 4 ? prim<4>(idx, n) : prim<5>(idx, n);
      t[i] = __rdtsc() - t0;
    }
    std::printf("vpermps lat %.2f tp %.2f | vpermilps lat %.2f tp %.2f | "
                "vblendvps lat %.2f tp %.2f cycles\n",
                cyc(t[3], n), cyc(t[0], 8.0 * n), cyc(t[4], n),
                cyc(t[1], 8.0 * n), cyc(t[5], n), cyc(t[2], 8.0 * n));
    uint64_t t0 = __rdtsc();
    sink += gather(gi.data(), gv, gx.data(), steps, 200);
    std::printf("vgatherdps (+ index load, FMA): %.2f cycles per 8 values\n",
                cyc(__rdtsc() - t0, steps * 200.0));
    uint64_t tt[3];
    for (int i = 0; i < 3; ++i) {
      t0 = __rdtsc();
      sink += i == 0   ? tile<0>(mk.data(), v.data(), vs, x.data(), k, reps)
              : i == 1 ? tile<1>(mk.data(), v.data(), vs, x.data(), k, reps)
                       : tile<2>(mk.data(), v.data(), vs, x.data(), k, reps);
      tt[i] = __rdtsc() - t0;
    }
    std::printf("one-row tile, cycles per k row of 32 columns: packed layout "
                "%.2f, a stream per 8 columns %.2f, constant permutation %.2f\n",
                cyc(tt[0], double(k) * reps), cyc(tt[1], double(k) * reps),
                cyc(tt[2], double(k) * reps));
  }
  return sink == 12345.0f;
}
