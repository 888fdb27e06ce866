//===- FormatQuant.h - bf16 and integer formats of tfcrt_linear -*- C++ -*-===//
//
// Exact layouts of TFC_PACK_BF16, TFC_PACK_S8, TFC_PACK_W8 and TFC_PACK_W4
// (this file is authoritative; PackedWeights.h has the summary), the scratch
// each format's prepare() writes, and the per-level kernels (for tests and
// benchmarks; the driver reaches them through quantFormatImpl()).
//
// Every blob: the 128-byte header, then the sections at 64-byte aligned
// offsets in the order data, scales, zeros, extra; total rounded up to 64.
// Padding (k past the end, columns past n) is zero unless said otherwise;
// a padded column has scale 0, so its output is 0.
//
// TFC_PACK_BF16 (panel 32, group 0; flags GATED)
//   data  u16 [ceil(n/32)][ceil(k/2)][32][2]  bf16 of W[2*kk + j][32*p + c]
//                                             at [p][kk][c][j] (nearest even)
//
// TFC_PACK_S8 (panel 16, group 0; flags GATED, ACT_STATIC; k <= 2^17 so
//   that the int32 sums cannot overflow)
//   data   s8  [ceil(n/16)][ceil(k/4)][16][4]  q[4*kk + j][16*p + c] at
//                                              [p][kk][c][j]; -127..127
//   scales f32 [ceil(n/16) * 16]   per output channel
//   extra  i32 [ceil(n/16) * 16]   column sums sum_k q[k][c] (VNNI kernels
//                                  feed activations + 128 as u8 and take
//                                  128 * sum back out)
//   Activations: symmetric s8 per row, scale max|x| / 127 (round to nearest
//   even, clamp to +-127), or with ACT_STATIC the header's act_scale (> 0)
//   for every row (act_zero must be 0). y = float(acc) * (sx[row] * sw[col])
//   with acc the exact int32 sum, identical on every level.
//
// TFC_PACK_W8 / TFC_PACK_W4 (panel 32; group 0, 32, 64 or 128; flags ASYM,
//   GATED). k is padded to kp = ceil(k/32) * 32 (blocks of 32: the
//   activation block of the integer strategy); gs = group, or kp for group
//   0; G = ceil(kp / gs) groups, the last one possibly partial.
//   Codes are unsigned bytes u: W4 u = q (0..15); W8 u = q + 128 (q is the
//   caller's -128..127), so that one u8 x s8 dot product (vpdpbusd) serves
//   both and value = scale * (u - zu) with zu the zero point in the same
//   domain (W8 zu = zero + 128; symmetric: zu = 8 (W4) or 128 (W8)).
//   Within a panel, four consecutive k of one column are adjacent bytes
//   (the VNNI operand order):
//   W8 data [ceil(n/32)][kp/4][32][4]: u of column 32p + c, k = 4kk + j at
//          [p][kk][c][j]
//   W4 data [ceil(n/32)][kp/4][16][4] bytes: at [p][kk][c][j] the low
//          nibble is u of column 32p + c and the high nibble u of column
//          32p + 16 + c (k = 4kk + j): one 64-byte load holds a 4 x 32 step,
//          and the two nibble planes are the two 16-column halves.
//   scales f32 [ceil(n/32)][G][32]   panel-major: a panel's scales (and
//   zeros  f32 [ceil(n/32)][G][32]   zeros, ASYM only) are one contiguous
//                                    stream beside its codes
//   Padded codes are 0 (their activations are 0, so they add nothing).
//
// Packers (Pack.h): `transposed` applies to the codes / weights only; the
// scales and zero points are always [ceil(k/g)][n] (S8: [n]) as given.
//
// Activation strategies of W8 / W4 (both kept; quantFormatImpl picks):
//   Int8Act: prepare() quantizes each row per block of 32 k to s8 (the S8
//     rule per block) and keeps per row the block scales sx[b] and, per
//     group, A[g] = sum_b sx[b] * sum(q in block b); the kernel does exact
//     int32 dot products per block (vpdpbusd / vpmaddubsw) and
//       y = sum_g s_g * (sum_b sx[b] * acc[b] - zu_g * A[g]).
//   F32Act: f32 activations (copied, zero-padded to kp, with per group the
//     sums of x over k = j mod 4); codes widened to f32 in registers and
//       y = sum_g s_g * (sum_k x_k u_k - zu_g * sum_k x_k).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_LINEAR_FORMATQUANT_H
#define TFC_LIB_RUNTIME_LINEAR_FORMATQUANT_H

#include "Format.h"
#include "Pack.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace tfcrt {
namespace pack {

/// Sizes and offsets of a blob of TFC_PACK_BF16, _S8, _W8 or _W4 (the
/// header's fields); false with `err` for anything else or impossible
/// parameters. pack::layoutOf delegates to it for these formats.
bool quantLayoutOf(uint32_t format, int64_t k, int64_t n, int64_t group,
                   uint32_t flags, Layout &out, std::string &err);

/// Writes the header of a blob (replaced by pack::writeHeader at merge).
bool writeQuantHeader(uint32_t format, int64_t k, int64_t n, int64_t group,
                      uint32_t flags, float actScale, int32_t actZero,
                      void *dst, uint64_t dstBytes, std::string &err);

} // namespace pack

namespace linear {
namespace quant {

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline uint64_t align64(uint64_t v) { return (v + 63) & ~uint64_t(63); }
/// Scratch is used from its first 64-byte boundary (scratchBytes adds 64).
inline unsigned char *alignScratch(void *p) {
  return reinterpret_cast<unsigned char *>(
      (reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t(63));
}
inline const unsigned char *alignScratch(const void *p) {
  return alignScratch(const_cast<void *>(p));
}

constexpr int kActBlock = 32; // k per activation block (Int8Act)

//===-- scratch layouts ---------------------------------------------------===//

/// S8: rows of codes [m][rowBytes] (k padded to 4 with zeros; s8, or u8 =
/// s8 + 128 on the VNNI level), then the row scales f32 [m].
struct S8Scratch {
  int64_t rowBytes = 0;
  uint64_t scalesOffset = 0, bytes = 0;
  S8Scratch(int64_t k, int64_t m) {
    rowBytes = static_cast<int64_t>(align64(ceilDiv(k, 4) * 4));
    scalesOffset = static_cast<uint64_t>(m * rowBytes);
    bytes = scalesOffset + align64(static_cast<uint64_t>(m) * 4) + 64;
  }
};

/// The W8/W4 geometry of a header.
struct WGeom {
  int64_t kp = 0, gs = 0, groups = 0, blocks = 0, panels = 0;
  explicit WGeom(const tfc_pack_header &h) {
    kp = ceilDiv(h.k, kActBlock) * kActBlock;
    gs = h.group ? h.group : kp;
    groups = ceilDiv(kp, gs);
    blocks = kp / kActBlock;
    panels = ceilDiv(h.n, 32);
  }
};

/// The sections of a W8/W4 blob; zeros is null without ASYM (zeroConst:
/// the implied zero point in the stored-code domain).
struct WBlob {
  const uint8_t *data;
  const float *scales, *zeros;
  float zeroConst;
  int64_t panelBytes;
  WBlob(const tfc_pack_header &h, const WGeom &geo) {
    const unsigned char *b = reinterpret_cast<const unsigned char *>(&h);
    data = b + h.data_offset;
    scales = reinterpret_cast<const float *>(b + h.scales_offset);
    zeros = h.flags & TFC_PACK_FLAG_ASYM
                ? reinterpret_cast<const float *>(b + h.zeros_offset)
                : nullptr;
    zeroConst = h.format == TFC_PACK_W4 ? 8.0f : 128.0f;
    panelBytes = geo.kp * (h.format == TFC_PACK_W4 ? 16 : 32);
  }
};

/// Int8Act: rows of s8 codes [m][kpA], then block scales f32 [m][nbA],
/// then group terms A f32 [m][gA] (each row 64-byte aligned).
struct WQScratch {
  int64_t kpA = 0, nbA = 0, gA = 0;
  uint64_t sxOffset = 0, aOffset = 0, bytes = 0;
  WQScratch(const tfc_pack_header &h, int64_t m) {
    WGeom g(h);
    kpA = static_cast<int64_t>(align64(g.kp));
    nbA = ceilDiv(g.blocks, 16) * 16;
    gA = ceilDiv(g.groups, 16) * 16;
    sxOffset = static_cast<uint64_t>(m * kpA);
    // Per row and block the sum of the block's codes (f32, an exact
    // integer): the zero-point term is taken out per block, exactly.
    aOffset = sxOffset + static_cast<uint64_t>(m * nbA * 4);
    bytes = aOffset + static_cast<uint64_t>(m * nbA * 4) + 64;
  }
};

/// F32Act: rows of x f32 [m][kpA] zero-padded, then per row and group the
/// sums over k = 4i + j, f32 [m][gA][4].
struct WFScratch {
  int64_t kpA = 0, gA = 0;
  uint64_t sumOffset = 0, bytes = 0;
  WFScratch(const tfc_pack_header &h, int64_t m) {
    WGeom g(h);
    kpA = ceilDiv(g.kp, 16) * 16;
    gA = g.groups;
    sumOffset = static_cast<uint64_t>(m * kpA * 4);
    bytes = sumOffset + static_cast<uint64_t>(m * gA * 16) + 64;
  }
};

/// BF16: rows of k rounded up to even: u32 pairs of bf16 [m][k2A] on the
/// AVX512_BF16 level, f32 [m][2 * k2A] elsewhere.
struct Bf16Scratch {
  int64_t k2A = 0;
  uint64_t bytes = 0;
  Bf16Scratch(int64_t k, int64_t m) {
    k2A = ceilDiv(ceilDiv(k, 2), 16) * 16;
    bytes = static_cast<uint64_t>(m * k2A * 8) + 64;
  }
};

//===-- scalar rules shared by every level (and the tests) ----------------===//

/// f32 -> bf16, round to nearest even (NaN stays NaN).
inline uint16_t toBf16(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u)
    return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7FFFu + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}
inline float fromBf16(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

/// Symmetric s8 quantization of activations: scale = amax / 127 and
/// q = clamp(round_even(x * (127 / amax)), -127, 127) (0 when amax is 0;
/// NaN gives -127, as the vector conversion does, and makes the scale of its
/// row or block NaN, so that the outputs are NaN as in f32). The vector
/// versions compute exactly this (same products, same rounding).
inline float actScale(float amax) { return amax / 127.0f; }
inline float actInverse(float amax) {
  return amax > 0.0f ? 127.0f / amax : 0.0f;
}
inline int8_t quantizeAct(float x, float inv) {
  float v = x * inv;
  v = v > 127.0f ? 127.0f : v;
  v = v >= -127.0f ? v : -127.0f;
  // Adding and removing 1.5 * 2^23 rounds |v| < 2^22 to nearest even.
  // (Exact without -ffast-math, which the runtime is not built with.)
  const float big = 12582912.0f;
  return static_cast<int8_t>(static_cast<int>((v + big) - big));
}

//===-- per-level kernels
//--------------------------------------------------===//

enum class WStrategy { Int8Act = 0, F32Act = 1 };

/// Each returns nullptr where the level has no kernel (or the machine is not
/// x86-64). They do not check the CPU: the caller does.
const FormatImpl *s8Generic();
const FormatImpl *s8Avx2();       // AVX2 (vpmaddubsw sign trick)
const FormatImpl *s8Avx512Vnni(); // AVX512_VNNI (vpdpbusd)
const FormatImpl *wGeneric(uint32_t format, WStrategy s);
const FormatImpl *wAvx2(uint32_t format, WStrategy s);
const FormatImpl *wAvx512(uint32_t format, WStrategy s); // Int8Act: VNNI
const FormatImpl *bf16Generic();
const FormatImpl *bf16Avx2();
const FormatImpl *bf16Avx512Bf16(); // AVX512_BF16 (vdpbf16ps)

/// Vector activation quantization shared by the S8 and W prepare() of one
/// ISA (FormatS8Avx2.cpp / FormatS8Avx512.cpp; call only on a CPU that has
/// the ISA). absMax: max |x[t * sk]| over t < len, NaN left out and
/// reported in *nan. quantize: q[t] = quantizeAct(x[t * sk], inv) ^ flip
/// (flip 0x80 stores u8 = s8 + 128); returns the sum of the s8 codes.
float absMaxAvx2(const float *x, int64_t len, int64_t sk, bool *nan);
int32_t quantizeAvx2(const float *x, int64_t len, int64_t sk, float inv,
                     int8_t *q, uint8_t flip);
float absMaxAvx512(const float *x, int64_t len, int64_t sk, bool *nan);
int32_t quantizeAvx512(const float *x, int64_t len, int64_t sk, float inv,
                       int8_t *q, uint8_t flip);

/// The strategy quantFormatImpl uses for W8/W4 at `level` (the measured
/// choice; docs/RUNTIME.md "Quantized linear kernels").
/// The strategy a lookup key asks for (kFormatKeyActF32: F32Act).
WStrategy chosenStrategy(uint32_t key);

/// The implementation of `format` at exactly `level` with extension bits
/// `vnni` / `bf16`, or nullptr (what quantFormatImpl answers for the
/// machine's features()).
const FormatImpl *quantFormatImplFor(uint32_t format, isa::Level level,
                                     bool vnni, bool bf16);

} // namespace quant
} // namespace linear
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_LINEAR_FORMATQUANT_H
