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

void computeMaskW8(const tfc_pack_header &h, const Rows &x, const void *scratch,
                   int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
                   int64_t ldo) {
  viaDenseW8(w8ImplFor(h, isa::Level::Generic), h, x, scratch, i0, i1, p0, p1,
             out, ldo, &densifyW8Scalar);
}

constexpr FormatImpl kMaskW8 = {&maskW8ScratchAt<isa::Level::Generic>,
                                &maskW8PrepareAt<isa::Level::Generic>,
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
