//===- AttentionKvBench.cpp - decode attention over f32 / f16 / int8 K/V --===//
//
// Built with -DTFC_BUILD_BENCH=ON (target tfcrt-attention-kv-bench); not run
// by ctest.
//   tfcrt-attention-kv-bench [--threads N] [--t T] [--layers L] [--batch B]
//                            [--reps R] [--generic 0|1]
// One decode step's attention of a SmolLM2-shaped model (9 query heads, 3
// kv heads of 64) over L layers, each with its own cache [2, B, 3, T, 64]
// in the session's layout (so the step streams L x the cache, as a real
// step does), with f32, f16 and int8 (+ f32 scales) K/V, at every ISA level
// this CPU has. Prints ms per step (median of R) and the cache bytes read.
//
//===----------------------------------------------------------------------===//

#include "Attention/Attention.h"
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
#include <vector>

using namespace tfcrt;
using namespace tfcrt::attn;

int main(int argc, char **argv) {
  int threads = 1, reps = 15, generic = 1;
  int64_t t = 4096, layers = 30, batch = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    const long long v = std::atoll(argv[i + 1]);
    if (a == "--threads")
      threads = static_cast<int>(v);
    else if (a == "--t")
      t = v;
    else if (a == "--layers")
      layers = v;
    else if (a == "--batch")
      batch = v;
    else if (a == "--reps")
      reps = static_cast<int>(v);
    else if (a == "--generic")
      generic = static_cast<int>(v);
  }
  tfc_set_num_threads(threads);
  const int64_t hq = 9, hkv = 3, d = 64;
  const int64_t per = 2 * batch * hkv * t * d; // elements per layer
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> q(batch * hq * d), out(batch * hq * d);
  for (float &x : q)
    x = u(rng);
  std::vector<float> f32(layers * per);
  for (float &x : f32)
    x = u(rng);
  std::vector<uint16_t> f16(layers * per, 0x3800); // 0.5
  std::vector<int8_t> i8(layers * per);
  for (int8_t &x : i8)
    x = static_cast<int8_t>(static_cast<int>(u(rng) * 127));
  std::vector<float> scales(layers * 2 * batch * hkv * t, 0.01f);

  struct Level {
    isa::Level level;
    const Kernels *ks;
  };
  std::vector<Level> levels;
  if (generic)
    levels.push_back({isa::Level::Generic, &kernelsGeneric()});
  if (isa::supported(isa::Level::Avx2))
    levels.push_back({isa::Level::Avx2, &kernelsAvx2()});
  if (isa::supported(isa::Level::Avx512))
    levels.push_back({isa::Level::Avx512, &kernelsAvx512()});
  std::printf("decode attention, %lld layers, batch %lld, 9 q / 3 kv heads x "
              "64, context %lld, %d thread(s), %s\n",
              (long long)layers, (long long)batch, (long long)t, threads,
              isa::cpuName());
  for (const Level &lv : levels)
    for (Params::KvType kv :
         {Params::KvType::F32, Params::KvType::F16, Params::KvType::I8}) {
      Params p;
      p.b = batch, p.hq = hq, p.hkv = hkv, p.s = 1, p.t = t, p.d = d,
      p.dv = d;
      p.q = q.data();
      const int64_t qs[4] = {hq * d, d, d, 1};
      std::copy(qs, qs + 4, p.qs);
      std::copy(qs, qs + 4, p.os);
      p.out = out.data();
      const int64_t st[4] = {hkv * t * d, t * d, d, 1};
      std::copy(st, st + 4, p.ks);
      std::copy(st, st + 4, p.vs);
      const int64_t ss[3] = {hkv * t, t, 1};
      std::copy(ss, ss + 3, p.kss);
      std::copy(ss, ss + 3, p.vss);
      p.scale = 0.125f;
      p.causal = true;
      p.kv = kv;
      const double bytes =
          static_cast<double>(layers * per) *
          (kv == Params::KvType::F32   ? 4
           : kv == Params::KvType::F16 ? 2
                                       : 1 + 4.0 / d);
      std::vector<double> ms;
      for (int r = 0; r < reps + 2; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int64_t l = 0; l < layers; ++l) {
          const int64_t off = l * per, half = per / 2;
          p.k = f32.data() + off;
          p.v = f32.data() + off + half;
          if (kv == Params::KvType::F16) {
            p.kq = f16.data() + off;
            p.vq = f16.data() + off + half;
          } else if (kv == Params::KvType::I8) {
            p.kq = i8.data() + off;
            p.vq = i8.data() + off + half;
            const int64_t so = l * 2 * batch * hkv * t;
            p.kScale = scales.data() + so;
            p.vScale = scales.data() + so + batch * hkv * t;
          }
          run(p, *lv.ks);
        }
        const double e = std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - t0)
                             .count();
        if (r >= 2)
          ms.push_back(e);
      }
      std::sort(ms.begin(), ms.end());
      const double med = ms[ms.size() / 2];
      std::printf("  %-7s %-4s %9.3f ms per step  (cache %7.1f MB, %6.1f "
                  "GB/s)\n",
                  isa::name(lv.level),
                  kv == Params::KvType::F32   ? "f32"
                  : kv == Params::KvType::F16 ? "f16"
                                              : "int8",
                  med, bytes / 1e6, bytes / 1e6 / med);
    }
  return 0;
}
