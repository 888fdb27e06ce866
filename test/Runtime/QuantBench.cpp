//===- QuantBench.cpp - speed of the quantized linear formats -------------===//
//
// Built only with -DTFC_BUILD_BENCH=ON (target tfcrt-quant-bench).
//   tfcrt-quant-bench [--threads N] [--ms T] [--hot] [--best]
//                     [--only bf16|w8|w4|f32] [--impl NAME] [mem] [s8]
//                     [decode] [prefill]
//                     [accuracy] [stack]
//   mem     memcpy and read-only bandwidth (16 MB pieces of 512 MB)
//   s8      GOP/s of TFC_PACK_S8 per level at MiniLM shapes vs f32
//           (tfcrt::gemm::run on the same shapes)
//   decode  ns per call and GB/s of packed bytes for W8 / W4 (both
//           strategies), BF16 and f32 at m = 1, 4; weights rotate over
//           copies of > 256 MB in all, so every call streams from DRAM
//           (--hot: one copy, so small shapes run from cache: the kernels'
//           compute speed)
//   prefill GOP/s at m = 64 (a prompt) for the same formats vs f32
//   accuracy  output error of the two W8 / W4 activation strategies
//   stack   SmolLM2-135M's 30 layers (7 linears each) + the 576 x 49152 LM
//           head at m = 1: ms per token
// Work is split into tasks of (row block x panel range) over the runtime's
// thread pool as the tfcrt_linear driver does (at least ~64 KB of weights
// a task). Each figure is the median of repeated timed runs (--best: the
// fastest run, for a busy machine).
//
//===----------------------------------------------------------------------===//

#include "Gemm/Gemm.h"
#include "Internal.h"
#include "Linear/FormatQuant.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#if defined(__GNUC__) && !defined(__clang__) // GCC 12's AVX-512 headers
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

using namespace tfcrt;
using namespace tfcrt::linear;
using namespace tfcrt::linear::quant;

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double gMs = 300;   // time per measurement
bool gHot = false;  // decode: one copy of each weight (in cache if small)
bool gBest = false; // report the best run instead of the median
std::string gOnly;  // decode / stack: only this format (bf16, w8, w4, f32)
std::string gImpl;  // decode / stack: only kernels whose name contains it

struct Timing {
  double median, best;
};

/// Runs fn repeatedly for about gMs (at least 3 times after one warm-up).
template <typename F> Timing timeIt(F &&fn) {
  fn();
  std::vector<double> t;
  const double end = now() + gMs * 1e-3;
  while (t.size() < 3 || (now() < end && t.size() < 100000)) {
    const double t0 = now();
    fn();
    t.push_back(now() - t0);
  }
  std::sort(t.begin(), t.end());
  return {gBest ? t[0] : t[t.size() / 2], t[0]};
}

const char *formatName(uint32_t format) {
  return format == TFC_PACK_BF16 ? "bf16" : format == TFC_PACK_W8 ? "w8" : "w4";
}
bool wanted(const char *name) { return gOnly.empty() || gOnly == name; }

struct Aligned {
  std::unique_ptr<unsigned char[]> mem;
  unsigned char *p = nullptr;
  size_t size = 0;
  explicit Aligned(size_t n) : mem(new unsigned char[n + 64]), size(n) {
    p = alignScratch(mem.get());
    std::memset(p, 0, n);
  }
};

//===-- running a format as the driver does -------------------------------===//

void runFormat(const FormatImpl &f, const tfc_pack_header &h, const Rows &x,
               unsigned char *scratch, float *out, int64_t ldo) {
  const int threads = tfc_get_num_threads();
  if (f.prepare) {
    const int64_t chunks = x.m >= 64 ? threads * 4 : 1;
    parallelRun(chunks, [&](int64_t t) {
      f.prepare(h, x, x.m * t / chunks, x.m * (t + 1) / chunks, scratch);
    });
  }
  const int64_t np = ceilDiv(h.n, h.panel);
  const int64_t rowTasks = ceilDiv(x.m, f.rowBlock);
  // At least ~64 KB of weights (or 64 rows) a task: a smaller split costs
  // more in wake-ups than it saves (SmolLM2's k / v projections are 60 KB
  // in W4).
  const int64_t minTasks = std::max<int64_t>(
      1, static_cast<int64_t>(h.total_bytes >> 16) / rowTasks);
  const int64_t panelTasks =
      std::max<int64_t>(1, std::min({np, ceilDiv(threads * 4, rowTasks),
                                     x.m >= 64 ? np : minTasks}));
  parallelRun(rowTasks * panelTasks, [&](int64_t t) {
    const int64_t rb = t / panelTasks, pt = t % panelTasks;
    const int64_t i0 = rb * f.rowBlock, i1 = std::min(x.m, i0 + f.rowBlock);
    const int64_t q0 = np * pt / panelTasks, q1 = np * (pt + 1) / panelTasks;
    if (q0 < q1)
      f.compute(h, x, scratch, i0, i1, q0, q1, out + i0 * ldo + q0 * h.panel,
                ldo);
  });
}

/// A packed blob of random content for `format` (W8/W4 with group 32,
/// symmetric; S8 dynamic).
Aligned makeBlob(uint32_t format, int64_t k, int64_t n, std::mt19937 &rng) {
  pack::Layout l;
  std::string err;
  const int64_t group = format == TFC_PACK_W8 || format == TFC_PACK_W4 ? 32 : 0;
  if (!pack::quantLayoutOf(format, k, n, group, 0, l, err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    std::exit(1);
  }
  Aligned blob(l.total);
  std::uniform_int_distribution<int> code(format == TFC_PACK_W4 ? 0 : -127,
                                          format == TFC_PACK_W4 ? 15 : 127);
  std::vector<int8_t> q(k * n);
  for (int8_t &v : q)
    v = static_cast<int8_t>(code(rng));
  std::vector<float> s(ceilDiv(k, 32) * n, 0.01f), w;
  bool ok = false;
  if (format == TFC_PACK_BF16) {
    w.resize(k * n);
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = q[i] * 0.01f;
    ok = pack::packBf16(w.data(), k, n, false, 0, blob.p, l.total, err);
  } else if (format == TFC_PACK_S8) {
    ok = pack::packS8(q.data(), s.data(), k, n, false, 0, 0, 0, blob.p, l.total,
                      err);
  } else {
    ok = pack::packWeightOnly(format, q.data(), s.data(), nullptr, k, n, group,
                              false, 0, blob.p, l.total, err);
  }
  if (!ok) {
    std::fprintf(stderr, "packing: %s\n", err.c_str());
    std::exit(1);
  }
  return blob;
}

std::vector<float> randomRows(int64_t m, int64_t k, std::mt19937 &rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> x(m * k);
  for (float &v : x)
    v = d(rng);
  return x;
}

//===-- mem ---------------------------------------------------------------===//

__attribute__((target("avx512f"))) float readAvx512(const float *p, size_t n) {
  __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                 _mm512_setzero_ps()};
  for (size_t i = 0; i + 64 <= n; i += 64)
    for (int j = 0; j < 4; ++j)
      a[j] = _mm512_add_ps(a[j], _mm512_load_ps(p + i + 16 * j));
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])));
}

/// memcpy and read bandwidth, timed per 16 MB chunk of a 512 MB buffer
/// (chunks rotate, so every one comes from DRAM): short timed pieces, so
/// that --best means something on a busy machine.
void benchMem() {
  const size_t bytes = size_t(512) << 20, chunk = size_t(16) << 20;
  Aligned a(bytes), b(bytes);
  std::memset(a.p, 1, bytes);
  const int threads = tfc_get_num_threads();
  size_t at = 0;
  auto copy = [&] {
    parallelRun(threads, [&](int64_t t) {
      const size_t lo = chunk * t / threads, hi = chunk * (t + 1) / threads;
      std::memcpy(b.p + at + lo, a.p + at + lo, hi - lo);
    });
    at = (at + chunk) % bytes;
  };
  Timing tc = timeIt(copy);
  std::printf("memcpy %d thread(s): %.1f GB/s copied (best %.1f)\n", threads,
              chunk / tc.median / 1e9, chunk / tc.best / 1e9);
  if (!isa::supported(isa::Level::Avx512))
    return;
  float sink = 0;
  auto read = [&] {
    parallelRun(threads, [&](int64_t t) {
      const size_t lo = chunk / 4 * t / threads,
                   hi = chunk / 4 * (t + 1) / threads;
      sink +=
          readAvx512(reinterpret_cast<const float *>(a.p + at) + lo, hi - lo);
    });
    at = (at + chunk) % bytes;
  };
  Timing tr = timeIt(read);
  std::printf("read   %d thread(s): %.1f GB/s (best %.1f)%s\n", threads,
              chunk / tr.median / 1e9, chunk / tr.best / 1e9,
              sink == 1.0f ? " " : "");
}

//===-- s8 ----------------------------------------------------------------===//

struct Impl {
  const char *name;
  const FormatImpl *f;
};

bool cpuHas(const char *what) {
  if (!std::strcmp(what, "vnni"))
    return isa::supported(isa::Level::Avx512) &&
           __builtin_cpu_supports("avx512vnni");
  return isa::supported(isa::Level::Avx512) &&
         __builtin_cpu_supports("avx512bf16");
}

void benchS8() {
  std::mt19937 rng(1);
  const int64_t shapes[3][2] = {{384, 384}, {384, 1536}, {1536, 384}};
  std::vector<Impl> impls;
  if (cpuHas("vnni"))
    impls.push_back({"s8 avx512-vnni", s8Avx512Vnni()});
  if (isa::supported(isa::Level::Avx2))
    impls.push_back({"s8 avx2", s8Avx2()});
  impls.push_back({"s8 generic", s8Generic()});
  std::printf("\nS8 GOP/s (%d thread(s)), m x k x n; f32 = gemm::run\n",
              tfc_get_num_threads());
  for (int64_t m : {128, 4096})
    for (const auto &sh : shapes) {
      const int64_t k = sh[0], n = sh[1];
      const double ops = 2.0 * m * k * n;
      const std::vector<float> x = randomRows(m, k, rng);
      Aligned blob = makeBlob(TFC_PACK_S8, k, n, rng);
      const tfc_pack_header &h =
          *reinterpret_cast<const tfc_pack_header *>(blob.p);
      std::vector<float> out(m * ceilDiv(n, 16) * 16);
      Rows r;
      r.x = x.data();
      r.m = m;
      r.k = k;
      r.sm = k;
      std::printf("%5lld x %4lld x %4lld:", (long long)m, (long long)k,
                  (long long)n);
      for (const Impl &im : impls) {
        if (!im.f || (m > 128 && !std::strcmp(im.name, "s8 generic")))
          continue;
        Aligned scratch(im.f->scratchBytes(h, m));
        Timing t = timeIt([&] {
          runFormat(*im.f, h, r, scratch.p, out.data(), ceilDiv(n, 16) * 16);
        });
        std::printf("  %s %6.1f", im.name, ops / t.median / 1e9);
      }
      std::vector<float> w = randomRows(k, n, rng);
      for (gemm::Isa gi : {gemm::Isa::Avx512, gemm::Isa::Avx2}) {
        if (!gemm::isaSupported(gi))
          continue;
        gemm::Problem p;
        p.m = m;
        p.n = n;
        p.k = k;
        p.a = x.data();
        p.sam = k;
        p.sak = 1;
        p.b = w.data();
        p.sbk = n;
        p.sbn = 1;
        p.c = out.data();
        p.scm = n;
        p.scn = 1;
        Timing t = timeIt([&] { gemm::run(p, gi); });
        std::printf("  f32 %s %6.1f", gemm::isaName(gi), ops / t.median / 1e9);
      }
      std::printf("\n");
    }
}

//===-- decode ------------------------------------------------------------===//

/// Copies of one blob totalling more than the caches (>= 256 MB).
struct Rotation {
  std::vector<Aligned> blobs;
  size_t next = 0;
  Rotation(uint32_t format, int64_t k, int64_t n, std::mt19937 &rng) {
    Aligned first = makeBlob(format, k, n, rng);
    const size_t copies =
        gHot ? 1 : std::max<size_t>(2, (size_t(256) << 20) / first.size + 1);
    for (size_t c = 1; c < copies; ++c) {
      Aligned b(first.size);
      std::memcpy(b.p, first.p, first.size);
      blobs.push_back(std::move(b));
    }
    blobs.push_back(std::move(first));
  }
  const tfc_pack_header &take() {
    const Aligned &b = blobs[next];
    next = (next + 1) % blobs.size();
    return *reinterpret_cast<const tfc_pack_header *>(b.p);
  }
  size_t bytes() const { return blobs[0].size; }
};

std::vector<Impl> decodeImplsAll(uint32_t format);
std::vector<Impl> decodeImpls(uint32_t format) {
  std::vector<Impl> v;
  for (const Impl &im : decodeImplsAll(format))
    if (gImpl.empty() || std::strstr(im.name, gImpl.c_str()))
      v.push_back(im);
  return v;
}

std::vector<Impl> decodeImplsAll(uint32_t format) {
  std::vector<Impl> v;
  const bool a512 = isa::supported(isa::Level::Avx512),
             a2 = isa::supported(isa::Level::Avx2);
  if (format == TFC_PACK_BF16) {
    if (cpuHas("bf16"))
      v.push_back({"avx512-bf16", bf16Avx512Bf16()});
    if (a2)
      v.push_back({"avx2", bf16Avx2()});
    return v;
  }
  if (cpuHas("vnni"))
    v.push_back({"avx512 int8act", wAvx512(format, WStrategy::Int8Act)});
  if (a512)
    v.push_back({"avx512 f32act", wAvx512(format, WStrategy::F32Act)});
  if (a2) {
    v.push_back({"avx2 int8act", wAvx2(format, WStrategy::Int8Act)});
    v.push_back({"avx2 f32act", wAvx2(format, WStrategy::F32Act)});
  }
  return v;
}

/// The f32 baseline for decode until the TFC_PACK_F32 kernel lands: W
/// packed as that format's panels [ceil(n/32)][k][32], each streamed once
/// for all m (<= 4) rows with 2 zmm per row and k unrolled by 2 -- as fast
/// as a plain read loop on this machine.
template <int M>
__attribute__((target("avx512f,fma"))) void
f32PanelGemv(const float *x, int64_t k, const float *w, int64_t np, float *out,
             int64_t ldo) {
  for (int64_t p = 0; p < np; ++p) {
    const float *wp = w + p * k * 32;
    __m512 acc[M][4];
    for (int r = 0; r < M; ++r)
      for (int v = 0; v < 4; ++v)
        acc[r][v] = _mm512_setzero_ps();
    int64_t kk = 0;
    for (; kk + 2 <= k; kk += 2) {
      const __m512 b0 = _mm512_load_ps(wp + kk * 32),
                   b1 = _mm512_load_ps(wp + kk * 32 + 16),
                   b2 = _mm512_load_ps(wp + kk * 32 + 32),
                   b3 = _mm512_load_ps(wp + kk * 32 + 48);
      for (int r = 0; r < M; ++r) {
        const __m512 a0 = _mm512_set1_ps(x[r * k + kk]),
                     a1 = _mm512_set1_ps(x[r * k + kk + 1]);
        acc[r][0] = _mm512_fmadd_ps(a0, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(a0, b1, acc[r][1]);
        acc[r][2] = _mm512_fmadd_ps(a1, b2, acc[r][2]);
        acc[r][3] = _mm512_fmadd_ps(a1, b3, acc[r][3]);
      }
    }
    for (; kk < k; ++kk)
      for (int r = 0; r < M; ++r) {
        const __m512 a = _mm512_set1_ps(x[r * k + kk]);
        acc[r][0] = _mm512_fmadd_ps(a, _mm512_load_ps(wp + kk * 32), acc[r][0]);
        acc[r][1] =
            _mm512_fmadd_ps(a, _mm512_load_ps(wp + kk * 32 + 16), acc[r][1]);
      }
    for (int r = 0; r < M; ++r) {
      _mm512_storeu_ps(out + r * ldo + p * 32,
                       _mm512_add_ps(acc[r][0], acc[r][2]));
      _mm512_storeu_ps(out + r * ldo + p * 32 + 16,
                       _mm512_add_ps(acc[r][1], acc[r][3]));
    }
  }
}

/// One f32 panel product split over the threads by panels (m 1 or 4).
void f32PanelRun(int64_t m, const float *x, int64_t k, const float *w,
                 int64_t np, float *out) {
  const int64_t tasks = std::min<int64_t>(np, tfc_get_num_threads() * 4);
  parallelRun(tasks, [&](int64_t t) {
    const int64_t q0 = np * t / tasks, q1 = np * (t + 1) / tasks;
    if (m == 1)
      f32PanelGemv<1>(x, k, w + q0 * k * 32, q1 - q0, out + q0 * 32, np * 32);
    else
      f32PanelGemv<4>(x, k, w + q0 * k * 32, q1 - q0, out + q0 * 32, np * 32);
  });
}

/// f32 panels over rotating copies.
Timing f32Decode(int64_t m, int64_t k, int64_t n, std::mt19937 &rng,
                 size_t &bytes) {
  const int64_t np = ceilDiv(n, 32);
  std::vector<float> x = randomRows(m, k, rng), out(m * np * 32);
  bytes = size_t(k) * np * 32 * 4;
  const size_t copies =
      gHot ? 1 : std::max<size_t>(2, (size_t(256) << 20) / bytes + 1);
  std::vector<Aligned> ws;
  for (size_t c = 0; c < copies; ++c)
    ws.emplace_back(bytes);
  size_t next = 0;
  return timeIt([&] {
    const float *w = reinterpret_cast<const float *>(ws[next].p);
    next = (next + 1) % copies;
    f32PanelRun(m, x.data(), k, w, np, out.data());
  });
}

void benchDecode() {
  std::mt19937 rng(2);
  const int64_t shapes[5][2] = {
      {576, 192}, {576, 576}, {576, 1536}, {1536, 576}, {576, 49152}};
  std::printf("\nDecode (%d thread(s)): us per call [GB/s of weight bytes], "
              "weights streamed from DRAM\n",
              tfc_get_num_threads());
  for (int64_t m : {1, 4})
    for (const auto &sh : shapes) {
      const int64_t k = sh[0], n = sh[1];
      std::printf("m %lld  %4lld x %5lld\n", (long long)m, (long long)k,
                  (long long)n);
      const std::vector<float> x = randomRows(m, k, rng);
      Rows r;
      r.x = x.data();
      r.m = m;
      r.k = k;
      r.sm = k;
      std::vector<float> out(m * (ceilDiv(n, 32) * 32));
      if (isa::supported(isa::Level::Avx512) && wanted("f32")) {
        size_t bytes;
        Timing t = f32Decode(m, k, n, rng, bytes);
        std::printf("    f32  %-18s %9.1f us [%5.1f GB/s]\n", "avx512 panels",
                    t.median * 1e6, bytes / t.median / 1e9);
      }
      for (uint32_t format : {TFC_PACK_BF16, TFC_PACK_W8, TFC_PACK_W4}) {
        if (!wanted(formatName(format)))
          continue;
        Rotation rot(format, k, n, rng);
        for (const Impl &im : decodeImpls(format)) {
          if (!im.f)
            continue;
          const tfc_pack_header &h0 = rot.take();
          Aligned scratch(im.f->scratchBytes(h0, m));
          Timing t = timeIt([&] {
            runFormat(*im.f, rot.take(), r, scratch.p, out.data(),
                      ceilDiv(n, 32) * 32);
          });
          std::printf("    %-4s %-18s %9.1f us [%5.1f GB/s]\n",
                      format == TFC_PACK_BF16 ? "bf16"
                      : format == TFC_PACK_W8 ? "w8"
                                              : "w4",
                      im.name, t.median * 1e6, rot.bytes() / t.median / 1e9);
        }
      }
    }
}

//===-- prefill -----------------------------------------------------------===//

/// m = 64 (a prompt with w4 / w8 weights): GOP/s with the weights in
/// cache, against f32 gemm::run on the same shapes.
void benchPrefill() {
  std::mt19937 rng(4);
  const int64_t m = 64;
  const int64_t shapes[3][2] = {{576, 576}, {576, 1536}, {1536, 576}};
  std::printf("\nPrefill m = 64 (%d thread(s)): GOP/s, weights in cache\n",
              tfc_get_num_threads());
  for (const auto &sh : shapes) {
    const int64_t k = sh[0], n = sh[1];
    const double ops = 2.0 * m * k * n;
    const std::vector<float> x = randomRows(m, k, rng);
    Rows r;
    r.x = x.data();
    r.m = m;
    r.k = k;
    r.sm = k;
    std::vector<float> out(m * (ceilDiv(n, 32) * 32));
    std::printf("%4lld x %4lld:", (long long)k, (long long)n);
    for (uint32_t format : {TFC_PACK_BF16, TFC_PACK_W8, TFC_PACK_W4}) {
      Aligned blob = makeBlob(format, k, n, rng);
      const tfc_pack_header &h =
          *reinterpret_cast<const tfc_pack_header *>(blob.p);
      for (const Impl &im : decodeImpls(format)) {
        if (!im.f)
          continue;
        Aligned scratch(im.f->scratchBytes(h, m));
        Timing t = timeIt([&] {
          runFormat(*im.f, h, r, scratch.p, out.data(), ceilDiv(n, 32) * 32);
        });
        std::printf("  %s %s %.1f",
                    format == TFC_PACK_BF16 ? "bf16"
                    : format == TFC_PACK_W8 ? "w8"
                                            : "w4",
                    im.name, ops / t.median / 1e9);
      }
    }
    std::vector<float> w = randomRows(k, n, rng);
    for (gemm::Isa gi : {gemm::Isa::Avx512, gemm::Isa::Avx2}) {
      if (!gemm::isaSupported(gi))
        continue;
      gemm::Problem p;
      p.m = m;
      p.n = n;
      p.k = k;
      p.a = x.data();
      p.sam = k;
      p.sak = 1;
      p.b = w.data();
      p.sbk = n;
      p.sbn = 1;
      p.c = out.data();
      p.scm = n;
      p.scn = 1;
      Timing t = timeIt([&] { gemm::run(p, gi); });
      std::printf("  f32 %s %.1f", gemm::isaName(gi), ops / t.median / 1e9);
    }
    std::printf("\n");
  }
}

//===-- accuracy ----------------------------------------------------------===//

/// What quantizing the activations costs (Int8Act vs F32Act): RMS of the
/// output error relative to the RMS output, against the exact product of
/// the dequantized W4 / W8 weights with the f32 activations, for Gaussian
/// activations with a few large outliers (as in LLM hidden states).
void benchAccuracy() {
  std::mt19937 rng(5);
  const int64_t m = 8, k = 576, n = 1536;
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> x(m * k);
  for (float &v : x)
    v = nd(rng);
  for (int64_t i = 0; i < m; ++i)
    x[i * k + (i * 37) % k] = 40.0f;
  Rows r;
  r.x = x.data();
  r.m = m;
  r.k = k;
  r.sm = k;
  std::printf("\nAccuracy, %lld x %lld x %lld, Gaussian x with outliers: "
              "relative RMS error vs exact\n",
              (long long)m, (long long)k, (long long)n);
  for (uint32_t format : {TFC_PACK_W8, TFC_PACK_W4})
    for (int64_t group : {32, 128}) {
      const bool w4 = format == TFC_PACK_W4;
      std::uniform_int_distribution<int> code(w4 ? 0 : -128, w4 ? 15 : 127);
      std::vector<int8_t> q(k * n);
      for (int8_t &v : q)
        v = static_cast<int8_t>(code(rng));
      std::vector<float> sc(ceilDiv(k, group) * n);
      for (float &v : sc)
        v = 0.01f + 0.001f * nd(rng);
      pack::Layout l;
      std::string err;
      pack::quantLayoutOf(format, k, n, group, 0, l, err);
      Aligned blob(l.total);
      pack::packWeightOnly(format, q.data(), sc.data(), nullptr, k, n, group,
                           false, 0, blob.p, l.total, err);
      const tfc_pack_header &h =
          *reinterpret_cast<const tfc_pack_header *>(blob.p);
      std::vector<double> ref(m * n);
      double rms = 0;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double y = 0;
          for (int64_t kk = 0; kk < k; ++kk)
            y += double(x[i * k + kk]) * sc[(kk / group) * n + j] *
                 (q[kk * n + j] - (w4 ? 8 : 0));
          ref[i * n + j] = y;
          rms += y * y;
        }
      rms = std::sqrt(rms / (m * n));
      std::printf("  %s group %3lld:", w4 ? "w4" : "w8", (long long)group);
      for (WStrategy st : {WStrategy::Int8Act, WStrategy::F32Act}) {
        const FormatImpl *f = wGeneric(format, st);
        Aligned scratch(f->scratchBytes(h, m));
        std::vector<float> out(m * n);
        runFormat(*f, h, r, scratch.p, out.data(), n);
        double e = 0;
        for (int64_t i = 0; i < m * n; ++i)
          e += (out[i] - ref[i]) * (out[i] - ref[i]);
        std::printf("  %s %.2e",
                    st == WStrategy::Int8Act ? "int8act" : "f32act",
                    std::sqrt(e / (m * n)) / rms);
      }
      std::printf("\n");
    }
}

//===-- stack -------------------------------------------------------------===//

/// One variant of the stack: its name, bytes and how to run call i.
struct StackVariant {
  std::string name;
  size_t bytes = 0;
  std::function<void(size_t)> call;
  std::vector<double> best; // per call
  std::vector<double> tokens;
};

void benchStack() {
  std::mt19937 rng(3);
  // SmolLM2-135M: hidden 576, kv 192 (3 heads of 64), MLP 1536, 30 layers.
  const int64_t layer[7][2] = {{576, 576},  {576, 192},  {576, 192}, {576, 576},
                               {576, 1536}, {576, 1536}, {1536, 576}};
  const size_t calls = 30 * 7 + 1;
  auto shapeOf = [&](size_t i, int64_t &k, int64_t &n) {
    k = i < 210 ? layer[i % 7][0] : 576;
    n = i < 210 ? layer[i % 7][1] : 49152;
  };
  std::printf("\nSmolLM2-135M decode, m = 1, 30 layers x 7 linears + LM head "
              "576 x 49152 (%d thread(s)): ms per token [GB/s]\n",
              tfc_get_num_threads());
  const std::vector<float> x = randomRows(1, 1536, rng);
  std::vector<float> out(49152);
  std::vector<std::vector<Aligned>> store;
  store.reserve(4); // the variants hold references to its elements
  std::vector<Aligned> scratches;
  std::vector<StackVariant> vs;
  for (uint32_t format : {TFC_PACK_BF16, TFC_PACK_W8, TFC_PACK_W4}) {
    if (!wanted(formatName(format)))
      continue;
    store.emplace_back();
    std::vector<Aligned> &blobs = store.back();
    size_t bytes = 0;
    for (size_t i = 0; i < calls; ++i) {
      int64_t k, n;
      shapeOf(i, k, n);
      blobs.push_back(makeBlob(format, k, n, rng));
      bytes += blobs.back().size;
    }
    for (const Impl &im : decodeImpls(format)) {
      if (!im.f)
        continue;
      size_t sbytes = 0;
      for (const Aligned &b : blobs)
        sbytes = std::max(
            sbytes, im.f->scratchBytes(
                        *reinterpret_cast<const tfc_pack_header *>(b.p), 1));
      scratches.emplace_back(sbytes);
      unsigned char *scratch = scratches.back().p;
      const FormatImpl *f = im.f;
      StackVariant v;
      v.name = std::string(formatName(format)) + " " + im.name;
      v.bytes = bytes;
      v.call = [&blobs, f, scratch, &x, &out](size_t i) {
        const tfc_pack_header &h =
            *reinterpret_cast<const tfc_pack_header *>(blobs[i].p);
        Rows r;
        r.x = x.data();
        r.m = 1;
        r.k = h.k;
        r.sm = h.k;
        runFormat(*f, h, r, scratch, out.data(), 49152);
      };
      vs.push_back(std::move(v));
    }
  }
  // f32: the same matrices as TFC_PACK_F32-style panels.
  if (isa::supported(isa::Level::Avx512) && wanted("f32")) {
    store.emplace_back();
    std::vector<Aligned> &ws = store.back();
    StackVariant v;
    for (size_t i = 0; i < calls; ++i) {
      int64_t k, n;
      shapeOf(i, k, n);
      ws.emplace_back(size_t(k) * ceilDiv(n, 32) * 32 * 4);
      v.bytes += ws.back().size;
    }
    v.name = "f32 avx512 panels";
    v.call = [&ws, &x, &out, shapeOf](size_t i) {
      int64_t k, n;
      shapeOf(i, k, n);
      f32PanelRun(1, x.data(), k, reinterpret_cast<const float *>(ws[i].p),
                  ceilDiv(n, 32), out.data());
    };
    vs.push_back(std::move(v));
  }
  // Tokens of every variant in turn, so that all see the same machine
  // (a busy machine's load changes by the second). The median is of whole
  // tokens; the best (--best) sums each call's fastest time over the runs,
  // so that one descheduling does not spoil a token.
  for (StackVariant &v : vs)
    v.best.assign(calls, 1e30);
  const double end = now() + gMs * 1e-3 * vs.size();
  for (int it = 0; it < 4 || now() < end; ++it)
    for (StackVariant &v : vs) {
      const double t0 = now();
      for (size_t i = 0; i < calls; ++i) {
        const double c0 = now();
        v.call(i);
        v.best[i] = std::min(v.best[i], now() - c0);
      }
      if (it) // the first one warms up
        v.tokens.push_back(now() - t0);
    }
  for (StackVariant &v : vs) {
    std::sort(v.tokens.begin(), v.tokens.end());
    double sum = 0;
    for (double b : v.best)
      sum += b;
    const double t = gBest ? sum : v.tokens[v.tokens.size() / 2];
    std::printf("    %-24s %7.2f ms [%5.1f GB/s, %.0f MB]\n", v.name.c_str(),
                t * 1e3, v.bytes / t / 1e9, v.bytes / 1e6);
  }
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> what;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc)
      tfc_set_num_threads(std::atoi(argv[++i]));
    else if (a == "--hot")
      gHot = true;
    else if (a == "--best")
      gBest = true;
    else if (a == "--only" && i + 1 < argc)
      gOnly = argv[++i];
    else if (a == "--impl" && i + 1 < argc)
      gImpl = argv[++i];
    else if (a == "--ms" && i + 1 < argc)
      gMs = std::atof(argv[++i]);
    else if (a == "mem" || a == "s8" || a == "decode" || a == "prefill" ||
             a == "accuracy" || a == "stack")
      what.push_back(a);
    else {
      std::fprintf(
          stderr,
          "usage: tfcrt-quant-bench [--threads N] [--ms T] [--hot] [--best] "
          "[--only bf16|w8|w4|f32] [--impl NAME] "
          "[mem] "
          "[s8] [decode] [prefill] [accuracy] [stack]\n");
      return 2;
    }
  }
  if (what.empty())
    what = {"mem", "s8", "decode", "prefill", "accuracy", "stack"};
  std::printf("isa: %s (hardware %s), threads %d, %s of runs of %.0f ms\n",
              isa::describe(), isa::name(isa::hardwareLevel()),
              tfc_get_num_threads(), gBest ? "best" : "median", gMs);
  for (const std::string &w : what) {
    if (w == "mem")
      benchMem();
    else if (w == "s8")
      benchS8();
    else if (w == "decode")
      benchDecode();
    else if (w == "prefill")
      benchPrefill();
    else if (w == "accuracy")
      benchAccuracy();
    else
      benchStack();
  }
  return 0;
}
