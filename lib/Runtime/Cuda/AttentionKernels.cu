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
// skipped without loading it; inside a tile every (row, key) pair is checked
// against the structure and mask_keep, and mask_add is added to the score.
//
//   tfc_attn_simt_<D>      f32 (the --precision=f32 path): 4 threads per
//                          query row, each with a quarter of q and of the
//                          accumulator in registers (the dot products summed
//                          by warp shuffles), K / V tiles in shared memory.
//   tfc_attn_mma_<T>_<D>_w<W>  f16 / bf16 tensor cores (WMMA 16x16x16, f32
//                          accumulation): W warps a block (1 when there are
//                          too few blocks of 4 to fill the GPU), a warp per
//                          16 query rows; S = Q K^T
//                          to shared memory, the softmax by lane pairs (one
//                          row each), P rounded to T, O += P V with O in
//                          shared memory (rescaled there between tiles).
//
//===----------------------------------------------------------------------===//

#include "GpuAttention.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math_constants.h>
#include <mma.h>

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

//===-- f16 / bf16 tensor cores: a warp per 16 query rows -----------------===//

template <typename T, int D, int W>
__device__ __forceinline__ void attnMma(const GpuAttnArgs &a) {
  using namespace nvcuda;
  using tfcrt::cuda::kMmaKeys;
  using tfcrt::cuda::kMmaLdp;
  using tfcrt::cuda::kMmaLds;
  constexpr int BM = 16 * W, BN = kMmaKeys;
  constexpr int LDQ = tfcrt::cuda::mmaLdq(D), LDS = kMmaLds, LDP = kMmaLdp;
  constexpr int LDO = tfcrt::cuda::mmaLdo(D);
  static_assert(D % 16 == 0 && BN % 16 == 0 && BM == 16 * W, "tile shapes");
  extern __shared__ __align__(128) unsigned char smem[];
  T *Qs = reinterpret_cast<T *>(smem);
  T *Ks = Qs + BM * LDQ;
  T *Vs = Ks + BN * LDQ;
  float *Sall = reinterpret_cast<float *>(Vs + BN * LDQ);
  T *Pall = reinterpret_cast<T *>(Sall + W * 16 * LDS);
  float *Oall = reinterpret_cast<float *>(Pall + W * 16 * LDP);

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const long long bi = blockIdx.z, h = blockIdx.y;
  const long long i0 = (long long)blockIdx.x * BM;
  const long long g = h / (a.hq / a.hkv);
  const long long off = a.t - a.s;
  float *Sw = Sall + warp * 16 * LDS;
  T *Pw = Pall + warp * 16 * LDP;
  float *Ow = Oall + warp * 16 * LDO;

  // Q tile (rounded to T), the warp's accumulator zeroed.
  const float *qb = a.q + bi * a.qs[0] + h * a.qs[1];
  stageTile<T, BM, D, 32 * W>(Qs, LDQ, qb, i0, a.s, a.qs[2], a.qs[3], a.d,
                              tid);
  for (int e = lane; e < 16 * D; e += 32)
    Ow[(e / D) * LDO + e % D] = 0.0f;

  // Lanes r and r + 16 own row r of the warp, columns [half * BN / 2,
  // (half + 1) * BN / 2) of a tile (lanes 0-7 then read S rows 0-7: no
  // shared-memory bank conflicts with LDS = BN + 4).
  const int r = lane & 15, half = lane >> 4;
  const int cb = half * (BN / 2);
  const long long iRow = i0 + warp * 16 + r;
  const bool rowOk = iRow < a.s;
  const long long p = iRow + off;
  const float *addRow =
      a.add ? a.add + bi * a.addS[0] + h * a.addS[1] + iRow * a.addS[2]
            : nullptr;
  const unsigned char *keepRow =
      a.keep ? a.keep + bi * a.keepS[0] + h * a.keepS[1] + iRow * a.keepS[2]
             : nullptr;
  // mask_add rows read as float4 (unit stride along t, 16-byte aligned).
  const bool addVec =
      a.add && a.addS[3] == 1 && a.addS[2] % 4 == 0 && a.addS[1] % 4 == 0 &&
      a.addS[0] % 4 == 0 &&
      (reinterpret_cast<unsigned long long>(a.add) & 15) == 0;
  float m = -CUDART_INF_F, l = 0.0f;

  const long long iLast = (i0 + BM < a.s ? i0 + BM : a.s) - 1;
  const long long p0 = i0 + off, p1 = iLast + off;
  const float *kb = a.k + bi * a.ks[0] + g * a.ks[1];
  const float *vb = a.v + bi * a.vs[0] + g * a.vs[1];
  long long jEnd = a.t;
  if (a.causal && p1 + 1 < jEnd)
    jEnd = p1 + 1 > 0 ? p1 + 1 : 0;
  for (long long j0 = 0; j0 < jEnd; j0 += BN) {
    const long long j1 = (j0 + BN < a.t ? j0 + BN : a.t) - 1;
    if (tileEmpty(a, p0, p1, j0, j1))
      continue;
    __syncthreads(); // Q stored / the previous tile's K and V read
    stageTile<T, BN, D, 32 * W>(Ks, LDQ, kb, j0, a.t, a.ks[2], a.ks[3], a.d,
                                tid);
    stageTile<T, BN, D, 32 * W>(Vs, LDQ, vb, j0, a.t, a.vs[2], a.vs[3], a.dv,
                                tid);
    __syncthreads();

    // S = Q_w K^T (16 x BN), f32.
#pragma unroll
    for (int n = 0; n < BN / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> sf;
      wmma::fill_fragment(sf, 0.0f);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> af;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> bf;
        wmma::load_matrix_sync(af, Qs + warp * 16 * LDQ + kk * 16, LDQ);
        wmma::load_matrix_sync(bf, Ks + n * 16 * LDQ + kk * 16, LDQ);
        wmma::mma_sync(sf, af, bf, sf);
      }
      wmma::store_matrix_sync(Sw + n * 16, sf, LDS, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax of row r over the lane's BN / 2 columns, in two
    // passes of float4 (the max, then exp and sum) so that the scores stay
    // in shared memory, not registers. A tile inside t that every row sees
    // structurally (and no mask_keep) skips the per-element checks; the
    // first pass writes the masked scores back to S (-inf: not seen).
    const bool inside = j0 + BN <= a.t;
    const bool full = inside && !a.keep && tileFull(a, p0, p1, j0, j1);
    float *srow = Sw + r * LDS + cb;
    float tmax = -CUDART_INF_F;
#pragma unroll
    for (int k = 0; k < BN / 8; ++k) {
      float4 v = *reinterpret_cast<const float4 *>(srow + 4 * k);
      float4 madd = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      const long long jb = j0 + cb + 4 * k;
      if (addRow) {
        if (addVec && inside) {
          madd = *reinterpret_cast<const float4 *>(addRow + jb);
        } else {
          madd.x = jb < a.t ? addRow[jb * a.addS[3]] : 0.0f;
          madd.y = jb + 1 < a.t ? addRow[(jb + 1) * a.addS[3]] : 0.0f;
          madd.z = jb + 2 < a.t ? addRow[(jb + 2) * a.addS[3]] : 0.0f;
          madd.w = jb + 3 < a.t ? addRow[(jb + 3) * a.addS[3]] : 0.0f;
        }
      }
      v.x = fmaf(v.x, a.scale, madd.x);
      v.y = fmaf(v.y, a.scale, madd.y);
      v.z = fmaf(v.z, a.scale, madd.z);
      v.w = fmaf(v.w, a.scale, madd.w);
      if (!rowOk) {
        v = make_float4(-CUDART_INF_F, -CUDART_INF_F, -CUDART_INF_F,
                        -CUDART_INF_F);
      } else if (!full) {
        if (!(jb < a.t && sees(a, keepRow, p, jb)))
          v.x = -CUDART_INF_F;
        if (!(jb + 1 < a.t && sees(a, keepRow, p, jb + 1)))
          v.y = -CUDART_INF_F;
        if (!(jb + 2 < a.t && sees(a, keepRow, p, jb + 2)))
          v.z = -CUDART_INF_F;
        if (!(jb + 3 < a.t && sees(a, keepRow, p, jb + 3)))
          v.w = -CUDART_INF_F;
      }
      *reinterpret_cast<float4 *>(srow + 4 * k) = v;
      tmax = fmaxf(tmax, fmaxf(fmaxf(v.x, v.y), fmaxf(v.z, v.w)));
    }
    tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 16));
    const float mNew = fmaxf(m, tmax);
    float alpha = 1.0f, sum = 0.0f;
    T *prow = Pw + r * LDP + cb;
    if (mNew != -CUDART_INF_F) {
      alpha = __expf(m - mNew);
#pragma unroll
      for (int k = 0; k < BN / 8; ++k) {
        const float4 v = *reinterpret_cast<const float4 *>(srow + 4 * k);
        float4 e;
        e.x = __expf(v.x - mNew);
        e.y = __expf(v.y - mNew);
        e.z = __expf(v.z - mNew);
        e.w = __expf(v.w - mNew);
        sum += (e.x + e.y) + (e.z + e.w);
        store4<T>(prow + 4 * k, e);
      }
    } else {
#pragma unroll
      for (int k = 0; k < BN / 8; ++k)
        store4<T>(prow + 4 * k, make_float4(0.0f, 0.0f, 0.0f, 0.0f));
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 16);
    l = l * alpha + sum;
    m = mNew;
    if (alpha != 1.0f) {
      float *orow = Ow + r * LDO + half * (D / 2);
#pragma unroll
      for (int k = 0; k < D / 8; ++k) {
        float4 o = *reinterpret_cast<float4 *>(orow + 4 * k);
        o.x *= alpha;
        o.y *= alpha;
        o.z *= alpha;
        o.w *= alpha;
        *reinterpret_cast<float4 *>(orow + 4 * k) = o;
      }
    }
    __syncwarp();

    // O_w += P_w V (16 x D), f32 in shared memory.
#pragma unroll
    for (int n = 0; n < D / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> of;
      wmma::load_matrix_sync(of, Ow + n * 16, LDO, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < BN / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> pf;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> vf;
        wmma::load_matrix_sync(pf, Pw + kk * 16, LDP);
        wmma::load_matrix_sync(vf, Vs + kk * 16 * LDQ + n * 16, LDQ);
        wmma::mma_sync(of, pf, vf, of);
      }
      wmma::store_matrix_sync(Ow + n * 16, of, LDO, wmma::mem_row_major);
    }
    __syncwarp();
  }
  __syncwarp();
  if (!rowOk)
    return;
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  float *op = a.out + bi * a.os[0] + h * a.os[1] + iRow * a.os[2];
  for (int c = half * (D / 2); c < (half + 1) * (D / 2) && c < a.dv; ++c)
    op[c * a.os[3]] = Ow[r * LDO + c] * inv;
}

} // namespace

#define TFC_ATTN_SIMT(D)                                                       \
  extern "C" __global__ void __launch_bounds__(                               \
      tfcrt::cuda::kSimtRows * tfcrt::cuda::kSimtSplit)                        \
      tfc_attn_simt_##D(GpuAttnArgs a) {                                       \
    attnSimt<D>(a);                                                            \
  }
TFC_ATTN_SIMT(16)
TFC_ATTN_SIMT(32)
TFC_ATTN_SIMT(64)
TFC_ATTN_SIMT(128)
TFC_ATTN_SIMT(256)

#define TFC_ATTN_MMA(NAME, T, D, W)                                            \
  extern "C" __global__ void __launch_bounds__(32 * W, W == 4 ? 4 : 16)      \
      tfc_attn_mma_##NAME##_##D##_w##W(GpuAttnArgs a) {                        \
    attnMma<T, D, W>(a);                                                       \
  }
#define TFC_ATTN_MMA_W(NAME, T, D)                                             \
  TFC_ATTN_MMA(NAME, T, D, 1)                                                  \
  TFC_ATTN_MMA(NAME, T, D, 4)
TFC_ATTN_MMA_W(f16, __half, 32)
TFC_ATTN_MMA_W(f16, __half, 64)
TFC_ATTN_MMA_W(f16, __half, 128)
TFC_ATTN_MMA_W(bf16, __nv_bfloat16, 32)
TFC_ATTN_MMA_W(bf16, __nv_bfloat16, 64)
TFC_ATTN_MMA_W(bf16, __nv_bfloat16, 128)
