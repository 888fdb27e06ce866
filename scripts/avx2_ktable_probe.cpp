//===- avx2_ktable_probe.cpp - a one-row sparse tile without vpermps ------===//
//
// Issue 9 (SmolLM2 decode at 70 % zeros, Zen 3, AVX2): two ideas for the
// one-row (decode) sparse x dense product measured against the MASK tile
// (FormatSparseAvx2.cpp's loop: per k row, 4 mask bytes, each a table load,
// vpermps and vblendvps over the next 8 values, and an FMA), on one thread,
// hot (weights from cache), same process, alternating:
//  - "kt": lanes run along k, not n. For every 8 k a mask byte per output
//    column; the input x compressed by every one of the 256 byte masks
//    (a table per window of 8 k, rebuilt per call: K/8 x 256 x 32 B, built
//    a chunk of CW windows at a time), so a column's 8-k slice is one FMA
//    of its packed values with table[window][mask] (zeros past the popcount
//    cancel the next values): no permutation and no blend in the loop. Same
//    bytes as MASK.
//  - "gather" (--gather): an ELL layout, each lane walking one column's
//    values with u8 k deltas, x fetched by vgatherdps, timed per 8 values.
// Build: clang++-22 -O2 -DCWV=4 -o /tmp/ktable scripts/avx2_ktable_probe.cpp
// Run:   /tmp/ktable [K N sparsity]     (default 576 3072 0.7: SmolLM2 gate+up)
//        /tmp/ktable --gather
// Results and what they ruled out: docs/PERFORMANCE.md, issue 9, "two
// layouts without vpermps probed" (2026-12-07).
//
//===----------------------------------------------------------------------===//
#include <immintrin.h>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <vector>
#include <random>
#include <algorithm>
#include <cmath>
#include <string>
#define T2 __attribute__((target("avx2,fma,popcnt,bmi")))
static int32_t perm[256][8] __attribute__((aligned(32)));
static int32_t cperm[256][8] __attribute__((aligned(32))); // compress: lane i <- i-th set bit; tail: sign
static void init() {
  for (int b = 0; b < 256; ++b) {
    int at = 0;
    for (int l = 0; l < 8; ++l) perm[b][l] = (b >> l & 1) ? at++ : INT32_MIN;
    at = 0;
    for (int l = 0; l < 8; ++l) if (b >> l & 1) cperm[b][at++] = l;
    for (; at < 8; ++at) cperm[b][at] = INT32_MIN;
  }
}
// MASK layout: panels of 32 cols; per panel: masks u32[k], values
struct Mask { int k, n; std::vector<uint32_t> m; std::vector<float> v; std::vector<size_t> po; };
Mask packMask(const std::vector<float> &W, int K, int N) {
  Mask r{K, N}; int P = N / 32;
  for (int p = 0; p < P; ++p) {
    r.po.push_back(r.v.size());
    for (int k = 0; k < K; ++k) {
      uint32_t mm = 0;
      for (int c = 0; c < 32; ++c) { float w = W[(size_t)k * N + 32 * p + c]; if (w != 0) { mm |= 1u << c; r.v.push_back(w);} }
      r.m.push_back(mm);
    }
  }
  r.v.resize(r.v.size() + 32, 0.f);
  return r;
}
T2 static inline __m256 ex8(unsigned mb, const float *v) {
  __m256i p = _mm256_load_si256((const __m256i *)perm[mb]);
  __m256 r = _mm256_permutevar8x32_ps(_mm256_loadu_ps(v), p);
  return _mm256_blendv_ps(r, _mm256_setzero_ps(), _mm256_castsi256_ps(p));
}
T2 void runMask(const Mask &M, const float *x, float *y) {
  for (int p = 0; p < M.n / 32; ++p) {
    const uint8_t *mk = (const uint8_t *)&M.m[(size_t)p * M.k];
    const float *v = &M.v[M.po[p]];
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int k = 0; k < M.k; ++k) {
      const uint8_t *mb = mk + 4 * k;
      unsigned m0 = mb[0], m1 = mb[1], m2 = mb[2], m3 = mb[3];
      int o1 = __builtin_popcount(m0), o2 = o1 + __builtin_popcount(m1), o3 = o2 + __builtin_popcount(m2);
      __m256 xb = _mm256_broadcast_ss(x + k);
      a0 = _mm256_fmadd_ps(xb, ex8(m0, v), a0);
      a1 = _mm256_fmadd_ps(xb, ex8(m1, v + o1), a1);
      a2 = _mm256_fmadd_ps(xb, ex8(m2, v + o2), a2);
      a3 = _mm256_fmadd_ps(xb, ex8(m3, v + o3), a3);
      v += o3 + __builtin_popcount(m3);
      if ((k & 15) == 0) _mm_prefetch((const char *)(v + 1024), _MM_HINT_T0);
    }
    _mm256_storeu_ps(y + 32 * p, a0); _mm256_storeu_ps(y + 32 * p + 8, a1);
    _mm256_storeu_ps(y + 32 * p + 16, a2); _mm256_storeu_ps(y + 32 * p + 24, a3);
  }
}
// KT layout: chunks of CW windows (8 k each); per chunk, n-groups of 8: masks [CW][8] then values in (w, n) order
#ifndef CWV
#define CWV 8
#endif
constexpr int CW = CWV;
struct KT { int k, n, chunks; std::vector<uint8_t> m; std::vector<float> v; std::vector<size_t> co; };
KT packKT(const std::vector<float> &W, int K, int N) {
  KT r{K, N, K / (8 * CW)};
  for (int c = 0; c < r.chunks; ++c) {
    r.co.push_back(r.v.size());
    for (int g = 0; g < N / 8; ++g) {
      for (int w = 0; w < CW; ++w)
        for (int j = 0; j < 8; ++j) {
          int n = 8 * g + j; uint8_t mm = 0;
          for (int b = 0; b < 8; ++b) { int k = 8 * (c * CW + w) + b; float ww = W[(size_t)k * N + n]; if (ww != 0) { mm |= 1 << b; r.v.push_back(ww);} }
          r.m.push_back(mm);
        }
    }
  }
  r.v.resize(r.v.size() + 32, 0.f);
  return r;
}
alignas(64) static float table[CW][256][8];
alignas(64) static float yv[8192][8];
T2 void runKT(const KT &M, const float *x, float *y) {
  const int G = M.n / 8;
  memset(yv, 0, sizeof(float) * 8 * M.n);
  for (int c = 0; c < M.chunks; ++c) {
    for (int w = 0; w < CW; ++w) {
      __m256 xw = _mm256_loadu_ps(x + 8 * (c * CW + w));
      for (int m = 0; m < 256; ++m) {
        __m256i p = _mm256_load_si256((const __m256i *)cperm[m]);
        __m256 r = _mm256_permutevar8x32_ps(xw, p);
        _mm256_store_ps(table[w][m], _mm256_blendv_ps(r, _mm256_setzero_ps(), _mm256_castsi256_ps(p)));
      }
    }
    const uint8_t *mk = &M.m[(size_t)c * G * CW * 8];
    const float *v = &M.v[M.co[c]];
    for (int g = 0; g < G; ++g, mk += CW * 8) {
      __m256 a[8];
      for (int j = 0; j < 8; ++j) a[j] = _mm256_setzero_ps();
      uint64_t off = 0;
      for (int w = 0; w < CW; ++w) {
        const uint8_t *mb = mk + 8 * w;
#ifdef PAIR
        // offsets of the 8 groups from pair sums: chain of 4 adds per window
        unsigned m[8]; uint64_t o[8];
        for (int j = 0; j < 8; ++j) m[j] = mb[j];
        o[0] = off;
        for (int j = 1; j < 8; ++j) o[j] = o[j - 1] + __builtin_popcount(m[j - 1]);
        off = o[7] + __builtin_popcount(m[7]);
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j)
          a[j] = _mm256_fmadd_ps(_mm256_loadu_ps(v + o[j]), _mm256_load_ps(table[w][m[j]]), a[j]);
#else
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) {
          unsigned m = mb[j];
          a[j] = _mm256_fmadd_ps(_mm256_loadu_ps(v + off), _mm256_load_ps(table[w][m]), a[j]);
          off += __builtin_popcount(m);
        }
#endif
      }
      v += off;
      _mm_prefetch((const char *)(v + 1024), _MM_HINT_T0);
      for (int j = 0; j < 8; ++j) _mm256_store_ps(yv[8 * g + j], _mm256_add_ps(_mm256_load_ps(yv[8 * g + j]), a[j]));
    }
  }
  for (int n = 0; n < M.n; ++n) { float s = 0; for (int l = 0; l < 8; ++l) s += yv[n][l]; y[n] = s; }
}
// ELL + vgatherdps: ns per 8 values (mode 0), against an in-register
// vpermps (mode 1) and no fetch of x at all (mode 2).
T2 int gatherProbe() {
  const int K = 576, slots = 200; // per lane-group
  const int groups = 384;         // 8-col groups (3072 cols)
  std::mt19937 rng(1);
  std::vector<float> x(K), vals((size_t)groups * slots * 8);
  std::vector<uint8_t> del((size_t)groups * slots * 8);
  for (auto &v : x) v = rng() % 100 / 100.f;
  for (auto &v : vals) v = rng() % 100 / 100.f;
  for (int g = 0; g < groups; ++g)
    for (int l = 0; l < 8; ++l) {
      int k = 0;
      for (int j = 0; j < slots; ++j) {
        int d = j == 0 ? rng() % 3 : 1 + rng() % 4;
        if (k + d >= K) d = 0;
        k += d;
        del[((size_t)g * slots + j) * 8 + l] = d;
      }
    }
  float sink = 0;
  for (int mode = 0; mode < 3; ++mode)
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    const int iters = 50;
    for (int it = 0; it < iters; ++it) {
      for (int g = 0; g < groups; g += 2) {
        const float *v0 = &vals[(size_t)g * slots * 8], *v1 = v0 + slots * 8;
        const uint8_t *d0 = &del[(size_t)g * slots * 8], *d1 = d0 + slots * 8;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        __m256i i0 = _mm256_setzero_si256(), i1 = i0;
        for (int j = 0; j < slots; j += 2) {
          i0 = _mm256_add_epi32(i0, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(d0 + 8 * j))));
          i1 = _mm256_add_epi32(i1, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(d1 + 8 * j))));
          __m256 g0, g1;
          if (mode == 0) { g0 = _mm256_i32gather_ps(x.data(), i0, 4); g1 = _mm256_i32gather_ps(x.data(), i1, 4); }
          else if (mode == 1) { g0 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x.data()), i0); g1 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x.data()+8), i1);} 
          else { g0 = _mm256_castsi256_ps(i0); g1 = _mm256_castsi256_ps(i1); }
          a0 = _mm256_fmadd_ps(_mm256_load_ps(v0 + 8 * j), g0, a0);
          a1 = _mm256_fmadd_ps(_mm256_load_ps(v1 + 8 * j), g1, a1);
          i0 = _mm256_add_epi32(i0, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(d0 + 8 * j + 8))));
          i1 = _mm256_add_epi32(i1, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(d1 + 8 * j + 8))));
          if (mode == 0) { g0 = _mm256_i32gather_ps(x.data(), i0, 4); g1 = _mm256_i32gather_ps(x.data(), i1, 4); }
          else if (mode == 1) { g0 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x.data()), i0); g1 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x.data()+8), i1);} 
          else { g0 = _mm256_castsi256_ps(i0); g1 = _mm256_castsi256_ps(i1); }
          a2 = _mm256_fmadd_ps(_mm256_load_ps(v0 + 8 * j + 8), g0, a2);
          a3 = _mm256_fmadd_ps(_mm256_load_ps(v1 + 8 * j + 8), g1, a3);
        }
        __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
        sink += _mm256_cvtss_f32(s);
      }
    }
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    double vecs = (double)iters * groups * slots;
    printf("mode %d: %.3f ns per 8-slot vector (%.2f MB set)\n", mode, ns / vecs, vals.size() * 5 / 1e6);
  }
  return sink == 12345;
}

int main(int argc, char **argv) {
  if (argc > 1 && std::string(argv[1]) == "--gather")
    return gatherProbe();
  init();
  int K = argc > 1 ? atoi(argv[1]) : 576, N = argc > 2 ? atoi(argv[2]) : 3072;
  double sp = argc > 3 ? atof(argv[3]) : 0.7;
  std::mt19937 rng(7); std::uniform_real_distribution<float> U(-1, 1);
  std::vector<float> W((size_t)K * N), x(K), y1(N), y2(N);
  for (auto &w : W) { w = U(rng); if ((rng() % 1000) < sp * 1000) w = 0; }
  for (auto &v : x) v = U(rng);
  Mask A = packMask(W, K, N); KT B = packKT(W, K, N);
  runMask(A, x.data(), y1.data()); runKT(B, x.data(), y2.data());
  double md = 0; for (int n = 0; n < N; ++n) { double r = 0; for (int k = 0; k < K; ++k) r += (double)x[k] * W[(size_t)k * N + n]; md = std::max(md, std::max(fabs(y1[n] - r), fabs(y2[n] - r))); }
  printf("K %d N %d sparsity %.2f maxerr %.2e (mask bytes %zu, kt bytes %zu)\n", K, N, sp, md, A.v.size() * 4 + A.m.size() * 4, B.v.size() * 4 + B.m.size());
  for (int rep = 0; rep < 7; ++rep) {
    double t[2];
    for (int which = 0; which < 2; ++which) {
      auto t0 = std::chrono::steady_clock::now();
      for (int it = 0; it < 200; ++it) which ? runKT(B, x.data(), y2.data()) : runMask(A, x.data(), y1.data());
      t[which] = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 200;
    }
    printf("mask %.1f us  kt %.1f us  ratio %.2f\n", t[0], t[1], t[1] / t[0]);
  }
}
