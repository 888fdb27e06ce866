//===- AttentionDecodeGroup.cuh - the decode kernel, a lane group a key --===//
//
// Included by AttentionKernels.cu only: attnDecodeGroup, the decode kernel
// for the calls every real decoder makes (head dim 64 or 128 for both q.k
// and v, key and value rows of unit column stride in whole, 16-byte
// aligned float4 groups, at most 4 rows of a GQA group a block). The
// launcher picks it where it applies (TFC_ATTN_DEC_GROUP=0: the general
// kernel, AttentionDecode.cuh, everywhere); the grid, the splits, the
// partials and their merge (decodeFinish) are the general kernel's.
//
// Why a second kernel. The general one gives each lane a whole key: the
// lane's score is a 64-long chain of FMAs, its probability is broadcast
// to the warp and O += P V runs key after key, so a warp executes about
// 3,000 instructions for a tile of 32 keys at one warp per scheduler; an
// H100 took 19-25 us for SmolLM2's decode call that cuDNN does in 4.6 us
// (Nsight Compute: latency-bound, barrier and instruction-cache stalls;
// docs/PERFORMANCE.md). Here a key belongs to a group of LK = DK / 8
// lanes, each holding 8 of its columns (two float4: columns 4 lg .. 4 lg +
// 3 and DK / 2 + 4 lg ..; a warp's load instruction reads whole 128-byte
// segments of the row), so:
//   - the score is 8 FMAs a lane and log2(LK) shuffles,
//   - each group keeps its own online softmax (m, l) and its rows' 8
//     output columns, so O += P V needs no broadcast,
//   - a lane has U = 4 keys in flight a step (their K and V rows loaded
//     together), the warp 4 x 32 / LK of them,
//   - the groups are merged by shuffles once at the end, the warps by the
//     general kernel's shared-memory merge.
// Keys nobody sees (the structure, mask_keep) are not loaded: a block step
// with none visible to its rows is skipped without loads (structure) or
// after the mask bytes (one warp ballot).
//
// All products and the softmax are f32; in the half modes q, k and v are
// rounded to the half type as they are loaded (as the general kernel).
//
// A rope call (tfcrt_gpu_attention_*_rope, GpuAttnArgs::rope) also takes
// the KV-cache step's rotary and cache writes: a lane's two float4 of q are
// rotate-half pairs, so q is rotated in registers as it is loaded (then
// rounded), the key loop takes the step's new keys and values from k_new
// (rotated the same way) and v_new, and the block of row group 0 of each
// split stores the new rows that fall in its keys into the cache.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_ATTENTIONDECODEGROUP_CUH
#define TFC_LIB_RUNTIME_CUDA_ATTENTIONDECODEGROUP_CUH

#include "AttentionDecode.cuh"

namespace tfcrt::cuda::attn_device {

/// sees() for the structures that need divisions (block-local, a block
/// layout): a call, so that the kernel's many visibility tests stay small.
__device__ __noinline__ bool seesDivided(const GpuAttnArgs &a,
                                         const unsigned char *keepRow,
                                         long long p, long long j) {
  return sees(a, keepRow, p, j);
}

/// sees(): causality, the window and mask_keep inline, the rest through
/// seesDivided.
__device__ __forceinline__ bool seesGroup(const GpuAttnArgs &a,
                                          const unsigned char *keepRow,
                                          long long p, long long j) {
  if (a.block > 0 || a.layout)
    return seesDivided(a, keepRow, p, j);
  if (a.causal && j > p)
    return false;
  if (a.window > 0 && j >= a.sinks && p > j + a.window - 1)
    return false;
  return !keepRow || keepRow[j * a.keepS[3]] != 0;
}

/// A rope call's rotary of a lane's 8 columns x of row i (cos / sin row
/// [bi, head, i]), in place: columns 4 lg + e and HALF + 4 lg + e (x[e],
/// x[e + 4]) are a rotate-half pair, both in this lane, so the rotary needs
/// no other lane's (q as it is loaded, a new key in the key loop).
template <int HALF>
__device__ __forceinline__ void ropeLane(const GpuAttnArgs &a, float (&x)[8],
                                         long long bi, long long head,
                                         long long i, int lg) {
  const long long cb = bi * a.cosS[0] + head * a.cosS[1] + i * a.cosS[2];
  const long long sb = bi * a.sinS[0] + head * a.sinS[1] + i * a.sinS[2];
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const long long c0 = 4 * lg + e, c1 = HALF + c0;
    const float x0 = x[e], x1 = x[e + 4];
    x[e] = ropeElem(x0, -x1, a.cos[cb + c0 * a.cosS[3]],
                    a.sin[sb + c0 * a.sinS[3]]);
    x[e + 4] = ropeElem(x1, x0, a.cos[cb + c1 * a.cosS[3]],
                        a.sin[sb + c1 * a.sinS[3]]);
  }
}

/// R rows (1 to 4) of one kv head's group, head dim DK (d == dv == DK; the
/// launcher checks the layout: GpuAttention.h, decGroupFits), MODE as
/// attnDecode's; past: a rope call's *a.past (read before the PDL wait).
template <int R, int DK, int MODE>
__device__ __forceinline__ void attnDecodeGroup(const GpuAttnArgs &a,
                                                long long past) {
  constexpr int W = tfcrt::cuda::kDecWarps;
  constexpr int LK = DK / 8;       // lanes a key
  constexpr int KPW = 32 / LK;     // keys a warp has in flight per slot
  constexpr int NG = W * KPW;      // groups in the block
  constexpr int U = 4;             // keys a group takes per step
  constexpr int HALF = DK / 2;     // a lane's second float4: HALF + 4 lg
  static_assert(DK % 64 == 0 && DK <= 256 && R >= 1 && R <= 4, "shape");
  __shared__ float wm[W][R], wl[W][R];
  __shared__ __align__(16) float wacc[W][R][DK];
  __shared__ int lastBlock;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int lg = lane % LK, gi = lane / LK;
  const int grp = warp * KPW + gi; // this lane's group in the block
  const long long bi = blockIdx.z;
  // 32-bit divisions: the launcher bounds heads and row groups by the
  // grid's 65535 and s by kDecMaxS.
  const int rgs = static_cast<int>(a.rowGroups);
  const int kvh = static_cast<int>(blockIdx.y) / rgs;
  const int rg = static_cast<int>(blockIdx.y) % rgs;
  const long long split = blockIdx.x;
  const int G = static_cast<int>(a.hq) / static_cast<int>(a.hkv);
  const int s32 = static_cast<int>(a.s);
  const int nrows = G * s32, r0 = rg * R;
  const int nr = nrows - r0 < R ? nrows - r0 : R;
  const long long off = a.t - a.s;

  // Row r's head and query row (rows past the last one as row 0).
  int rowH[R], rowI[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int rr = r0 + (r < nr ? r : 0);
    rowH[r] = kvh * G + rr / s32;
    rowI[r] = rr % s32;
  }
  // This lane's 8 columns of q for each row, rotated (rope) and rounded (0
  // past the last row). (float4 loads where q's rows are unit-stride and
  // aligned, as the exporters' views are.)
  float q[R][8];
  const bool vecQ = a.qs[3] == 1 && a.qs[2] % 4 == 0 && a.qs[1] % 4 == 0 &&
                    a.qs[0] % 4 == 0 &&
                    (reinterpret_cast<unsigned long long>(a.q) & 15) == 0;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const float *qr = a.q + bi * a.qs[0] + rowH[r] * a.qs[1] +
                      rowI[r] * a.qs[2];
    if (vecQ) {
      const float4 x0 = *reinterpret_cast<const float4 *>(qr + 4 * lg);
      const float4 x1 = *reinterpret_cast<const float4 *>(qr + HALF + 4 * lg);
      q[r][0] = x0.x, q[r][1] = x0.y, q[r][2] = x0.z, q[r][3] = x0.w;
      q[r][4] = x1.x, q[r][5] = x1.y, q[r][6] = x1.z, q[r][7] = x1.w;
    } else {
#pragma unroll
      for (int e = 0; e < 8; ++e)
        q[r][e] = qr[((e < 4 ? 0 : HALF) + 4 * lg + (e & 3)) * a.qs[3]];
    }
    if (a.rope) // (d == DK: HALF is the rotary's half)
      ropeLane<HALF>(a, q[r], bi, rowH[r], rowI[r], lg);
#pragma unroll
    for (int e = 0; e < 8; ++e)
      q[r][e] = r < nr ? roundMode(q[r][e], MODE) : 0.0f;
  }
  long long pos[R];
  const float *addRow[R];
  const unsigned char *keepRow[R];
  bool same = true; // every row sees the same keys (one position, one mask)
#pragma unroll
  for (int r = 0; r < R; ++r) {
    pos[r] = rowI[r] + off;
    addRow[r] = a.add ? a.add + bi * a.addS[0] + rowH[r] * a.addS[1] +
                            rowI[r] * a.addS[2]
                      : nullptr;
    keepRow[r] = a.keep ? a.keep + bi * a.keepS[0] + rowH[r] * a.keepS[1] +
                              rowI[r] * a.keepS[2]
                        : nullptr;
    same &= pos[r] == pos[0] && keepRow[r] == keepRow[0];
  }

  float m[R], l[R], acc[R][8];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    m[r] = -CUDART_INF_F;
    l[r] = 0.0f;
#pragma unroll
    for (int e = 0; e < 8; ++e)
      acc[r][e] = 0.0f;
  }

  const long long kBeg = split * a.chunk;
  const long long kEnd = kBeg + a.chunk < a.t ? kBeg + a.chunk : a.t;
  const long long p0 = off, p1 = off + a.s - 1;
  const float *kb = a.k + bi * a.ks[0] + kvh * a.ks[1];
  const float *vb = a.v + bi * a.vs[0] + kvh * a.vs[1];
  const float sentinel = -CUDART_INF_F;
  if (a.rope && rg == 0) {
    // The new rows that fall in this block's keys, written into the cache
    // for the steps after this one (row group 0's block of the split; the
    // other row groups' would write the same values). Nothing in this kernel
    // reads them back: the key loop takes a new row from k_new / v_new
    // itself, so these stores are not waited for.
    float *kw = const_cast<float *>(kb), *vw = const_cast<float *>(vb);
    const float *kn = a.kNew + bi * a.kNewS[0] + kvh * a.kNewS[1];
    const float *vn = a.vNew + bi * a.vNewS[0] + kvh * a.vNewS[1];
    for (int e = tid; e < s32 * DK; e += 32 * W) {
      const int i = e / DK, c = e % DK;
      const long long j = past + i;
      if (j < kBeg || j >= kEnd)
        continue;
      kw[j * a.ks[2] + c] =
          ropeAt(a, kn + i * a.kNewS[2], a.kNewS[3], bi, kvh, i, c);
      vw[j * a.vs[2] + c] = vn[i * a.vNewS[2] + c * a.vNewS[3]];
    }
  }

#pragma unroll 1
  for (long long jb = kBeg; jb < kEnd; jb += NG * U) {
    const long long jl = jb + NG * U - 1 < kEnd ? jb + NG * U - 1 : kEnd - 1;
    if (tileEmpty(a, p0, p1, jb, jl))
      continue; // uniform over the block
    // Key u of this group: jb + u * NG + grp (the warp's groups on
    // consecutive keys).
    // vis: bit u * R + r when row r sees key u (the mask bytes of every
    // key loaded before any K / V row).
    unsigned vis = 0;
    if (same) {
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const long long j = jb + u * NG + grp;
        if (j < kEnd && seesGroup(a, keepRow[0], pos[0], j))
          vis |= ((1u << nr) - 1u) << (u * R);
      }
    } else {
#pragma unroll 1
      for (int x = 0; x < U * R; ++x) {
        const int u = x / R, r = x % R, rr = r0 + r;
        const long long j = jb + u * NG + grp;
        if (r < nr && j < kEnd &&
            seesGroup(a,
                      a.keep ? a.keep + bi * a.keepS[0] +
                                   (kvh * G + rr / s32) * a.keepS[1] +
                                   (rr % s32) * a.keepS[2]
                             : nullptr,
                      rr % s32 + off, j))
          vis |= 1u << x;
      }
    }
    const bool any = vis != 0;
    if (!__any_sync(0xffffffffu, any))
      continue;
    // The visible keys' K and V columns (and mask_add), loaded together.
    float kv[U][8], vv[U][8], addv[U][R];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const long long j = jb + u * NG + grp;
      const bool seen = (vis >> (u * R)) & ((1u << R) - 1u);
      const long long in = j - past; // a rope call's new row in..
      if (seen && a.rope && in >= 0 && in < s32) {
        // .. from k_new (rotated here, as q) and v_new: the values the
        // block of row group 0 stores into the cache.
        const float *kn = a.kNew + bi * a.kNewS[0] + kvh * a.kNewS[1] +
                          in * a.kNewS[2];
        const float *vn =
            a.vNew + bi * a.vNewS[0] + kvh * a.vNewS[1] + in * a.vNewS[2];
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          const long long c = (e < 4 ? 0 : HALF) + 4 * lg + (e & 3);
          kv[u][e] = kn[c * a.kNewS[3]];
          vv[u][e] = vn[c * a.vNewS[3]];
        }
        ropeLane<HALF>(a, kv[u], bi, kvh, in, lg);
      } else if (seen) {
        const float *kr = kb + j * a.ks[2] + 4 * lg;
        const float *vr = vb + j * a.vs[2] + 4 * lg;
        const float4 k0 = *reinterpret_cast<const float4 *>(kr);
        const float4 k1 = *reinterpret_cast<const float4 *>(kr + HALF);
        const float4 v0 = *reinterpret_cast<const float4 *>(vr);
        const float4 v1 = *reinterpret_cast<const float4 *>(vr + HALF);
        kv[u][0] = k0.x, kv[u][1] = k0.y, kv[u][2] = k0.z, kv[u][3] = k0.w;
        kv[u][4] = k1.x, kv[u][5] = k1.y, kv[u][6] = k1.z, kv[u][7] = k1.w;
        vv[u][0] = v0.x, vv[u][1] = v0.y, vv[u][2] = v0.z, vv[u][3] = v0.w;
        vv[u][4] = v1.x, vv[u][5] = v1.y, vv[u][6] = v1.z, vv[u][7] = v1.w;
      } else {
#pragma unroll
        for (int e = 0; e < 8; ++e)
          kv[u][e] = vv[u][e] = 0.0f;
      }
#pragma unroll
      for (int r = 0; r < R; ++r)
        addv[u][r] = ((vis >> (u * R + r)) & 1u) && addRow[r]
                         ? addRow[r][j * a.addS[3]]
                         : 0.0f;
    }
    // Scores: 8 products a lane, summed over the group's lanes.
    float sc[U][R];
#pragma unroll
    for (int u = 0; u < U; ++u) {
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        kv[u][e] = roundMode(kv[u][e], MODE);
        vv[u][e] = roundMode(vv[u][e], MODE);
      }
#pragma unroll
      for (int r = 0; r < R; ++r) {
        float x = 0.0f;
#pragma unroll
        for (int e = 0; e < 8; ++e)
          x = fmaf(q[r][e], kv[u][e], x);
#pragma unroll
        for (int o = 1; o < LK; o <<= 1)
          x += __shfl_xor_sync(0xffffffffu, x, o);
        sc[u][r] = ((vis >> (u * R + r)) & 1u) ? fmaf(x, a.scale, addv[u][r])
                                               : sentinel;
      }
    }
    // The group's online softmax over its U keys.
#pragma unroll
    for (int r = 0; r < R; ++r) {
      float mNew = m[r];
#pragma unroll
      for (int u = 0; u < U; ++u)
        mNew = fmaxf(mNew, sc[u][r]);
      if (mNew == -CUDART_INF_F)
        continue; // nothing seen yet (m, l, acc stay 0 / -inf)
      const float alpha = partWeight(m[r], mNew);
      m[r] = mNew;
      float p[U];
#pragma unroll
      for (int u = 0; u < U; ++u)
        p[u] = partWeight(sc[u][r], mNew);
      float ls = l[r] * alpha;
#pragma unroll
      for (int u = 0; u < U; ++u)
        ls += p[u];
      l[r] = ls;
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        float x = acc[r][e] * alpha;
#pragma unroll
        for (int u = 0; u < U; ++u)
          x = fmaf(p[u], vv[u][e], x);
        acc[r][e] = x;
      }
    }
  }

  // Merge the warp's groups (lanes lg, lg + LK, ..): each scales its sums
  // to the warp's max, then plain shuffle sums (one exp a row, not one a
  // round); the warps merge through shared memory (decodeFinish).
#pragma unroll
  for (int r = 0; r < R; ++r) {
    float M = m[r];
#pragma unroll
    for (int o = LK; o < 32; o <<= 1)
      M = fmaxf(M, __shfl_xor_sync(0xffffffffu, M, o));
    const float f = partWeight(m[r], M);
    float L = l[r] * f;
#pragma unroll
    for (int o = LK; o < 32; o <<= 1)
      L += __shfl_xor_sync(0xffffffffu, L, o);
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      float x = acc[r][e] * f;
#pragma unroll
      for (int o = LK; o < 32; o <<= 1)
        x += __shfl_xor_sync(0xffffffffu, x, o);
      acc[r][e] = x;
    }
    m[r] = M;
    l[r] = L;
  }
  if (gi == 0) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (lg == 0) {
        wm[warp][r] = m[r];
        wl[warp][r] = l[r];
      }
      *reinterpret_cast<float4 *>(&wacc[warp][r][4 * lg]) =
          make_float4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
      *reinterpret_cast<float4 *>(&wacc[warp][r][HALF + 4 * lg]) =
          make_float4(acc[r][4], acc[r][5], acc[r][6], acc[r][7]);
    }
  }
  __syncthreads();
  // (r is a run-time index there: the head and query row are recomputed
  // rather than read from the register arrays.)
  decodeFinish<R, DK>(a, wm, wl, wacc, lastBlock, bi, kvh, rg, split, nr,
                      [&](int r, int c) {
                        const int rr = r0 + r;
                        return bi * a.os[0] +
                               (kvh * G + rr / s32) * a.os[1] +
                               (rr % s32) * a.os[2] + c * a.os[3];
                      });
}

} // namespace tfcrt::cuda::attn_device

#endif // TFC_LIB_RUNTIME_CUDA_ATTENTIONDECODEGROUP_CUH
