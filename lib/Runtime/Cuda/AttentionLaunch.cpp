//===- AttentionLaunch.cpp - loads and launches the fused attention kernels ===//
//
// TFC_ENABLE_CUDA=ON only. The kernels (AttentionKernels.cu) are compiled by
// nvcc at build time into a fatbin that CMake embeds as the byte array
// tfcrt_attention_fatbin; the first call loads it into device 0's primary
// context (cuModuleLoadDataEx), resolves every kernel and allows the
// tensor-core ones their dynamic shared memory. A call then picks the kernel
// by mode and head dim and launches it on the given stream (asynchronous,
// capturable into a CUDA graph: no allocation, no synchronization). Calls of
// at most kDecMaxS query rows (decode steps) take the decode kernel
// (TFC_ATTN_DECODE=0 turns it off), which splits the keys over enough blocks to
// fill the GPU when it has scratch memory for the partials (the model's,
// DeviceRun's attnScratch). A rope call (tfcrt_gpu_attention_*_rope) runs
// whole in the lane-group decode kernel where that kernel takes it
// (ropeFused), else as tfc_attn_rope_write, which leaves the rotated query
// in a block of the run's pool, and the call's kernel on that copy.
//
//===----------------------------------------------------------------------===//

#include "AttentionLaunch.h"
#include "Cuda.h"
#include "CudaDriver.h"
#include "DeviceRun.h"
#include "GpuAttention.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>

extern "C" const unsigned char tfcrt_attention_fatbin[];

namespace tfcrt::cuda {
namespace {

constexpr int kTileDims[] = {16, 32, 64, 128};
constexpr int kMmaDims[] = {32, 64, 128};
constexpr int kDecRowsList[] = {1, 2, 4, 8};
constexpr int kDecDims[] = {32, 64, 128, 256};

struct AttnModule {
  bool ok = false;
  std::string error;
  CUfunction tile[4] = {}; // f32 register tiles, head dims up to 128
  CUfunction simt256 = {};  // f32, head dims 129 to 256
  CUfunction mma[2][3] = {}; // [f16, bf16][32, 64, 128]
  CUfunction mmaMs[2] = {};  // head dim 32 with a staged shared mask_add:
                             // [f16, bf16] (not loaded with TFC_ATTN_MMA_MASK=0)
  CUfunction mmaKs[2] = {};  // head dim 64, a shared keep row staged:
                             // [f16, bf16] (not loaded with TFC_ATTN_MMA_KEEP=0)
  CUfunction dec[3][4][4] = {}; // [f32, f16, bf16][1, 2, 4, 8 rows]
                                // [32, 64, 128, 256]
  CUfunction decGroup[3][4][2] = {}; // tfc_attn_decg_*: [f32, f16, bf16]
                                     // [1 to 4 rows][64, 128]
  CUfunction ropeWrite = {};         // tfc_attn_rope_write
  int sms = 0;                // multiprocessors of device 0
};

/// The tensor-core kernel at head dim 32 stages a mask_add shared by every
/// head and query row in shared memory per key tile (AttentionMma.cuh, MS),
/// unless TFC_ATTN_MMA_MASK=0. On since tfcrt-gpu-attention-test passed with
/// it on an H100 (2026-12-05), where MiniLM's 32x128 call went from 38.3 to
/// 31.0 us and its 1x128 call from 19.4 to 15.0 us (docs/PERFORMANCE.md).
bool mmaMaskStage() {
  static const bool on = envSwitch("TFC_ATTN_MMA_MASK", true);
  return on;
}

/// The tensor-core kernel at head dim 64 stages a mask_keep row shared by
/// every head and query row per key tile (AttentionMma.cuh, KS), unless
/// TFC_ATTN_MMA_KEEP=0. On since tfcrt-gpu-attention-test passed with it on
/// an H100 (2026-12-05), where SmolLM2's 512-token prefill call went from
/// 105 to 56 us (docs/PERFORMANCE.md).
bool mmaKeepStage() {
  static const bool on = envSwitch("TFC_ATTN_MMA_KEEP", true);
  return on;
}

/// Whether a call's K and V rows are whole, 16-byte-aligned float4 groups
/// (unit column stride, every stride a multiple of 4 floats, bases
/// aligned): the lane-group decode kernel's float4 loads.
bool kvRowsAligned(const attn::Params &p) {
  auto ok = [&](const float *base, const int64_t *st, int64_t cols) {
    return st[3] == 1 && st[2] % 4 == 0 && cols % 4 == 0 &&
           (p.b == 1 || st[0] % 4 == 0) && (p.hkv == 1 || st[1] % 4 == 0) &&
           (reinterpret_cast<uintptr_t>(base) & 15) == 0;
  };
  return ok(p.k, p.ks, p.d) && ok(p.v, p.vs, p.dv);
}

/// The lane-group decode kernel (AttentionDecodeGroup.cuh) where the call's
/// layout allows it (decodeGroupFits), unless TFC_ATTN_DEC_GROUP=0.
bool decodeGroup() {
  static const bool on = envSwitch("TFC_ATTN_DEC_GROUP", true);
  return on;
}

/// Splits of at most kDecClusterMax blocks merge as one thread block
/// cluster through distributed shared memory (AttentionDecode.cuh,
/// decodeFinish) unless TFC_ATTN_DEC_CLUSTER=0: the global merge's fence,
/// atomic and L2 round trips are most of a short decode call's time.
bool decodeCluster() {
  static const bool on = envSwitch("TFC_ATTN_DEC_CLUSTER", true);
  return on;
}

/// TFC_ATTN_DEC_PREFETCH (default on): GpuAttnArgs::prefetch.
bool decodePrefetch() {
  static const bool on = envSwitch("TFC_ATTN_DEC_PREFETCH", true);
  return on;
}

/// A rope call that the lane-group decode kernel can take runs there whole
/// (GpuAttnArgs::rope) unless TFC_ATTN_ROPE=0: tfc_attn_rope_write and the
/// kernel, as every other rope call.
bool ropeInKernel() {
  static const bool on = envSwitch("TFC_ATTN_ROPE", true);
  return on;
}

/// Whether the lane-group decode kernel takes a call: head dim 64 or 128
/// for both products, k and v rows whose float4 groups are 16-byte aligned
/// (kvRowsAligned).
bool decodeGroupFits(const attn::Params &p) {
  return p.d == p.dv && (p.d == 64 || p.d == 128) && kvRowsAligned(p);
}

const AttnModule &attnModule(const Driver *d) {
  static std::mutex mutex;
  static AttnModule *mod = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (mod)
    return *mod;
  mod = new AttnModule();
  CUmodule m = nullptr;
  CUresult r = d->cuModuleLoadDataEx(&m, tfcrt_attention_fatbin, 0, nullptr,
                                     nullptr);
  if (r != CUDA_SUCCESS) {
    mod->error = format("cannot load the attention kernels' fatbin (%s): this "
                        "libtfcrt has them for sm_90 (and PTX for newer)",
                        resultName(d, r));
    return *mod;
  }
  auto get = [&](const std::string &name, CUfunction &f) {
    if (d->cuModuleGetFunction(&f, m, name.c_str()) != CUDA_SUCCESS) {
      mod->error = "the attention fatbin lacks kernel " + name;
      return false;
    }
    return true;
  };
  if (!get("tfc_attn_simt_256", mod->simt256))
    return *mod;
  auto allowSmem = [&](CUfunction f, const std::string &name, long long b) {
    const int bytes = static_cast<int>(b);
    if (d->cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                              bytes) != CUDA_SUCCESS) {
      mod->error = format("cannot give %s %d bytes of shared memory",
                          name.c_str(), bytes);
      return false;
    }
    return true;
  };
  for (int i = 0; i < 4; ++i) {
    const std::string name = format("tfc_attn_tile_%d", kTileDims[i]);
    if (!get(name, mod->tile[i]) ||
        !allowSmem(mod->tile[i], name, tileSmemBytes(kTileDims[i])))
      return *mod;
  }
  const char *types[2] = {"f16", "bf16"};
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < 3; ++i) {
      CUfunction &f = mod->mma[t][i];
      const std::string name = format("tfc_attn_mma_%s_%d_w%d", types[t],
                                      kMmaDims[i], kMmaWarps);
      if (!get(name, f) ||
          !allowSmem(f, name, mmaSmemBytes(kMmaDims[i], kMmaWarps)))
        return *mod;
    }
  // The tensor-core variants an environment switch asks for:
  // tfc_attn_mma_<kind>_{f16,bf16}_<D>_w4.
  auto variant = [&](bool on, const char *kind, int dim, CUfunction (&fs)[2],
                     long long bytes) {
    if (!on)
      return true;
    for (int t = 0; t < 2; ++t) {
      const std::string name =
          format("tfc_attn_mma_%s_%s_%d_w%d", kind, types[t], dim, kMmaWarps);
      if (!get(name, fs[t]) || !allowSmem(fs[t], name, bytes))
        return false;
    }
    return true;
  };
  if (!variant(mmaMaskStage(), "ms", 32, mod->mmaMs,
               mmaSmemBytes(32, kMmaWarps)) ||
      !variant(mmaKeepStage(), "ks", 64, mod->mmaKs,
               mmaKsSmemBytes(64, kMmaWarps)))
    return *mod;
  const char *decPre[3] = {"", "f16_", "bf16_"};
  for (int t = 0; t < 3; ++t)
    for (int r = 0; r < 4; ++r)
      for (int i = 0; i < 4; ++i)
        if (!get(format("tfc_attn_dec_%sr%d_%d", decPre[t], kDecRowsList[r],
                        kDecDims[i]),
                 mod->dec[t][r][i]))
          return *mod;
  for (int t = 0; t < 3; ++t)
    for (int r = 0; r < 4; ++r)
      for (int i = 0; i < 2; ++i)
        if (!get(format("tfc_attn_decg_%sr%d_%d", decPre[t], r + 1,
                        i ? 128 : 64),
                 mod->decGroup[t][r][i]))
          return *mod;
  if (!get("tfc_attn_rope_write", mod->ropeWrite))
    return *mod;
  mod->sms = multiprocessors(d);
  mod->ok = true;
  return *mod;
}

/// TFC_ATTN_DECODE_CHUNK: the fewest keys a decode block takes (default 64;
/// a multiple of 32) — an experiment's knob.
long long decodeMinChunk() {
  static const long long v = [] {
    const char *e = std::getenv("TFC_ATTN_DECODE_CHUNK");
    long long x = e && *e ? std::atoll(e) : 64;
    return x >= 32 ? (x + 31) / 32 * 32 : 64;
  }();
  return v;
}

/// The tensor-core kernels split a row block's key tiles over a cluster of
/// blocks (GpuAttnArgs::splits; AttentionMma.cuh, mmaClusterMerge) when the
/// call's row blocks leave multiprocessors idle: TFC_ATTN_MMA_SPLIT is the
/// most splits (default 2; 1 or 0 off, at most kMmaSplitMax) and
/// TFC_ATTN_MMA_SPLIT_TILES the fewest key tiles a split takes (default 2).
/// A causal prefill of 512 rows has 8 row blocks a head, the last of them 8
/// key tiles in series. Measured on an H100 (SmolLM2's bf16 prefill of 512,
/// 2026-12-06): the call 50 us unsplit, 33 us with 2 splits, 36 with 4
/// (288 blocks of 248 registers: a second wave), the whole prefill 3.37 /
/// 2.55 / 2.71 ms.
int mmaSplitMax() {
  // mmaSplitCount rounds and caps it.
  static const int v = envInt("TFC_ATTN_MMA_SPLIT", 2);
  return v;
}
int mmaSplitTiles() {
  static const int v = [] {
    const int x = envInt("TFC_ATTN_MMA_SPLIT_TILES", 2);
    return x >= 1 ? x : 2;
  }();
  return v;
}

/// TFC_ATTN_MMA_HEAVY_FIRST=1: the tensor-core kernels schedule every
/// head's last row block first (GpuAttnArgs::heavyFirst; an experiment's
/// knob, default off).
bool mmaHeavyFirst() {
  static const bool on = envSwitch("TFC_ATTN_MMA_HEAVY_FIRST", false);
  return on;
}

/// The splits of an mma call of `rowBlocks` row blocks a head
/// (mmaSplitCount with the environment's knobs).
int mmaSplits(const attn::Params &p, unsigned rowBlocks, int sms) {
  return mmaSplitCount((long long)rowBlocks * p.hq * p.b,
                       (p.t + kMmaKeys - 1) / kMmaKeys, sms, mmaSplitMax(),
                       mmaSplitTiles());
}

/// Calls of few rows take the decode kernel unless TFC_ATTN_DECODE=0 (it
/// passed tfcrt-gpu-attention-test on an H100 on 2026-12-05 and made
/// SmolLM2's bf16 decode step 3.3 -> 2.0 ms; docs/PERFORMANCE.md).
bool decodeKernelOn() {
  static const bool on = envSwitch("TFC_ATTN_DECODE", true);
  return on;
}

/// launch()'s choice of the decode kernels for a call (few query rows, head
/// dims up to 256)...
bool decodeTakes(const attn::Params &p) {
  const int64_t dmax = p.d > p.dv ? p.d : p.dv;
  return p.s <= kDecMaxS && dmax <= 256 && decodeKernelOn();
}

/// ... and of the lane-group one among them.
bool groupTakes(const attn::Params &p) {
  return decodeGroup() && decodeGroupFits(p);
}

/// The general decode kernel's value loads eight keys at a time
/// (AttentionDecode.cuh), unless TFC_ATTN_DEC_FAST=0. On by default since
/// tfcrt-gpu-attention-test passed with it on an H100 (2026-12-05), where
/// with the one-pass merge of the splits it then came with (since replaced
/// by decodeFinish's) a SmolLM2 decode call took 15-20 % less time in f32
/// and 0-10 % less in bf16 (docs/PERFORMANCE.md).
bool decodeFast() {
  static const bool on = envSwitch("TFC_ATTN_DEC_FAST", true);
  return on;
}

/// After a launch: the kernel writes out (and its own scratch, which no
/// other kernel reads), for the next launch's lastLaunchMayWrite.
void noteOutWrites(const attn::Params &p) {
  const int64_t sizes[4] = {p.b, p.hq, p.s, p.dv};
  const uint64_t eb = p.outType == attn::Params::OutType::F32 ? 4 : 2;
  noteLaunchWrites(p.out, spanBytes(sizes, p.os, 4, eb));
}

/// After noteLaunchWrites, for a rope call's kernel: it also writes rows of
/// the cache views (which ones, only the device knows: past).
void noteCacheWrites(const attn::Params &p) {
  const int64_t ksz[4] = {p.b, p.hkv, p.t, p.d},
                vsz[4] = {p.b, p.hkv, p.t, p.dv};
  noteLaunchAlsoWrites(p.k, spanBytes(ksz, p.ks, 4, 4));
  noteLaunchAlsoWrites(p.v, spanBytes(vsz, p.vs, 4, 4));
}

/// GpuAttnArgs' rope fields from r.
void setRope(GpuAttnArgs &a, const AttnRope &r) {
  a.rope = 1;
  a.kNew = r.kNew;
  a.vNew = r.vNew;
  a.cos = r.cos;
  a.sin = r.sin;
  a.past = reinterpret_cast<const long long *>(r.past);
  for (int i = 0; i < 4; ++i) {
    a.kNewS[i] = r.kNewS[i];
    a.vNewS[i] = r.vNewS[i];
    a.cosS[i] = r.cosS[i];
    a.sinS[i] = r.sinS[i];
  }
}

/// The driver and the loaded kernels (null, with `error`, when either is
/// missing).
const AttnModule *loadedModule(const Driver *&d, std::string &error) {
  d = driver();
  if (!d) {
    error = "no CUDA driver";
    return nullptr;
  }
  const AttnModule &mod = attnModule(d);
  if (!mod.ok) {
    error = mod.error;
    return nullptr;
  }
  return &mod;
}

/// The kernel arguments every attention kernel (and tfc_attn_rope_write)
/// reads from the call: operands, strides, masks, shape, structure.
GpuAttnArgs callArgs(const attn::Params &p, bool pdl) {
  GpuAttnArgs a{};
  a.q = p.q;
  a.k = p.k;
  a.v = p.v;
  a.out = p.out;
  a.keep = p.keep;
  a.add = p.add;
  a.layout = p.layout;
  for (int i = 0; i < 4; ++i) {
    a.qs[i] = p.qs[i];
    a.ks[i] = p.ks[i];
    a.vs[i] = p.vs[i];
    a.os[i] = p.os[i];
    a.keepS[i] = p.keepS[i];
    a.addS[i] = p.addS[i];
  }
  a.layoutS[0] = p.layoutS[0];
  a.layoutS[1] = p.layoutS[1];
  a.b = p.b;
  a.hq = p.hq;
  a.hkv = p.hkv;
  a.s = p.s;
  a.t = p.t;
  a.d = p.d;
  a.dv = p.dv;
  a.window = p.window;
  a.sinks = p.sinks;
  a.block = p.block;
  a.layoutBlock = p.layoutBlock;
  a.scale = p.scale;
  a.causal = p.causal ? 1 : 0;
  a.pdl = pdl ? 1 : 0;
  a.outType = p.outType == attn::Params::OutType::BF16  ? 2
              : p.outType == attn::Params::OutType::F16 ? 1
                                                        : 0;
  return a;
}

/// launchAttention, or with `rope` a rope call that ropeFused takes.
bool launch(const attn::Params &p, AttnMode mode, void *stream,
            std::string &error, int64_t *grid, int64_t *block,
            const AttnScratch &scratch, bool pdl, const AttnRope *rope) {
  const Driver *d = nullptr;
  const AttnModule *loaded = loadedModule(d, error);
  if (!loaded)
    return false;
  const AttnModule &mod = *loaded;
  if (p.b == 0 || p.hq == 0 || p.s == 0 || p.dv == 0)
    return true; // an empty result
  if (p.hq > 65535 || p.b > 65535) {
    error = format("%lld heads or batch %lld exceed the grid (65535)",
                   (long long)p.hq, (long long)p.b);
    return false;
  }
  GpuAttnArgs a = callArgs(p, pdl);
  a.fast = decodeFast() ? 1 : 0;
  a.cmerge = 0;
  a.prefetch = pdl && decodePrefetch() ? 1 : 0;

  const int64_t dmax = p.d > p.dv ? p.d : p.dv;
  a.round = mode == AttnMode::F16 ? 1 : mode == AttnMode::BF16 ? 2 : 0;
  a.splits = a.chunk = a.rowGroups = 1;
  if (decodeTakes(p)) {
    // Rows of a block: the GQA group's heads x the query rows, up to 8.
    const long long rows = (p.hq / p.hkv) * p.s;
    const bool group = groupTakes(p);
    int ri = 0;
    while (ri < 3 && kDecRowsList[ri] < rows)
      ++ri;
    // The lane-group kernel: all the rows up to 4, else groups of 4.
    const int R = group ? static_cast<int>(rows < 4 ? rows : 4)
                        : kDecRowsList[ri];
    int di = 0;
    while (kDecDims[di] < dmax)
      ++di;
    a.rowGroups = (rows + R - 1) / R;
    const long long groups = p.b * p.hkv * a.rowGroups;
    if (p.hkv * a.rowGroups > 65535) {
      error = format("%lld kv heads x %lld row groups exceed the grid (65535)",
                     (long long)p.hkv, a.rowGroups);
      return false;
    }
    // Splits: about two blocks per multiprocessor, each of at least
    // decodeMinChunk keys, as many as the scratch holds.
    long long splits = (2LL * mod.sms + groups - 1) / groups;
    const long long minChunk = decodeMinChunk();
    const long long maxSplits = (p.t + minChunk - 1) / minChunk;
    if (splits > maxSplits)
      splits = maxSplits;
    if (splits > kDecMaxSplits)
      splits = kDecMaxSplits;
    const long long partBytes = decPartFloats(R, kDecDims[di]) * 4;
    const long long room =
        scratch.bytes > (uint64_t)kDecCounters * 4
            ? (long long)(scratch.bytes - kDecCounters * 4) / (groups * partBytes)
            : 0;
    if (splits > room)
      splits = room;
    if (groups > kDecCounters || splits < 2)
      splits = 1;
    // Chunks of whole 32-key tiles; the splits that cover t with them.
    a.chunk = ((p.t + splits - 1) / splits + 31) / 32 * 32;
    if (a.chunk < 32)
      a.chunk = 32;
    a.splits = std::max<long long>(1, (p.t + a.chunk - 1) / a.chunk);
    // The global merge's arrival counters and partials (one split or a
    // cluster merge needs neither).
    unsigned *count = reinterpret_cast<unsigned *>(scratch.base);
    float *part = reinterpret_cast<float *>(scratch.base + kDecCounters * 4);
    a.cmerge = a.splits > 1 && a.splits <= kDecClusterMax && decodeCluster();
    const bool global = a.splits > 1 && !a.cmerge;
    a.count = global ? count : nullptr;
    a.part = global ? part : nullptr;
    if (rope) {
      if (!group) { // ropeFused said it was
        error = "internal: a rope call outside the lane-group kernel";
        return false;
      }
      setRope(a, *rope);
    }
    CUfunction f = group ? mod.decGroup[a.round][R - 1][p.d == 128 ? 1 : 0]
                         : mod.dec[a.round][ri][di];
    const unsigned threads = 32 * kDecWarps;
    void *params[] = {&a};
    auto launch = [&] {
      return launchKernel(
          d, f, static_cast<unsigned>(a.splits),
          static_cast<unsigned>(p.hkv * a.rowGroups),
          static_cast<unsigned>(p.b), threads, 1, 1, 0,
          static_cast<CUstream>(stream), params, nullptr, pdl,
          a.cmerge ? static_cast<unsigned>(a.splits) : 0);
    };
    CUresult r = launch();
    if (r != CUDA_SUCCESS && a.cmerge) {
      // A device or partition that refuses the cluster: the global merge
      // (its scratch was sized above).
      a.cmerge = 0;
      a.count = count;
      a.part = part;
      r = launch();
    }
    if (r != CUDA_SUCCESS) {
      error = format("cuLaunchKernel failed (%s; decode kernel, grid %lld x "
                     "%lld x %lld)",
                     resultName(d, r), a.splits, p.hkv * a.rowGroups,
                     (long long)p.b);
      return false;
    }
    noteOutWrites(p);
    if (rope)
      noteCacheWrites(p);
    if (grid)
      *grid = a.splits * p.hkv * a.rowGroups * p.b;
    if (block)
      *block = threads;
    return true;
  }
  if (rope) {
    error = "internal: a rope call outside the decode kernels";
    return false;
  }
  CUfunction f = nullptr;
  unsigned threads = 0, smem = 0, rows = 0;
  const bool mma = mmaTakes(mode == AttnMode::F32, dmax);
  if (mma) {
    const int i = dmax <= 32 ? 0 : dmax <= 64 ? 1 : 2;
    const int t = mode == AttnMode::BF16 ? 1 : 0;
    // Variants (AttentionMma.cuh): a mask_add / mask_keep row shared by
    // every head and query row staged per key tile.
    const bool sharedAdd = p.add && p.addS[1] == 0 && p.addS[2] == 0;
    const bool sharedKeep = p.keep && p.keepS[1] == 0 && p.keepS[2] == 0;
    f = mod.mma[t][i];
    smem = static_cast<unsigned>(mmaSmemBytes(kMmaDims[i], kMmaWarps));
    if (i == 0 && sharedAdd && mod.mmaMs[t])
      f = mod.mmaMs[t];
    if (i == 1 && sharedKeep && mod.mmaKs[t]) {
      f = mod.mmaKs[t];
      smem = static_cast<unsigned>(mmaKsSmemBytes(64, kMmaWarps));
    }
    threads = 32 * kMmaWarps;
    rows = 16 * kMmaWarps;
  } else if (dmax <= 128) {
    int i = 0;
    while (kTileDims[i] < dmax)
      ++i;
    f = mod.tile[i];
    threads = 256;
    smem = static_cast<unsigned>(tileSmemBytes(kTileDims[i]));
    rows = kTileRows;
  } else if (dmax <= 256) {
    f = mod.simt256;
    threads = kSimtRows * kSimtSplit;
    rows = kSimtRows;
  } else {
    error = format("head dims %lld / %lld exceed 256", (long long)p.d,
                   (long long)p.dv);
    return false;
  }
  const unsigned gx = static_cast<unsigned>((p.s + rows - 1) / rows);
  // The tensor-core kernels: key tiles split over a cluster (mmaSplits).
  a.splits = mma ? mmaSplits(p, gx, mod.sms) : 1;
  a.heavyFirst = mma && mmaHeavyFirst();
  void *params[] = {&a};
  auto launchIt = [&] {
    const unsigned split = static_cast<unsigned>(a.splits);
    const unsigned hq = static_cast<unsigned>(p.hq);
    return launchKernel(d, f, gx * split * (a.heavyFirst ? hq : 1),
                        a.heavyFirst ? 1 : hq, static_cast<unsigned>(p.b),
                        threads, 1, 1, smem, static_cast<CUstream>(stream),
                        params, nullptr, pdl, split > 1 ? split : 0);
  };
  CUresult r = launchIt();
  if (r != CUDA_SUCCESS && a.splits > 1) {
    // A device or partition that refuses the cluster: unsplit.
    a.splits = 1;
    r = launchIt();
  }
  if (r != CUDA_SUCCESS) {
    error = format("cuLaunchKernel failed (%s; grid %u x %lld x %lld, %u "
                   "threads, %u bytes of shared memory)",
                   resultName(d, r), gx, (long long)p.hq, (long long)p.b,
                   threads, smem);
    return false;
  }
  noteOutWrites(p);
  if (grid)
    *grid = static_cast<int64_t>(gx) * a.splits * p.hq * p.b;
  if (block)
    *block = threads;
  return true;
}

} // namespace

bool launchAttention(const attn::Params &p, AttnMode mode, void *stream,
                     std::string &error, int64_t *grid, int64_t *block,
                     const AttnScratch &scratch, bool pdl) {
  return launch(p, mode, stream, error, grid, block, scratch, pdl, nullptr);
}

bool ropeFused(const attn::Params &p, const AttnRope &r) {
  // launch()'s choice of the lane-group kernel, on a call with rows.
  return !r.split && ropeInKernel() && p.b > 0 && p.hq > 0 && p.s > 0 &&
         decodeTakes(p) && groupTakes(p);
}

bool launchAttentionRope(const attn::Params &p, const AttnRope &r,
                         AttnMode mode, void *stream, std::string &error,
                         float *qRot, const AttnScratch &scratch, bool pdl,
                         void (*launched)(int64_t, int64_t, const char *)) {
  if (p.b == 0 || p.s == 0)
    return true; // no rows to write, an empty result
  int64_t grid = 0, block = 0;
  if (ropeFused(p, r)) {
    if (!launch(p, mode, stream, error, &grid, &block, scratch, pdl, &r))
      return false;
    if (launched)
      launched(grid, block, "(after tfcrt_gpu_attention_rope)");
    return true;
  }
  const Driver *d = nullptr;
  const AttnModule *mod = loadedModule(d, error);
  if (!mod)
    return false;
  if (!qRot) {
    error = "no device memory for the rotated query";
    return false;
  }
  // tfc_attn_rope_write: a thread an element of rot(q), the new K rows and
  // the new V rows; about four blocks per multiprocessor at most (a
  // grid-stride loop takes the rest).
  GpuAttnArgs a = callArgs(p, pdl);
  a.qRot = qRot;
  setRope(a, r);
  const long long n =
      p.b * p.s * (p.hq * p.d + p.hkv * (p.d + p.dv)); // elements
  const unsigned threads = 256;
  const long long blocks =
      std::min<long long>((n + threads - 1) / threads, 4LL * mod->sms);
  if (blocks > 0) {
    void *params[] = {&a};
    const CUresult res = launchKernel(
        d, mod->ropeWrite, static_cast<unsigned>(blocks), 1, 1, threads, 1, 1,
        0, static_cast<CUstream>(stream), params, nullptr, pdl);
    if (res != CUDA_SUCCESS) {
      error = format("cuLaunchKernel failed (%s; tfc_attn_rope_write, grid "
                     "%lld)",
                     resultName(d, res), blocks);
      return false;
    }
    const int64_t qsz[4] = {p.b, p.hq, p.s, p.d};
    const int64_t dense[4] = {p.hq * p.s * p.d, p.s * p.d, p.d, 1};
    noteLaunchWrites(qRot, spanBytes(qsz, dense, 4, 4));
    noteCacheWrites(p);
    if (launched)
      launched(blocks, threads, "(after tfc_attn_rope_write)");
  }
  // The call's kernel on the rotated copy, [b, hq, s, d] dense.
  attn::Params rp = p;
  rp.q = qRot;
  rp.qs[0] = p.hq * p.s * p.d;
  rp.qs[1] = p.s * p.d;
  rp.qs[2] = p.d;
  rp.qs[3] = 1;
  if (!launch(rp, mode, stream, error, &grid, &block, scratch, pdl, nullptr))
    return false;
  if (launched && p.hq > 0 && p.dv > 0)
    launched(grid, block, "(after tfcrt_gpu_attention_rope)");
  return true;
}

void runAttentionRope(const attn::Params &p, const AttnRope &r, AttnMode mode,
                      const std::string &paramError) {
  if (hasError())
    return;
  // The split path's rotated query, allocated whether or not a graph
  // replays (the same sequence of pool blocks every run of a shape: a
  // graph captured once reads and writes the same addresses).
  float *qRot = nullptr;
  if (paramError.empty() && !ropeFused(p, r)) {
    qRot = static_cast<float *>(
        deviceAlloc(static_cast<uint64_t>(p.b * p.hq * p.s * p.d) * 4, 256));
    if (!qRot)
      return; // deviceAlloc recorded why
  }
  if (replaying())
    return;
  if (!paramError.empty()) {
    recordError("tfcrt_gpu_attention_rope: " + paramError);
    return;
  }
  AttnScratch scratch;
  scratch.base = attnScratch(scratch.bytes);
  std::string error;
  if (!launchAttentionRope(p, r, mode, runStream(), error, qRot, scratch,
                           pdlLaunches(), &countLaunch))
    recordError("tfcrt_gpu_attention_rope: " + error);
}

void runAttention(const attn::Params &p, AttnMode mode,
                  const std::string &paramError) {
  if (replaying() || hasError())
    return;
  if (!paramError.empty()) {
    recordError("tfcrt_gpu_attention: " + paramError);
    return;
  }
  CUstream stream = runStream();
  std::string error;
  int64_t grid = 0, block = 0;
  AttnScratch scratch;
  scratch.base = attnScratch(scratch.bytes);
  if (!launchAttention(p, mode, stream, error, &grid, &block, scratch,
                       pdlLaunches())) {
    recordError("tfcrt_gpu_attention: " + error);
    return;
  }
  countLaunch(grid, block, "(after tfcrt_gpu_attention)");
}

} // namespace tfcrt::cuda
