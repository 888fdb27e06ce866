// What bounds the AVX2 MASK kernel's one-row tile on this CPU
// (docs/PERFORMANCE.md, "The AVX2 one-row MASK tile on Zen 3").
//
//   clang++-22 -O2 -mavx2 -mfma -mpopcnt -mbmi -o /tmp/expand_probe
//   scripts/avx2_expand_probe.cpp /tmp/expand_probe [density 0.3]
//
// Core cycles come from a chain of dependent adds (1 cycle each). Prints:
//   - latency and throughput of vpermps, vpermilps and vblendvps (ymm);
//   - vgatherdps throughput from an L1-resident x (the column-major
//     alternative to expanding rows: one gather per 8 stored values);
//   - the one-row tile (FormatSparseAvx2.cpp tileMask<1>, 96 panels of 576
//     k rows, from L2/L3) against variants, each timed in 300 pairs of
//     whole passes alternating with the kernel's own loop, so a shared
//     core's swings (up to 2x between minutes on the lent Zen 3) cancel in
//     the pair ratios. Variants marked (timing only) compute wrong values:
//     they show what one part of the loop costs.
// The first version of this probe (2026-12-07 01:15) kept its accumulators
// in memory (GCC -O2 did not unroll the 4-group loop), so its tile figures
// timed a store-to-load chain, not the kernel; the kernel's own code keeps
// them in registers.
#include <immintrin.h>
#include <x86intrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
  __asm__ volatile(""
                   : "+x"(m),
                     "+x"(idx)); // opaque: clang folds constant shuffles
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

#define TFC_T __attribute__((target("avx2,fma,popcnt,bmi")))

// The kernel's table: perm[b][l] the rank of set bit l of byte b, or the
// sign bit alone for a clear bit (vpermps reads bits 2:0, vblendvps the
// sign). shuf: vpshufb controls expanding each 128-bit lane's nibble from
// that lane's own load, clear lanes 0x80 (zeroed); permh: vpermilps
// indices relative to each lane, sign bit for clear lanes; nlo: popcount of
// the low nibble.
alignas(32) int32_t perm[256][8];
alignas(32) uint8_t shuf[256][32];
alignas(32) int32_t permh[256][8];
uint8_t nlo[256];

TFC_T inline __m256 expand8(unsigned mb, const float *v) {
  const __m256i p =
      _mm256_load_si256(reinterpret_cast<const __m256i *>(perm[mb]));
  const __m256 r = _mm256_permutevar8x32_ps(_mm256_loadu_ps(v), p);
  return _mm256_blendv_ps(r, _mm256_setzero_ps(), _mm256_castsi256_ps(p));
}

// Variants of one byte's expansion (V 0 is the kernel's).
template <int V> TFC_T inline __m256 ex(unsigned mb, const float *v) {
  if (V == 0)
    return expand8(mb, v);
  const __m256i p =
      _mm256_load_si256(reinterpret_cast<const __m256i *>(perm[mb]));
  const __m256i ph =
      _mm256_load_si256(reinterpret_cast<const __m256i *>(permh[mb]));
  const __m256i sh =
      _mm256_load_si256(reinterpret_cast<const __m256i *>(shuf[mb]));
  switch (V) {
  case 1: // no zeroing (timing only)
    return _mm256_permutevar8x32_ps(_mm256_loadu_ps(v), p);
  case 2: // in-lane vpermilps instead of vpermps (timing only)
    return _mm256_blendv_ps(_mm256_permutevar_ps(_mm256_loadu_ps(v), ph),
                            _mm256_setzero_ps(), _mm256_castsi256_ps(ph));
  case 3: // no permutation (timing only)
    return _mm256_blendv_ps(_mm256_loadu_ps(v), _mm256_setzero_ps(),
                            _mm256_castsi256_ps(p));
  case 4: // the load alone (timing only)
    return _mm256_loadu_ps(v);
  case 5: // correct: each lane loaded at its nibble (vinsertf128), vpshufb
    return _mm256_castsi256_ps(_mm256_shuffle_epi8(
        _mm256_castps_si256(_mm256_loadu2_m128(v + nlo[mb], v)), sh));
  default: // correct: two loads, lanes joined by vblendps, vpshufb
    return _mm256_castsi256_ps(_mm256_shuffle_epi8(
        _mm256_castps_si256(_mm256_blend_ps(
            _mm256_loadu_ps(v), _mm256_loadu_ps(v + nlo[mb] - 4), 0xF0)),
        sh));
  }
}

// One k row (the kernel's maskStep): the 4 mask bytes loaded one by one,
// the value offsets a running sum of their popcounts.
template <int V>
TFC_T inline __attribute__((always_inline)) void
step(const uint8_t *mb, const float *&v, const float *xp, __m256 (&acc)[4]) {
  const unsigned m0 = mb[0], m1 = mb[1], m2 = mb[2], m3 = mb[3];
  const int o1 = __builtin_popcount(m0), o2 = o1 + __builtin_popcount(m1),
            o3 = o2 + __builtin_popcount(m2);
  const __m256 b0 = ex<V>(m0, v), b1 = ex<V>(m1, v + o1),
               b2 = ex<V>(m2, v + o2), b3 = ex<V>(m3, v + o3);
  v += o3 + __builtin_popcount(m3);
  const __m256 a = _mm256_broadcast_ss(xp);
  acc[0] = _mm256_fmadd_ps(a, b0, acc[0]);
  acc[1] = _mm256_fmadd_ps(a, b1, acc[1]);
  acc[2] = _mm256_fmadd_ps(a, b2, acc[2]);
  acc[3] = _mm256_fmadd_ps(a, b3, acc[3]);
}

// The one-row tile over one panel, two k rows a step, prefetch as the
// kernel's. V -1: the kernel before 2026-12-07 05:00 (a 32-bit mask load,
// offsets from popcounts of its low 8 / 16 / 24 bits, one k row a step).
template <int V>
TFC_T __attribute__((noinline)) void
tile(long k, const float *x, const uint32_t *mk32, const float *v, float *out) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps(), _mm256_setzero_ps()};
  if (V == -1) {
    for (long kk = 0; kk < k; ++kk) {
      if ((kk & 15) == 0)
        _mm_prefetch(reinterpret_cast<const char *>(mk32 + kk + 128),
                     _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(v + 1024), _MM_HINT_T0);
      const uint32_t m = mk32[kk];
      const int off[4] = {0, __builtin_popcount(m & 0xFFu),
                          __builtin_popcount(m & 0xFFFFu),
                          __builtin_popcount(m & 0xFFFFFFu)};
      __m256 b[4];
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c)
        b[c] = expand8((m >> (8 * c)) & 255u, v + off[c]);
      v += __builtin_popcount(m);
      const __m256 a = _mm256_set1_ps(x[kk]);
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c)
        acc[c] = _mm256_fmadd_ps(a, b[c], acc[c]);
    }
  } else {
    const uint8_t *mk = reinterpret_cast<const uint8_t *>(mk32);
    long kk = 0;
    for (; kk + 2 <= k; kk += 2) {
      if ((kk & 15) == 0)
        _mm_prefetch(reinterpret_cast<const char *>(mk + 4 * (kk + 128)),
                     _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(v + 1024), _MM_HINT_T0);
      step<V>(mk + 4 * kk, v, x + kk, acc);
      step<V>(mk + 4 * kk + 4, v, x + kk + 1, acc);
    }
    if (kk < k)
      step<V>(mk + 4 * kk, v, x + kk, acc);
  }
  for (int c = 0; c < 4; ++c)
    _mm256_storeu_ps(out + 8 * c, acc[c]);
}

// A layout with no cross-lane step (not in the runtime; a candidate format,
// docs/PERFORMANCE.md): each 8-column group's values are placed at a base
// b where its low nibble's values sit at [b, b + p0) and its high nibble's
// at [b + 4, b + 4 + p1), so one 256-bit load at b has each nibble in its
// own 128-bit lane and vpshufb (in-lane, zeroing the clear lanes) expands
// it; groups are packed greedily into each other's gaps. Per k row 4 mask
// bytes and 4 offset bytes: the row base's step from the previous row's,
// then groups 1-3's bases relative to it.
TFC_T __attribute__((noinline)) void tileOverlap(long k, const float *x,
                                                 const uint8_t *mk,
                                                 const uint8_t *of,
                                                 const float *v, float *out) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps(), _mm256_setzero_ps()};
  for (long kk = 0; kk < k; ++kk) {
    if ((kk & 15) == 0) {
      _mm_prefetch(reinterpret_cast<const char *>(mk + 4 * (kk + 128)),
                   _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(of + 4 * (kk + 128)),
                   _MM_HINT_T0);
    }
    _mm_prefetch(reinterpret_cast<const char *>(v + 1024), _MM_HINT_T0);
    v += of[4 * kk];
    const __m256 a = _mm256_broadcast_ss(x + kk);
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const unsigned o = c ? of[4 * kk + c] : 0;
      const __m256i e = _mm256_shuffle_epi8(
          _mm256_castps_si256(_mm256_loadu_ps(v + o)),
          _mm256_load_si256(
              reinterpret_cast<const __m256i *>(shuf[mk[4 * kk + c]])));
      acc[c] = _mm256_fmadd_ps(a, _mm256_castsi256_ps(e), acc[c]);
    }
  }
  for (int c = 0; c < 4; ++c)
    _mm256_storeu_ps(out + 8 * c, acc[c]);
}

} // namespace

using TileFn = void (*)(long, const float *, const uint32_t *, const float *,
                        float *);

int main(int argc, char **argv) {
  const double density = argc > 1 ? std::atof(argv[1]) : 0.3;
  const double tpc = tscPerCycle();
  std::printf("TSC ticks per core cycle: %.3f\n", tpc);
  for (int b = 0; b < 256; ++b) {
    int at = 0;
    for (int l = 0; l < 8; ++l)
      perm[b][l] = (b >> l & 1) ? at++ : INT32_MIN;
    nlo[b] = static_cast<uint8_t>(__builtin_popcount(b & 15));
    for (int h = 0; h < 2; ++h) {
      int src = 0;
      for (int l = 0; l < 4; ++l) {
        const bool set = b >> (4 * h + l) & 1;
        for (int y = 0; y < 4; ++y)
          shuf[b][16 * h + 4 * l + y] = set ? uint8_t(4 * src + y) : 0x80;
        permh[b][4 * h + l] = set ? src : INT32_MIN;
        src += set;
      }
    }
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
  auto cyc = [&](uint64_t t, double per) { return double(t) / tpc / per; };
  float sink = 0;
  uint64_t t[6];
  for (int i = 0; i < 6; ++i) {
    const uint64_t t0 = __rdtsc();
    sink += i == 0   ? prim<0>(idx, n)
            : i == 1 ? prim<1>(idx, n)
            : i == 2 ? prim<2>(idx, n)
            : i == 3 ? prim<3>(idx, n)
            : i == 4 ? prim<4>(idx, n)
                     : prim<5>(idx, n);
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

  // The tile: 96 panels (SmolLM2's gate_up) of 576 k rows, `density` of
  // the bits set; 8 floats of slack before the values (variant 6 reads
  // up to 4 before a byte's first value).
  const long k = 576, panels = 96;
  std::vector<uint32_t> mk(panels * k);
  std::vector<uint64_t> start(panels + 1);
  size_t nv = 0;
  for (long q = 0; q < panels; ++q) {
    start[q] = nv;
    for (long kk = 0; kk < k; ++kk) {
      uint32_t m = 0;
      for (int i = 0; i < 32; ++i)
        if (g() % 1000 < density * 1000)
          m |= 1u << i;
      mk[q * k + kk] = m;
      nv += __builtin_popcount(m);
    }
  }
  std::vector<float> vbuf(nv + 72), x(k), ref(panels * 32), got(panels * 32);
  for (auto &f : vbuf)
    f = (g() % 1000) * 1e-3f - 0.5f;
  for (auto &f : x)
    f = (g() % 1000) * 1e-3f - 0.5f;
  const float *v = vbuf.data() + 8;
  auto pass = [&](TileFn fn, float *o) {
    const uint64_t a = __rdtsc();
    for (long q = 0; q < panels; ++q)
      fn(k, x.data(), mk.data() + q * k, v + start[q], o + 32 * q);
    return double(__rdtsc() - a) / tpc / double(panels * k);
  };
  // One variant against the kernel: its max difference, then 300 pairs of
  // passes alternating with the kernel's, and the line.
  auto compare = [&](auto variantPass, const char *name, const char *note) {
    variantPass(got.data());
    double md = 0;
    for (size_t i = 0; i < got.size(); ++i)
      md = std::max(md, double(std::fabs(got[i] - ref[i])));
    std::vector<double> tk, tv, r;
    for (int i = 0; i < 300; ++i) {
      tk.push_back(pass(&tile<0>, ref.data()));
      tv.push_back(variantPass(got.data()));
      r.push_back(tv.back() / tk.back());
    }
    std::sort(tk.begin(), tk.end());
    std::sort(tv.begin(), tv.end());
    std::sort(r.begin(), r.end());
    std::printf("  kernel %5.2f  variant %5.2f  ratio %.3f (%.3f-%.3f)  "
                "max diff %.1g  %s%s\n",
                tk[150], tv[150], r[150], r[75], r[225], md, name, note);
  };
  const struct {
    TileFn fn;
    const char *name;
  } variants[] = {
      {&tile<-1>, "the kernel before 05:00 (32-bit mask, low-bit popcounts)"},
      {&tile<1>, "no zeroing (timing only)"},
      {&tile<2>, "vpermilps in-lane instead of vpermps (timing only)"},
      {&tile<3>, "no permutation (timing only)"},
      {&tile<4>, "loads and FMAs alone (timing only)"},
      {&tile<5>, "vinsertf128 halves + vpshufb"},
      {&tile<6>, "two loads + vblendps + vpshufb"},
  };
  pass(&tile<0>, ref.data());
  std::printf("one-row tile at %.0f %% density, core cycles per k row of 32 "
              "columns (300 alternated pairs; ratio: median of variant / "
              "kernel per pair, p25-p75)\n",
              density * 100);
  for (const auto &var : variants)
    compare([&](float *o) { return pass(var.fn, o); }, var.name, "");

  // The overlapped layout of the same weights: greedy placement, one
  // stream per panel (8 floats of slack before, 16 after).
  std::vector<uint8_t> ofs(4 * panels * k);
  std::vector<float> vo(8, 0.0f);
  std::vector<char> used(8, 1);
  std::vector<size_t> startO(panels);
  for (long q = 0; q < panels; ++q) {
    long b = static_cast<long>(vo.size()), rowPrev = b;
    startO[q] = vo.size();
    const float *src = v + start[q];
    for (long kk = 0; kk < k; ++kk) {
      const uint32_t m = mk[q * k + kk];
      long base[4];
      for (int c = 0; c < 4; ++c) {
        const unsigned mb = (m >> (8 * c)) & 255u;
        const int p0 = __builtin_popcount(mb & 15u),
                  p1 = __builtin_popcount(mb >> 4);
        for (;; ++b) {
          if (static_cast<long>(used.size()) < b + 16) {
            used.resize(b + 64, 0);
            vo.resize(b + 64, 0.0f);
          }
          bool free = true;
          for (int i = 0; i < p0; ++i)
            free = free && !used[b + i];
          for (int i = 0; i < p1; ++i)
            free = free && !used[b + 4 + i];
          if (free)
            break;
        }
        for (int i = 0; i < p0; ++i) {
          used[b + i] = 1;
          vo[b + i] = *src++;
        }
        for (int i = 0; i < p1; ++i) {
          used[b + 4 + i] = 1;
          vo[b + 4 + i] = *src++;
        }
        base[c] = b;
      }
      uint8_t *o = &ofs[4 * (q * k + kk)];
      o[0] = static_cast<uint8_t>(base[0] - rowPrev);
      rowPrev = base[0];
      for (int c = 1; c < 4; ++c)
        o[c] = static_cast<uint8_t>(base[c] - base[0]);
    }
    long end = static_cast<long>(used.size());
    while (!used[end - 1])
      --end;
    used.resize(end + 16, 1);
    vo.resize(end + 16, 0.0f);
  }
  const double storedPerValue =
      double(vo.size() - 8 - 16 * panels) / double(nv);
  auto passO = [&](float *o) {
    const uint64_t a = __rdtsc();
    for (long q = 0; q < panels; ++q)
      tileOverlap(k, x.data(),
                  reinterpret_cast<const uint8_t *>(mk.data() + q * k),
                  &ofs[4 * q * k], vo.data() + startO[q], o + 32 * q);
    return double(__rdtsc() - a) / tpc / double(panels * k);
  };
  char note[96];
  std::snprintf(note, sizeof note,
                " (%.3f floats stored per value, + 1 offset byte per 8 "
                "columns)",
                storedPerValue);
  compare(passO, "overlapped layout + vpshufb", note);
  return sink == 12345.0f;
}
