//===- LinearBench.cpp - tfcrt_linear against the machine and the GEMM ----===//
//
// Built only with -DTFC_BUILD_BENCH=ON (target tfcrt-linear-bench).
//   tfcrt-linear-bench [--threads 1,2] [--isa avx512|avx2|generic] [--ms T]
//                      [--cpu-time] [--cold] [peak] [bw] [prefill] [decode]
//                      [epilogue]
// (no section names: the first four)
//   peak     fp32 FMA peak of one core, measured (independent FMA chains)
//   bw       memcpy (bytes copied / s) and a read-only vector sum (bytes
//            read / s) over 256 MB buffers, 1 and 2 threads
//   prefill  GFLOP/s of MiniLM-sized layers, m = 128 and 4096, plain and
//            with the bias + GELU / bias + residual epilogues, against
//            tfcrt::gemm::run (unpacked weights, bias, same ISA); the four
//            alternate call by call
//   decode   GB/s of weight bytes streamed, m = 1 and 4: "hot" reuses one
//            blob (it stays in L2/L3 when it fits), "cold" rotates through
//            copies totalling > 96 MB so each call reads from DRAM, as a
//            model's decode step does; the GEMM uses row-major B. The cold
//            runs of linear, GEMM and a plain vector read of the same bytes
//            alternate call by call (a fair comparison on a busy machine;
//            the read runs on the same threads as the kernels);
//            c/read = linear's cold median / the read loop's
//   epilogue the level's dense epilogue per activation on 1536 values in
//            L1, one thread: ns a value and lane FMAs at the measured peak
// Each figure is the best of repeated runs over --ms milliseconds (the
// median in parentheses where shown): the machine is shared.
//
//===----------------------------------------------------------------------===//

#include "Gemm/Gemm.h"
#include "Isa.h"
#include "Linear/LinearInternal.h"
#include "Linear/Pack.h"
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace tfcrt;

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// --cpu-time: one-thread runs timed by the thread's CPU clock, which
/// leaves out the time the thread was preempted (on a shared machine the
/// wall clock of a 10 ms call almost always includes someone else's slice).
bool useCpuClock = false;
double clockNow() {
  if (!useCpuClock)
    return now();
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

struct Timing {
  double best, median;
};
template <typename F> Timing timeIt(F &&fn, double budget) {
  fn();
  std::vector<double> times;
  const double start = now();
  while (times.size() < 5 || (now() - start < budget && times.size() < 2000)) {
    const double t0 = clockNow();
    fn();
    times.push_back(clockNow() - t0);
  }
  std::sort(times.begin(), times.end());
  return {times.front(), times[times.size() / 2]};
}

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float, FreeDeleter>;
Buffer alloc(size_t floats) {
  void *p = nullptr;
  if (posix_memalign(&p, 64, std::max<size_t>(floats, 16) * sizeof(float)))
    std::abort();
  std::memset(p, 0, floats * sizeof(float)); // touch every page
  return Buffer(static_cast<float *>(p));
}

//===-- peak and bandwidth ------------------------------------------------===//

#if defined(__x86_64__)
// Twelve named accumulators, each through an empty asm per step: the asm
// keeps every chain in a register and in order (without it clang rewrites
// the chains and measures half the machine), and named variables keep GCC
// from leaving an accumulator array on the stack (it then timed the store
// forwarding: 45 GFLOP/s for AVX2 where the linear kernel reaches 95).
#define TFC_PEAK_BODY(VEC, SET1, FMA, CONSTRAINT, LANES)                       \
  VEC c0 = SET1(0.000f), c1 = SET1(0.001f), c2 = SET1(0.002f),                 \
      c3 = SET1(0.003f), c4 = SET1(0.004f), c5 = SET1(0.005f),                 \
      c6 = SET1(0.006f), c7 = SET1(0.007f), c8 = SET1(0.008f),                 \
      c9 = SET1(0.009f), c10 = SET1(0.010f), c11 = SET1(0.011f);               \
  const VEC a = SET1(0.999f), b = SET1(0.0001f);                               \
  const double t0 = clockNow();                                                \
  for (long it = 0; it < iters; ++it) {                                        \
    c0 = FMA(c0, a, b);                                                        \
    c1 = FMA(c1, a, b);                                                        \
    c2 = FMA(c2, a, b);                                                        \
    c3 = FMA(c3, a, b);                                                        \
    c4 = FMA(c4, a, b);                                                        \
    c5 = FMA(c5, a, b);                                                        \
    c6 = FMA(c6, a, b);                                                        \
    c7 = FMA(c7, a, b);                                                        \
    c8 = FMA(c8, a, b);                                                        \
    c9 = FMA(c9, a, b);                                                        \
    c10 = FMA(c10, a, b);                                                      \
    c11 = FMA(c11, a, b);                                                      \
    __asm__ volatile("" : "+" CONSTRAINT(c0), "+" CONSTRAINT(c1),              \
                     "+" CONSTRAINT(c2), "+" CONSTRAINT(c3),                   \
                     "+" CONSTRAINT(c4), "+" CONSTRAINT(c5));                  \
    __asm__ volatile("" : "+" CONSTRAINT(c6), "+" CONSTRAINT(c7),              \
                     "+" CONSTRAINT(c8), "+" CONSTRAINT(c9),                   \
                     "+" CONSTRAINT(c10), "+" CONSTRAINT(c11));                \
  }                                                                            \
  const double t = clockNow() - t0;                                            \
  return 2.0 * LANES * 12 * iters / t / 1e9;

__attribute__((target("avx512f"))) double peakAvx512(long iters) {
  TFC_PEAK_BODY(__m512, _mm512_set1_ps, _mm512_fmadd_ps, "v", 16)
}
__attribute__((target("avx2,fma"))) double peakAvx2(long iters) {
  TFC_PEAK_BODY(__m256, _mm256_set1_ps, _mm256_fmadd_ps, "x", 8)
}
#undef TFC_PEAK_BODY
__attribute__((target("avx2"))) float sumAvx2(const float *p, size_t n) {
  __m256 s[8];
  for (int v = 0; v < 8; ++v)
    s[v] = _mm256_setzero_ps();
  for (size_t i = 0; i + 64 <= n; i += 64)
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v)
      s[v] = _mm256_add_ps(s[v], _mm256_load_ps(p + i + 8 * v));
  for (int v = 1; v < 8; ++v)
    s[0] = _mm256_add_ps(s[0], s[v]);
  alignas(32) float t[8];
  _mm256_store_ps(t, s[0]);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif

double measurePeak(isa::Level level) {
  double best = 0;
#if defined(__x86_64__)
  for (int r = 0; r < 7; ++r)
    best = std::max(best, level == isa::Level::Avx512 ? peakAvx512(20000000)
                                                      : peakAvx2(20000000));
#endif
  return best;
}

/// Best GB/s over `reps` runs of fn(t, threads) on `threads` threads.
template <typename F>
double bandwidth(int threads, double bytes, int reps, F &&fn) {
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    if (threads == 1) { // on this thread: the --cpu-time clock applies
      const double t0 = clockNow();
      fn(0, 1);
      best = std::max(best, bytes / (clockNow() - t0) / 1e9);
      continue;
    }
    std::vector<std::thread> pool;
    const double t0 = now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { fn(t, threads); });
    for (std::thread &th : pool)
      th.join();
    best = std::max(best, bytes / (now() - t0) / 1e9);
  }
  return best;
}

void runBandwidth() {
  const size_t floats = size_t(64) << 20; // 256 MB
  Buffer src = alloc(floats), dst = alloc(floats);
  for (size_t i = 0; i < floats; i += 1024)
    src.get()[i] = 1.0f;
  std::printf("\nmemory bandwidth (256 MB buffers, best of 10; 1 thread on "
              "the %s clock, 2 threads wall clock)\n",
              useCpuClock ? "thread CPU" : "wall");
  std::printf("%-8s %22s %22s\n", "threads", "memcpy GB/s (copied)",
              "read GB/s (vector sum)");
  for (int threads : {1, 2}) {
    const double copy = bandwidth(threads, floats * 4.0, 10, [&](int t, int T) {
      const size_t a = floats * t / T, b = floats * (t + 1) / T;
      std::memcpy(dst.get() + a, src.get() + a, (b - a) * sizeof(float));
    });
    volatile float sink = 0;
    double read = 0;
#if defined(__x86_64__)
    read = bandwidth(threads, floats * 4.0, 10, [&](int t, int T) {
      const size_t a = floats * t / T, b = floats * (t + 1) / T;
      sink = sink + sumAvx2(src.get() + a, b - a);
    });
#endif
    std::printf("%-8d %22.1f %22.1f\n", threads, copy, read);
  }
}

//===-- linear layers -----------------------------------------------------===//

/// Copies of a k x n f32 weight that add up to more than 96 MB (at least
/// 2), so that rotating through them reads each call's weight from DRAM.
int coldCopies(int64_t k, int64_t n) {
  return std::max(2, static_cast<int>(96e6 / (4.0 * k * n) + 0.999));
}

/// A packed weight (and copies, for the cold runs) plus the unpacked one.
struct Layer {
  int64_t k, n;
  std::vector<float> w; // [k, n]
  std::vector<std::unique_ptr<void, FreeDeleter>> blobs;
  std::vector<Buffer> wCopies; // for the GEMM's cold runs
  uint64_t bytes = 0;
  Layer(int64_t k_, int64_t n_, int copies) : k(k_), n(n_) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    w.resize(static_cast<size_t>(k * n));
    for (float &v : w)
      v = d(rng);
    pack::Layout l;
    std::string err;
    if (!pack::layoutOf(TFC_PACK_F32, k, n, 0, 0, l, err))
      std::abort();
    bytes = l.total;
    for (int c = 0; c < copies; ++c) {
      void *p = nullptr;
      if (posix_memalign(&p, 64, l.total) ||
          !pack::packF32(w.data(), k, n, false, 0, p, l.total, err))
        std::abort();
      blobs.emplace_back(p);
      Buffer b = alloc(w.size());
      std::memcpy(b.get(), w.data(), w.size() * sizeof(float));
      wCopies.push_back(std::move(b));
    }
  }
};

struct Operands {
  Buffer x, y, res, bias;
  Operands(int64_t m, int64_t k, int64_t n)
      : x(alloc(m * k)), y(alloc(m * n)), res(alloc(m * n)), bias(alloc(n)) {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    for (int64_t i = 0; i < m * k; ++i)
      x.get()[i] = d(rng);
    for (int64_t i = 0; i < m * n; ++i)
      res.get()[i] = d(rng);
    for (int64_t i = 0; i < n; ++i)
      bias.get()[i] = d(rng);
  }
};

enum Epi { kPlain, kGelu, kResidual };

void callLinear(isa::Level level, const Layer &L, int copy, Operands &o,
                int64_t m, Epi epi) {
  tfcrt_memref3_f32 x = {
      o.x.get(), o.x.get(), 0, {1, m, L.k}, {m * L.k, L.k, 1}};
  tfcrt_memref3_f32 y = {
      o.y.get(), o.y.get(), 0, {1, m, L.n}, {m * L.n, L.n, 1}};
  tfcrt_memref3_f32 res = {
      o.res.get(), o.res.get(), 0, {1, m, L.n}, {m * L.n, L.n, 1}};
  tfcrt_memref3_f32 none = {};
  int8_t *blob = static_cast<int8_t *>(L.blobs[copy].get());
  tfcrt_memref1_i8 w = {blob, blob, 0, {static_cast<int64_t>(L.bytes)}, {1}};
  tfcrt_memref1_f32 bias = {
      o.bias.get(), o.bias.get(), 0, {epi == kPlain ? 0 : L.n}, {1}};
  linear::linearAt(level, &x, &w, &bias, epi == kResidual ? &res : &none, &y,
                   epi == kGelu ? TFCRT_ACT_GELU : TFCRT_ACT_NONE);
}

void callGemm(gemm::Isa isa, const Layer &L, int copy, Operands &o, int64_t m,
              bool bias) {
  gemm::Problem p;
  p.m = m;
  p.n = L.n;
  p.k = L.k;
  p.a = o.x.get();
  p.sam = L.k;
  p.sak = 1;
  p.b = L.wCopies[copy].get();
  p.sbk = L.n;
  p.sbn = 1;
  p.c = o.y.get();
  p.scm = L.n;
  p.scn = 1;
  p.bias = bias ? o.bias.get() : nullptr;
  gemm::run(p, isa);
}

gemm::Isa gemmIsa(isa::Level l) {
  return l == isa::Level::Avx512 ? gemm::Isa::Avx512
         : l == isa::Level::Avx2 ? gemm::Isa::Avx2
                                 : gemm::Isa::Generic;
}

/// Best and median of each of several functions, run in turn call by call
/// so that all of them see the same neighbours.
template <size_t N>
std::vector<Timing> timeInterleaved(const std::function<void(int)> (&fns)[N],
                                    double budget) {
  std::vector<std::vector<double>> times(N);
  int call = 0;
  for (size_t f = 0; f < N; ++f)
    fns[f](call++);
  const double start = now();
  while (times[0].size() < 5 ||
         (now() - start < budget && times[0].size() < 2000)) {
    for (size_t f = 0; f < N; ++f) {
      const double t0 = clockNow();
      fns[f](call++);
      times[f].push_back(clockNow() - t0);
    }
  }
  std::vector<Timing> out;
  for (std::vector<double> &t : times) {
    std::sort(t.begin(), t.end());
    out.push_back({t.front(), t[t.size() / 2]});
  }
  return out;
}

/// --shape MxKxN (repeatable): the prefill section's shapes instead of
/// MiniLM's (e.g. SmolLM2's 53-token prefill: 53x576x3072).
std::vector<std::array<int64_t, 3>> customShapes;
/// --cold: the prefill section rotates through copies of the weight (> 96 MB
/// in all), so each call reads it from DRAM as a model's forward does.
bool prefillCold = false;

void runPrefill(isa::Level level, int threads, double budget, double peak) {
  std::printf("\nprefill, %s, %d thread(s): GFLOP/s best (median); "
              "%% of %d x the measured peak\n",
              isa::name(level), threads, threads);
  std::printf("%-22s %16s %8s %16s %16s %16s\n", "m x k x n", "linear", "%peak",
              "+bias+GELU", "+bias+residual", "gemm::run+bias");
  std::vector<std::array<int64_t, 3>> mkn = customShapes;
  if (mkn.empty())
    for (int64_t m : {int64_t(128), int64_t(4096)})
      for (const auto &kn : {std::array<int64_t, 2>{384, 384},
                             std::array<int64_t, 2>{384, 1536},
                             std::array<int64_t, 2>{1536, 384}})
        mkn.push_back({m, kn[0], kn[1]});
  for (const auto &s : mkn) {
      const int64_t m = s[0], k = s[1], n = s[2];
      const int copies = prefillCold ? coldCopies(k, n) : 1;
      Layer L(k, n, copies);
      Operands o(m, k, n);
      const double flops = 2.0 * m * k * n;
      auto gf = [&](Timing t) { return flops / t.best / 1e9; };
      auto gfm = [&](Timing t) { return flops / t.median / 1e9; };
      const std::function<void(int)> fns[4] = {
          [&](int c) { callLinear(level, L, c % copies, o, m, kPlain); },
          [&](int c) { callLinear(level, L, c % copies, o, m, kGelu); },
          [&](int c) { callLinear(level, L, c % copies, o, m, kResidual); },
          [&](int c) { callGemm(gemmIsa(level), L, c % copies, o, m, true); }};
      const std::vector<Timing> t = timeInterleaved(fns, 4 * budget);
      const Timing plain = t[0], gelu = t[1], resid = t[2], g = t[3];
      char label[64];
      std::snprintf(label, sizeof(label), "%lld x %lld x %lld", (long long)m,
                    (long long)k, (long long)n);
      std::printf("%-22s %7.1f (%6.1f) %7.1f%% %7.1f (%6.1f) %7.1f (%6.1f) "
                  "%7.1f (%6.1f)\n",
                  label, gf(plain), gfm(plain),
                  100.0 * gf(plain) / (peak * threads), gf(gelu), gfm(gelu),
                  gf(resid), gfm(resid), gf(g), gfm(g));
    }
}

/// Sums `bytes` of floats at `p` on the runtime's threads (the same pool
/// and thread count as the kernels).
float readAll(const void *p, uint64_t bytes) {
  struct Ctx {
    const float *p;
    uint64_t floats;
    int64_t parts;
    float sum[64];
  } ctx{static_cast<const float *>(p),
        bytes / 4,
        std::min(64, tfc_get_num_threads()),
        {}};
  tfcrt_parallel_for(
      ctx.parts,
      [](void *v, int64_t b, int64_t e) {
        Ctx &c = *static_cast<Ctx *>(v);
        for (int64_t t = b; t < e; ++t) {
          const uint64_t lo = c.floats * t / c.parts / 64 * 64;
          const uint64_t hi = c.floats * (t + 1) / c.parts / 64 * 64;
#if defined(__x86_64__)
          c.sum[t] = sumAvx2(c.p + lo, hi - lo);
#else
          c.sum[t] = hi > lo ? c.p[lo] : 0.0f;
#endif
        }
      },
      &ctx);
  return ctx.sum[0];
}

void runDecode(isa::Level level, int threads, double budget) {
  std::printf("\ndecode, %s, %d thread(s): GB/s of weights, best (median)\n"
              "hot: one blob again and again; cold: rotating copies (> 96 MB) "
              "so W comes from DRAM,\nlinear / gemm::run (row-major B) / a "
              "plain read of the same bytes interleaved call by call\n",
              isa::name(level), threads);
  std::printf("%-17s %6s %14s %14s | %14s %14s %14s %6s\n", "m x k x n", "MB",
              "hot", "gemm hot", "cold", "gemm cold", "read cold", "c/read");
  const int64_t shapes[][2] = {
      {576, 576}, {576, 1536}, {1536, 576}, {576, 49152}};
  for (const auto &s : shapes) {
    const int64_t k = s[0], n = s[1];
    const double mb = 4.0 * k * n / 1e6;
    const int copies = coldCopies(k, n);
    Layer L(k, n, copies);
    for (int64_t m : {int64_t(1), int64_t(4)}) {
      Operands o(m, k, n);
      auto gbs = [&](Timing t) { return L.bytes / t.best / 1e9; };
      auto gbm = [&](Timing t) { return L.bytes / t.median / 1e9; };
      const Timing hot =
          timeIt([&] { callLinear(level, L, 0, o, m, kPlain); }, budget);
      const Timing gh =
          timeIt([&] { callGemm(gemmIsa(level), L, 0, o, m, false); }, budget);
      volatile float sink = 0;
      const std::function<void(int)> fns[3] = {
          [&](int c) { callLinear(level, L, c % copies, o, m, kPlain); },
          [&](int c) { callGemm(gemmIsa(level), L, c % copies, o, m, false); },
          [&](int c) {
            sink = sink + readAll(L.blobs[c % copies].get(), L.bytes);
          }};
      const std::vector<Timing> cold = timeInterleaved(fns, 3 * budget);
      char label[64];
      std::snprintf(label, sizeof(label), "%lld x %lld x %lld", (long long)m,
                    (long long)k, (long long)n);
      std::printf("%-17s %6.1f %6.1f (%5.1f) %6.1f (%5.1f) | %6.1f (%5.1f) "
                  "%6.1f (%5.1f) %6.1f (%5.1f) %5.0f%%\n",
                  label, mb, gbs(hot), gbm(hot), gbs(gh), gbm(gh), gbs(cold[0]),
                  gbm(cold[0]), gbs(cold[1]), gbm(cold[1]), gbs(cold[2]),
                  gbm(cold[2]), 100.0 * gbm(cold[0]) / gbm(cold[2]));
    }
  }
}

/// `epilogue`: each activation of the level's dense epilogue (bias, no
/// residual) over 1536 L1-resident values (x ~ N(0, 2): GELU inputs of a
/// trained FFN stay within a few units), one thread: ns a value, and the
/// same time in lane FMAs at the measured peak (a k = 384 output costs 384:
/// the ratio is the activation's share of such a layer).
void runEpilogue(isa::Level level, double budget, double peak) {
  const linear::EpilogueKernels &epi = linear::epilogueFor(level);
  const int64_t n = 1536;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.f, 2.f);
  std::vector<float> acc(n), bias(n), y(n);
  for (int64_t i = 0; i < n; ++i) {
    acc[i] = dist(rng);
    bias[i] = 0.01f * dist(rng);
  }
  static const char *names[] = {"none", "gelu", "gelu_tanh", "silu", "relu"};
  std::printf("\nepilogue %s, 1 thread, bias, %lld values: ns a value "
              "(median of 7), lane FMAs at the measured peak\n",
              epi.name, (long long)n);
  for (int act = TFCRT_ACT_NONE; act <= TFCRT_ACT_RELU; ++act) {
    std::vector<double> per;
    for (int r = 0; r < 7; ++r) {
      int64_t reps = 0;
      const double t0 = clockNow();
      double t1 = t0;
      while (t1 - t0 < budget / 7) {
        for (int i = 0; i < 64; ++i)
          epi.dense(acc.data(), bias.data(), nullptr, y.data(), n, act);
        reps += 64;
        t1 = clockNow();
      }
      per.push_back((t1 - t0) * 1e9 / double(reps * n));
    }
    std::sort(per.begin(), per.end());
    std::printf("%-10s %7.3f ns  %6.1f lane FMAs\n", names[act], per[3],
                per[3] * peak / 2);
  }
}

} // namespace

int main(int argc, char **argv) {
  std::vector<int> threadCounts = {1, 2};
  isa::Level level = isa::hardwareLevel();
  double budget = 0.5;
  bool peak = false, bw = false, prefill = false, decode = false,
       epilogue = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threadCounts.clear();
      for (const char *p = argv[++i]; *p;) {
        threadCounts.push_back(std::atoi(p));
        while (*p && *p != ',')
          ++p;
        if (*p == ',')
          ++p;
      }
    } else if (a == "--isa" && i + 1 < argc) {
      const std::string v = argv[++i];
      level = v == "avx512" ? isa::Level::Avx512
              : v == "avx2" ? isa::Level::Avx2
                            : isa::Level::Generic;
    } else if (a == "--cold") {
      prefillCold = true;
    } else if (a == "--cpu-time") {
      useCpuClock = true;
    } else if (a == "--ms" && i + 1 < argc) {
      budget = std::atof(argv[++i]) / 1000.0;
    } else if (a == "--shape" && i + 1 < argc) {
      long long m = 0, k = 0, n = 0;
      if (std::sscanf(argv[++i], "%lldx%lldx%lld", &m, &k, &n) != 3 || m <= 0 ||
          k <= 0 || n <= 0) {
        std::fprintf(stderr, "--shape wants MxKxN, got '%s'\n", argv[i]);
        return 2;
      }
      customShapes.push_back({m, k, n});
    } else if (a == "peak") {
      peak = true;
    } else if (a == "bw") {
      bw = true;
    } else if (a == "prefill") {
      prefill = true;
    } else if (a == "decode") {
      decode = true;
    } else if (a == "epilogue") {
      epilogue = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--threads 1,2] [--isa avx512|avx2|generic] "
                   "[--ms T] [--cpu-time] [--shape MxKxN ...] [--cold] [peak] "
                   "[bw] [prefill] [decode] [epilogue]\n",
                   argv[0]);
      return 2;
    }
  }
  if (!peak && !bw && !prefill && !decode && !epilogue)
    peak = bw = prefill = decode = true;
  if (!isa::supported(level)) {
    std::fprintf(stderr, "ISA %s not supported here\n", isa::name(level));
    return 1;
  }
  double peakGf = 0;
  if (peak || prefill || epilogue) {
    peakGf =
        measurePeak(level == isa::Level::Generic ? isa::Level::Avx2 : level);
    std::printf("isa %s: measured single-core fp32 FMA peak %.1f GFLOP/s\n",
                isa::name(level), peakGf);
  }
  if (bw)
    runBandwidth();
  if (epilogue)
    runEpilogue(level, budget, peakGf);
  for (int threads : threadCounts) {
    if (useCpuClock && threads != 1) {
      std::printf("\n(--cpu-time: skipping %d threads)\n", threads);
      continue;
    }
    tfc_set_num_threads(threads);
    if (prefill)
      runPrefill(level, threads, budget, peakGf);
    if (decode)
      runDecode(level, threads, budget);
  }
  return 0;
}
