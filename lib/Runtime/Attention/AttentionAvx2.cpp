//===- AttentionAvx2.cpp - AVX2+FMA attention blocks ----------------------===//
//
// The AVX-512 design (AttentionAvx512.cpp) on 16 ymm registers: prefill
// blocks of 16 query lanes (2 ymm), register blocks of 6 keys x 2 ymm for S
// and 6 value columns x 2 ymm for O (12 accumulators + 2 operands + 1
// broadcast); decode blocks reduce 8 keys at a time. Every function carries
// a target attribute and lives in an anonymous namespace.
//
//===----------------------------------------------------------------------===//

#include "Attention.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "../Simd.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#define TFC_AVX2 __attribute__((target("avx2,fma")))
// The decode blocks also read f16 K/V (tfc --kv-dtype=f16): F16C, which
// every AVX2 CPU has; kernelsAvx2 checks it all the same.
#define TFC_AVX2F16 __attribute__((target("avx2,fma,f16c")))

namespace tfcrt {
namespace attn {
namespace {

constexpr int kLanes = 16;
constexpr int kKeyTile = 64;
constexpr int kQkKeys = 6;
constexpr int kPvCols = 6;
constexpr int kDecodeLanes = 8;
constexpr int kDecodeKeyTile = 64;

/// exp(x) of the softmax's arguments, all <= 0 (a score minus the running
/// max) or -inf: simd::exp8NonPositive (the exponentials were 20 % of a
/// MiniLM-shaped call on Zen 3; it saves 4 of 20 vector ops).
TFC_AVX2 inline __m256 exp256(__m256 x) { return simd::exp8NonPositive(x); }

/// All-ones lanes where bit L of `byte` is set.
TFC_AVX2 inline __m256 laneMask(unsigned byte) {
  const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i b =
      _mm256_and_si256(_mm256_set1_epi32(static_cast<int>(byte)), bit);
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, bit));
}

using simd::hsum;

TFC_AVX2 inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

//===-- prefill -----------------------------------------------------------===//

/// As in AttentionAvx512.cpp: mx (not null) takes the mask value per key
/// and the running max in registers, for whole tiles.
template <int R, int V, bool UnitD>
TFC_AVX2 void qkKeys(const float *qT, int64_t d, const float *k, int64_t skt,
                     int64_t skd, float *sOut, const float *addKeys,
                     int64_t addStride, __m256 *mx) {
  const int64_t sd = UnitD ? 1 : skd;
  __m256 acc[R][V];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v)
      acc[r][v] = _mm256_setzero_ps();
  const float *kr[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
    kr[r] = k + r * skt;
  for (int64_t c = 0; c < d; ++c) {
    __m256 q[V];
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v)
      q[v] = _mm256_load_ps(qT + c * kLanes + 8 * v);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 kb = _mm256_broadcast_ss(kr[r] + c * sd);
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm256_fmadd_ps(kb, q[v], acc[r][v]);
    }
  }
  if (mx) {
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 a = addKeys ? _mm256_broadcast_ss(addKeys + r * addStride)
                               : _mm256_setzero_ps();
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) {
        if (addKeys)
          acc[r][v] = _mm256_add_ps(acc[r][v], a);
        mx[v] = _mm256_max_ps(mx[v], acc[r][v]);
      }
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v)
      _mm256_store_ps(sOut + r * kLanes + 8 * v, acc[r][v]);
}

template <int C, int V, bool UnitD>
TFC_AVX2 void pvCols(float *oT, const __m256 *alpha, const float *pT,
                     int64_t nk, const float *v, int64_t svt, int64_t svd) {
  const int64_t sd = UnitD ? 1 : svd;
  __m256 acc[C][V];
#pragma GCC unroll 6
  for (int c = 0; c < C; ++c)
#pragma GCC unroll 2
    for (int x = 0; x < V; ++x)
      acc[c][x] =
          _mm256_mul_ps(_mm256_load_ps(oT + c * kLanes + 8 * x), alpha[x]);
  for (int64_t j = 0; j < nk; ++j) {
    __m256 pr[V];
#pragma GCC unroll 2
    for (int x = 0; x < V; ++x)
      pr[x] = _mm256_load_ps(pT + j * kLanes + 8 * x);
    const float *vr = v + j * svt;
#pragma GCC unroll 6
    for (int c = 0; c < C; ++c) {
      const __m256 vb = _mm256_broadcast_ss(vr + c * sd);
#pragma GCC unroll 2
      for (int x = 0; x < V; ++x)
        acc[c][x] = _mm256_fmadd_ps(vb, pr[x], acc[c][x]);
    }
  }
#pragma GCC unroll 6
  for (int c = 0; c < C; ++c)
#pragma GCC unroll 2
    for (int x = 0; x < V; ++x)
      _mm256_store_ps(oT + c * kLanes + 8 * x, acc[c][x]);
}

using QkFn = void (*)(const float *, int64_t, const float *, int64_t, int64_t,
                      float *, const float *, int64_t, __m256 *);
using PvFn = void (*)(float *, const __m256 *, const float *, int64_t,
                      const float *, int64_t, int64_t);

template <int V, bool U> struct Tables {
  static constexpr QkFn qk[kQkKeys] = {&qkKeys<1, V, U>, &qkKeys<2, V, U>,
                                       &qkKeys<3, V, U>, &qkKeys<4, V, U>,
                                       &qkKeys<5, V, U>, &qkKeys<6, V, U>};
  static constexpr PvFn pv[kPvCols] = {&pvCols<1, V, U>, &pvCols<2, V, U>,
                                       &pvCols<3, V, U>, &pvCols<4, V, U>,
                                       &pvCols<5, V, U>, &pvCols<6, V, U>};
};
template <int V, bool U> constexpr QkFn Tables<V, U>::qk[kQkKeys];
template <int V, bool U> constexpr PvFn Tables<V, U>::pv[kPvCols];
static_assert(kQkKeys == 6 && kPvCols == 6, "update Tables");

/// r[i] := column i of the 8 x 8 matrix whose rows are r[0..8).
TFC_AVX2 inline void transpose8(__m256 *r) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 2; ++g) {
    u[4 * g] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  for (int m = 0; m < 4; ++m) {
    r[m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
    r[4 + m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
  }
}

inline const float *qRow(const Params &p, const RowBlock &rb, int L) {
  if (L >= rb.lanes())
    return nullptr;
  return p.q + rb.b * p.qs[0] + (rb.h0 + L / rb.nq) * p.qs[1] +
         (rb.i0 + L % rb.nq) * p.qs[2];
}

/// qT[c][8x + L] = scale * q[lane 8x + L][c]; lanes past rb.lanes() are 0.
TFC_AVX2 void packQ(const Params &p, const RowBlock &rb, int V, float *qT) {
  const int64_t d = p.d;
  if (p.qs[3] != 1) {
    for (int L = 0; L < 8 * V; ++L) {
      const float *qr = qRow(p, rb, L);
      for (int64_t c = 0; c < d; ++c)
        qT[c * kLanes + L] = qr ? p.scale * qr[c * p.qs[3]] : 0.0f;
    }
    return;
  }
  const __m256 scale = _mm256_set1_ps(p.scale);
  for (int x = 0; x < V; ++x) {
    const float *rows[8];
    for (int L = 0; L < 8; ++L)
      rows[L] = qRow(p, rb, 8 * x + L);
    for (int64_t c0 = 0; c0 < d; c0 += 8) {
      const __m256i mk = simd::tailMask8(d - c0);
      __m256 r[8];
      for (int L = 0; L < 8; ++L)
        r[L] = rows[L] ? _mm256_maskload_ps(rows[L] + c0, mk)
                       : _mm256_setzero_ps();
      transpose8(r);
      for (int64_t cc = 0; cc < 8 && c0 + cc < d; ++cc)
        _mm256_store_ps(qT + (c0 + cc) * kLanes + 8 * x,
                        _mm256_mul_ps(r[cc], scale));
    }
  }
}

/// out[lane L] = O^T[:, L] / l[L] (0 where l is 0); unit column stride.
TFC_AVX2 void storeOut(const Params &p, const RowBlock &rb, int V,
                       const float *oT, const float *l) {
  const int lanes = rb.lanes();
  const int64_t dv = p.dv;
  for (int x = 0; x < V; ++x) {
    float *rows[8];
    float inv[8];
    for (int L = 0; L < 8; ++L) {
      const int lane = 8 * x + L;
      rows[L] = lane < lanes ? p.out + rb.b * p.os[0] +
                                   (rb.h0 + lane / rb.nq) * p.os[1] +
                                   (rb.i0 + lane % rb.nq) * p.os[2]
                             : nullptr;
      inv[L] = lane < lanes && l[lane] != 0.0f ? 1.0f / l[lane] : 0.0f;
    }
    for (int64_t c0 = 0; c0 < dv; c0 += 8) {
      const __m256i mk = simd::tailMask8(dv - c0);
      __m256 r[8];
      for (int cc = 0; cc < 8; ++cc)
        r[cc] = c0 + cc < dv ? _mm256_load_ps(oT + (c0 + cc) * kLanes + 8 * x)
                             : _mm256_setzero_ps();
      transpose8(r);
      // vmaskmovps to memory is microcoded on AMD: plain stores for whole
      // groups of 8 columns, the masked one for the tail (a MiniLM-shaped
      // call 2-3 % faster on Zen 3).
      const bool whole = c0 + 8 <= dv;
      for (int L = 0; L < 8; ++L)
        if (rows[L]) {
          const __m256 o = inv[L] == 0.0f
                               ? _mm256_setzero_ps()
                               : _mm256_mul_ps(r[L], _mm256_set1_ps(inv[L]));
          if (whole)
            _mm256_storeu_ps(rows[L] + c0, o);
          else
            _mm256_maskstore_ps(rows[L] + c0, mk, o);
        }
    }
  }
}

template <int V>
TFC_AVX2 void prefillImpl(const Params &p, const RowBlock &rb, int64_t ja,
                          int64_t jb, const Partial *partial) {
  const int lanes = rb.lanes();
  const int64_t d = p.d, dv = p.dv;
  float *qT = scratch((d + dv + kKeyTile + 2) * kLanes);
  float *oT = qT + d * kLanes;          // [dv][16]
  float *sT = oT + dv * kLanes;         // [kKeyTile][16]
  float *mOut = sT + kKeyTile * kLanes; // [16]
  float *lOut = mOut + kLanes;          // [16]

  prefetchBlock(p, rb);
  packQ(p, rb, V, qT);
  for (int64_t c = 0; c < dv; ++c)
    for (int x = 0; x < V; ++x)
      _mm256_store_ps(oT + c * kLanes + 8 * x, _mm256_setzero_ps());
  __m256 m[V], l[V];
  for (int x = 0; x < V; ++x) {
    m[x] = _mm256_set1_ps(-INFINITY);
    l[x] = _mm256_setzero_ps();
  }

  // mask_add: broadcast, gathered (lane offsets fit in int32) or per lane.
  const float *addAt = nullptr;
  bool addShr = false, addGather = false;
  alignas(64) int32_t offs[kMaxLanes];
  __m256i off[V];
  int64_t wideOff[kLanes] = {};
  if (p.add) {
    addAt = addBase(p, rb);
    addShr = addShared(p);
    // A shared (per key) add is broadcast: no lane offsets (their int64
    // divisions cost ~2 % of a MiniLM-shaped call on Zen 3).
    if (!addShr) {
      addGather = addLaneOffsets(p, rb, offs);
      for (int x = 0; x < V; ++x)
        off[x] =
            _mm256_load_si256(reinterpret_cast<const __m256i *>(offs + 8 * x));
      for (int L = 0; L < lanes; ++L)
        wideOff[L] = (L / rb.nq) * p.addS[1] + (L % rb.nq) * p.addS[2];
    }
  }

  const bool unitK = p.ks[3] == 1, unitV = p.vs[3] == 1;
  const QkFn *qk = unitK ? Tables<V, true>::qk : Tables<V, false>::qk;
  const PvFn *pv = unitV ? Tables<V, true>::pv : Tables<V, false>::pv;
  const float *kb = p.k + rb.b * p.ks[0] + rb.g * p.ks[1];
  const float *vb = p.v + rb.b * p.vs[0] + rb.g * p.vs[1];
  const __m256 ninf = _mm256_set1_ps(-INFINITY), zero = _mm256_setzero_ps();

  uint64_t tileBits[kMaxLanes];
  // Wide heads take half tiles (AttentionAvx512.cpp).
  const int64_t keyTile = d + dv > 192 ? kKeyTile / 2 : kKeyTile;
  for (int64_t t0 = ja; t0 < jb; t0 += keyTile) {
    const Tile tile =
        tileMask(p, rb, t0, std::min<int64_t>(keyTile, jb - t0), tileBits);
    const TileMask tm = tile.mask;
    if (tm == TileMask::Skip)
      continue;
    // Keys [j0, j0 + nk) of the tile; bits[jj] is key j0 + jj's.
    const int64_t j0 = t0 + tile.lo, nk = tile.hi - tile.lo;
    const uint64_t *bits = tileBits + tile.lo;
    prefetchTile(p, rb, j0, nk, t0 + keyTile, std::min(jb, t0 + 2 * keyTile));
    __m256 mx[V];
    for (int x = 0; x < V; ++x)
      mx[x] = m[x];
    const bool fused = tm == TileMask::None && (!p.add || addShr);
    for (int64_t jj = 0; jj < nk; jj += kQkKeys) {
      const int r = static_cast<int>(std::min<int64_t>(kQkKeys, nk - jj));
      aheadStep();
      qk[r - 1](qT, d, kb + (j0 + jj) * p.ks[2], p.ks[2], p.ks[3],
                sT + jj * kLanes,
                fused && p.add ? addAt + (j0 + jj) * p.addS[3] : nullptr,
                p.addS[3], fused ? mx : nullptr);
    }
    for (int64_t jj = 0; jj < nk && !fused; ++jj) {
      const int64_t j = j0 + jj;
      for (int x = 0; x < V; ++x) {
        float *at = sT + jj * kLanes + 8 * x;
        __m256 s = _mm256_load_ps(at);
        const __m256 km =
            tm == TileMask::Bits
                ? laneMask(static_cast<unsigned>((bits[jj] >> (8 * x)) & 0xFF))
                : _mm256_castsi256_ps(_mm256_set1_epi32(-1));
        if (p.add) {
          const float *a0 = addAt + j * p.addS[3];
          __m256 a;
          if (addShr) {
            a = _mm256_broadcast_ss(a0);
          } else if (addGather) {
            a = _mm256_i32gather_ps(a0, off[x], 4);
          } else {
            alignas(32) float tmp[8] = {};
            for (int L = 0; L < 8 && 8 * x + L < lanes; ++L)
              tmp[L] = a0[wideOff[8 * x + L]];
            a = _mm256_load_ps(tmp);
          }
          s = _mm256_add_ps(s, _mm256_and_ps(a, km));
        }
        if (tm == TileMask::Bits)
          s = _mm256_blendv_ps(ninf, s, km);
        _mm256_store_ps(at, s);
        mx[x] = _mm256_max_ps(mx[x], s);
      }
    }
    __m256 ref[V], alpha[V], sum[V];
    for (int x = 0; x < V; ++x) {
      const __m256 dead = _mm256_cmp_ps(mx[x], ninf, _CMP_EQ_OQ);
      ref[x] = _mm256_blendv_ps(mx[x], zero, dead);
      alpha[x] = exp256(_mm256_sub_ps(m[x], ref[x]));
      m[x] = mx[x];
      sum[x] = zero;
    }
    for (int64_t jj = 0; jj < nk; ++jj)
      for (int x = 0; x < V; ++x) {
        float *at = sT + jj * kLanes + 8 * x;
        const __m256 e = exp256(_mm256_sub_ps(_mm256_load_ps(at), ref[x]));
        _mm256_store_ps(at, e);
        sum[x] = _mm256_add_ps(sum[x], e);
      }
    for (int x = 0; x < V; ++x)
      l[x] = _mm256_fmadd_ps(l[x], alpha[x], sum[x]);
    const float *vt = vb + j0 * p.vs[2];
    if (t0 + keyTile >= jb)
      prefetchOut(p, rb);
    for (int64_t c = 0; c < dv; c += kPvCols) {
      const int cols = static_cast<int>(std::min<int64_t>(kPvCols, dv - c));
      aheadStep();
      pv[cols - 1](oT + c * kLanes, alpha, sT, nk, vt + c * p.vs[3], p.vs[2],
                   p.vs[3]);
    }
  }
  for (int x = 0; x < V; ++x) {
    _mm256_store_ps(mOut + 8 * x, m[x]);
    _mm256_store_ps(lOut + 8 * x, l[x]);
  }
  if (!partial && p.os[3] == 1)
    storeOut(p, rb, V, oT, lOut);
  else
    finishBlock(p, rb, mOut, lOut, oT, 1, kLanes, partial);
}

TFC_AVX2 void prefill(const Params &p, const RowBlock &rb, int64_t ja,
                      int64_t jb, const Partial *partial) {
  if (rb.lanes() <= 8)
    prefillImpl<1>(p, rb, ja, jb, partial);
  else
    prefillImpl<2>(p, rb, ja, jb, partial);
}

//===-- decode ------------------------------------------------------------===//

/// out[k] = sum of the lanes of x[k], k < 8 (transpose-add tree).
TFC_AVX2 inline __m256 reduce8(const __m256 *x) {
  __m256 t[4];
  for (int i = 0; i < 4; ++i)
    t[i] = _mm256_add_ps(_mm256_unpacklo_ps(x[2 * i], x[2 * i + 1]),
                         _mm256_unpackhi_ps(x[2 * i], x[2 * i + 1]));
  __m256 u[2];
  for (int i = 0; i < 2; ++i) {
    const __m256d a = _mm256_castps_pd(t[2 * i]),
                  b = _mm256_castps_pd(t[2 * i + 1]);
    u[i] = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(a, b)),
                         _mm256_castpd_ps(_mm256_unpackhi_pd(a, b)));
  }
  return _mm256_add_ps(_mm256_permute2f128_ps(u[0], u[1], 0x20),
                       _mm256_permute2f128_ps(u[0], u[1], 0x31));
}

/// 8 K/V elements as floats: f32, f16 bits or int8 codes; with n: only the
/// first n (< 8) are read, the rest are 0.
TFC_AVX2 inline __m256 ld8(const float *p) { return _mm256_loadu_ps(p); }
TFC_AVX2 inline __m256 ld8(const float *p, int64_t n) {
  return _mm256_maskload_ps(p, simd::tailMask8(n));
}
TFC_AVX2F16 inline __m256 ld8(const uint16_t *p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
}
TFC_AVX2F16 inline __m256 ld8(const uint16_t *p, int64_t n) {
  alignas(16) uint16_t tmp[8] = {};
  for (int64_t i = 0; i < n && i < 8; ++i)
    tmp[i] = p[i];
  return ld8(tmp);
}
TFC_AVX2 inline __m256 ld8(const int8_t *p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
      _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p))));
}
TFC_AVX2 inline __m256 ld8(const int8_t *p, int64_t n) {
  alignas(16) int8_t tmp[8] = {};
  for (int64_t i = 0; i < n && i < 8; ++i)
    tmp[i] = p[i];
  return ld8(tmp);
}

template <int NV, typename T>
TFC_AVX2F16 void pvRow(float *o, float alpha, const float *pr, int64_t nk,
                       const T *v, int64_t svt, int64_t c0, int64_t dv) {
  const int64_t lastN = std::min<int64_t>(8, dv - c0 - 8 * (NV - 1));
  __m256 acc[NV];
  const __m256 a = _mm256_set1_ps(alpha);
#pragma GCC unroll 4
  for (int x = 0; x < NV; ++x)
    acc[x] = _mm256_mul_ps(_mm256_load_ps(o + c0 + 8 * x), a);
  for (int64_t j = 0; j < nk; ++j) {
    const __m256 pb = _mm256_broadcast_ss(pr + j);
    const T *vr = v + j * svt + c0;
#pragma GCC unroll 4
    for (int x = 0; x < NV; ++x) {
      const __m256 vv =
          x == NV - 1 && lastN < 8 ? ld8(vr + 8 * x, lastN) : ld8(vr + 8 * x);
      acc[x] = _mm256_fmadd_ps(pb, vv, acc[x]);
    }
  }
#pragma GCC unroll 4
  for (int x = 0; x < NV; ++x)
    _mm256_store_ps(o + c0 + 8 * x, acc[x]);
}

/// K (value = false) or V of rb's batch item and kv head, as T.
template <typename T>
inline const T *kvBase(const Params &p, const RowBlock &rb, bool value) {
  const int64_t *st = value ? p.vs : p.ks;
  const int64_t at = rb.b * st[0] + rb.g * st[1];
  if constexpr (std::is_same_v<T, float>)
    return (value ? p.v : p.k) + at;
  else
    return static_cast<const T *>(value ? p.vq : p.kq) + at;
}

/// T = float (f32 K/V), uint16_t (f16 bits) or int8_t (codes: the key scale
/// multiplies the dot product, the value scale the probability).
template <typename T>
TFC_AVX2F16 void decode(const Params &p, const RowBlock &rb, int64_t ja,
                        int64_t jb, const Partial *partial) {
  constexpr bool kI8 = std::is_same_v<T, int8_t>;
  const int R = rb.lanes();
  const int64_t d = p.d, dv = p.dv;
  const int64_t dp = (d + 7) / 8 * 8, dvp = (dv + 7) / 8 * 8;
  float *qb = scratch(R * (dp + dvp + kDecodeKeyTile) + kDecodeKeyTile);
  float *o = qb + R * dp;              // [R][dvp]
  float *sc = o + R * dvp;             // [R][kDecodeKeyTile]
  float *pq = sc + R * kDecodeKeyTile; // [kDecodeKeyTile] p * v scale (I8)
  const float *kScale = nullptr, *vScale = nullptr;
  if constexpr (kI8) {
    kScale = p.kScale + rb.b * p.kss[0] + rb.g * p.kss[1];
    vScale = p.vScale + rb.b * p.vss[0] + rb.g * p.vss[1];
  }
  float m[kDecodeLanes], l[kDecodeLanes];
  const float *addRow[kDecodeLanes] = {};
  for (int r = 0; r < R; ++r) {
    const int64_t h = rb.h0 + r / rb.nq, i = rb.i0 + r % rb.nq;
    const float *qr = p.q + rb.b * p.qs[0] + h * p.qs[1] + i * p.qs[2];
    for (int64_t c = 0; c < dp; ++c)
      qb[r * dp + c] = c < d ? p.scale * qr[c * p.qs[3]] : 0.0f;
    std::fill(o + r * dvp, o + (r + 1) * dvp, 0.0f);
    m[r] = -INFINITY;
    l[r] = 0;
    if (p.add)
      addRow[r] = p.add + rb.b * p.addS[0] + h * p.addS[1] + i * p.addS[2];
  }
  const T *kb = kvBase<T>(p, rb, false);
  const T *vb = kvBase<T>(p, rb, true);
  const int64_t skt = p.ks[2], svt = p.vs[2];
  const int64_t dTail = d % 8 == 0 ? 8 : d % 8;
  const __m256 ninf = _mm256_set1_ps(-INFINITY);

  uint64_t tileBits[kMaxLanes];
  for (int64_t t0 = ja; t0 < jb; t0 += kDecodeKeyTile) {
    const Tile tile = tileMask(
        p, rb, t0, std::min<int64_t>(kDecodeKeyTile, jb - t0), tileBits);
    const TileMask tm = tile.mask;
    if (tm == TileMask::Skip)
      continue;
    // Keys [j0, j0 + nk) of the tile; bits[jj] is key j0 + jj's.
    const int64_t j0 = t0 + tile.lo, nk = tile.hi - tile.lo;
    const uint64_t *bits = tileBits + tile.lo;
    for (int r = 0; r < R; ++r) {
      const float *qr = qb + r * dp;
      float *sr = sc + r * kDecodeKeyTile;
      for (int64_t g = 0; g < nk; g += 8) {
        const int64_t n = std::min<int64_t>(8, nk - g);
        __m256 dots[8];
        for (int jj = 0; jj < 8; ++jj) {
          if (jj >= n) {
            dots[jj] = _mm256_setzero_ps();
            continue;
          }
          const T *kr = kb + (j0 + g + jj) * skt;
          __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
          int64_t c = 0;
          for (; c + 16 <= d; c += 16) {
            a0 = _mm256_fmadd_ps(_mm256_load_ps(qr + c), ld8(kr + c), a0);
            a1 = _mm256_fmadd_ps(_mm256_load_ps(qr + c + 8), ld8(kr + c + 8),
                                 a1);
          }
          for (; c < d; c += 8) {
            const __m256 kv = c + 8 <= d ? ld8(kr + c) : ld8(kr + c, dTail);
            a0 = _mm256_fmadd_ps(_mm256_load_ps(qr + c), kv, a0);
          }
          dots[jj] = _mm256_add_ps(a0, a1);
        }
        __m256 dot = reduce8(dots);
        if constexpr (kI8) {
          alignas(32) float ks[8] = {};
          for (int64_t jj = 0; jj < n; ++jj)
            ks[jj] = kScale[(j0 + g + jj) * p.kss[2]];
          dot = _mm256_mul_ps(dot, _mm256_load_ps(ks));
        }
        _mm256_store_ps(sr + g, dot);
      }
      __m256 mxv = ninf;
      for (int64_t g = 0; g < nk; g += 8) {
        const int64_t n = std::min<int64_t>(8, nk - g);
        unsigned mk = (1u << n) - 1;
        if (tm == TileMask::Bits) {
          mk = 0;
          for (int64_t jj = 0; jj < n; ++jj)
            mk |= static_cast<unsigned>((bits[g + jj] >> r) & 1) << jj;
        }
        const __m256 km = laneMask(mk);
        __m256 s = _mm256_load_ps(sr + g);
        if (p.add) {
          const float *at = addRow[r] + (j0 + g) * p.addS[3];
          __m256 a;
          if (p.addS[3] == 1) {
            a = _mm256_maskload_ps(at, _mm256_castps_si256(km));
          } else {
            alignas(32) float tmp[8] = {};
            for (int64_t jj = 0; jj < n; ++jj)
              tmp[jj] = at[jj * p.addS[3]];
            a = _mm256_load_ps(tmp);
          }
          s = _mm256_add_ps(s, _mm256_and_ps(a, km));
        }
        s = _mm256_blendv_ps(ninf, s, km);
        _mm256_store_ps(sr + g, s);
        mxv = _mm256_max_ps(mxv, s);
      }
      const float mx = std::max(m[r], hmax(mxv));
      const float ref = mx == -INFINITY ? 0.0f : mx;
      const float alpha = std::exp(m[r] - ref);
      const __m256 refv = _mm256_set1_ps(ref);
      __m256 sum = _mm256_setzero_ps();
      for (int64_t g = 0; g < nk; g += 8) {
        const __m256 e = exp256(_mm256_sub_ps(_mm256_load_ps(sr + g), refv));
        _mm256_store_ps(sr + g, e);
        sum = _mm256_add_ps(sum, e);
      }
      l[r] = l[r] * alpha + hsum(sum);
      m[r] = mx;
      float *orow = o + r * dvp;
      const T *vt = vb + j0 * svt;
      const float *pr = sr;
      if constexpr (kI8) {
        for (int64_t jj = 0; jj < nk; ++jj)
          pq[jj] = sr[jj] * vScale[(j0 + jj) * p.vss[2]];
        pr = pq;
      }
      for (int64_t c0 = 0; c0 < dv; c0 += 32) {
        switch (std::min<int64_t>(4, (dv - c0 + 7) / 8)) {
        case 1:
          pvRow<1>(orow, alpha, pr, nk, vt, svt, c0, dv);
          break;
        case 2:
          pvRow<2>(orow, alpha, pr, nk, vt, svt, c0, dv);
          break;
        case 3:
          pvRow<3>(orow, alpha, pr, nk, vt, svt, c0, dv);
          break;
        default:
          pvRow<4>(orow, alpha, pr, nk, vt, svt, c0, dv);
          break;
        }
      }
    }
  }
  finishBlock(p, rb, m, l, o, dvp, 1, partial);
}

} // namespace

namespace {
#define TFC_SINK_TARGET TFC_AVX2
#include "SinkChunk.inc"
#undef TFC_SINK_TARGET
} // namespace

const Kernels &kernelsAvx2() {
  // Without F16C (no such AVX2 CPU is known) the decode blocks, compiled
  // with it, are not used: the generic decode takes over.
  static const bool f16c = __builtin_cpu_supports("f16c");
  static const Kernels k = {"avx2",
                            kLanes,
                            kKeyTile,
                            &prefill,
                            kDecodeLanes,
                            kDecodeKeyTile,
                            f16c ? &decode<float> : kernelsGeneric().decode,
                            f16c ? &decode<uint16_t> : nullptr,
                            f16c ? &decode<int8_t> : nullptr,
                            &sinkChunk};
  return k;
}

} // namespace attn
} // namespace tfcrt

#else // not x86-64: never selected

namespace tfcrt {
namespace attn {
const Kernels &kernelsAvx2() { return kernelsGeneric(); }
} // namespace attn
} // namespace tfcrt

#endif
