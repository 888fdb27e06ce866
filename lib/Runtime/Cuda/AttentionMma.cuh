//===- AttentionMma.cuh - the tensor-core fused attention kernel's body -===//
//
// Included by AttentionKernels.cu only: attnMma (f16 / bf16, mma.sync
// m16n8k16 in FlashAttention-2's register layout) and its helpers.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_ATTENTIONMMA_CUH
#define TFC_LIB_RUNTIME_CUDA_ATTENTIONMMA_CUH

#include "AttentionDecode.cuh" // partWeight, fma4

#include <cooperative_groups.h>

namespace tfcrt::cuda::attn_device {

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

/// b[0..3] = the B fragments (b0, b1) of two neighbouring blocks of 8
/// columns of a row-major [16 keys][.] tile of T in shared memory, as
/// mma16816 takes them for P V: one ldmatrix.x4.trans. Lane l gives the
/// address of key row (l & 15), columns (l >> 4) * 8 .. + 7 (16 bytes,
/// 16-byte aligned; rows ld elements apart).
template <typename T>
__device__ __forceinline__ void ldsmX4Trans(unsigned *b, const T *row0,
                                            int ld, int lane) {
  const T *p = row0 + (lane & 15) * ld + (lane >> 4) * 8;
  const unsigned addr =
      static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 "
               "{%0,%1,%2,%3}, [%4];"
               : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3])
               : "r"(addr));
}

/// Whether a call's K and V views take the float4 staging: unit column
/// stride, rows and bases 16-byte aligned, whole float4 groups.
__device__ __forceinline__ bool kvVec(const GpuAttnArgs &a, const float *kb,
                                      const float *vb) {
  return a.ks[3] == 1 && a.ks[2] % 4 == 0 && a.d % 4 == 0 &&
         (reinterpret_cast<unsigned long long>(kb) & 15) == 0 &&
         a.vs[3] == 1 && a.vs[2] % 4 == 0 && a.dv % 4 == 0 &&
         (reinterpret_cast<unsigned long long>(vb) & 15) == 0;
}

/// Stages key tile j0: K and V as rows (Ks, Vs [BN][ld]), both rounded to
/// T. kvVec layouts: each thread issues its float4 loads of K and of V (up
/// to 8 of each) before any store, one memory latency per tile; others
/// element by element.
template <typename T, int BN, int D, int THREADS>
__device__ __forceinline__ void stageKV(T *Ks, T *Vs, int ld, const float *kb,
                                        const float *vb, long long j0,
                                        const GpuAttnArgs &a, bool vec,
                                        int tid) {
  if (!vec) {
    stageTile<T, BN, D, THREADS>(Ks, ld, kb, j0, a.t, a.ks[2], a.ks[3], a.d,
                                 tid);
    stageTileScalar<T, BN, D, THREADS>(Vs, ld, vb, j0, a.t, a.vs[2], a.vs[3],
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
        const int o = (e / D4) * ld + (e % D4) * 4;
        store4<T>(Ks + o, kv[u]);
        store4<T>(Vs + o, vv[u]);
      }
    }
  }
}

/// The end of a split row block (GpuAttnArgs::splits > 1): the blocks of a
/// cluster walked disjoint key tiles of the same BM query rows, each with
/// its own running max m, sum l (summed over the quad already) and
/// unnormalized output o in registers. Each block leaves them in its shared
/// memory (Q, K and V are dead by then), and after a cluster barrier block
/// r merges rows r, r + S, ... of every block's partial through distributed
/// shared memory: the weights e^(m_s - max) and 1 / sum once per row, then
/// float4 columns. A second barrier keeps every block's shared memory until
/// the others have read it. The decode kernels' cluster merge (decodeFinish)
/// is the same scheme over a block's rows of one kv head.
template <int D, int W>
__device__ __forceinline__ void
mmaClusterMerge(const GpuAttnArgs &a, unsigned char *smem, const float (&m)[2],
                const float (&l)[2], const float (&o)[D / 8][4], long long bi,
                long long h, long long i0) {
  namespace cg = cooperative_groups;
  constexpr int BM = 16 * W, NO = D / 8, LDP = tfcrt::cuda::mmaLdp(D);
  constexpr int SMAX = tfcrt::cuda::kMmaSplitMax, C4 = D / 4;
  float *Po = reinterpret_cast<float *>(smem); // [BM][LDP]
  float *Pm = Po + BM * LDP, *Pl = Pm + BM, *Li = Pl + BM;
  float *Wt = Li + BM; // [SMAX][BM]
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int g = lane >> 2, qd = lane & 3;
  __syncthreads(); // every warp is done with the last tile's K and V
#pragma unroll
  for (int x = 0; x < 2; ++x) {
    const int r = warp * 16 + g + 8 * x;
#pragma unroll
    for (int n = 0; n < NO; ++n)
      *reinterpret_cast<float2 *>(&Po[r * LDP + n * 8 + 2 * qd]) =
          make_float2(o[n][2 * x], o[n][2 * x + 1]);
    if (qd == 0) {
      Pm[r] = m[x];
      Pl[r] = l[x];
    }
  }
  cg::cluster_group cluster = cg::this_cluster();
  cluster.sync(); // every block's partial is in its shared memory
  const int S = static_cast<int>(a.splits);
  const int rank = static_cast<int>(cluster.block_rank());
  const int rows = BM / S; // this block's rows: rank + S * rr
  if (tid < rows) {
    const int r = rank + S * tid;
    float ms[SMAX], M = -CUDART_INF_F;
#pragma unroll
    for (int sp = 0; sp < SMAX; ++sp)
      if (sp < S) {
        ms[sp] = *cluster.map_shared_rank(&Pm[r], sp);
        M = fmaxf(M, ms[sp]);
      }
    float L = 0.0f;
#pragma unroll
    for (int sp = 0; sp < SMAX; ++sp)
      if (sp < S) {
        const float f = partWeight(ms[sp], M);
        Wt[sp * BM + r] = f;
        L = fmaf(*cluster.map_shared_rank(&Pl[r], sp), f, L);
      }
    Li[r] = L > 0.0f ? 1.0f / L : 0.0f;
  }
  __syncthreads();
  for (int e = tid; e < rows * C4; e += 32 * W) {
    const int r = rank + S * (e / C4), c = (e % C4) * 4;
    const long long i = i0 + r;
    if (i >= a.s)
      continue;
    float4 A = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
    for (int sp = 0; sp < SMAX; ++sp)
      if (sp < S)
        fma4(A,
             *cluster.map_shared_rank(
                 reinterpret_cast<const float4 *>(&Po[r * LDP + c]), sp),
             Wt[sp * BM + r]);
    const float inv = Li[r];
    const float y[4] = {A.x * inv, A.y * inv, A.z * inv, A.w * inv};
    const long long op = bi * a.os[0] + h * a.os[1] + i * a.os[2];
#pragma unroll
    for (int k = 0; k < 4; ++k)
      if (c + k < a.dv)
        storeOut(a, op + (c + k) * a.os[3], y[k]);
  }
  cluster.sync(); // the other blocks have read this one's partial
}

/// The FlashAttention-2 arrangement: a warp owns 16 query rows; S = Q K^T
/// (16 x 64 per key tile) stays in the mma accumulators (each thread holds
/// rows g and g + 8, columns 8 n + 2q, 2q + 1), the softmax runs on them
/// with the row's max and sum reduced over the quad (lanes 4g..4g+3), and
/// the probabilities rounded to T are, fragment for fragment, the A operand
/// of O += P V (O in registers too). Shared memory holds only Q, K and V,
/// all as rows: P V's B fragments come from V's rows through ldmatrix.trans
/// (V stored transposed, 2-byte stores 16 rows apart, was a 16-way bank
/// conflict; MiniLM's b32 call 29.1 -> 28.0 us on an H100). Holding the
/// next key tile in registers during this tile's products was tried at
/// head dim 64 and dropped: spills at 255 registers, SmolLM2's 512-token
/// prefill call 56 -> 62 us (H100, 2026-12-06, docs/PERFORMANCE.md).
/// MS (head dim 32, the default there; TFC_ATTN_MMA_MASK=0 turns it off):
/// the call's mask_add is shared by every head and query row of an item
/// (the launcher checks it) and is staged per key tile in shared memory.
/// KS (head dim 64, the default there; TFC_ATTN_MMA_KEEP=0 turns it off):
/// the call's mask_keep is one row shared by every head and query row of
/// an item (a prefill's padding / cache mask; the launcher checks it): its
/// 64 bytes of a key tile are staged in shared memory with K and V, a tile
/// the row hides entirely is skipped, and a tile it keeps entirely takes
/// the no-check path (causality alone, tileFull) instead of a global byte
/// load per element (SmolLM2's 512-token prefill call: 105 -> 56 us on an
/// H100, docs/PERFORMANCE.md).
template <typename T, int D, int W, bool MS = false, bool KS = false>
__device__ __forceinline__ void attnMma(const GpuAttnArgs &a) {
  using tfcrt::cuda::kMmaKeys;
  constexpr int BM = 16 * W, BN = kMmaKeys, NB = BN / 8, NO = D / 8;
  constexpr int LDQ = tfcrt::cuda::mmaLdq(D);
  static_assert(D % 16 == 0 && BN % 16 == 0, "tile shapes");
  extern __shared__ __align__(128) unsigned char smem[];
  T *Qs = reinterpret_cast<T *>(smem);
  T *Ks = Qs + BM * LDQ;
  T *Vs = Ks + BN * LDQ; // [BN][LDQ]

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int g = lane >> 2, qd = lane & 3;
  // Split row blocks (a.splits > 1): the cluster's blocks along x share the
  // rows and take every S-th key tile (mmaClusterMerge). heavyFirst: x
  // holds (row block, head) with the row block slowest and reversed, so
  // every head's last (longest) row blocks are scheduled before any first.
  const int S = a.splits > 1 ? static_cast<int>(a.splits) : 1;
  const int split = static_cast<int>(blockIdx.x % S);
  const long long bi = blockIdx.z;
  long long h = blockIdx.y, rb = blockIdx.x / S;
  if (a.heavyFirst) {
    const long long rowBlocks = gridDim.x / S / a.hq;
    h = rb % a.hq;
    rb = rowBlocks - 1 - rb / a.hq;
  }
  const long long i0 = rb * BM;
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
  // MS: the mask_add, shared by every head and query row of the item
  // ([b, 1, 1, t]: the exporters' padding), staged per key tile in shared
  // memory with K and V instead of each thread loading its 16 values from
  // global memory after the products (Nsight Compute put MiniLM's top
  // long-scoreboard stalls on the FMAs waiting for those loads;
  // docs/PERFORMANCE.md).
  [[maybe_unused]] float *Ms = reinterpret_cast<float *>(Vs + BN * LDQ); // [BN]
  [[maybe_unused]] const float *addItem = a.add + bi * a.addS[0];
  // KS: the tile's keep bytes, after the default layout.
  [[maybe_unused]] unsigned char *Kp =
      reinterpret_cast<unsigned char *>(smem + tfcrt::cuda::mmaSmemBytes(D, W));
  [[maybe_unused]] const unsigned char *keepItem =
      a.keep ? a.keep + bi * a.keepS[0] : nullptr;
  long long jEnd = a.t;
  if (a.causal && p1 + 1 < jEnd)
    jEnd = p1 + 1 > 0 ? p1 + 1 : 0;
  const bool vec = kvVec(a, kb, vb);
  for (long long j0 = (long long)split * BN; j0 < jEnd;
       j0 += (long long)S * BN) {
    const long long j1 = (j0 + BN < a.t ? j0 + BN : a.t) - 1;
    if (tileEmpty(a, p0, p1, j0, j1))
      continue;
    // A padding mask (one keep row for every query row; a decode step's
    // mask over the whole cache): a tile it hides entirely is skipped, a
    // tile it keeps entirely needs no per-element test of it.
    bool keepAll = !a.keep;
    __syncthreads(); // the previous tile's K and V are read
    [[maybe_unused]] float mv = 0.0f; // loaded with K and V, stored after
    if constexpr (MS) {
      if (tid < BN)
        mv = j0 + tid < a.t ? addItem[(j0 + tid) * a.addS[3]] : 0.0f;
    }
    [[maybe_unused]] unsigned char kv8 = 1;
    if constexpr (KS) {
      if (tid < BN)
        kv8 = j0 + tid < a.t ? keepItem[(j0 + tid) * a.keepS[3]] : 0;
    }
    stageKV<T, BN, D, 32 * W>(Ks, Vs, LDQ, kb, vb, j0, a, vec, tid);
    if constexpr (MS) {
      if (tid < BN)
        Ms[tid] = mv;
    }
    if constexpr (KS) {
      if (tid < BN)
        Kp[tid] = kv8;
      // One block-wide count (every thread skips the tile or none does):
      // none kept, skip; all BN kept, no per-element test. (Two reductions,
      // an or and an and, were one barrier more a tile; ncu puts barrier
      // stalls second in this kernel, docs/PERFORMANCE.md.)
      const int kept = __syncthreads_count(tid < BN && kv8 != 0);
      if (kept == 0)
        continue;
      keepAll = kept == BN;
    } else {
      __syncthreads();
    }

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
    const bool full = inside && keepAll && tileFull(a, p0, p1, j0, j1);
    float tmax[2] = {-CUDART_INF_F, -CUDART_INF_F};
#pragma unroll
    for (int n = 0; n < NB; ++n) {
      const long long j = j0 + n * 8 + 2 * qd;
#pragma unroll
      for (int x = 0; x < 2; ++x) {
        float2 madd = make_float2(0.0f, 0.0f);
        if constexpr (MS) {
          madd = make_float2(Ms[n * 8 + 2 * qd], Ms[n * 8 + 2 * qd + 1]);
        } else if (addRow[x]) {
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
          if constexpr (KS) {
            const int jj = n * 8 + 2 * qd; // j - j0
            if (!(j < a.t && structVisible(a, p[x], j) && Kp[jj]))
              v0 = -CUDART_INF_F;
            if (!(j + 1 < a.t && structVisible(a, p[x], j + 1) && Kp[jj + 1]))
              v1 = -CUDART_INF_F;
          } else {
          if (!(j < a.t && sees(a, keepRow[x], p[x], j)))
            v0 = -CUDART_INF_F;
          if (!(j + 1 < a.t && sees(a, keepRow[x], p[x], j + 1)))
            v1 = -CUDART_INF_F;
          }
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
      for (int n = 0; n < NO; n += 2) {
        unsigned vb4[4];
        ldsmX4Trans<T>(vb4, Vs + kk * 16 * LDQ + n * 8, LDQ, lane);
        mma16816<T>(o[n], pa, vb4[0], vb4[1]);
        mma16816<T>(o[n + 1], pa, vb4[2], vb4[3]);
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
  if (S > 1) {
    mmaClusterMerge<D, W>(a, smem, m, l, o, bi, h, i0);
    return;
  }
#pragma unroll
  for (int x = 0; x < 2; ++x) {
    if (!rowOk[x])
      continue;
    const long long op = bi * a.os[0] + h * a.os[1] + iRow[x] * a.os[2];
#pragma unroll
    for (int n = 0; n < NO; ++n) {
      const int c = n * 8 + 2 * qd;
      if (c < a.dv)
        storeOut(a, op + c * a.os[3], o[n][2 * x] * inv[x]);
      if (c + 1 < a.dv)
        storeOut(a, op + (c + 1) * a.os[3], o[n][2 * x + 1] * inv[x]);
    }
  }
}

} // namespace tfcrt::cuda::attn_device

#endif // TFC_LIB_RUNTIME_CUDA_ATTENTIONMMA_CUH
