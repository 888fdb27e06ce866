//===- FormatWGeneric.cpp - TFC_PACK_W8 / W4, portable reference ----------===//
//
// Both activation strategies of FormatQuant.h in plain loops: Int8Act (s8
// activation blocks, exact int32 block sums) and F32Act (f32 activations).
//
//===----------------------------------------------------------------------===//

#include "FormatQuant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tfcrt {
namespace linear {
namespace quant {
namespace {

/// The code of column c (< 32) of panel `panel` at k = 4 * kk + j.
template <bool W4>
inline int code(const uint8_t *panel, int64_t kk, int c, int j) {
  if (W4) {
    const uint8_t b = panel[(kk * 16 + (c & 15)) * 4 + j];
    return c < 16 ? b & 15 : b >> 4;
  }
  return panel[(kk * 32 + c) * 4 + j];
}

//===-- Int8Act -----------------------------------------------------------===//

size_t qScratchBytes(const tfc_pack_header &h, int64_t m) {
  return WQScratch(h, m).bytes;
}

void qPrepare(const tfc_pack_header &h, const Rows &x, int64_t i0, int64_t i1,
              void *scratch) {
  const WGeom geo(h);
  const WQScratch sl(h, x.m);
  unsigned char *base = alignScratch(scratch);
  for (int64_t i = i0; i < i1; ++i) {
    int8_t *q = reinterpret_cast<int8_t *>(base + i * sl.kpA);
    float *sx = reinterpret_cast<float *>(base + sl.sxOffset) + i * sl.nbA;
    float *qs = reinterpret_cast<float *>(base + sl.aOffset) + i * sl.nbA;
    const float *row = x.x + i * x.sm;
    std::memset(q, 0, sl.kpA);
    for (int64_t b = 0; b < geo.blocks; ++b) {
      const int64_t k0 = b * kActBlock;
      const int64_t k1 = k0 + kActBlock < x.k ? k0 + kActBlock : x.k;
      float amax = 0.0f;
      bool nan = false;
      for (int64_t kk = k0; kk < k1; ++kk) {
        const float a = std::fabs(row[kk * x.sk]);
        nan |= a != a;
        amax = a > amax ? a : amax;
      }
      const float inv = actInverse(amax);
      int32_t sum = 0;
      for (int64_t kk = k0; kk < k1; ++kk) {
        q[kk] = quantizeAct(row[kk * x.sk], inv);
        sum += q[kk];
      }
      sx[b] = nan ? std::nanf("") : actScale(amax);
      qs[b] = static_cast<float>(sum);
    }
  }
}

template <bool W4>
void qCompute(const tfc_pack_header &h, const Rows &x, const void *scratch,
              int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
              int64_t ldo) {
  const WGeom geo(h);
  const WQScratch sl(h, x.m);
  const WBlob blob(h, geo);
  const unsigned char *base = alignScratch(scratch);
  for (int64_t i = i0; i < i1; ++i) {
    const int8_t *q = reinterpret_cast<const int8_t *>(base + i * sl.kpA);
    const float *sx =
        reinterpret_cast<const float *>(base + sl.sxOffset) + i * sl.nbA;
    const float *qs =
        reinterpret_cast<const float *>(base + sl.aOffset) + i * sl.nbA;
    for (int64_t p = p0; p < p1; ++p) {
      const uint8_t *panel = blob.data + p * blob.panelBytes;
      float y[32] = {};
      for (int64_t g = 0; g < geo.groups; ++g) {
        const int64_t b0 = g * geo.gs / kActBlock;
        const int64_t b1 = std::min((g + 1) * geo.gs, geo.kp) / kActBlock;
        float yg[32] = {};
        const float *s = blob.scales + (p * geo.groups + g) * 32;
        const float *z =
            blob.zeros ? blob.zeros + (p * geo.groups + g) * 32 : nullptr;
        for (int64_t b = b0; b < b1; ++b) {
          int32_t acc[32] = {};
          for (int64_t kk = b * 8; kk < b * 8 + 8; ++kk)
            for (int c = 0; c < 32; ++c)
              for (int j = 0; j < 4; ++j)
                acc[c] += code<W4>(panel, kk, c, j) * q[4 * kk + j];
          for (int c = 0; c < 32; ++c) {
            // Exact: integers below 2^24 (FormatQuant.h).
            const float d = static_cast<float>(acc[c]) -
                            (z ? z[c] : blob.zeroConst) * qs[b];
            yg[c] += sx[b] * d;
          }
        }
        for (int c = 0; c < 32; ++c)
          y[c] += s[c] * yg[c];
      }
      std::memcpy(out + (i - i0) * ldo + (p - p0) * 32, y, sizeof(y));
    }
  }
}

//===-- F32Act ------------------------------------------------------------===//

size_t fScratchBytes(const tfc_pack_header &h, int64_t m) {
  return WFScratch(h, m).bytes;
}

void fPrepare(const tfc_pack_header &h, const Rows &x, int64_t i0, int64_t i1,
              void *scratch) {
  const WGeom geo(h);
  const WFScratch sl(h, x.m);
  unsigned char *base = alignScratch(scratch);
  for (int64_t i = i0; i < i1; ++i) {
    float *xr = reinterpret_cast<float *>(base) + i * sl.kpA;
    float *sums =
        reinterpret_cast<float *>(base + sl.sumOffset) + i * sl.gA * 4;
    const float *row = x.x + i * x.sm;
    for (int64_t kk = 0; kk < sl.kpA; ++kk)
      xr[kk] = kk < x.k ? row[kk * x.sk] : 0.0f;
    for (int64_t g = 0; g < geo.groups; ++g) {
      const int64_t k1 = std::min((g + 1) * geo.gs, geo.kp);
      for (int j = 0; j < 4; ++j) {
        float s = 0.0f;
        for (int64_t kk = g * geo.gs + j; kk < k1; kk += 4)
          s += xr[kk];
        sums[g * 4 + j] = s;
      }
    }
  }
}

template <bool W4>
void fCompute(const tfc_pack_header &h, const Rows &x, const void *scratch,
              int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
              int64_t ldo) {
  const WGeom geo(h);
  const WFScratch sl(h, x.m);
  const WBlob blob(h, geo);
  const unsigned char *base = alignScratch(scratch);
  // Codes centred so that the zero-point term stays small (see AVX-512).
  constexpr int kCenter = W4 ? 8 : 128;
  for (int64_t i = i0; i < i1; ++i) {
    const float *xr = reinterpret_cast<const float *>(base) + i * sl.kpA;
    const float *sums =
        reinterpret_cast<const float *>(base + sl.sumOffset) + i * sl.gA * 4;
    for (int64_t p = p0; p < p1; ++p) {
      const uint8_t *panel = blob.data + p * blob.panelBytes;
      float y[32] = {};
      for (int64_t g = 0; g < geo.groups; ++g) {
        const int64_t kk0 = g * geo.gs / 4;
        const int64_t kk1 = std::min((g + 1) * geo.gs, geo.kp) / 4;
        float acc[32] = {};
        for (int64_t kk = kk0; kk < kk1; ++kk)
          for (int c = 0; c < 32; ++c)
            for (int j = 0; j < 4; ++j)
              acc[c] += xr[4 * kk + j] *
                        static_cast<float>(code<W4>(panel, kk, c, j) - kCenter);
        const float xs =
            sums[g * 4] + sums[g * 4 + 1] + sums[g * 4 + 2] + sums[g * 4 + 3];
        const float *s = blob.scales + (p * geo.groups + g) * 32;
        const float *z =
            blob.zeros ? blob.zeros + (p * geo.groups + g) * 32 : nullptr;
        for (int c = 0; c < 32; ++c)
          y[c] += s[c] * (acc[c] - ((z ? z[c] : blob.zeroConst) - kCenter) * xs);
      }
      std::memcpy(out + (i - i0) * ldo + (p - p0) * 32, y, sizeof(y));
    }
  }
}

const FormatImpl kImpls[2][2] = {
    {{&qScratchBytes, &qPrepare, &qCompute<false>, 64, "w8-int8act-generic"},
     {&fScratchBytes, &fPrepare, &fCompute<false>, 64, "w8-f32act-generic"}},
    {{&qScratchBytes, &qPrepare, &qCompute<true>, 64, "w4-int8act-generic"},
     {&fScratchBytes, &fPrepare, &fCompute<true>, 64, "w4-f32act-generic"}}};

} // namespace

const FormatImpl *wGeneric(uint32_t format, WStrategy s) {
  if (format != TFC_PACK_W8 && format != TFC_PACK_W4)
    return nullptr;
  return &kImpls[format == TFC_PACK_W4][static_cast<int>(s)];
}

} // namespace quant
} // namespace linear
} // namespace tfcrt
