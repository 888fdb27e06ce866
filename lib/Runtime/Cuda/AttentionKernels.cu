//===- AttentionKernels.cu - fused (flash-style) attention on the GPU -----===//
//
// The kernels behind tfcrt_gpu_attention_* (GpuAttention.h has the contract;
// AttentionLaunch.cpp picks and launches them). nvcc compiles this file into
// a fatbin that libtfcrt embeds and loads with the driver at the first call:
// no CUDA runtime library, like the rest of the GPU runtime.
//
// Both families walk the keys in tiles with an online softmax (running max
// m and sum l per query row, the accumulator rescaled by exp(m_old - m_new)),
// so the [s, t] scores are never stored. A tile that no query row of the
// block can see (causal, window + sinks, block-local, block layout) is
// skipped without loading it; a tile that every row sees (and no mask_keep)
// needs no per-element check; otherwise every (row, key) pair is checked
// against the structure and mask_keep. mask_add is added to the score.
//
//   tfc_attn_tile_<D>       f32, head dims up to 128: a SIMT GEMM, each of
//                           256 threads 4 rows x 4 keys of S (Q^T, K^T in
//                           shared memory) and 4 rows of O (P^T, V in shared
//                           memory).
//   tfc_attn_simt_<D>       f32, head dims up to 256 (the launcher uses it
//                           above 128): 4 threads per query row, each with a
//                           quarter of q and of the accumulator in registers
//                           (the dot products summed by warp shuffles), K /
//                           V tiles in shared memory.
//   tfc_attn_mma_<T>_<D>_w4 f16 / bf16 tensor cores (mma.sync m16n8k16, f32
//                           accumulation) in FlashAttention-2's layout: 4
//                           warps a block, a warp per 16 query rows, S, P
//                           and O in registers, Q / K / V^T in shared
//                           memory.
//
//===----------------------------------------------------------------------===//

#include "GpuAttention.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math_constants.h>

using tfcrt::cuda::GpuAttnArgs;

namespace {

__device__ __forceinline__ long long floorDiv(long long a, long long b) {
  long long q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/// Whether the query at position p sees key j structurally.
__device__ __forceinline__ bool structVisible(const GpuAttnArgs &a,
                                              long long p, long long j) {
  if (a.causal && j > p)
    return false;
  if (a.window > 0 && j >= a.sinks && p > j + a.window - 1)
    return false;
  if (a.block > 0) {
    const long long start = (j / a.block) * a.block;
    if (p < start || p > start + a.block - 1)
      return false;
  }
  if (a.layout) {
    if (p < 0)
      return false;
    if (!a.layout[(p / a.layoutBlock) * a.layoutS[0] +
                  (j / a.layoutBlock) * a.layoutS[1]])
      return false;
  }
  return true;
}

/// True when no query position in [p0, p1] sees any key in [j0, j1]
/// (the same for every thread of a block).
__device__ __forceinline__ bool tileEmpty(const GpuAttnArgs &a, long long p0,
                                          long long p1, long long j0,
                                          long long j1) {
  if (a.causal && j0 > p1)
    return true;
  if (a.window > 0 && p0 - j1 >= a.window && j0 >= a.sinks)
    return true;
  if (a.block > 0) {
    const long long qa = floorDiv(p0, a.block), qb = floorDiv(p1, a.block);
    const long long ka = j0 / a.block, kb = j1 / a.block;
    if (qb < ka || kb < qa)
      return true;
  }
  if (a.layout) {
    if (p1 < 0)
      return true;
    bool any = false;
    for (long long r = (p0 > 0 ? p0 : 0) / a.layoutBlock;
         r <= p1 / a.layoutBlock && !any; ++r)
      for (long long c = j0 / a.layoutBlock; c <= j1 / a.layoutBlock; ++c)
        if (a.layout[r * a.layoutS[0] + c * a.layoutS[1]]) {
          any = true;
          break;
        }
    if (!any)
      return true;
  }
  return false;
}

/// True when every query position in [p0, p1] sees every key in [j0, j1]
/// structurally (then no per-element check is needed without mask_keep).
__device__ __forceinline__ bool tileFull(const GpuAttnArgs &a, long long p0,
                                         long long p1, long long j0,
                                         long long j1) {
  if (a.causal && j1 > p0)
    return false;
  if (a.window > 0 && !(p1 - j0 < a.window || j1 < a.sinks))
    return false;
  if (a.block > 0) {
    const long long qa = floorDiv(p0, a.block), qb = floorDiv(p1, a.block);
    if (!(qa == qb && j0 / a.block == qa && j1 / a.block == qa))
      return false;
  }
  if (a.layout) {
    if (p0 < 0)
      return false;
    for (long long r = p0 / a.layoutBlock; r <= p1 / a.layoutBlock; ++r)
      for (long long c = j0 / a.layoutBlock; c <= j1 / a.layoutBlock; ++c)
        if (!a.layout[r * a.layoutS[0] + c * a.layoutS[1]])
          return false;
  }
  return true;
}

/// Whether row i (position p) of head h in batch item bi sees key j, with
/// mask_keep.
__device__ __forceinline__ bool sees(const GpuAttnArgs &a,
                                     const unsigned char *keepRow, long long p,
                                     long long j) {
  if (!structVisible(a, p, j))
    return false;
  return !keepRow || keepRow[j * a.keepS[3]] != 0;
}

template <typename T> __device__ __forceinline__ T toHalf(float x);
template <> __device__ __forceinline__ float toHalf<float>(float x) {
  return x;
}
template <> __device__ __forceinline__ __half toHalf<__half>(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 toHalf<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

/// Stores 4 floats at p as T (16-byte aligned for f32, 8 for half types).
template <typename T> __device__ __forceinline__ void store4(T *p, float4 v);
template <> __device__ __forceinline__ void store4<float>(float *p, float4 v) {
  *reinterpret_cast<float4 *>(p) = v;
}
template <> __device__ __forceinline__ void store4<__half>(__half *p, float4 v) {
  __half2 lo = __floats2half2_rn(v.x, v.y), hi = __floats2half2_rn(v.z, v.w);
  uint2 u;
  u.x = *reinterpret_cast<unsigned *>(&lo);
  u.y = *reinterpret_cast<unsigned *>(&hi);
  *reinterpret_cast<uint2 *>(p) = u;
}
template <>
__device__ __forceinline__ void store4<__nv_bfloat16>(__nv_bfloat16 *p,
                                                      float4 v) {
  __nv_bfloat162 lo = __floats2bfloat162_rn(v.x, v.y);
  __nv_bfloat162 hi = __floats2bfloat162_rn(v.z, v.w);
  uint2 u;
  u.x = *reinterpret_cast<unsigned *>(&lo);
  u.y = *reinterpret_cast<unsigned *>(&hi);
  *reinterpret_cast<uint2 *>(p) = u;
}

/// stageTile for any strides: element by element, a chunk's loads (up to
/// 16) issued before its stores. Not inlined: inlined, its loop-invariant
/// addresses were hoisted out of the kernels' tile loops and spilled (the
/// vector path below is the one the exporters' layouts take).
template <typename T, int ROWS, int D, int THREADS>
__device__ __noinline__ void stageTileScalar(T *dst, int ld, const float *src,
                                             long long r0, long long nrows,
                                             long long rs, long long cs,
                                             long long ncols, int tid) {
  constexpr int N = ROWS * D;
  constexpr int PER = (N + THREADS - 1) / THREADS;
  constexpr int CH = PER < 16 ? PER : 16;
#pragma unroll 1
  for (int c0 = 0; c0 < PER; c0 += CH) {
    float v[CH];
#pragma unroll
    for (int u = 0; u < CH; ++u) {
      const int e = tid + (c0 + u) * THREADS;
      const int r = e / D, c = e % D;
      const long long row = r0 + r;
      v[u] = (c0 + u < PER && e < N && row < nrows && c < ncols)
                 ? src[row * rs + c * cs]
                 : 0.0f;
    }
#pragma unroll
    for (int u = 0; u < CH; ++u) {
      const int e = tid + (c0 + u) * THREADS;
      if (c0 + u < PER && e < N)
        dst[(e / D) * ld + e % D] = toHalf<T>(v[u]);
    }
  }
}

/// Copies rows [r0, r0 + ROWS) x columns [0, D) of an f32 matrix (row
/// stride rs, column stride cs; rows >= nrows or columns >= ncols read as 0)
/// into shared memory dst[r * ld + c] as T, THREADS threads cooperating.
/// Rows of unit column stride, 16-byte aligned, in whole float4 groups (the
/// exporters' [b, s, h, d] views) take one 16-byte load per 4 elements,
/// a thread's loads (up to 8) issued before its stores; other layouts go
/// element by element (stageTileScalar).
template <typename T, int ROWS, int D, int THREADS>
__device__ __forceinline__ void stageTile(T *dst, int ld, const float *src,
                                          long long r0, long long nrows,
                                          long long rs, long long cs,
                                          long long ncols, int tid) {
  if (!(cs == 1 && rs % 4 == 0 && ncols % 4 == 0 &&
        (reinterpret_cast<unsigned long long>(src) & 15) == 0)) {
    stageTileScalar<T, ROWS, D, THREADS>(dst, ld, src, r0, nrows, rs, cs,
                                         ncols, tid);
    return;
  }
  constexpr int N4 = ROWS * D / 4, D4 = D / 4;
  constexpr int PER4 = (N4 + THREADS - 1) / THREADS;
  constexpr int CH4 = PER4 < 8 ? PER4 : 8;
#pragma unroll 1
  for (int c0 = 0; c0 < PER4; c0 += CH4) {
    float4 v[CH4];
#pragma unroll
    for (int u = 0; u < CH4; ++u) {
      const int e = tid + (c0 + u) * THREADS;
      const int r = e / D4, c = (e % D4) * 4;
      const long long row = r0 + r;
      v[u] = (c0 + u < PER4 && e < N4 && row < nrows && c < ncols)
                 ? *reinterpret_cast<const float4 *>(src + row * rs + c)
                 : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
#pragma unroll
    for (int u = 0; u < CH4; ++u) {
      const int e = tid + (c0 + u) * THREADS;
      if (c0 + u < PER4 && e < N4)
        store4<T>(dst + (e / D4) * ld + (e % D4) * 4, v[u]);
    }
  }
}

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
  float *op = a.out + bi * a.os[0] + h * a.os[1] + i * a.os[2];
#pragma unroll
  for (int c = 0; c < DP; ++c)
    if (cb + c < a.dv)
      op[(cb + c) * a.os[3]] = acc[c] * inv;
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
    float *op = a.out + bi * a.os[0] + h * a.os[1] + iRow[x] * a.os[2];
#pragma unroll
    for (int c = 0; c < DC; ++c)
      if (tc * DC + c < a.dv)
        op[(tc * DC + c) * a.os[3]] = o[x][c] * inv;
  }
}

//===-- f16 / bf16 tensor cores: a warp per 16 query rows -----------------===//

/// Two floats as a packed pair of T (the lower column in the low half).
template <typename T> __device__ __forceinline__ unsigned pack2(float lo,
                                                                float hi);
template <> __device__ __forceinline__ unsigned pack2<__half>(float lo,
                                                              float hi) {
  __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<unsigned *>(&h);
}
template <>
__device__ __forceinline__ unsigned pack2<__nv_bfloat16>(float lo, float hi) {
  __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<unsigned *>(&h);
}

/// c += a (16 x 16, row major) x b (16 x 8, column major): one
/// mma.sync.m16n8k16 with f32 accumulation. Fragments as the PTX ISA lays
/// them out (g = lane / 4, q = lane % 4): a0 = A[g][2q, 2q+1], a1 = A[g+8]
/// [2q..], a2 = A[g][2q+8..], a3 = A[g+8][2q+8..]; b0 = B[2q, 2q+1][g], b1 =
/// B[2q+8..][g]; c0, c1 = C[g][2q, 2q+1], c2, c3 = C[g+8][2q, 2q+1].
template <typename T>
__device__ __forceinline__ void mma16816(float *c, const unsigned *a,
                                         unsigned b0, unsigned b1);
template <>
__device__ __forceinline__ void mma16816<__half>(float *c, const unsigned *a,
                                                 unsigned b0, unsigned b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0),
                 "r"(b1));
}
template <>
__device__ __forceinline__ void
mma16816<__nv_bfloat16>(float *c, const unsigned *a, unsigned b0,
                        unsigned b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0),
                 "r"(b1));
}

/// Like stageTile, but stores the tile transposed: dst[c * ld + r] (V^T,
/// whose rows are the B fragments of P V). Element by element.
template <typename T, int ROWS, int D, int THREADS>
__device__ __noinline__ void stageTileT(T *dst, int ld, const float *src,
                                        long long r0, long long nrows,
                                        long long rs, long long cs,
                                        long long ncols, int tid) {
  constexpr int N = ROWS * D;
  constexpr int PER = (N + THREADS - 1) / THREADS;
  constexpr int CH = PER < 16 ? PER : 16;
#pragma unroll 1
  for (int c0 = 0; c0 < PER; c0 += CH) {
    float v[CH];
#pragma unroll
    for (int u = 0; u < CH; ++u) {
      const int e = tid + (c0 + u) * THREADS;
      const int r = e / D, c = e % D;
      const long long row = r0 + r;
      v[u] = (c0 + u < PER && e < N && row < nrows && c < ncols)
                 ? src[row * rs + c * cs]
                 : 0.0f;
    }
#pragma unroll
    for (int u = 0; u < CH; ++u) {
      const int e = tid + (c0 + u) * THREADS;
      if (c0 + u < PER && e < N)
        dst[(e % D) * ld + e / D] = toHalf<T>(v[u]);
    }
  }
}

/// Stages a key tile: K [BN][ld] as rows and V transposed (V^T [D][ldv]),
/// both rounded to T. When both views have unit column stride and 16-byte
/// aligned rows, each thread issues its float4 loads of K and of V (up to
/// 8 of each) before any store: one memory latency per tile, not two.
template <typename T, int BN, int D, int THREADS>
__device__ __forceinline__ void stageKV(T *Ks, int ldk, T *Vt, int ldv,
                                        const float *kb, const float *vb,
                                        long long j0, const GpuAttnArgs &a,
                                        int tid) {
  const bool vec =
      a.ks[3] == 1 && a.ks[2] % 4 == 0 && a.d % 4 == 0 &&
      (reinterpret_cast<unsigned long long>(kb) & 15) == 0 && a.vs[3] == 1 &&
      a.vs[2] % 4 == 0 && a.dv % 4 == 0 &&
      (reinterpret_cast<unsigned long long>(vb) & 15) == 0;
  if (!vec) {
    stageTile<T, BN, D, THREADS>(Ks, ldk, kb, j0, a.t, a.ks[2], a.ks[3], a.d,
                                 tid);
    stageTileT<T, BN, D, THREADS>(Vt, ldv, vb, j0, a.t, a.vs[2], a.vs[3],
                                  a.dv, tid);
    return;
  }
  constexpr int N4 = BN * D / 4, D4 = D / 4;
  constexpr int PER4 = (N4 + THREADS - 1) / THREADS;
  constexpr int CH4 = PER4 < 8 ? PER4 : 8;
#pragma unroll 1
  for (int c0 = 0; c0 < PER4; c0 += CH4) {
    float4 kv[CH4], vv[CH4];
#pragma unroll
    for (int u = 0; u < CH4; ++u) {
      const int e = tid + (c0 + u) * THREADS;
      const int r = e / D4, c = (e % D4) * 4;
      const long long j = j0 + r;
      const bool in = c0 + u < PER4 && e < N4 && j < a.t;
      const float4 z = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      kv[u] = in && c < a.d
                  ? *reinterpret_cast<const float4 *>(kb + j * a.ks[2] + c)
                  : z;
      vv[u] = in && c < a.dv
                  ? *reinterpret_cast<const float4 *>(vb + j * a.vs[2] + c)
                  : z;
    }
#pragma unroll
    for (int u = 0; u < CH4; ++u) {
      const int e = tid + (c0 + u) * THREADS;
      if (c0 + u < PER4 && e < N4) {
        const int r = e / D4, c = (e % D4) * 4;
        store4<T>(Ks + r * ldk + c, kv[u]);
        Vt[(c + 0) * ldv + r] = toHalf<T>(vv[u].x);
        Vt[(c + 1) * ldv + r] = toHalf<T>(vv[u].y);
        Vt[(c + 2) * ldv + r] = toHalf<T>(vv[u].z);
        Vt[(c + 3) * ldv + r] = toHalf<T>(vv[u].w);
      }
    }
  }
}

/// The FlashAttention-2 arrangement: a warp owns 16 query rows; S = Q K^T
/// (16 x 64 per key tile) stays in the mma accumulators (each thread holds
/// rows g and g + 8, columns 8 n + 2q, 2q + 1), the softmax runs on them
/// with the row's max and sum reduced over the quad (lanes 4g..4g+3), and
/// the probabilities rounded to T are, fragment for fragment, the A operand
/// of O += P V (O in registers too). Shared memory holds only Q, K and V^T.
template <typename T, int D, int W>
__device__ __forceinline__ void attnMma(const GpuAttnArgs &a) {
  using tfcrt::cuda::kMmaKeys;
  constexpr int BM = 16 * W, BN = kMmaKeys, NB = BN / 8, NO = D / 8;
  constexpr int LDQ = tfcrt::cuda::mmaLdq(D), LDV = tfcrt::cuda::kMmaLdv;
  static_assert(D % 16 == 0 && BN % 16 == 0, "tile shapes");
  extern __shared__ __align__(128) unsigned char smem[];
  T *Qs = reinterpret_cast<T *>(smem);
  T *Ks = Qs + BM * LDQ;
  T *Vt = Ks + BN * LDQ; // [D][LDV]

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int g = lane >> 2, qd = lane & 3;
  const long long bi = blockIdx.z, h = blockIdx.y;
  const long long i0 = (long long)blockIdx.x * BM;
  const long long kvh = h / (a.hq / a.hkv);
  const long long off = a.t - a.s;

  const float *qb = a.q + bi * a.qs[0] + h * a.qs[1];
  stageTile<T, BM, D, 32 * W>(Qs, LDQ, qb, i0, a.s, a.qs[2], a.qs[3], a.d,
                              tid);
  __syncthreads();
  // The warp's Q as A fragments, for the whole key loop.
  unsigned qa[D / 16][4];
  {
    const T *q0 = Qs + (warp * 16 + g) * LDQ + 2 * qd;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      qa[kk][0] = *reinterpret_cast<const unsigned *>(q0 + kk * 16);
      qa[kk][1] = *reinterpret_cast<const unsigned *>(q0 + 8 * LDQ + kk * 16);
      qa[kk][2] = *reinterpret_cast<const unsigned *>(q0 + kk * 16 + 8);
      qa[kk][3] =
          *reinterpret_cast<const unsigned *>(q0 + 8 * LDQ + kk * 16 + 8);
    }
  }
  // This thread's two rows: g and g + 8 of the warp.
  long long iRow[2], p[2];
  bool rowOk[2];
  const float *addRow[2];
  const unsigned char *keepRow[2];
#pragma unroll
  for (int x = 0; x < 2; ++x) {
    iRow[x] = i0 + warp * 16 + g + 8 * x;
    rowOk[x] = iRow[x] < a.s;
    p[x] = iRow[x] + off;
    addRow[x] = a.add ? a.add + bi * a.addS[0] + h * a.addS[1] +
                            iRow[x] * a.addS[2]
                      : nullptr;
    keepRow[x] = a.keep ? a.keep + bi * a.keepS[0] + h * a.keepS[1] +
                              iRow[x] * a.keepS[2]
                        : nullptr;
  }
  // mask_add read as float2 (unit stride along t, 8-byte aligned rows).
  const bool addVec =
      a.add && a.addS[3] == 1 && a.addS[2] % 2 == 0 && a.addS[1] % 2 == 0 &&
      a.addS[0] % 2 == 0 &&
      (reinterpret_cast<unsigned long long>(a.add) & 7) == 0;
  float o[NO][4];
#pragma unroll
  for (int n = 0; n < NO; ++n)
    o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
  float m[2] = {-CUDART_INF_F, -CUDART_INF_F}, l[2] = {0.0f, 0.0f};

  const long long iLast = (i0 + BM < a.s ? i0 + BM : a.s) - 1;
  const long long p0 = i0 + off, p1 = iLast + off;
  const float *kb = a.k + bi * a.ks[0] + kvh * a.ks[1];
  const float *vb = a.v + bi * a.vs[0] + kvh * a.vs[1];
  long long jEnd = a.t;
  if (a.causal && p1 + 1 < jEnd)
    jEnd = p1 + 1 > 0 ? p1 + 1 : 0;
  for (long long j0 = 0; j0 < jEnd; j0 += BN) {
    const long long j1 = (j0 + BN < a.t ? j0 + BN : a.t) - 1;
    if (tileEmpty(a, p0, p1, j0, j1))
      continue;
    __syncthreads(); // the previous tile's K and V^T are read
    stageKV<T, BN, D, 32 * W>(Ks, LDQ, Vt, LDV, kb, vb, j0, a, tid);
    __syncthreads();

    // S = Q K^T: NB blocks of 8 keys; b fragments straight from K's rows.
    float sc[NB][4];
#pragma unroll
    for (int n = 0; n < NB; ++n) {
      sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.0f;
      const T *k0 = Ks + (n * 8 + g) * LDQ + 2 * qd;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk)
        mma16816<T>(sc[n], qa[kk],
                    *reinterpret_cast<const unsigned *>(k0 + kk * 16),
                    *reinterpret_cast<const unsigned *>(k0 + kk * 16 + 8));
    }

    // Scale, mask, structure; the rows' max over the quad.
    const bool inside = j0 + BN <= a.t;
    const bool full = inside && !a.keep && tileFull(a, p0, p1, j0, j1);
    float tmax[2] = {-CUDART_INF_F, -CUDART_INF_F};
#pragma unroll
    for (int n = 0; n < NB; ++n) {
      const long long j = j0 + n * 8 + 2 * qd;
#pragma unroll
      for (int x = 0; x < 2; ++x) {
        float2 madd = make_float2(0.0f, 0.0f);
        if (addRow[x]) {
          if (addVec && inside) {
            madd = *reinterpret_cast<const float2 *>(addRow[x] + j);
          } else {
            madd.x = j < a.t ? addRow[x][j * a.addS[3]] : 0.0f;
            madd.y = j + 1 < a.t ? addRow[x][(j + 1) * a.addS[3]] : 0.0f;
          }
        }
        float v0 = fmaf(sc[n][2 * x], a.scale, madd.x);
        float v1 = fmaf(sc[n][2 * x + 1], a.scale, madd.y);
        if (!rowOk[x]) {
          v0 = v1 = -CUDART_INF_F;
        } else if (!full) {
          if (!(j < a.t && sees(a, keepRow[x], p[x], j)))
            v0 = -CUDART_INF_F;
          if (!(j + 1 < a.t && sees(a, keepRow[x], p[x], j + 1)))
            v1 = -CUDART_INF_F;
        }
        sc[n][2 * x] = v0;
        sc[n][2 * x + 1] = v1;
        tmax[x] = fmaxf(tmax[x], fmaxf(v0, v1));
      }
    }
    float alpha[2], mNew[2];
#pragma unroll
    for (int x = 0; x < 2; ++x) {
      tmax[x] = fmaxf(tmax[x], __shfl_xor_sync(0xffffffffu, tmax[x], 1));
      tmax[x] = fmaxf(tmax[x], __shfl_xor_sync(0xffffffffu, tmax[x], 2));
      mNew[x] = fmaxf(m[x], tmax[x]);
      // Nothing seen yet: keep the accumulators (0) and weigh nothing.
      alpha[x] = mNew[x] == -CUDART_INF_F ? 1.0f : __expf(m[x] - mNew[x]);
      m[x] = mNew[x];
      l[x] *= alpha[x];
    }
#pragma unroll
    for (int n = 0; n < NB; ++n)
#pragma unroll
      for (int x = 0; x < 2; ++x)
#pragma unroll
        for (int y = 0; y < 2; ++y) {
          const float e = mNew[x] == -CUDART_INF_F
                              ? 0.0f
                              : __expf(sc[n][2 * x + y] - mNew[x]);
          sc[n][2 * x + y] = e;
          l[x] += e; // this thread's part; the quad is summed at the end
        }
#pragma unroll
    for (int n = 0; n < NO; ++n) {
      o[n][0] *= alpha[0];
      o[n][1] *= alpha[0];
      o[n][2] *= alpha[1];
      o[n][3] *= alpha[1];
    }
    // O += P V: P's accumulators are, per 16 keys, an A fragment.
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      unsigned pa[4];
      pa[0] = pack2<T>(sc[2 * kk][0], sc[2 * kk][1]);
      pa[1] = pack2<T>(sc[2 * kk][2], sc[2 * kk][3]);
      pa[2] = pack2<T>(sc[2 * kk + 1][0], sc[2 * kk + 1][1]);
      pa[3] = pack2<T>(sc[2 * kk + 1][2], sc[2 * kk + 1][3]);
#pragma unroll
      for (int n = 0; n < NO; ++n) {
        const T *v0 = Vt + (n * 8 + g) * LDV + kk * 16 + 2 * qd;
        mma16816<T>(o[n], pa, *reinterpret_cast<const unsigned *>(v0),
                    *reinterpret_cast<const unsigned *>(v0 + 8));
      }
    }
  }
  float inv[2];
#pragma unroll
  for (int x = 0; x < 2; ++x) {
    l[x] += __shfl_xor_sync(0xffffffffu, l[x], 1);
    l[x] += __shfl_xor_sync(0xffffffffu, l[x], 2);
    inv[x] = l[x] > 0.0f ? 1.0f / l[x] : 0.0f;
  }
#pragma unroll
  for (int x = 0; x < 2; ++x) {
    if (!rowOk[x])
      continue;
    float *op = a.out + bi * a.os[0] + h * a.os[1] + iRow[x] * a.os[2];
#pragma unroll
    for (int n = 0; n < NO; ++n) {
      const int c = n * 8 + 2 * qd;
      if (c < a.dv)
        op[c * a.os[3]] = o[n][2 * x] * inv[x];
      if (c + 1 < a.dv)
        op[(c + 1) * a.os[3]] = o[n][2 * x + 1] * inv[x];
    }
  }
}

} // namespace

#define TFC_ATTN_SIMT(D)                                                       \
  extern "C" __global__ void __launch_bounds__(                               \
      tfcrt::cuda::kSimtRows * tfcrt::cuda::kSimtSplit)                        \
      tfc_attn_simt_##D(GpuAttnArgs a) {                                       \
    attnSimt<D>(a);                                                            \
  }
#define TFC_ATTN_TILE(D)                                                       \
  extern "C" __global__ void __launch_bounds__(256, 2)                         \
      tfc_attn_tile_##D(GpuAttnArgs a) {                                       \
    attnTile<D>(a);                                                            \
  }
TFC_ATTN_TILE(16)
TFC_ATTN_TILE(32)
TFC_ATTN_TILE(64)
TFC_ATTN_TILE(128)

TFC_ATTN_SIMT(16)
TFC_ATTN_SIMT(32)
TFC_ATTN_SIMT(64)
TFC_ATTN_SIMT(128)
TFC_ATTN_SIMT(256)

#define TFC_ATTN_MMA(NAME, T, D, W)                                            \
  extern "C" __global__ void __launch_bounds__(32 * W)                         \
      tfc_attn_mma_##NAME##_##D##_w##W(GpuAttnArgs a) {                        \
    attnMma<T, D, W>(a);                                                       \
  }
#define TFC_ATTN_MMA_W(NAME, T, D) TFC_ATTN_MMA(NAME, T, D, 4)
TFC_ATTN_MMA_W(f16, __half, 32)
TFC_ATTN_MMA_W(f16, __half, 64)
TFC_ATTN_MMA_W(f16, __half, 128)
TFC_ATTN_MMA_W(bf16, __nv_bfloat16, 32)
TFC_ATTN_MMA_W(bf16, __nv_bfloat16, 64)
TFC_ATTN_MMA_W(bf16, __nv_bfloat16, 128)
