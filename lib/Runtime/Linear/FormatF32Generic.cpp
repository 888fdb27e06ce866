//===- FormatF32Generic.cpp - TFC_PACK_F32 in plain C++ -------------------===//
//
// The portable kernel (no AVX2): 4 rows x one panel of 32 columns at a
// time, the inner loop over the panel's 32 contiguous floats left to the
// compiler's vectorizer (SSE2 on baseline x86-64).
//
//===----------------------------------------------------------------------===//

#include "LinearInternal.h"

namespace tfcrt {
namespace linear {
namespace {

constexpr int kP = 32;
constexpr int kMR = 4;

template <int R>
void tile(const Rows &x, int64_t i0, const float *bp, float *out, int64_t ldo) {
  float acc[R][kP] = {};
  const float *rows[R];
  for (int i = 0; i < R; ++i)
    rows[i] = x.x + (i0 + i) * x.sm;
  for (int64_t kk = 0; kk < x.k; ++kk) {
    const float *b = bp + kk * kP;
    for (int i = 0; i < R; ++i) {
      const float a = rows[i][kk * x.sk];
      for (int c = 0; c < kP; ++c)
        acc[i][c] += a * b[c];
    }
  }
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < kP; ++c)
      out[i * ldo + c] = acc[i][c];
}

void compute(const tfc_pack_header &h, const Rows &x, const void *, int64_t i0,
             int64_t i1, int64_t p0, int64_t p1, float *out, int64_t ldo) {
  const float *w = reinterpret_cast<const float *>(
      reinterpret_cast<const char *>(&h) + h.data_offset);
  for (int64_t q = p0; q < p1; ++q) {
    const float *b = w + q * h.k * kP;
    for (int64_t i = i0; i < i1; i += kMR) {
      float *o = out + (i - i0) * ldo + (q - p0) * kP;
      switch (i1 - i < kMR ? i1 - i : kMR) {
      case 1:
        tile<1>(x, i, b, o, ldo);
        break;
      case 2:
        tile<2>(x, i, b, o, ldo);
        break;
      case 3:
        tile<3>(x, i, b, o, ldo);
        break;
      default:
        tile<4>(x, i, b, o, ldo);
        break;
      }
    }
  }
}

constexpr FormatImpl kImpl = {nullptr, nullptr, &compute, 64, "f32-generic"};

} // namespace

const FormatImpl *f32Generic() { return &kImpl; }

} // namespace linear
} // namespace tfcrt
