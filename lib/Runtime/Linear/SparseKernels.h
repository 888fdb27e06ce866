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
// Every level and row count: prepare() is the level's W8 kernel's (the
// same activation rows), and compute() expands the task's panels a few at
// a time into a TFC_PACK_W8 blob in cache and runs that kernel on it, so
// results equal the dense W8 blob's.

/// Views of a MASK_W8 blob's sections.
struct MaskW8View {
  const int8_t *values;
  const uint64_t *starts;
  const uint64_t *masks; // [panels][kp / 4][2]
  const float *scales;
  int64_t k, kp, groups;
  explicit MaskW8View(const tfc_pack_header &h) {
    const char *b = reinterpret_cast<const char *>(&h);
    const int64_t panels = (h.n + kP - 1) / kP;
    values = reinterpret_cast<const int8_t *>(b + h.data_offset);
    starts = reinterpret_cast<const uint64_t *>(b + h.extra_offset);
    masks = reinterpret_cast<const uint64_t *>(
        b + h.extra_offset + ((panels + 1) * 8 + 63) / 64 * 64);
    scales = reinterpret_cast<const float *>(b + h.scales_offset);
    k = h.k;
    kp = (h.k + 31) / 32 * 32;
    const int64_t gs = h.group ? h.group : kp;
    groups = (kp + gs - 1) / gs;
  }
  const uint64_t *panelMasks(int64_t q) const { return masks + q * (kp / 2); }
  const int8_t *panelValues(int64_t q) const { return values + starts[q]; }
  const float *panelScales(int64_t q) const { return scales + q * groups * kP; }
};

/// A TFC_PACK_W8 header for `h`'s weight with n columns (offsets of a blob
/// that starts at the header).
inline tfc_pack_header w8Header(const tfc_pack_header &h, int64_t n) {
  pack::Layout l;
  std::string err;
  pack::quantLayoutOf(TFC_PACK_W8, h.k, n, h.group, h.flags, l, err);
  return pack::headerOf(TFC_PACK_W8, h.k, n, h.group, h.flags, l);
}

/// The W8 kernel MASK_W8 runs at `level` (or the next lower level that
/// has one): the same answer for prepare() and compute().
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
  const FormatImpl *w = w8ImplFor(h, level);
  return w && w->scratchBytes ? w->scratchBytes(w8Header(h, h.n), m) : 0;
}

inline void w8Prepare(isa::Level level, const tfc_pack_header &h, const Rows &x,
                      int64_t i0, int64_t i1, void *scratch) {
  const FormatImpl *w = w8ImplFor(h, level);
  if (w && w->prepare)
    w->prepare(w8Header(h, h.n), x, i0, i1, scratch);
}

/// Expanded W8 panels per chunk: about this many bytes of codes (in L2
/// while the W8 kernel reads them).
constexpr int64_t kDenseW8ChunkBytes = 64 << 10;

/// out = x W for panels [p0, p1) through the W8 kernel `w8` on expanded
/// copies; densify(view, q, dst) writes panel q as W8 codes [kp/4][32][4]
/// (u8 = q + 128) at the 64-byte aligned dst.
template <typename Densify>
void viaDenseW8(const FormatImpl *w8, const tfc_pack_header &h, const Rows &x,
                const void *scratch, int64_t i0, int64_t i1, int64_t p0,
                int64_t p1, float *out, int64_t ldo, Densify &&densify) {
  thread_local GrowBuffer buffer;
  const MaskW8View mv(h);
  const int64_t panelBytes = mv.kp * kP;
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

/// The scalar expansion (the generic level's, and the reference).
inline void densifyW8Scalar(const MaskW8View &mv, int64_t q, uint8_t *dst) {
  const uint64_t *mk = mv.panelMasks(q);
  const int8_t *v = mv.panelValues(q);
  std::memset(dst, 128, static_cast<size_t>(mv.kp * kP));
  for (int64_t h = 0; h < mv.kp / 2; ++h) // half blocks of 64 bytes
    for (uint64_t m = mk[h]; m; m &= m - 1)
      dst[h * 64 + __builtin_ctzll(m)] = static_cast<uint8_t>(*v++ ^ 0x80);
}

/// The AVX2 expansion (a pshufb table per 8 bytes; FormatSparseAvx2.cpp):
/// call only on a CPU with AVX2. The AVX-512 level uses it without
/// AVX512_VBMI2.
void densifyW8Avx2(const MaskW8View &mv, int64_t q, uint8_t *dst);

/// The level's FormatImpl pieces (one instantiation per level).
template <isa::Level L>
size_t maskW8ScratchAt(const tfc_pack_header &h, int64_t m) {
  return w8ScratchBytes(L, h, m);
}
template <isa::Level L>
void maskW8PrepareAt(const tfc_pack_header &h, const Rows &x, int64_t i0,
                     int64_t i1, void *scratch) {
  w8Prepare(L, h, x, i0, i1, scratch);
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
