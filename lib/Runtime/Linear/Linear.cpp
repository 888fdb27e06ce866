//===- Linear.cpp - tfcrt_linear: y = act(x W + bias) + residual ----------===//
//
// The driver every packed format shares (Format.h):
//   1. check the blob (pack::validate) and the operands against its header;
//      any mismatch: kernelError, y = NaN, return
//   2. fold the batch into rows when x, y (and the residual) are contiguous
//      over it; a size-1 x batch is computed once and its tile finished
//      into every y batch item (the residuals differ)
//   3. prepare (formats that quantize x) over row ranges, then tasks of
//      (row block x panel slice) on the thread pool; each computes a tile of
//      at most kTileBytes into a thread-local buffer and runs the epilogue
//      on it while it is in cache: act(acc + bias) + residual, or for a
//      gated blob act(gate) * up + residual (no bias: tfc.gated_mlp has
//      none, and a bias would need its own gate/up split; refused)
//   Few rows (m <= the format's rowBlock, decode): one row block, threads
//   take contiguous panel ranges, so each streams its share of W once.
//   Less work than kSerialMicros of one core runs on the caller alone: a
//   decode step's small projections pay no thread wake-up.
//
//===----------------------------------------------------------------------===//

#include "../Internal.h"
#include "LinearInternal.h"
#include "Pack.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

namespace tfcrt {
namespace linear {
namespace {

/// A tile of at most this many bytes: L2-resident between compute and
/// epilogue, and small enough that tasks stay fine-grained.
constexpr int64_t kTileBytes = 192 * 1024;
/// Estimated single-core time below which a call stays on one thread.
constexpr double kSerialMicros = 12.0;

thread_local GrowBuffer tileBuffer, rowBuffer, scratchBuffer, biasBuffer;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

std::string dims(const tfcrt_memref3_f32 *d) {
  return "[" + std::to_string(d->sizes[0]) + ", " +
         std::to_string(d->sizes[1]) + ", " + std::to_string(d->sizes[2]) + "]";
}

/// Everything a task needs, fixed before the parallel region.
struct Plan {
  const tfc_pack_header *h = nullptr;
  const FormatImpl *impl = nullptr;
  const EpilogueKernels *epi = nullptr;
  int act = 0;
  bool gated = false;
  int64_t P = 32, panels = 0, n = 0;
  // Compute items (distinct x): `items` of `rows` rows each; item `it`
  // feeds y batch items it * fan .. it * fan + fan - 1.
  int64_t items = 1, rows = 0, fan = 1;
  const float *x = nullptr;
  int64_t sxb = 0, sxm = 0, sxk = 1;
  const float *bias = nullptr; // contiguous or null
  const float *res = nullptr;
  int64_t srb = 0, srm = 0, srn = 1;
  float *y = nullptr;
  int64_t syb = 0, sym = 0, syn = 1;
  char *scratch = nullptr;
  size_t scratchStride = 0;
  int64_t rowBlocks = 1, colSlices = 1, chunkPanels = 1;
  int64_t sliceUnit = 1; // slice and chunk boundaries: multiples of this
  uint64_t call = 0;     // Rows::call of batch item 0 (items follow it)
  bool fused = false;    // impl->computeInto applies the epilogue
};

/// TFC_LINEAR_FUSED=0: the epilogue as a pass over a tile buffer even where
/// the format can apply it per tile (comparisons, debugging); the tests
/// switch it with setFusedEpilogue.
std::atomic<int> fusedState{-1}; // -1: not read from the environment yet

bool fusedAllowed() {
  int s = fusedState.load(std::memory_order_relaxed);
  if (s < 0) {
    const char *e = std::getenv("TFC_LINEAR_FUSED");
    s = (e && e[0] == '0') ? 0 : 1;
    int expected = -1;
    if (!fusedState.compare_exchange_strong(expected, s))
      s = expected;
  }
  return s != 0;
}

/// Rows::call ids: each call takes `items` consecutive ones.
std::atomic<uint64_t> nextCall{1};

/// y row `i` of batch item `b`, columns [j0, j0 + count): the epilogue of
/// tile row `t` (its columns from j0's panel on).
bool finishRow(const Plan &p, const float *t, int64_t b, int64_t i, int64_t q0,
               int64_t q1) {
  float *yRow = p.y + b * p.syb + i * p.sym;
  const float *resRow = p.res ? p.res + b * p.srb + i * p.srm : nullptr;
  const bool direct = p.syn == 1 && (!p.res || p.srn == 1);
  // Strided y or residual go through a contiguous row.
  float *tmp = nullptr;
  if (!direct) {
    tmp = static_cast<float *>(
        rowBuffer.get(static_cast<size_t>(2 * p.P) * sizeof(float)));
    if (!tmp)
      return false;
  }
  auto one = [&](int64_t j0, int64_t count, auto &&apply) {
    if (direct) {
      apply(resRow ? resRow + j0 : nullptr, yRow + j0);
      return;
    }
    float *r = tmp + p.P;
    if (resRow)
      for (int64_t j = 0; j < count; ++j)
        r[j] = resRow[(j0 + j) * p.srn];
    apply(resRow ? r : nullptr, tmp);
    for (int64_t j = 0; j < count; ++j)
      yRow[(j0 + j) * p.syn] = tmp[j];
  };
  if (p.gated) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t half = std::min(p.P, p.n - q * p.P) / 2;
      const float *gate = t + (q - q0) * p.P;
      one(q * p.P / 2, half, [&](const float *r, float *out) {
        p.epi->gated(gate, gate + half, r, out, half, p.act);
      });
    }
    return true;
  }
  if (direct) {
    const int64_t j0 = q0 * p.P, count = std::min(p.n, q1 * p.P) - j0;
    p.epi->dense(t, p.bias ? p.bias + j0 : nullptr,
                 resRow ? resRow + j0 : nullptr, yRow + j0, count, p.act);
    return true;
  }
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t j0 = q * p.P, count = std::min(p.P, p.n - j0);
    one(j0, count, [&](const float *r, float *out) {
      p.epi->dense(t + (q - q0) * p.P, p.bias ? p.bias + j0 : nullptr, r, out,
                   count, p.act);
    });
  }
  return true;
}

/// One task: rows of one row block x panels of one slice, in tiles.
bool runTask(const Plan &p, int64_t task) {
  const int64_t it = task / (p.rowBlocks * p.colSlices);
  const int64_t rb = task / p.colSlices % p.rowBlocks;
  const int64_t cs = task % p.colSlices;
  const int64_t r0 = p.rows * rb / p.rowBlocks;
  const int64_t r1 = p.rows * (rb + 1) / p.rowBlocks;
  const int64_t units = ceilDiv(p.panels, p.sliceUnit);
  const int64_t q0 =
      std::min(p.panels, p.sliceUnit * (units * cs / p.colSlices));
  const int64_t q1 =
      std::min(p.panels, p.sliceUnit * (units * (cs + 1) / p.colSlices));
  if (r0 >= r1 || q0 >= q1)
    return true;
  Rows x;
  x.x = p.x + it * p.sxb;
  x.m = p.rows;
  x.k = p.h->k;
  x.sm = p.sxm;
  x.sk = p.sxk;
  x.call = p.call + static_cast<uint64_t>(it);
  const void *scratch = p.scratch ? p.scratch + it * p.scratchStride : nullptr;
  if (p.fused) {
    // The format finishes each tile itself, straight into y.
    TileOut o;
    o.y = p.y + it * p.syb + r0 * p.sym;
    o.ldy = p.sym;
    o.bias = p.bias;
    o.res = p.res ? p.res + it * p.srb + r0 * p.srm : nullptr;
    o.ldr = p.srm;
    o.act = p.act;
    o.gated = p.gated;
    o.tile = p.epi->tile;
    p.impl->computeInto(*p.h, x, scratch, r0, r1, q0, q1, o);
    return true;
  }
  for (int64_t qa = q0; qa < q1; qa += p.chunkPanels) {
    const int64_t qb = std::min(q1, qa + p.chunkPanels);
    int64_t ldt = (qb - qa) * p.P;
    if (ldt % 256 == 0) // rows 1 KB apart alias in L1 sets
      ldt += 16;
    float *t = static_cast<float *>(
        tileBuffer.get(static_cast<size_t>((r1 - r0) * ldt) * sizeof(float)));
    if (!t)
      return false;
    p.impl->compute(*p.h, x, scratch, r0, r1, qa, qb, t, ldt);
    for (int64_t f = 0; f < p.fan; ++f)
      for (int64_t i = r0; i < r1; ++i)
        if (!finishRow(p, t + (i - r0) * ldt, it * p.fan + f, i, qa, qb))
          return false;
  }
  return true;
}

template <typename F> void forTasks(int64_t tasks, int threads, F &&f) {
  if (threads > 1 && tasks > 1)
    parallelRun(tasks, f);
  else
    for (int64_t t = 0; t < tasks; ++t)
      f(t);
}

} // namespace

void setFusedEpilogue(bool on) { fusedState.store(on ? 1 : 0); }

void tileFailed(float *out, int64_t rows, int64_t cols, int64_t ldo) {
  kernelError(TFC_ERR_OUT_OF_MEMORY,
              "tfcrt_linear: out of memory for a kernel's scratch buffer");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[i * ldo + j] = nan;
}

void linearAt(isa::Level level, const tfcrt_memref3_f32 *xd,
              const tfcrt_memref1_i8 *wd, const tfcrt_memref1_f32 *biasd,
              const tfcrt_memref3_f32 *resd, const tfcrt_memref3_f32 *yd,
              int64_t act) {
  auto fail = [&](tfc_status status, const std::string &msg) {
    kernelError(status, "tfcrt_linear: " + msg);
    fillNaN(yd);
  };
  if (!xd || !wd || !yd || !xd->aligned || !wd->aligned || !yd->aligned)
    return fail(TFC_ERR_INTERNAL, "null x, weight or y descriptor");
  for (int d = 0; d < 3; ++d)
    if (xd->sizes[d] < 0 || yd->sizes[d] < 0)
      return fail(TFC_ERR_INTERNAL,
                  "negative size in x " + dims(xd) + " or y " + dims(yd));
  if (wd->sizes[0] < 0 || (wd->sizes[0] > 1 && wd->strides[0] != 1))
    return fail(TFC_ERR_INTERNAL, "the weight blob view is not contiguous");

  const char *blob = reinterpret_cast<const char *>(wd->aligned + wd->offset);
  std::string err;
  if (!pack::validate(blob, static_cast<uint64_t>(wd->sizes[0]), err))
    return fail(TFC_ERR_UNSUPPORTED, err);
  // A copy until the alignment is known (the kernels get the blob itself).
  tfc_pack_header hdr;
  std::memcpy(&hdr, blob, sizeof(hdr));
  const tfc_pack_header *h = &hdr;
  const bool gated = h->flags & TFC_PACK_FLAG_GATED;
  const int64_t nOut = gated ? h->n / 2 : h->n;
  // Built only for a message: decode makes hundreds of calls a step.
  auto what = [&] {
    return std::string(pack::formatName(h->format)) + " blob (layout version " +
           std::to_string(h->version) + ", k " + std::to_string(h->k) + ", n " +
           std::to_string(h->n) + (gated ? ", gated" : "") + "): ";
  };
  if (reinterpret_cast<uintptr_t>(blob) % TFC_PACK_ALIGN != 0)
    return fail(TFC_ERR_INTERNAL,
                what() + "the blob is not 64-byte aligned in memory");
  h = reinterpret_cast<const tfc_pack_header *>(blob);
  // W8/W4 with ACT_F32 select their f32-activation kernels (Format.h key).
  const uint32_t key =
      h->format | ((h->flags & TFC_PACK_FLAG_ACT_F32) ? kFormatKeyActF32 : 0u);
  const FormatImpl *impl = findFormatImpl(key, level);
  if (!impl || !impl->compute)
    return fail(TFC_ERR_UNSUPPORTED,
                what() + "this runtime has no kernel for the format");

  // Shapes against the header.
  const int64_t batch = yd->sizes[0], m = yd->sizes[1];
  if (xd->sizes[2] != h->k)
    return fail(TFC_ERR_INTERNAL, what() + "x " + dims(xd) + " has k = " +
                                      std::to_string(xd->sizes[2]) +
                                      ", expected " + std::to_string(h->k));
  if (yd->sizes[2] != nOut)
    return fail(TFC_ERR_INTERNAL, what() + "y " + dims(yd) + " has " +
                                      std::to_string(yd->sizes[2]) +
                                      " columns, expected " +
                                      std::to_string(nOut));
  if (xd->sizes[1] != m || (xd->sizes[0] != batch && xd->sizes[0] != 1))
    return fail(TFC_ERR_INTERNAL, what() + "x " + dims(xd) + " and y " +
                                      dims(yd) + " disagree on batch or rows");
  const bool hasBias = biasd && biasd->aligned && biasd->sizes[0] != 0;
  if (hasBias && gated)
    return fail(TFC_ERR_INTERNAL, what() + "a gated blob takes no bias");
  if (hasBias && biasd->sizes[0] != nOut)
    return fail(TFC_ERR_INTERNAL,
                what() + "bias has " + std::to_string(biasd->sizes[0]) +
                    " entries, expected " + std::to_string(nOut));
  const bool hasRes = resd && resd->aligned &&
                      (resd->sizes[0] | resd->sizes[1] | resd->sizes[2]) != 0;
  if (hasRes && (resd->sizes[1] != m || resd->sizes[2] != nOut ||
                 (resd->sizes[0] != batch && resd->sizes[0] != 1)))
    return fail(TFC_ERR_INTERNAL, what() + "residual " + dims(resd) +
                                      " does not match y " + dims(yd));
  if (act < TFCRT_ACT_NONE || act > TFCRT_ACT_RELU)
    return fail(TFC_ERR_INTERNAL,
                what() + "unknown activation " + std::to_string(act));
  if (batch == 0 || m == 0)
    return;

  Plan p;
  p.h = h;
  p.impl = impl;
  p.epi = &epilogueFor(level);
  p.act = static_cast<int>(act);
  p.gated = gated;
  p.P = h->panel;
  p.n = h->n;
  p.panels = ceilDiv(h->n, p.P);
  p.x = xd->aligned + xd->offset;
  p.sxb = xd->sizes[0] == 1 ? 0 : xd->strides[0];
  p.sxm = xd->strides[1];
  p.sxk = xd->strides[2];
  p.y = yd->aligned + yd->offset;
  p.syb = yd->strides[0];
  p.sym = yd->strides[1];
  p.syn = yd->strides[2];
  if (hasRes) {
    p.res = resd->aligned + resd->offset;
    p.srb = resd->sizes[0] == 1 ? 0 : resd->strides[0];
    p.srm = resd->strides[1];
    p.srn = resd->strides[2];
  }
  if (hasBias) {
    p.bias = biasd->aligned + biasd->offset;
    if (biasd->strides[0] != 1) {
      float *b = static_cast<float *>(
          biasBuffer.get(static_cast<size_t>(nOut) * sizeof(float)));
      if (!b)
        return fail(TFC_ERR_OUT_OF_MEMORY, what() + "no memory for the bias");
      for (int64_t j = 0; j < nOut; ++j)
        b[j] = p.bias[j * biasd->strides[0]];
      p.bias = b;
    }
  }
  // Batch layout: fold, broadcast x, or items in turn.
  p.rows = m;
  if (batch > 1 && p.sxb == 0) {
    p.fan = batch;
  } else if (batch > 1 && p.sxb == m * p.sxm && p.syb == m * p.sym &&
             (!p.res || p.srb == m * p.srm)) {
    p.rows = batch * m;
  } else {
    p.items = batch;
  }

  p.fused = impl->computeInto && p.epi->tile && p.fan == 1 && p.syn == 1 &&
            (!p.res || p.srn == 1) && fusedAllowed();

  p.call = nextCall.fetch_add(static_cast<uint64_t>(p.items),
                              std::memory_order_relaxed);

  // Threads: none for tiny work (decode's small projections).
  const int64_t cols = p.panels * p.P;
  const double flops = 2.0 * p.items * p.rows * h->k * cols;
  const double micros =
      flops / 50e3 + static_cast<double>(h->total_bytes) * p.items / 20e3;
  const int threads = micros < kSerialMicros ? 1 : numThreads();

  // Work split.
  if (p.rows <= (impl->panelSplitRows ? impl->panelSplitRows : impl->rowBlock)) {
    // Few rows: threads split the panels. Several slices per thread, handed
    // out dynamically, so that a worker the OS has descheduled holds up
    // little; on multiples of 4 panels (the decode kernels stream 4 at once).
    p.rowBlocks = 1;
    if (p.items < threads) {
      p.sliceUnit = 4;
      p.colSlices = std::min<int64_t>(ceilDiv(p.panels, p.sliceUnit),
                                      4 * ceilDiv(threads, p.items));
    }
  } else {
    p.rowBlocks = ceilDiv(p.rows, impl->rowBlock);
    const int64_t rowTasks = p.items * p.rowBlocks;
    if (threads > 1 && p.items == 1 && rowTasks % threads != 0)
      p.rowBlocks =
          std::min(ceilDiv(p.rows, 8), ceilDiv(p.rowBlocks, threads) * threads);
    if (p.items * p.rowBlocks < threads)
      p.colSlices =
          std::min<int64_t>(p.panels, ceilDiv(threads, p.items * p.rowBlocks));
  }
  const int64_t blockRows = ceilDiv(p.rows, p.rowBlocks);
  const int64_t slicePanels = ceilDiv(p.panels, p.colSlices);
  const int64_t maxChunk =
      std::max<int64_t>(1, kTileBytes / (4 * p.P * blockRows));
  p.chunkPanels = ceilDiv(slicePanels, ceilDiv(slicePanels, maxChunk));
  p.chunkPanels = ceilDiv(p.chunkPanels, p.sliceUnit) * p.sliceUnit;

  std::atomic<bool> ok{true};
  if (impl->prepare && impl->scratchBytes) {
    p.scratchStride = (impl->scratchBytes(*h, p.rows) + TFC_PACK_ALIGN - 1) /
                      TFC_PACK_ALIGN * TFC_PACK_ALIGN;
    p.scratch = static_cast<char *>(
        scratchBuffer.get(p.scratchStride * static_cast<size_t>(p.items)));
    if (!p.scratch)
      return fail(TFC_ERR_OUT_OF_MEMORY,
                  what() + "no memory for the prepared rows");
    const int64_t parts =
        threads > 1 ? std::min<int64_t>(ceilDiv(p.rows, 16), threads) : 1;
    forTasks(p.items * parts, threads, [&](int64_t t) {
      const int64_t it = t / parts, part = t % parts;
      Rows x;
      x.x = p.x + it * p.sxb;
      x.m = p.rows;
      x.k = h->k;
      x.sm = p.sxm;
      x.sk = p.sxk;
      impl->prepare(*h, x, p.rows * part / parts, p.rows * (part + 1) / parts,
                    p.scratch + it * p.scratchStride);
    });
  }
  forTasks(p.items * p.rowBlocks * p.colSlices, threads, [&](int64_t t) {
    if (!runTask(p, t))
      ok.store(false, std::memory_order_relaxed);
  });
  if (!ok.load())
    fail(TFC_ERR_OUT_OF_MEMORY, what() + "no memory for an output tile");
}

} // namespace linear
} // namespace tfcrt

TFCRT_EXPORT void _mlir_ciface_tfcrt_linear(tfcrt_memref3_f32 *x,
                                            tfcrt_memref1_i8 *w,
                                            tfcrt_memref1_f32 *bias,
                                            tfcrt_memref3_f32 *residual,
                                            tfcrt_memref3_f32 *y, int64_t act) {
  tfcrt::linear::linearAt(tfcrt::isa::features().level, x, w, bias, residual, y,
                          act);
}
