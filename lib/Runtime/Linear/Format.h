//===- Format.h - how a packed format plugs into tfcrt_linear ----*- C++ -*-===//
//
// The driver (Linear.cpp) owns what every format shares: reading and
// checking the blob header against the operands, splitting the work into
// tasks of (row block x panel range) over the thread pool, the epilogue
// (bias, activation, residual, gated act(gate) * up) on each finished tile,
// and NaN-filling the output on an error. A format provides, per ISA level,
// the arithmetic: an optional per-call preparation of the activation rows
// (int8 formats quantize them) and the dot products of a tile.
//
//   per batch item:
//     prepare(rows [0, m))                      once, before any compute
//     parallel over tasks (row block, panels):  compute -> tile, epilogue
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_LINEAR_FORMAT_H
#define TFC_LIB_RUNTIME_LINEAR_FORMAT_H

#include "../Isa.h"
#include "tfc/Support/PackedWeights.h"

#include <cstddef>
#include <cstdint>

namespace tfcrt {
namespace linear {

/// The activation rows of one batch item: x[i * sm + kk * sk], i < m, kk < k.
struct Rows {
  const float *x = nullptr;
  int64_t m = 0, k = 0;
  int64_t sm = 0, sk = 1;
  /// Unique to one tfcrt_linear call and batch item (0: unknown): a kernel
  /// may reuse what it derived from these rows for an earlier task of the
  /// same call on the same thread (the f32 kernels' packed rows: the few-rows
  /// order hands each thread several panel slices of the same rows).
  uint64_t call = 0;
};

/// Where a format that applies the epilogue itself (computeInto) writes:
/// output row r (relative to the task's first row) at y + r * ldy, output
/// column c at + c; res (null: none) likewise with ldr; bias[c] (null:
/// none); act a TFCRT_ACT_*; gated: each panel of P columns is P / 2 gate
/// then P / 2 up columns, giving P / 2 output columns act(gate) * up.
struct TileOut {
  float *y = nullptr;
  int64_t ldy = 0;
  const float *bias = nullptr;
  const float *res = nullptr;
  int64_t ldr = 0;
  int act = 0;
  bool gated = false;
  /// Finishes `rows` x `cols` accumulators (row stride lda, panel columns:
  /// for a gated tile cols / 2 gate then cols / 2 up) into output rows
  /// [r0, r0 + rows) from output column c0, and prefetches the lines of
  /// the next tile of the same rows (columns from c0 + its output columns).
  void (*tile)(const float *acc, int64_t lda, int rows, int cols,
               const TileOut &o, int64_t r0, int64_t c0) = nullptr;
};

struct FormatImpl {
  /// Scratch bytes prepare() needs for m rows (0: prepare is not called).
  size_t (*scratchBytes)(const tfc_pack_header &h, int64_t m) = nullptr;
  /// Prepares rows [i0, i1) into `scratch` (the whole buffer for m rows;
  /// row i's part at the format's own offsets). Called once per batch item
  /// and row range before compute sees those rows; may run in parallel for
  /// disjoint row ranges.
  void (*prepare)(const tfc_pack_header &h, const Rows &x, int64_t i0,
                  int64_t i1, void *scratch) = nullptr;
  /// out[(i - i0) * ldo + c] = sum_kk x[i][kk] * W[kk][p0 * P + c] for rows
  /// [i0, i1) and the columns of panels [p0, p1) (P = h.panel), columns past
  /// h.n included (the packed zeros: out must have room for whole panels).
  /// W is the dequantized weight; out has unit column stride. `blob` is the
  /// header's address (sections at its offsets).
  void (*compute)(const tfc_pack_header &h, const Rows &x,
                  const void *scratch, int64_t i0, int64_t i1, int64_t p0,
                  int64_t p1, float *out, int64_t ldo) = nullptr;
  /// Rows per task the kernel prefers (a multiple of its micro-tile), and
  /// the most rows for which it streams panels (the small-m path).
  int rowBlock = 64;
  const char *name = "";
  /// Optional: compute() with the epilogue applied to each finished tile
  /// while it is in registers / L1 and the result written to o.y directly
  /// (the driver's separate pass over a tile buffer cost 10-18 % of a
  /// MiniLM-sized GEMM). Panel q's columns are output columns from q * P
  /// (q * P / 2 gated), the last panel's cut at h.n.
  void (*computeInto)(const tfc_pack_header &h, const Rows &x,
                      const void *scratch, int64_t i0, int64_t i1, int64_t p0,
                      int64_t p1, const TileOut &o) = nullptr;
  /// Rows up to which the threads split the panels of one row block
  /// (0: rowBlock); more rows are split into row blocks of <= rowBlock.
  int panelSplitRows = 0;
};

/// Added to a format in the lookups below when the blob has
/// TFC_PACK_FLAG_ACT_F32 (W8 / W4: the f32-activation strategy).
constexpr uint32_t kFormatKeyActF32 = 0x10000u;

/// The implementation of `format` at `level`, or nullptr when the format
/// has none there (the driver then tries the next lower level; every
/// format has a generic one). Formats.cpp (with the driver) answers
/// TFC_PACK_F32 itself and asks the next two for the others.
const FormatImpl *formatImpl(uint32_t format, isa::Level level);

/// TFC_PACK_BF16, TFC_PACK_S8, TFC_PACK_W8, TFC_PACK_W4 (FormatsQuant.cpp;
/// a weak default in Formats.cpp answers nullptr until it is linked in).
const FormatImpl *quantFormatImpl(uint32_t format, isa::Level level);
/// TFC_PACK_SPARSE_* (the pruning issue's formats; weak default likewise).
const FormatImpl *sparseFormatImpl(uint32_t format, isa::Level level);

} // namespace linear
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_LINEAR_FORMAT_H
