//===- AttentionDecode.cuh - the fused attention for a few query rows ---===//
//
// Included by AttentionKernels.cu only: attnDecode, the kernel for calls
// with at most kDecMaxS query rows (decode steps, short chunks) over any
// number of keys (flash-decoding): the keys are split over blocks, each
// block runs the online softmax over its share and leaves a partial (row
// max, sum and unnormalized output) in the scratch buffer, and the last
// block of a (batch item, kv head, row group) to finish merges them (an
// atomic counter per group, reset by that block; no second launch). Where
// the splits are at most kDecClusterMax, the launcher makes them one thread
// block cluster and they merge through distributed shared memory instead
// (GpuAttnArgs::cmerge): no partial travels through L2, no fence, no atomic.
//
// A block takes R rows of one kv head's group: GQA's query heads of that
// kv head times the query rows, so each key is loaded once for every head
// that shares it. 4 warps walk the block's keys in tiles of 32, one key
// per lane: the lane loads its key's row (float4), scores it against the
// R rows of q in shared memory and prefetches its value row into L1; the
// warp's online softmax per row needs one max reduction per tile; then
// O += P V runs key by key with the probability broadcast from its lane
// and each lane owning DK / 32 output columns. Keys nobody sees (the
// structure, mask_keep: a decode step's mask over the whole cache) are not
// loaded, and a tile with none visible costs one ballot.
//
// All products and the softmax are f32. In the half modes q, k and v are
// rounded to the half type as they are loaded, like the tensor-core
// kernel's inputs (the probabilities are not rounded).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_ATTENTIONDECODE_CUH
#define TFC_LIB_RUNTIME_CUDA_ATTENTIONDECODE_CUH

#include "AttentionDevice.cuh"

#include <cooperative_groups.h>
#include <type_traits>

namespace tfcrt::cuda::attn_device {

/// x rounded to the half type of `mode` (GpuAttnArgs::round), as f32.
__device__ __forceinline__ float roundMode(float x, int mode) {
  if (mode == 1)
    return __half2float(__float2half_rn(x));
  if (mode == 2)
    return __bfloat162float(__float2bfloat16_rn(x));
  return x;
}

__device__ __forceinline__ float warpMax(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

__device__ __forceinline__ float warpSum(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

/// A += f * x, column by column (a partial's float4 of outputs weighed
/// into a merge).
__device__ __forceinline__ void fma4(float4 &A, float4 x, float f) {
  A.x = fmaf(x.x, f, A.x), A.y = fmaf(x.y, f, A.y);
  A.z = fmaf(x.z, f, A.z), A.w = fmaf(x.w, f, A.w);
}

/// e^(m - mmax) as the weight of a partial with row max m (0 when the
/// partial saw nothing).
__device__ __forceinline__ float partWeight(float m, float mmax) {
  return m == -CUDART_INF_F ? 0.0f : __expf(m - mmax);
}

/// The end of a decode block (both kernels): the kDecWarps partials in
/// shared memory (each warp's row max wm, sum wl and unnormalized output
/// wacc) merged into the output (one split) or into the block's partial in
/// the scratch; then the last block of the (item, kv head, row group) to
/// arrive merges the splits' partials into the output. outIdx(r, c): the
/// output element of the block's row r, column c. Every thread calls it.
///
/// a.cmerge (the splits of a slot are one cluster along x, at most
/// kDecClusterMax blocks): each block leaves its partial in its own shared
/// memory (the output sums over wacc[0], the max and sum in bm / bl), and
/// after a cluster barrier block rank 0 reads every block's through
/// distributed shared memory and writes the output; a second barrier keeps
/// the other blocks (and their shared memory) until it has read them. The
/// global merge costs a partial's store, a release fence, the arrival
/// atomic and two dependent loads of the partials from L2, each a memory
/// round trip on the decode step's critical path.
///
/// The weights e^(m - max) are worked out once per (warp, row) and once per
/// (split, row), in shared memory, and the sums run over float4 columns:
/// the last block's merge with a weight per element cost ~1,600
/// instructions a warp, as much as the rest of the lane-group kernel
/// (Nsight Compute's source counters; docs/PERFORMANCE.md).
template <int R, int DK, typename OutIdx>
__device__ __forceinline__ void
decodeFinish(const GpuAttnArgs &a, const float (&wm)[tfcrt::cuda::kDecWarps][R],
             const float (&wl)[tfcrt::cuda::kDecWarps][R],
             float (&wacc)[tfcrt::cuda::kDecWarps][R][DK],
             int &lastBlock, long long bi, long long kvh, long long rg,
             long long split, int nr, OutIdx outIdx) {
  constexpr int W = tfcrt::cuda::kDecWarps;
  constexpr int PART = tfcrt::cuda::decPartFloats(R, DK);
  constexpr int C4 = DK / 4; // float4 columns of a row
  static_assert(PART % 4 == 0 && DK % 4 == 0, "float4 partials");
  __shared__ float fw[W][R], bm[R], bl[R], cl[R];
  __shared__ float sw[R][tfcrt::cuda::kDecMaxSplits];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  // The block's rows: their max, each warp's weight and the sum.
  if (tid < R) {
    float M = -CUDART_INF_F, L = 0.0f;
#pragma unroll
    for (int w = 0; w < W; ++w)
      M = fmaxf(M, wm[w][tid]);
#pragma unroll
    for (int w = 0; w < W; ++w) {
      const float f = partWeight(wm[w][tid], M);
      fw[w][tid] = f;
      L = fmaf(wl[w][tid], f, L);
    }
    bm[tid] = M;
    bl[tid] = L;
  }
  __syncthreads();
  // Row r's output (or partial) for columns c .. c + 3.
  auto store4 = [&](int r, int c, float4 A, float L) {
    const float x[4] = {A.x, A.y, A.z, A.w};
#pragma unroll
    for (int i = 0; i < 4; ++i)
      if (c + i < a.dv)
        storeOut(a, outIdx(r, c + i), L > 0.0f ? x[i] / L : 0.0f);
  };
  const long long slot = (bi * a.hkv + kvh) * a.rowGroups + rg;
  const bool cmerge = a.cmerge && a.splits > 1;
  float *part = a.splits > 1 && !cmerge
                    ? a.part + (slot * a.splits + split) * PART
                    : nullptr;
  for (int e = tid; e < R * C4; e += 32 * W) {
    const int r = e / C4, c = (e % C4) * 4;
    float4 A = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
    for (int w = 0; w < W; ++w) {
      fma4(A, *reinterpret_cast<const float4 *>(&wacc[w][r][c]), fw[w][r]);
    }
    if (cmerge) {
      // In place: this thread alone read wacc[.][r][c .. c + 3].
      *reinterpret_cast<float4 *>(&wacc[0][r][c]) = A;
    } else if (!part) {
      if (r < nr)
        store4(r, c, A, bl[r]);
    } else {
      *reinterpret_cast<float4 *>(part + r * DK + c) = A;
    }
  }
  if (cmerge) {
    namespace cg = cooperative_groups;
    cg::cluster_group cluster = cg::this_cluster();
    cluster.sync(); // every block's partial is in its shared memory
    if (cluster.block_rank() == 0) {
      const int S = static_cast<int>(a.splits); // <= kDecClusterMax < 32
      for (int r = warp; r < R; r += W) {
        const float ms = lane < S ? *cluster.map_shared_rank(&bm[r], lane)
                                  : -CUDART_INF_F;
        const float ls =
            lane < S ? *cluster.map_shared_rank(&bl[r], lane) : 0.0f;
        const float f = partWeight(ms, warpMax(ms));
        if (lane < S)
          sw[r][lane] = f;
        const float L = warpSum(ls * f);
        if (lane == 0)
          cl[r] = L;
      }
      __syncthreads();
      for (int e = tid; e < R * C4; e += 32 * W) {
        const int r = e / C4, c = (e % C4) * 4;
        if (r >= nr)
          continue;
        float4 x[tfcrt::cuda::kDecClusterMax];
#pragma unroll
        for (int sp = 0; sp < tfcrt::cuda::kDecClusterMax; ++sp)
          if (sp < S)
            x[sp] = *cluster.map_shared_rank(
                reinterpret_cast<const float4 *>(&wacc[0][r][c]), sp);
        float4 A = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
        for (int sp = 0; sp < tfcrt::cuda::kDecClusterMax; ++sp)
          if (sp < S)
            fma4(A, x[sp], sw[r][sp]);
        store4(r, c, A, cl[r]);
      }
    }
    cluster.sync(); // rank 0 has read every block's shared memory
    return;
  }
  if (!part)
    return;
  if (tid < R) {
    part[R * DK + 2 * tid] = bm[tid];
    part[R * DK + 2 * tid + 1] = bl[tid];
  }
  // The last block of the slot to get here merges the splits. Thread 0
  // alone fences (CUTLASS's semaphore pattern: the barrier orders the
  // block's partial stores before its release fence and arrival, and its
  // acquire fence before the other threads' L2 loads); a fence in every
  // thread cost each warp ~670 cycles of membar stalls (Nsight Compute).
  __syncthreads();
  if (tid == 0) {
    asm volatile("fence.acq_rel.gpu;" ::: "memory");
    lastBlock = atomicAdd(a.count + slot, 1u) == a.splits - 1;
    if (lastBlock)
      asm volatile("fence.acq_rel.gpu;" ::: "memory");
  }
  __syncthreads();
  if (!lastBlock)
    return;
  const float *parts = a.part + slot * a.splits * PART;
  const int S = static_cast<int>(a.splits); // <= kDecMaxSplits (launcher)
  // A warp per row: the max over the splits, their weights, the sum.
  for (int r = warp; r < R; r += W) {
    float M = -CUDART_INF_F;
    for (int sp = lane; sp < S; sp += 32)
      M = fmaxf(M, __ldcg(parts + sp * PART + R * DK + 2 * r));
    M = warpMax(M);
    float L = 0.0f;
    for (int sp = lane; sp < S; sp += 32) {
      const float *ps = parts + sp * PART + R * DK + 2 * r;
      const float f = partWeight(__ldcg(ps), M);
      sw[r][sp] = f;
      L = fmaf(__ldcg(ps + 1), f, L);
    }
    L = warpSum(L);
    if (lane == 0)
      bl[r] = L;
  }
  __syncthreads();
  for (int e = tid; e < R * C4; e += 32 * W) {
    const int r = e / C4, c = (e % C4) * 4;
    if (r >= nr)
      continue;
    const float *pc = parts + r * DK + c;
    float4 A = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    // Eight splits' loads issued together.
    int sp = 0;
    for (; sp + 8 <= S; sp += 8) {
      float4 x[8];
#pragma unroll
      for (int u = 0; u < 8; ++u)
        x[u] = __ldcg(reinterpret_cast<const float4 *>(pc + (sp + u) * PART));
#pragma unroll
      for (int u = 0; u < 8; ++u)
        fma4(A, x[u], sw[r][sp + u]);
    }
    for (; sp < S; ++sp)
      fma4(A, __ldcg(reinterpret_cast<const float4 *>(pc + sp * PART)),
           sw[r][sp]);
    store4(r, c, A, bl[r]);
  }
  if (tid == 0)
    a.count[slot] = 0; // ready for the next call (and the graph's replay)
}

/// MODE: the half type q, k and v are rounded to (GpuAttnArgs::round: 0
/// none, 1 f16, 2 bf16), a template argument so that the rounding is
/// straight-line code in the key loops (a run-time mode there made every
/// bf16 call ~5 us slower than f32 on an H100).
template <int R, int DK, int MODE>
__device__ __forceinline__ void attnDecode(const GpuAttnArgs &a) {
  constexpr int W = tfcrt::cuda::kDecWarps, NV = DK / 32;
  static_assert(DK % 32 == 0, "columns per lane");
  __shared__ __align__(16) float qsm[R][DK];
  __shared__ float wm[W][R], wl[W][R];
  __shared__ __align__(16) float wacc[W][R][DK];
  __shared__ int lastBlock;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const long long bi = blockIdx.z;
  const long long kvh = blockIdx.y / a.rowGroups, rg = blockIdx.y % a.rowGroups;
  const long long split = blockIdx.x;
  const long long G = a.hq / a.hkv, nrows = G * a.s, r0 = rg * R;
  const int nr = static_cast<int>(nrows - r0 < R ? nrows - r0 : R);
  const long long off = a.t - a.s;

  // Row r's head and query row (head kvh * G + (r0 + r) / s, query row
  // (r0 + r) % s; rows past the last one as row 0).
  auto hOf = [&](int r) -> long long { return kvh * G + (r0 + r) / a.s; };
  auto iOf = [&](int r) -> long long { return (r0 + r) % a.s; };
  // q of the block's rows, rounded; 0 past d and past the last row.
  for (int e = tid; e < R * DK; e += 32 * W) {
    const int r = e / DK, c = e % DK;
    float x = 0.0f;
    if (r < nr && c < a.d)
      x = roundMode(a.q[bi * a.qs[0] + hOf(r) * a.qs[1] + iOf(r) * a.qs[2] +
                        c * a.qs[3]],
                    MODE);
    qsm[r][c] = x;
  }
  long long pos[R];
  const float *addRow[R];
  const unsigned char *keepRow[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int rc = r < nr ? r : 0;
    const long long h = hOf(rc), i = iOf(rc);
    pos[r] = i + off;
    addRow[r] = a.add ? a.add + bi * a.addS[0] + h * a.addS[1] + i * a.addS[2]
                      : nullptr;
    keepRow[r] = a.keep ? a.keep + bi * a.keepS[0] + h * a.keepS[1] +
                              i * a.keepS[2]
                        : nullptr;
  }
  __syncthreads();

  float m[R], l[R], acc[R][NV];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    m[r] = -CUDART_INF_F;
    l[r] = 0.0f;
#pragma unroll
    for (int v = 0; v < NV; ++v)
      acc[r][v] = 0.0f;
  }

  const long long kBeg = split * a.chunk;
  const long long kEnd = kBeg + a.chunk < a.t ? kBeg + a.chunk : a.t;
  // The query positions of every row of the call: a conservative range for
  // the structure's tile tests (the last row sits at t - 1, so causality
  // alone never shortens the range).
  const long long p0 = off, p1 = off + a.s - 1;
  const float *kb = a.k + bi * a.ks[0] + kvh * a.ks[1];
  const float *vb = a.v + bi * a.vs[0] + kvh * a.vs[1];
  const bool vecK = a.ks[3] == 1 && a.ks[2] % 4 == 0 && a.d % 4 == 0 &&
                    (reinterpret_cast<unsigned long long>(kb) & 15) == 0;
  const bool vecV = NV > 1 && a.vs[3] == 1 && a.vs[2] % NV == 0 &&
                    a.dv % NV == 0 &&
                    (reinterpret_cast<unsigned long long>(vb) &
                     (NV >= 4 ? 15 : 4 * NV - 1)) == 0;
  const int c0 = lane * NV; // this lane's output columns c0 .. c0 + NV - 1

  for (long long jb = kBeg + warp * 32; jb < kEnd; jb += 32 * W) {
    const long long jl = (jb + 31 < kEnd ? jb + 31 : kEnd - 1);
    if (tileEmpty(a, p0, p1, jb, jl))
      continue;
    const long long j = jb + lane;
    bool vis[R];
    bool any = false;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      vis[r] = r < nr && j < kEnd && sees(a, keepRow[r], pos[r], j);
      any |= vis[r];
    }
    const unsigned live = __ballot_sync(0xffffffffu, any);
    if (!live)
      continue;
    float sc[R];
#pragma unroll
    for (int r = 0; r < R; ++r)
      sc[r] = 0.0f;
    if (any) {
      const float *vr = vb + j * a.vs[2];
#pragma unroll
      for (int c = 0; c < DK; c += 32)
        if (c < a.dv)
          asm volatile("prefetch.global.L1 [%0];" ::"l"(
              __cvta_generic_to_global(vr + c * a.vs[3])));
      const float *kr = kb + j * a.ks[2];
      if (vecK) {
#pragma unroll
        for (int c = 0; c < DK; c += 4) {
          if (c < a.d) {
            float4 kv = *reinterpret_cast<const float4 *>(kr + c);
            kv.x = roundMode(kv.x, MODE);
            kv.y = roundMode(kv.y, MODE);
            kv.z = roundMode(kv.z, MODE);
            kv.w = roundMode(kv.w, MODE);
#pragma unroll
            for (int r = 0; r < R; ++r) {
              const float4 qv = *reinterpret_cast<const float4 *>(&qsm[r][c]);
              sc[r] = fmaf(qv.x, kv.x, sc[r]);
              sc[r] = fmaf(qv.y, kv.y, sc[r]);
              sc[r] = fmaf(qv.z, kv.z, sc[r]);
              sc[r] = fmaf(qv.w, kv.w, sc[r]);
            }
          }
        }
      } else {
#pragma unroll 8
        for (int c = 0; c < DK; ++c) {
          if (c < a.d) {
            const float kv = roundMode(kr[c * a.ks[3]], MODE);
#pragma unroll
            for (int r = 0; r < R; ++r)
              sc[r] = fmaf(qsm[r][c], kv, sc[r]);
          }
        }
      }
    }
    // Online softmax per row over this tile.
#pragma unroll
    for (int r = 0; r < R; ++r) {
      float s = -CUDART_INF_F;
      if (vis[r])
        s = fmaf(sc[r], a.scale, addRow[r] ? addRow[r][j * a.addS[3]] : 0.0f);
      const float mNew = fmaxf(m[r], warpMax(s));
      const float alpha =
          mNew == -CUDART_INF_F ? 1.0f : __expf(m[r] - mNew);
      m[r] = mNew;
      l[r] *= alpha;
#pragma unroll
      for (int v = 0; v < NV; ++v)
        acc[r][v] *= alpha;
      const float e = s == -CUDART_INF_F ? 0.0f : __expf(s - mNew);
      l[r] += e;
      sc[r] = e;
    }
    // O += P V, key by key; the probability comes from the key's lane.
    // Columns col .. col + N - 1 of key jj's value row, rounded (0 past
    // dv): vector loads when vec (then col < dv means all N are there),
    // else one element at a time.
    auto loadCols = [&](auto n, int jj, int col, bool vec, float *vv) {
      constexpr int N = decltype(n)::value;
      const float *vr = vb + (jb + jj) * a.vs[2];
      if (vec) {
        if (col < a.dv) {
          if constexpr (N == 2) {
            const float2 x = *reinterpret_cast<const float2 *>(vr + col);
            vv[0] = x.x, vv[1] = x.y;
          } else {
#pragma unroll
            for (int v = 0; v < N; v += 4) {
              const float4 x = *reinterpret_cast<const float4 *>(vr + col + v);
              vv[v] = x.x, vv[v + 1] = x.y, vv[v + 2] = x.z, vv[v + 3] = x.w;
            }
          }
        } else {
#pragma unroll
          for (int v = 0; v < N; ++v)
            vv[v] = 0.0f;
        }
      } else {
#pragma unroll
        for (int v = 0; v < N; ++v)
          vv[v] = col + v < a.dv ? vr[(col + v) * a.vs[3]] : 0.0f;
      }
#pragma unroll
      for (int v = 0; v < N; ++v)
        vv[v] = roundMode(vv[v], MODE);
    };
    // This lane's NV columns (vecV: dv is a multiple of NV).
    auto loadV = [&](int jj, float *vv) {
      loadCols(std::integral_constant<int, NV>(), jj, c0, vecV, vv);
    };
    if (a.fast) {
      // Eight keys at a time: their value loads issued together, then the
      // products in the same key order as below (the same sums).
      constexpr int U = 8;
#pragma unroll 1
      for (int j0 = 0; j0 < 32; j0 += U) {
        const unsigned bits = (live >> j0) & ((1u << U) - 1u);
        if (!bits)
          continue;
        float vv[U][NV];
#pragma unroll
        for (int u = 0; u < U; ++u) {
          if ((bits >> u) & 1u)
            loadV(j0 + u, vv[u]);
          else
#pragma unroll
            for (int v = 0; v < NV; ++v)
              vv[u][v] = 0.0f;
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
          if (!((bits >> u) & 1u))
            continue;
#pragma unroll
          for (int r = 0; r < R; ++r) {
            const float pj = __shfl_sync(0xffffffffu, sc[r], j0 + u);
#pragma unroll
            for (int v = 0; v < NV; ++v)
              acc[r][v] = fmaf(pj, vv[u][v], acc[r][v]);
          }
        }
      }
    } else {
#pragma unroll 8
      for (int jj = 0; jj < 32; ++jj) {
        if (!((live >> jj) & 1u))
          continue;
        float vv[NV];
        loadV(jj, vv);
#pragma unroll
        for (int r = 0; r < R; ++r) {
          const float pj = __shfl_sync(0xffffffffu, sc[r], jj);
#pragma unroll
          for (int v = 0; v < NV; ++v)
            acc[r][v] = fmaf(pj, vv[v], acc[r][v]);
        }
      }
    }
  }

  // Merge the warps.
#pragma unroll
  for (int r = 0; r < R; ++r) {
    l[r] = warpSum(l[r]);
    if (lane == 0) {
      wm[warp][r] = m[r];
      wl[warp][r] = l[r];
    }
#pragma unroll
    for (int v = 0; v < NV; ++v)
      wacc[warp][r][c0 + v] = acc[r][v];
  }
  __syncthreads();
  decodeFinish<R, DK>(a, wm, wl, wacc, lastBlock, bi, kvh, rg, split, nr,
                      [&](int r, int c) {
                        return bi * a.os[0] + hOf(r) * a.os[1] +
                               iOf(r) * a.os[2] + c * a.os[3];
                      });
}

} // namespace tfcrt::cuda::attn_device

#endif // TFC_LIB_RUNTIME_CUDA_ATTENTIONDECODE_CUH
