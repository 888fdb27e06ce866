//===- GpuAttentionTest.cpp - the fused GPU attention against the contract ===//
//
// tfcrt-gpu-attention-test (built with TFC_ENABLE_CUDA=ON; run on a GPU
// machine: exit 77 = skipped when there is no device). Every case runs the
// three kernel families (f32, f16 and bf16 tensor cores) on random inputs
// and compares them with attn::naive, the contract applied literally in
// double precision (lib/Runtime/Attention): f32 within 2e-5; the half modes
// against naive on q / k / v rounded to the half type first (what the
// kernel multiplies), within the rounding of the probabilities (f16 4e-3,
// bf16 3e-2). Cases: MiniLM's padding mask over [b, s, h, d] strided views,
// causal GQA, decode rows (s = 1), s > t, sliding window + sinks,
// block-local, a BigBird layout, mask_keep with rows that see nothing,
// head dims 8 / 24 / 40 / 128 / 200, t = 0, and calls whose key tiles the
// tensor-core kernels split over a cluster (few row blocks, long rows). Calls
// of at most kDecMaxS rows take the decode kernel; they run twice, with scratch
// memory (keys split over blocks, merged by the last one) and without (one
// block per row group), and the decode cases cover its row groups (GQA x rows),
// long caches, windows, masks and head dims up to 256.
//
// The rope calls (tfcrt_gpu_attention_*_rope: the rotary and the KV-cache
// writes inside the call) run launchAttentionRope on SmolLM2's (9 / 3
// heads, d 64) and an 8 / 2, d 128 geometry over a 512-row cache with a
// keep mask of the first past + s keys, for decode steps (s 1 and 2,
// batch 1 and 3, past from 0 to the last row: the lane-group kernel does
// it all), the same forced through tfc_attn_rope_write (AttnRope::split,
// what TFC_ATTN_ROPE=0 does) and a 40-row prefill. The reference is the
// entry's host path (the emulation): the cache after the call must match
// it (1e-6, the same f32 products), the output within the tolerances
// above (naive on the rotated q and the host path's cache, rounded in the
// half modes), and a half out the f32 out rounded, bit for bit.
//
//   tfcrt-gpu-attention-test            the cases
//   tfcrt-gpu-attention-test --bench    MiniLM-shaped calls timed with
//                                       CUDA events (median of 50)
//
//===----------------------------------------------------------------------===//

#include "Cuda/GpuAttention.h"
#include "Attention/Attention.h"
#include "Cuda/AttentionLaunch.h"
#include "Cuda/Cuda.h"
#include "Cuda/CudaDriver.h"
#include "Cuda/GpuGemm.h"
#include "GpuTestUtil.h"
#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

using namespace tfcrt;
using namespace tfcrt::gputest;
using tfcrt::cuda::AttnMode;

namespace {

cuda::AttnScratch scratch; // for the decode kernel's splits (zeroed once)

float roundTo(AttnMode m, float x) {
  if (m == AttnMode::F16)
    return static_cast<float>(static_cast<_Float16>(x));
  if (m == AttnMode::BF16) {
    uint32_t b;
    std::memcpy(&b, &x, 4);
    b += 0x7fff + ((b >> 16) & 1);
    b &= 0xffff0000u;
    std::memcpy(&x, &b, 4);
  }
  return x;
}

/// The tolerance of the header for `mode`'s results.
double modeTol(AttnMode mode) {
  return mode == AttnMode::F32 ? 2e-5 : mode == AttnMode::F16 ? 4e-3 : 3e-2;
}

/// attn::naive over the inputs the kernel multiplies: `h` with q, k and v
/// rounded to `mode`'s type (n results, [b, hq, s, dv] contiguous whatever
/// h.os says).
std::vector<double> naiveRounded(AttnMode mode, attn::Params h,
                                 std::vector<float> q, std::vector<float> k,
                                 std::vector<float> v, size_t n) {
  for (auto *vec : {&q, &k, &v})
    for (float &x : *vec)
      x = roundTo(mode, x);
  h.q = q.data();
  h.k = k.data();
  h.v = v.data();
  std::vector<double> ref(n);
  attn::naive(h, ref.data());
  return ref;
}

struct Case {
  std::string name;
  int64_t b = 1, hq = 1, hkv = 1, s = 1, t = 1, d = 16, dv = 16;
  bool bshd = false; // q / k / v / out as views of [b, s, h, d] buffers
  bool causal = false;
  int64_t window = 0, sinks = 0, block = 0, layoutBlock = 0;
  int maskAdd = 0;  // 0 none, 1 [b, 1, 1, t] padding, 2 full random
  int maskKeep = 0; // 0 none, 1 [b, hq, s, t] random with empty rows,
                    // 2 [b, 1, 1, t] padding (a KV-cache step's mask):
                    // item 0 keeps keys [0, t/12 + 1), item 1 [t/3, t - 5)
};

/// Strides (elements) of a [b, h, n, c] view of a contiguous buffer laid
/// out [b, h, n, c] or, with bshd, [b, n, h, c].
void strides(const Case &c, int64_t h, int64_t n, int64_t w, bool bshd,
             int64_t *st) {
  if (bshd) {
    st[0] = n * h * w;
    st[1] = w;
    st[2] = h * w;
    st[3] = 1;
  } else {
    st[0] = h * n * w;
    st[1] = n * w;
    st[2] = w;
    st[3] = 1;
  }
}

const char *modeName(AttnMode mode) {
  return mode == AttnMode::F32 ? "f32" : mode == AttnMode::F16 ? "f16" : "bf16";
}

/// Runs one case in every mode; returns the number of failures.
int runCase(const Case &c, CUstream stream) {
  std::mt19937 rng(1234 + c.s * 7 + c.t * 13 + c.d);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int64_t nq = c.b * c.hq * c.s * c.d, nk = c.b * c.hkv * c.t * c.d;
  const int64_t nv = c.b * c.hkv * c.t * c.dv, no = c.b * c.hq * c.s * c.dv;
  std::vector<float> q(nq), k(nk), v(nv);
  for (float &x : q)
    x = 1.5f * u(rng);
  for (float &x : k)
    x = 1.5f * u(rng);
  for (float &x : v)
    x = u(rng);
  std::vector<float> add;
  int64_t addSizes[4] = {0, 0, 0, 0};
  if (c.maskAdd == 1) {
    add.assign(c.b * c.t, 0.0f);
    for (int64_t bi = 0; bi < c.b; ++bi)
      for (int64_t j = c.t - bi * (c.t / 4); j < c.t; ++j)
        add[bi * c.t + j] = -10000.0f; // the exporters' padding
    int64_t sz[4] = {c.b, 1, 1, c.t};
    std::memcpy(addSizes, sz, sizeof sz);
  } else if (c.maskAdd == 2) {
    add.resize(c.b * c.hq * c.s * c.t);
    for (float &x : add)
      x = u(rng);
    int64_t sz[4] = {c.b, c.hq, c.s, c.t};
    std::memcpy(addSizes, sz, sizeof sz);
  }
  std::vector<uint8_t> keep;
  if (c.maskKeep == 2) {
    keep.assign(c.b * c.t, 0);
    for (int64_t bi = 0; bi < c.b; ++bi) {
      int64_t from = bi == 0 ? 0 : c.t / 3, to = bi == 0 ? c.t / 12 + 1 : c.t - 5;
      for (int64_t j = from; j < to && j < c.t; ++j)
        keep[bi * c.t + j] = 1;
    }
  } else if (c.maskKeep) {
    keep.resize(c.b * c.hq * c.s * c.t);
    for (size_t e = 0; e < keep.size(); ++e)
      keep[e] = (rng() % 4) != 0;
    // Every third row of the first head sees nothing.
    for (int64_t i = 0; i < c.s; i += 3)
      std::fill_n(keep.begin() + i * c.t, c.t, 0);
  }
  std::vector<uint8_t> layout;
  int64_t lrows = 0;
  if (c.layoutBlock) {
    lrows = (c.t + c.layoutBlock - 1) / c.layoutBlock;
    layout.resize(lrows * lrows);
    for (uint8_t &x : layout)
      x = (rng() % 3) != 0;
  }

  attn::Params p;
  p.b = c.b;
  p.hq = c.hq;
  p.hkv = c.hkv;
  p.s = c.s;
  p.t = c.t;
  p.d = c.d;
  p.dv = c.dv;
  strides(c, c.hq, c.s, c.d, c.bshd, p.qs);
  strides(c, c.hkv, c.t, c.d, c.bshd, p.ks);
  strides(c, c.hkv, c.t, c.dv, c.bshd, p.vs);
  strides(c, c.hq, c.s, c.dv, c.bshd, p.os);
  p.scale = 1.0f / std::sqrt(static_cast<float>(c.d));
  p.causal = c.causal;
  p.window = c.window;
  p.sinks = c.sinks;
  p.block = c.block;
  if (!add.empty()) { // contiguous, stride 0 on the broadcast dims
    int64_t st = 1;
    for (int i = 3; i >= 0; --i) {
      p.addS[i] = addSizes[i] == 1 ? 0 : st;
      st *= addSizes[i];
    }
  }
  if (c.maskKeep == 2) { // [b, 1, 1, t]: stride 0 over heads and rows
    p.keepS[3] = 1;
    p.keepS[2] = 0;
    p.keepS[1] = 0;
    p.keepS[0] = c.t;
  } else if (!keep.empty()) {
    p.keepS[3] = 1;
    p.keepS[2] = c.t;
    p.keepS[1] = c.s * c.t;
    p.keepS[0] = c.hq * c.s * c.t;
  }
  if (!layout.empty()) {
    p.layoutRows = p.layoutCols = lrows;
    p.layoutS[0] = lrows;
    p.layoutS[1] = 1;
    p.layoutBlock = c.layoutBlock;
  }

  DevBuf dq(nq * 4), dk(nk * 4), dvb(nv * 4), dout(no * 4);
  DevBuf dadd(add.size() * 4), dkeep(keep.size()), dlay(layout.size());
  dq.put(q.data());
  dk.put(k.data());
  dvb.put(v.data());
  dadd.put(add.data());
  dkeep.put(keep.data());
  dlay.put(layout.data());

  int failures = 0;
  const bool decode = c.s <= cuda::kDecMaxS;
  for (int pass = 0; pass < (decode ? 2 : 1); ++pass)
  for (AttnMode mode : {AttnMode::F32, AttnMode::F16, AttnMode::BF16}) {
    const char *mname = modeName(mode);
    const char *how = !decode ? "" : pass == 0 ? " split" : " unsplit";
    cuda::AttnScratch none;
    // Reference: naive over the inputs the kernel multiplies.
    attn::Params h = p;
    h.add = add.empty() ? nullptr : add.data();
    h.keep = keep.empty() ? nullptr : keep.data();
    h.layout = layout.empty() ? nullptr : layout.data();
    const std::vector<double> ref = naiveRounded(mode, h, q, k, v, no);

    attn::Params g = p;
    g.q = reinterpret_cast<const float *>(dq.p);
    g.k = reinterpret_cast<const float *>(dk.p);
    g.v = reinterpret_cast<const float *>(dvb.p);
    g.out = reinterpret_cast<float *>(dout.p);
    g.add = add.empty() ? nullptr : reinterpret_cast<const float *>(dadd.p);
    g.keep = keep.empty() ? nullptr : reinterpret_cast<const uint8_t *>(dkeep.p);
    g.layout =
        layout.empty() ? nullptr : reinterpret_cast<const uint8_t *>(dlay.p);
    std::vector<float> nan(no, NAN);
    dout.put(nan.data());
    std::string err;
    int64_t grid = 0, block = 0;
    // The first pass launches with programmatic dependent launch (the
    // kernels' griddepcontrol path; a no-op wait on this stream).
    if (!cuda::launchAttention(g, mode, stream, err, &grid, &block,
                               pass == 0 ? scratch : none,
                               /*pdl=*/pass == 0)) {
      std::printf("FAIL %-26s %-4s%s launch: %s\n", c.name.c_str(), mname,
                  how, err.c_str());
      ++failures;
      continue;
    }
    if (!ok(D->cuStreamSynchronize(stream), "cuStreamSynchronize")) {
      ++failures;
      continue;
    }
    std::vector<float> out(no);
    if (no)
      ok(D->cuMemcpyDtoHAsync(out.data(), dout.p, no * 4, stream), "DtoH");
    D->cuStreamSynchronize(stream);
    const double tol = modeTol(mode);
    double worst = 0;
    int64_t bad = 0, zeroRowsWrong = 0;
    for (int64_t bi = 0; bi < c.b; ++bi)
      for (int64_t hh = 0; hh < c.hq; ++hh)
        for (int64_t i = 0; i < c.s; ++i)
          for (int64_t e = 0; e < c.dv; ++e) {
            const double r = ref[((bi * c.hq + hh) * c.s + i) * c.dv + e];
            const float o = out[bi * p.os[0] + hh * p.os[1] + i * p.os[2] +
                                e * p.os[3]];
            const double diff = std::fabs(o - r);
            if (!(diff <= tol * (1 + std::fabs(r))))
              ++bad;
            if (r == 0.0 && o != 0.0f)
              ++zeroRowsWrong;
            if (diff > worst || std::isnan(o))
              worst = std::isnan(o) ? INFINITY : diff;
          }
    const bool good = bad == 0 && zeroRowsWrong == 0;
    std::printf("%s %-26s %-4s%s max abs err %.3g (tol %.0e; %lld blocks)%s\n",
                good ? "PASS" : "FAIL", c.name.c_str(), mname, how, worst, tol,
                (long long)grid,
                zeroRowsWrong ? " (rows that see nothing are not 0)" : "");
    failures += !good;
    // The half modes again with a half out (the kernels of
    // tfcrt_gpu_attention_*_hout): every element must be the f32 result
    // above rounded to nearest even, bit for bit (an element left unwritten
    // keeps the fill, which no rounding gives).
    if (mode != AttnMode::F32) {
      const cuda::GemmType ht = mode == AttnMode::BF16 ? cuda::GemmType::BF16
                                                       : cuda::GemmType::F16;
      DevBuf dh(no * 2);
      std::vector<uint16_t> fill(no, 0x7e01), hout(no, 0);
      dh.put(fill.data());
      attn::Params gh = g;
      gh.out = reinterpret_cast<float *>(dh.p);
      gh.outType = mode == AttnMode::BF16 ? attn::Params::OutType::BF16
                                          : attn::Params::OutType::F16;
      int64_t diffs = 0;
      if (!cuda::launchAttention(gh, mode, stream, err, nullptr, nullptr,
                                 pass == 0 ? scratch : none, pass == 0) ||
          !ok(D->cuStreamSynchronize(stream), "cuStreamSynchronize")) {
        std::printf("FAIL %-26s %-4s%s half out launch: %s\n", c.name.c_str(),
                    mname, how, err.c_str());
        ++failures;
        continue;
      }
      if (no)
        ok(D->cuMemcpyDtoHAsync(hout.data(), dh.p, no * 2, stream), "DtoH");
      D->cuStreamSynchronize(stream);
      for (int64_t bi = 0; bi < c.b; ++bi)
        for (int64_t hh = 0; hh < c.hq; ++hh)
          for (int64_t i = 0; i < c.s; ++i)
            for (int64_t e = 0; e < c.dv; ++e) {
              const int64_t at = bi * p.os[0] + hh * p.os[1] + i * p.os[2] +
                                 e * p.os[3];
              uint16_t want = 0;
              cuda::storeElem(ht, &want, out[at]);
              diffs += hout[at] != want;
            }
      const bool hgood = diffs == 0;
      std::printf("%s %-26s %-4s%s half out: %lld of %lld elements differ "
                  "from the f32 result rounded\n",
                  hgood ? "PASS" : "FAIL", c.name.c_str(), mname, how,
                  (long long)diffs, (long long)no);
      failures += !hgood;
    }
  }
  return failures;
}

std::vector<Case> cases() {
  std::vector<Case> cs;
  auto add = [&](Case c) { cs.push_back(c); };
  Case c;
  c = Case();
  c.name = "minilm b2 padding bshd";
  c.b = 2, c.hq = c.hkv = 12, c.s = c.t = 128, c.d = c.dv = 32;
  c.bshd = true, c.maskAdd = 1;
  add(c);
  c = Case();
  c.name = "causal gqa 9/3 d64 s53";
  c.hq = 9, c.hkv = 3, c.s = c.t = 53, c.d = c.dv = 64, c.causal = true;
  c.bshd = true;
  add(c);
  c = Case();
  c.name = "decode s1 t300 d8";
  c.b = 2, c.hq = 8, c.hkv = 4, c.s = 1, c.t = 300, c.d = c.dv = 8;
  c.causal = true;
  add(c);
  c = Case();
  c.name = "s>t causal 70/40";
  c.hq = 2, c.hkv = 1, c.s = 70, c.t = 40, c.d = c.dv = 16, c.causal = true;
  add(c);
  c = Case();
  c.name = "window50 sinks4 s200";
  c.hq = 4, c.hkv = 2, c.s = c.t = 200, c.d = c.dv = 64, c.causal = true;
  c.window = 50, c.sinks = 4;
  add(c);
  c = Case();
  c.name = "block32 d24 dv40";
  c.hq = 3, c.hkv = 3, c.s = c.t = 100, c.d = 24, c.dv = 40, c.block = 32;
  add(c);
  c = Case();
  c.name = "layout16 s96";
  c.hq = 2, c.hkv = 2, c.s = c.t = 96, c.d = c.dv = 32, c.layoutBlock = 16;
  add(c);
  c = Case();
  c.name = "keep + full add s37 t45";
  c.b = 2, c.hq = 2, c.hkv = 1, c.s = 37, c.t = 45, c.d = c.dv = 16;
  c.maskKeep = 1, c.maskAdd = 2;
  add(c);
  c = Case();
  c.name = "decode keep pad s1 t512";
  c.b = 2, c.hq = 9, c.hkv = 3, c.s = 1, c.t = 512, c.d = c.dv = 64;
  c.causal = true, c.maskKeep = 2;
  add(c);
  c = Case();
  c.name = "keep pad causal s150";
  c.b = 2, c.hq = 4, c.hkv = 2, c.s = c.t = 150, c.d = c.dv = 32;
  c.causal = true, c.bshd = true, c.maskKeep = 2;
  add(c);
  // Head dim 64 takes the staged-keep kernel (tfc_attn_mma_ks_*): item 1's
  // first key tile is hidden (skipped), its third kept whole (no-check path).
  c = Case();
  c.name = "keep pad causal s200 d64";
  c.b = 2, c.hq = 4, c.hkv = 2, c.s = c.t = 200, c.d = c.dv = 64;
  c.causal = true, c.maskKeep = 2;
  add(c);
  // Row blocks x heads x items below the multiprocessors' count with key
  // tiles to spare: the tensor-core kernels split each row block's key
  // tiles over a cluster (GpuAttnArgs::splits; 4 splits for 8+ tiles, 2 for
  // 4+) and merge them through distributed shared memory. SmolLM2's
  // 512-token prefill (d 64, a shared keep row: the staged-keep kernel),
  // head dims 32 (a shared mask_add row: the staged-add kernel) and 128,
  // a window with sinks whose splits skip most tiles, and s < t (the last
  // row block's rows past s).
  c = Case();
  c.name = "split causal 9/3 s512 keep";
  c.hq = 9, c.hkv = 3, c.s = c.t = 512, c.d = c.dv = 64;
  c.causal = true, c.maskKeep = 2, c.bshd = true;
  add(c);
  c = Case();
  c.name = "split d32 add s700";
  c.hq = 2, c.hkv = 2, c.s = c.t = 700, c.d = c.dv = 32, c.maskAdd = 1;
  add(c);
  c = Case();
  c.name = "split d128 causal s300";
  c.hq = 2, c.hkv = 1, c.s = c.t = 300, c.d = c.dv = 128, c.causal = true;
  add(c);
  c = Case();
  c.name = "split win256 sinks4 s600";
  c.hq = 3, c.hkv = 1, c.s = c.t = 600, c.d = c.dv = 64, c.causal = true;
  c.window = 256, c.sinks = 4;
  add(c);
  c = Case();
  c.name = "split s100 t600 d64 dv40";
  c.hq = 2, c.hkv = 1, c.s = 100, c.t = 600, c.d = 64, c.dv = 40;
  add(c);
  c = Case();
  c.name = "d128 causal s130";
  c.hq = 2, c.hkv = 1, c.s = c.t = 130, c.d = c.dv = 128, c.causal = true;
  add(c);
  c = Case();
  c.name = "d200 s33";
  c.hq = 1, c.hkv = 1, c.s = c.t = 33, c.d = c.dv = 200;
  add(c);
  c = Case();
  c.name = "decode s1 t2000 win sinks";
  c.b = 2, c.hq = 9, c.hkv = 3, c.s = 1, c.t = 2000, c.d = c.dv = 64;
  c.causal = true, c.window = 700, c.sinks = 4, c.bshd = true;
  add(c);
  c = Case();
  c.name = "decode s4 t700 d128 add";
  c.b = 1, c.hq = 3, c.hkv = 3, c.s = 4, c.t = 700, c.d = c.dv = 128;
  c.causal = true, c.maskAdd = 2;
  add(c);
  c = Case();
  c.name = "decode s3 gqa 8/2 keep";
  c.b = 2, c.hq = 8, c.hkv = 2, c.s = 3, c.t = 261, c.d = c.dv = 64;
  c.maskKeep = 1;
  add(c);
  c = Case();
  c.name = "decode s8 d200 t333";
  c.b = 1, c.hq = 2, c.hkv = 1, c.s = 8, c.t = 333, c.d = c.dv = 200;
  c.causal = true;
  add(c);
  c = Case();
  // (Blocks of 64: every row then sees an unpadded key. With blocks of 32,
  // rows at positions 98, 99 of items padded from key 75 / 50 on see only
  // -10000 scores, which f32 holds to ~1e-3: no f32 kernel meets 2e-5.)
  c.name = "decode s2 block64 d24 dv40";
  c.b = 2, c.hq = 4, c.hkv = 4, c.s = 2, c.t = 100, c.d = 24, c.dv = 40;
  c.block = 64, c.maskAdd = 1;
  add(c);
  c = Case();
  c.name = "decode s1 d45 scalar k/v";
  c.b = 2, c.hq = 6, c.hkv = 2, c.s = 1, c.t = 300, c.d = c.dv = 45;
  c.causal = true, c.maskKeep = 2;
  add(c);
  c = Case();
  c.name = "decode s3 d27 dv99";
  c.b = 1, c.hq = 2, c.hkv = 1, c.s = 3, c.t = 150, c.d = 27, c.dv = 99;
  c.causal = true, c.bshd = true;
  add(c);
  c = Case();
  c.name = "decode s1 b32 t512 pad";
  c.b = 32, c.hq = 9, c.hkv = 3, c.s = 1, c.t = 512, c.d = c.dv = 64;
  c.causal = true, c.maskKeep = 2;
  add(c);
  c = Case();
  c.name = "decode s5 layout16 t96";
  c.hq = 2, c.hkv = 2, c.s = 5, c.t = 96, c.d = c.dv = 32, c.layoutBlock = 16;
  c.causal = true;
  add(c);
  c = Case();
  // The lane-group decode kernel's divided structures: blocks with 6 rows
  // (two row groups, the second of 2), a layout.
  c.name = "decode s2 gqa 9/3 d128 block64";
  c.b = 2, c.hq = 9, c.hkv = 3, c.s = 2, c.t = 400, c.d = c.dv = 128;
  c.causal = true, c.block = 64, c.maskKeep = 2;
  add(c);
  c = Case();
  c.name = "decode s1 layout16 t200 d64";
  c.hq = 4, c.hkv = 2, c.s = 1, c.t = 200, c.d = c.dv = 64, c.layoutBlock = 16;
  c.causal = true;
  add(c);
  c = Case();
  c.name = "t0";
  c.hq = 2, c.hkv = 2, c.s = 3, c.t = 0, c.d = c.dv = 16;
  add(c);
  return cs;
}

/// A rope call (launchAttentionRope): q [b, hq, s, d] before its rotary,
/// the cache [b, hkv, t, d] / [b, hkv, t, d], k_new as a view of a
/// [b, s, hkv, d] buffer, v_new dense, cos / sin [b, 1, s, d] (b > 1) or
/// [1, 1, s, d], causal, a keep mask [b, 1, 1, t] of keys [0, past + s).
struct RopeCase {
  std::string name;
  int64_t b = 1, hq = 9, hkv = 3, s = 1, t = 512, d = 64, past = 0;
  bool split = false; // AttnRope::split: tfc_attn_rope_write + the kernel
};

/// Runs one rope case in every mode, with scratch and PDL, then without;
/// returns the number of failures.
int runRopeCase(const RopeCase &c, CUstream stream) {
  std::mt19937 rng(4321 + c.s * 7 + c.past * 13 + c.d + c.b * 3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int64_t b = c.b, hq = c.hq, hkv = c.hkv, s = c.s, t = c.t, d = c.d;
  const int64_t nq = b * hq * s * d, nc = b * hkv * t * d, nn = b * hkv * s * d;
  const int64_t cb = b > 1 ? b : 1, ncs = cb * s * d;
  std::vector<float> q(nq), kc(nc), vc(nc), kNew(nn), vNew(nn), cs(ncs),
      sn(ncs);
  for (float &x : q)
    x = 1.5f * u(rng);
  for (float &x : kc)
    x = 1.5f * u(rng);
  for (float &x : vc)
    x = u(rng);
  for (float &x : kNew)
    x = 1.5f * u(rng);
  for (float &x : vNew)
    x = u(rng);
  for (int64_t bi = 0; bi < cb; ++bi)
    for (int64_t i = 0; i < s; ++i)
      for (int64_t e = 0; e < d; ++e) {
        const double a =
            (c.past + i + 7 * bi) * std::pow(10000.0, -2.0 * (e % (d / 2)) / d);
        cs[(bi * s + i) * d + e] = static_cast<float>(std::cos(a));
        sn[(bi * s + i) * d + e] = static_cast<float>(std::sin(a));
      }
  std::vector<uint8_t> keep(b * t, 0);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t j = 0; j < c.past + s && j < t; ++j)
      keep[bi * t + j] = 1;

  // Strides: q, the cache, v_new, out dense; k_new [b, s, hkv, d].
  const int64_t qs[4] = {hq * s * d, s * d, d, 1};
  const int64_t ks[4] = {hkv * t * d, t * d, d, 1};
  const int64_t kns[4] = {s * hkv * d, d, hkv * d, 1};
  const int64_t vns[4] = {hkv * s * d, s * d, d, 1};
  const int64_t css[4] = {cb > 1 ? s * d : 0, 0, d, 1};
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));

  // The host path (no GPU run on this thread: the emulation) on copies.
  std::vector<float> hk(kc), hv(vc), hout(nq, NAN);
  int64_t hostPast = c.past;
  {
    auto desc = [](float *base, std::initializer_list<int64_t> sizes,
                   const int64_t *st) {
      tfcrt_memref4_f32 r{};
      r.allocated = r.aligned = base;
      int i = 0;
      for (int64_t x : sizes) {
        r.sizes[i] = x;
        r.strides[i] = st[i];
        ++i;
      }
      return r;
    };
    tfcrt_memref4_f32 qd = desc(q.data(), {b, hq, s, d}, qs),
                      kd = desc(hk.data(), {b, hkv, t, d}, ks),
                      vd = desc(hv.data(), {b, hkv, t, d}, ks),
                      od = desc(hout.data(), {b, hq, s, d}, qs),
                      knd = desc(kNew.data(), {b, hkv, s, d}, kns),
                      vnd = desc(vNew.data(), {b, hkv, s, d}, vns),
                      cd = desc(cs.data(), {cb, 1, s, d}, css),
                      sd = desc(sn.data(), {cb, 1, s, d}, css), ad{};
    tfcrt_memref4_i8 keepD{};
    keepD.allocated = keepD.aligned = reinterpret_cast<int8_t *>(keep.data());
    const int64_t msz[4] = {b, 1, 1, t}, mst[4] = {t, 0, 0, 1};
    for (int i = 0; i < 4; ++i) {
      keepD.sizes[i] = msz[i];
      keepD.strides[i] = mst[i];
    }
    tfcrt_memref2_i8 layoutD{};
    tfcrt_memref0_i64 pastD{&hostPast, &hostPast, 0};
    _mlir_ciface_tfcrt_gpu_attention_f32_rope(&qd, &kd, &vd, &keepD, &ad, &od,
                                              scale, 1, 0, 0, 0, &layoutD, 0,
                                              &knd, &vnd, &cd, &sd, &pastD);
  }
  // rot(q) for naive: x cos + rotate_half(x) sin, each product rounded.
  std::vector<float> qRotHost(nq);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t i = 0; i < s; ++i)
        for (int64_t e = 0; e < d; ++e) {
          const float *x = q.data() + ((bi * hq + h) * s + i) * d;
          const float hx = e < d / 2 ? -x[e + d / 2] : x[e - d / 2];
          const int64_t ci = (cb > 1 ? bi * s * d : 0) + i * d + e;
          const float p0 = x[e] * cs[ci], p1 = hx * sn[ci];
          qRotHost[((bi * hq + h) * s + i) * d + e] = p0 + p1;
        }

  attn::Params p;
  p.b = b, p.hq = hq, p.hkv = hkv, p.s = s, p.t = t, p.d = p.dv = d;
  std::memcpy(p.qs, qs, sizeof qs);
  std::memcpy(p.ks, ks, sizeof ks);
  std::memcpy(p.vs, ks, sizeof ks);
  std::memcpy(p.os, qs, sizeof qs);
  p.scale = scale;
  p.causal = true;
  p.keepS[0] = t, p.keepS[3] = 1;

  DevBuf dq(nq * 4), dk(nc * 4), dv(nc * 4), dkn(nn * 4), dvn(nn * 4),
      dcos(ncs * 4), dsin(ncs * 4), dkeep(b * t), dout(nq * 4), dqRot(nq * 4);
  dq.put(q.data());
  dkn.put(kNew.data());
  dvn.put(vNew.data());
  dcos.put(cs.data());
  dsin.put(sn.data());
  dkeep.put(keep.data());
  // past where a model's run has it: pinned host memory (unified
  // addressing: the kernels read it there).
  void *pinned = nullptr;
  if (!ok(D->cuMemAllocHost(&pinned, 8), "cuMemAllocHost"))
    return 1;
  *static_cast<int64_t *>(pinned) = c.past;

  cuda::AttnRope r;
  r.kNew = reinterpret_cast<const float *>(dkn.p);
  r.vNew = reinterpret_cast<const float *>(dvn.p);
  r.cos = reinterpret_cast<const float *>(dcos.p);
  r.sin = reinterpret_cast<const float *>(dsin.p);
  std::memcpy(r.kNewS, kns, sizeof kns);
  std::memcpy(r.vNewS, vns, sizeof vns);
  std::memcpy(r.cosS, css, sizeof css);
  std::memcpy(r.sinS, css, sizeof css);
  r.past = static_cast<const int64_t *>(pinned);
  r.split = c.split;
  attn::Params g = p;
  g.q = reinterpret_cast<const float *>(dq.p);
  g.k = reinterpret_cast<const float *>(dk.p);
  g.v = reinterpret_cast<const float *>(dv.p);
  g.out = reinterpret_cast<float *>(dout.p);
  g.keep = reinterpret_cast<const uint8_t *>(dkeep.p);
  const char *path = cuda::ropeFused(g, r) ? "fused" : "split";

  int failures = 0;
  for (int pass = 0; pass < 2; ++pass)
    for (AttnMode mode : {AttnMode::F32, AttnMode::F16, AttnMode::BF16}) {
      const char *mname = modeName(mode);
      const char *how = pass == 0 ? "split keys, pdl" : "unsplit";
      cuda::AttnScratch none;
      // A fresh cache each time: the rows must be written by this call.
      dk.put(kc.data());
      dv.put(vc.data());
      std::vector<float> nan(nq, NAN);
      dout.put(nan.data());
      // (A copy from pageable memory may still be in flight when it
      // returns; the stream does not order itself after the null stream.)
      ok(D->cuCtxSynchronize(), "cuCtxSynchronize");
      std::string err;
      if (!cuda::launchAttentionRope(g, r, mode, stream, err,
                                     reinterpret_cast<float *>(dqRot.p),
                                     pass == 0 ? scratch : none, pass == 0) ||
          !ok(D->cuStreamSynchronize(stream), "cuStreamSynchronize")) {
        std::printf("FAIL rope %-30s %-4s %s launch: %s\n", c.name.c_str(),
                    mname, how, err.c_str());
        ++failures;
        continue;
      }
      std::vector<float> gk(nc), gv(nc), out(nq);
      ok(D->cuMemcpyDtoHAsync(gk.data(), dk.p, nc * 4, stream), "DtoH");
      ok(D->cuMemcpyDtoHAsync(gv.data(), dv.p, nc * 4, stream), "DtoH");
      ok(D->cuMemcpyDtoHAsync(out.data(), dout.p, nq * 4, stream), "DtoH");
      D->cuStreamSynchronize(stream);
      // The cache: the host path's, rows written and untouched alike.
      int64_t cacheBad = 0;
      for (int64_t e = 0; e < nc; ++e) {
        cacheBad +=
            !(std::fabs(gk[e] - hk[e]) <= 1e-6 * (1 + std::fabs(hk[e])));
        cacheBad +=
            !(std::fabs(gv[e] - hv[e]) <= 1e-6 * (1 + std::fabs(hv[e])));
      }
      // The output: naive on what the kernel multiplies; in f32 also the
      // host path's output.
      attn::Params h = p;
      h.keep = keep.data();
      const std::vector<double> ref =
          naiveRounded(mode, h, qRotHost, hk, hv, nq);
      const double tol = modeTol(mode);
      double worst = 0;
      int64_t bad = 0;
      for (int64_t e = 0; e < nq; ++e) {
        const double diff = std::fabs(out[e] - ref[e]);
        bad += !(diff <= tol * (1 + std::fabs(ref[e])));
        if (mode == AttnMode::F32)
          bad +=
              !(std::fabs(out[e] - hout[e]) <= tol * (1 + std::fabs(hout[e])));
        worst = std::isnan(out[e]) ? INFINITY : std::max(worst, diff);
      }
      const bool good = bad == 0 && cacheBad == 0;
      std::printf("%s rope %-30s %-4s %s (%s) max abs err %.3g (tol %.0e), "
                  "%lld cache elements off\n",
                  good ? "PASS" : "FAIL", c.name.c_str(), mname, how, path,
                  worst, tol, (long long)cacheBad);
      failures += !good;
      if (mode == AttnMode::F32)
        continue;
      // A half out (the _rope_hout entries' kernels): the f32 out above
      // rounded, bit for bit (the call writes the same cache rows again).
      const cuda::GemmType ht =
          mode == AttnMode::BF16 ? cuda::GemmType::BF16 : cuda::GemmType::F16;
      DevBuf dh(nq * 2);
      std::vector<uint16_t> fill(nq, 0x7e01), hh(nq, 0);
      dh.put(fill.data());
      ok(D->cuCtxSynchronize(), "cuCtxSynchronize");
      attn::Params gh = g;
      gh.out = reinterpret_cast<float *>(dh.p);
      gh.outType = mode == AttnMode::BF16 ? attn::Params::OutType::BF16
                                          : attn::Params::OutType::F16;
      if (!cuda::launchAttentionRope(gh, r, mode, stream, err,
                                     reinterpret_cast<float *>(dqRot.p),
                                     pass == 0 ? scratch : none, pass == 0) ||
          !ok(D->cuStreamSynchronize(stream), "cuStreamSynchronize")) {
        std::printf("FAIL rope %-30s %-4s %s half out launch: %s\n",
                    c.name.c_str(), mname, how, err.c_str());
        ++failures;
        continue;
      }
      ok(D->cuMemcpyDtoHAsync(hh.data(), dh.p, nq * 2, stream), "DtoH");
      D->cuStreamSynchronize(stream);
      int64_t diffs = 0;
      for (int64_t e = 0; e < nq; ++e) {
        uint16_t want = 0;
        cuda::storeElem(ht, &want, out[e]);
        diffs += hh[e] != want;
      }
      std::printf("%s rope %-30s %-4s %s half out: %lld of %lld elements "
                  "differ from the f32 result rounded\n",
                  diffs ? "FAIL" : "PASS", c.name.c_str(), mname, how,
                  (long long)diffs, (long long)nq);
      failures += diffs != 0;
    }
  D->cuMemFreeHost(pinned);
  return failures;
}

std::vector<RopeCase> ropeCases() {
  std::vector<RopeCase> cs;
  struct Geo {
    int64_t hq, hkv, d;
  };
  for (Geo geo : {Geo{9, 3, 64}, Geo{8, 2, 128}})
    for (int64_t b : {1, 3})
      for (int64_t s : {1, 2})
        for (int64_t past : {0, 31, 63, 64, 100, 511}) {
          RopeCase c;
          c.hq = geo.hq, c.hkv = geo.hkv, c.d = geo.d;
          c.b = b, c.s = s, c.past = past;
          c.name = format("decode %lld/%lld d%lld b%lld s%lld past %lld",
                          (long long)c.hq, (long long)c.hkv, (long long)c.d,
                          (long long)b, (long long)s, (long long)past);
          cs.push_back(c);
        }
  for (int64_t past : {0, 63, 511}) {
    RopeCase c;
    c.b = 3, c.s = 2, c.past = past, c.split = true;
    c.name = format("decode split 9/3 d64 b3 s2 past %lld", (long long)past);
    cs.push_back(c);
  }
  RopeCase c;
  c.hq = 8, c.hkv = 2, c.d = 128, c.b = 1, c.s = 1, c.past = 200;
  c.split = true;
  c.name = "decode split 8/2 d128 b1 s1";
  cs.push_back(c);
  // Head dim 32: the general decode kernel, after tfc_attn_rope_write.
  c = RopeCase();
  c.hq = 4, c.hkv = 2, c.d = 32, c.b = 3, c.s = 2, c.past = 300;
  c.name = "decode 4/2 d32 b3 s2 (general)";
  cs.push_back(c);
  for (int64_t past : {0, 31, 480}) {
    RopeCase p;
    p.b = 1, p.s = 40, p.past = past;
    p.name = format("prefill 9/3 d64 s40 past %lld", (long long)past);
    cs.push_back(p);
  }
  return cs;
}

/// The median of 50 timed runs of `calls` launches back to back (CUDA
/// events, after 10 untimed), in microseconds a launch; -1 when a launch
/// fails (printed). One launch alone includes the launch's own latency,
/// which a replayed graph mostly hides; back to back, each kernel starts
/// as the previous one ends, as in a graph.
double medianUs(const attn::Params &p, AttnMode mode, CUstream stream,
                int calls = 1) {
  CUevent e0, e1;
  D->cuEventCreate(&e0, 0);
  D->cuEventCreate(&e1, 0);
  std::string err;
  std::vector<float> ms;
  for (int it = 0; it < 60; ++it) {
    D->cuEventRecord(e0, stream);
    bool ok = true;
    for (int c = 0; c < calls && ok; ++c)
      ok = cuda::launchAttention(p, mode, stream, err, nullptr, nullptr,
                                 scratch);
    if (!ok) {
      std::printf("launch failed: %s\n", err.c_str());
      ms.clear();
      break;
    }
    D->cuEventRecord(e1, stream);
    D->cuEventSynchronize(e1);
    float t = 0;
    D->cuEventElapsedTime(&t, e0, e1);
    if (it >= 10)
      ms.push_back(t / calls);
  }
  D->cuEventDestroy(e0);
  D->cuEventDestroy(e1);
  if (ms.empty())
    return -1;
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2] * 1e3;
}

int bench(CUstream stream) {
  // MiniLM-L6 at batch 32 x 128 and 1 x 128: [b, s, 12, 32] views, padding.
  for (int64_t b : {1, 32}) {
    Case c;
    c.b = b, c.hq = c.hkv = 12, c.s = c.t = 128, c.d = c.dv = 32;
    attn::Params p;
    p.b = b, p.hq = p.hkv = 12, p.s = p.t = 128, p.d = p.dv = 32;
    strides(c, 12, 128, 32, true, p.qs);
    std::memcpy(p.ks, p.qs, sizeof p.qs);
    std::memcpy(p.vs, p.qs, sizeof p.qs);
    std::memcpy(p.os, p.qs, sizeof p.qs);
    p.scale = 0.17f;
    const int64_t n = b * 128 * 12 * 32;
    DevBuf dq(n * 4), dk(n * 4), dv(n * 4), dout(n * 4), dadd(b * 128 * 4);
    std::vector<float> host(n, 0.01f), mask(b * 128, 0.0f);
    dq.put(host.data());
    dk.put(host.data());
    dv.put(host.data());
    dadd.put(mask.data());
    p.q = reinterpret_cast<const float *>(dq.p);
    p.k = reinterpret_cast<const float *>(dk.p);
    p.v = reinterpret_cast<const float *>(dv.p);
    p.out = reinterpret_cast<float *>(dout.p);
    p.add = reinterpret_cast<const float *>(dadd.p);
    p.addS[0] = 128, p.addS[3] = 1;
    for (AttnMode mode : {AttnMode::F32, AttnMode::F16, AttnMode::BF16}) {
      const double us = medianUs(p, mode, stream);
      if (us < 0)
        return 1;
      const double flop = 4.0 * b * 12 * 128 * 128 * 32;
      std::printf("bench minilm b%-2lld %-4s median %.1f us (%.1f TFLOP/s)\n",
                  (long long)b, modeName(mode), us, flop / (us * 1e-6) / 1e12);
    }
  }
  // SmolLM2-135M's attention (9 / 3 heads, d 64, [b, h, t, d] cache rows,
  // causal, a [b, 1, 1, t] keep mask): decode steps over a t-row cache of
  // which `valid` rows are filled (batch 1 and 32), and a 512-token prefill.
  struct Shape {
    int64_t b, s, t, valid;
  };
  for (Shape sh : {Shape{1, 1, 512, 96}, Shape{1, 1, 2048, 1500},
                   Shape{32, 1, 512, 96}, Shape{1, 512, 512, 512}}) {
    const int64_t b = sh.b, s = sh.s, t = sh.t, valid = sh.valid;
    attn::Params p;
    p.b = b, p.hq = 9, p.hkv = 3, p.s = s, p.t = t, p.d = p.dv = 64;
    Case c;
    strides(c, 9, s, 64, false, p.qs);
    strides(c, 3, t, 64, false, p.ks);
    std::memcpy(p.vs, p.ks, sizeof p.ks);
    std::memcpy(p.os, p.qs, sizeof p.qs);
    p.scale = 0.125f;
    p.causal = true;
    DevBuf dq(b * 9 * s * 64 * 4), dk(b * 3 * t * 64 * 4),
        dv(b * 3 * t * 64 * 4), dout(b * 9 * s * 64 * 4), dkeep(b * t);
    std::vector<float> hq(b * 9 * s * 64, 0.01f), hk(b * 3 * t * 64, 0.01f);
    std::vector<uint8_t> keep(b * t, 0);
    for (int64_t bi = 0; bi < b; ++bi)
      std::fill_n(keep.begin() + bi * t, valid, 1);
    dq.put(hq.data());
    dk.put(hk.data());
    dv.put(hk.data());
    dkeep.put(keep.data());
    p.q = reinterpret_cast<const float *>(dq.p);
    p.k = reinterpret_cast<const float *>(dk.p);
    p.v = reinterpret_cast<const float *>(dv.p);
    p.out = reinterpret_cast<float *>(dout.p);
    p.keep = reinterpret_cast<const uint8_t *>(dkeep.p);
    p.keepS[0] = t, p.keepS[3] = 1;
    for (AttnMode mode : {AttnMode::F32, AttnMode::BF16}) {
      const double us = medianUs(p, mode, stream);
      const double b2b = medianUs(p, mode, stream, 20);
      if (us < 0 || b2b < 0)
        return 1;
      std::printf("bench smollm2 %-7s b%-2lld %-4s median %.1f us, %.1f us a "
                  "call back to back (t %lld, %lld rows kept)\n",
                  s == 1 ? "decode" : "prefill", (long long)b, modeName(mode),
                  us, b2b, (long long)t, (long long)valid);
    }
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  // Calls of few rows take the decode kernel (the runtime's default;
  // TFC_ATTN_DECODE=0 here: the other kernels on the same calls, for
  // comparisons).
  CUstream stream = nullptr;
  if (int rc = openDevice(stream))
    return rc;
  CUdeviceptr scratchBase = 0;
  scratch.bytes = 4 << 20;
  if (!ok(D->cuMemAlloc(&scratchBase, scratch.bytes), "cuMemAlloc") ||
      !ok(D->cuMemsetD8Async(scratchBase, 0, scratch.bytes, stream),
          "cuMemsetD8Async"))
    return 1;
  scratch.base = scratchBase;
  if (argc > 1 && std::string(argv[1]) == "--bench")
    return bench(stream);
  int failures = 0;
  for (const Case &c : cases())
    failures += runCase(c, stream);
  for (const RopeCase &c : ropeCases())
    failures += runRopeCase(c, stream);
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
