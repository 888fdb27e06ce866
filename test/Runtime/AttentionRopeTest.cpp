//===- AttentionRopeTest.cpp - the _rope attention entries on the host ----===//
//
// tfcrt_gpu_attention_*_rope outside a GPU run: what --cuda-emulate-on-host
// executes, and the reference tfcrt-gpu-attention-test holds the kernels
// to. Checked against the contract (tfc_kernels.h) written out here: q and
// the new keys rotated rotate-half style, the new rows copied into a copy
// of the cache, then tfcrt_attention_f32 on them. After the call the cache
// must be that copy bit for bit (the new rows written, every other row and
// the rows' padding untouched, nothing at or past T), and the output the
// reference's. Shapes: GQA 6 / 2 heads, s 1 and 5, d 8 and 64, T 40, past
// 0, 7, T - s and one past T - s; cos / sin broadcast or per item / head.
//
//===----------------------------------------------------------------------===//

#include "Cuda/GpuGemm.h"
#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace tfcrt;

namespace {

struct Case {
  int64_t b = 2, hq = 6, hkv = 2, s = 1, d = 8, t = 40, past = 0;
  bool cosPerItem = false; // cos / sin [b, 1, s, d], else [1, 1, s, d]
  bool cosPerHead = false; // [.., hq, s, d] (hq == hkv)
  std::string str() const {
    return format("b %lld hq %lld hkv %lld s %lld d %lld t %lld past %lld "
                  "cos per item %d per head %d",
                  (long long)b, (long long)hq, (long long)hkv, (long long)s,
                  (long long)d, (long long)t, (long long)past, cosPerItem,
                  cosPerHead);
  }
};

tfcrt_memref4_f32 desc4(float *base, const int64_t *sizes,
                        const int64_t *strides) {
  tfcrt_memref4_f32 r{};
  r.allocated = r.aligned = base;
  for (int i = 0; i < 4; ++i) {
    r.sizes[i] = sizes[i];
    r.strides[i] = strides[i];
  }
  return r;
}

/// One call's buffers and descriptors, as compiled code passes them: q
/// dense, the cache [b, hkv, t, d] in rows padded by 3 floats, k_new a view
/// of a [b, s, hkv, d] buffer (a projection's output), v_new dense, a keep
/// mask [b, 1, 1, t] that keeps the first past + s keys.
struct Problem {
  Case c;
  static constexpr int64_t kPad = 3;
  std::vector<float> q, kc, vc, kNew, vNew, cos, sin, out;
  std::vector<int8_t> keep;
  int64_t pastValue = 0;
  tfcrt_memref4_f32 qd, kd, vd, kNewD, vNewD, cosD, sinD, outD, addD;
  tfcrt_memref4_i8 keepD;
  tfcrt_memref2_i8 layoutD;
  tfcrt_memref0_i64 pastD;

  Problem(const Case &cs, std::mt19937 &rng) : c(cs) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const int64_t b = c.b, s = c.s, d = c.d, t = c.t, row = d + kPad;
    auto fill = [&](std::vector<float> &x, size_t n) {
      x.resize(n);
      for (float &e : x)
        e = u(rng);
    };
    fill(q, b * c.hq * s * d);
    fill(kc, b * c.hkv * t * row);
    fill(vc, b * c.hkv * t * row);
    fill(kNew, b * s * c.hkv * d);
    fill(vNew, b * c.hkv * s * d);
    out.assign(b * c.hq * s * d, 0.0f);
    // The exporters' tables: angle (position) * frequency, halves equal.
    const int64_t cb = c.cosPerItem ? b : 1, ch = c.cosPerHead ? c.hq : 1;
    cos.resize(cb * ch * s * d);
    sin.resize(cos.size());
    for (int64_t bi = 0; bi < cb; ++bi)
      for (int64_t h = 0; h < ch; ++h)
        for (int64_t i = 0; i < s; ++i)
          for (int64_t e = 0; e < d; ++e) {
            const double f = std::pow(10000.0, -2.0 * (e % (d / 2)) / d);
            const double a = (c.past + i + 3 * bi + 5 * h) * f;
            cos[((bi * ch + h) * s + i) * d + e] =
                static_cast<float>(std::cos(a));
            sin[((bi * ch + h) * s + i) * d + e] =
                static_cast<float>(std::sin(a));
          }
    keep.assign(b * t, 0);
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t j = 0; j < c.past + s && j < t; ++j)
        keep[bi * t + j] = 1;
    pastValue = c.past;

    const int64_t qsz[4] = {b, c.hq, s, d},
                  qst[4] = {c.hq * s * d, s * d, d, 1};
    const int64_t ksz[4] = {b, c.hkv, t, d},
                  kst[4] = {c.hkv * t * row, t * row, row, 1};
    const int64_t nsz[4] = {b, c.hkv, s, d},
                  knst[4] = {s * c.hkv * d, d, c.hkv * d, 1},
                  vnst[4] = {c.hkv * s * d, s * d, d, 1};
    // A size-1 dim's stride is arbitrary in MLIR: 777 must not be used.
    const int64_t csz[4] = {cb, ch, s, d},
                  cst[4] = {cb == 1 ? 777 : ch * s * d, ch == 1 ? 777 : s * d,
                            d, 1};
    qd = desc4(q.data(), qsz, qst);
    kd = desc4(kc.data(), ksz, kst);
    vd = desc4(vc.data(), ksz, kst);
    kNewD = desc4(kNew.data(), nsz, knst);
    vNewD = desc4(vNew.data(), nsz, vnst);
    cosD = desc4(cos.data(), csz, cst);
    sinD = desc4(sin.data(), csz, cst);
    outD = desc4(out.data(), qsz, qst);
    std::memset(&addD, 0, sizeof(addD));
    std::memset(&layoutD, 0, sizeof(layoutD));
    keepD.allocated = keepD.aligned = keep.data();
    keepD.offset = 0;
    const int64_t msz[4] = {b, 1, 1, t}, mst[4] = {t, 777, 777, 1};
    for (int i = 0; i < 4; ++i) {
      keepD.sizes[i] = msz[i];
      keepD.strides[i] = mst[i];
    }
    pastD.allocated = pastD.aligned = &pastValue;
    pastD.offset = 0;
  }

  float scale() const { return 1.0f / std::sqrt(static_cast<float>(c.d)); }

  void call(void (*fn)(TFCRT_ATTENTION_ROPE_PARAMS_OUT(tfcrt_memref4_f32))) {
    fn(&qd, &kd, &vd, &keepD, &addD, &outD, scale(), /*causal=*/1, 0, 0, 0,
       &layoutD, 0, &kNewD, &vNewD, &cosD, &sinD, &pastD);
  }
};

/// The contract literally: x cos + rotate_half(x) sin, rotate_half(x) =
/// concat(-x2, x1), on row i of a [.., s, d] tensor (x at unit stride).
std::vector<float> rotRow(const Problem &pr, const float *x, int64_t bi,
                          int64_t h, int64_t i) {
  const int64_t d = pr.c.d, half = d / 2;
  std::vector<float> rh(d), y(d);
  for (int64_t e = 0; e < half; ++e) {
    rh[e] = -x[half + e];
    rh[half + e] = x[e];
  }
  const int64_t cb = pr.c.cosPerItem ? bi : 0, ch = pr.c.cosPerHead ? h : 0;
  const int64_t nh = pr.c.cosPerHead ? pr.c.hq : 1;
  const float *cs = pr.cos.data() + ((cb * nh + ch) * pr.c.s + i) * d;
  const float *sn = pr.sin.data() + ((cb * nh + ch) * pr.c.s + i) * d;
  for (int64_t e = 0; e < d; ++e) {
    const float a = x[e] * cs[e], b = rh[e] * sn[e];
    y[e] = a + b;
  }
  return y;
}

/// The expected cache (kc, vc of a copy of pr) and output of pr's call.
void reference(const Problem &pr, std::vector<float> &kc,
               std::vector<float> &vc, std::vector<float> &out) {
  const Case &c = pr.c;
  const int64_t d = c.d, row = d + Problem::kPad;
  std::vector<float> q(pr.q.size());
  for (int64_t bi = 0; bi < c.b; ++bi)
    for (int64_t h = 0; h < c.hq; ++h)
      for (int64_t i = 0; i < c.s; ++i) {
        const int64_t at = ((bi * c.hq + h) * c.s + i) * d;
        const std::vector<float> y = rotRow(pr, pr.q.data() + at, bi, h, i);
        std::copy(y.begin(), y.end(), q.begin() + at);
      }
  kc = pr.kc;
  vc = pr.vc;
  for (int64_t bi = 0; bi < c.b; ++bi)
    for (int64_t g = 0; g < c.hkv; ++g)
      for (int64_t i = 0; i < c.s; ++i) {
        const int64_t j = c.past + i;
        if (j >= c.t)
          continue;
        const float *kn = pr.kNew.data() + ((bi * c.s + i) * c.hkv + g) * d;
        const float *vn = pr.vNew.data() + ((bi * c.hkv + g) * c.s + i) * d;
        const std::vector<float> y = rotRow(pr, kn, bi, g, i);
        const int64_t at = ((bi * c.hkv + g) * c.t + j) * row;
        std::copy(y.begin(), y.end(), kc.begin() + at);
        std::copy(vn, vn + d, vc.begin() + at);
      }
  out.assign(pr.out.size(), 0.0f);
  tfcrt_memref4_f32 qd = pr.qd, kd = pr.kd, vd = pr.vd, od = pr.outD;
  tfcrt_memref4_f32 addD = pr.addD;
  tfcrt_memref4_i8 keepD = pr.keepD;
  tfcrt_memref2_i8 layoutD = pr.layoutD;
  qd.allocated = qd.aligned = q.data();
  kd.allocated = kd.aligned = kc.data();
  vd.allocated = vd.aligned = vc.data();
  od.allocated = od.aligned = out.data();
  _mlir_ciface_tfcrt_attention_f32(&qd, &kd, &vd, &keepD, &addD, &od,
                                   pr.scale(), 1, 0, 0, 0, &layoutD, 0);
}

int64_t differing(const std::vector<float> &a, const std::vector<float> &b) {
  int64_t n = 0;
  for (size_t i = 0; i < a.size(); ++i)
    n += std::memcmp(&a[i], &b[i], 4) != 0;
  return n;
}

std::vector<Case> cases() {
  std::vector<Case> cs;
  for (int64_t s : {1, 5})
    for (int64_t d : {8, 64})
      for (int64_t past : {int64_t(0), int64_t(7), 40 - s}) {
        Case c;
        c.s = s;
        c.d = d;
        c.past = past;
        cs.push_back(c);
      }
  Case c;
  c.s = 5;
  c.past = c.t - 2; // rows past + 2 .. are past T: not written
  cs.push_back(c);
  c = Case();
  c.s = 5;
  c.d = 64;
  c.past = 11;
  c.cosPerItem = true;
  cs.push_back(c);
  c.hq = c.hkv = 2;
  c.cosPerHead = true;
  cs.push_back(c);
  return cs;
}

TEST(AttentionRope, HostMatchesContract) {
  std::mt19937 rng(77);
  for (const Case &c : cases()) {
    SCOPED_TRACE(c.str());
    Problem pr(c, rng);
    std::vector<float> kc, vc, ref;
    reference(pr, kc, vc, ref);
    pr.call(_mlir_ciface_tfcrt_gpu_attention_f32_rope);
    std::string msg;
    ASSERT_EQ(takeKernelError(msg), TFC_OK) << msg;
    EXPECT_EQ(differing(pr.kc, kc), 0) << "k cache";
    EXPECT_EQ(differing(pr.vc, vc), 0) << "v cache";
    EXPECT_EQ(differing(pr.out, ref), 0) << "out";
    for (float x : pr.out)
      ASSERT_TRUE(std::isfinite(x));
    // The half-mode entries compute the same on the host (the GPU rounds
    // q, k and v; the emulation is f32): the same cache and output again.
    std::fill(pr.out.begin(), pr.out.end(), 0.0f);
    pr.call(_mlir_ciface_tfcrt_gpu_attention_bf16mma_rope);
    EXPECT_EQ(differing(pr.kc, kc), 0) << "k cache (bf16mma)";
    EXPECT_EQ(differing(pr.out, ref), 0) << "out (bf16mma)";
  }
}

/// The _hout entries: the f32 result rounded to nearest even.
TEST(AttentionRope, HostHalfOut) {
  std::mt19937 rng(78);
  Case c;
  c.s = 5;
  c.d = 64;
  c.past = 20;
  for (cuda::GemmType ht : {cuda::GemmType::F16, cuda::GemmType::BF16}) {
    Problem pr(c, rng);
    std::vector<float> kc, vc, ref;
    reference(pr, kc, vc, ref);
    std::vector<uint16_t> h(ref.size(), 0x7e01);
    tfcrt_memref4_f16 od{};
    od.allocated = od.aligned = h.data();
    for (int i = 0; i < 4; ++i) {
      od.sizes[i] = pr.outD.sizes[i];
      od.strides[i] = pr.outD.strides[i];
    }
    auto fn = ht == cuda::GemmType::F16
                  ? _mlir_ciface_tfcrt_gpu_attention_f16mma_rope_hout
                  : _mlir_ciface_tfcrt_gpu_attention_bf16mma_rope_hout;
    fn(&pr.qd, &pr.kd, &pr.vd, &pr.keepD, &pr.addD, &od, pr.scale(), 1, 0, 0, 0,
       &pr.layoutD, 0, &pr.kNewD, &pr.vNewD, &pr.cosD, &pr.sinD, &pr.pastD);
    std::string msg;
    ASSERT_EQ(takeKernelError(msg), TFC_OK) << msg;
    EXPECT_EQ(differing(pr.kc, kc), 0);
    EXPECT_EQ(differing(pr.vc, vc), 0);
    int64_t diffs = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      uint16_t want = 0;
      cuda::storeElem(ht, &want, ref[i]);
      diffs += h[i] != want;
    }
    EXPECT_EQ(diffs, 0);
  }
}

/// Descriptors that do not fit: a kernel error naming the entry and the
/// problem, NaN output, the cache untouched.
TEST(AttentionRope, Errors) {
  std::mt19937 rng(79);
  struct Bad {
    const char *message;
    void (*mutate)(Problem &);
  };
  const Bad bads[] = {
      {"head dim 7 is odd", nullptr},
      {"k_new is [2, 2, 4, 8], expected [2, 2, 5, 8]",
       [](Problem &p) { p.kNewD.sizes[2] = 4; }},
      {"v_new is [2, 1, 5, 8], expected [2, 2, 5, 8]",
       [](Problem &p) { p.vNewD.sizes[1] = 1; }},
      {"cos is [1, 1, 5, 6], expected [1 or 2, 1 or 6, 5, 8]",
       [](Problem &p) { p.cosD.sizes[3] = 6; }},
      {"sin is [3, 1, 5, 8]", [](Problem &p) { p.sinD.sizes[0] = 3; }},
      {"cos / sin have 6 heads",
       [](Problem &p) {
         p.cosD.sizes[1] = 6;
         p.cosD.strides[1] = 0;
       }},
      {"null past descriptor", [](Problem &p) { p.pastD.aligned = nullptr; }},
  };
  for (const Bad &bad : bads) {
    SCOPED_TRACE(bad.message);
    Case c;
    c.s = 5;
    c.d = bad.mutate ? 8 : 7;
    Problem pr(c, rng);
    if (bad.mutate)
      bad.mutate(pr);
    const std::vector<float> kc = pr.kc, vc = pr.vc;
    pr.call(_mlir_ciface_tfcrt_gpu_attention_f32_rope);
    std::string msg;
    EXPECT_EQ(takeKernelError(msg), TFC_ERR_INTERNAL);
    EXPECT_NE(msg.find("tfcrt_gpu_attention_rope: "), std::string::npos) << msg;
    EXPECT_NE(msg.find(bad.message), std::string::npos) << msg;
    int64_t nans = 0;
    for (float x : pr.out)
      nans += std::isnan(x);
    EXPECT_EQ(nans, static_cast<int64_t>(pr.out.size()));
    EXPECT_EQ(differing(pr.kc, kc), 0);
    EXPECT_EQ(differing(pr.vc, vc), 0);
  }
}

} // namespace
