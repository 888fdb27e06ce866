//===- FormatSparseGeneric.cpp - sparse formats in plain C++ --------------===//
//
// The references the ISA kernels are tested against: one multiply-add per
// stored value and row, in k order (the order of the F32 reference, so a
// sparse blob's result equals the dense one's up to FMA contraction).
//
//===----------------------------------------------------------------------===//

#include "SparseKernels.h"

namespace tfcrt {
namespace linear {
namespace sparse {
namespace {

constexpr int kMR = 4;

void computeMask(const tfc_pack_header &h, const Rows &x, const void *,
                 int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
                 int64_t ldo) {
  const MaskView mv(h);
  for (int64_t q = p0; q < p1; ++q) {
    const uint32_t *masks = mv.panelMasks(q);
    for (int64_t i = i0; i < i1; i += kMR) {
      const int r = static_cast<int>(std::min<int64_t>(kMR, i1 - i));
      float acc[kMR][kP] = {};
      const float *v = mv.panelValues(q);
      for (int64_t kk = 0; kk < h.k; ++kk) {
        float a[kMR];
        for (int t = 0; t < r; ++t)
          a[t] = x.x[(i + t) * x.sm + kk * x.sk];
        for (uint32_t m = masks[kk]; m; m &= m - 1) {
          const int c = __builtin_ctz(m);
          const float w = *v++;
          for (int t = 0; t < r; ++t)
            acc[t][c] += a[t] * w;
        }
      }
      for (int t = 0; t < r; ++t)
        for (int c = 0; c < kP; ++c)
          out[(i - i0 + t) * ldo + (q - p0) * kP + c] = acc[t][c];
    }
  }
}

void compute24(const tfc_pack_header &h, const Rows &x, const void *,
               int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
               int64_t ldo) {
  const View24 v(h);
  for (int64_t q = p0; q < p1; ++q) {
    const float *vals = v.panelValues(q);
    const unsigned char *idx = v.panelIndex(q);
    for (int64_t i = i0; i < i1; ++i) {
      float acc[kP] = {};
      const float *xr = x.x + i * x.sm;
      for (int64_t g = 0; g < v.groups; ++g) {
        float a[4];
        for (int j = 0; j < 4; ++j)
          a[j] = 4 * g + j < h.k ? xr[(4 * g + j) * x.sk] : 0.0f;
        for (int c = 0; c < kP; ++c) {
          const int nib = (idx[g * 16 + c % 16] >> (c < 16 ? 0 : 4)) & 15;
          // Positions in k order: the F32 reference's summation order.
          acc[c] += a[nib & 3] * vals[g * 64 + c];
          acc[c] += a[nib >> 2] * vals[g * 64 + 32 + c];
        }
      }
      for (int c = 0; c < kP; ++c)
        out[(i - i0) * ldo + (q - p0) * kP + c] = acc[c];
    }
  }
}

/// MASK_W8, few rows: per group one sum of x * q per column, then
/// y += scale * sum (the order of the W8 F32Act reference).
void streamMaskW8(const tfc_pack_header &h, const Rows &x, int64_t i0,
                  int64_t i1, int64_t p0, int64_t p1, float *out, int64_t ldo) {
  const MaskW8View mv(h);
  for (int64_t q = p0; q < p1; ++q) {
    const uint32_t *masks = mv.panelMasks(q);
    const float *sc = mv.panelScales(q);
    for (int64_t i = i0; i < i1; ++i) {
      const float *xr = x.x + i * x.sm;
      const int8_t *v = mv.panelValues(q);
      float y[kP] = {};
      for (int64_t g = 0; g < mv.groups; ++g) {
        float acc[kP] = {};
        const int64_t k1 = std::min(h.k, (g + 1) * mv.gs);
        for (int64_t kk = g * mv.gs; kk < k1; ++kk)
          for (uint32_t m = masks[kk]; m; m &= m - 1)
            acc[__builtin_ctz(m)] += xr[kk * x.sk] * static_cast<float>(*v++);
        for (int c = 0; c < kP; ++c)
          y[c] += sc[g * kP + c] * acc[c];
      }
      for (int c = 0; c < kP; ++c)
        out[(i - i0) * ldo + (q - p0) * kP + c] = y[c];
    }
  }
}

size_t w8ScratchGeneric(const tfc_pack_header &h, int64_t m) {
  return w8ScratchBytes(isa::Level::Generic, h, m);
}
void w8PrepareGeneric(const tfc_pack_header &h, const Rows &x, int64_t i0,
                      int64_t i1, void *scratch) {
  w8Prepare(isa::Level::Generic, h, x, i0, i1, scratch);
}
void computeMaskW8(const tfc_pack_header &h, const Rows &x, const void *scratch,
                   int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
                   int64_t ldo) {
  if (x.m <= kW8StreamRows)
    return streamMaskW8(h, w8Rows(x, scratch), i0, i1, p0, p1, out, ldo);
  viaDenseW8(w8ImplFor(h, isa::Level::Generic), h, x, scratch, i0, i1, p0, p1,
             out, ldo, &densifyW8Scalar);
}

constexpr FormatImpl kMaskW8 = {&w8ScratchGeneric, &w8PrepareGeneric,
                                &computeMaskW8, 64, "sparse-mask-w8-generic"};
constexpr FormatImpl kMask = {nullptr, nullptr, &computeMask, 64,
                              "sparse-mask-generic"};
constexpr FormatImpl k24 = {nullptr, nullptr, &compute24, 64,
                            "sparse-2:4-generic"};

} // namespace

const FormatImpl *maskGeneric() { return &kMask; }
const FormatImpl *s24Generic() { return &k24; }
const FormatImpl *maskW8Generic() { return &kMaskW8; }

} // namespace sparse
} // namespace linear
} // namespace tfcrt
