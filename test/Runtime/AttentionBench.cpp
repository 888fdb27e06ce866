//===- AttentionBench.cpp - ms per tfcrt_attention_f32 call ---------------===//
//
// Built with -DTFC_BUILD_BENCH=ON (target tfcrt-attention-bench); not run by
// ctest.
//   tfcrt-attention-bench [--threads 1,2] [--isa all|generic|avx2|avx512]
//                         [--ms T] [--no-mat] [--naive] [CASE ...]
// For each case and thread count it times
//   - the blocked kernel of each ISA level (attn::run, called directly);
//   - "materialized" (unless --no-mat): the steps of the reference lowering
//     rebuilt from the runtime's own pieces: kv heads repeated to hq (copy),
//     K transposed (copy), S = Q K^T with the runtime GEMM (what
//     tfc-linalg-to-kernels calls), one pass scale + masks, softmax as three
//     passes (max, exp + sum, divide), O = P V with the GEMM. A model of the
//     real thing, which attention_ref_bench.py times (compiled by tfc);
//   - with --naive, attn::naive (double precision, one thread; one call).
// GFLOP/s count 2 (d + dv) flops per visible (query, key) pair, i.e. the
// useful work: a causal case counts half the square.
//
//===----------------------------------------------------------------------===//

#include "Attention/Attention.h"
#include "Gemm/Gemm.h"
#include "Internal.h"
#include "Isa.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <time.h>
#include <vector>

using namespace tfcrt;
using namespace tfcrt::attn;

namespace {

/// CPU time of the calling thread: with one thread, the time the call
/// computed, without the time slices the OS gave to other processes.
double cpuNow() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Case {
  const char *name;
  int64_t b, hq, hkv, s, t, d;
  bool causal = false;
  int64_t window = 0, sinks = 0;
  bool padMask = false; // bool mask [b, 1, 1, t], random padding per item
  // What a compiled BERT passes (tfc --emit=linalg on MiniLM): q/k/v/out
  // read in place from [b, s, h, d] (no transposes), and the exporter's
  // additive mask materialized as f32 [b, 1, s, t] (every row the same; 0
  // everywhere here: no padding). 2: the mask as [b, 1, 1, t]; 3: none.
  int model = 0;
};

const Case kCases[] = {
    {"minilm", 32, 12, 12, 128, 128, 32, false, 0, 0, true},
    {"minilm-b1", 1, 12, 12, 128, 128, 32, false, 0, 0, true},
    {"minilm-model", 32, 12, 12, 128, 128, 32, false, 0, 0, false, 1},
    {"minilm-model-b1", 1, 12, 12, 128, 128, 32, false, 0, 0, false, 1},
    {"minilm-model-bcast", 32, 12, 12, 128, 128, 32, false, 0, 0, false, 2},
    {"minilm-model-nomask", 32, 12, 12, 128, 128, 32, false, 0, 0, false, 3},
    {"smollm-53", 1, 9, 3, 53, 53, 64, true},
    {"smollm-512", 1, 9, 3, 512, 512, 64, true},
    {"smollm-2048", 1, 9, 3, 2048, 2048, 64, true},
    {"decode-128", 1, 9, 3, 1, 128, 64, true},
    {"decode-2048", 1, 9, 3, 1, 2048, 64, true},
    // A KV-cache step as SmolLM2 makes it: the attention_mask as keep.
    {"decode-64-keep", 1, 9, 3, 1, 64, 64, true, 0, 0, true},
    {"decode-128-keep", 1, 9, 3, 1, 128, 64, true, 0, 0, true},
    {"decode-64", 1, 9, 3, 1, 64, 64, true},
    {"sink4-local256-2048", 1, 9, 3, 2048, 2048, 64, true, 256, 4},
    {"d128-1024", 1, 8, 2, 1024, 1024, 128, true},
    {"d256-1024", 1, 8, 2, 1024, 1024, 256, true},
};

/// The buffers of a case; k / v are rows [0, t) of a cache with max_len =
/// t + 64, as a KV-cache step passes them.
struct Data {
  Params p;
  std::vector<float> q, k, v, out;
  std::vector<uint8_t> keep;
  std::vector<float> add;
  double visiblePairs = 0;

  explicit Data(const Case &c) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    const int64_t maxLen = c.t + 64;
    q.resize(c.b * c.hq * c.s * c.d);
    k.resize(c.b * c.hkv * maxLen * c.d);
    v.resize(k.size());
    out.resize(c.b * c.hq * c.s * c.d);
    for (auto *buf : {&q, &k, &v})
      for (float &x : *buf)
        x = u(rng);
    p.b = c.b;
    p.hq = c.hq;
    p.hkv = c.hkv;
    p.s = c.s;
    p.t = c.t;
    p.d = p.dv = c.d;
    p.q = q.data();
    const int64_t qs[4] = {c.hq * c.s * c.d, c.s * c.d, c.d, 1};
    const int64_t ks[4] = {c.hkv * maxLen * c.d, maxLen * c.d, c.d, 1};
    std::memcpy(p.qs, qs, sizeof(qs));
    std::memcpy(p.os, qs, sizeof(qs));
    std::memcpy(p.ks, ks, sizeof(ks));
    std::memcpy(p.vs, ks, sizeof(ks));
    if (c.model) {
      // [b, s, h, d] buffers; k and v without the cache's spare rows.
      const int64_t bshd[4] = {c.s * c.hq * c.d, c.d, c.hq * c.d, 1};
      const int64_t kv[4] = {c.t * c.hkv * c.d, c.d, c.hkv * c.d, 1};
      std::memcpy(p.qs, bshd, sizeof(bshd));
      std::memcpy(p.os, bshd, sizeof(bshd));
      std::memcpy(p.ks, kv, sizeof(kv));
      std::memcpy(p.vs, kv, sizeof(kv));
      if (c.model != 3) {
        add.assign(c.b * c.s * c.t, 0.0f);
        p.add = add.data();
        const int64_t as[4] = {c.s * c.t, 0, c.model == 2 ? 0 : c.t, 1};
        std::memcpy(p.addS, as, sizeof(as));
      }
    }
    p.k = k.data();
    p.v = v.data();
    p.out = out.data();
    p.scale = 1.0f / std::sqrt(static_cast<float>(c.d));
    p.causal = c.causal;
    p.window = c.window;
    p.sinks = c.sinks;
    if (c.padMask) {
      keep.resize(c.b * c.t);
      std::uniform_int_distribution<int64_t> len(c.t / 4, c.t);
      for (int64_t bi = 0; bi < c.b; ++bi) {
        const int64_t n = bi == 0 ? c.t : len(rng);
        for (int64_t j = 0; j < c.t; ++j)
          keep[bi * c.t + j] = j < n;
      }
      p.keep = keep.data();
      p.keepS[0] = c.t;
      p.keepS[3] = 1;
    }
    for (int64_t bi = 0; bi < c.b; ++bi)
      for (int64_t i = 0; i < c.s; ++i)
        for (int64_t j = 0; j < c.t; ++j)
          visiblePairs += visible(p, bi, 0, i, j);
    visiblePairs *= c.hq;
  }
};

/// The reference lowering's steps on materialized [b*hq, s, t] scores.
struct Materialized {
  std::vector<float> kRep, kT, vRep, scores;
  void operator()(const Params &p) {
    const int64_t bh = p.b * p.hq, group = p.group();
    kRep.resize(bh * p.t * p.d);
    vRep.resize(bh * p.t * p.dv);
    kT.resize(bh * p.d * p.t);
    scores.resize(bh * p.s * p.t);
    // GQA repeat and the transpose are separate copies in the lowering.
    parallelFor(bh, [&](int64_t x) {
      const int64_t b = x / p.hq, g = (x % p.hq) / group;
      for (int64_t j = 0; j < p.t; ++j)
        for (int64_t c = 0; c < p.d; ++c) {
          kRep[(x * p.t + j) * p.d + c] =
              p.k[b * p.ks[0] + g * p.ks[1] + j * p.ks[2] + c];
          vRep[(x * p.t + j) * p.dv + c] =
              p.v[b * p.vs[0] + g * p.vs[1] + j * p.vs[2] + c];
        }
      for (int64_t c = 0; c < p.d; ++c)
        for (int64_t j = 0; j < p.t; ++j)
          kT[(x * p.d + c) * p.t + j] = kRep[(x * p.t + j) * p.d + c];
    });
    gemm::Problem qk;
    qk.batch = bh;
    qk.m = p.s;
    qk.n = p.t;
    qk.k = p.d;
    qk.a = p.q;
    qk.sab = p.s * p.d;
    qk.sam = p.d;
    qk.sak = 1;
    qk.b = kT.data();
    qk.sbb = p.d * p.t;
    qk.sbk = p.t;
    qk.sbn = 1;
    qk.c = scores.data();
    qk.scb = p.s * p.t;
    qk.scm = p.t;
    qk.scn = 1;
    gemm::run(qk);
    parallelFor(bh * p.s, [&](int64_t row) {
      const int64_t x = row / p.s, i = row % p.s, b = x / p.hq;
      float *sr = &scores[row * p.t];
      for (int64_t j = 0; j < p.t; ++j) { // scale, masks
        const int64_t pos = i + p.t - p.s;
        bool ok = !p.keep || p.keep[b * p.keepS[0] + j * p.keepS[3]];
        ok &= !p.causal || j <= pos;
        ok &= p.window <= 0 || pos - j < p.window || j < p.sinks;
        sr[j] = ok ? sr[j] * p.scale : -INFINITY;
      }
      float mx = -INFINITY;
      for (int64_t j = 0; j < p.t; ++j)
        mx = std::max(mx, sr[j]);
      const float ref = mx == -INFINITY ? 0.0f : mx;
      float sum = 0;
      for (int64_t j = 0; j < p.t; ++j) {
        sr[j] = std::exp(sr[j] - ref);
        sum += sr[j];
      }
      for (int64_t j = 0; j < p.t; ++j)
        sr[j] = sum == 0 ? 0.0f : sr[j] / sum;
    });
    gemm::Problem pv;
    pv.batch = bh;
    pv.m = p.s;
    pv.n = p.dv;
    pv.k = p.t;
    pv.a = scores.data();
    pv.sab = p.s * p.t;
    pv.sam = p.t;
    pv.sak = 1;
    pv.b = vRep.data();
    pv.sbb = p.t * p.dv;
    pv.sbk = p.dv;
    pv.sbn = 1;
    pv.c = p.out;
    pv.scb = p.os[1];
    pv.scm = p.os[2];
    pv.scn = 1;
    gemm::run(pv);
  }
  template <typename F> static void parallelFor(int64_t n, F &&f) {
    const int64_t chunk = std::max<int64_t>(1, n / 64);
    tfcrt::parallelRun((n + chunk - 1) / chunk, [&](int64_t task) {
      for (int64_t x = task * chunk; x < std::min(n, (task + 1) * chunk); ++x)
        f(x);
    });
  }
};

struct Timing {
  double best, median, cpuBest;
};

/// ms per call over at least `minMs` ms and 3 calls (after one warm-up
/// call): the best and the median wall time, and the best CPU time of the
/// calling thread.
template <typename F> Timing timeMs(F &&f, double minMs) {
  f();
  std::vector<double> ms;
  double cpuBest = 1e30;
  const double start = now();
  while (ms.size() < 3 || (now() - start) * 1e3 < minMs) {
    const double t0 = now(), c0 = cpuNow();
    f();
    cpuBest = std::min(cpuBest, (cpuNow() - c0) * 1e3);
    ms.push_back((now() - t0) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  return {ms.front(), ms[ms.size() / 2], cpuBest};
}

} // namespace

int main(int argc, char **argv) {
  std::vector<int> threads = {1, 2};
  std::vector<isa::Level> levels = {isa::Level::Generic, isa::Level::Avx2,
                                    isa::Level::Avx512};
  double minMs = 300;
  bool withNaive = false, withMat = true;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads.clear();
      for (const char *s = argv[++i]; *s;) {
        threads.push_back(std::atoi(s));
        while (*s && *s != ',')
          ++s;
        if (*s == ',')
          ++s;
      }
    } else if (a == "--isa" && i + 1 < argc) {
      const std::string v = argv[++i];
      if (v != "all") {
        levels.clear();
        for (isa::Level l :
             {isa::Level::Generic, isa::Level::Avx2, isa::Level::Avx512})
          if (v == isa::name(l))
            levels.push_back(l);
      }
    } else if (a == "--ms" && i + 1 < argc) {
      minMs = std::atof(argv[++i]);
    } else if (a == "--no-mat") {
      withMat = false;
    } else if (a == "--naive") {
      withNaive = true;
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "unknown option '%s'\n", a.c_str());
      return 2;
    } else {
      names.push_back(a);
    }
  }
  std::printf(
      "# tfcrt-attention-bench, CPU %s; ms per call: best and median wall "
      "time, and (one thread) best CPU time of the thread; GFLOP/s and the "
      "speed-up vs materialized from the best wall time\n",
      isa::describe());
  std::printf("%-20s %-13s %3s %9s %9s %8s %9s %8s %8s\n", "case", "impl",
              "thr", "best ms", "med ms", "GFLOP/s", "cpu ms", "GFLOP/s",
              "vs mat.");
  for (const Case &c : kCases) {
    if (!names.empty() &&
        std::find(names.begin(), names.end(), c.name) == names.end())
      continue;
    Data data(c);
    const double flops = data.visiblePairs * 2.0 * (2 * c.d);
    for (int th : threads) {
      tfc_set_num_threads(th);
      auto cpu = [&](const Timing &t) {
        char buf[48] = "        -        -";
        if (th == 1)
          std::snprintf(buf, sizeof(buf), "%9.3f %8.1f", t.cpuBest,
                        flops / t.cpuBest / 1e6);
        return std::string(buf);
      };
      Timing matMs = {0, 0, 0};
      if (withMat) {
        Materialized mat;
        matMs = timeMs([&] { mat(data.p); }, minMs);
        std::printf("%-20s %-13s %3d %9.3f %9.3f %8.1f %s %8s\n", c.name,
                    "materialized", th, matMs.best, matMs.median,
                    flops / matMs.best / 1e6, cpu(matMs).c_str(), "1.00");
      }
      for (isa::Level l : levels) {
        if (!isa::supported(l))
          continue;
        const Kernels &ks = l == isa::Level::Avx512 ? kernelsAvx512()
                            : l == isa::Level::Avx2 ? kernelsAvx2()
                                                    : kernelsGeneric();
        const Timing ms = timeMs([&] { run(data.p, ks); }, minMs);
        char ratio[32] = "-";
        if (withMat)
          std::snprintf(ratio, sizeof(ratio), "%.2fx", matMs.best / ms.best);
        std::printf("%-20s %-13s %3d %9.3f %9.3f %8.1f %s %8s\n", c.name,
                    ks.name, th, ms.best, ms.median, flops / ms.best / 1e6,
                    cpu(ms).c_str(), ratio);
      }
      std::fflush(stdout);
    }
    if (withNaive) {
      std::vector<double> ref(c.b * c.hq * c.s * c.d);
      const double t0 = now();
      naive(data.p, ref.data());
      const double ms = (now() - t0) * 1e3;
      std::printf("%-20s %-13s %3d %9.3f %9s %8.1f\n", c.name, "naive(double)",
                  1, ms, "", flops / ms / 1e6);
    }
  }
  tfc_set_num_threads(0);
  return 0;
}
