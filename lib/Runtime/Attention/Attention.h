//===- Attention.h - blocked attention inside libtfcrt ----------*- C++ -*-===//
//
// The kernel behind _mlir_ciface_tfcrt_attention_f32 (the contract is in
// include/tfc/Runtime/tfc_kernels.h). Shapes: q [b, hq, s, d], k [b, hkv, t,
// d], v [b, hkv, t, dv], out [b, hq, s, dv]; query row i sits at position
// i + t - s.
//
// Work is cut into row blocks and key tiles. A row block is a set of "lanes"
// (query rows) of one batch item and one kv head: nh consecutive q heads of
// that kv group times nq consecutive query rows, lane = hh * nq + i. Every
// lane of a block reads the same K/V rows, so a K/V tile is loaded once for
// several heads (GQA) without copying kv heads. A block walks the keys in
// tiles of `keyTile` keys with an online softmax (running max and sum per
// lane, rescaled accumulator); the score tile never exceeds keyTile x lanes.
//
// Per (block, tile) the structural conditions (causal, window + sinks,
// block-local, layout) classify the tile (classify): Empty tiles are skipped
// without loads, Full ones need no per-element structure check, Partial ones
// get a per-key bitmask of visible lanes (tileBits, which also folds in
// mask_keep). Both are shared by every ISA level; the levels differ only in
// how they compute a block (`BlockFn`).
//
// Quantized K/V (tfc --kv-dtype, _mlir_ciface_tfcrt_attention_kv_f16 / _i8):
// Params::kv says what kq / vq hold -- f16 bits, or int8 codes with one f32
// scale per (batch, kv head, key) in kScale / vScale. A level's decodeF16 /
// decodeI8 read them directly (converted per tile in registers; the int8
// scale multiplies the key's dot product and, folded into the probability,
// the value row). Every other block (prefill, a level without a native
// variant) runs the level's f32 block on a per-thread f32 copy of just the
// keys the block can see (dequantBlock), which costs d + dv conversions per
// key and row block.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_ATTENTION_ATTENTION_H
#define TFC_LIB_RUNTIME_ATTENTION_ATTENTION_H

#include "tfc/Runtime/tfc_kernels.h"

#include <cstdint>
#include <string>
#include <utility>

namespace tfcrt {
namespace attn {

/// One attention call: element pointers (offset applied) and element strides
/// per dim. Masks use stride 0 on broadcast (size-1) dims.
struct Params {
  int64_t b = 0, hq = 0, hkv = 0, s = 0, t = 0, d = 0, dv = 0;
  const float *q = nullptr; // [b, hq, s, d]
  int64_t qs[4] = {};
  const float *k = nullptr; // [b, hkv, t, d]
  int64_t ks[4] = {};
  const float *v = nullptr; // [b, hkv, t, dv]
  int64_t vs[4] = {};
  // Quantized K/V: kv != F32 reads kq / vq (strides ks / vs) instead of k /
  // v; I8 also kScale / vScale [b, hkv, t] (strides kss / vss): key j's
  // element c is kq[..j..c] * kScale[..j].
  enum class KvType { F32, F16, I8 };
  KvType kv = KvType::F32;
  const void *kq = nullptr, *vq = nullptr;
  const float *kScale = nullptr, *vScale = nullptr;
  int64_t kss[3] = {}, vss[3] = {};
  float *out = nullptr; // [b, hq, s, dv]
  int64_t os[4] = {};
  /// The GPU kernels only (tfcrt_gpu_attention_*_hout): out holds f16 /
  /// bf16 elements, each rounded to nearest even from the f32 result.
  enum class OutType { F32, F16, BF16 };
  OutType outType = OutType::F32;
  const uint8_t *keep = nullptr; // broadcast to [b, hq, s, t]; null: none
  int64_t keepS[4] = {};
  const float *add = nullptr; // broadcast to [b, hq, s, t]; null: none
  int64_t addS[4] = {};
  float scale = 1.0f;
  bool causal = false;
  int64_t window = 0, sinks = 0, block = 0;
  /// tfcrt_attention_sq_f32: [b, hq, s, d] (strides qSinkS), or null. A key
  /// j < sinks that a row sees only as a sink (pos - j >= window) is scored
  /// with it; run() computes those keys apart (one more Partial chunk) and
  /// the level kernels never see it.
  const float *qSink = nullptr;
  int64_t qSinkS[4] = {};
  /// K/V in parts along the keys (tfcrt_attention_parts_*: a ring cache
  /// read in place): keys [j0, j0 + t) of the concatenation are rows
  /// [0, t) of part i, with its own pointers and strides (the fields above
  /// hold part 0's). run() cuts the keys so that no chunk crosses a part
  /// and calls the levels on partParams(p, i), so they never see parts.
  struct KvPart {
    int64_t j0 = 0, t = 0;
    const float *k = nullptr, *v = nullptr;
    const void *kq = nullptr, *vq = nullptr;
    const float *kScale = nullptr, *vScale = nullptr;
    int64_t ks[4] = {}, vs[4] = {}, kss[3] = {}, vss[3] = {};
  };
  static constexpr int kMaxParts = 4;
  int nparts = 0; // 0: k / v (kq / vq) hold all keys
  KvPart parts[kMaxParts];
  /// Set by partParams: k / v point before the part's rows (key j of the
  /// whole is at k + j * ks[2] for j in the part only), so nothing may
  /// address rows outside [j0, j0 + t) (the next batch item's prefetch).
  bool inPart = false;
  const uint8_t *layout = nullptr; // [rows, cols]; null: none
  int64_t layoutRows = 0, layoutCols = 0, layoutS[2] = {};
  int64_t layoutBlock = 0;

  // Internal knobs (tests and benchmarks); the C entry leaves the defaults.
  /// false: every tile is treated as Partial (never skipped, always checked
  /// per element); must give bit-identical results.
  bool skipTiles = true;
  /// > 0: cut each row block's keys into this many chunks (flash-decoding
  /// split + combine) whatever the thread count; 0: decide from threads.
  int64_t forceChunks = 0;
  enum class Path { Auto, Prefill, Decode };
  Path path = Path::Auto;

  int64_t group() const { return hq / hkv; }
  /// Bytes of one stored K/V element (f32, f16 bits or an int8 code).
  int64_t kvBytes() const {
    return kv == KvType::F32 ? 4 : kv == KvType::F16 ? 2 : 1;
  }
  /// Position of query row i.
  int64_t pos(int64_t i) const { return i + t - s; }
};

/// Lanes of one row block: heads [h0, h0 + nh) (all in kv head g's group) x
/// query rows [i0, i0 + nq); lane = hh * nq + ii.
struct RowBlock {
  int64_t b = 0, g = 0, h0 = 0, nh = 0, i0 = 0, nq = 0;
  int lanes() const { return static_cast<int>(nh * nq); }
};

/// Where a block that covers only a chunk of the keys leaves its state for
/// the combine: m[lanes] running max, l[lanes] running sum, acc[lanes][dv]
/// the unnormalized output (all relative to m).
struct Partial {
  float *m = nullptr;
  float *l = nullptr;
  float *acc = nullptr;
};

/// Lanes a block may have at most (the bitmasks are 64-bit).
constexpr int kMaxLanes = 64;

enum class TileKind { Empty, Full, Partial };

/// Structural class of query positions [p0, p1] x keys [j0, j1] (both
/// inclusive); not consulted at all when !p.skipTiles.
TileKind classify(const Params &p, int64_t p0, int64_t p1, int64_t j0,
                  int64_t j1);

/// What a block must do with keys [j0, j0 + nk) (nk <= 64).
enum class TileMask {
  Skip, // no lane sees any key: nothing to load or compute
  None, // every lane sees every key: no per-element check
  Bits  // bits[jj] bit L: lane L sees key j0 + jj
};
struct Tile {
  TileMask mask;
  /// Only keys [j0 + lo, j0 + hi) need computing: the keys outside are
  /// seen by no lane (a sink tile's non-sink keys, the keys of a window's
  /// first tile before it, padding), and skipping them changes no bit.
  int64_t lo, hi;
};
/// Classifies and, for a tile that needs it, fills bits[0..nk) (structure of
/// a Partial tile and mask_keep). Lanes >= rb.lanes() are never set.
Tile tileMask(const Params &p, const RowBlock &rb, int64_t j0, int64_t nk,
              uint64_t *bits);

/// Computes row block `rb` over keys [ja, jb) (ja a multiple of the level's
/// key tile). partial == null: writes the normalized rows of out (0 for a
/// lane that sees no key); otherwise leaves the state in *partial.
using BlockFn = void (*)(const Params &p, const RowBlock &rb, int64_t ja,
                         int64_t jb, const Partial *partial);

/// One ISA level's kernels.
struct Kernels {
  const char *name;
  int prefillLanes; // lanes of a prefill block (<= kMaxLanes)
  int prefillKeyTile;
  BlockFn prefill; // any strides
  int decodeLanes; // a kv group's heads x s rows up to this take `decode`
  int decodeKeyTile;
  BlockFn decode; // needs unit stride along d of k and v
  // Decode on quantized K/V read directly (unit stride along d); null: the
  // f32 decode on a dequantized copy.
  BlockFn decodeF16 = nullptr;
  BlockFn decodeI8 = nullptr;
  // The sink keys of a sink query (Params::qSink) as a Partial
  // (SinkChunk.inc, compiled for the level).
  void (*sinks)(const Params &p, int64_t sinks, const RowBlock &rb,
                const Partial &out) = nullptr;
};

const Kernels &kernelsGeneric();
const Kernels &kernelsAvx2();   // only valid if isa::supported(Avx2)
const Kernels &kernelsAvx512(); // only valid if isa::supported(Avx512)
/// The kernels of the running level (isa::features(), TFCRT_ISA cap).
const Kernels &kernelsBest();

/// The C entry's checks of its descriptors against each other: fills `p`,
/// or returns why not. Reads no element (so device pointers are fine: the
/// GPU entries use it too).
std::string paramsFromEntry(tfcrt_memref4_f32 *q, tfcrt_memref4_f32 *k,
                            tfcrt_memref4_f32 *v, tfcrt_memref4_i8 *keep,
                            tfcrt_memref4_f32 *add, tfcrt_memref4_f32 *out,
                            float scale, int64_t causal, int64_t window,
                            int64_t sinks, int64_t block,
                            tfcrt_memref2_i8 *layout, int64_t layoutBlock,
                            Params &p);

/// p with part i's pointers and strides as k / v (kq / vq, scales), based
/// so that key j of the whole call (j in the part) is row j - j0 of it.
Params partParams(const Params &p, int i);

/// Checks nothing; runs the whole call with `ks` on the thread pool.
void run(const Params &p, const Kernels &ks);

/// Tests only: materializes every score row [t] in double precision and
/// applies the contract literally (no tiles). Single-threaded.
void naive(const Params &p, double *out /* [b, hq, s, dv] contiguous */);
/// Element (b, g, j, c) of quantized K (kv = false) or V as f32.
float kvAt(const Params &p, bool value, int64_t b, int64_t g, int64_t j,
           int64_t c);
/// IEEE half bits -> float (exact).
float halfToFloat(uint16_t h);
/// The contract's per-element visibility (mask_keep included).
bool visible(const Params &p, int64_t b, int64_t h, int64_t i, int64_t j);

//===-- helpers for the levels (Attention.cpp) ----------------------------===//

/// exp(x) in float, branch-free so that loops over it vectorize: the Cephes
/// polynomial the ISA levels use (~1 ulp), exactly 1 at 0 and exactly 0
/// below ln(FLT_MIN) (-inf scores weigh 0, never a denormal); NaN stays NaN.
inline float expPoly(float x) {
  const bool under = x < -87.3365f;
  x = x < -87.3365f ? -87.3365f : x; // NaN compares false: kept
  x = x > 88.3762626647949f ? 88.3762626647949f : x;
  // Round to nearest by the 1.5 * 2^23 trick (no SSE4.1 round needed).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float y = 1.9875691500E-4f;
  y = y * r + 1.3981999507E-3f;
  y = y * r + 8.3334519073E-3f;
  y = y * r + 4.1665795894E-2f;
  y = y * r + 1.6666665459E-1f;
  y = y * r + 5.0000001201E-1f;
  y = y * (r * r) + r + 1.0f;
  // (NaN would make the conversion undefined; y is NaN already.)
  const int32_t e = (static_cast<int32_t>(n == n ? n : 0.0f) + 127) << 23;
  float scale;
  __builtin_memcpy(&scale, &e, sizeof(scale));
  return under ? 0.0f : y * scale;
}

/// 64-byte aligned per-thread scratch of at least `floats` floats; valid
/// until this thread's next call.
float *scratch(int64_t floats);

/// Per-lane element offsets of mask_add relative to addBase(rb); false when
/// one does not fit in int32 (callers then read per element). Lanes >=
/// rb.lanes() get offset 0.
bool addLaneOffsets(const Params &p, const RowBlock &rb, int32_t *off);
/// mask_add at (rb.b, rb.h0, rb.i0, key 0).
const float *addBase(const Params &p, const RowBlock &rb);
/// True when every lane of rb reads the same mask_add row (broadcast).
bool addShared(const Params &p);

/// mask_add values at or below this mask a key off: exp() of such a score
/// less any finite running max is exactly 0.
constexpr float kMaskedOff = -1e30f;
/// Whether a call that is not causal has a causal mask_add: every query
/// row's key at its own position above kMaskedOff and every later key at
/// or below it (every batch item and head the mask has); Only when the
/// visible keys' values are all 0 besides. run() then skips the tiles past
/// the diagonal, and for Only drops the mask (bitwise the same result).
enum class CausalAdd { No, WithValues, Only };
CausalAdd addCausal(const Params &p);

/// Software prefetches for a prefill block, for rows the hardware
/// prefetchers miss (q, out, K and V read in place from [b, s, h, d] have
/// rows 1.5 KB apart in MiniLM; MiniLM-shaped call 25% faster with both):
/// prefetchBlock, at a block's start, fetches the next block's query rows
/// (run() orders blocks kv head inner: the same rows, the next heads), and
/// a thread's first block of a batch item queues the next item's q, k and
/// v for L2 (items up to 768 KB; MiniLM batch 32: attention -9%);
/// prefetchTile, at a key tile's start, fetches its V rows [j0, j0 + nk)
/// (used after QK^T and the softmax) and the next tile's K rows [n0, n1);
/// prefetchOut, at the last key tile, this block's out rows for writing (at the
/// block's start they were evicted again before storeOut wrote them).
/// Contiguous rows are left alone. TFCRT_ATTN_PF_SPREAD=0 restores the earlier
/// schedule (the next item in one burst from the item's first block, out rows
/// at the block's start).
void prefetchBlock(const Params &p, const RowBlock &rb);
void prefetchTile(const Params &p, const RowBlock &rb, int64_t j0, int64_t nk,
                  int64_t n0, int64_t n1);
void prefetchOut(const Params &p, const RowBlock &rb);

/// The queue of the next batch item's lines (prefetchBlock), fetched
/// kAheadLines at a time between a block's kernel calls (aheadStep): 590 KB
/// of prefetches at once (MiniLM) had stalled the block until they were all
/// under way, ~9 % of a MiniLM-shaped call's time by perf.
constexpr int kAheadLines = 16;
struct Ahead {
  std::pair<const char *, const char *> ranges[3];
  int n = 0, at = 0;
  const char *c = nullptr;
  void stepSlow();
};
extern thread_local Ahead ahead;
inline void aheadStep() {
  if (ahead.at < ahead.n)
    ahead.stepSlow();
}

/// Writes lane L's final row: out = acc[c * accStride + L] / l[L] (0 when
/// l[L] == 0), or hands m, l and acc to `partial`.
void finishBlock(const Params &p, const RowBlock &rb, const float *m,
                 const float *l, const float *acc, int64_t accLaneStride,
                 int64_t accColStride, const Partial *partial);

} // namespace attn
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_ATTENTION_ATTENTION_H
