//===- PackSparse.cpp - sparse layouts, packers and the cost model --------===//
//
// Part of the `tfcpack` library (libtfcrt and the compiler). Layouts in
// FormatSparse.h; the cost model's constants are measured
// (docs/DESIGN.md "Sparse encodings and kernels", tfcrt-sparse-bench).
//
//===----------------------------------------------------------------------===//

#include "FormatSparse.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

namespace tfcrt {
namespace pack {
namespace {

constexpr int64_t P = 32;

uint64_t alignUp(uint64_t v) {
  return (v + TFC_PACK_ALIGN - 1) / TFC_PACK_ALIGN * TFC_PACK_ALIGN;
}

/// W[kk][c] of a [k, n] (or transposed [n, k]) matrix.
struct Weight {
  const float *w;
  int64_t k, n;
  bool t;
  float at(int64_t kk, int64_t c) const {
    return t ? w[c * k + kk] : w[kk * n + c];
  }
};

} // namespace

bool sparseLayoutOf(uint32_t format, int64_t k, int64_t n, int64_t group,
                    uint32_t flags, uint64_t nnz, Layout &out,
                    std::string &err) {
  out = Layout();
  const char *name = format == TFC_PACK_SPARSE_MASK      ? "sparse-mask"
                     : format == TFC_PACK_SPARSE_24      ? "sparse-2:4"
                     : format == TFC_PACK_SPARSE_MASK_W8 ? "sparse-mask-w8"
                                                         : nullptr;
  if (!name) {
    err = "unknown sparse format " + std::to_string(format) +
          " (this build knows sparse-mask = 16, sparse-2:4 = 17, "
          "sparse-mask-w8 = 18)";
    return false;
  }
  const bool w8 = format == TFC_PACK_SPARSE_MASK_W8;
  auto what = [&] { return std::string("format ") + name + ": "; };
  // 2^40 keeps every product below in 64 bits.
  if (k < 1 || n < 1 || k > (int64_t(1) << 40) || n > (int64_t(1) << 40)) {
    err = what() + "k = " + std::to_string(k) +
          " and n = " + std::to_string(n) +
          " must be positive (and below 2^40)";
    return false;
  }
  const uint32_t allowed =
      TFC_PACK_FLAG_GATED | (w8 ? TFC_PACK_FLAG_ACT_F32 : 0u);
  if (flags & ~allowed) {
    err = what() + "flags " + std::to_string(flags) +
          " include bits the format does not take (allowed: GATED" +
          (w8 ? ", ACT_F32)" : ")");
    return false;
  }
  if ((flags & TFC_PACK_FLAG_GATED) && n % 2 != 0) {
    err = what() + "a gated blob needs an even n, got " + std::to_string(n);
    return false;
  }
  if (w8 ? group != 0 && group != 32 && group != 64 && group != 128
         : group != 0) {
    err = what() + "group " + std::to_string(group) +
          (w8 ? " not one of 0, 32, 64, 128"
              : " given, but the format has no groups");
    return false;
  }
  const uint64_t panels = static_cast<uint64_t>((n + P - 1) / P);
  uint64_t data, extra, scales = 0;
  if (format == TFC_PACK_SPARSE_MASK || w8) {
    if (nnz > panels * P * static_cast<uint64_t>(k)) {
      err = what() + "nnz " + std::to_string(nnz) + " exceeds k * n";
      return false;
    }
    data = w8 ? nnz + 64 : (nnz + 32) * 4;
    extra = alignUp((panels + 1) * 8) + panels * static_cast<uint64_t>(k) * 4;
    if (w8) {
      const uint64_t kp = static_cast<uint64_t>((k + 31) / 32 * 32);
      extra = alignUp((panels + 1) * 8) + panels * (kp / 4) * 16;
      const uint64_t gs = group ? static_cast<uint64_t>(group) : kp;
      scales = panels * ((kp + gs - 1) / gs) * P * 4;
    }
  } else {
    const uint64_t groups = static_cast<uint64_t>((k + 3) / 4);
    data = panels * groups * 64 * 4;
    extra = panels * groups * 16;
  }
  if (data + extra > (uint64_t(1) << 50)) {
    err = what() + "the blob would exceed 2^50 bytes";
    return false;
  }
  uint64_t at = TFC_PACK_HEADER_SIZE;
  out.panel = P;
  out.data = at;
  at = alignUp(at + data);
  if (w8) {
    out.scales = at;
    at = alignUp(at + scales);
  }
  out.extra = at;
  at = alignUp(at + extra);
  out.total = at;
  return true;
}

uint64_t sparseNnz(uint32_t format, const float *w, int64_t k, int64_t n,
                   bool transposed) {
  const uint64_t panels = static_cast<uint64_t>((n + P - 1) / P);
  if (format == TFC_PACK_SPARSE_24)
    return panels * static_cast<uint64_t>((k + 3) / 4) * 64;
  uint64_t nnz = 0;
  for (int64_t i = 0; i < k * n; ++i)
    nnz += w[i] != 0.0f;
  (void)transposed;
  return nnz;
}

bool packSparse(uint32_t format, const float *w, int64_t k, int64_t n,
                bool transposed, uint32_t flags, void *dst, uint64_t dstBytes,
                std::string &err) {
  if (!w || !dst) {
    err = "packSparse: null weight or destination";
    return false;
  }
  const uint64_t nnz = sparseNnz(format, w, k, n, transposed);
  Layout l;
  if (!sparseLayoutOf(format, k, n, 0, flags, nnz, l, err))
    return false;
  if (dstBytes < l.total) {
    err = "packSparse: the blob needs " + std::to_string(l.total) +
          " bytes, the buffer has " + std::to_string(dstBytes);
    return false;
  }
  std::memset(dst, 0, static_cast<size_t>(l.total));
  tfc_pack_header h = headerOf(format, k, n, 0, flags, l);
  h.nnz = nnz;
  char *base = static_cast<char *>(dst);
  std::memcpy(base, &h, sizeof(h));
  const Weight W{w, k, n, transposed};
  const int64_t panels = (n + P - 1) / P;
  // dst need not be aligned: everything goes through memcpy.
  auto put = [](char *p, const void *v, size_t bytes) {
    std::memcpy(p, v, bytes);
  };
  if (format == TFC_PACK_SPARSE_MASK) {
    char *vals = base + l.data;
    char *starts = base + l.extra;
    char *masks = starts + alignUp(static_cast<uint64_t>(panels + 1) * 8);
    uint64_t at = 0;
    for (int64_t p = 0; p < panels; ++p) {
      put(starts + p * 8, &at, 8);
      const int64_t cols = std::min<int64_t>(P, n - p * P);
      for (int64_t kk = 0; kk < k; ++kk) {
        uint32_t m = 0;
        for (int64_t c = 0; c < cols; ++c) {
          const float v = W.at(kk, p * P + c);
          if (v != 0.0f) {
            m |= uint32_t(1) << c;
            put(vals + at * 4, &v, 4);
            ++at;
          }
        }
        put(masks + (p * k + kk) * 4, &m, 4);
      }
    }
    put(starts + panels * 8, &at, 8);
    return true;
  }
  // 2:4
  const int64_t groups = (k + 3) / 4;
  char *vals = base + l.data;
  char *index = base + l.extra;
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t cols = std::min<int64_t>(P, n - p * P);
    for (int64_t g = 0; g < groups; ++g) {
      float v[2][P] = {};
      unsigned char idx[P] = {};
      for (int64_t c = 0; c < cols; ++c) {
        int pos[2] = {-1, -1}, found = 0;
        for (int j = 0; j < 4 && 4 * g + j < k; ++j) {
          if (W.at(4 * g + j, p * P + c) == 0.0f)
            continue;
          if (found == 2) {
            err = "sparse-2:4: column " + std::to_string(p * P + c) +
                  " has more than 2 nonzeros in k rows [" +
                  std::to_string(4 * g) + ", " + std::to_string(4 * g + 4) +
                  ")";
            return false;
          }
          pos[found++] = j;
        }
        // Free positions for the missing values (distinct, increasing).
        if (found == 0) {
          pos[0] = 0;
          pos[1] = 1;
        } else if (found == 1) {
          pos[1] = pos[0] == 3 ? 3 : pos[0] + 1;
          if (pos[0] == 3)
            pos[0] = 2;
        }
        for (int j = 0; j < 2; ++j) {
          const int64_t kk = 4 * g + pos[j];
          v[j][c] = kk < k ? W.at(kk, p * P + c) : 0.0f;
        }
        idx[c] = static_cast<unsigned char>(pos[0] | pos[1] << 2);
      }
      put(vals + ((p * groups + g) * 64) * 4, v, sizeof(v));
      unsigned char nib[16];
      for (int c = 0; c < 16; ++c)
        nib[c] = static_cast<unsigned char>(idx[c] | idx[c + 16] << 4);
      put(index + (p * groups + g) * 16, nib, 16);
    }
  }
  return true;
}

uint64_t sparseW8Nnz(const int8_t *q, int64_t k, int64_t n) {
  uint64_t nnz = 0;
  for (int64_t i = 0; q && i < k * n; ++i)
    nnz += q[i] != 0;
  return nnz;
}

bool packSparseW8(const int8_t *q, const float *scales, int64_t k, int64_t n,
                  int64_t group, uint32_t flags, void *dst, uint64_t dstBytes,
                  std::string &err) {
  if (!q || !scales || !dst) {
    err = "packSparseW8: null codes, scales or destination";
    return false;
  }
  const uint64_t nnz = sparseW8Nnz(q, k, n);
  Layout l;
  if (!sparseLayoutOf(TFC_PACK_SPARSE_MASK_W8, k, n, group, flags, nnz, l, err))
    return false;
  if (dstBytes < l.total) {
    err = "packSparseW8: the blob needs " + std::to_string(l.total) +
          " bytes, the buffer has " + std::to_string(dstBytes);
    return false;
  }
  std::memset(dst, 0, static_cast<size_t>(l.total));
  tfc_pack_header h = headerOf(TFC_PACK_SPARSE_MASK_W8, k, n, group, flags, l);
  h.nnz = nnz;
  char *base = static_cast<char *>(dst);
  std::memcpy(base, &h, sizeof(h));
  const int64_t panels = (n + P - 1) / P;
  const int64_t kp = (k + 31) / 32 * 32, gs = group ? group : kp;
  const int64_t groups = (kp + gs - 1) / gs;
  char *vals = base + l.data;
  char *starts = base + l.extra;
  char *masks = starts + alignUp(static_cast<uint64_t>(panels + 1) * 8);
  char *sc = base + l.scales;
  uint64_t at = 0;
  for (int64_t p = 0; p < panels; ++p) {
    std::memcpy(starts + p * 8, &at, 8);
    const int64_t cols = std::min<int64_t>(P, n - p * P);
    for (int64_t kb = 0; kb < kp / 4; ++kb)
      for (int half = 0; half < 2; ++half) {
        uint64_t m = 0;
        for (int b = 0; b < 64; ++b) {
          const int64_t c = half * 16 + b / 4, kk = 4 * kb + b % 4;
          if (c >= cols || kk >= k)
            continue;
          const int8_t v = q[kk * n + p * P + c];
          if (v != 0) {
            m |= uint64_t(1) << b;
            vals[at++] = static_cast<char>(v);
          }
        }
        std::memcpy(masks + ((p * (kp / 4) + kb) * 2 + half) * 8, &m, 8);
      }
    for (int64_t g = 0; g < groups; ++g)
      std::memcpy(sc + ((p * groups + g) * P) * 4, scales + g * n + p * P,
                  static_cast<size_t>(cols) * 4);
  }
  std::memcpy(starts + panels * 8, &at, 8);
  return true;
}

SparsityStats analyzeSparsityCodes(const int8_t *q, int64_t k, int64_t n) {
  SparsityStats s;
  s.k = k;
  s.n = n;
  for (int64_t i = 0; q && i < k * n; ++i)
    s.zeros += q[i] == 0;
  return s;
}

SparsityStats analyzeSparsity(const float *w, int64_t k, int64_t n,
                              bool transposed) {
  SparsityStats s;
  s.k = k;
  s.n = n;
  if (!w || k < 1 || n < 1)
    return s;
  const Weight W{w, k, n, transposed};
  for (int64_t i = 0; i < k * n; ++i)
    s.zeros += w[i] == 0.0f;
  // N:M along k per column; a partial last group counts its present k.
  s.is24 = s.is48 = s.zeros > 0;
  std::vector<int> count(static_cast<size_t>(n));
  for (int M : {4, 8}) {
    bool ok = s.zeros > 0;
    for (int64_t g = 0; ok && g < k; g += M) {
      std::fill(count.begin(), count.end(), 0);
      for (int64_t kk = g; kk < std::min<int64_t>(k, g + M); ++kk)
        for (int64_t c = 0; c < n; ++c)
          count[c] += W.at(kk, c) != 0.0f;
      for (int64_t c = 0; ok && c < n; ++c)
        ok = count[c] <= M / 2;
    }
    (M == 4 ? s.is24 : s.is48) = ok;
  }
  return s;
}

//===-- the cost model ----------------------------------------------------===//
//
// Time relative to the dense F32 kernel, as functions of the density d
// fitted to tfcrt-sparse-bench (1 thread, docs/DESIGN.md "Sparse encodings
// and kernels"; SmolLM2 and MiniLM shapes):
//   decode (m = 1, weights from DRAM): bytes-bound until the expansion
//     costs more than the bytes saved:
//       AVX-512 MASK  max(0.30, (4/128 + d) / 0.74)
//       AVX2    MASK  0.30 + 0.9 d        (no vexpandps: a table + vpermps)
//       2:4           0.65 (AVX-512), 0.59 (AVX2)
//   prefill (m = 16 .. 128, compute-bound):
//       AVX-512 MASK  1.30, or 0.3 + 2 d on the skip path (d < 0.40)
//       AVX2    MASK  1.35, or 0.5 on the skip path (d < 0.15; AMD 0.40)
//       2:4           1.14 (AVX-512), 1.40 (AVX2)
// The weights file is the same for Zen 3 (AVX2) and Zen 4 (AVX-512). A
// weight goes sparse where decode is predicted at least kMinGain faster on
// AVX-512 and no slower on AVX2, and prefill on AVX-512 at most kMaxLoss
// slower: decode-bound LLMs gain, and an encoder's prefill loses little.
namespace {
constexpr double kMinGain = 1.4, kMaxLoss = 1.3;

double maskDecode512(double d) {
  return std::max(0.30, (4.0 / 128 + d) / 0.74);
}
double maskDecode2(double d) { return 0.30 + 0.9 * d; }
double maskMany512(double d) {
  return d < linear::sparse::kSkipDensity ? std::min(1.30, 0.3 + 2.0 * d)
                                          : 1.30;
}
constexpr double k24Decode512 = 0.65, k24Decode2 = 0.59, k24Many512 = 1.14;

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.0f%%", 100.0 * v);
  return b;
}
std::string times(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.2fx", v);
  return b;
}
} // namespace

SparseChoice chooseSparseFormat(const SparsityStats &s, SparseMode mode) {
  SparseChoice c;
  const double sparsity = s.fraction(), d = 1.0 - sparsity;
  // The sparsity where MASK starts to pay (both decode conditions hold).
  double breakEven = 1.0;
  for (int i = 0; i <= 1000; ++i) {
    const double dd = 1.0 - i / 1000.0;
    if (1.0 / maskDecode512(dd) >= kMinGain && maskDecode2(dd) <= 1.0 &&
        maskMany512(dd) <= kMaxLoss) {
      breakEven = i / 1000.0;
      break;
    }
  }
  const bool use24 = s.is24 && k24Decode512 <= maskDecode512(d);
  const double dec512 = use24 ? k24Decode512 : maskDecode512(d);
  const double dec2 = use24 ? k24Decode2 : maskDecode2(d);
  const double many = use24 ? k24Many512 : maskMany512(d);
  const uint32_t format = use24 ? TFC_PACK_SPARSE_24 : TFC_PACK_SPARSE_MASK;
  const double bytes = use24 ? 68.0 / 128 : (4.0 + 128.0 * d) / 128;
  const std::string pattern = s.is24   ? ", 2:4 along k"
                              : s.is48 ? ", 4:8 along k"
                                       : "";
  const std::string predicted = "predicted decode " + times(1.0 / dec512) +
                                " (AVX-512) / " + times(1.0 / dec2) +
                                " (AVX2), prefill " + times(1.0 / many);
  c.predictedSpeedup = 1.0 / dec512;
  c.bytesRatio = bytes;
  if (mode == SparseMode::Off) {
    c.why = "dense: sparse encodings off (sparsity " + pct(sparsity) + ")";
    c.predictedSpeedup = 1.0;
    c.bytesRatio = 1.0;
    return c;
  }
  const std::string name = use24 ? "sparse-2:4" : "sparse-mask";
  if (mode == SparseMode::Force) {
    c.format = format;
    c.why = name + ": forced (sparsity " + pct(sparsity) + pattern + ", " +
            predicted + ")";
    return c;
  }
  if (s.zeros == 0) {
    c.why = "dense: no zeros";
    c.predictedSpeedup = 1.0;
    c.bytesRatio = 1.0;
    return c;
  }
  if (1.0 / dec512 < kMinGain || dec2 > 1.0 || many > kMaxLoss) {
    c.why = "dense: sparsity " + pct(sparsity) + pattern + " below the " +
            pct(breakEven) + " break-even (" + predicted + ")";
    c.predictedSpeedup = 1.0;
    c.bytesRatio = 1.0;
    return c;
  }
  c.format = format;
  c.why = name + ": sparsity " + pct(sparsity) + pattern + ", " + predicted +
          ", " + pct(bytes) + " of the dense bytes";
  return c;
}

//===-- the int8 cost model -----------------------------------------------===//
//
// TFC_PACK_SPARSE_MASK_W8 against the dense TFC_PACK_W8 kernels (time
// ratios; d the density of the codes), fitted to `tfcrt-sparse-bench --w8
// --threads 2` on a Zen 4 (SmolLM2's shapes, m = 1 from DRAM; AVX2 forced
// with --isa avx2; docs/DESIGN.md "Sparse encodings and kernels"):
//   decode  AVX-512 (VNNI + VBMI2, fused expand + vpdpbusd: bytes-bound)
//             max(0.38, (1/8 + d) / 0.92)
//             measured 0.63-0.69 at d = 0.5, 0.46-0.55 at 0.3, 0.35-0.45
//             at 0.1
//           AVX2 (pshufb expansion into W8 panels + the W8 kernel, which
//             is compute-bound at decode: no gain from fewer bytes)
//             0.8 + 0.7 d     measured 1.10-1.22 / 0.95-1.05 / 0.85-0.93
//   prefill 1.05 (AVX-512) / 1.06 (AVX2): the W8 kernel plus the expansion
// A weight goes sparse where decode on AVX-512 is at least kMinGain faster
// and decode on AVX2 at most 5 % slower (within the noise: the weights
// file is the same for Zen 3): from about 64 % zero codes on.
namespace {
constexpr double kW8AvxMaxLoss = 1.05;
double w8Decode512(double d) { return std::max(0.38, (0.125 + d) / 0.92); }
double w8Decode2(double d) { return 0.8 + 0.7 * d; }
constexpr double kW8Many = 1.06;
} // namespace

SparseChoice chooseSparseW8Format(const SparsityStats &s, SparseMode mode) {
  SparseChoice c;
  c.format = TFC_PACK_W8;
  const double sparsity = s.fraction(), d = 1.0 - sparsity;
  const double dec512 = w8Decode512(d), dec2 = w8Decode2(d);
  const double bytes = 0.125 + d; // of the dense W8 codes
  const std::string predicted = "predicted decode " + times(1.0 / dec512) +
                                " (AVX-512) / " + times(1.0 / dec2) +
                                " (AVX2), prefill " + times(1.0 / kW8Many) +
                                " against dense w8";
  if (mode == SparseMode::Off) {
    c.why = "dense w8: sparse encodings off (sparsity " + pct(sparsity) + ")";
    return c;
  }
  if (mode == SparseMode::Force && s.zeros > 0) {
    c.format = TFC_PACK_SPARSE_MASK_W8;
    c.predictedSpeedup = 1.0 / dec512;
    c.bytesRatio = bytes;
    c.why = "sparse-mask-w8: forced (sparsity " + pct(sparsity) + ", " +
            predicted + ")";
    return c;
  }
  if (s.zeros == 0) {
    c.why = "dense w8: no zero codes";
    return c;
  }
  double breakEven = 1.0;
  for (int i = 0; i <= 1000; ++i) {
    const double dd = 1.0 - i / 1000.0;
    if (1.0 / w8Decode512(dd) >= kMinGain && w8Decode2(dd) <= kW8AvxMaxLoss) {
      breakEven = i / 1000.0;
      break;
    }
  }
  if (1.0 / dec512 < kMinGain || dec2 > kW8AvxMaxLoss || kW8Many > kMaxLoss) {
    c.why = "dense w8: sparsity " + pct(sparsity) + " of the codes below the " +
            pct(breakEven) + " break-even (" + predicted + ")";
    return c;
  }
  c.format = TFC_PACK_SPARSE_MASK_W8;
  c.predictedSpeedup = 1.0 / dec512;
  c.bytesRatio = bytes;
  c.why = "sparse-mask-w8: sparsity " + pct(sparsity) + " of the codes, " +
          predicted + ", " + pct(bytes) + " of the dense w8 bytes";
  return c;
}

} // namespace pack
} // namespace tfcrt
