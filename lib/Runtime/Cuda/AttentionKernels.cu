//===- AttentionKernels.cu - fused (flash-style) attention on the GPU -----===//
//
// The kernels behind tfcrt_gpu_attention_* (GpuAttention.h has the contract;
// AttentionLaunch.cpp picks and launches them); their bodies are in
// AttentionDevice.cuh (shared helpers), AttentionF32.cuh and
// AttentionMma.cuh, this file names the instances. nvcc compiles this file into
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
//   tfc_attn_simt_256       f32, head dims 129 to 256: 4 threads per query
//                           row, each with a
//                           quarter of q and of the accumulator in registers
//                           (the dot products summed by warp shuffles), K /
//                           V tiles in shared memory.
//   tfc_attn_dec_r<R>_<DK>  any mode, at most kDecMaxS query rows (decode):
//                           keys split over blocks, R rows of a GQA group
//                           a block, one key per lane, the splits merged by
//                           the last block (AttentionDecode.cuh).
//   tfc_attn_decg_r<R>_<DK> the decode kernel for head dims 64 / 128 of
//                           aligned unit-stride k / v rows, R of 1 to 4
//                           rows: a group of DK / 8 lanes a key
//                           (AttentionDecodeGroup.cuh).
//   tfc_attn_mma_<T>_<D>_w4 f16 / bf16 tensor cores (mma.sync m16n8k16, f32
//                           accumulation) in FlashAttention-2's layout: 4
//                           warps a block, a warp per 16 query rows, S, P
//                           and O in registers, Q / K / V rows in shared
//                           memory.
//                           Variants (AttentionMma.cuh): _ms_ (D 32, a
//                           shared mask_add row staged per key tile; the
//                           default there) and _ks_ (D 64, a shared
//                           mask_keep row staged; the default there).
//   tfc_attn_rope_write     a rope call's rotary and cache writes ahead of
//                           any kernel but tfc_attn_decg_* (which does
//                           them itself): rot(q) into a dense copy, the new
//                           K / V rows into the cache.
//
//===----------------------------------------------------------------------===//

#include "AttentionDecode.cuh"
#include "AttentionDecodeGroup.cuh"
#include "AttentionF32.cuh"
#include "AttentionMma.cuh"

using tfcrt::cuda::GpuAttnArgs;
using namespace tfcrt::cuda::attn_device;

/// A kernel launched with programmatic dependent launch waits for the one
/// before it (its stores visible) before reading anything, then lets the
/// next one be scheduled.
__device__ __forceinline__ void pdlEnter(const GpuAttnArgs &a) {
  if (a.pdl)
    asm volatile("griddepcontrol.wait;\n\tgriddepcontrol.launch_dependents;" ::
                     : "memory");
}

#define TFC_ATTN_SIMT(D)                                                       \
  extern "C" __global__ void __launch_bounds__(                               \
      tfcrt::cuda::kSimtRows * tfcrt::cuda::kSimtSplit)                        \
      tfc_attn_simt_##D(GpuAttnArgs a) {                                       \
    pdlEnter(a);                                                               \
    attnSimt<D>(a);                                                            \
  }
#define TFC_ATTN_TILE(D)                                                       \
  extern "C" __global__ void __launch_bounds__(256, 2)                         \
      tfc_attn_tile_##D(GpuAttnArgs a) {                                       \
    pdlEnter(a);                                                               \
    attnTile<D>(a);                                                            \
  }
TFC_ATTN_TILE(16)
TFC_ATTN_TILE(32)
TFC_ATTN_TILE(64)
TFC_ATTN_TILE(128)

TFC_ATTN_SIMT(256)

// Blocks per SM the tensor-core kernels at head dim 32 ask the compiler to
// fit (registers capped to match); unset: no cap. An experiment's knob
// (cmake -DTFC_ATTN_NVCC_FLAGS=-DTFC_ATTN_MMA_MIN_BLOCKS=4: 128 registers,
// 4 blocks of 4 warps per SM instead of 3 at 167 registers). Measured on
// the H200: slower (MiniLM b32 f16 37 -> 41 us; docs/PERFORMANCE.md).
#ifdef TFC_ATTN_MMA_MIN_BLOCKS
#define TFC_ATTN_MMA_LB32(W) __launch_bounds__(32 * W, TFC_ATTN_MMA_MIN_BLOCKS)
#else
#define TFC_ATTN_MMA_LB32(W) __launch_bounds__(32 * W)
#endif
#define TFC_ATTN_MMA(NAME, T, D, W, BOUNDS)                                    \
  extern "C" __global__ void BOUNDS tfc_attn_mma_##NAME##_##D##_w##W(          \
      GpuAttnArgs a) {                                                         \
    pdlEnter(a);                                                               \
    attnMma<T, D, W>(a);                                                       \
  }
#define TFC_ATTN_MMA_W(NAME, T, D)                                             \
  TFC_ATTN_MMA(NAME, T, D, 4, __launch_bounds__(32 * 4))
TFC_ATTN_MMA(f16, __half, 32, 4, TFC_ATTN_MMA_LB32(4))
TFC_ATTN_MMA_W(f16, __half, 64)
TFC_ATTN_MMA_W(f16, __half, 128)
TFC_ATTN_MMA(bf16, __nv_bfloat16, 32, 4, TFC_ATTN_MMA_LB32(4))
TFC_ATTN_MMA_W(bf16, __nv_bfloat16, 64)
TFC_ATTN_MMA_W(bf16, __nv_bfloat16, 128)
// A mask_add shared by every head and query row staged per key tile
// (default; TFC_ATTN_MMA_MASK=0 off; AttentionMma.cuh, MS):
// tfc_attn_mma_ms_{f16,bf16}_32_w4.
#define TFC_ATTN_MMA_MS(NAME, T)                                               \
  extern "C" __global__ void TFC_ATTN_MMA_LB32(4)                             \
      tfc_attn_mma_ms_##NAME##_32_w4(GpuAttnArgs a) {                          \
    pdlEnter(a);                                                               \
    attnMma<T, 32, 4, true>(a);                                                \
  }
TFC_ATTN_MMA_MS(f16, __half)
TFC_ATTN_MMA_MS(bf16, __nv_bfloat16)
// A shared mask_keep row staged per key tile (default; TFC_ATTN_MMA_KEEP=0
// off; AttentionMma.cuh, KS): tfc_attn_mma_ks_{f16,bf16}_64_w4.
#define TFC_ATTN_MMA_KS(NAME, T)                                               \
  extern "C" __global__ void __launch_bounds__(32 * 4)                        \
      tfc_attn_mma_ks_##NAME##_64_w4(GpuAttnArgs a) {                          \
    pdlEnter(a);                                                               \
    attnMma<T, 64, 4, false, true>(a);                                         \
  }
TFC_ATTN_MMA_KS(f16, __half)
TFC_ATTN_MMA_KS(bf16, __nv_bfloat16)

// tfc_attn_dec_r<R>_<DK> (f32), tfc_attn_dec_f16_r<R>_<DK> and
// tfc_attn_dec_bf16_r<R>_<DK> (q, k, v rounded to the half type).
#define TFC_ATTN_DEC_M(PRE, MODE, R, DK)                                       \
  extern "C" __global__ void __launch_bounds__(32 * tfcrt::cuda::kDecWarps)   \
      tfc_attn_dec_##PRE##r##R##_##DK(GpuAttnArgs a) {                         \
    pdlEnter(a);                                                               \
    attnDecode<R, DK, MODE>(a);                                                \
  }
#define TFC_ATTN_DEC(R, DK)                                                    \
  TFC_ATTN_DEC_M(, 0, R, DK)                                                   \
  TFC_ATTN_DEC_M(f16_, 1, R, DK) TFC_ATTN_DEC_M(bf16_, 2, R, DK)
#define TFC_ATTN_DEC_R(R)                                                      \
  TFC_ATTN_DEC(R, 32) TFC_ATTN_DEC(R, 64) TFC_ATTN_DEC(R, 128)                 \
      TFC_ATTN_DEC(R, 256)
TFC_ATTN_DEC_R(1)
TFC_ATTN_DEC_R(2)
TFC_ATTN_DEC_R(4)
TFC_ATTN_DEC_R(8)

/// Before the PDL wait of a decode call (GpuAttnArgs::prefetch): the K and
/// V rows of the block's first chunk of keys (at most 256) that are causal
/// for the last query row and kept by the block's first row's mask_keep
/// are asked of L2 (prefetch.global.L2: a hint, coherent with the writes of
/// the kernel before, so its cache rows, written while this runs, are read
/// right after the wait; the mask bytes read here may be stale for the same
/// reason, which costs a useless or a missing prefetch, never a result).
/// The older rows come from HBM while the kernel before still runs. (A
/// rope call's k_new and v_new, which the kernel before writes, are not
/// read here.)
template <int R, int DK>
__device__ __forceinline__ void decodePrefetch(const GpuAttnArgs &a) {
  const int rgs = static_cast<int>(a.rowGroups);
  const int kvh = static_cast<int>(blockIdx.y) / rgs;
  const int rg = static_cast<int>(blockIdx.y) % rgs;
  const long long bi = blockIdx.z;
  const long long kBeg = blockIdx.x * a.chunk;
  long long kEnd = kBeg + (a.chunk < 256 ? a.chunk : 256);
  kEnd = kEnd < a.t ? kEnd : a.t;
  const int G = static_cast<int>(a.hq / a.hkv), s32 = static_cast<int>(a.s);
  const int rr = rg * R;
  const unsigned char *keep =
      a.keep ? a.keep + bi * a.keepS[0] + (kvh * G + rr / s32) * a.keepS[1] +
                   (rr % s32) * a.keepS[2]
             : nullptr;
  const float *kb = a.k + bi * a.ks[0] + kvh * a.ks[1];
  const float *vb = a.v + bi * a.vs[0] + kvh * a.vs[1];
  for (long long j = kBeg + threadIdx.x; j < kEnd; j += blockDim.x) {
    if ((a.causal && j > a.t - 1) || (keep && !keep[j * a.keepS[3]]))
      continue;
#pragma unroll
    for (int c = 0; c < DK; c += 32) { // 128-byte lines of f32 rows
      asm volatile("prefetch.global.L2 [%0];" ::"l"(kb + j * a.ks[2] + c));
      asm volatile("prefetch.global.L2 [%0];" ::"l"(vb + j * a.vs[2] + c));
    }
  }
}

// tfc_attn_decg_[f16_|bf16_]r<R>_<DK>: the lane-group decode kernel
// (AttentionDecodeGroup.cuh), R in 1 to 4, DK in 64 and 128.
#define TFC_ATTN_DECG_M(PRE, MODE, R, DK)                                      \
  extern "C" __global__ void __launch_bounds__(32 * tfcrt::cuda::kDecWarps)    \
      tfc_attn_decg_##PRE##r##R##_##DK(                                        \
          const __grid_constant__ GpuAttnArgs a) {                             \
    /* A rope call's position: an input staged before the run (device   */    \
    /* memory in a step whose scalars are read on the device only, else  */    \
    /* pinned host memory), asked for before the wait, used after it.    */    \
    const long long past = a.rope ? *a.past : 0;                               \
    if (a.prefetch)                                                            \
      decodePrefetch<R, DK>(a);                                                \
    pdlEnter(a);                                                               \
    attnDecodeGroup<R, DK, MODE>(a, past);                                     \
  }
#define TFC_ATTN_DECG(R, DK)                                                   \
  TFC_ATTN_DECG_M(, 0, R, DK)                                                  \
  TFC_ATTN_DECG_M(f16_, 1, R, DK) TFC_ATTN_DECG_M(bf16_, 2, R, DK)
#define TFC_ATTN_DECG_R(R) TFC_ATTN_DECG(R, 64) TFC_ATTN_DECG(R, 128)
TFC_ATTN_DECG_R(1)
TFC_ATTN_DECG_R(2)
TFC_ATTN_DECG_R(3)
TFC_ATTN_DECG_R(4)

/// tfcrt_gpu_attention_*_rope's rotary and cache writes (GpuAttnArgs::rope)
/// for the kernels that do not take them: rot(q) into a.qRot [b, hq, s, d]
/// (dense), then rot(kNew) and vNew into rows past + i of the cache; a
/// thread an element, in a grid-stride loop. Launched with PDL like the
/// others: everything it reads (q, kNew, vNew, past) may be the previous
/// kernel's output.
extern "C" __global__ void __launch_bounds__(256)
    tfc_attn_rope_write(const __grid_constant__ GpuAttnArgs a) {
  pdlEnter(a);
  const long long past = *a.past;
  const long long nq = a.b * a.hq * a.s * a.d, nk = a.b * a.hkv * a.s * a.d;
  const long long n = nq + nk + a.b * a.hkv * a.s * a.dv;
  const long long step = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long e =
           blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
       e < n; e += step) {
    if (e < nq) {
      long long r = e / a.d;
      const long long c = e - r * a.d, i = r % a.s;
      r /= a.s;
      const long long h = r % a.hq, bi = r / a.hq;
      a.qRot[e] = ropeAt(a, a.q + bi * a.qs[0] + h * a.qs[1] + i * a.qs[2],
                         a.qs[3], bi, h, i, c);
      continue;
    }
    // A key element (e < nq + nk), else a value element: (bi, g, i, c).
    const bool key = e < nq + nk;
    const long long w = key ? a.d : a.dv;
    long long r = key ? e - nq : e - nq - nk;
    const long long c = r % w;
    r /= w;
    const long long i = r % a.s;
    r /= a.s;
    const long long g = r % a.hkv, bi = r / a.hkv, j = past + i;
    if (j < 0 || j >= a.t)
      continue;
    // (k and v are the cache: this call's to write.)
    if (key)
      const_cast<float *>(
          a.k)[bi * a.ks[0] + g * a.ks[1] + j * a.ks[2] + c * a.ks[3]] =
          ropeAt(a, a.kNew + bi * a.kNewS[0] + g * a.kNewS[1] + i * a.kNewS[2],
                 a.kNewS[3], bi, g, i, c);
    else
      const_cast<float *>(
          a.v)[bi * a.vs[0] + g * a.vs[1] + j * a.vs[2] + c * a.vs[3]] =
          a.vNew[bi * a.vNewS[0] + g * a.vNewS[1] + i * a.vNewS[2] +
                 c * a.vNewS[3]];
  }
}
