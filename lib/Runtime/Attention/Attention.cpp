//===- Attention.cpp - tfcrt_attention_f32: checks, tiles, threads --------===//
//
// The C entry checks the descriptors against each other (a mismatch is a
// compiler bug: kernelError + NaN output, never an out-of-bounds read), then
// cuts the call into row blocks (Attention.h) and, when there are too few
// of them to feed the threads (decode: one block per (batch, kv head)), each
// block's keys into chunks that run as separate tasks and are combined from
// their partial max / sum / accumulator (flash-decoding).
//
// The structural conditions are intervals in the query position for a fixed
// key j (causal: p >= j; window: p <= j + window - 1 unless j is a sink;
// block: p in j's block), so a tile's visible lanes per key are one run of
// bits per head, computed in O(1); the layout splits that run at multiples
// of layout_block. A query at a negative position (s > t) has no layout row
// and sees nothing under a layout.
//
//===----------------------------------------------------------------------===//

#include "Attention.h"

#include "../Internal.h"
#include "../Isa.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace tfcrt {
namespace attn {

namespace {

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

uint64_t lowBits(int64_t n) {
  return n >= 64 ? ~uint64_t(0) : (uint64_t(1) << n) - 1;
}

bool layoutAt(const Params &p, int64_t pos, int64_t j) {
  if (pos < 0)
    return false;
  return p.layout[(pos / p.layoutBlock) * p.layoutS[0] +
                  (j / p.layoutBlock) * p.layoutS[1]] != 0;
}

/// Lanes of one head's rows [i0, i0 + nq) that see key j structurally.
uint64_t structBits(const Params &p, const RowBlock &rb, int64_t j) {
  const int64_t big = std::numeric_limits<int64_t>::max() / 4;
  int64_t lo = -big, hi = big; // visible positions [lo, hi]
  if (p.causal)
    lo = std::max(lo, j);
  if (p.window > 0 && j >= p.sinks)
    hi = std::min(hi, j + p.window - 1);
  if (p.block > 0) {
    const int64_t start = (j / p.block) * p.block;
    lo = std::max(lo, start);
    hi = std::min(hi, start + p.block - 1);
  }
  const int64_t off = p.t - p.s;
  const int64_t ilo = std::max(lo - off, rb.i0);
  const int64_t ihi = std::min(hi - off, rb.i0 + rb.nq - 1);
  if (ilo > ihi)
    return 0;
  uint64_t bits = lowBits(ihi - ilo + 1) << (ilo - rb.i0);
  if (p.layout) {
    // Runs of rows that share a layout row.
    for (int64_t i = ilo; i <= ihi;) {
      const int64_t pos = p.pos(i);
      const int64_t runEnd =
          pos < 0
              ? std::min(ihi, i - pos - 1)
              : std::min(ihi, i + (p.layoutBlock - pos % p.layoutBlock) - 1);
      if (!layoutAt(p, pos, j))
        bits &= ~(lowBits(runEnd - i + 1) << (i - rb.i0));
      i = runEnd + 1;
    }
  }
  return bits;
}

} // namespace

TileKind classify(const Params &p, int64_t p0, int64_t p1, int64_t j0,
                  int64_t j1) {
  bool all = true;
  if (p.causal) {
    if (j0 > p1)
      return TileKind::Empty;
    all &= j1 <= p0;
  }
  if (p.window > 0) {
    const bool allWin = p1 - j0 < p.window, noWin = p0 - j1 >= p.window;
    const bool allSink = j1 < p.sinks, noSink = j0 >= p.sinks;
    if (noWin && noSink)
      return TileKind::Empty;
    all &= allWin || allSink;
  }
  if (p.block > 0) {
    const int64_t qa = floorDiv(p0, p.block), qb = floorDiv(p1, p.block);
    const int64_t ka = j0 / p.block, kb = j1 / p.block;
    if (qb < ka || kb < qa)
      return TileKind::Empty;
    all &= qa == qb && ka == kb && qa == ka;
  }
  if (p.layout) {
    if (p1 < 0)
      return TileKind::Empty;
    all &= p0 >= 0;
    bool any = false;
    for (int64_t r = std::max<int64_t>(p0, 0) / p.layoutBlock;
         r <= p1 / p.layoutBlock; ++r)
      for (int64_t c = j0 / p.layoutBlock; c <= j1 / p.layoutBlock; ++c) {
        const bool on = p.layout[r * p.layoutS[0] + c * p.layoutS[1]] != 0;
        any |= on;
        all &= on;
      }
    if (!any)
      return TileKind::Empty;
  }
  return all ? TileKind::Full : TileKind::Partial;
}

Tile tileMask(const Params &p, const RowBlock &rb, int64_t j0, int64_t nk,
              uint64_t *bits) {
  // Without skipping, classification is not trusted at all: every tile is
  // checked per element (what the equality test compares against).
  const TileKind kind =
      p.skipTiles
          ? classify(p, p.pos(rb.i0), p.pos(rb.i0 + rb.nq - 1), j0, j0 + nk - 1)
          : TileKind::Partial;
  if (kind == TileKind::Empty)
    return {TileMask::Skip, 0, 0};
  if (kind == TileKind::Full && !p.keep)
    return {TileMask::None, 0, nk};
  const int nq = static_cast<int>(rb.nq);
  const uint64_t rowMask = lowBits(nq);
  for (int64_t jj = 0; jj < nk; ++jj)
    bits[jj] = kind == TileKind::Full ? rowMask : structBits(p, rb, j0 + jj);
  auto replicate = [&] {
    for (int64_t jj = 0; jj < nk; ++jj) {
      uint64_t one = bits[jj], all = 0;
      for (int64_t hh = 0; hh < rb.nh; ++hh)
        all |= one << (hh * nq);
      bits[jj] = all;
    }
  };
  if (!p.keep) {
    replicate();
  } else {
    const uint8_t *kb = p.keep + rb.b * p.keepS[0];
    const int64_t sh = p.keepS[1], si = p.keepS[2], sj = p.keepS[3];
    if (sh == 0 && si == 0) { // padding mask [b, 1, 1, t]: one byte per key
      for (int64_t jj = 0; jj < nk; ++jj)
        if (!kb[(j0 + jj) * sj])
          bits[jj] = 0;
      replicate();
    } else {
      // Per head only if the mask varies by head; rows as one run each.
      const int64_t heads = sh == 0 ? 1 : rb.nh;
      if (sh != 0)
        replicate();
      for (int64_t hh = 0; hh < heads; ++hh)
        for (int64_t ii = 0; ii < nq; ++ii) {
          const uint8_t *row = kb + (rb.h0 + hh) * sh + (rb.i0 + ii) * si;
          const uint64_t clear = ~(uint64_t(1) << (hh * nq + ii));
          for (int64_t jj = 0; jj < nk; ++jj)
            if (!row[(j0 + jj) * sj])
              bits[jj] &= clear;
        }
      if (sh == 0)
        replicate();
    }
  }
  if (!p.skipTiles)
    return {TileMask::Bits, 0, nk};
  const uint64_t laneMask = lowBits(rb.lanes());
  uint64_t all = laneMask;
  int64_t lo = nk, hi = 0;
  for (int64_t jj = 0; jj < nk; ++jj) {
    all &= bits[jj];
    if (bits[jj]) {
      lo = std::min(lo, jj);
      hi = jj + 1;
    }
  }
  if (lo >= hi)
    return {TileMask::Skip, 0, 0};
  return {all == laneMask ? TileMask::None : TileMask::Bits, lo, hi};
}

bool visible(const Params &p, int64_t b, int64_t h, int64_t i, int64_t j) {
  const int64_t pos = p.pos(i);
  if (p.keep && !p.keep[b * p.keepS[0] + h * p.keepS[1] + i * p.keepS[2] +
                        j * p.keepS[3]])
    return false;
  if (p.causal && j > pos)
    return false;
  if (p.window > 0 && !(pos - j < p.window || j < p.sinks))
    return false;
  if (p.block > 0 && floorDiv(pos, p.block) != j / p.block)
    return false;
  if (p.layout && !layoutAt(p, pos, j))
    return false;
  return true;
}

//===-- helpers for the levels --------------------------------------------===//

float *scratch(int64_t floats) {
  struct Buffer {
    std::unique_ptr<float[]> raw;
    int64_t capacity = 0;
  };
  thread_local Buffer buf;
  if (floats > buf.capacity) {
    buf.capacity = std::max<int64_t>(floats, 2 * buf.capacity);
    buf.raw.reset(new float[buf.capacity + 16]);
  }
  auto at = reinterpret_cast<uintptr_t>(buf.raw.get());
  return reinterpret_cast<float *>((at + 63) & ~uintptr_t(63));
}

const float *addBase(const Params &p, const RowBlock &rb) {
  return p.add + rb.b * p.addS[0] + rb.h0 * p.addS[1] + rb.i0 * p.addS[2];
}

bool addShared(const Params &p) { return p.addS[1] == 0 && p.addS[2] == 0; }

bool addLaneOffsets(const Params &p, const RowBlock &rb, int32_t *off) {
  bool fits = true;
  for (int L = 0; L < kMaxLanes; ++L) {
    int64_t o = 0;
    if (L < rb.lanes())
      o = (L / rb.nq) * p.addS[1] + (L % rb.nq) * p.addS[2];
    fits &= o >= 0 && o <= std::numeric_limits<int32_t>::max();
    off[L] = fits ? static_cast<int32_t>(o) : 0;
  }
  return fits;
}

namespace {
/// Rows [0, n) of `cols` floats, `stride` floats apart.
void prefetchRows(const float *base, int64_t stride, int64_t n, int64_t cols,
                  bool write) {
  for (int64_t j = 0; j < n; ++j) {
    const char *row = reinterpret_cast<const char *>(base + j * stride);
    for (int64_t c = 0; c < cols * 4; c += 64) {
      if (write)
        __builtin_prefetch(row + c, 1, 3);
      else
        __builtin_prefetch(row + c, 0, 3);
    }
  }
}
} // namespace

thread_local Ahead ahead;

void Ahead::stepSlow() {
  for (int left = kAheadLines; left > 0 && at < n;) {
    const char *end = ranges[at].second;
    for (; left > 0 && c < end; --left, c += 64)
      __builtin_prefetch(c, 0, 2);
    if (c >= end && ++at < n)
      c = ranges[at].first;
  }
}

namespace {
bool spreadPrefetch() {
  static const bool on = [] {
    const char *e = std::getenv("TFCRT_ATTN_PF_SPREAD");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

/// The block's out rows, for writing.
void prefetchOutRows(const Params &p, const RowBlock &rb) {
  if (p.os[3] == 1 && p.os[2] != p.dv)
    for (int64_t hh = 0; hh < rb.nh; ++hh)
      prefetchRows(p.out + rb.b * p.os[0] + (rb.h0 + hh) * p.os[1] +
                       rb.i0 * p.os[2],
                   p.os[2], rb.nq, p.dv, true);
}
} // namespace

void prefetchBlock(const Params &p, const RowBlock &rb) {
  // The next batch item's q, k and v into L2 while this one computes:
  // MiniLM-shaped calls (590 KB per item) spend a fifth of their time in
  // the first touches of strided rows otherwise. Items larger than
  // kNextItemBytes would only evict what is in use. Each thread's first
  // block of an item queues them (`ahead`, fetched between kernel calls):
  // the pool hands an item's blocks to both threads, and each needs them in
  // its own L2. (TFCRT_ATTN_PF_SPREAD=0: the item's first block fetches
  // them in one burst, as before.)
  // q, k and v may be views of one tensor (the projections joined into one
  // GEMM: heads side by side in each row), so their items' byte ranges are
  // merged first and a shared range is fetched, and counted, once.
  constexpr int64_t kNextItemBytes = 768 << 10;
  const bool spread = spreadPrefetch();
  thread_local const float *lastQ = nullptr;
  thread_local int64_t lastB = -1;
  bool first = rb.h0 == 0 && rb.i0 + rb.nq == p.s;
  if (spread) {
    first = lastQ != p.q || lastB != rb.b;
    lastQ = p.q;
    lastB = rb.b;
    if (first)
      ahead.n = 0; // what an earlier item or call left queued is stale
  }
  if (first && rb.b + 1 < p.b && p.kv == Params::KvType::F32 && !p.inPart) {
    std::pair<const char *, const char *> r[3];
    int n = 0;
    for (auto [base, stride] : {std::pair(p.q, p.qs[0]), std::pair(p.k, p.ks[0]),
                                std::pair(p.v, p.vs[0])}) {
      const char *c = reinterpret_cast<const char *>(base + (rb.b + 1) * stride);
      r[n++] = {c, c + 4 * stride};
    }
    std::sort(r, r + n);
    int m = 0;
    for (int i = 1; i < n; ++i)
      if (r[i].first <= r[m].second)
        r[m].second = std::max(r[m].second, r[i].second);
      else
        r[++m] = r[i];
    int64_t bytes = 0;
    for (int i = 0; i <= m; ++i)
      bytes += r[i].second - r[i].first;
    if (bytes <= kNextItemBytes) {
      if (spread) {
        ahead.n = m + 1;
        for (int i = 0; i <= m; ++i)
          ahead.ranges[i] = r[i];
        ahead.at = 0;
        ahead.c = r[0].first;
      } else {
        for (int i = 0; i <= m; ++i)
          for (const char *c = r[i].first; c < r[i].second; c += 64)
            __builtin_prefetch(c, 0, 2);
      }
    }
  }
  if (p.qs[3] == 1 && p.qs[2] != p.d && rb.g + 1 < p.hkv)
    for (int64_t hh = 0; hh < rb.nh; ++hh)
      prefetchRows(p.q + rb.b * p.qs[0] + (rb.h0 + rb.nh + hh) * p.qs[1] +
                       rb.i0 * p.qs[2],
                   p.qs[2], rb.nq, p.d, false);
  if (!spread)
    prefetchOutRows(p, rb);
}

void prefetchOut(const Params &p, const RowBlock &rb) {
  if (spreadPrefetch())
    prefetchOutRows(p, rb);
}

void prefetchTile(const Params &p, const RowBlock &rb, int64_t j0, int64_t nk,
                  int64_t n0, int64_t n1) {
  if (p.kv != Params::KvType::F32)
    return;
  if (p.vs[3] == 1 && p.vs[2] != p.dv)
    prefetchRows(p.v + rb.b * p.vs[0] + rb.g * p.vs[1] + j0 * p.vs[2],
                 p.vs[2], nk, p.dv, false);
  if (p.ks[3] == 1 && p.ks[2] != p.d && n1 > n0)
    prefetchRows(p.k + rb.b * p.ks[0] + rb.g * p.ks[1] + n0 * p.ks[2],
                 p.ks[2], n1 - n0, p.d, false);
}

void finishBlock(const Params &p, const RowBlock &rb, const float *m,
                 const float *l, const float *acc, int64_t accLaneStride,
                 int64_t accColStride, const Partial *partial) {
  const int lanes = rb.lanes();
  for (int L = 0; L < lanes; ++L) {
    const float *a = acc + L * accLaneStride;
    if (partial) {
      partial->m[L] = m[L];
      partial->l[L] = l[L];
      for (int64_t c = 0; c < p.dv; ++c)
        partial->acc[L * p.dv + c] = a[c * accColStride];
      continue;
    }
    float *o = p.out + rb.b * p.os[0] + (rb.h0 + L / rb.nq) * p.os[1] +
               (rb.i0 + L % rb.nq) * p.os[2];
    const float inv = l[L] == 0.0f ? 0.0f : 1.0f / l[L];
    for (int64_t c = 0; c < p.dv; ++c)
      o[c * p.os[3]] = l[L] == 0.0f ? 0.0f : a[c * accColStride] * inv;
  }
}

//===-- quantized K/V -----------------------------------------------------===//

float halfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) { // inf / NaN
    bits = sign | 0x7F800000u | (man << 13);
  } else if (exp != 0) { // normal
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else { // zero or subnormal: man * 2^-24, exact in float
    float f = static_cast<float>(man) * 5.9604644775390625e-8f;
    return sign ? -f : f;
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

float kvAt(const Params &p, bool value, int64_t b, int64_t g, int64_t j,
           int64_t c) {
  const int64_t *st = value ? p.vs : p.ks;
  const int64_t at = b * st[0] + g * st[1] + j * st[2] + c * st[3];
  switch (p.kv) {
  case Params::KvType::F32:
    return (value ? p.v : p.k)[at];
  case Params::KvType::F16:
    return halfToFloat(static_cast<const uint16_t *>(value ? p.vq : p.kq)[at]);
  case Params::KvType::I8: {
    const int64_t *ss = value ? p.vss : p.kss;
    const float sc =
        (value ? p.vScale : p.kScale)[b * ss[0] + g * ss[1] + j * ss[2]];
    return static_cast<float>(
               static_cast<const int8_t *>(value ? p.vq : p.kq)[at]) *
           sc;
  }
  }
  return 0.0f;
}

namespace {

/// A second per-thread buffer (the f32 copy of K/V; scratch() is the
/// level's own).
float *kvScratch(int64_t floats) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < floats)
    buf.resize(static_cast<size_t>(std::max<int64_t>(floats, 2 * buf.size())));
  return buf.data();
}

/// Keys [lo, hi) of [ja, jb) that some lane of rb may see structurally (a
/// superset: mask_keep, block and layout only remove keys); every key a
/// level loads lies in it, except with !skipTiles (all keys).
void visibleRange(const Params &p, const RowBlock &rb, int64_t ja, int64_t jb,
                  int64_t &lo, int64_t &hi) {
  lo = ja;
  hi = jb;
  if (!p.skipTiles)
    return;
  if (p.causal)
    hi = std::min(hi, p.pos(rb.i0 + rb.nq - 1) + 1);
  if (p.window > 0 && p.sinks == 0)
    lo = std::max(lo, p.pos(rb.i0) - p.window + 1);
  hi = std::max(hi, lo);
}

/// Runs `fn` (an f32 block) on an f32 copy of the K/V rows rb can see.
void dequantBlock(const Params &p, const RowBlock &rb, int64_t ja, int64_t jb,
                  const Partial *partial, BlockFn fn) {
  int64_t lo, hi;
  visibleRange(p, rb, ja, jb, lo, hi);
  // Rows [0, hi) are addressable, only [lo, hi) written (and read).
  float *kf = kvScratch(hi * (p.d + p.dv));
  float *vf = kf + hi * p.d;
  for (int64_t j = lo; j < hi; ++j) {
    for (int64_t c = 0; c < p.d; ++c)
      kf[j * p.d + c] = kvAt(p, false, rb.b, rb.g, j, c);
    for (int64_t c = 0; c < p.dv; ++c)
      vf[j * p.dv + c] = kvAt(p, true, rb.b, rb.g, j, c);
  }
  Params f = p;
  f.kv = Params::KvType::F32;
  f.k = kf;
  f.v = vf;
  const int64_t ks[4] = {0, 0, p.d, 1}, vs[4] = {0, 0, p.dv, 1};
  std::copy(ks, ks + 4, f.ks);
  std::copy(vs, vs + 4, f.vs);
  fn(f, rb, ja, jb, partial);
}

} // namespace

//===-- threading ---------------------------------------------------------===//

namespace {

/// Keys a chunk takes at least before splitting pays for its combine.
constexpr int64_t kMinChunkKeys = 256;

void combine(const Params &p, const RowBlock &rb, const float *parts,
             int64_t chunks, int64_t partStride) {
  const int lanes = rb.lanes();
  thread_local std::vector<double> acc;
  acc.resize(static_cast<size_t>(p.dv));
  for (int L = 0; L < lanes; ++L) {
    float mx = -INFINITY;
    for (int64_t c = 0; c < chunks; ++c)
      mx = std::max(mx, parts[c * partStride + L]);
    std::fill(acc.begin(), acc.end(), 0.0);
    double sum = 0;
    if (mx != -INFINITY) {
      for (int64_t c = 0; c < chunks; ++c) {
        const float *part = parts + c * partStride;
        if (part[L] == -INFINITY)
          continue;
        const double w = std::exp(static_cast<double>(part[L]) - mx);
        sum += w * part[kMaxLanes + L];
        const float *a = part + 2 * kMaxLanes + L * p.dv;
        for (int64_t x = 0; x < p.dv; ++x)
          acc[x] += w * a[x];
      }
    }
    float *o = p.out + rb.b * p.os[0] + (rb.h0 + L / rb.nq) * p.os[1] +
               (rb.i0 + L % rb.nq) * p.os[2];
    for (int64_t x = 0; x < p.dv; ++x)
      o[x * p.os[3]] = sum == 0 ? 0.0f : static_cast<float>(acc[x] / sum);
  }
}

} // namespace

namespace {

/// True when mask_add has the same values (bitwise) for every head and
/// query row of each batch item, though its strides say otherwise:
/// exporters materialize a padding mask over the query rows (HF's
/// [b, 1, s, t] from `q_idx >= 0 & padding[kv_idx]`), which the prefill
/// kernels would otherwise gather lane by lane for every key. Reads the
/// mask once (2 MB for MiniLM at batch 32 x 128: ~2% of the call); a
/// causal or per-row mask differs within its first rows.
bool addRowsEqual(const Params &p) {
  const int64_t hn = p.addS[1] == 0 ? 1 : p.hq, sn = p.addS[2] == 0 ? 1 : p.s;
  std::atomic<bool> equal{true};
  auto item = [&](int64_t b) {
    const float *base = p.add + b * p.addS[0];
    for (int64_t h = 0; h < hn; ++h)
      for (int64_t i = 0; i < sn; ++i) {
        if (!equal.load(std::memory_order_relaxed))
          return;
        const float *row = base + h * p.addS[1] + i * p.addS[2];
        if (row == base)
          continue;
        bool same = true;
        if (p.addS[3] == 1)
          same = std::memcmp(row, base, static_cast<size_t>(p.t) *
                                            sizeof(float)) == 0;
        else
          for (int64_t j = 0; j < p.t && same; ++j)
            same = std::memcmp(row + j * p.addS[3], base + j * p.addS[3],
                               sizeof(float)) == 0;
        if (!same)
          equal.store(false, std::memory_order_relaxed);
      }
  };
  if (p.b > 1)
    parallelRun(p.b, item);
  else
    item(0);
  return equal.load();
}

} // namespace

CausalAdd addCausal(const Params &p) {
  if (p.causal || !p.add || p.s < 2 || p.t == 0)
    return CausalAdd::No;
  const int64_t hn = p.addS[1] == 0 ? 1 : p.hq;
  const int64_t bn = p.addS[0] == 0 ? 1 : p.b;
  // Tasks of up to 64 query rows of one batch item and head: a 2048-token
  // mask is 16 MB, read once per call.
  constexpr int64_t kRows = 64;
  const int64_t chunks = (p.s + kRows - 1) / kRows;
  std::atomic<bool> causal{true}, zeros{true};
  auto task = [&](int64_t t) {
    const int64_t b = t / (hn * chunks), h = t / chunks % hn;
    const int64_t i0 = t % chunks * kRows, i1 = std::min(p.s, i0 + kRows);
    bool allZero = true;
    for (int64_t i = i0; i < i1; ++i) {
      if (!causal.load(std::memory_order_relaxed))
        return;
      const int64_t pos = p.pos(i);
      const float *row =
          p.add + b * p.addS[0] + h * p.addS[1] + i * p.addS[2];
      // The diagonal visible (so the row's running max is finite before
      // any key past it), every key past it masked off.
      bool ok = pos >= 0 && pos < p.t && row[pos * p.addS[3]] > kMaskedOff;
      for (int64_t j = pos + 1; j < p.t && ok; ++j)
        ok = row[j * p.addS[3]] <= kMaskedOff;
      if (!ok)
        causal.store(false, std::memory_order_relaxed);
      for (int64_t j = 0; j <= pos && allZero; ++j)
        allZero = row[j * p.addS[3]] == 0.0f;
    }
    if (!allZero)
      zeros.store(false, std::memory_order_relaxed);
  };
  // Most masks that are not causal show it in their first row (a padding
  // mask sees the key after the first query's): no threads for those.
  task(0);
  if (!causal.load())
    return CausalAdd::No;
  if (const int64_t rest = bn * hn * chunks - 1; rest > 0)
    parallelRun(rest, [&](int64_t t) { task(t + 1); });
  if (!causal.load())
    return CausalAdd::No;
  return zeros.load() ? CausalAdd::Only : CausalAdd::WithValues;
}

/// combine() for the two Partials of a block with a sink query (its key
/// chunk and its sink chunk), in f32: the output row is the two
/// accumulators weighted by exp(m - max), over their weighted sums.
void mergeSinks(const Params &p, const RowBlock &rb, const Partial &keys,
                const Partial &sinks) {
  const int lanes = rb.lanes();
  for (int L = 0; L < lanes; ++L) {
    const float mx = std::max(keys.m[L], sinks.m[L]);
    const float wk = mx == -INFINITY || keys.m[L] == -INFINITY
                         ? 0.0f
                         : std::exp(keys.m[L] - mx);
    const float ws = mx == -INFINITY || sinks.m[L] == -INFINITY
                         ? 0.0f
                         : std::exp(sinks.m[L] - mx);
    const float sum = wk * keys.l[L] + ws * sinks.l[L];
    const float inv = sum == 0 ? 0.0f : 1.0f / sum;
    const float a = wk * inv, b = ws * inv;
    const float *ka = keys.acc + L * p.dv, *sa = sinks.acc + L * p.dv;
    float *o = p.out + rb.b * p.os[0] + (rb.h0 + L / rb.nq) * p.os[1] +
               (rb.i0 + L % rb.nq) * p.os[2];
    if (p.os[3] == 1)
      for (int64_t x = 0; x < p.dv; ++x)
        o[x] = a * ka[x] + b * sa[x];
    else
      for (int64_t x = 0; x < p.dv; ++x)
        o[x * p.os[3]] = a * ka[x] + b * sa[x];
  }
}

Params partParams(const Params &p, int i) {
  const Params::KvPart &x = p.parts[i];
  Params r = p;
  r.nparts = 0;
  r.inPart = true;
  // The part's pointers moved back by j0 rows (as integers: the result may
  // lie before the buffer; the levels only add j * stride for j in the
  // part back to it).
  auto back = [&](const void *ptr, int64_t stride, int64_t bytes) {
    return ptr ? reinterpret_cast<const void *>(
                     reinterpret_cast<uintptr_t>(ptr) -
                     static_cast<uintptr_t>(x.j0 * stride * bytes))
               : nullptr;
  };
  r.k = static_cast<const float *>(back(x.k, x.ks[2], 4));
  r.v = static_cast<const float *>(back(x.v, x.vs[2], 4));
  r.kq = back(x.kq, x.ks[2], p.kvBytes());
  r.vq = back(x.vq, x.vs[2], p.kvBytes());
  r.kScale = static_cast<const float *>(back(x.kScale, x.kss[2], 4));
  r.vScale = static_cast<const float *>(back(x.vScale, x.vss[2], 4));
  std::copy(x.ks, x.ks + 4, r.ks);
  std::copy(x.vs, x.vs + 4, r.vs);
  std::copy(x.kss, x.kss + 3, r.kss);
  std::copy(x.vss, x.vss + 3, r.vss);
  return r;
}

/// Copies the parts of p's K/V (quantized: codes and int8 scales) into
/// per-thread contiguous buffers [b, hkv, t, d] and points p at them
/// (nparts = 0). The buffers stay valid until this thread's next call.
void gatherParts(Params &p) {
  const int64_t es = p.kvBytes();
  thread_local std::vector<char> kb, vb;
  thread_local std::vector<float> ksb, vsb;
  const size_t rows = static_cast<size_t>(p.b * p.hkv * p.t);
  kb.resize(rows * p.d * es);
  vb.resize(rows * p.dv * es);
  if (p.kv == Params::KvType::I8) {
    ksb.resize(rows);
    vsb.resize(rows);
  }
  for (int i = 0; i < p.nparts; ++i) {
    const Params pp = partParams(p, i);
    const Params::KvPart &x = p.parts[i];
    for (int isV = 0; isV < 2; ++isV) {
      const int64_t dd = isV ? p.dv : p.d;
      const int64_t *st = isV ? pp.vs : pp.ks;
      const char *src = static_cast<const char *>(
          p.kv == Params::KvType::F32
              ? static_cast<const void *>(isV ? pp.v : pp.k)
              : (isV ? pp.vq : pp.kq));
      char *dst = (isV ? vb : kb).data();
      for (int64_t b = 0; b < p.b; ++b)
        for (int64_t g = 0; g < p.hkv; ++g)
          for (int64_t j = x.j0; j < x.j0 + x.t; ++j) {
            const char *r = src + (b * st[0] + g * st[1] + j * st[2]) * es;
            char *o = dst + ((b * p.hkv + g) * p.t + j) * dd * es;
            if (st[3] == 1)
              std::memcpy(o, r, static_cast<size_t>(dd * es));
            else
              for (int64_t c = 0; c < dd; ++c)
                std::memcpy(o + c * es, r + c * st[3] * es,
                            static_cast<size_t>(es));
          }
      if (p.kv != Params::KvType::I8)
        continue;
      const float *sc = isV ? pp.vScale : pp.kScale;
      const int64_t *ss = isV ? pp.vss : pp.kss;
      float *so = (isV ? vsb : ksb).data();
      for (int64_t b = 0; b < p.b; ++b)
        for (int64_t g = 0; g < p.hkv; ++g)
          for (int64_t j = x.j0; j < x.j0 + x.t; ++j)
            so[(b * p.hkv + g) * p.t + j] =
                sc[b * ss[0] + g * ss[1] + j * ss[2]];
    }
  }
  const int64_t kst[4] = {p.hkv * p.t * p.d, p.t * p.d, p.d, 1},
                vst[4] = {p.hkv * p.t * p.dv, p.t * p.dv, p.dv, 1},
                sst[3] = {p.hkv * p.t, p.t, 1};
  std::copy(kst, kst + 4, p.ks);
  std::copy(vst, vst + 4, p.vs);
  if (p.kv == Params::KvType::F32) {
    p.k = reinterpret_cast<const float *>(kb.data());
    p.v = reinterpret_cast<const float *>(vb.data());
  } else {
    p.kq = kb.data();
    p.vq = vb.data();
  }
  if (p.kv == Params::KvType::I8) {
    p.kScale = ksb.data();
    p.vScale = vsb.data();
    std::copy(sst, sst + 3, p.kss);
    std::copy(sst, sst + 3, p.vss);
  }
  p.nparts = 0;
  p.inPart = false;
}

void run(const Params &given, const Kernels &ks) {
  if (given.b == 0 || given.hq == 0 || given.s == 0 || given.dv == 0)
    return;
  Params p = given;
  // A sink query: the level kernels run without sinks (the window alone),
  // the sink keys as one more chunk (the level's `sinks`, SinkChunk.inc),
  // merged with them (mergeSinks, or combine() over several key chunks).
  // (sinkQueryParams checked: a window, <= 64 sinks.)
  const int64_t sinkKeys = p.qSink ? p.sinks : 0;
  if (sinkKeys)
    p.sinks = 0;
  const auto sinkFn = ks.sinks ? ks.sinks : kernelsGeneric().sinks;
  // An exporter's causal mask as finite fill (SmolLM2: torch.finfo.min
  // above the diagonal) that the compiler could not prove: the tiles past
  // the diagonal are skipped as under `causal`, with the same result bit
  // for bit (their exp() terms are exactly 0 against a finite running max).
  if (const CausalAdd c = p.skipTiles ? addCausal(p) : CausalAdd::No;
      c != CausalAdd::No) {
    p.causal = true;
    if (c == CausalAdd::Only) // adding +-0 to a score changes no bit
      p.add = nullptr;
  }
  if (p.add && !addShared(p) && p.t > 0 && addRowsEqual(p))
    p.addS[1] = p.addS[2] = 0; // one row per batch item: broadcast it
  const int64_t group = p.group();
  bool unitD = p.ks[3] == 1 && p.vs[3] == 1;
  if (p.nparts > 0) {
    unitD = true;
    for (int i = 0; i < p.nparts; ++i)
      unitD &=
          p.parts[i].t == 0 || (p.parts[i].ks[3] == 1 && p.parts[i].vs[3] == 1);
  }
  bool decode = p.path == Params::Path::Decode ||
                (p.path == Params::Path::Auto && group * p.s <= ks.decodeLanes);
  decode &= unitD;
  // K/V in parts: decode runs each part in place (the step's point: no copy
  // of the ring), on its based Params (partParams), no chunk of keys
  // crossing a part. Prefill blocks (many query rows) gather the parts into
  // one contiguous copy first: per part they would repeat their per-chunk
  // setup and merge partial results, which cost more than the copy (a
  // SmolLM2 ring stream in chunks of 512: 2-4 % slower in parts).
  if (p.nparts > 0 && !decode)
    gatherParts(p);
  Params partP[Params::kMaxParts];
  for (int i = 0; i < p.nparts; ++i)
    partP[i] = partParams(p, i);
  BlockFn fn = decode ? ks.decode : ks.prefill;
  // Quantized K/V: the level's native decode, or its f32 block on a copy.
  BlockFn native = nullptr;
  if (decode && p.kv == Params::KvType::F16)
    native = ks.decodeF16;
  else if (decode && p.kv == Params::KvType::I8)
    native = ks.decodeI8;
  if (p.kv != Params::KvType::F32)
    fn = native;
  const BlockFn f32Fn = decode ? ks.decode : ks.prefill;
  auto call = [&](const Params &pp, const RowBlock &rb, int64_t ja, int64_t jb,
                  const Partial *part) {
    if (fn)
      fn(pp, rb, ja, jb, part);
    else
      dequantBlock(pp, rb, ja, jb, part, f32Fn);
  };
  const int64_t cap = decode ? ks.decodeLanes : ks.prefillLanes;
  const int64_t keyTile = decode ? ks.decodeKeyTile : ks.prefillKeyTile;

  // Row blocks: a kv group's heads x as many query rows as fit.
  const int64_t nh = std::min(group, cap);
  const int64_t nq = std::min(p.s, std::max<int64_t>(1, cap / nh));
  const int64_t headBlocks = ceilDiv(group, nh), qBlocks = ceilDiv(p.s, nq);
  const int64_t blocks = p.b * p.hkv * headBlocks * qBlocks;

  int64_t chunks = 1;
  if (p.forceChunks > 0) {
    chunks = p.forceChunks;
  } else {
    const int64_t want = 4 * static_cast<int64_t>(numThreads());
    if (blocks < want)
      chunks = std::max<int64_t>(
          1, std::min(ceilDiv(want, blocks), p.t / kMinChunkKeys));
  }
  int64_t chunkKeys = std::max<int64_t>(1, ceilDiv(p.t, chunks));
  chunkKeys = ceilDiv(chunkKeys, keyTile) * keyTile;
  chunks = p.t == 0 ? 1 : ceilDiv(p.t, chunkKeys);
  // The key ranges [ja, jb) of each block's chunks, and whose Params.
  struct Range {
    int64_t ja, jb;
    const Params *pp;
  };
  // Per thread, reused: no allocation per call once it has grown (run() is
  // not re-entered on a thread: a nested region runs its tasks serially).
  // The tasks reach it through this reference (a thread_local named in a
  // task would be the worker's own).
  thread_local std::vector<Range> rangesTl;
  std::vector<Range> &ranges = rangesTl;
  ranges.clear();
  if (p.nparts == 0) {
    for (int64_t c = 0; c < chunks; ++c)
      ranges.push_back({c * chunkKeys, std::min(p.t, (c + 1) * chunkKeys), &p});
  } else {
    for (int i = 0; i < p.nparts; ++i)
      for (int64_t j = p.parts[i].j0, e = j + p.parts[i].t; j < e;) {
        const int64_t to = std::min(e, (j / chunkKeys + 1) * chunkKeys);
        ranges.push_back({j, to, &partP[i]});
        j = to;
      }
    if (ranges.empty())
      ranges.push_back({0, 0, &p});
    chunks = static_cast<int64_t>(ranges.size());
  }
  // The sink chunk reads keys [0, sinkKeys): run by the part holding key 0
  // (the entry checked that it holds them all).
  const Params &sinkP = p.nparts > 0 ? partP[0] : p;

  auto blockAt = [&](int64_t idx) {
    // The kv heads of one (batch, query block) run back to back: with q and
    // out read in place from [b, s, h, d] (no transposes), consecutive
    // blocks touch adjacent cache lines of the same rows (MiniLM-shaped
    // call: 6% faster than heads outer, alternating runs); one batch item's
    // K/V (384 KB for MiniLM) stay in L2 across its query blocks. Later
    // query blocks first: under causal masking they cost the most, and the
    // pool hands tasks out in order, so the cheap ones fill the end.
    RowBlock rb;
    const int64_t hb = idx % headBlocks;
    idx /= headBlocks;
    rb.g = idx % p.hkv;
    idx /= p.hkv;
    const int64_t qb = qBlocks - 1 - idx % qBlocks;
    rb.b = idx / qBlocks;
    rb.h0 = rb.g * group + hb * nh;
    rb.nh = std::min(nh, group - hb * nh);
    rb.i0 = qb * nq;
    rb.nq = std::min(nq, p.s - rb.i0);
    return rb;
  };

  if (chunks == 1 && !sinkKeys) {
    const Range r = ranges[0];
    parallelRun(blocks, [&](int64_t task) {
      call(*r.pp, blockAt(task), r.ja, r.jb, nullptr);
    });
    return;
  }
  const int64_t partStride = kMaxLanes * (2 + p.dv);
  if (chunks == 1) {
    // Sinks with their own query, one key chunk: each task merges its
    // block's two Partials itself (no buffer over all blocks).
    parallelRun(blocks, [&](int64_t task) {
      thread_local std::vector<float> two;
      two.resize(static_cast<size_t>(2 * partStride));
      float *a = two.data(), *s = a + partStride;
      const RowBlock rb = blockAt(task);
      const Partial keys{a, a + kMaxLanes, a + 2 * kMaxLanes},
          sinks{s, s + kMaxLanes, s + 2 * kMaxLanes};
      call(*ranges[0].pp, rb, ranges[0].ja, ranges[0].jb, &keys);
      sinkFn(sinkP, sinkKeys, rb, sinks);
      mergeSinks(p, rb, keys, sinks);
    });
    return;
  }
  // Per (block, chunk): m [kMaxLanes], l [kMaxLanes], acc [kMaxLanes][dv];
  // with a sink query one more chunk per block holds its sink keys.
  const int64_t perBlock = chunks + (sinkKeys ? 1 : 0);
  // Not zeroed: every task writes its Partial's m, l and lanes' acc rows
  // before combine() reads them.
  thread_local std::vector<float> partsBuf;
  if (partsBuf.size() < static_cast<size_t>(blocks * perBlock * partStride))
    partsBuf.resize(static_cast<size_t>(blocks * perBlock * partStride));
  float *const partsData = partsBuf.data();
  parallelRun(blocks * perBlock, [&](int64_t task) {
    float *part = partsData + task * partStride;
    Partial out{part, part + kMaxLanes, part + 2 * kMaxLanes};
    const int64_t c = task % perBlock;
    if (c == chunks)
      return sinkFn(sinkP, sinkKeys, blockAt(task / perBlock), out);
    const Range &r = ranges[c];
    call(*r.pp, blockAt(task / perBlock), r.ja, r.jb, &out);
  });
  parallelRun(blocks, [&](int64_t blk) {
    combine(p, blockAt(blk), partsData + blk * perBlock * partStride, perBlock,
            partStride);
  });
}

const Kernels &kernelsBest() {
  static const Kernels &best =
      isa::byLevel(kernelsGeneric(), kernelsAvx2(), kernelsAvx512());
  return best;
}

} // namespace attn
} // namespace tfcrt

//===-- the C entry -------------------------------------------------------===//

namespace {

using tfcrt::format;
using tfcrt::attn::Params;

const char *kDims[4] = {"b", "h", "s", "t"};

template <typename Ref> bool nonEmpty(const Ref *r, int rank) {
  for (int i = 0; i < rank; ++i)
    if (r->sizes[i] == 0)
      return false;
  return true;
}

/// Fills the checked Params; returns an error message or "".
std::string buildParams(tfcrt_memref4_f32 *q, tfcrt_memref4_f32 *k,
                        tfcrt_memref4_f32 *v, tfcrt_memref4_i8 *keep,
                        tfcrt_memref4_f32 *add, tfcrt_memref4_f32 *out,
                        float scale, int64_t causal, int64_t window,
                        int64_t sinks, int64_t block, tfcrt_memref2_i8 *layout,
                        int64_t layoutBlock, Params &p) {
  if (!q || !k || !v || !out)
    return "null q, k, v or out descriptor";
  const struct {
    const char *name;
    tfcrt_memref4_f32 *r;
  } dense[] = {{"q", q}, {"k", k}, {"v", v}, {"out", out}};
  for (const auto &x : dense) {
    for (int i = 0; i < 4; ++i)
      if (x.r->sizes[i] < 0)
        return format("%s dim %d has negative size %lld", x.name, i,
                      (long long)x.r->sizes[i]);
    if (!x.r->aligned && nonEmpty(x.r, 4))
      return format("%s has no data", x.name);
  }
  p.b = q->sizes[0];
  p.hq = q->sizes[1];
  p.s = q->sizes[2];
  p.d = q->sizes[3];
  p.hkv = k->sizes[1];
  p.t = k->sizes[2];
  p.dv = v->sizes[3];
  auto shape = [](const tfcrt_memref4_f32 *r) {
    return format("[%lld, %lld, %lld, %lld]", (long long)r->sizes[0],
                  (long long)r->sizes[1], (long long)r->sizes[2],
                  (long long)r->sizes[3]);
  };
  const std::string shapes = " (q " + shape(q) + ", k " + shape(k) + ", v " +
                             shape(v) + ", out " + shape(out) + ")";
  if (k->sizes[0] != p.b || v->sizes[0] != p.b || out->sizes[0] != p.b)
    return "batch sizes differ" + shapes;
  if (k->sizes[3] != p.d)
    return format("k head dim %lld differs from q's %lld",
                  (long long)k->sizes[3], (long long)p.d) +
           shapes;
  if (v->sizes[1] != p.hkv || v->sizes[2] != p.t)
    return "v [b, hkv, t] differs from k's" + shapes;
  if (p.hkv == 0 ? p.hq != 0 : p.hq % p.hkv != 0)
    return format("hq %lld is not a multiple of hkv %lld", (long long)p.hq,
                  (long long)p.hkv) +
           shapes;
  if (out->sizes[1] != p.hq || out->sizes[2] != p.s || out->sizes[3] != p.dv)
    return "out is not [b, hq, s, dv]" + shapes;
  if (window < 0 || sinks < 0 || block < 0)
    return format("negative window %lld, sinks %lld or block %lld",
                  (long long)window, (long long)sinks, (long long)block);

  auto dense4 = [](const tfcrt_memref4_f32 *r, const float *&ptr,
                   int64_t *strides) {
    ptr = r->aligned ? r->aligned + r->offset : nullptr;
    for (int i = 0; i < 4; ++i)
      strides[i] = r->strides[i];
  };
  dense4(q, p.q, p.qs);
  dense4(k, p.k, p.ks);
  dense4(v, p.v, p.vs);
  const float *o;
  dense4(out, o, p.os);
  p.out = const_cast<float *>(o);

  const int64_t full[4] = {p.b, p.hq, p.s, p.t};
  auto mask = [&](const char *name, const int64_t *sizes,
                  const int64_t *strides, bool hasData,
                  int64_t *bs) -> std::string {
    for (int i = 0; i < 4; ++i) {
      if (sizes[i] != 1 && sizes[i] != full[i])
        return format("%s dim %d (%s) has size %lld, expected 1 or %lld", name,
                      i, kDims[i], (long long)sizes[i], (long long)full[i]);
      bs[i] = sizes[i] == 1 ? 0 : strides[i];
    }
    if (!hasData)
      return format("%s has no data", name);
    return "";
  };
  auto none = [](const int64_t *sizes, int rank) {
    for (int i = 0; i < rank; ++i)
      if (sizes[i] != 0)
        return false;
    return true;
  };
  if (keep && !none(keep->sizes, 4)) {
    std::string e = mask("mask_keep", keep->sizes, keep->strides,
                         keep->aligned != nullptr, p.keepS);
    if (!e.empty())
      return e;
    p.keep = reinterpret_cast<const uint8_t *>(keep->aligned + keep->offset);
  }
  if (add && !none(add->sizes, 4)) {
    std::string e = mask("mask_add", add->sizes, add->strides,
                         add->aligned != nullptr, p.addS);
    if (!e.empty())
      return e;
    p.add = add->aligned + add->offset;
  }
  if (layout && !none(layout->sizes, 2)) {
    if (layoutBlock <= 0)
      return format("layout given with layout_block %lld",
                    (long long)layoutBlock);
    const int64_t need = (p.t + layoutBlock - 1) / layoutBlock;
    if (layout->sizes[0] < need || layout->sizes[1] < need)
      return format("layout [%lld, %lld] is smaller than [%lld, %lld] (t %lld, "
                    "layout_block %lld)",
                    (long long)layout->sizes[0], (long long)layout->sizes[1],
                    (long long)need, (long long)need, (long long)p.t,
                    (long long)layoutBlock);
    if (!layout->aligned && need > 0)
      return "layout has no data";
    p.layout =
        reinterpret_cast<const uint8_t *>(layout->aligned + layout->offset);
    p.layoutRows = layout->sizes[0];
    p.layoutCols = layout->sizes[1];
    p.layoutS[0] = layout->strides[0];
    p.layoutS[1] = layout->strides[1];
    p.layoutBlock = layoutBlock;
  }
  p.scale = scale;
  p.causal = causal != 0;
  p.window = window;
  p.sinks = sinks;
  p.block = block;
  return "";
}

void fillNaN(tfcrt_memref4_f32 *out) {
  if (!out || !out->aligned)
    return;
  for (int i = 0; i < 4; ++i)
    if (out->sizes[i] <= 0)
      return;
  float *o = out->aligned + out->offset;
  for (int64_t a = 0; a < out->sizes[0]; ++a)
    for (int64_t b = 0; b < out->sizes[1]; ++b)
      for (int64_t c = 0; c < out->sizes[2]; ++c)
        for (int64_t d = 0; d < out->sizes[3]; ++d)
          o[a * out->strides[0] + b * out->strides[1] + c * out->strides[2] +
            d * out->strides[3]] = NAN;
}

} // namespace

namespace {

/// Checks a sink query against p (built from q); fills p.qSink.
std::string sinkQueryParams(tfcrt_memref4_f32 *q, tfcrt_memref4_f32 *sinkQ,
                            Params &p) {
  if (!sinkQ)
    return "null sink_q descriptor";
  if (p.window <= 0 || p.sinks > 64)
    return format("a sink query needs a window and at most 64 sinks (window "
                  "%lld, sinks %lld)",
                  (long long)p.window, (long long)p.sinks);
  for (int i = 0; i < 4; ++i)
    if (sinkQ->sizes[i] != q->sizes[i])
      return format("sink_q dim %d is %lld, q's %lld", i,
                    (long long)sinkQ->sizes[i], (long long)q->sizes[i]);
  if (!sinkQ->aligned && nonEmpty(sinkQ, 4))
    return "sink_q has no data";
  p.qSink = sinkQ->aligned ? sinkQ->aligned + sinkQ->offset : nullptr;
  for (int i = 0; i < 4; ++i)
    p.qSinkS[i] = sinkQ->strides[i];
  return "";
}

/// Checks a [b, hkv, t, 1] scale descriptor against p; fills ptr/strides.
std::string scaleParams(const char *name, tfcrt_memref4_f32 *s, const Params &p,
                        int64_t t, const float *&ptr, int64_t *strides) {
  if (!s)
    return format("null %s descriptor", name);
  if (s->sizes[0] != p.b || s->sizes[1] != p.hkv || s->sizes[2] != t ||
      s->sizes[3] != 1)
    return format("%s is [%lld, %lld, %lld, %lld], expected [%lld, %lld, "
                  "%lld, 1]",
                  name, (long long)s->sizes[0], (long long)s->sizes[1],
                  (long long)s->sizes[2], (long long)s->sizes[3],
                  (long long)p.b, (long long)p.hkv, (long long)t);
  if (!s->aligned && p.b * p.hkv * t > 0)
    return format("%s has no data", name);
  ptr = s->aligned ? s->aligned + s->offset : nullptr;
  for (int i = 0; i < 3; ++i)
    strides[i] = s->strides[i];
  return "";
}

/// A quantized K/V descriptor seen as an f32 one for buildParams' shape
/// checks (its pointer is only tested for null there).
template <typename Ref> tfcrt_memref4_f32 shapeOf(const Ref *r) {
  tfcrt_memref4_f32 f{};
  if (!r)
    return f;
  f.aligned = reinterpret_cast<float *>(r->aligned);
  f.offset = 0;
  for (int i = 0; i < 4; ++i) {
    f.sizes[i] = r->sizes[i];
    f.strides[i] = r->strides[i];
  }
  return f;
}

template <typename Ref, typename Elem>
void quantizedEntry(const char *entry, Params::KvType kv, tfcrt_memref4_f32 *q,
                    Ref *k, tfcrt_memref4_f32 *kScale, Ref *v,
                    tfcrt_memref4_f32 *vScale, tfcrt_memref4_i8 *mask_keep,
                    tfcrt_memref4_f32 *mask_add, tfcrt_memref4_f32 *out,
                    float scale, int64_t causal, int64_t window, int64_t sinks,
                    int64_t block, tfcrt_memref2_i8 *layout,
                    int64_t layout_block, bool hasSinkQ = false,
                    tfcrt_memref4_f32 *sinkQ = nullptr) {
  Params p;
  std::string err;
  if (!k || !v) {
    err = "null k or v descriptor";
  } else {
    tfcrt_memref4_f32 kf = shapeOf(k), vf = shapeOf(v);
    err = buildParams(q, &kf, &vf, mask_keep, mask_add, out, scale, causal,
                      window, sinks, block, layout, layout_block, p);
  }
  if (err.empty() && kv == Params::KvType::I8) {
    err = scaleParams("k_scale", kScale, p, p.t, p.kScale, p.kss);
    if (err.empty())
      err = scaleParams("v_scale", vScale, p, p.t, p.vScale, p.vss);
  }
  if (err.empty() && hasSinkQ)
    err = sinkQueryParams(q, sinkQ, p);
  if (!err.empty()) {
    fillNaN(out);
    tfcrt::kernelError(TFC_ERR_INTERNAL, std::string(entry) + ": " + err);
    return;
  }
  p.kv = kv;
  p.k = p.v = nullptr;
  p.kq =
      k->aligned ? static_cast<const Elem *>(k->aligned) + k->offset : nullptr;
  p.vq =
      v->aligned ? static_cast<const Elem *>(v->aligned) + v->offset : nullptr;
  tfcrt::attn::run(p, tfcrt::attn::kernelsBest());
}

/// Whether a descriptor has all sizes 0 (an absent optional operand).
bool absent(const tfcrt_memref4_f32 *r) {
  return !r || (r->sizes[0] == 0 && r->sizes[1] == 0 && r->sizes[2] == 0 &&
                r->sizes[3] == 0);
}

/// tfcrt_attention_parts_*: K / V (int8: and their scales) in
/// Params::kMaxParts parts along the keys. Elem = float for f32.
template <typename Ref, typename Elem>
void partsEntry(const char *entry, Params::KvType kv, tfcrt_memref4_f32 *q,
                Ref *const *k, tfcrt_memref4_f32 *const *kScale, Ref *const *v,
                tfcrt_memref4_f32 *const *vScale, tfcrt_memref4_i8 *mask_keep,
                tfcrt_memref4_f32 *mask_add, tfcrt_memref4_f32 *out,
                float scale, int64_t causal, int64_t window, int64_t sinks,
                int64_t block, tfcrt_memref2_i8 *layout, int64_t layout_block,
                tfcrt_memref4_f32 *sinkQ) {
  constexpr int kParts = Params::kMaxParts;
  Params p;
  std::string err;
  for (int i = 0; i < kParts && err.empty(); ++i)
    if (!k[i] || !v[i])
      err = format("null k or v descriptor of part %d", i);
  auto dims = [](const Ref *r) {
    return format("[%lld, %lld, %lld, %lld]", (long long)r->sizes[0],
                  (long long)r->sizes[1], (long long)r->sizes[2],
                  (long long)r->sizes[3]);
  };
  if (err.empty()) {
    // The concatenation's shape for buildParams: part 0's, t the sum.
    tfcrt_memref4_f32 kf = shapeOf(k[0]), vf = shapeOf(v[0]);
    int64_t t = 0;
    for (int i = 0; i < kParts && err.empty(); ++i) {
      for (int d : {0, 1, 3})
        if (k[i]->sizes[d] != k[0]->sizes[d] ||
            v[i]->sizes[d] != v[0]->sizes[d])
          err = format("part %d (k %s, v %s) differs from part 0 (k %s, v "
                       "%s) outside dim 2",
                       i, dims(k[i]).c_str(), dims(v[i]).c_str(),
                       dims(k[0]).c_str(), dims(v[0]).c_str());
      if (err.empty() &&
          (k[i]->sizes[2] < 0 || k[i]->sizes[2] != v[i]->sizes[2]))
        err = format("part %d has %lld keys in k and %lld in v", i,
                     (long long)k[i]->sizes[2], (long long)v[i]->sizes[2]);
      t += k[i]->sizes[2];
      if (!kf.aligned)
        kf.aligned = reinterpret_cast<float *>(k[i]->aligned);
      if (!vf.aligned)
        vf.aligned = reinterpret_cast<float *>(v[i]->aligned);
    }
    kf.sizes[2] = vf.sizes[2] = t;
    if (err.empty())
      err = buildParams(q, &kf, &vf, mask_keep, mask_add, out, scale, causal,
                        window, sinks, block, layout, layout_block, p);
  }
  for (int i = 0, j0 = 0; i < kParts && err.empty(); ++i) {
    Params::KvPart &x = p.parts[i];
    x.j0 = j0;
    x.t = k[i]->sizes[2];
    j0 += x.t;
    if (x.t > 0 && p.b * p.hkv > 0 &&
        ((!k[i]->aligned && p.d > 0) || (!v[i]->aligned && p.dv > 0))) {
      err = format("part %d has no data", i);
      break;
    }
    const Elem *kp =
        k[i]->aligned ? static_cast<const Elem *>(k[i]->aligned) + k[i]->offset
                      : nullptr;
    const Elem *vp =
        v[i]->aligned ? static_cast<const Elem *>(v[i]->aligned) + v[i]->offset
                      : nullptr;
    if constexpr (std::is_same_v<Elem, float>) {
      x.k = kp;
      x.v = vp;
    } else {
      x.kq = kp;
      x.vq = vp;
    }
    std::copy(k[i]->strides, k[i]->strides + 4, x.ks);
    std::copy(v[i]->strides, v[i]->strides + 4, x.vs);
    if (kv == Params::KvType::I8) {
      const std::string n = std::to_string(i);
      err = scaleParams(("k_scale part " + n).c_str(), kScale[i], p, x.t,
                        x.kScale, x.kss);
      if (err.empty())
        err = scaleParams(("v_scale part " + n).c_str(), vScale[i], p, x.t,
                          x.vScale, x.vss);
    }
  }
  if (err.empty() && !absent(sinkQ)) {
    err = sinkQueryParams(q, sinkQ, p);
    if (err.empty() && std::min(p.sinks, p.t) > p.parts[0].t)
      err = format("the %lld sink keys of a sink query must all be in part 0 "
                   "(%lld keys)",
                   (long long)std::min(p.sinks, p.t), (long long)p.parts[0].t);
  }
  if (!err.empty()) {
    fillNaN(out);
    tfcrt::kernelError(TFC_ERR_INTERNAL, std::string(entry) + ": " + err);
    return;
  }
  p.kv = kv;
  p.nparts = kParts;
  tfcrt::attn::run(p, tfcrt::attn::kernelsBest());
}
} // namespace

TFCRT_EXPORT void _mlir_ciface_tfcrt_attention_kv_f16(
    tfcrt_memref4_f32 *q, tfcrt_memref4_f16 *k, tfcrt_memref4_f16 *v,
    tfcrt_memref4_i8 *mask_keep, tfcrt_memref4_f32 *mask_add,
    tfcrt_memref4_f32 *out, float scale, int64_t causal, int64_t window,
    int64_t sinks, int64_t block, tfcrt_memref2_i8 *layout,
    int64_t layout_block) {
  quantizedEntry<tfcrt_memref4_f16, uint16_t>(
      "tfcrt_attention_kv_f16", Params::KvType::F16, q, k, nullptr, v, nullptr,
      mask_keep, mask_add, out, scale, causal, window, sinks, block, layout,
      layout_block);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_attention_kv_i8(
    tfcrt_memref4_f32 *q, tfcrt_memref4_i8 *k, tfcrt_memref4_f32 *k_scale,
    tfcrt_memref4_i8 *v, tfcrt_memref4_f32 *v_scale,
    tfcrt_memref4_i8 *mask_keep, tfcrt_memref4_f32 *mask_add,
    tfcrt_memref4_f32 *out, float scale, int64_t causal, int64_t window,
    int64_t sinks, int64_t block, tfcrt_memref2_i8 *layout,
    int64_t layout_block) {
  quantizedEntry<tfcrt_memref4_i8, int8_t>(
      "tfcrt_attention_kv_i8", Params::KvType::I8, q, k, k_scale, v, v_scale,
      mask_keep, mask_add, out, scale, causal, window, sinks, block, layout,
      layout_block);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_attention_kv_f16_sq(
    tfcrt_memref4_f32 *q, tfcrt_memref4_f16 *k, tfcrt_memref4_f16 *v,
    tfcrt_memref4_i8 *mask_keep, tfcrt_memref4_f32 *mask_add,
    tfcrt_memref4_f32 *out, float scale, int64_t causal, int64_t window,
    int64_t sinks, int64_t block, tfcrt_memref2_i8 *layout,
    int64_t layout_block, tfcrt_memref4_f32 *sink_q) {
  quantizedEntry<tfcrt_memref4_f16, uint16_t>(
      "tfcrt_attention_kv_f16_sq", Params::KvType::F16, q, k, nullptr, v,
      nullptr, mask_keep, mask_add, out, scale, causal, window, sinks, block,
      layout, layout_block, true, sink_q);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_attention_kv_i8_sq(
    tfcrt_memref4_f32 *q, tfcrt_memref4_i8 *k, tfcrt_memref4_f32 *k_scale,
    tfcrt_memref4_i8 *v, tfcrt_memref4_f32 *v_scale,
    tfcrt_memref4_i8 *mask_keep, tfcrt_memref4_f32 *mask_add,
    tfcrt_memref4_f32 *out, float scale, int64_t causal, int64_t window,
    int64_t sinks, int64_t block, tfcrt_memref2_i8 *layout,
    int64_t layout_block, tfcrt_memref4_f32 *sink_q) {
  quantizedEntry<tfcrt_memref4_i8, int8_t>(
      "tfcrt_attention_kv_i8_sq", Params::KvType::I8, q, k, k_scale, v, v_scale,
      mask_keep, mask_add, out, scale, causal, window, sinks, block, layout,
      layout_block, true, sink_q);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_attention_sq_f32(
    tfcrt_memref4_f32 *q, tfcrt_memref4_f32 *k, tfcrt_memref4_f32 *v,
    tfcrt_memref4_i8 *mask_keep, tfcrt_memref4_f32 *mask_add,
    tfcrt_memref4_f32 *out, float scale, int64_t causal, int64_t window,
    int64_t sinks, int64_t block, tfcrt_memref2_i8 *layout,
    int64_t layout_block, tfcrt_memref4_f32 *sink_q) {
  Params p;
  std::string err =
      buildParams(q, k, v, mask_keep, mask_add, out, scale, causal, window,
                  sinks, block, layout, layout_block, p);
  if (err.empty())
    err = sinkQueryParams(q, sink_q, p);
  if (!err.empty()) {
    fillNaN(out);
    tfcrt::kernelError(TFC_ERR_INTERNAL, "tfcrt_attention_sq_f32: " + err);
    return;
  }
  tfcrt::attn::run(p, tfcrt::attn::kernelsBest());
}

std::string tfcrt::attn::paramsFromEntry(
    tfcrt_memref4_f32 *q, tfcrt_memref4_f32 *k, tfcrt_memref4_f32 *v,
    tfcrt_memref4_i8 *keep, tfcrt_memref4_f32 *add, tfcrt_memref4_f32 *out,
    float scale, int64_t causal, int64_t window, int64_t sinks, int64_t block,
    tfcrt_memref2_i8 *layout, int64_t layoutBlock, Params &p) {
  return buildParams(q, k, v, keep, add, out, scale, causal, window, sinks,
                     block, layout, layoutBlock, p);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_attention_f32(
    tfcrt_memref4_f32 *q, tfcrt_memref4_f32 *k, tfcrt_memref4_f32 *v,
    tfcrt_memref4_i8 *mask_keep, tfcrt_memref4_f32 *mask_add,
    tfcrt_memref4_f32 *out, float scale, int64_t causal, int64_t window,
    int64_t sinks, int64_t block, tfcrt_memref2_i8 *layout,
    int64_t layout_block) {
  Params p;
  const std::string err =
      buildParams(q, k, v, mask_keep, mask_add, out, scale, causal, window,
                  sinks, block, layout, layout_block, p);
  if (!err.empty()) {
    fillNaN(out);
    tfcrt::kernelError(TFC_ERR_INTERNAL, "tfcrt_attention_f32: " + err);
    return;
  }
  tfcrt::attn::run(p, tfcrt::attn::kernelsBest());
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_attention_parts_f32(
    tfcrt_memref4_f32 *q, tfcrt_memref4_f32 *k0, tfcrt_memref4_f32 *k1,
    tfcrt_memref4_f32 *k2, tfcrt_memref4_f32 *k3, tfcrt_memref4_f32 *v0,
    tfcrt_memref4_f32 *v1, tfcrt_memref4_f32 *v2, tfcrt_memref4_f32 *v3,
    tfcrt_memref4_i8 *mask_keep, tfcrt_memref4_f32 *mask_add,
    tfcrt_memref4_f32 *out, float scale, int64_t causal, int64_t window,
    int64_t sinks, int64_t block, tfcrt_memref2_i8 *layout,
    int64_t layout_block, tfcrt_memref4_f32 *sink_q) {
  tfcrt_memref4_f32 *const k[] = {k0, k1, k2, k3}, *const v[] = {v0, v1, v2,
                                                                 v3};
  partsEntry<tfcrt_memref4_f32, float>(
      "tfcrt_attention_parts_f32", Params::KvType::F32, q, k, nullptr, v,
      nullptr, mask_keep, mask_add, out, scale, causal, window, sinks, block,
      layout, layout_block, sink_q);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_attention_parts_kv_f16(
    tfcrt_memref4_f32 *q, tfcrt_memref4_f16 *k0, tfcrt_memref4_f16 *k1,
    tfcrt_memref4_f16 *k2, tfcrt_memref4_f16 *k3, tfcrt_memref4_f16 *v0,
    tfcrt_memref4_f16 *v1, tfcrt_memref4_f16 *v2, tfcrt_memref4_f16 *v3,
    tfcrt_memref4_i8 *mask_keep, tfcrt_memref4_f32 *mask_add,
    tfcrt_memref4_f32 *out, float scale, int64_t causal, int64_t window,
    int64_t sinks, int64_t block, tfcrt_memref2_i8 *layout,
    int64_t layout_block, tfcrt_memref4_f32 *sink_q) {
  tfcrt_memref4_f16 *const k[] = {k0, k1, k2, k3}, *const v[] = {v0, v1, v2,
                                                                 v3};
  partsEntry<tfcrt_memref4_f16, uint16_t>(
      "tfcrt_attention_parts_kv_f16", Params::KvType::F16, q, k, nullptr, v,
      nullptr, mask_keep, mask_add, out, scale, causal, window, sinks, block,
      layout, layout_block, sink_q);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_attention_parts_kv_i8(
    tfcrt_memref4_f32 *q, tfcrt_memref4_i8 *k0, tfcrt_memref4_i8 *k1,
    tfcrt_memref4_i8 *k2, tfcrt_memref4_i8 *k3, tfcrt_memref4_f32 *ks0,
    tfcrt_memref4_f32 *ks1, tfcrt_memref4_f32 *ks2, tfcrt_memref4_f32 *ks3,
    tfcrt_memref4_i8 *v0, tfcrt_memref4_i8 *v1, tfcrt_memref4_i8 *v2,
    tfcrt_memref4_i8 *v3, tfcrt_memref4_f32 *vs0, tfcrt_memref4_f32 *vs1,
    tfcrt_memref4_f32 *vs2, tfcrt_memref4_f32 *vs3, tfcrt_memref4_i8 *mask_keep,
    tfcrt_memref4_f32 *mask_add, tfcrt_memref4_f32 *out, float scale,
    int64_t causal, int64_t window, int64_t sinks, int64_t block,
    tfcrt_memref2_i8 *layout, int64_t layout_block, tfcrt_memref4_f32 *sink_q) {
  tfcrt_memref4_i8 *const k[] = {k0, k1, k2, k3}, *const v[] = {v0, v1, v2, v3};
  tfcrt_memref4_f32 *const ks[] = {ks0, ks1, ks2, ks3}, *const vs[] = {
                                                            vs0, vs1, vs2, vs3};
  partsEntry<tfcrt_memref4_i8, int8_t>(
      "tfcrt_attention_parts_kv_i8", Params::KvType::I8, q, k, ks, v, vs,
      mask_keep, mask_add, out, scale, causal, window, sinks, block, layout,
      layout_block, sink_q);
}
