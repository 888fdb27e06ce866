//===- AttentionDevice.cuh - device helpers of the fused attention -----===//
//
// Included by AttentionKernels.cu only (one nvcc translation unit): the
// structure tests (which keys a query position sees, whole tiles skipped or
// taken without checks), the half conversions and the tile staging from
// the f32 activations into shared memory.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_ATTENTIONDEVICE_CUH
#define TFC_LIB_RUNTIME_CUDA_ATTENTIONDEVICE_CUH

#include "GpuAttention.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math_constants.h>

namespace tfcrt::cuda::attn_device {


__device__ __forceinline__ long long floorDiv(long long a, long long b) {
  long long q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/// structVisible's block-local and block-layout tests, out of line: their
/// 64-bit divisions, inlined for each score of a tile, were a large part of
/// the tensor-core kernels' 160-210 KB of code (docs/PERFORMANCE.md: the
/// kernels stall on instruction fetch), for patterns few calls use.
__device__ __noinline__ bool
blockVisible(long long block, const unsigned char *layout,
             long long layoutBlock, long long layoutS0, long long layoutS1,
             long long p, long long j) {
  if (block > 0) {
    const long long start = (j / block) * block;
    if (p < start || p > start + block - 1)
      return false;
  }
  if (layout) {
    if (p < 0)
      return false;
    if (!layout[(p / layoutBlock) * layoutS0 + (j / layoutBlock) * layoutS1])
      return false;
  }
  return true;
}

/// Whether the query at position p sees key j structurally.
__device__ __forceinline__ bool structVisible(const GpuAttnArgs &a,
                                              long long p, long long j) {
  if (a.causal && j > p)
    return false;
  if (a.window > 0 && j >= a.sinks && p > j + a.window - 1)
    return false;
  if (a.block > 0 || a.layout)
    return blockVisible(a.block, a.layout, a.layoutBlock, a.layoutS[0],
                        a.layoutS[1], p, j);
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

/// Stores output element idx (in elements from a.out) in the call's output
/// type, rounded to nearest even: the bits tfc-to-linalg's truncf of an f32
/// result would give (tfc-gpu-attention-half-out).
__device__ __forceinline__ void storeOut(const GpuAttnArgs &a, long long idx,
                                         float v) {
  if (a.outType == 2)
    reinterpret_cast<__nv_bfloat16 *>(a.out)[idx] = __float2bfloat16_rn(v);
  else if (a.outType == 1)
    reinterpret_cast<__half *>(a.out)[idx] = __float2half_rn(v);
  else
    a.out[idx] = v;
}

/// The rotary's x cos + h sin (GpuAttnArgs::rope; h the rotate-half
/// partner), each product rounded on its own as the host version computes
/// it (GpuAttention.cpp): no fused multiply-add, so that a cache row the
/// GPU writes is the one the emulation writes.
__device__ __forceinline__ float ropeElem(float x, float h, float c, float s) {
  return __fadd_rn(__fmul_rn(x, c), __fmul_rn(h, s));
}

/// Column c of row i of a rope call's query or new key, rotated: `row` is
/// the row's first element, cs its column stride, bi / head the batch
/// item and head that index cos / sin.
__device__ __forceinline__ float ropeAt(const GpuAttnArgs &a, const float *row,
                                        long long cs, long long bi,
                                        long long head, long long i,
                                        long long c) {
  const long long half = a.d / 2;
  const bool lo = c < half;
  const float x = row[c * cs], y = row[(lo ? c + half : c - half) * cs];
  const float cv =
      a.cos[bi * a.cosS[0] + head * a.cosS[1] + i * a.cosS[2] + c * a.cosS[3]];
  const float sv =
      a.sin[bi * a.sinS[0] + head * a.sinS[1] + i * a.sinS[2] + c * a.sinS[3]];
  return ropeElem(x, lo ? -y : y, cv, sv);
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
/// 16) issued before its stores. Not inlined: inlined, its
/// loop-invariant addresses were hoisted out of the kernels' tile loops and
/// spilled (the vector path below is the one the exporters' layouts take).
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

} // namespace tfcrt::cuda::attn_device

#endif // TFC_LIB_RUNTIME_CUDA_ATTENTIONDEVICE_CUH
