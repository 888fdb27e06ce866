//===- AttentionAvx512.cpp - AVX-512 attention blocks ---------------------===//
//
// Compiled for the baseline ISA; every AVX-512 function carries a target
// attribute and lives in an anonymous namespace, so no AVX-512 code can leak
// into a shared symbol. Only reached when the CPU supports AVX-512
// (kernelsBest / the tests check isa::supported).
//
// Prefill blocks put query rows in the vector lanes (up to 64 lanes = 4
// zmm): with Q^T packed [d][16 V] once per block, S^T[j][:] = sum_c K[j][c]
// * Q^T[c][:] broadcasts K elements where they lie (any strides, no K
// packing), the online softmax is vertical (per-lane max / sum, no
// horizontal reductions), and O^T[c][:] += V[j][c] * P^T[j][:] again
// broadcasts V. Register blocks: 8 keys x 2 zmm for S (16 accumulators, 10
// loads per 16 FMAs) up to 32 lanes, 4 keys x 4 zmm (8 loads per 16 FMAs)
// up to 64; the same for O over value columns. 64-lane blocks read each K/V
// row once per 64 query rows instead of 32 (measured against 32-lane
// blocks, alternating: MiniLM-shaped call -6%, SmolLM2 512 / 2048 tokens
// -12% / -15%). Key tile 64: Q^T + P^T + O^T of one block plus the K/V rows
// in flight stay within L1/L2 for d, dv <= 128.
//
// Decode blocks (a kv group's heads x s rows <= 8 lanes) vectorize over d
// instead: per key a dot product of zmm chunks, 16 keys reduced to one
// vector of scores by a transpose-add tree, and O rows accumulated over dv.
// K and V are streamed once per tile.
//
//===----------------------------------------------------------------------===//

#include "Attention.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 headers seed some intrinsics with _mm512_undefined_*(),
// which -Wuninitialized reports falsely once they are inlined here.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "../Simd.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#define TFC_AVX512                                                             \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))

namespace tfcrt {
namespace attn {
namespace {

/// Lanes of a prefill block at most (4 zmm); a block of V lane groups keeps
/// its Q^T, S^T and O^T rows 16 V floats apart.
constexpr int kLanes = 64;
constexpr int kKeyTile = 64;
/// Keys per qkKeys call and value columns per pvCols call: 16 accumulators
/// for V <= 2 lane groups (8 x V), 16 for V = 3, 4 (4 x V).
constexpr int kQkKeys = 8;
constexpr int kPvCols = 8;
constexpr int qkKeysFor(int V) { return V <= 2 ? 8 : 4; }
constexpr int pvColsFor(int V) { return V <= 2 ? 8 : 4; }
constexpr int kDecodeLanes = 8;
constexpr int kDecodeKeyTile = 64;

TFC_AVX512 inline __mmask16 tailMask(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF)
                 : static_cast<__mmask16>((1u << n) - 1);
}

//===-- prefill -----------------------------------------------------------===//

/// S^T[0..R)[lanes] = K[0..R) . Q^T (R keys at k, k + skt, ...). mx (not
/// null: a tile every lane sees whole, with no mask or one mask_add value
/// per key): adds addKeys[r * addStride] (when not null) to key r's scores
/// and folds them into the running max mx[V] while they are in registers,
/// so the tile needs no separate mask pass (bitwise the same result).
template <int R, int V, bool UnitD>
TFC_AVX512 void qkKeys(const float *qT, int64_t d, const float *k, int64_t skt,
                       int64_t skd, float *sOut, const float *addKeys,
                       int64_t addStride, __m512 *mx) {
  const int64_t sd = UnitD ? 1 : skd;
  __m512 acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      acc[r][v] = _mm512_setzero_ps();
  const float *kr[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    kr[r] = k + r * skt;
  for (int64_t c = 0; c < d; ++c) {
    __m512 q[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      q[v] = _mm512_load_ps(qT + c * 16 * V + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 kb = _mm512_set1_ps(kr[r][c * sd]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm512_fmadd_ps(kb, q[v], acc[r][v]);
    }
  }
  if (mx) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 a =
          addKeys ? _mm512_set1_ps(addKeys[r * addStride]) : _mm512_setzero_ps();
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) {
        if (addKeys)
          acc[r][v] = _mm512_add_ps(acc[r][v], a);
        mx[v] = _mm512_max_ps(mx[v], acc[r][v]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      _mm512_store_ps(sOut + r * 16 * V + 16 * v, acc[r][v]);
}

/// O^T[0..C)[lanes] = alpha * O^T + sum_j V[j][0..C) P^T[j].
template <int C, int V, bool UnitD>
TFC_AVX512 void pvCols(float *oT, const __m512 *alpha, const float *pT,
                       int64_t nk, const float *v, int64_t svt, int64_t svd) {
  const int64_t sd = UnitD ? 1 : svd;
  __m512 acc[C][V];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c)
#pragma GCC unroll 4
    for (int x = 0; x < V; ++x)
      acc[c][x] =
          _mm512_mul_ps(_mm512_load_ps(oT + c * 16 * V + 16 * x), alpha[x]);
  for (int64_t j = 0; j < nk; ++j) {
    __m512 pr[V];
#pragma GCC unroll 4
    for (int x = 0; x < V; ++x)
      pr[x] = _mm512_load_ps(pT + j * 16 * V + 16 * x);
    const float *vr = v + j * svt;
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const __m512 vb = _mm512_set1_ps(vr[c * sd]);
#pragma GCC unroll 4
      for (int x = 0; x < V; ++x)
        acc[c][x] = _mm512_fmadd_ps(vb, pr[x], acc[c][x]);
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c)
#pragma GCC unroll 4
    for (int x = 0; x < V; ++x)
      _mm512_store_ps(oT + c * 16 * V + 16 * x, acc[c][x]);
}

using QkFn = void (*)(const float *, int64_t, const float *, int64_t, int64_t,
                      float *, const float *, int64_t, __m512 *);
using PvFn = void (*)(float *, const __m512 *, const float *, int64_t,
                      const float *, int64_t, int64_t);

/// qk[r - 1]: r keys, pv[c - 1]: c columns, up to qkKeysFor(V) /
/// pvColsFor(V) (entries past that repeat the last: never called).
template <int V, bool U> struct Tables {
  static constexpr int Q = qkKeysFor(V), P = pvColsFor(V);
  static constexpr int q(int r) { return r < Q ? r : Q; }
  static constexpr int c(int n) { return n < P ? n : P; }
  static constexpr QkFn qk[kQkKeys] = {
      &qkKeys<q(1), V, U>, &qkKeys<q(2), V, U>, &qkKeys<q(3), V, U>,
      &qkKeys<q(4), V, U>, &qkKeys<q(5), V, U>, &qkKeys<q(6), V, U>,
      &qkKeys<q(7), V, U>, &qkKeys<q(8), V, U>};
  static constexpr PvFn pv[kPvCols] = {
      &pvCols<c(1), V, U>, &pvCols<c(2), V, U>, &pvCols<c(3), V, U>,
      &pvCols<c(4), V, U>, &pvCols<c(5), V, U>, &pvCols<c(6), V, U>,
      &pvCols<c(7), V, U>, &pvCols<c(8), V, U>};
};
template <int V, bool U> constexpr QkFn Tables<V, U>::qk[kQkKeys];
template <int V, bool U> constexpr PvFn Tables<V, U>::pv[kPvCols];
static_assert(kQkKeys == 8 && kPvCols == 8 && qkKeysFor(1) <= kQkKeys &&
                  pvColsFor(1) <= kPvCols,
              "update Tables");

/// mask_add for key j on every lane: one value for all lanes, or gathered
/// at the lanes' offsets from `base`.
TFC_AVX512 inline __m512 addVector(const float *base, int64_t j, int64_t sj,
                                   bool shared, const __m512i off) {
  const float *at = base + j * sj;
  return shared ? _mm512_set1_ps(*at) : _mm512_i32gather_ps(off, at, 4);
}

/// r[i] := column i of the 16 x 16 matrix whose rows are r[0..16).
TFC_AVX512 inline void transpose16(__m512 *r) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + m]: per 128-bit lane k, column 4k + m of rows 4g..4g+3.
  for (int g = 0; g < 4; ++g) {
    const __m512d a = _mm512_castps_pd(t[4 * g]),
                  b = _mm512_castps_pd(t[4 * g + 2]),
                  c = _mm512_castps_pd(t[4 * g + 1]),
                  d = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
  }
  for (int m = 0; m < 4; ++m) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88),
                 w0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xDD),
                 v1 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88),
                 w1 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xDD);
    r[m] = _mm512_shuffle_f32x4(v0, v1, 0x88);
    r[8 + m] = _mm512_shuffle_f32x4(v0, v1, 0xDD);
    r[4 + m] = _mm512_shuffle_f32x4(w0, w1, 0x88);
    r[12 + m] = _mm512_shuffle_f32x4(w0, w1, 0xDD);
  }
}

/// q row of lane L (lanes of rb; null past them).
inline const float *qRow(const Params &p, const RowBlock &rb, int L) {
  if (L >= rb.lanes())
    return nullptr;
  return p.q + rb.b * p.qs[0] + (rb.h0 + L / rb.nq) * p.qs[1] +
         (rb.i0 + L % rb.nq) * p.qs[2];
}

/// qT[c][16x + L] = scale * q[lane 16x + L][c] for the V lane groups; lanes
/// past rb.lanes() are 0.
TFC_AVX512 void packQ(const Params &p, const RowBlock &rb, int V, float *qT) {
  const int64_t d = p.d;
  if (p.qs[3] != 1) {
    for (int L = 0; L < 16 * V; ++L) {
      const float *qr = qRow(p, rb, L);
      for (int64_t c = 0; c < d; ++c)
        qT[c * 16 * V + L] = qr ? p.scale * qr[c * p.qs[3]] : 0.0f;
    }
    return;
  }
  const __m512 scale = _mm512_set1_ps(p.scale);
  for (int x = 0; x < V; ++x) {
    const float *rows[16];
    for (int L = 0; L < 16; ++L)
      rows[L] = qRow(p, rb, 16 * x + L);
    for (int64_t c0 = 0; c0 < d; c0 += 16) {
      const __mmask16 mk = tailMask(d - c0);
      __m512 r[16];
      for (int L = 0; L < 16; ++L)
        r[L] = rows[L] ? _mm512_maskz_loadu_ps(mk, rows[L] + c0)
                       : _mm512_setzero_ps();
      transpose16(r);
      for (int64_t cc = 0; cc < 16 && c0 + cc < d; ++cc)
        _mm512_store_ps(qT + (c0 + cc) * 16 * V + 16 * x,
                        _mm512_mul_ps(r[cc], scale));
    }
  }
}

/// out[lane L] = O^T[:, L] / l[L] (0 where l is 0); needs unit column
/// stride in out.
TFC_AVX512 void storeOut(const Params &p, const RowBlock &rb, int V,
                         const float *oT, const float *l) {
  const int lanes = rb.lanes();
  const int64_t dv = p.dv;
  for (int x = 0; x < V; ++x) {
    float *rows[16];
    float inv[16];
    for (int L = 0; L < 16; ++L) {
      const int lane = 16 * x + L;
      rows[L] = lane < lanes ? p.out + rb.b * p.os[0] +
                                   (rb.h0 + lane / rb.nq) * p.os[1] +
                                   (rb.i0 + lane % rb.nq) * p.os[2]
                             : nullptr;
      inv[L] = lane < lanes && l[lane] != 0.0f ? 1.0f / l[lane] : 0.0f;
    }
    for (int64_t c0 = 0; c0 < dv; c0 += 16) {
      const __mmask16 mk = tailMask(dv - c0);
      __m512 r[16];
      for (int cc = 0; cc < 16; ++cc)
        r[cc] = c0 + cc < dv ? _mm512_load_ps(oT + (c0 + cc) * 16 * V + 16 * x)
                             : _mm512_setzero_ps();
      transpose16(r);
      for (int L = 0; L < 16; ++L)
        if (rows[L])
          _mm512_mask_storeu_ps(
              rows[L] + c0, mk,
              inv[L] == 0.0f ? _mm512_setzero_ps()
                             : _mm512_mul_ps(r[L], _mm512_set1_ps(inv[L])));
    }
  }
}

template <int V>
TFC_AVX512 void prefillImpl(const Params &p, const RowBlock &rb, int64_t ja,
                            int64_t jb, const Partial *partial) {
  const int lanes = rb.lanes();
  const int64_t d = p.d, dv = p.dv;
  constexpr int LS = 16 * V; // lanes of the block's rows
  float *qT = scratch((d + dv + kKeyTile + 2) * LS);
  float *oT = qT + d * LS;          // [dv][LS]
  float *sT = oT + dv * LS;         // [kKeyTile][LS]
  float *mOut = sT + kKeyTile * LS; // [LS]
  float *lOut = mOut + LS;          // [LS]

  prefetchBlock(p, rb);
  packQ(p, rb, V, qT);
  for (int64_t c = 0; c < dv; ++c)
    for (int x = 0; x < V; ++x)
      _mm512_store_ps(oT + c * LS + 16 * x, _mm512_setzero_ps());
  __m512 m[V], l[V];
  for (int x = 0; x < V; ++x) {
    m[x] = _mm512_set1_ps(-INFINITY);
    l[x] = _mm512_setzero_ps();
  }

  // mask_add: broadcast, gathered (lane offsets fit in int32) or per lane.
  const float *addAt = nullptr;
  bool addShr = false, addGather = false;
  alignas(64) int32_t offs[kMaxLanes];
  __m512i off[V];
  int64_t wideOff[LS] = {};
  if (p.add) {
    addAt = addBase(p, rb);
    addShr = addShared(p);
    // A shared (per key) add is broadcast: no lane offsets (their int64
    // divisions cost ~2 % of a MiniLM-shaped call on Zen 3).
    if (!addShr) {
      addGather = addLaneOffsets(p, rb, offs);
      for (int x = 0; x < V; ++x)
        off[x] = _mm512_load_si512(offs + 16 * x);
      for (int L = 0; L < lanes; ++L)
        wideOff[L] = (L / rb.nq) * p.addS[1] + (L % rb.nq) * p.addS[2];
    }
  }

  const bool unitK = p.ks[3] == 1, unitV = p.vs[3] == 1;
  const QkFn *qk = unitK ? Tables<V, true>::qk : Tables<V, false>::qk;
  const PvFn *pv = unitV ? Tables<V, true>::pv : Tables<V, false>::pv;
  const float *kb = p.k + rb.b * p.ks[0] + rb.g * p.ks[1];
  const float *vb = p.v + rb.b * p.vs[0] + rb.g * p.vs[1];
  const __m512 ninf = _mm512_set1_ps(-INFINITY), zero = _mm512_setzero_ps();

  uint64_t tileBits[kMaxLanes];
  // Wide heads take half tiles, so that the V rows of a tile and P^T stay
  // in L1 while the PV loop sweeps the value columns; so do K/V rows read in
  // place far apart (>= 1 KB: [b, s, h, d]), whose
  // lines fall into few L1 sets (MiniLM batch 32: attention 4% faster in
  // the model, 3 alternating runs of --profile).
  const bool stridedKv = (p.ks[2] != d && p.ks[2] >= 256) ||
                         (p.vs[2] != dv && p.vs[2] >= 256);
  const int64_t keyTile =
      d + dv > 192 || stridedKv ? kKeyTile / 2 : kKeyTile;
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
    // Masks and the tile's max: folded into QK^T when every lane sees every
    // key and mask_add is one value per key (MiniLM's padding mask).
    __m512 mx[V];
    for (int x = 0; x < V; ++x)
      mx[x] = m[x];
    const bool fused = tm == TileMask::None && (!p.add || addShr);
    constexpr int QK = qkKeysFor(V), PVC = pvColsFor(V);
    for (int64_t jj = 0; jj < nk; jj += QK) {
      const int r = static_cast<int>(std::min<int64_t>(QK, nk - jj));
      aheadStep();
      qk[r - 1](qT, d, kb + (j0 + jj) * p.ks[2], p.ks[2], p.ks[3],
                sT + jj * LS,
                fused && p.add ? addAt + (j0 + jj) * p.addS[3] : nullptr,
                p.addS[3], fused ? mx : nullptr);
    }
    for (int64_t jj = 0; jj < nk && !fused; ++jj) {
      const int64_t j = j0 + jj;
      for (int x = 0; x < V; ++x) {
        float *at = sT + jj * LS + 16 * x;
        __m512 s = _mm512_load_ps(at);
        const __mmask16 km = tm == TileMask::Bits
                                 ? static_cast<__mmask16>(bits[jj] >> (16 * x))
                                 : static_cast<__mmask16>(0xFFFF);
        if (p.add) {
          __m512 a;
          if (addShr || addGather) {
            a = addVector(addAt, j, p.addS[3], addShr, off[x]);
          } else {
            alignas(64) float tmp[16] = {};
            for (int L = 0; L < 16 && 16 * x + L < lanes; ++L)
              tmp[L] = addAt[j * p.addS[3] + wideOff[16 * x + L]];
            a = _mm512_load_ps(tmp);
          }
          s = _mm512_mask_add_ps(s, km, s, a);
        }
        if (tm == TileMask::Bits)
          s = _mm512_mask_blend_ps(km, ninf, s);
        _mm512_store_ps(at, s);
        mx[x] = _mm512_max_ps(mx[x], s);
      }
    }
    // Online softmax.
    __m512 ref[V], alpha[V], sum[V];
    for (int x = 0; x < V; ++x) {
      const __mmask16 dead = _mm512_cmp_ps_mask(mx[x], ninf, _CMP_EQ_OQ);
      ref[x] = _mm512_mask_blend_ps(dead, mx[x], zero);
      alpha[x] = simd::expNoDenormal(_mm512_sub_ps(m[x], ref[x]));
      m[x] = mx[x];
      sum[x] = zero;
    }
    for (int64_t jj = 0; jj < nk; ++jj)
      for (int x = 0; x < V; ++x) {
        float *at = sT + jj * LS + 16 * x;
        const __m512 e = simd::expNoDenormal(_mm512_sub_ps(_mm512_load_ps(at), ref[x]));
        _mm512_store_ps(at, e);
        sum[x] = _mm512_add_ps(sum[x], e);
      }
    for (int x = 0; x < V; ++x)
      l[x] = _mm512_fmadd_ps(l[x], alpha[x], sum[x]);
    const float *vt = vb + j0 * p.vs[2];
    if (t0 + keyTile >= jb)
      prefetchOut(p, rb);
    for (int64_t c = 0; c < dv; c += PVC) {
      const int cols = static_cast<int>(std::min<int64_t>(PVC, dv - c));
      aheadStep();
      pv[cols - 1](oT + c * LS, alpha, sT, nk, vt + c * p.vs[3], p.vs[2],
                   p.vs[3]);
    }
  }
  for (int x = 0; x < V; ++x) {
    _mm512_store_ps(mOut + 16 * x, m[x]);
    _mm512_store_ps(lOut + 16 * x, l[x]);
  }
  if (!partial && p.os[3] == 1)
    storeOut(p, rb, V, oT, lOut);
  else
    finishBlock(p, rb, mOut, lOut, oT, 1, LS, partial);
}

TFC_AVX512 void prefill(const Params &p, const RowBlock &rb, int64_t ja,
                        int64_t jb, const Partial *partial) {
  const int lanes = rb.lanes();
  if (lanes <= 16)
    prefillImpl<1>(p, rb, ja, jb, partial);
  else if (lanes <= 32)
    prefillImpl<2>(p, rb, ja, jb, partial);
  else if (lanes <= 48)
    prefillImpl<3>(p, rb, ja, jb, partial);
  else
    prefillImpl<4>(p, rb, ja, jb, partial);
}

//===-- decode ------------------------------------------------------------===//

/// out[k] = sum of the lanes of x[k], k < 16 (a transpose-add tree: 45
/// shuffles/adds for 16 keys instead of 16 horizontal reductions).
TFC_AVX512 inline __m512 reduce16(const __m512 *x) {
  __m512 t[8];
  for (int i = 0; i < 8; ++i)
    t[i] = _mm512_add_ps(_mm512_unpacklo_ps(x[2 * i], x[2 * i + 1]),
                         _mm512_unpackhi_ps(x[2 * i], x[2 * i + 1]));
  __m512 u[4];
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[2 * i]),
                  b = _mm512_castps_pd(t[2 * i + 1]);
    u[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                         _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  const __m512 v01 =
      _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
                    _mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512 v23 =
      _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(2, 0, 2, 0)),
                    _mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_add_ps(_mm512_shuffle_f32x4(v01, v23, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(v01, v23, _MM_SHUFFLE(3, 1, 3, 1)));
}

/// 16 K/V elements as floats: f32, f16 bits or int8 codes (masked: 0 past
/// the mask, never read there).
TFC_AVX512 inline __m512 ld16(const float *p) { return _mm512_loadu_ps(p); }
TFC_AVX512 inline __m512 ld16(const float *p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}
TFC_AVX512 inline __m512 ld16(const uint16_t *p) {
  return _mm512_cvtph_ps(
      _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
}
TFC_AVX512 inline __m512 ld16(const uint16_t *p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
TFC_AVX512 inline __m512 ld16(const int8_t *p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
      _mm_loadu_si128(reinterpret_cast<const __m128i *>(p))));
}
TFC_AVX512 inline __m512 ld16(const int8_t *p, __mmask16 m) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
}

/// o[0..dv) = alpha * o + sum_j pr[j] * V[j][0..dv), NV zmm per pass.
template <int NV, typename T>
TFC_AVX512 void pvRow(float *o, float alpha, const float *pr, int64_t nk,
                      const T *v, int64_t svt, int64_t c0, int64_t dv) {
  const __mmask16 last = tailMask(dv - c0 - 16 * (NV - 1));
  __m512 acc[NV];
  const __m512 a = _mm512_set1_ps(alpha);
#pragma GCC unroll 4
  for (int x = 0; x < NV; ++x)
    acc[x] = _mm512_mul_ps(_mm512_load_ps(o + c0 + 16 * x), a);
  for (int64_t j = 0; j < nk; ++j) {
    const __m512 pb = _mm512_set1_ps(pr[j]);
    const T *vr = v + j * svt + c0;
#pragma GCC unroll 4
    for (int x = 0; x < NV; ++x) {
      const __m512 vv =
          x == NV - 1 ? ld16(vr + 16 * x, last) : ld16(vr + 16 * x);
      acc[x] = _mm512_fmadd_ps(pb, vv, acc[x]);
    }
  }
#pragma GCC unroll 4
  for (int x = 0; x < NV; ++x)
    _mm512_store_ps(o + c0 + 16 * x, acc[x]);
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
TFC_AVX512 void decode(const Params &p, const RowBlock &rb, int64_t ja,
                       int64_t jb, const Partial *partial) {
  constexpr bool kI8 = std::is_same_v<T, int8_t>;
  const int R = rb.lanes();
  const int64_t d = p.d, dv = p.dv;
  const int64_t dp = (d + 15) / 16 * 16, dvp = (dv + 15) / 16 * 16;
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
  const __mmask16 dTail = tailMask(d % 16 == 0 ? 16 : d % 16);
  const __m512 ninf = _mm512_set1_ps(-INFINITY);

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
      // Scores of 16 keys at a time.
      for (int64_t g = 0; g < nk; g += 16) {
        const int64_t n = std::min<int64_t>(16, nk - g);
        __m512 dots[16];
        for (int jj = 0; jj < 16; ++jj) {
          if (jj >= n) {
            dots[jj] = _mm512_setzero_ps();
            continue;
          }
          const T *kr = kb + (j0 + g + jj) * skt;
          __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
          int64_t c = 0;
          for (; c + 32 <= d; c += 32) {
            a0 = _mm512_fmadd_ps(_mm512_load_ps(qr + c), ld16(kr + c), a0);
            a1 = _mm512_fmadd_ps(_mm512_load_ps(qr + c + 16), ld16(kr + c + 16),
                                 a1);
          }
          for (; c < d; c += 16) {
            const __mmask16 mk = c + 16 <= d ? 0xFFFF : dTail;
            a0 = _mm512_fmadd_ps(_mm512_load_ps(qr + c), ld16(kr + c, mk), a0);
          }
          dots[jj] = _mm512_add_ps(a0, a1);
        }
        __m512 dot = reduce16(dots);
        if constexpr (kI8) {
          alignas(64) float ks[16] = {};
          for (int64_t jj = 0; jj < n; ++jj)
            ks[jj] = kScale[(j0 + g + jj) * p.kss[2]];
          dot = _mm512_mul_ps(dot, _mm512_load_ps(ks));
        }
        _mm512_store_ps(sr + g, dot);
      }
      // Masks, max, probabilities.
      __m512 mxv = ninf;
      for (int64_t g = 0; g < nk; g += 16) {
        const int64_t n = std::min<int64_t>(16, nk - g);
        __mmask16 km = tailMask(n);
        if (tm == TileMask::Bits) {
          unsigned mk = 0;
          for (int64_t jj = 0; jj < n; ++jj)
            mk |= static_cast<unsigned>((bits[g + jj] >> r) & 1) << jj;
          km = static_cast<__mmask16>(mk);
        }
        __m512 s = _mm512_load_ps(sr + g);
        if (p.add) {
          const float *at = addRow[r] + (j0 + g) * p.addS[3];
          __m512 a;
          if (p.addS[3] == 1) {
            a = _mm512_maskz_loadu_ps(km, at);
          } else {
            alignas(64) float tmp[16] = {};
            for (int64_t jj = 0; jj < n; ++jj)
              tmp[jj] = at[jj * p.addS[3]];
            a = _mm512_load_ps(tmp);
          }
          s = _mm512_mask_add_ps(s, km, s, a);
        }
        s = _mm512_mask_blend_ps(km, ninf, s);
        _mm512_store_ps(sr + g, s);
        mxv = _mm512_max_ps(mxv, s);
      }
      const float mx = std::max(m[r], _mm512_reduce_max_ps(mxv));
      const float ref = mx == -INFINITY ? 0.0f : mx;
      const float alpha = std::exp(m[r] - ref);
      const __m512 refv = _mm512_set1_ps(ref);
      __m512 sum = _mm512_setzero_ps();
      for (int64_t g = 0; g < nk; g += 16) {
        const __m512 e = simd::expNoDenormal(_mm512_sub_ps(_mm512_load_ps(sr + g), refv));
        _mm512_store_ps(sr + g, e);
        sum = _mm512_add_ps(sum, e);
      }
      l[r] = l[r] * alpha + _mm512_reduce_add_ps(sum);
      m[r] = mx;
      // O row += P V over the tile, 4 zmm of columns per pass.
      float *orow = o + r * dvp;
      const T *vt = vb + j0 * svt;
      const float *pr = sr;
      if constexpr (kI8) {
        for (int64_t jj = 0; jj < nk; ++jj)
          pq[jj] = sr[jj] * vScale[(j0 + jj) * p.vss[2]];
        pr = pq;
      }
      for (int64_t c0 = 0; c0 < dv; c0 += 64) {
        switch (std::min<int64_t>(4, (dv - c0 + 15) / 16)) {
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
#define TFC_SINK_TARGET TFC_AVX512
#include "SinkChunk.inc"
#undef TFC_SINK_TARGET
} // namespace

const Kernels &kernelsAvx512() {
  static const Kernels k = {
      "avx512",        kLanes,         kKeyTile,       &prefill,
      kDecodeLanes,    kDecodeKeyTile, &decode<float>, &decode<uint16_t>,
      &decode<int8_t>, &sinkChunk};
  return k;
}

} // namespace attn
} // namespace tfcrt

#else // not x86-64: never selected

namespace tfcrt {
namespace attn {
const Kernels &kernelsAvx512() { return kernelsGeneric(); }
} // namespace attn
} // namespace tfcrt

#endif
