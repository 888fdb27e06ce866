//===- AttentionF32.cuh - the f32 fused attention kernels' bodies -------===//
//
// Included by AttentionKernels.cu only: attnTile (head dims up to 128, a
// SIMT GEMM of 4 x 4 register tiles) and attnSimt (up to 256, 4 threads
// per query row).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_ATTENTIONF32_CUH
#define TFC_LIB_RUNTIME_CUDA_ATTENTIONF32_CUH

#include "AttentionDevice.cuh"

namespace tfcrt::cuda::attn_device {

//===-- f32: four threads per query row -----------------------------------===//

template <int D>
__device__ __forceinline__ void attnSimt(const GpuAttnArgs &a) {
  constexpr int BM = tfcrt::cuda::kSimtRows, TPR = tfcrt::cuda::kSimtSplit;
  constexpr int BN = tfcrt::cuda::kSimtKeys(D);
  constexpr int DP = D / TPR; // this thread's slice of q, k, v and out
  static_assert(DP % 4 == 0, "float4 slices");
  __shared__ __align__(16) float Ks[BN][D];
  __shared__ __align__(16) float Vs[BN][D];
  const long long bi = blockIdx.z, h = blockIdx.y;
  const long long i0 = (long long)blockIdx.x * BM;
  const int tid = threadIdx.x, part = tid % TPR, cb = part * DP;
  const long long i = i0 + tid / TPR;
  const bool rowOk = i < a.s;
  const long long g = h / (a.hq / a.hkv);
  const long long off = a.t - a.s, p = i + off;
  float q[DP], acc[DP];
  const float *qp = a.q + bi * a.qs[0] + h * a.qs[1] + i * a.qs[2];
#pragma unroll
  for (int c = 0; c < DP; ++c) {
    q[c] = (rowOk && cb + c < a.d) ? qp[(cb + c) * a.qs[3]] : 0.0f;
    acc[c] = 0.0f;
  }
  float m = -CUDART_INF_F, l = 0.0f;
  const long long iLast = (i0 + BM < a.s ? i0 + BM : a.s) - 1;
  const long long p0 = i0 + off, p1 = iLast + off;
  const float *kb = a.k + bi * a.ks[0] + g * a.ks[1];
  const float *vb = a.v + bi * a.vs[0] + g * a.vs[1];
  const float *addRow =
      a.add ? a.add + bi * a.addS[0] + h * a.addS[1] + i * a.addS[2] : nullptr;
  const unsigned char *keepRow =
      a.keep ? a.keep + bi * a.keepS[0] + h * a.keepS[1] + i * a.keepS[2]
             : nullptr;
  long long jEnd = a.t;
  if (a.causal && p1 + 1 < jEnd)
    jEnd = p1 + 1 > 0 ? p1 + 1 : 0;
  for (long long j0 = 0; j0 < jEnd; j0 += BN) {
    const long long j1 = (j0 + BN < a.t ? j0 + BN : a.t) - 1;
    if (tileEmpty(a, p0, p1, j0, j1))
      continue;
    __syncthreads(); // the previous tile's readers are done
    stageTile<float, BN, D, BM * TPR>(&Ks[0][0], D, kb, j0, a.t, a.ks[2],
                                      a.ks[3], a.d, tid);
    stageTile<float, BN, D, BM * TPR>(&Vs[0][0], D, vb, j0, a.t, a.vs[2],
                                      a.vs[3], a.dv, tid);
    __syncthreads();
    // Which keys of the tile this row sees (a loop of its own, so that the
    // unrolled score loop below stays small; every thread of the row
    // computes the same bits).
    const bool full = j0 + BN <= a.t && !a.keep && tileFull(a, p0, p1, j0, j1);
    unsigned vis = 0;
    if (rowOk) {
      if (full) {
        vis = BN == 32 ? 0xffffffffu : (1u << BN) - 1;
      } else {
#pragma unroll 1
        for (int jj = 0; jj < BN; ++jj)
          if (j0 + jj < a.t && sees(a, keepRow, p, j0 + jj))
            vis |= 1u << jj;
      }
    }
    float sc[BN];
    float tmax = -CUDART_INF_F;
#pragma unroll
    for (int jj = 0; jj < BN; ++jj) {
      // This thread's part of q.k, summed over the row's TPR threads (all
      // of them get the sum: they run the row's softmax in lockstep).
      const float4 *kr = reinterpret_cast<const float4 *>(&Ks[jj][cb]);
      float d0 = 0.0f, d1 = 0.0f;
#pragma unroll
      for (int c4 = 0; c4 < DP / 4; ++c4) {
        const float4 kk = kr[c4];
        d0 = fmaf(q[4 * c4], kk.x, d0);
        d1 = fmaf(q[4 * c4 + 1], kk.y, d1);
        d0 = fmaf(q[4 * c4 + 2], kk.z, d0);
        d1 = fmaf(q[4 * c4 + 3], kk.w, d1);
      }
      float dot = d0 + d1;
#pragma unroll
      for (int o = 1; o < TPR; o *= 2)
        dot += __shfl_xor_sync(0xffffffffu, dot, o);
      float x = -CUDART_INF_F;
      if ((vis >> jj) & 1u) {
        x = dot * a.scale;
        if (addRow)
          x += addRow[(j0 + jj) * a.addS[3]];
      }
      sc[jj] = x;
      tmax = fmaxf(tmax, x);
    }
    const float mNew = fmaxf(m, tmax);
    if (mNew == -CUDART_INF_F)
      continue; // nothing seen yet (uniform control resumes at the top)
    const float alpha = __expf(m - mNew);
    l *= alpha;
#pragma unroll
    for (int c = 0; c < DP; ++c)
      acc[c] *= alpha;
#pragma unroll
    for (int jj = 0; jj < BN; ++jj) {
      const float pj = __expf(sc[jj] - mNew);
      l += pj;
      const float4 *vr = reinterpret_cast<const float4 *>(&Vs[jj][cb]);
#pragma unroll
      for (int c4 = 0; c4 < DP / 4; ++c4) {
        const float4 vv = vr[c4];
        acc[4 * c4] = fmaf(pj, vv.x, acc[4 * c4]);
        acc[4 * c4 + 1] = fmaf(pj, vv.y, acc[4 * c4 + 1]);
        acc[4 * c4 + 2] = fmaf(pj, vv.z, acc[4 * c4 + 2]);
        acc[4 * c4 + 3] = fmaf(pj, vv.w, acc[4 * c4 + 3]);
      }
    }
    m = mNew;
  }
  if (!rowOk)
    return;
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  const long long op = bi * a.os[0] + h * a.os[1] + i * a.os[2];
#pragma unroll
  for (int c = 0; c < DP; ++c)
    if (cb + c < a.dv)
      storeOut(a, op + (cb + c) * a.os[3], acc[c] * inv);
}

//===-- f32: register tiles (4 rows x 4 keys a thread) ---------------------===//

/// f32 flash attention as a SIMT GEMM: 256 threads, 64 query rows x 64 keys
/// a tile. Thread (tr, tc) = (tid / 16, tid % 16) computes S for rows
/// 4 tr .. 4 tr + 3 and keys 4 tc .. 4 tc + 3 from Q^T and K^T in shared
/// memory (two float4 loads feed 16 FMAs), runs the online softmax of its
/// 4 rows with the other 15 threads of its half warp (shuffles), writes P^T
/// to shared memory and accumulates O for its 4 rows and D / 16 columns
/// from P^T and V. Sums per row are this thread's part until the end.
template <int D>
__device__ __forceinline__ void attnTile(const GpuAttnArgs &a) {
  constexpr int BM = tfcrt::cuda::kTileRows, BN = tfcrt::cuda::kTileKeys;
  constexpr int T = 256, DC = D / 16;
  constexpr int LQ = BM + 4, LK = BN + 4, LV = D + 4, LP = BM + 4;
  static_assert(D % 16 == 0 && BM == 64 && BN == 64, "tile shapes");
  static_assert((D * LQ + D * LK + BN * LV + BN * LP) * 4 ==
                    tfcrt::cuda::tileSmemBytes(D),
                "shared memory layout");
  extern __shared__ __align__(16) unsigned char smemf[];
  float *Qt = reinterpret_cast<float *>(smemf); // [D][LQ]
  float *Kt = Qt + D * LQ;                      // [D][LK]
  float *Vs = Kt + D * LK;                      // [BN][LV]
  float *Pt = Vs + BN * LV;                     // [BN][LP]
  const int tid = threadIdx.x, tr = tid / 16, tc = tid % 16;
  const long long bi = blockIdx.z, h = blockIdx.y;
  const long long i0 = (long long)blockIdx.x * BM;
  const long long kvh = h / (a.hq / a.hkv);
  const long long off = a.t - a.s;
  const float *qb = a.q + bi * a.qs[0] + h * a.qs[1];
  const float *kb = a.k + bi * a.ks[0] + kvh * a.ks[1];
  const float *vb = a.v + bi * a.vs[0] + kvh * a.vs[1];

  // Q^T, once.
  for (int e = tid; e < BM * D; e += T) {
    const int r = e / D, c = e % D;
    const long long i = i0 + r;
    Qt[c * LQ + r] = (i < a.s && c < a.d) ? qb[i * a.qs[2] + c * a.qs[3]]
                                          : 0.0f;
  }
  long long iRow[4], p[4];
  bool rowOk[4];
  const float *addRow[4];
  const unsigned char *keepRow[4];
#pragma unroll
  for (int x = 0; x < 4; ++x) {
    iRow[x] = i0 + tr * 4 + x;
    rowOk[x] = iRow[x] < a.s;
    p[x] = iRow[x] + off;
    addRow[x] = a.add ? a.add + bi * a.addS[0] + h * a.addS[1] +
                            iRow[x] * a.addS[2]
                      : nullptr;
    keepRow[x] = a.keep ? a.keep + bi * a.keepS[0] + h * a.keepS[1] +
                              iRow[x] * a.keepS[2]
                        : nullptr;
  }
  const bool addVec =
      a.add && a.addS[3] == 1 && a.addS[2] % 4 == 0 && a.addS[1] % 4 == 0 &&
      a.addS[0] % 4 == 0 &&
      (reinterpret_cast<unsigned long long>(a.add) & 15) == 0;
  float o[4][DC];
#pragma unroll
  for (int x = 0; x < 4; ++x)
#pragma unroll
    for (int c = 0; c < DC; ++c)
      o[x][c] = 0.0f;
  float m[4], l[4];
#pragma unroll
  for (int x = 0; x < 4; ++x) {
    m[x] = -CUDART_INF_F;
    l[x] = 0.0f;
  }
  const long long iLast = (i0 + BM < a.s ? i0 + BM : a.s) - 1;
  const long long p0 = i0 + off, p1 = iLast + off;
  long long jEnd = a.t;
  if (a.causal && p1 + 1 < jEnd)
    jEnd = p1 + 1 > 0 ? p1 + 1 : 0;
  for (long long j0 = 0; j0 < jEnd; j0 += BN) {
    const long long j1 = (j0 + BN < a.t ? j0 + BN : a.t) - 1;
    if (tileEmpty(a, p0, p1, j0, j1))
      continue;
    __syncthreads(); // Q^T stored / the previous tile's K^T, V, P^T read
    // K^T and V: each thread's loads (8 a pass) before its stores.
    {
      constexpr int PER = BN * D / T;
      constexpr int CH = PER < 8 ? PER : 8;
#pragma unroll 1
      for (int c0 = 0; c0 < PER; c0 += CH) {
        float kv[CH], vv[CH];
#pragma unroll
        for (int u = 0; u < CH; ++u) {
          const int e = tid + (c0 + u) * T;
          const int r = e / D, c = e % D;
          const long long j = j0 + r;
          kv[u] = (j < a.t && c < a.d) ? kb[j * a.ks[2] + c * a.ks[3]] : 0.0f;
          vv[u] = (j < a.t && c < a.dv) ? vb[j * a.vs[2] + c * a.vs[3]] : 0.0f;
        }
#pragma unroll
        for (int u = 0; u < CH; ++u) {
          const int e = tid + (c0 + u) * T;
          const int r = e / D, c = e % D;
          Kt[c * LK + r] = kv[u];
          Vs[r * LV + c] = vv[u];
        }
      }
    }
    __syncthreads();
    // S: 4 rows x 4 keys.
    float sc[4][4];
#pragma unroll
    for (int x = 0; x < 4; ++x)
#pragma unroll
      for (int y = 0; y < 4; ++y)
        sc[x][y] = 0.0f;
#pragma unroll 8
    for (int c = 0; c < D; ++c) {
      const float4 qv = *reinterpret_cast<const float4 *>(Qt + c * LQ + tr * 4);
      const float4 kv = *reinterpret_cast<const float4 *>(Kt + c * LK + tc * 4);
      const float qa[4] = {qv.x, qv.y, qv.z, qv.w};
      const float ka[4] = {kv.x, kv.y, kv.z, kv.w};
#pragma unroll
      for (int x = 0; x < 4; ++x)
#pragma unroll
        for (int y = 0; y < 4; ++y)
          sc[x][y] = fmaf(qa[x], ka[y], sc[x][y]);
    }
    // Scale, mask, structure; the rows' max over the half warp.
    const bool inside = j0 + BN <= a.t;
    const bool full = inside && !a.keep && tileFull(a, p0, p1, j0, j1);
    const long long jb = j0 + tc * 4;
    float alpha[4], mNew[4];
#pragma unroll
    for (int x = 0; x < 4; ++x) {
      float madd[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if (addRow[x]) {
        if (addVec && inside) {
          const float4 v4 = *reinterpret_cast<const float4 *>(addRow[x] + jb);
          madd[0] = v4.x;
          madd[1] = v4.y;
          madd[2] = v4.z;
          madd[3] = v4.w;
        } else {
#pragma unroll
          for (int y = 0; y < 4; ++y)
            madd[y] = jb + y < a.t ? addRow[x][(jb + y) * a.addS[3]] : 0.0f;
        }
      }
      float tmax = -CUDART_INF_F;
#pragma unroll
      for (int y = 0; y < 4; ++y) {
        float v = fmaf(sc[x][y], a.scale, madd[y]);
        if (!rowOk[x])
          v = -CUDART_INF_F;
        else if (!full && !(jb + y < a.t && sees(a, keepRow[x], p[x], jb + y)))
          v = -CUDART_INF_F;
        sc[x][y] = v;
        tmax = fmaxf(tmax, v);
      }
#pragma unroll
      for (int o2 = 1; o2 < 16; o2 *= 2)
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, o2));
      mNew[x] = fmaxf(m[x], tmax);
      alpha[x] = mNew[x] == -CUDART_INF_F ? 1.0f : __expf(m[x] - mNew[x]);
      m[x] = mNew[x];
      l[x] *= alpha[x];
      float pr[4];
#pragma unroll
      for (int y = 0; y < 4; ++y) {
        pr[y] = mNew[x] == -CUDART_INF_F ? 0.0f : __expf(sc[x][y] - mNew[x]);
        l[x] += pr[y];
        Pt[(tc * 4 + y) * LP + tr * 4 + x] = pr[y];
      }
#pragma unroll
      for (int c = 0; c < DC; ++c)
        o[x][c] *= alpha[x];
    }
    __syncthreads();
    // O (4 rows x DC columns) += P V over the tile's keys.
#pragma unroll 4
    for (int j = 0; j < BN; ++j) {
      const float4 pv = *reinterpret_cast<const float4 *>(Pt + j * LP + tr * 4);
      const float pa[4] = {pv.x, pv.y, pv.z, pv.w};
      float vr[DC];
#pragma unroll
      for (int c = 0; c < DC; ++c)
        vr[c] = Vs[j * LV + tc * DC + c];
#pragma unroll
      for (int x = 0; x < 4; ++x)
#pragma unroll
        for (int c = 0; c < DC; ++c)
          o[x][c] = fmaf(pa[x], vr[c], o[x][c]);
    }
  }
#pragma unroll
  for (int x = 0; x < 4; ++x) {
#pragma unroll
    for (int o2 = 1; o2 < 16; o2 *= 2)
      l[x] += __shfl_xor_sync(0xffffffffu, l[x], o2);
    if (!rowOk[x])
      continue;
    const float inv = l[x] > 0.0f ? 1.0f / l[x] : 0.0f;
    const long long op = bi * a.os[0] + h * a.os[1] + iRow[x] * a.os[2];
#pragma unroll
    for (int c = 0; c < DC; ++c)
      if (tc * DC + c < a.dv)
        storeOut(a, op + (tc * DC + c) * a.os[3], o[x][c] * inv);
  }
}

} // namespace tfcrt::cuda::attn_device

#endif // TFC_LIB_RUNTIME_CUDA_ATTENTIONF32_CUH
