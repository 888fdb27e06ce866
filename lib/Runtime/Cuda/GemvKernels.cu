//===- GemvKernels.cu - GEMMs of few rows (decode steps) ----------------===//
//
// tfc_gemv_<T>_m<MM>: C[b] = A[b] x B[b] (+ residual) (+ bias) (then the
// activation) for at most MM rows of A (1, 2, 4 or 8; calls of fewer rows
// take the next instance), T = f32, f16 or bf16, f32 accumulation. Gemv.h
// has the argument block, GemvLaunch.cpp the choice and the launch; nvcc
// compiles this file into a fatbin that libtfcrt embeds (no CUDA runtime).
//
// A block owns kGemvColThreads x (16 / sizeof T) consecutive columns of one
// batch item. Its threads are laid out as kGemvColThreads column threads x
// KL = kGemvThreads / kGemvColThreads K lanes. The block walks K in steps of
// kGemvUnroll x KL rows: K lane l loads its 16 bytes (8 halves / 4 floats)
// of rows l, l + KL, ... of the step, all kGemvUnroll loads in flight before
// the first product, while the block stages the step's A elements (every
// row of A) in shared memory as f32. So B is read once per call, whatever
// the number of rows, in as many blocks as column groups. The K lanes' partial
// sums are added by warp shuffles (8 lanes a warp), then across the warps
// through shared memory, in a fixed order: the result does not depend on
// timing. The epilogue adds the residual, then the bias (cuBLASLt's order: the
// residual is its C with beta = 1), applies the activation and stores C.
//
// The narrow kernels (tfc_gemv_<T>_m1_nw, one row) have kGemvNarrowColThreads
// column threads: half the columns a block and twice the K lanes, so a step
// covers 1,536 rows. The launcher gives them one-row calls whose K needs
// more than one step of the others (TFC_CUDA_GEMV_NARROW): all the weight
// loads then go out before the PDL wait, and the call has twice the blocks.
//
// Split K (g.splits > 1): a call whose column groups are fewer than the
// GPU's SMs is launched as clusters of g.splits blocks along x, block rank s
// summing rows [s kSplit, (s + 1) kSplit) of K for the cluster's columns.
// Each block leaves its sums in shared memory; after a cluster barrier every
// block reads all ranks' sums of its share of the outputs through
// distributed shared memory, adds them in rank order and applies the
// epilogue. So a 576-column layer is read by ~130 blocks instead of 18, and
// the result still does not depend on timing (it does on the split count,
// which depends only on the shape and the GPU's SM count).
//
// tfcrt_gpu_linear_ex_* (whole K only): with g.aF32, A is f32 whatever T (an
// RMS norm's input, never rounded to T); with g.rms, every thread also sums
// the squares of the A elements it stages, per row, stages them times the
// norm's scale (gamma), the block adds the squares (in a fixed order) and
// the epilogue scales row m's sums by s_m = 1 / sqrt(mean_k A[m, k]^2 +
// eps) first: the norm costs no launch and no pass over its output. With
// g.glu the block's column threads split in two: the first half reads gate
// columns, the second the matching up columns gluOff further, and the block
// writes COLS / 2 outputs act(gate) * up (the gated MLP's activation, in
// the joined gate|up GEMM's epilogue).
//
// tfc_rms_scale_<T> and tfc_glu_<T> do the same around cuBLASLt for calls of
// more rows: x's rows scaled and rounded to T into scratch before the GEMM,
// and act(gate) * up from the GEMM's f32 result after it.
//
//===----------------------------------------------------------------------===//

#include "Gemv.h"

#include <cooperative_groups.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

using tfcrt::cuda::GemvArgs;
using tfcrt::cuda::GluArgs;
using tfcrt::cuda::kGemvColThreads;
using tfcrt::cuda::kGemvNarrowColThreads;
using tfcrt::cuda::kGemvSplitUnroll;
using tfcrt::cuda::kGemvThreads;
using tfcrt::cuda::kGemvUnroll;
using tfcrt::cuda::RmsScaleArgs;

namespace {

template <typename T> struct Elem;
template <> struct Elem<float> {
  static constexpr int kVec = 4;
  // Plain loads (not the read-only path) for A and the residual: ptxas may
  // move read-only loads above griddepcontrol.wait (seen in the SASS), and
  // the kernel before may still be writing them then.
  __device__ static float load(const float *p) { return *p; }
  __device__ static void store(float *p, float v) { *p = v; }
  __device__ static void unpack(const uint4 &u, float *f) {
    f[0] = __uint_as_float(u.x);
    f[1] = __uint_as_float(u.y);
    f[2] = __uint_as_float(u.z);
    f[3] = __uint_as_float(u.w);
  }
};
template <> struct Elem<__half> {
  static constexpr int kVec = 8;
  __device__ static float load(const __half *p) { return __half2float(*p); }
  __device__ static void store(__half *p, float v) { *p = __float2half_rn(v); }
  __device__ static void unpack(const uint4 &u, float *f) {
    const unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 p = __half22float2(*reinterpret_cast<const __half2 *>(&w[i]));
      f[2 * i] = p.x;
      f[2 * i + 1] = p.y;
    }
  }
};
template <> struct Elem<__nv_bfloat16> {
  static constexpr int kVec = 8;
  __device__ static float load(const __nv_bfloat16 *p) {
    return __bfloat162float(*p);
  }
  __device__ static void store(__nv_bfloat16 *p, float v) {
    *p = __float2bfloat16_rn(v);
  }
  __device__ static void unpack(const uint4 &u, float *f) {
    const unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      // bf16 to f32 is a shift: the low half is element 2i.
      f[2 * i] = __uint_as_float(w[i] << 16);
      f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
  }
};

/// 16 bytes of B through the read-only path. Volatile, so that the compiler
/// keeps every load of a step ahead of the step's barrier (left to itself,
/// it moved most of them after it, to save registers: one memory latency
/// per load instead of one per step).
__device__ __forceinline__ uint4 loadB(const void *p) {
  uint4 r;
  asm volatile("ld.global.nc.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
               : "l"(p));
  return r;
}

/// GemvAct `act` of x. SiLU and erf-GELU (GLU only: GLU) in the host
/// emulation's forms (lib/Runtime/Linear/EpilogueGeneric.cpp: erfc keeps
/// x Phi(x) accurate for negative x); without them the plain epilogue's
/// code is what it was.
template <bool GLU>
__device__ __forceinline__ float activate(int act, float x) {
  if (act == tfcrt::cuda::kGemvActRelu) {
    x = fmaxf(x, 0.0f);
  } else if (act == tfcrt::cuda::kGemvActGeluTanh) {
    const float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    x = 0.5f * x * (1.0f + tanhf(u));
  } else if (GLU && act == tfcrt::cuda::kGemvActSilu) {
    x = x / (1.0f + expf(-x));
  } else if (GLU && act == tfcrt::cuda::kGemvActGelu) {
    x = 0.5f * x * erfcf(-x * 0.70710678118654752f);
  }
  return x;
}

/// The residual's element (m, n) of batch item bi, as f32.
template <typename T>
__device__ __forceinline__ float loadRes(const GemvArgs &g, long long bi, int m,
                                         int n) {
  const long long r = bi * g.rBatch + m * g.rRow + n;
  return g.outHalf ? Elem<T>::load(static_cast<const T *>(g.res) + r)
                   : static_cast<const float *>(g.res)[r];
}

/// C[bi][m][n] = act(x + residual + bias), x the finished sum; with `pre`
/// the residual's element is `rv` (loaded before the PDL wait).
template <typename T>
__device__ __forceinline__ void epilogue(const GemvArgs &g, float x,
                                         long long bi, int m, int n, int act,
                                         bool pre, float rv) {
  using E = Elem<T>;
  if (g.res)
    x += pre ? rv : loadRes<T>(g, bi, m, n);
  if (g.bias)
    x += g.bias[n];
  x = activate<false>(act, x);
  const long long o = bi * g.cBatch + m * g.cRow + n;
  if (g.outHalf)
    E::store(static_cast<T *>(g.c) + o, x);
  else
    static_cast<float *>(g.c)[o] = x;
}

/// Split K's end: the block's warps' sums go into red[0] (its partial), the
/// cluster meets, and the cluster's MM x COLS outputs are shared out over
/// its blocks, each output the rank-ordered sum of every block's partial
/// (read through distributed shared memory), then the epilogue. A second
/// cluster barrier keeps each block's shared memory alive until all reads
/// are done.
template <typename T, int MM, int CT>
__device__ void splitEpilogue(const GemvArgs &g,
                              float (*red)[MM][CT * Elem<T>::kVec],
                              long long bi, int nBase, int rank) {
  constexpr int COLS = CT * Elem<T>::kVec;
  constexpr int WARPS = kGemvThreads / 32;
  namespace cg = cooperative_groups;
  cg::cluster_group cluster = cg::this_cluster();
  const int S = g.splits; // rank: blockIdx.x % S, the cluster rank
  float part[(MM * COLS + kGemvThreads - 1) / kGemvThreads];
#pragma unroll
  for (int j = 0; j * kGemvThreads < MM * COLS; ++j) {
    const int i = threadIdx.x + j * kGemvThreads;
    float x = 0.0f;
    if (i < MM * COLS) {
#pragma unroll
      for (int w = 0; w < WARPS; ++w)
        x += red[w][i / COLS][i % COLS];
    }
    part[j] = x;
  }
  __syncthreads(); // every warp has read red before red[0] is overwritten
#pragma unroll
  for (int j = 0; j * kGemvThreads < MM * COLS; ++j) {
    const int i = threadIdx.x + j * kGemvThreads;
    if (i < MM * COLS)
      red[0][i / COLS][i % COLS] = part[j];
  }
  cluster.sync(); // every block's partial is in its shared memory
  // Outputs of live rows only, dealt out to the ranks in contiguous shares.
  const int outs = min(g.m, MM) * COLS;
  const int share = (outs + S - 1) / S;
  const int lo = rank * share, hi = min(outs, lo + share);
  for (int i = lo + threadIdx.x; i < hi; i += kGemvThreads) {
    const int m = i / COLS, col = i % COLS, n = nBase + col;
    if (n >= g.n)
      continue;
    float x = 0.0f;
    for (int r = 0; r < S; ++r)
      x += *cluster.map_shared_rank(&red[0][m][col], r);
    epilogue<T>(g, x, bi, m, n, g.act, false, 0.0f);
  }
  cluster.sync(); // no block leaves while another reads its shared memory
}

template <typename T, int MM, int U, bool SPLIT, int CT>
__device__ void gemv(const GemvArgs &g) {
  using E = Elem<T>;
  constexpr int V = E::kVec;
  constexpr int KL = kGemvThreads / CT;
  constexpr int COLS = CT * V, WARPS = kGemvThreads / 32;
  static_assert(32 % CT == 0, "column threads must divide a warp");
  constexpr int CHUNK = U * KL; // rows of B a block takes per step
  // A staging round j covers rows j / RPJ of A (CHUNK elements a row):
  // compile-time, so the RMS sums below index registers.
  static_assert(CHUNK % kGemvThreads == 0, "a staging round is in one row");
  constexpr int RPJ = CHUNK / kGemvThreads;
  constexpr int HC = COLS / 2; // a GLU block's outputs
  static_assert(CT % 2 == 0, "GLU: gate and up column threads");
  __shared__ float red[WARPS][MM][COLS];
  __shared__ float xs[MM][CHUNK]; // A's rows of the step, as f32
  // Row m's sum of squares per warp (rms; whole-K kernels only).
  __shared__ float rss[SPLIT ? 1 : WARPS][MM];

  const int tc = threadIdx.x % CT, kl = threadIdx.x / CT;
  const long long bi = blockIdx.y;
  // Split K: this block's rank in its cluster and its rows of K.
  // (The small kernels also take whole-K calls of many rows: splits 1.)
  const int S = SPLIT ? g.splits : 1, rank = SPLIT ? blockIdx.x % S : 0;
  const int kBegin = SPLIT ? rank * g.kSplit : 0;
  const int kEnd = SPLIT ? min(g.k, kBegin + g.kSplit) : g.k;
  const int nBase = (SPLIT ? blockIdx.x / S : blockIdx.x) * COLS;
  // tfcrt_gpu_linear_ex_*'s options; the split kernels never see them.
  const bool aF32 = !SPLIT && g.aF32, rms = !SPLIT && g.rms;
  const bool glu = !SPLIT && g.glu;
  // GLU: the block's first output column; column thread tc reads B's gate
  // (tc < CT / 2) or up columns of outputs nOut + (tc % (CT / 2)) V ...
  const int nOut = blockIdx.x * HC;
  const int nCol = glu ? nOut + tc % (CT / 2) * V : nBase + tc * V;
  const long long n0 = glu && tc >= CT / 2 ? g.gluOff + nCol : nCol;
  const bool colIn = nCol < g.n;
  const T *A = static_cast<const T *>(g.a) + bi * g.aBatch;
  const float *Af = static_cast<const float *>(g.a) + bi * g.aBatch;
  const T *bp = static_cast<const T *>(g.b) + bi * g.bBatch + n0;

  float acc[MM][V];
#pragma unroll
  for (int m = 0; m < MM; ++m)
#pragma unroll
    for (int v = 0; v < V; ++v)
      acc[m][v] = 0.0f;
  float ssq[MM]; // rms: squares of the A elements this thread staged
#pragma unroll
  for (int m = 0; m < MM; ++m)
    ssq[m] = 0.0f;
  // g.resEarly: the plain epilogue's residual elements, loaded before the
  // PDL wait (output i = threadIdx.x + j kGemvThreads of the block).
  constexpr int EP = (MM * COLS + kGemvThreads - 1) / kGemvThreads;
  float rpre[EP];
  const bool pre = !SPLIT && !glu && g.pdl && g.resEarly && g.res;
#pragma unroll
  for (int j = 0; j < EP; ++j)
    rpre[j] = 0.0f;

  // Steps of CHUNK rows, the same for every thread (barriers inside): the
  // step's B loads are issued first, then A's rows are staged into shared
  // memory by the whole block while they are in flight, then the products.
  // A split whose rows are all past K (kBegin >= kEnd) still meets the
  // barriers below: its sums are zeros.
  for (int k0 = kBegin; k0 < kEnd || k0 == kBegin; k0 += CHUNK) {
    uint4 w[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int k = k0 + u * KL + kl;
      w[u] = make_uint4(0, 0, 0, 0);
      if (colIn && k < kEnd)
        w[u] = loadB(bp + static_cast<long long>(k) * g.bRow);
    }
    // Launched early (programmatic dependent launch): the weights are
    // constants, so the first step's B loads go out before the wait for
    // the kernel that writes A; then the next kernel may be scheduled.
    // With g.resEarly the residual is read before the wait too: the
    // launcher knows that the kernel launched just before this one does not
    // write it (DeviceRun's lastLaunchMayWrite), and a kernel starts only
    // once the one before it has passed its own wait, so every kernel
    // before that one has finished.
    if (g.pdl && k0 == kBegin) {
      if (pre) {
#pragma unroll
        for (int j = 0; j < EP; ++j) {
          const int i = threadIdx.x + j * kGemvThreads;
          const int m = i / COLS, n = nBase + i % COLS;
          if (i < MM * COLS && m < g.m && n < g.n)
            rpre[j] = loadRes<T>(g, bi, m, n);
        }
      }
      asm volatile("griddepcontrol.wait;\n\tgriddepcontrol.launch_dependents;" ::
                       : "memory");
    }
    constexpr int XS = MM * CHUNK / kGemvThreads; // A elements a thread stages
    static_assert(MM * CHUNK % kGemvThreads == 0, "whole staging rounds");
    float xv[XS];
#pragma unroll
    for (int j = 0; j < XS; ++j) { // all loads first, then the stores
      const int i = threadIdx.x + j * kGemvThreads;
      const int m = i / CHUNK, k = k0 + i % CHUNK;
      xv[j] = 0.0f;
      if (m < g.m && k < kEnd) {
        const long long o = m * g.aRow + static_cast<long long>(k) * g.aCol;
        xv[j] = aF32 ? Elem<float>::load(Af + o) : E::load(A + o);
      }
    }
    // Every (row, k) of A is staged once by one thread (zeros past K and
    // past the rows): the block's squares are each row's whole sum. The
    // norm's scale multiplies what the products read.
    if (rms) {
#pragma unroll
      for (int j = 0; j < XS; ++j) {
        ssq[j / RPJ] = fmaf(xv[j], xv[j], ssq[j / RPJ]);
        const int k = k0 + (threadIdx.x + j * kGemvThreads) % CHUNK;
        if (g.rmsScale && k < kEnd)
          xv[j] *= g.rmsScale[k];
      }
    }
#pragma unroll
    for (int j = 0; j < XS; ++j) {
      const int i = threadIdx.x + j * kGemvThreads;
      xs[i / CHUNK][i % CHUNK] = xv[j];
    }
    __syncthreads();
#pragma unroll
    for (int u = 0; u < U; ++u) {
      float wf[V];
      E::unpack(w[u], wf);
#pragma unroll
      for (int m = 0; m < MM; ++m) {
        const float x = xs[m][u * KL + kl];
#pragma unroll
        for (int v = 0; v < V; ++v)
          acc[m][v] = fmaf(x, wf[v], acc[m][v]);
      }
    }
    __syncthreads();
  }

  // The K lanes of a warp (lane / CT) added by shuffles, then the warps.
#pragma unroll
  for (int m = 0; m < MM; ++m)
#pragma unroll
    for (int v = 0; v < V; ++v) {
      float s = acc[m][v];
#pragma unroll
      for (int off = CT; off < 32; off *= 2)
        s += __shfl_xor_sync(0xffffffffu, s, off);
      acc[m][v] = s;
    }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane < CT) {
#pragma unroll
    for (int m = 0; m < MM; ++m)
#pragma unroll
      for (int v = 0; v < V; ++v)
        red[warp][m][lane * V + v] = acc[m][v];
  }
  if (rms) { // the squares of a warp by shuffles, then per warp in rss
#pragma unroll
    for (int m = 0; m < MM; ++m) {
      float s = ssq[m];
#pragma unroll
      for (int off = 16; off > 0; off /= 2)
        s += __shfl_xor_sync(0xffffffffu, s, off);
      if (lane == 0)
        rss[SPLIT ? 0 : warp][m] = s;
    }
  }
  __syncthreads();
  if (SPLIT && S > 1) {
    splitEpilogue<T, MM, CT>(g, red, bi, nBase, rank);
    return;
  }
  // Row m's RMS scale: the warps' squares added in a fixed order.
  auto rowScale = [&](int m) {
    float q = 0.0f;
#pragma unroll
    for (int w = 0; w < (SPLIT ? 1 : WARPS); ++w)
      q += rss[w][m];
    return 1.0f / sqrtf(q / static_cast<float>(g.k) + g.rmsEps);
  };
  if (glu) { // output col pairs the gate sums at col, the up sums at HC + col
    for (int i = threadIdx.x; i < MM * HC; i += kGemvThreads) {
      const int m = i / HC, col = i % HC, n = nOut + col;
      if (m >= g.m || n >= g.n)
        continue;
      float gate = 0.0f, up = 0.0f;
#pragma unroll
      for (int w = 0; w < WARPS; ++w) {
        gate += red[w][m][col];
        up += red[w][m][HC + col];
      }
      if (rms) {
        const float s = rowScale(m);
        gate *= s;
        up *= s;
      }
      // No bias or residual with GLU (the launcher refuses them).
      epilogue<T>(g, activate<true>(g.act, gate) * up, bi, m, n,
                  tfcrt::cuda::kGemvActNone, false, 0.0f);
    }
    return;
  }
#pragma unroll
  for (int j = 0; j < EP; ++j) {
    const int i = threadIdx.x + j * kGemvThreads;
    const int m = i / COLS, col = i % COLS, n = nBase + col;
    if (i >= MM * COLS || m >= g.m || n >= g.n)
      continue;
    float x = 0.0f;
#pragma unroll
    for (int w = 0; w < WARPS; ++w)
      x += red[w][m][col];
    if (rms)
      x *= rowScale(m);
    epilogue<T>(g, x, bi, m, n, g.act, pre, rpre[j]);
  }
}

/// tfc_rms_scale_<T>: one block a row. The squares are added by shuffles,
/// then the warps in a fixed order (every thread the same scale).
template <typename T> __device__ void rmsScale(const RmsScaleArgs &a) {
  constexpr int WARPS = kGemvThreads / 32;
  __shared__ float part[WARPS];
  const long long r = blockIdx.x;
  const float *x = a.x + r * a.xRow;
  float s = 0.0f;
  for (int k = threadIdx.x; k < a.k; k += kGemvThreads) {
    const float v = x[k * a.xCol];
    s = fmaf(v, v, s);
  }
  for (int off = 16; off > 0; off /= 2)
    s += __shfl_xor_sync(0xffffffffu, s, off);
  if (threadIdx.x % 32 == 0)
    part[threadIdx.x / 32] = s;
  __syncthreads();
  float q = 0.0f;
  for (int w = 0; w < WARPS; ++w)
    q += part[w];
  const float scale = 1.0f / sqrtf(q / static_cast<float>(a.k) + a.eps);
  T *y = static_cast<T *>(a.xn) + r * a.k;
  for (int k = threadIdx.x; k < a.k; k += kGemvThreads)
    Elem<T>::store(y + k, a.scale ? x[k * a.xCol] * scale * a.scale[k]
                                  : x[k * a.xCol] * scale);
}

/// tfc_glu_<T>: a grid-stride loop over the m x f outputs.
template <typename T> __device__ void glu(const GluArgs &a) {
  const long long total = a.m * a.f;
  const long long step = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long i =
           static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < total; i += step) {
    const long long r = i / a.f, j = i % a.f;
    const float *y = a.y + r * 2 * a.f;
    const float x = activate<true>(a.act, y[j]) * y[a.f + j];
    const long long o = r * a.oRow + j * a.oCol;
    if (a.outHalf)
      Elem<T>::store(static_cast<T *>(a.out) + o, x);
    else
      static_cast<float *>(a.out)[o] = x;
  }
}

} // namespace

// Whole K: kGemvUnroll loads in flight a thread, one block an SM. The
// small kernels (_sk): kGemvSplitUnroll, so that two blocks fit an SM; they
// take split K (a split's rows are few) and whole-K calls of many rows
// (where the big kernel's registers cap an SM at one block).
#define TFC_GEMV(NAME, T, MM)                                                  \
  extern "C" __global__ void __launch_bounds__(kGemvThreads, 1)                \
      tfc_gemv_##NAME##_m##MM(GemvArgs g) {                                    \
    gemv<T, MM, kGemvUnroll, false, kGemvColThreads>(g);                       \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(kGemvThreads, 2)                \
      tfc_gemv_##NAME##_m##MM##_sk(GemvArgs g) {                               \
    gemv<T, MM, kGemvSplitUnroll, true, kGemvColThreads>(g);                   \
  }
#define TFC_GEMV_M(NAME, T)                                                    \
  TFC_GEMV(NAME, T, 1) TFC_GEMV(NAME, T, 2) TFC_GEMV(NAME, T, 4)               \
      TFC_GEMV(NAME, T, 8)
TFC_GEMV_M(f32, float)
TFC_GEMV_M(f16, __half)
TFC_GEMV_M(bf16, __nv_bfloat16)

// The narrow whole-K kernels (one row): kGemvNarrowColThreads column
// threads, so twice the K lanes take a step of twice the rows (K up to
// 1,536 in one step: every weight load of a decode step's down projection
// goes out before the PDL wait) and the call has twice the blocks.
#define TFC_GEMV_NARROW(NAME, T)                                               \
  extern "C" __global__ void __launch_bounds__(kGemvThreads, 1)                \
      tfc_gemv_##NAME##_m1_nw(GemvArgs g) {                                    \
    gemv<T, 1, kGemvUnroll, false, kGemvNarrowColThreads>(g);                  \
  }
TFC_GEMV_NARROW(f32, float)
TFC_GEMV_NARROW(f16, __half)
TFC_GEMV_NARROW(bf16, __nv_bfloat16)

#define TFC_GEMV_EX(NAME, T)                                                   \
  extern "C" __global__ void __launch_bounds__(kGemvThreads)                   \
      tfc_rms_scale_##NAME(RmsScaleArgs a) {                                   \
    rmsScale<T>(a);                                                            \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(kGemvThreads)                   \
      tfc_glu_##NAME(GluArgs a) {                                              \
    glu<T>(a);                                                                 \
  }
TFC_GEMV_EX(f32, float)
TFC_GEMV_EX(f16, __half)
TFC_GEMV_EX(bf16, __nv_bfloat16)
