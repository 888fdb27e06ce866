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

#include "FormatSparse.h"
#include "LinearInternal.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

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

const FormatImpl *maskGeneric();
const FormatImpl *maskAvx2();   // nullptr where not built
const FormatImpl *maskAvx512(); // nullptr where not built
const FormatImpl *s24Generic();
const FormatImpl *s24Avx2();
const FormatImpl *s24Avx512();

} // namespace sparse
} // namespace linear
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_LINEAR_SPARSEKERNELS_H
