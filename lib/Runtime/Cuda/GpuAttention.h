//===- GpuAttention.h - the fused GPU attention kernels' contract -*- C++ -*-===//
//
// Shared by the kernels (AttentionKernels.cu, compiled by nvcc into a fatbin
// embedded in libtfcrt) and their host side (AttentionLaunch.cpp,
// GpuAttention.cpp): one call's arguments as a plain struct passed by value
// to every kernel, and the kernels' tile sizes and shared-memory layout.
//
// Semantics are those of tfcrt_attention_f32 (include/tfc/Runtime/
// tfc_kernels.h, lib/Runtime/Attention/Attention.h): q [b, hq, s, d], k [b,
// hkv, t, d], v [b, hkv, t, dv], out [b, hq, s, dv], any element strides;
// query row i at position i + t - s; score = scale * q.k + mask_add, keys
// hidden by the structure (causal, window + sinks, block, layout) or by
// mask_keep weigh nothing; a row that sees no key is 0.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_GPUATTENTION_H
#define TFC_LIB_RUNTIME_CUDA_GPUATTENTION_H

namespace tfcrt::cuda {

/// One attention call on device pointers (offsets applied; strides in
/// elements; masks with stride 0 on broadcast dims; null = absent).
struct GpuAttnArgs {
  const float *q, *k, *v;
  float *out;
  const unsigned char *keep;
  const float *add;
  const unsigned char *layout;
  long long qs[4], ks[4], vs[4], os[4], keepS[4], addS[4], layoutS[2];
  long long b, hq, hkv, s, t, d, dv;
  long long window, sinks, block, layoutBlock;
  float scale;
  int causal;
  // The decode kernel (tfc_attn_dec_*) only: keys split over `splits`
  // blocks of `chunk` keys, rows in `rowGroups` groups of R; partials in
  // `part`, one arrival counter per (item, kv head, row group) in `count`
  // (zero between calls); q / k / v rounded to f16 (round 1) or bf16 (2).
  float *part;
  unsigned *count;
  long long splits, chunk, rowGroups;
  int round;
  // Launched with programmatic dependent launch: every kernel first waits
  // for the previous one in the stream (griddepcontrol).
  int pdl;
  // out's element type: 0 f32, 1 f16, 2 bf16 (each element computed in f32
  // and rounded to nearest even as it is stored).
  int outType;
  // The general decode kernel only: value rows loaded eight keys at a time
  // (default; TFC_ATTN_DEC_FAST=0 turns it off).
  int fast;
  // The decode kernels: the splits of a slot are one thread block cluster
  // (grid x = splits <= kDecClusterMax) and merge through distributed
  // shared memory (AttentionDecode.cuh, decodeFinish); part / count unused.
  int cmerge;
  // The lane-group decode kernel launched with PDL: before its wait, the
  // block asks L2 for the K and V rows of its first chunk's keys that the
  // mask lets it see (a hint only: TFC_ATTN_DEC_PREFETCH=0 off).
  int prefetch;
  // tfcrt_gpu_attention_*_rope: q is the query before its rotary and k / v
  // the cache views; for each i < s with 0 <= *past + i < t, key row
  // *past + i becomes rot(kNew row i) and value row *past + i vNew row i
  // (rot: tfc_kernels.h; cos / sin row i at [bi, head, i], stride 0 on
  // their broadcast dims). rope: the lane-group decode kernel does all of
  // it (q rotated in registers, each block writing the new rows of its key
  // range before it loads any); tfc_attn_rope_write does it ahead of any
  // other kernel, writing rot(q) into qRot [b, hq, s, d] (dense), which
  // that kernel then reads as q. past is read after the PDL wait, where the
  // kernel runs: a replayed graph serves every position.
  const float *kNew, *vNew, *cos, *sin;
  const long long *past;
  float *qRot;
  long long kNewS[4], vNewS[4], cosS[4], sinS[4];
  int rope;
  // The tensor-core kernels (tfc_attn_mma_*) read `splits` too: above 1,
  // grid x is row blocks x splits, the splits of a row block are one
  // thread block cluster along x, split r walks key tiles r, r + splits, ...
  // and the cluster merges the partials through distributed shared memory
  // (AttentionMma.cuh, mmaClusterMerge); a power of 2 <= kMmaSplitMax.
  // heavyFirst: the tensor-core kernels' grid x is row blocks x heads x
  // splits (y 1), the row block slowest and reversed: every head's last
  // row block (a causal call's longest) is scheduled before any head's
  // first, and the short ones fill in the tail.
  int heavyFirst;
};

/// The f32 kernel for head dims 129 to 256 (tfc_attn_simt_256): kSimtSplit
/// threads per query row (each with D / kSimtSplit of q and of the
/// accumulator in registers), kSimtRows rows a block, key tiles of
/// kSimtKeys(D) keys staged in shared memory.
constexpr int kSimtRows = 64, kSimtSplit = 4;
constexpr int kSimtKeys(int D) { return D >= 128 ? 16 : 32; }

/// The f32 register-tile kernels (tfc_attn_tile_<D>, D in 16, 32, 64, 128):
/// 256 threads, 64 query rows x 64 keys a tile, each thread 4 rows x 4 keys
/// of S and 4 rows x D / 16 columns of O; Q^T, K^T, V and P^T in (dynamic)
/// shared memory, rows padded by 4 floats.
constexpr int kTileRows = 64, kTileKeys = 64;
constexpr long long tileSmemBytes(int D) {
  return ((long long)D * (kTileRows + 4) + (long long)D * (kTileKeys + 4) +
          (long long)kTileKeys * (D + 4) +
          (long long)kTileKeys * (kTileRows + 4)) *
         4;
}

/// The tensor-core kernels (tfc_attn_mma_{f16,bf16}_<D>_w4, D in 32, 64,
/// 128): kMmaWarps warps of 16 query rows, key tiles of 64; q, k, v
/// rounded to the half type in shared memory as rows (Q [16 W][ldq],
/// K [64][ldq], V [64][ldq]; P V's B fragments come from V's rows through
/// ldmatrix.trans), scores, probabilities and the output in registers.
constexpr int kMmaKeys = 64, kMmaWarps = 4;
constexpr int mmaLdq(int D) { return D + 8; } // half elements
constexpr long long mmaSmemBytes(int D, int W) {
  return (long long)(16 * W + 2 * kMmaKeys) * mmaLdq(D) * 2 +
         (long long)kMmaKeys * 4;
}
/// The staged-keep variant (tfc_attn_mma_ks_*) adds a key tile's keep bytes.
constexpr long long mmaKsSmemBytes(int D, int W) {
  return mmaSmemBytes(D, W) + kMmaKeys;
}
/// A row block's key tiles split over a cluster of up to kMmaSplitMax blocks
/// (GpuAttnArgs::splits > 1 on an mma launch; AttentionMma.cuh,
/// mmaClusterMerge): after its tiles each block leaves its unnormalized
/// output (rows mmaLdp(D) floats apart), the rows' max and sum in the shared
/// memory that held Q, K and V, and the merge's per-split weights and
/// 1 / sum beside them.
constexpr int kMmaSplitMax = 8;
constexpr int mmaLdp(int D) { return D + 8; } // floats
constexpr long long mmaSplitSmemBytes(int D, int W) {
  return ((long long)16 * W * mmaLdp(D) + 16LL * W * (3 + kMmaSplitMax)) * 4;
}
/// Whether a prefill call runs the tensor-core kernels: half-precision
/// operands (not f32) and head dims (the larger of d, dv) up to 128. Only
/// those read GpuAttnArgs::splits and heavyFirst; the f32 tile and SIMT
/// kernels index their grid as x = row block, y = head (setting heavyFirst
/// for them failed every f32 case, 2026-12-06). Host code; tfcrt-tests
/// checks it.
constexpr bool mmaTakes(bool f32, long long dmax) {
  return !f32 && dmax <= 128;
}

/// The splits of a tensor-core call (1 for none): `blocks` row blocks x
/// heads x items, `tiles` key tiles of the longest row, `sms`
/// multiprocessors. Split only where the blocks leave multiprocessors idle;
/// the largest power of 2 <= maxSplits (and kMmaSplitMax) that leaves each
/// split at least minTiles tiles. Host code; tfcrt-tests checks it.
constexpr int mmaSplitCount(long long blocks, long long tiles, int sms,
                            int maxSplits, int minTiles) {
  if (blocks >= sms)
    return 1;
  int s = 1;
  while (s * 2 <= maxSplits && s * 2 <= kMmaSplitMax &&
         tiles >= (long long)s * 2 * minTiles)
    s *= 2;
  return s;
}
static_assert(mmaSplitSmemBytes(32, kMmaWarps) <= mmaSmemBytes(32, kMmaWarps) &&
                  mmaSplitSmemBytes(64, kMmaWarps) <=
                      mmaSmemBytes(64, kMmaWarps) &&
                  mmaSplitSmemBytes(128, kMmaWarps) <=
                      mmaSmemBytes(128, kMmaWarps),
              "the split partials fit where Q, K and V were");

/// The decode kernels (tfc_attn_dec_r<R>_<DK>, R in 1, 2, 4, 8 rows a
/// block, DK in 32, 64, 128, 256): calls with at most kDecMaxS query rows,
/// kDecWarps warps a block, one key per lane; a split's partial is
/// decPartFloats(R, DK) floats (R x DK unnormalized outputs, then each
/// row's max and sum). The scratch buffer a launch may use starts with
/// kDecCounters arrival counters (zeroed once), then the partials.
constexpr int kDecWarps = 4, kDecMaxS = 8;
constexpr long long kDecCounters = 16384;
/// The most splits a call's keys take (the last block keeps a weight per
/// split and row in shared memory).
constexpr long long kDecMaxSplits = 128;
/// The most splits that merge as one thread block cluster (GpuAttnArgs::
/// cmerge): the portable cluster size.
constexpr int kDecClusterMax = 8;
/// A partial: R x DK outputs, then each row's max and sum, padded to whole
/// float4s (the merge reads and writes it in float4s).
constexpr long long decPartFloats(int R, int DK) {
  return (long long)R * DK + (2LL * R + 3) / 4 * 4;
}

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_GPUATTENTION_H
