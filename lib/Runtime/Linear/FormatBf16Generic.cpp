//===- FormatBf16Generic.cpp - TFC_PACK_BF16, portable reference ----------===//
//
// bf16 weights widened to f32 (a shift), f32 activations, f32 sums: the
// activations are not rounded (unlike the AVX512_BF16 level, which rounds
// them to bf16 for vdpbf16ps).
//
//===----------------------------------------------------------------------===//

#include "FormatQuant.h"

#include <cstring>

namespace tfcrt {
namespace linear {
namespace quant {
namespace {

size_t scratchBytes(const tfc_pack_header &h, int64_t m) {
  return Bf16Scratch(h.k, m).bytes;
}

/// Rows as f32, k padded to the pair count with zeros.
void prepare(const tfc_pack_header &h, const Rows &x, int64_t i0, int64_t i1,
             void *scratch) {
  const Bf16Scratch sl(h.k, x.m);
  float *base = reinterpret_cast<float *>(alignScratch(scratch));
  for (int64_t i = i0; i < i1; ++i) {
    float *xr = base + i * sl.k2A * 2;
    const float *row = x.x + i * x.sm;
    for (int64_t kk = 0; kk < sl.k2A * 2; ++kk)
      xr[kk] = kk < x.k ? row[kk * x.sk] : 0.0f;
  }
}

void compute(const tfc_pack_header &h, const Rows &x, const void *scratch,
             int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
             int64_t ldo) {
  const Bf16Scratch sl(h.k, x.m);
  const float *base = reinterpret_cast<const float *>(alignScratch(scratch));
  const uint16_t *data = reinterpret_cast<const uint16_t *>(
      reinterpret_cast<const unsigned char *>(&h) + h.data_offset);
  const int64_t k2 = ceilDiv(h.k, 2);
  for (int64_t i = i0; i < i1; ++i) {
    const float *xr = base + i * sl.k2A * 2;
    for (int64_t p = p0; p < p1; ++p) {
      const uint16_t *w = data + p * k2 * 64;
      float acc[32] = {};
      for (int64_t kk = 0; kk < k2; ++kk)
        for (int c = 0; c < 32; ++c)
          for (int j = 0; j < 2; ++j)
            acc[c] += xr[2 * kk + j] * fromBf16(w[kk * 64 + 2 * c + j]);
      std::memcpy(out + (i - i0) * ldo + (p - p0) * 32, acc, sizeof(acc));
    }
  }
}

const FormatImpl kImpl = {&scratchBytes, &prepare, &compute,
                          /*rowBlock=*/64, "bf16-generic"};

} // namespace

const FormatImpl *bf16Generic() { return &kImpl; }

} // namespace quant
} // namespace linear
} // namespace tfcrt
