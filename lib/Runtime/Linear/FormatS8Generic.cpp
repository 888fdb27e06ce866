//===- FormatS8Generic.cpp - TFC_PACK_S8, portable reference --------------===//
//
// Plain loops: the exact int32 sums every ISA level must reproduce
// (FormatQuant.h). Activation rows in scratch are s8 (S8Scratch).
//
//===----------------------------------------------------------------------===//

#include "FormatQuant.h"

#include <cmath>
#include <cstring>

namespace tfcrt {
namespace linear {
namespace quant {
namespace {

size_t scratchBytes(const tfc_pack_header &h, int64_t m) {
  return S8Scratch(h.k, m).bytes;
}

void prepare(const tfc_pack_header &h, const Rows &x, int64_t i0, int64_t i1,
             void *scratch) {
  const S8Scratch sl(h.k, x.m);
  unsigned char *base = alignScratch(scratch);
  float *scales = reinterpret_cast<float *>(base + sl.scalesOffset);
  const bool isStatic = h.flags & TFC_PACK_FLAG_ACT_STATIC;
  for (int64_t i = i0; i < i1; ++i) {
    const float *row = x.x + i * x.sm;
    float amax = 0.0f;
    bool nan = false;
    for (int64_t kk = 0; kk < x.k; ++kk) {
      const float a = std::fabs(row[kk * x.sk]);
      nan |= a != a;
      amax = a > amax ? a : amax;
    }
    float sx = isStatic ? h.act_scale : actScale(amax);
    const float inv = isStatic ? 1.0f / h.act_scale : actInverse(amax);
    if (nan)
      sx = std::nanf("");
    int8_t *q = reinterpret_cast<int8_t *>(base + i * sl.rowBytes);
    std::memset(q, 0, sl.rowBytes);
    for (int64_t kk = 0; kk < x.k; ++kk)
      q[kk] = quantizeAct(row[kk * x.sk], inv);
    scales[i] = sx;
  }
}

void compute(const tfc_pack_header &h, const Rows &x, const void *scratch,
             int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
             int64_t ldo) {
  const S8Scratch sl(h.k, x.m);
  const unsigned char *base = alignScratch(scratch);
  const float *scales = reinterpret_cast<const float *>(base + sl.scalesOffset);
  const unsigned char *blob = reinterpret_cast<const unsigned char *>(&h);
  const int8_t *data = reinterpret_cast<const int8_t *>(blob + h.data_offset);
  const float *sw = reinterpret_cast<const float *>(blob + h.scales_offset);
  const int64_t k4 = ceilDiv(h.k, 4);
  for (int64_t i = i0; i < i1; ++i) {
    const int8_t *q = reinterpret_cast<const int8_t *>(base + i * sl.rowBytes);
    for (int64_t p = p0; p < p1; ++p) {
      const int8_t *w = data + p * k4 * 64;
      int32_t acc[16] = {};
      for (int64_t kk = 0; kk < k4; ++kk)
        for (int c = 0; c < 16; ++c)
          for (int j = 0; j < 4; ++j)
            acc[c] += int32_t(q[4 * kk + j]) * w[kk * 64 + 4 * c + j];
      float *o = out + (i - i0) * ldo + (p - p0) * 16;
      for (int c = 0; c < 16; ++c) {
        const float t = scales[i] * sw[p * 16 + c];
        o[c] = static_cast<float>(acc[c]) * t;
      }
    }
  }
}

const FormatImpl kImpl = {&scratchBytes, &prepare, &compute,
                          /*rowBlock=*/64, "s8-generic"};

} // namespace

const FormatImpl *s8Generic() { return &kImpl; }

} // namespace quant
} // namespace linear
} // namespace tfcrt
