//===- SparseKernels.h - the sparse formats' kernels, shared parts -*- C++
//-*-===//
//
// Views of the sections (layouts in FormatSparse.h) and the many-rows
// strategy of the levels without cheap expansion (generic has its own
// reference loop; AVX2): the task's panels are densified into one
// thread-local TFC_PACK_F32 blob and the level's F32 kernel runs on it
// once (it packs x once for all panels), so prefill costs the dense kernel
// plus a decompression amortized over the rows (MASK panels below
// kSkipDensity take the skip path instead, in the ISA files).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_LINEAR_SPARSEKERNELS_H
#define TFC_LIB_RUNTIME_LINEAR_SPARSEKERNELS_H

#include "FormatQuant.h"
#include "FormatSparse.h"
#include "LinearInternal.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

namespace tfcrt {
namespace linear {
namespace sparse {

constexpr int kP = 32;

/// `level`'s default, or TFCRT_SPARSE_SKIP_DENSITY (calibration with
/// tfcrt-sparse-bench; read once).
inline double skipDensity(double level) {
  static const double env = [] {
    const char *e = std::getenv("TFCRT_SPARSE_SKIP_DENSITY");
    return e && *e ? std::atof(e) : -1.0;
  }();
  return env >= 0 ? env : level;
}

/// Views of a MASK blob's sections.
struct MaskView {
  const float *values;
  const uint64_t *starts;
  const uint32_t *masks;
  int64_t k;
  explicit MaskView(const tfc_pack_header &h) {
    const char *b = reinterpret_cast<const char *>(&h);
    const int64_t panels = (h.n + kP - 1) / kP;
    values = reinterpret_cast<const float *>(b + h.data_offset);
    starts = reinterpret_cast<const uint64_t *>(b + h.extra_offset);
    masks = reinterpret_cast<const uint32_t *>(
        b + h.extra_offset + ((panels + 1) * 8 + 63) / 64 * 64);
    k = h.k;
  }
  const uint32_t *panelMasks(int64_t q) const { return masks + q * k; }
  const float *panelValues(int64_t q) const { return values + starts[q]; }
  double density(int64_t q0, int64_t q1) const {
    return double(starts[q1] - starts[q0]) /
           (double(kP) * double(k) * double(q1 - q0));
  }
};

/// Views of a 2:4 blob's sections.
struct View24 {
  const float *values;        // [panels][G][2][32]
  const unsigned char *index; // [panels][G][16]
  int64_t groups;
  explicit View24(const tfc_pack_header &h) {
    const char *b = reinterpret_cast<const char *>(&h);
    values = reinterpret_cast<const float *>(b + h.data_offset);
    index = reinterpret_cast<const unsigned char *>(b + h.extra_offset);
    groups = (h.k + 3) / 4;
  }
  const float *panelValues(int64_t q) const { return values + q * groups * 64; }
  const unsigned char *panelIndex(int64_t q) const {
    return index + q * groups * 16;
  }
};

/// Densified panels per chunk: at most this many bytes of f32.
constexpr int64_t kDenseChunkBytes = 8 << 20;

/// out (+ panel offsets) = x W for panels [p0, p1) through `f32`'s compute
/// on densified copies; densify(q, dst) writes panel q as [k][32] f32 at
/// the 64-byte aligned dst.
template <typename Densify>
void viaDense(const FormatImpl *f32, const tfc_pack_header &h, const Rows &x,
              int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
              int64_t ldo, Densify &&densify) {
  thread_local GrowBuffer buffer;
  const int64_t panelBytes = h.k * kP * 4;
  const int64_t chunk =
      std::max<int64_t>(1, std::min(p1 - p0, kDenseChunkBytes / panelBytes));
  char *blob = static_cast<char *>(buffer.get(
      static_cast<size_t>(TFC_PACK_HEADER_SIZE + chunk * panelBytes)));
  if (!blob)
    return tileFailed(out, i1 - i0, (p1 - p0) * kP, ldo);
  tfc_pack_header d;
  std::memset(&d, 0, sizeof(d));
  d.magic = TFC_PACK_MAGIC;
  d.version = TFC_PACK_VERSION;
  d.format = TFC_PACK_F32;
  d.k = h.k;
  d.panel = kP;
  d.data_offset = TFC_PACK_HEADER_SIZE;
  float *data = reinterpret_cast<float *>(blob + TFC_PACK_HEADER_SIZE);
  for (int64_t q = p0; q < p1; q += chunk) {
    const int64_t np = std::min(chunk, p1 - q);
    d.n = np * kP;
    d.total_bytes = TFC_PACK_HEADER_SIZE + np * panelBytes;
    std::memcpy(blob, &d, sizeof(d));
    for (int64_t j = 0; j < np; ++j)
      densify(q + j, data + j * h.k * kP);
    f32->compute(*reinterpret_cast<const tfc_pack_header *>(blob), x, nullptr,
                 i0, i1, 0, np, out + (q - p0) * kP, ldo);
  }
}

//===-- TFC_PACK_SPARSE_MASK_W8 -------------------------------------------===//
//
// Few rows (x.m <= kW8StreamRows): prepare() writes the rows as f32 into
// the scratch ([m][kA]; with block32 activations (no ACT_F32) quantized
// and dequantized per block of 32 k exactly as the W8 Int8Act kernels
// quantize them, so both compute sum_k sx q_x * s q_w), and the level's
// stream kernel reads them. Many rows: prepare() is the W8 kernel's, and
// compute() densifies the task's panels into a TFC_PACK_W8 blob and runs
// it. Both decisions follow x.m, which prepare and compute share.

constexpr int64_t kW8StreamRows = 4;

/// Views of a MASK_W8 blob's sections.
struct MaskW8View {
  const int8_t *values;
  const uint64_t *starts;
  const uint32_t *masks;
  const float *scales;
  int64_t k, gs, groups;
  explicit MaskW8View(const tfc_pack_header &h) {
    const char *b = reinterpret_cast<const char *>(&h);
    const int64_t panels = (h.n + kP - 1) / kP;
    values = reinterpret_cast<const int8_t *>(b + h.data_offset);
    starts = reinterpret_cast<const uint64_t *>(b + h.extra_offset);
    masks = reinterpret_cast<const uint32_t *>(
        b + h.extra_offset + ((panels + 1) * 8 + 63) / 64 * 64);
    scales = reinterpret_cast<const float *>(b + h.scales_offset);
    k = h.k;
    const int64_t kp = (h.k + 31) / 32 * 32;
    gs = h.group ? h.group : kp;
    groups = (kp + gs - 1) / gs;
  }
  const uint32_t *panelMasks(int64_t q) const { return masks + q * k; }
  const int8_t *panelValues(int64_t q) const { return values + starts[q]; }
  const float *panelScales(int64_t q) const { return scales + q * groups * kP; }
};

/// Row stride (floats) of the few-rows scratch.
inline int64_t w8RowStride(int64_t k) { return (k + 15) / 16 * 16; }

/// A TFC_PACK_W8 header for `h`'s weight with n columns (offsets of a blob
/// that starts at the header).
inline tfc_pack_header w8Header(const tfc_pack_header &h, int64_t n) {
  pack::Layout l;
  std::string err;
  pack::quantLayoutOf(TFC_PACK_W8, h.k, n, h.group, h.flags, l, err);
  return pack::headerOf(TFC_PACK_W8, h.k, n, h.group, h.flags, l);
}

/// The W8 kernel the many-rows path runs at `level` (or the next lower
/// level that has one): the same answer for prepare() and compute().
inline const FormatImpl *w8ImplFor(const tfc_pack_header &h, isa::Level level) {
  const uint32_t key =
      TFC_PACK_W8 | ((h.flags & TFC_PACK_FLAG_ACT_F32) ? kFormatKeyActF32 : 0u);
  for (int l = static_cast<int>(level); l >= 0; --l)
    if (const FormatImpl *f = quantFormatImpl(key, static_cast<isa::Level>(l)))
      return f;
  return nullptr;
}

inline size_t w8ScratchBytes(isa::Level level, const tfc_pack_header &h,
                             int64_t m) {
  if (m <= kW8StreamRows)
    return static_cast<size_t>(m * w8RowStride(h.k) * 4 + 64);
  const FormatImpl *w = w8ImplFor(h, level);
  return w && w->scratchBytes ? w->scratchBytes(w8Header(h, h.n), m) : 0;
}

inline void w8Prepare(isa::Level level, const tfc_pack_header &h, const Rows &x,
                      int64_t i0, int64_t i1, void *scratch) {
  if (x.m > kW8StreamRows) {
    const FormatImpl *w = w8ImplFor(h, level);
    if (w && w->prepare)
      w->prepare(w8Header(h, h.n), x, i0, i1, scratch);
    return;
  }
  float *base = reinterpret_cast<float *>(quant::alignScratch(scratch));
  const int64_t ld = w8RowStride(x.k);
  const bool f32 = h.flags & TFC_PACK_FLAG_ACT_F32;
  for (int64_t i = i0; i < i1; ++i) {
    float *r = base + i * ld;
    const float *row = x.x + i * x.sm;
    if (f32) {
      for (int64_t kk = 0; kk < x.k; ++kk)
        r[kk] = row[kk * x.sk];
      continue;
    }
    for (int64_t k0 = 0; k0 < x.k; k0 += quant::kActBlock) {
      const int64_t k1 = std::min<int64_t>(x.k, k0 + quant::kActBlock);
      float amax = 0.0f;
      bool nan = false;
      for (int64_t kk = k0; kk < k1; ++kk) {
        const float a = std::fabs(row[kk * x.sk]);
        nan |= a != a;
        amax = a > amax ? a : amax;
      }
      const float inv = quant::actInverse(amax);
      const float sx = nan ? std::nanf("") : quant::actScale(amax);
      for (int64_t kk = k0; kk < k1; ++kk)
        r[kk] =
            static_cast<float>(quant::quantizeAct(row[kk * x.sk], inv)) * sx;
    }
  }
}

/// The few-rows scratch as rows.
inline Rows w8Rows(const Rows &x, const void *scratch) {
  Rows r = x;
  r.x = reinterpret_cast<const float *>(quant::alignScratch(scratch));
  r.sm = w8RowStride(x.k);
  r.sk = 1;
  r.call = 0;
  return r;
}

/// Densified W8 panels per chunk: at most this many bytes of codes.
constexpr int64_t kDenseW8ChunkBytes = 2 << 20;

/// out = x W for panels [p0, p1) through the W8 kernel `w8` on densified
/// copies; densify(q, dst) writes panel q as W8 codes [kp/4][32][4] (u8 =
/// q + 128) at dst.
template <typename Densify>
void viaDenseW8(const FormatImpl *w8, const tfc_pack_header &h, const Rows &x,
                const void *scratch, int64_t i0, int64_t i1, int64_t p0,
                int64_t p1, float *out, int64_t ldo, Densify &&densify) {
  thread_local GrowBuffer buffer;
  const MaskW8View mv(h);
  const int64_t kp = (h.k + 31) / 32 * 32;
  const int64_t panelBytes = kp * kP;
  const int64_t chunk =
      std::max<int64_t>(1, std::min(p1 - p0, kDenseW8ChunkBytes / panelBytes));
  const tfc_pack_header d0 = w8Header(h, chunk * kP);
  char *blob =
      static_cast<char *>(buffer.get(static_cast<size_t>(d0.total_bytes) + 64));
  if (!w8 || !blob)
    return tileFailed(out, i1 - i0, (p1 - p0) * kP, ldo);
  blob = reinterpret_cast<char *>((reinterpret_cast<uintptr_t>(blob) + 63) &
                                  ~uintptr_t(63));
  const int64_t scalesPerPanel = mv.groups * kP;
  for (int64_t q = p0; q < p1; q += chunk) {
    const int64_t np = std::min(chunk, p1 - q);
    const tfc_pack_header d = np == chunk ? d0 : w8Header(h, np * kP);
    std::memcpy(blob, &d, sizeof(d));
    uint8_t *data = reinterpret_cast<uint8_t *>(blob + d.data_offset);
    for (int64_t j = 0; j < np; ++j)
      densify(mv, q + j, data + j * panelBytes);
    std::memcpy(blob + d.scales_offset, mv.panelScales(q),
                static_cast<size_t>(np * scalesPerPanel) * 4);
    w8->compute(*reinterpret_cast<const tfc_pack_header *>(blob), x, scratch,
                i0, i1, 0, np, out + (q - p0) * kP, ldo);
  }
}

/// The scalar densification (generic; the AVX2 level uses it too).
inline void densifyW8Scalar(const MaskW8View &mv, int64_t q, uint8_t *dst) {
  const int64_t kp = (mv.k + 31) / 32 * 32;
  std::memset(dst, 128, static_cast<size_t>(kp * kP));
  const uint32_t *mk = mv.panelMasks(q);
  const int8_t *v = mv.panelValues(q);
  for (int64_t kk = 0; kk < mv.k; ++kk) {
    uint8_t *row = dst + (kk >> 2) * kP * 4 + (kk & 3);
    for (uint32_t m = mk[kk]; m; m &= m - 1)
      row[__builtin_ctz(m) * 4] = static_cast<uint8_t>(*v++ + 128);
  }
}

const FormatImpl *maskGeneric();
const FormatImpl *maskAvx2();   // nullptr where not built
const FormatImpl *maskAvx512(); // nullptr where not built
const FormatImpl *s24Generic();
const FormatImpl *s24Avx2();
const FormatImpl *s24Avx512();
const FormatImpl *maskW8Generic();
const FormatImpl *maskW8Avx2();
const FormatImpl *maskW8Avx512();

} // namespace sparse
} // namespace linear
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_LINEAR_SPARSEKERNELS_H
