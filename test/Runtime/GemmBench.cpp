//===- GemmBench.cpp - GFLOP/s of libtfcrt's GEMM vs the machine's peak ---===//
//
// Built only with -DTFC_BUILD_BENCH=ON (target tfcrt-gemm-bench).
//   tfcrt-gemm-bench [--threads N] [--isa avx512|avx2|generic] [--ms T]
//                    [MxNxK[:bBATCH][:t] ...]
// A shape suffix ":t" stores B transposed ([N, K], as linear weights are);
// ":bB" runs a batch of B independent products. With no shapes, runs the
// standard set (512^3, BERT-base-like, decode-like M=1..8, attention).
// The peak is measured, not assumed: a loop of independent FMAs on the
// widest vectors the ISA has, on one thread.
//
//===----------------------------------------------------------------------===//

#include "Gemm/Gemm.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace tfcrt::gemm;

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

#if defined(__x86_64__)
// The empty asm pins each chain to a register, in order: clang otherwise
// reshapes the 16 chains and the loop measures about half the peak.
__attribute__((target("avx512f"))) double peakAvx512(long iters) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i)
    acc[i] = _mm512_set1_ps(0.001f * i);
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.0001f);
  double t0 = now();
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      acc[i] = _mm512_fmadd_ps(acc[i], a, b);
      __asm__ volatile("" : "+v"(acc[i]));
    }
  }
  double t = now() - t0;
  return 2.0 * 16 * 16 * iters / t / 1e9;
}
__attribute__((target("avx2,fma"))) double peakAvx2(long iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i)
    acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.0001f);
  double t0 = now();
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) {
      acc[i] = _mm256_fmadd_ps(acc[i], a, b);
      __asm__ volatile("" : "+x"(acc[i]));
    }
  }
  double t = now() - t0;
  return 2.0 * 8 * 12 * iters / t / 1e9;
}
#endif

double measurePeak(Isa isa) {
#if defined(__x86_64__)
  double best = 0;
  for (int r = 0; r < 5; ++r)
    best = std::max(best, isa == Isa::Avx512 ? peakAvx512(20000000)
                                             : peakAvx2(20000000));
  return best;
#else
  return 0;
#endif
}

struct Shape {
  int64_t m, n, k, batch = 1;
  bool transB = false;
  std::string label;
};

bool parseShape(const std::string &s, Shape &out) {
  long long m, n, k;
  if (std::sscanf(s.c_str(), "%lldx%lldx%lld", &m, &n, &k) != 3)
    return false;
  out = Shape{m, n, k, 1, false, s};
  size_t at = s.find(':');
  while (at != std::string::npos) {
    std::string opt = s.substr(at + 1, s.find(':', at + 1) - at - 1);
    if (opt == "t")
      out.transB = true;
    else if (!opt.empty() && opt[0] == 'b')
      out.batch = std::atoll(opt.c_str() + 1);
    else
      return false;
    at = s.find(':', at + 1);
  }
  return out.m > 0 && out.n > 0 && out.k > 0 && out.batch > 0;
}

/// Best and median seconds of `fn` over repetitions filling about `budget`
/// seconds. The best is what we report: on a shared machine the median also
/// measures the neighbours.
struct Timing {
  double best, median;
};
template <typename F> Timing timeIt(F &&fn, double budget) {
  fn(); // warm-up (packing buffers, pool)
  std::vector<double> times;
  double start = now();
  while (times.size() < 3 || (now() - start < budget && times.size() < 1000)) {
    double t0 = now();
    fn();
    times.push_back(now() - t0);
  }
  std::sort(times.begin(), times.end());
  return {times.front(), times[times.size() / 2]};
}

} // namespace

int main(int argc, char **argv) {
  int threads = 1;
  Isa isa = detectIsa();
  double budget = 0.5;
  std::vector<Shape> shapes;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--isa" && i + 1 < argc) {
      std::string v = argv[++i];
      isa = v == "avx512" ? Isa::Avx512
            : v == "avx2" ? Isa::Avx2
                          : Isa::Generic;
    } else if (a == "--ms" && i + 1 < argc) {
      budget = std::atof(argv[++i]) / 1000.0;
    } else {
      Shape s;
      if (!parseShape(a, s)) {
        std::fprintf(stderr,
                     "usage: %s [--threads N] [--isa I] [--ms T] "
                     "[MxNxK[:bB][:t] ...]\n",
                     argv[0]);
        return 2;
      }
      shapes.push_back(s);
    }
  }
  if (!isaSupported(isa)) {
    std::fprintf(stderr, "ISA %s not supported here\n", isaName(isa));
    return 1;
  }
  if (shapes.empty()) {
    const char *defaults[] = {
        "512x512x512",     "4096x384x384",    "4096x1536x384", "4096x384x1536",
        "4096x384x384:t",  "4096x1536x384:t", "1x4096x4096",   "4x4096x4096",
        "8x4096x4096",     "1x4096x4096:t",   "8x4096x4096:t", "1x1536x384",
        "128x128x64:b384", "128x64x128:b384"};
    for (const char *d : defaults) {
      Shape s;
      parseShape(d, s);
      shapes.push_back(s);
    }
  }
  tfc_set_num_threads(threads);
  double peak = measurePeak(isa == Isa::Generic ? Isa::Avx2 : isa);
  std::printf("isa %s, threads %d, measured single-core fp32 FMA peak %.1f "
              "GFLOP/s\n",
              isaName(isa), tfc_get_num_threads(), peak);
  std::printf("%-18s %9s %9s %9s %10s %8s %9s\n", "shape (MxNxK)", "best ms",
              "median ms", "GFLOP/s", "%peak/core", "GB/s(B)", "med GF/s");

  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (const Shape &s : shapes) {
    std::vector<float> a(s.batch * s.m * s.k), b(s.batch * s.k * s.n),
        c(s.batch * s.m * s.n);
    for (float &x : a)
      x = dist(rng);
    for (float &x : b)
      x = dist(rng);
    Problem p;
    p.batch = s.batch;
    p.m = s.m;
    p.n = s.n;
    p.k = s.k;
    p.a = a.data();
    p.sab = s.m * s.k;
    p.sam = s.k;
    p.sak = 1;
    p.b = b.data();
    p.sbb = s.k * s.n;
    if (s.transB) {
      p.sbk = 1;
      p.sbn = s.k;
    } else {
      p.sbk = s.n;
      p.sbn = 1;
    }
    p.c = c.data();
    p.scb = s.m * s.n;
    p.scm = s.n;
    p.scn = 1;
    Timing t = timeIt([&] { run(p, isa); }, budget);
    double flops = 2.0 * s.batch * s.m * s.n * s.k;
    double gflops = flops / t.best / 1e9;
    double gbB = 4.0 * s.batch * s.k * s.n / t.best / 1e9;
    std::printf("%-18s %9.3f %9.3f %9.1f %9.1f%% %8.1f %9.1f\n",
                s.label.c_str(), t.best * 1e3, t.median * 1e3, gflops,
                100.0 * gflops / (peak * threads), gbB, flops / t.median / 1e9);
  }
  return 0;
}
