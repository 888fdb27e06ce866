//===- PackQuant.cpp - packers of the bf16 and integer formats ------------===//
//
// Layouts: FormatQuant.h. The packers only lay out values the compiler
// already decided (codes, scales, zero points) and refuse values the
// kernels cannot take exactly (an S8 code of -128 would break the
// symmetric sign trick; a W4 code above 15 does not fit a nibble).
//
//===----------------------------------------------------------------------===//

#include "FormatQuant.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace tfcrt {
namespace pack {

using namespace linear::quant;

namespace {

const char *quantFormatName(uint32_t format) {
  switch (format) {
  case TFC_PACK_BF16:
    return "TFC_PACK_BF16";
  case TFC_PACK_S8:
    return "TFC_PACK_S8";
  case TFC_PACK_W8:
    return "TFC_PACK_W8";
  case TFC_PACK_W4:
    return "TFC_PACK_W4";
  }
  return "unknown format";
}

std::string str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string str(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

/// Largest k or n accepted: keeps every offset and int32 sum in range.
constexpr int64_t kMaxDim = int64_t(1) << 30;
constexpr int64_t kMaxS8K = int64_t(1) << 17;

} // namespace

bool quantLayoutOf(uint32_t format, int64_t k, int64_t n, int64_t group,
                   uint32_t flags, Layout &out, std::string &err) {
  const char *fname = quantFormatName(format);
  uint32_t allowed = TFC_PACK_FLAG_GATED;
  switch (format) {
  case TFC_PACK_BF16:
    break;
  case TFC_PACK_S8:
    allowed |= TFC_PACK_FLAG_ACT_STATIC;
    break;
  case TFC_PACK_W8:
  case TFC_PACK_W4:
    allowed |= TFC_PACK_FLAG_ASYM | TFC_PACK_FLAG_ACT_F32;
    break;
  default:
    err = str("format %u is not one of the quantized formats (bf16, s8, w8, "
              "w4)",
              format);
    return false;
  }
  if (k < 1 || n < 1 || k > kMaxDim || n > kMaxDim) {
    err = str("%s: k = %lld and n = %lld must be in [1, 2^30]", fname,
              (long long)k, (long long)n);
    return false;
  }
  // S8's int32 sums are exact while k * 127 * 127 < 2^31.
  if (format == TFC_PACK_S8 && k > kMaxS8K) {
    err = str("TFC_PACK_S8: k = %lld is above %lld, where the int32 sums "
              "could overflow",
              (long long)k, (long long)kMaxS8K);
    return false;
  }
  if (flags & ~allowed) {
    err = str("%s: flags 0x%x not allowed (allowed: 0x%x)", fname, flags,
              allowed);
    return false;
  }
  if ((flags & TFC_PACK_FLAG_GATED) && n % 2) {
    err = str("%s: a gated blob needs an even n (gate and up halves), got "
              "%lld",
              fname, (long long)n);
    return false;
  }
  const bool grouped = format == TFC_PACK_W8 || format == TFC_PACK_W4;
  if (grouped ? (group != 0 && group != 32 && group != 64 && group != 128)
              : group != 0) {
    err = grouped ? str("%s: group %lld must be 0 (whole column), 32, 64 or "
                        "128",
                        fname, (long long)group)
                  : str("%s: group %lld given, the format has no groups "
                        "(per output channel: 0)",
                        fname, (long long)group);
    return false;
  }
  uint64_t data = 0, scales = 0, zeros = 0, extra = 0;
  uint32_t panel = 32;
  if (format == TFC_PACK_BF16) {
    data = uint64_t(ceilDiv(n, 32)) * ceilDiv(k, 2) * 32 * 2 * 2;
  } else if (format == TFC_PACK_S8) {
    panel = 16;
    const uint64_t np = ceilDiv(n, 16);
    data = np * ceilDiv(k, 4) * 16 * 4;
    scales = extra = np * 16 * 4;
  } else {
    const int64_t kp = ceilDiv(k, kActBlock) * kActBlock;
    const int64_t gs = group ? group : kp;
    const uint64_t np = ceilDiv(n, 32), groups = ceilDiv(kp, gs);
    data = np * kp * (format == TFC_PACK_W8 ? 32 : 16);
    scales = np * groups * 32 * 4;
    if (flags & TFC_PACK_FLAG_ASYM)
      zeros = scales;
  }
  Layout l;
  l.panel = panel;
  uint64_t at = TFC_PACK_HEADER_SIZE;
  l.data = at;
  at = align64(at + data);
  if (scales) {
    l.scales = at;
    at = align64(at + scales);
  }
  if (zeros) {
    l.zeros = at;
    at = align64(at + zeros);
  }
  if (extra) {
    l.extra = at;
    at = align64(at + extra);
  }
  l.total = at;
  out = l;
  return true;
}

// Replaced by pack::writeHeader at merge (packS8 then sets act_scale and
// act_zero itself).
bool writeQuantHeader(uint32_t format, int64_t k, int64_t n, int64_t group,
                      uint32_t flags, float actScale, int32_t actZero,
                      void *dst, uint64_t dstBytes, std::string &err) {
  Layout l;
  if (!quantLayoutOf(format, k, n, group, flags, l, err))
    return false;
  if (!dst || dstBytes < l.total) {
    err = str("%s [%lld x %lld]: the blob needs %llu bytes, the buffer has "
              "%llu",
              quantFormatName(format), (long long)k, (long long)n,
              (unsigned long long)l.total,
              (unsigned long long)(dst ? dstBytes : 0));
    return false;
  }
  tfc_pack_header h = headerOf(format, k, n, group, flags, l);
  h.act_scale = actScale;
  h.act_zero = actZero;
  std::memcpy(dst, &h, sizeof(h));
  return true;
}

namespace {

/// Header, zeroed sections; returns the header (in dst) or nullptr.
tfc_pack_header *startBlob(uint32_t format, int64_t k, int64_t n, int64_t group,
                           uint32_t flags, float actScale, int32_t actZero,
                           void *dst, uint64_t dstBytes, std::string &err) {
  Layout l;
  if (!quantLayoutOf(format, k, n, group, flags, l, err))
    return nullptr;
  if (!dst || dstBytes < l.total) {
    err = str("%s [%lld x %lld]: the blob needs %llu bytes, the buffer has "
              "%llu",
              quantFormatName(format), (long long)k, (long long)n,
              (unsigned long long)l.total,
              (unsigned long long)(dst ? dstBytes : 0));
    return nullptr;
  }
  std::memset(dst, 0, l.total);
  if (!writeQuantHeader(format, k, n, group, flags, actScale, actZero, dst,
                        dstBytes, err))
    return nullptr;
  return static_cast<tfc_pack_header *>(dst);
}

template <typename T> T *section(tfc_pack_header *h, uint64_t off) {
  return reinterpret_cast<T *>(reinterpret_cast<unsigned char *>(h) + off);
}

} // namespace

bool packBf16(const float *w, int64_t k, int64_t n, bool transposed,
              uint32_t flags, void *dst, uint64_t dstBytes, std::string &err) {
  if (!w) {
    err = "TFC_PACK_BF16: no weights given";
    return false;
  }
  tfc_pack_header *h =
      startBlob(TFC_PACK_BF16, k, n, 0, flags, 0, 0, dst, dstBytes, err);
  if (!h)
    return false;
  uint16_t *d = section<uint16_t>(h, h->data_offset);
  const int64_t k2 = ceilDiv(k, 2);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j) {
      const float v = transposed ? w[j * k + kk] : w[kk * n + j];
      d[(((j / 32) * k2 + kk / 2) * 32 + j % 32) * 2 + kk % 2] = toBf16(v);
    }
  return true;
}

bool packS8(const int8_t *q, const float *scales, int64_t k, int64_t n,
            bool transposed, uint32_t flags, float actScale, int32_t actZero,
            void *dst, uint64_t dstBytes, std::string &err) {
  if (!q || !scales) {
    err = "TFC_PACK_S8: no codes or scales given";
    return false;
  }
  const bool isStatic = flags & TFC_PACK_FLAG_ACT_STATIC;
  if (isStatic && !(std::isfinite(actScale) && actScale > 0)) {
    err = str("TFC_PACK_S8: static activation scale %g must be finite and "
              "> 0",
              actScale);
    return false;
  }
  if (isStatic && actZero != 0) {
    err = str("TFC_PACK_S8: static activation zero point %d: the kernels "
              "take symmetric activations only (zero point 0)",
              actZero);
    return false;
  }
  for (int64_t j = 0; j < n; ++j)
    if (!std::isfinite(scales[j])) {
      err = str("TFC_PACK_S8: scale of column %lld is %g (not finite)",
                (long long)j, scales[j]);
      return false;
    }
  for (int64_t i = 0; i < k * n; ++i)
    if (q[i] == -128) {
      const int64_t r = transposed ? i % k : i / n,
                    c = transposed ? i / k : i % n;
      err = str("TFC_PACK_S8: code -128 at k = %lld, column %lld: weights "
                "must be symmetric (-127..127)",
                (long long)r, (long long)c);
      return false;
    }
  tfc_pack_header *h =
      startBlob(TFC_PACK_S8, k, n, 0, flags, isStatic ? actScale : 0.0f,
                isStatic ? actZero : 0, dst, dstBytes, err);
  if (!h)
    return false;
  int8_t *d = section<int8_t>(h, h->data_offset);
  float *s = section<float>(h, h->scales_offset);
  int32_t *sums = section<int32_t>(h, h->extra_offset);
  const int64_t k4 = ceilDiv(k, 4);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j) {
      const int8_t v = transposed ? q[j * k + kk] : q[kk * n + j];
      d[(((j / 16) * k4 + kk / 4) * 16 + j % 16) * 4 + kk % 4] = v;
      sums[j] += v;
    }
  std::memcpy(s, scales, n * sizeof(float));
  return true;
}

bool packWeightOnly(uint32_t format, const int8_t *q, const float *scales,
                    const float *zeros, int64_t k, int64_t n, int64_t group,
                    bool transposed, uint32_t flags, void *dst,
                    uint64_t dstBytes, std::string &err) {
  if (format != TFC_PACK_W8 && format != TFC_PACK_W4) {
    err = str("packWeightOnly: format %u is not TFC_PACK_W8 or TFC_PACK_W4",
              format);
    return false;
  }
  const char *fname = quantFormatName(format);
  const bool w4 = format == TFC_PACK_W4, asym = flags & TFC_PACK_FLAG_ASYM;
  if (!q || !scales) {
    err = str("%s: no codes or scales given", fname);
    return false;
  }
  if (asym != (zeros != nullptr)) {
    err = str(asym ? "%s: TFC_PACK_FLAG_ASYM without zero points"
                   : "%s: zero points given without TFC_PACK_FLAG_ASYM",
              fname);
    return false;
  }
  Layout l;
  if (!quantLayoutOf(format, k, n, group, flags, l, err))
    return false;
  const int64_t gsUser = group ? group : k;
  const int64_t groups = ceilDiv(k, gsUser);
  const float lo = w4 ? 0.0f : -128.0f, hi = w4 ? 15.0f : 127.0f;
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t j = 0; j < n; ++j) {
      const float s = scales[g * n + j];
      if (!std::isfinite(s)) {
        err = str("%s: scale of group %lld, column %lld is %g (not finite)",
                  fname, (long long)g, (long long)j, s);
        return false;
      }
      if (asym) {
        const float z = zeros[g * n + j];
        if (!(z >= lo && z <= hi)) {
          err = str("%s: zero point of group %lld, column %lld is %g, "
                    "outside the codes' range [%g, %g]",
                    fname, (long long)g, (long long)j, z, lo, hi);
          return false;
        }
      }
    }
  if (w4)
    for (int64_t i = 0; i < k * n; ++i)
      if (q[i] < 0 || q[i] > 15) {
        const int64_t r = transposed ? i % k : i / n,
                      c = transposed ? i / k : i % n;
        err = str("%s: code %d at k = %lld, column %lld is outside 0..15",
                  fname, q[i], (long long)r, (long long)c);
        return false;
      }
  tfc_pack_header *h =
      startBlob(format, k, n, group, flags, 0, 0, dst, dstBytes, err);
  if (!h)
    return false;
  const WGeom geo(*h);
  uint8_t *d = section<uint8_t>(h, h->data_offset);
  const int64_t k4 = geo.kp / 4;
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j) {
      const int8_t v = transposed ? q[j * k + kk] : q[kk * n + j];
      const int64_t p = j / 32, c = j % 32;
      if (w4) {
        uint8_t &b = d[((p * k4 + kk / 4) * 16 + c % 16) * 4 + kk % 4];
        b |= static_cast<uint8_t>(c < 16 ? v : v << 4);
      } else {
        d[((p * k4 + kk / 4) * 32 + c) * 4 + kk % 4] =
            static_cast<uint8_t>(v + 128);
      }
    }
  float *s = section<float>(h, h->scales_offset);
  float *z = asym ? section<float>(h, h->zeros_offset) : nullptr;
  for (int64_t g = 0; g < geo.groups; ++g)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t at = ((j / 32) * geo.groups + g) * 32 + j % 32;
      s[at] = scales[g * n + j];
      if (z)
        z[at] = zeros[g * n + j] + (w4 ? 0.0f : 128.0f);
    }
  return true;
}

} // namespace pack
} // namespace tfcrt
