//===- Pack.cpp - layouts, headers and validation of packed blobs ---------===//
//
// Part of the `tfcpack` library (compiled into libtfcrt and the compiler):
// no dependency beyond the C++ standard library and include/.
//
//===----------------------------------------------------------------------===//

#include "Pack.h"
#include "FormatQuant.h"
#include "FormatSparse.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace tfcrt {
namespace pack {
namespace {

/// The section sizes of every format, for W [k, n] (P = panel width,
/// g = group or k when group == 0, G = ceil(k / g)):
///
///   format panel data (bytes)                          scales   zeros    extra
///   F32    32    ceil(n/32) * k * 32 * 4               -        -        -
///   BF16   32    ceil(n/32) * ceil(k/2) * 32 * 2 * 2   -        -        -
///   S8     16    ceil(n/16) * ceil(k/4) * 16 * 4       f32[n]   - i32[n] W8 32
///   ceil(n/32) * k * 32                   f32[G,n] f32[G,n] - W4     32
///   ceil(n/32) * k * 16                   f32[G,n] f32[G,n] -
///
/// (W8/W4 zeros only with TFC_PACK_FLAG_ASYM; S8 extra = column sums.)
/// Written as data = ceil(n/P) * roundUp(k, kStep) * P * bits / 8, so one
/// row of this table is one format. Every section starts at a 64-byte
/// aligned offset; the header is the first 128 bytes.
struct FormatInfo {
  uint32_t format;
  const char *name;
  uint32_t panel;
  uint32_t kStep;     // k is padded to a multiple of this in `data`
  uint32_t bits;      // bits per stored weight
  bool channelScales; // scales f32[n]
  bool groupScales;   // scales f32[G, n] (and zeros with ASYM)
  bool columnSums;    // extra i32[n]
  uint32_t flags;     // flags the format accepts
};

constexpr FormatInfo kFormats[] = {
    {TFC_PACK_F32, "f32", 32, 1, 32, false, false, false, TFC_PACK_FLAG_GATED},
    {TFC_PACK_BF16, "bf16", 32, 2, 16, false, false, false,
     TFC_PACK_FLAG_GATED},
    {TFC_PACK_S8, "s8", 16, 4, 8, true, false, true,
     TFC_PACK_FLAG_GATED | TFC_PACK_FLAG_ACT_STATIC},
    {TFC_PACK_W8, "w8", 32, 1, 8, false, true, false,
     TFC_PACK_FLAG_GATED | TFC_PACK_FLAG_ASYM | TFC_PACK_FLAG_ACT_F32},
    {TFC_PACK_W4, "w4", 32, 1, 4, false, true, false,
     TFC_PACK_FLAG_GATED | TFC_PACK_FLAG_ASYM | TFC_PACK_FLAG_ACT_F32},
};

const FormatInfo *findFormat(uint32_t format) {
  for (const FormatInfo &f : kFormats)
    if (f.format == format)
      return &f;
  return nullptr;
}

using u128 = unsigned __int128;

uint64_t alignUp(uint64_t v) {
  return (v + TFC_PACK_ALIGN - 1) / TFC_PACK_ALIGN * TFC_PACK_ALIGN;
}

std::string fmt(const char *f, long long a = 0, long long b = 0,
                long long c = 0, long long d = 0) {
  char buf[320];
  std::snprintf(buf, sizeof(buf), f, a, b, c, d);
  return buf;
}

// Any sane weight is far below this; it keeps every size sum in 64 bits.
constexpr uint64_t kMaxBlobBytes = uint64_t(1) << 50;

} // namespace

const char *formatName(uint32_t format) {
  if (const FormatInfo *f = findFormat(format))
    return f->name;
  if (format == TFC_PACK_SPARSE_MASK)
    return "sparse-mask";
  if (format == TFC_PACK_SPARSE_24)
    return "sparse-2:4";
  if (format == TFC_PACK_SPARSE_MASK_W8)
    return "sparse-mask-w8";
  return format >= TFC_PACK_SPARSE_FIRST ? "sparse" : "unknown";
}

tfc_pack_header headerOf(uint32_t format, int64_t k, int64_t n, int64_t group,
                         uint32_t flags, const Layout &l) {
  tfc_pack_header h;
  std::memset(&h, 0, sizeof(h));
  h.magic = TFC_PACK_MAGIC;
  h.version = TFC_PACK_VERSION;
  h.format = format;
  h.flags = flags;
  h.k = k;
  h.n = n;
  h.group = group;
  h.data_offset = l.data;
  h.scales_offset = l.scales;
  h.zeros_offset = l.zeros;
  h.extra_offset = l.extra;
  h.total_bytes = l.total;
  h.panel = l.panel;
  return h;
}

bool layoutOf(uint32_t format, int64_t k, int64_t n, int64_t group,
              uint32_t flags, Layout &out, std::string &err) {
  out = Layout();
  // The quantized formats' layouts are defined with their kernels
  // (FormatQuant.h); this table keeps only their names and flags.
  if (format == TFC_PACK_BF16 || format == TFC_PACK_S8 ||
      format == TFC_PACK_W8 || format == TFC_PACK_W4)
    return quantLayoutOf(format, k, n, group, flags, out, err);
  // Sparse sizes depend on the contents: the largest blob (every value
  // stored) here; packers and validate() use sparseLayoutOf with the count.
  if (format >= TFC_PACK_SPARSE_FIRST)
    return sparseLayoutOf(format, k, n, group, flags,
                          k > 0 && n > 0 ? static_cast<uint64_t>(k) *
                                               static_cast<uint64_t>(n)
                                         : 0,
                          out, err);
  const FormatInfo *f = findFormat(format);
  if (!f) {
    err = fmt("unknown packed format %lld (this build knows f32 = 1, bf16 = "
              "2, s8 = 3, w8 = 4, w4 = 5)",
              static_cast<long long>(format));
    return false;
  }
  auto what = [&] { return std::string("format ") + f->name + ": "; };
  if (k < 1 || n < 1) {
    err = what() + fmt("k = %lld and n = %lld must both be positive", k, n);
    return false;
  }
  if (flags & ~f->flags) {
    err = what() + fmt("flags 0x%llx include bits the format does not take "
                       "(allowed: 0x%llx)",
                       flags, f->flags);
    return false;
  }
  if ((flags & TFC_PACK_FLAG_GATED) && n % 2 != 0) {
    err = what() + fmt("a gated blob needs an even n (gate and up halves), "
                       "got n = %lld",
                       n);
    return false;
  }
  if (f->groupScales) {
    if (group != 0 && group != 32 && group != 64 && group != 128) {
      err = what() +
            fmt("group %lld is not 0 (per column), 32, 64 or 128", group);
      return false;
    }
  } else if (group != 0) {
    err = what() + fmt("group %lld given, but the format has no groups", group);
    return false;
  }

  // Divisions in 64 bits (k, n > 0), products in 128: no overflow, and no
  // 128-bit division helper from libgcc.
  const uint64_t uk = static_cast<uint64_t>(k), un = static_cast<uint64_t>(n);
  const u128 panels = (un - 1) / f->panel + 1;
  const u128 kPadded = ((uk - 1) / f->kStep + 1) * f->kStep;
  const u128 data = panels * kPadded * f->panel * f->bits / 8;
  const uint64_t g = group == 0 ? uk : static_cast<uint64_t>(group);
  const u128 groups = (uk - 1) / g + 1;
  u128 scales = 0, zeros = 0, extra = 0;
  if (f->channelScales)
    scales = static_cast<u128>(n) * 4;
  if (f->groupScales) {
    scales = groups * static_cast<u128>(n) * 4;
    if (flags & TFC_PACK_FLAG_ASYM)
      zeros = scales;
  }
  if (f->columnSums)
    extra = static_cast<u128>(n) * 4;
  if (data + scales + zeros + extra > kMaxBlobBytes) {
    err = what() + fmt("k = %lld, n = %lld give a blob over 2^50 bytes", k, n);
    return false;
  }

  uint64_t at = TFC_PACK_HEADER_SIZE;
  out.panel = f->panel;
  out.data = at;
  at = alignUp(at + static_cast<uint64_t>(data));
  if (scales) {
    out.scales = at;
    at = alignUp(at + static_cast<uint64_t>(scales));
  }
  if (zeros) {
    out.zeros = at;
    at = alignUp(at + static_cast<uint64_t>(zeros));
  }
  if (extra) {
    out.extra = at;
    at = alignUp(at + static_cast<uint64_t>(extra));
  }
  out.total = at;
  return true;
}

std::vector<int64_t> gatedColumnOrder(int64_t h, uint32_t panel) {
  std::vector<int64_t> order;
  if (h <= 0 || panel < 2 || panel % 2 != 0)
    return order;
  const int64_t n = 2 * h, p = panel;
  order.resize(static_cast<size_t>(n));
  for (int64_t c = 0; c < n; ++c) {
    const int64_t q = c / p, r = c % p;
    const int64_t half = (n - q * p < p ? n - q * p : p) / 2;
    order[static_cast<size_t>(c)] =
        r < half ? q * (p / 2) + r : h + q * (p / 2) + (r - half);
  }
  return order;
}

bool validate(const void *blob, uint64_t bytes, std::string &err) {
  if (!blob) {
    err = "packed weight blob is a null pointer";
    return false;
  }
  if (bytes < TFC_PACK_HEADER_SIZE) {
    err = fmt("packed weight blob of %lld bytes is shorter than its "
              "%lld-byte header",
              static_cast<long long>(bytes), TFC_PACK_HEADER_SIZE);
    return false;
  }
  tfc_pack_header h;
  std::memcpy(&h, blob, sizeof(h));
  if (h.magic != TFC_PACK_MAGIC) {
    err = fmt("not a packed weight blob: magic 0x%08llx, expected 0x%08llx "
              "('TFPK')",
              h.magic, TFC_PACK_MAGIC);
    return false;
  }
  if (h.version != TFC_PACK_VERSION) {
    err = fmt("packed weight blob (format %lld) has layout version %lld; this "
              "runtime reads version %lld: recompile the model with a "
              "matching tfc",
              h.format, h.version, TFC_PACK_VERSION);
    return false;
  }
  const bool sparse = h.format == TFC_PACK_SPARSE_MASK ||
                      h.format == TFC_PACK_SPARSE_24 ||
                      h.format == TFC_PACK_SPARSE_MASK_W8;
  if (!sparse && !findFormat(h.format)) {
    err = fmt("packed weight blob has unknown format %lld (layout version "
              "%lld)",
              h.format, h.version);
    return false;
  }
  Layout l;
  std::string why;
  if (sparse ? !sparseLayoutOf(h.format, h.k, h.n, h.group, h.flags, h.nnz,
                               l, why)
             : !layoutOf(h.format, h.k, h.n, h.group, h.flags, l, why)) {
    err = "packed weight blob (layout version " + std::to_string(h.version) +
          "): " + why;
    return false;
  }
  auto what = [&] { // only for messages: the runtime validates every call
    return std::string("packed weight blob (format ") + formatName(h.format) +
           ", version " + std::to_string(h.version) + ", k " +
           std::to_string(h.k) + ", n " + std::to_string(h.n) + "): ";
  };
  struct {
    const char *name;
    uint64_t got, want;
  } fields[] = {{"panel", h.panel, l.panel},
                {"data_offset", h.data_offset, l.data},
                {"scales_offset", h.scales_offset, l.scales},
                {"zeros_offset", h.zeros_offset, l.zeros},
                {"extra_offset", h.extra_offset, l.extra},
                {"total_bytes", h.total_bytes, l.total}};
  for (const auto &f : fields) {
    if (f.got != f.want) {
      err = what() + f.name + " is " + std::to_string(f.got) + ", the layout " +
            "needs " + std::to_string(f.want) + " (corrupt header)";
      return false;
    }
  }
  if (h.total_bytes > bytes) {
    err = what() + "truncated: the header says " +
          std::to_string(h.total_bytes) + " bytes, the view holds " +
          std::to_string(bytes);
    return false;
  }
  if ((h.flags & TFC_PACK_FLAG_ACT_STATIC) &&
      (!std::isfinite(h.act_scale) || !(h.act_scale > 0) || h.act_zero < 0 ||
       h.act_zero > 255)) {
    err = what() + "static activation scale " + std::to_string(h.act_scale) +
          " / zero point " + std::to_string(h.act_zero) +
          " out of range (scale > 0, zero in 0..255)";
    return false;
  }
  return true;
}

bool writeHeader(uint32_t format, int64_t k, int64_t n, int64_t group,
                 uint32_t flags, void *dst, uint64_t dstBytes,
                 std::string &err) {
  Layout l;
  if (!layoutOf(format, k, n, group, flags, l, err))
    return false;
  if (!dst || dstBytes < l.total) {
    err = std::string("format ") + formatName(format) + ", k " +
          std::to_string(k) + ", n " + std::to_string(n) + ": the blob needs " +
          std::to_string(l.total) + " bytes, the buffer has " +
          std::to_string(dst ? dstBytes : 0);
    return false;
  }
  // Padding between sections (and past n / k in the data) reads as zero,
  // and a blob's bytes depend only on its contents (weights file hashes).
  std::memset(dst, 0, static_cast<size_t>(l.total));
  const tfc_pack_header h = headerOf(format, k, n, group, flags, l);
  std::memcpy(dst, &h, sizeof(h));
  return true;
}

} // namespace pack
} // namespace tfcrt
