//===- SparseBench.cpp - sparse formats of tfcrt_linear against dense -----===//
//
// Built only with -DTFC_BUILD_BENCH=ON (target tfcrt-sparse-bench).
//   tfcrt-sparse-bench [--threads N] [--isa avx512|avx2|generic] [--ms T]
//                      [--ms-list 1,16,128] [--shape NAME] [--csv] [--hot]
//                      [--w8]
// For SmolLM2-135M shapes (q/o 576x576, kv 576x192, gate+up 576x2x1536
// gated, down 1536x576) and MiniLM shapes (384x384, 384x1536, 1536x384):
// dense f32 against MASK at 50/70/80/90 % random zeros and against 2:4, for
// m = 1, 16, 128 rows. m <= 4 rotates through copies of the weight totalling
// > 192 MB, so each call reads from DRAM (decode); more rows reuse one blob
// (prefill is compute-bound). Dense and sparse calls alternate; each figure
// is the median of the runs over --ms milliseconds (--hot: m <= 4 reuses one
// blob, the kernels' speed from cache). Numbers taken on a
// loaded machine are noise: run it on a quiet one. The `speedup` column
// feeds the cost model's constants (lib/Runtime/Linear/PackSparse.cpp).
// --w8: the int8 pair instead, dense TFC_PACK_W8 (symmetric per channel,
// block32 activations: `--quantize=w8`) against TFC_PACK_SPARSE_MASK_W8 at
// 50-90 % zero codes (chooseSparseW8Format's constants).
//
//===----------------------------------------------------------------------===//

#include "Isa.h"
#include "Linear/FormatSparse.h"
#include "Linear/LinearInternal.h"
#include "Linear/Pack.h"
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace tfcrt;

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Blob {
  std::vector<int8_t> bytes;
  uint64_t size = 0;
  int8_t *p() {
    return reinterpret_cast<int8_t *>(
        (reinterpret_cast<uintptr_t>(bytes.data()) + 63) & ~uintptr_t(63));
  }
};

bool packAs(uint32_t format, const std::vector<float> &w, int64_t k, int64_t n,
            uint32_t flags, Blob &b) {
  std::string err;
  pack::Layout l;
  bool ok;
  if (format == TFC_PACK_F32) {
    ok = pack::layoutOf(format, k, n, 0, flags, l, err);
    b.bytes.assign(l.total + 64, 0);
    ok = ok && pack::packF32(w.data(), k, n, false, flags, b.p(), l.total, err);
  } else {
    uint64_t nnz = pack::sparseNnz(format, w.data(), k, n, false);
    ok = pack::sparseLayoutOf(format, k, n, 0, flags, nnz, l, err);
    b.bytes.assign(l.total + 64, 0);
    ok = ok && pack::packSparse(format, w.data(), k, n, false, flags, b.p(),
                                l.total, err);
  }
  b.size = l.total;
  if (!ok)
    std::fprintf(stderr, "pack: %s\n", err.c_str());
  return ok;
}

/// w as symmetric per-channel int8 codes (|w| <= 1: scale 1/127; a
/// nonzero weight keeps a nonzero code), packed dense W8 or MASK_W8.
bool packW8As(bool sparse, const std::vector<float> &w, int64_t k, int64_t n,
              uint32_t flags, Blob &b) {
  std::vector<int8_t> q(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    int v = static_cast<int>(std::lround(w[i] * 127.0f));
    if (v == 0 && w[i] != 0.0f)
      v = w[i] > 0 ? 1 : -1;
    q[i] = static_cast<int8_t>(v);
  }
  std::vector<float> scales(n, 1.0f / 127);
  std::string err;
  pack::Layout l;
  bool ok;
  if (sparse) {
    ok = pack::sparseLayoutOf(TFC_PACK_SPARSE_MASK_W8, k, n, 0, flags,
                              pack::sparseW8Nnz(q.data(), k, n), l, err);
    b.bytes.assign(l.total + 64, 0);
    ok = ok && pack::packSparseW8(q.data(), scales.data(), k, n, 0, flags,
                                  b.p(), l.total, err);
  } else {
    ok = pack::layoutOf(TFC_PACK_W8, k, n, 0, flags, l, err);
    b.bytes.assign(l.total + 64, 0);
    ok = ok &&
         pack::packWeightOnly(TFC_PACK_W8, q.data(), scales.data(), nullptr, k,
                              n, 0, false, flags, b.p(), l.total, err);
  }
  b.size = l.total;
  if (!ok)
    std::fprintf(stderr, "pack: %s\n", err.c_str());
  return ok;
}

struct Shape {
  const char *name;
  int64_t k, n;
  bool gated;
};

struct Variant {
  const char *name;
  uint32_t format;
  double sparsity; // < 0: 2:4
};

} // namespace

int main(int argc, char **argv) {
  double ms = 300;
  int threads = 1;
  bool csv = false;
  bool hot = false; // --hot: m <= 4 reuses one blob (kernel speed, no DRAM)
  bool w8 = false;  // --w8: dense W8 against MASK_W8
  std::string only; // --shape: only shapes whose name contains it
  std::vector<int64_t> msList = {1, 16, 128};
  isa::Level level = isa::features().level;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--ms" && i + 1 < argc)
      ms = std::atof(argv[++i]);
    else if (a == "--shape" && i + 1 < argc)
      only = argv[++i];
    else if (a == "--csv")
      csv = true;
    else if (a == "--hot")
      hot = true;
    else if (a == "--w8")
      w8 = true;
    else if (a == "--ms-list" && i + 1 < argc) {
      msList.clear();
      for (char *s = argv[++i]; *s;) {
        msList.push_back(std::strtoll(s, &s, 10));
        if (*s == ',')
          ++s;
      }
    } else if (a == "--isa" && i + 1 < argc) {
      std::string v = argv[++i];
      level = v == "avx512" ? isa::Level::Avx512
              : v == "avx2" ? isa::Level::Avx2
                            : isa::Level::Generic;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--threads N] [--isa L] [--ms T] "
                   "[--ms-list 1,16,128] [--shape S] [--csv] [--hot] [--w8]\n",
                   argv[0]);
      return 2;
    }
  }
  tfc_set_num_threads(threads);
  std::printf("# %s, level %s, %d thread(s), %.0f ms per case%s\n",
              isa::cpuName(), isa::name(level), threads, ms,
              w8 ? ", dense w8 against sparse-mask-w8" : "");
  const Shape shapes[] = {
      {"smollm2.q", 576, 576, false},       {"smollm2.kv", 576, 192, false},
      {"smollm2.gate_up", 576, 3072, true}, {"smollm2.down", 1536, 576, false},
      {"minilm.qkvo", 384, 384, false},     {"minilm.up", 384, 1536, false},
      {"minilm.down", 1536, 384, false}};
  const Variant variants[] = {{"mask50", TFC_PACK_SPARSE_MASK, 0.5},
                              {"mask70", TFC_PACK_SPARSE_MASK, 0.7},
                              {"mask80", TFC_PACK_SPARSE_MASK, 0.8},
                              {"mask90", TFC_PACK_SPARSE_MASK, 0.9},
                              {"2:4", TFC_PACK_SPARSE_24, -1},
                              {"mask2:4", TFC_PACK_SPARSE_MASK, -1}};
  std::printf(csv ? "shape,k,n,m,variant,dense_us,sparse_us,speedup,"
                    "bytes_ratio\n"
                  : "%-16s %5s %5s %4s %-8s %10s %10s %8s %6s\n",
              "shape", "k", "n", "m", "variant", "dense_us", "sparse_us",
              "speedup", "bytes");
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_real_distribution<double> p(0.0, 1.0);
  for (const Shape &s : shapes) {
    if (!only.empty() && std::string(s.name).find(only) == std::string::npos)
      continue;
    const uint32_t flags = s.gated ? TFC_PACK_FLAG_GATED : 0u;
    const int64_t nOut = s.gated ? s.n / 2 : s.n;
    for (const Variant &v : variants) {
      if (w8 && (v.sparsity < 0 || v.format != TFC_PACK_SPARSE_MASK))
        continue;
      std::vector<float> w(s.k * s.n);
      for (float &x : w)
        x = u(rng);
      if (v.sparsity >= 0) {
        for (float &x : w)
          if (p(rng) < v.sparsity)
            x = 0.0f;
      } else {
        for (int64_t c = 0; c < s.n; ++c)
          for (int64_t g = 0; g < s.k; g += 4) {
            int keep[4] = {0, 1, 2, 3};
            std::shuffle(keep, keep + 4, rng);
            for (int j = 2; j < 4; ++j)
              w[(g + keep[j]) * s.n + c] = 0.0f;
          }
      }
      for (int64_t m : msList) {
        // Copies: enough to leave the caches for decode.
        const double denseBytes = double(s.k) * s.n * (w8 ? 1 : 4);
        const int copies =
            m <= 4 && !hot ? std::max(1, int(192e6 / denseBytes) + 1) : 1;
        std::vector<Blob> dense(copies), sparse(copies);
        bool ok = true;
        for (int c = 0; c < copies; ++c)
          ok = ok && (w8 ? packW8As(false, w, s.k, s.n, flags, dense[c]) &&
                               packW8As(true, w, s.k, s.n, flags, sparse[c])
                         : packAs(TFC_PACK_F32, w, s.k, s.n, flags, dense[c]) &&
                               packAs(v.format, w, s.k, s.n, flags, sparse[c]));
        if (!ok)
          return 1;
        std::vector<float> x(m * s.k), y(m * nOut);
        for (float &e : x)
          e = u(rng);
        tfcrt_memref3_f32 xd = {
            x.data(), x.data(), 0, {1, m, s.k}, {m * s.k, s.k, 1}};
        tfcrt_memref3_f32 yd = {
            y.data(), y.data(), 0, {1, m, nOut}, {m * nOut, nOut, 1}};
        tfcrt_memref1_f32 none1 = {};
        tfcrt_memref3_f32 none3 = {};
        const int64_t act = s.gated ? TFCRT_ACT_SILU : TFCRT_ACT_NONE;
        auto call = [&](Blob &b) {
          tfcrt_memref1_i8 wd = {b.p(), b.p(), 0, {(int64_t)b.size}, {1}};
          const double t0 = now();
          linear::linearAt(level, &xd, &wd, &none1, &none3, &yd, act);
          return now() - t0;
        };
        std::vector<double> td, ts;
        const double end = now() + ms / 1e3;
        int c = 0;
        for (int warm = 0; warm < 2; ++warm) {
          call(dense[0]);
          call(sparse[0]);
        }
        while (now() < end || td.size() < 5) {
          td.push_back(call(dense[c]));
          ts.push_back(call(sparse[c]));
          c = (c + 1) % copies;
        }
        std::sort(td.begin(), td.end());
        std::sort(ts.begin(), ts.end());
        const double md = td[td.size() / 2] * 1e6,
                     msp = ts[ts.size() / 2] * 1e6;
        const double ratio = double(sparse[0].size) / double(dense[0].size);
        std::printf(csv ? "%s,%lld,%lld,%lld,%s,%.2f,%.2f,%.3f,%.3f\n"
                        : "%-16s %5lld %5lld %4lld %-8s %10.2f %10.2f %8.2f "
                          "%6.3f\n",
                    s.name, (long long)s.k, (long long)s.n, (long long)m,
                    v.name, md, msp, md / msp, ratio);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
