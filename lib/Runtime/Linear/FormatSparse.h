//===- FormatSparse.h - sparse formats of tfcrt_linear ----------*- C++ -*-===//
//
// Exact layouts of TFC_PACK_SPARSE_MASK and TFC_PACK_SPARSE_24 (this file is
// authoritative; PackedWeights.h has the summary), their packers, the
// sparsity analysis and cost model the compiler uses to choose an encoding
// (docs/DESIGN.md "Sparse encodings and kernels"), and the per-level
// kernels (for tests and benchmarks; the driver reaches them through
// sparseFormatImpl()).
//
// Both formats keep the F32 panels of P = 32 columns (so gated blobs use the
// F32 column order, and a kernel streams one panel at a time), group 0,
// flags GATED only. The header's `nnz` is the number of stored values.
//
// TFC_PACK_SPARSE_MASK (unstructured; pays from about 50 % zeros on)
//   data   f32 [nnz] + 32 floats of zero padding: panel by panel, in each
//          panel k row by k row, in each row the nonzero columns in
//          increasing order (the kernels load 16 values past the current
//          one and expand them)
//   extra  u64 [panels + 1]  offset of panel p's first value in data, in
//                            values (entry `panels` = nnz), then at the
//                            next 64-byte boundary
//          u32 [panels][k]   bit c of mask[p][kk] set iff W[kk][32p + c]
//                            is stored (columns past n never are)
//   Kernels: few rows expand each mask row into two 16-lane vectors
//   (vexpandps on AVX-512, a 256-entry permutation table on AVX2) and FMA
//   like F32: bytes read fall to 4 + 4 * nnz per panel row (vs 128). Many
//   rows on a panel whose density is below kSkipDensity: x transposed, one
//   FMA of 16 rows per stored value into accumulators in L1 (FLOPs fall
//   with the density); denser panels expand as for few rows.
//
// TFC_PACK_SPARSE_24 (2:4 along k, the N:M pattern pruners produce)
//   kp = ceil(k / 4) * 4, G = kp / 4 groups; in each group of 4 k of a
//   column at most 2 nonzeros, at positions i0 < i1 (0..3; a group with
//   fewer holds zero values at free positions).
//   data   f32 [panels][G][2][32]  value j (0, 1) of column c of group g at
//                                  [p][g][j][c]
//   extra  u8  [panels][G][16]     byte c: low nibble i0 | i1 << 2 of
//                                  column c, high nibble that of column
//                                  c + 16
//   nnz = panels * G * 64. Kernels: x[4g .. 4g+4) broadcast to every
//   128-bit lane and permuted per lane by the 2-bit positions (vpermilps
//   reads only bits 1:0 of each index, so the nibble shifted by 0 or 2
//   serves): 272 bytes per 4 x 32 block instead of 512.
//
// TFC_PACK_SPARSE_MASK_W8 (unstructured, TFC_PACK_W8's int8 codes)
//   A W8 weight (--quantize=w8 after --prune) whose zero codes are not
//   stored. group 0, 32, 64 or 128 and flags GATED / ACT_F32 mean what they
//   mean for TFC_PACK_W8 (kp = ceil(k/32) * 32, gs = group or kp, G =
//   ceil(kp / gs)); value = scale[g][c] * q, q the s8 code. The masks and
//   codes follow W8's byte order (four consecutive k of a column adjacent,
//   the VNNI operand order), so expanding a block's stored bytes gives the
//   W8 panel bytes directly (xor 0x80: u = q + 128, a skipped byte 128).
//   data   s8  [nnz] + 64 bytes of zero padding: panel by panel, per block
//              of 4 k (kp / 4 of them) the stored codes of columns 0-15
//              then of columns 16-31, each half in W8 byte order
//              (column-major, k fastest)
//   scales f32 [panels][G][32]  as TFC_PACK_W8's (padded columns 0)
//   extra  u64 [panels + 1] value offsets, then at the next 64-byte
//          boundary u64 [panels][kp / 4][2] masks: bit 4 (c % 16) + j of
//          mask [p][kb][c / 16] set iff q[4 kb + j][32 p + c] is stored
//   Kernels: the task's panels are expanded into W8 panels (vpexpandb on
//   AVX512_VBMI2, a pshufb table per 8 bytes elsewhere) a few at a time
//   and the level's W8 kernel runs on them from cache (same activations:
//   results equal dense W8's): decode reads 1/8 + d bytes a weight (W8:
//   1), prefill pays the expansion.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_LINEAR_FORMATSPARSE_H
#define TFC_LIB_RUNTIME_LINEAR_FORMATSPARSE_H

#include "Format.h"
#include "Pack.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace tfcrt {
namespace pack {

/// Sizes and offsets of a sparse blob with `nnz` stored values (MASK; 24
/// ignores it and uses its fixed count); false with `err` for impossible
/// parameters. validate() calls it with the header's nnz.
bool sparseLayoutOf(uint32_t format, int64_t k, int64_t n, int64_t group,
                    uint32_t flags, uint64_t nnz, Layout &out,
                    std::string &err);

/// What the packers need to size a blob: the stored values of W [k, n]
/// (row-major, or [n, k] when `transposed`) in `format`.
uint64_t sparseNnz(uint32_t format, const float *w, int64_t k, int64_t n,
                   bool transposed);

/// Packs W as `format` into dst (at least the layout's total bytes, from
/// sparseLayoutOf with sparseNnz). TFC_PACK_SPARSE_24 fails, naming the
/// first offending column and group, when W is not 2:4 along k.
bool packSparse(uint32_t format, const float *w, int64_t k, int64_t n,
                bool transposed, uint32_t flags, void *dst, uint64_t dstBytes,
                std::string &err);

/// TFC_PACK_SPARSE_MASK_W8: the nonzero codes of q [k, n] (row-major s8),
/// and the packer: scales [ceil(k / gs)][n] as TFC_PACK_W8's packer takes
/// them (group 0: one row), codes symmetric (0 is the value 0).
uint64_t sparseW8Nnz(const int8_t *q, int64_t k, int64_t n);
bool packSparseW8(const int8_t *q, const float *scales, int64_t k, int64_t n,
                  int64_t group, uint32_t flags, void *dst, uint64_t dstBytes,
                  std::string &err);

/// The zeros of a weight and its N:M pattern along k.
struct SparsityStats {
  int64_t k = 0, n = 0;
  uint64_t zeros = 0; // exact zeros (+0 and -0)
  bool is24 = false;  // every column's groups of 4 k: <= 2 nonzeros
  bool is48 = false;  // groups of 8: <= 4 nonzeros
  double fraction() const {
    return k * n ? static_cast<double>(zeros) / (double(k) * double(n)) : 0;
  }
};
SparsityStats analyzeSparsity(const float *w, int64_t k, int64_t n,
                              bool transposed);
/// The zero codes of a symmetric int8 weight q [k, n] (no N:M detection:
/// there is no int8 2:4 format).
SparsityStats analyzeSparsityCodes(const int8_t *q, int64_t k, int64_t n);

/// The cost model's answer for one weight.
struct SparseChoice {
  uint32_t format = TFC_PACK_F32; // TFC_PACK_F32 = stay dense
  double predictedSpeedup = 1.0;  // decode (few rows) over dense f32
  double bytesRatio = 1.0;        // blob bytes / dense f32 blob bytes
  std::string why;                // for the remark
};
enum class SparseMode { Off, Auto, Force };
/// Chooses the encoding of a weight with `s` (docs/DESIGN.md "Sparse
/// encodings and kernels"): the model predicts decode time from bytes read
/// and prefill time from the kernels' measured cost per stored value, and
/// picks a sparse format only where both are predicted no slower than
/// dense and decode faster. Force takes the best sparse format whenever the
/// weight has any zero; Off always answers dense.
SparseChoice chooseSparseFormat(const SparsityStats &s, SparseMode mode);
/// The same choice for a symmetric TFC_PACK_W8 weight: TFC_PACK_SPARSE_MASK_W8
/// or TFC_PACK_W8 (dense), against the dense W8 kernels.
SparseChoice chooseSparseW8Format(const SparsityStats &s, SparseMode mode);

} // namespace pack

namespace linear {
namespace sparse {
/// Many-rows MASK kernels take the skip (per stored value) path on panels
/// with a lower density than this (measured: docs/DESIGN.md); the kernels
/// themselves are declared in SparseKernels.h. AVX-512 (64 rows per pass)
/// and AVX2 (32 rows, against the densified F32 kernel) differ, and AVX2's
/// by CPU: on the first Intel Xeon (family 6 model 167) the skip path lost
/// to densifying at 80 % zeros; on an AMD Zen 5 and on the Intel Xeon
/// family 6 model 207 (kernels capped at AVX2) it wins down to about 60 %
/// (MiniLM's layers, Zen 5 at 128-512 rows: 1.29-1.47x at 80 %, 1.10-1.20x
/// at 70 %, 0.85-0.89x at 50 %; f6m207 at 4,096 rows: 1.40-1.70x at 80 %,
/// 1.14-1.24x at 70 %, 0.82-0.97x at 50 %). Other CPUs keep the first
/// Intel's threshold until measured (skipDensityAvx2).
constexpr double kSkipDensity = 0.40;
constexpr double kSkipDensityAvx2 = 0.15;
constexpr double kSkipDensityAvx2Amd = 0.40;
/// The AVX2 threshold of this CPU (above).
inline double skipDensityAvx2() {
  const isa::Features &f = isa::features();
  return f.amd || (f.family == 6 && f.model == 207) ? kSkipDensityAvx2Amd
                                                    : kSkipDensityAvx2;
}
} // namespace sparse
} // namespace linear
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_LINEAR_FORMATSPARSE_H
