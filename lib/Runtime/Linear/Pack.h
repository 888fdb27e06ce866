//===- Pack.h - packing weights into the linear kernels' layouts -*- C++ -*-===//
//
// One definition of every packed layout (include/tfc/Support/PackedWeights.h),
// compiled into libtfcrt and into the compiler (the `tfcpack` static library),
// so a blob written by tfc at compile time is read by exactly the code that
// defines it. No dependency beyond the C++ standard library.
//
// The packers lay out values the compiler already decided: f32 / bf16
// weights, or integer weights with their scales and zero points (the
// quantization itself -- round to nearest, GPTQ -- happens in the compiler's
// passes). Every packer takes the logical W [k, n] row-major, or its
// transpose [n, k] when `transposed` (ONNX Gemm / torch Linear weights).
//
// Gated MLPs: the compiler concatenates gate and up columns in the order
// gatedColumnOrder() gives and packs the [k, 2h] matrix with
// TFC_PACK_FLAG_GATED; the kernel's epilogue then pairs panel halves. A
// panel of width w (P, or 2h - (ceil(2h/P) - 1) P for the last one when P
// does not divide 2h) holds w/2 gate columns then the w/2 up columns of the
// same range; output column j is panel j / (P/2), position j % (P/2).
//
// W4 nibble order: byte c (c < 16) of a panel row holds column c of the
// panel in its low nibble and column c + 16 in its high nibble, so that
// `b & 15` and `b >> 4` of 16 bytes are the panel's two 16-column halves
// (one zmm each after widening; on AVX2, bytes 0-7 / 8-15 give the four
// 8-column quarters).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_LINEAR_PACK_H
#define TFC_LIB_RUNTIME_LINEAR_PACK_H

#include "tfc/Support/PackedWeights.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tfcrt {
namespace pack {

/// Byte offsets of a blob's sections (from the header start) and its size.
struct Layout {
  uint32_t panel = 0;
  uint64_t data = 0, scales = 0, zeros = 0, extra = 0, total = 0;
};

/// The layout of a blob of `format` for W [k, n]; false with `err` for
/// impossible parameters (n odd for a gated blob, a group that is not 0,
/// 32, 64 or 128 for a group-wise format, a group on a format without
/// groups, unknown format or flags).
bool layoutOf(uint32_t format, int64_t k, int64_t n, int64_t group,
              uint32_t flags, Layout &out, std::string &err);

/// The header of a blob with layout `l`: magic, version, format, flags,
/// shape, group and section offsets; the rest (act_scale / act_zero, nnz)
/// zero, for the format's packer to fill.
tfc_pack_header headerOf(uint32_t format, int64_t k, int64_t n, int64_t group,
                         uint32_t flags, const Layout &l);

/// Column order of a gated blob: position c of the packed matrix holds
/// column order[c] of concat(gate, up) ([k, 2h]); `panel` is the format's
/// panel width.
std::vector<int64_t> gatedColumnOrder(int64_t h, uint32_t panel);

/// Reads and checks a blob's header (magic, version, known format and
/// flags, consistent section offsets within `bytes`); false with a message
/// naming what is wrong.
bool validate(const void *blob, uint64_t bytes, std::string &err);

/// "f32", "bf16", "s8", "w8", "w4", "sparse" (>= TFC_PACK_SPARSE_FIRST) or
/// "unknown": for messages.
const char *formatName(uint32_t format);

/// Writes the header for `format` (every offset from layoutOf) into a
/// buffer of at least layout.total bytes, after zeroing all of them (so
/// padding reads as zero and a blob's bytes depend only on its contents):
/// packers call it first, then fill their sections.
bool writeHeader(uint32_t format, int64_t k, int64_t n, int64_t group,
                 uint32_t flags, void *dst, uint64_t dstBytes,
                 std::string &err);

/// TFC_PACK_F32 (PackF32.cpp).
bool packF32(const float *w, int64_t k, int64_t n, bool transposed,
             uint32_t flags, void *dst, uint64_t dstBytes, std::string &err);

/// TFC_PACK_BF16 (PackQuant.cpp): values rounded to nearest even.
bool packBf16(const float *w, int64_t k, int64_t n, bool transposed,
              uint32_t flags, void *dst, uint64_t dstBytes, std::string &err);

/// TFC_PACK_S8 (PackQuant.cpp): q [k, n] symmetric int8 (-127..127) per
/// output channel with scales[n]; with TFC_PACK_FLAG_ACT_STATIC the
/// activations' per-tensor scale and zero point (u8) are stored too.
bool packS8(const int8_t *q, const float *scales, int64_t k, int64_t n,
            bool transposed, uint32_t flags, float actScale, int32_t actZero,
            void *dst, uint64_t dstBytes, std::string &err);

/// TFC_PACK_W8 / TFC_PACK_W4 (PackQuant.cpp): q [k, n] integer codes (W8:
/// -128..127; W4: 0..15), scales [ceil(k/g), n] and, with
/// TFC_PACK_FLAG_ASYM, zero points [ceil(k/g), n] in the codes' domain
/// (value = scale * (q - zero)); without it zero = 0 (W8) or 8 (W4).
/// g = group, or k when group == 0.
bool packWeightOnly(uint32_t format, const int8_t *q, const float *scales,
                    const float *zeros, int64_t k, int64_t n, int64_t group,
                    bool transposed, uint32_t flags, void *dst,
                    uint64_t dstBytes, std::string &err);

} // namespace pack
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_LINEAR_PACK_H
