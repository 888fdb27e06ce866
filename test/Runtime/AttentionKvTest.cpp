//===- AttentionKvTest.cpp - attention over a quantized KV cache ----------===//
//
// tfc --kv-dtype=f16|int8: K/V as f16 bits, or int8 codes with one f32
// scale per (batch, kv head, key). Every ISA level (each forced in turn, as
// TFCRT_ISA would) is run on the decode path (the native f16 / int8 blocks
// of avx2 and avx512, which convert in registers), the prefill path (the
// level's f32 block on a dequantized copy of the visible keys) and the key
// split, and compared with attn::naive, which reads the same quantized
// values element by element (kvAt) in double precision, and with the
// generic level. The C entries tfcrt_attention_kv_f16 / _i8 are checked the
// same way, plus their descriptor errors.
//
// Tolerance: as AttentionTest.cpp, 1e-5 * max |v| (the dequantized values
// are exact floats, so the quantized paths add no error of their own).
//
//===----------------------------------------------------------------------===//

#include "Attention/Attention.h"
#include "AttentionParts.h"
#include "Internal.h"
#include "Isa.h"
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace tfcrt;
using namespace tfcrt::attn;
using tfcrt::attn::test::partCuts;
using tfcrt::attn::test::splitKv;

namespace {

unsigned seed() {
  static const unsigned s = std::random_device{}();
  return s;
}

using Kv = Params::KvType;

struct KvCase {
  int64_t b = 1, hq = 1, hkv = 1, s = 1, t = 1, d = 64;
  bool causal = true;
  int64_t window = 0, sinks = 0;
  bool pad = false; // a [b, 1, 1, t] keep mask with padding at the start
  bool sinkQuery = false; // a sink query (tfcrt_attention_kv_*_sq)
  std::string str() const {
    char buf[220];
    std::snprintf(buf, sizeof(buf),
                  "b %lld hq %lld hkv %lld s %lld t %lld d %lld causal %d "
                  "window %lld sinks %lld pad %d sq %d seed %u",
                  (long long)b, (long long)hq, (long long)hkv, (long long)s,
                  (long long)t, (long long)d, causal, (long long)window,
                  (long long)sinks, pad, sinkQuery, seed());
    return buf;
  }
};

/// A problem whose K/V are rows [0, t) of a session-style cache
/// [2, b, hkv, maxLen, d] of f16 bits or int8 codes (+ scales
/// [2, b, hkv, maxLen]).
struct KvProblem {
  KvCase c;
  Kv kv;
  int64_t maxLen;
  std::vector<float> q, out, scales, sq;
  std::vector<uint16_t> half;
  std::vector<int8_t> codes;
  std::vector<uint8_t> keep;
  Params p;
  double vmax = 0;

  KvProblem(const KvCase &cs, Kv type, std::mt19937 &rng)
      : c(cs), kv(type), maxLen(cs.t + 5) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    p.b = c.b, p.hq = c.hq, p.hkv = c.hkv, p.s = c.s, p.t = c.t, p.d = c.d;
    p.dv = c.d;
    q.resize(c.b * c.hq * c.s * c.d);
    for (float &x : q)
      x = u(rng);
    p.q = q.data();
    const int64_t qs[4] = {c.hq * c.s * c.d, c.s * c.d, c.d, 1};
    std::copy(qs, qs + 4, p.qs);
    if (c.sinkQuery) {
      sq.resize(q.size());
      for (float &x : sq)
        x = u(rng);
      p.qSink = sq.data();
      std::copy(qs, qs + 4, p.qSinkS);
    }
    const int64_t rows = 2 * c.b * c.hkv * maxLen, n = rows * c.d;
    const int64_t st[4] = {c.hkv * maxLen * c.d, maxLen * c.d, c.d, 1};
    std::copy(st, st + 4, p.ks);
    std::copy(st, st + 4, p.vs);
    p.kv = kv;
    if (kv == Kv::F16) {
      // Random finite halves: sign, exponent 8..17 (2^-7 .. 4), mantissa;
      // some zeros and subnormals.
      std::uniform_int_distribution<int> e(8, 17), m(0, 1023), pick(0, 49);
      half.resize(n);
      for (uint16_t &h : half) {
        const int k = pick(rng);
        h = k == 0   ? 0
            : k == 1 ? static_cast<uint16_t>(m(rng)) // subnormal
                     : static_cast<uint16_t>((e(rng) << 10) | m(rng));
        if (pick(rng) < 25)
          h |= 0x8000;
      }
      p.kq = half.data();
      p.vq = half.data() + n / 2;
    } else {
      std::uniform_int_distribution<int> code(-127, 127);
      std::uniform_real_distribution<float> sc(0.001f, 0.05f);
      codes.resize(n);
      for (int8_t &x : codes)
        x = static_cast<int8_t>(code(rng));
      scales.resize(rows);
      for (float &x : scales)
        x = sc(rng);
      p.kq = codes.data();
      p.vq = codes.data() + n / 2;
      p.kScale = scales.data();
      p.vScale = scales.data() + rows / 2;
      const int64_t ss[3] = {c.hkv * maxLen, maxLen, 1};
      std::copy(ss, ss + 3, p.kss);
      std::copy(ss, ss + 3, p.vss);
    }
    for (int64_t bi = 0; bi < c.b; ++bi)
      for (int64_t g = 0; g < c.hkv; ++g)
        for (int64_t j = 0; j < c.t; ++j)
          for (int64_t x = 0; x < c.d; ++x)
            vmax =
                std::max<double>(vmax, std::fabs(kvAt(p, true, bi, g, j, x)));
    out.assign(c.b * c.hq * c.s * c.d, NAN);
    p.out = out.data();
    std::copy(qs, qs + 4, p.os);
    p.scale = 1.0f / std::sqrt(static_cast<float>(c.d));
    p.causal = c.causal;
    p.window = c.window;
    p.sinks = c.sinks;
    if (c.pad) {
      keep.resize(c.b * c.t);
      for (int64_t bi = 0; bi < c.b; ++bi)
        for (int64_t j = 0; j < c.t; ++j)
          keep[bi * c.t + j] = j >= 2 * bi;
      p.keep = keep.data();
      const int64_t ks[4] = {c.t, 0, 0, 1};
      std::copy(ks, ks + 4, p.keepS);
    }
  }

  void check(const std::vector<double> &ref, const std::vector<float> &got,
             const std::string &what) const {
    SCOPED_TRACE(what + ": " + c.str());
    const double tol = 1e-5 * vmax;
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      const double err = std::fabs(got[i] - ref[i]);
      worst = std::max(worst, std::isnan(err) ? 1e30 : err);
      if (!(err <= tol) && bad++ < 5)
        ADD_FAILURE() << "out[" << i << "] = " << got[i] << ", reference "
                      << ref[i] << " (tolerance " << tol << ")";
    }
    EXPECT_EQ(bad, 0) << "worst error " << worst;
  }
};

const Kernels &kernelsFor(isa::Level level) {
  return isa::byLevel(level, kernelsGeneric(), kernelsAvx2(), kernelsAvx512());
}

class AttentionKvTest
    : public ::testing::TestWithParam<std::tuple<isa::Level, Kv>> {
protected:
  void SetUp() override {
    if (!isa::supported(level()))
      GTEST_SKIP() << isa::name(level()) << " not supported on this CPU";
    tfc_set_num_threads(3);
  }
  void TearDown() override { tfc_set_num_threads(0); }
  isa::Level level() const { return std::get<0>(GetParam()); }
  Kv kv() const { return std::get<1>(GetParam()); }

  void checkCase(const KvCase &c) {
    KvProblem pr(c, kv(), rng);
    std::vector<double> ref(pr.out.size());
    naive(pr.p, ref.data());
    const Kernels &ks = kernelsFor(level());
    for (Params::Path path : {Params::Path::Decode, Params::Path::Prefill})
      for (int64_t chunks : {int64_t(0), int64_t(3)}) {
        Params p = pr.p;
        p.path = path;
        p.forceChunks = chunks;
        std::fill(pr.out.begin(), pr.out.end(), NAN);
        run(p, ks);
        const std::string what = std::string(ks.name) + " path " +
                                 std::to_string(static_cast<int>(path)) +
                                 " chunks " + std::to_string(chunks);
        pr.check(ref, pr.out, what + " vs naive");
        // The same call at the generic level.
        std::vector<float> mine = pr.out;
        std::fill(pr.out.begin(), pr.out.end(), NAN);
        run(p, kernelsGeneric());
        std::vector<double> gen(pr.out.begin(), pr.out.end());
        pr.check(gen, mine, what + " vs generic");
        // K/V in parts (a ring cache read in place).
        int64_t cut[3];
        partCuts(p, cut);
        std::vector<std::vector<char>> store;
        std::fill(pr.out.begin(), pr.out.end(), NAN);
        run(splitKv(p, cut, store), ks);
        pr.check(ref, pr.out, what + " in parts");
      }
  }
  std::mt19937 rng{seed()};
};

TEST_P(AttentionKvTest, NativeDecodeAtSimdLevels) {
  const Kernels &ks = kernelsFor(level());
  const bool native = level() != isa::Level::Generic;
  EXPECT_EQ(ks.decodeI8 != nullptr, native);
  if (level() == isa::Level::Avx512)
    EXPECT_NE(ks.decodeF16, nullptr);
}

TEST_P(AttentionKvTest, Decode) {
  for (int64_t t : {1, 7, 100, 1000})
    for (int64_t group : {1, 3})
      for (int64_t d : {64, 8, 20}) {
        KvCase c;
        c.b = 2;
        c.hkv = 2;
        c.hq = 2 * group;
        c.t = t;
        c.d = d;
        checkCase(c);
      }
}

TEST_P(AttentionKvTest, FewQueriesWindowPadding) {
  KvCase c;
  c.b = 2;
  c.hq = 3;
  c.hkv = 1;
  c.s = 4;
  c.t = 300;
  c.d = 80;
  c.window = 64;
  c.sinks = 4;
  c.pad = true;
  checkCase(c);
  c.sinkQuery = true; // the sinks scored with their own query
  checkCase(c);
  c.s = 1;
  checkCase(c);
  c.s = 4;
  c.sinkQuery = false;
  c.sinks = 0;
  checkCase(c);
}

TEST_P(AttentionKvTest, Prefill) {
  KvCase c;
  c.b = 1;
  c.hq = 4;
  c.hkv = 2;
  c.s = c.t = 70;
  c.d = 24;
  checkCase(c);
  c.causal = false;
  c.pad = true;
  checkCase(c);
}

INSTANTIATE_TEST_SUITE_P(
    AllIsas, AttentionKvTest,
    ::testing::Combine(::testing::Values(isa::Level::Generic, isa::Level::Avx2,
                                         isa::Level::Avx512),
                       ::testing::Values(Kv::F16, Kv::I8)),
    [](const ::testing::TestParamInfo<std::tuple<isa::Level, Kv>> &info) {
      return std::string(isa::name(std::get<0>(info.param))) +
             (std::get<1>(info.param) == Kv::F16 ? "_f16" : "_i8");
    });

TEST(AttentionKv, HalfToFloat) {
  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0xC000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03FF), 1023 * std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::isinf(halfToFloat(0x7C00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0x7E00)));
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
}

template <typename T, typename Ref>
Ref desc(const T *base, int64_t offset, const int64_t *sizes,
         const int64_t *strides) {
  Ref r{};
  r.allocated = r.aligned = const_cast<T *>(base);
  r.offset = offset;
  for (int i = 0; i < 4; ++i) {
    r.sizes[i] = sizes[i];
    r.strides[i] = strides[i];
  }
  return r;
}

/// A problem's q, out and sink_q (sizes 0 without one) descriptors, and
/// empty mask and layout ones, as compiled code passes them.
struct QueryDescs {
  tfcrt_memref4_f32 q{}, out{}, sq{}, add{};
  tfcrt_memref4_i8 keep{};
  tfcrt_memref2_i8 layout{};
  explicit QueryDescs(KvProblem &pr) {
    const KvCase &c = pr.c;
    const int64_t qSizes[4] = {c.b, c.hq, c.s, c.d};
    q = desc<float, tfcrt_memref4_f32>(pr.q.data(), 0, qSizes, pr.p.qs);
    out = desc<float, tfcrt_memref4_f32>(pr.out.data(), 0, qSizes, pr.p.os);
    if (c.sinkQuery)
      sq = desc<float, tfcrt_memref4_f32>(pr.sq.data(), 0, qSizes, pr.p.qSinkS);
  }
};

/// The C entries on a session-style cache view, against naive.
TEST(AttentionKv, Entries) {
  std::mt19937 rng(seed());
  for (Kv kv : {Kv::F16, Kv::I8})
    for (int64_t s : {1, 9, -9}) {
      KvCase c;
      c.b = 2;
      c.hq = 6;
      c.hkv = 2;
      c.s = s < 0 ? -s : s;
      c.t = 40;
      c.d = 32;
      c.window = 16;
      // s < 0: the _sq entry, 3 sinks scored with their own query.
      c.sinkQuery = s < 0;
      c.sinks = c.sinkQuery ? 3 : 0;
      KvProblem pr(c, kv, rng);
      std::vector<double> ref(pr.out.size());
      naive(pr.p, ref.data());
      const int64_t kvSizes[4] = {c.b, c.hkv, c.t, c.d};
      const int64_t scSizes[4] = {c.b, c.hkv, c.t, 1};
      const int64_t scStrides[4] = {c.hkv * pr.maxLen, pr.maxLen, 1, 1};
      QueryDescs d(pr);
      const int64_t vOff = c.b * c.hkv * pr.maxLen * c.d;
      if (kv == Kv::F16) {
        auto k = desc<uint16_t, tfcrt_memref4_f16>(pr.half.data(), 0, kvSizes,
                                                   pr.p.ks);
        auto v = desc<uint16_t, tfcrt_memref4_f16>(pr.half.data(), vOff,
                                                   kvSizes, pr.p.vs);
        if (c.sinkQuery)
          _mlir_ciface_tfcrt_attention_kv_f16_sq(
              &d.q, &k, &v, &d.keep, &d.add, &d.out, pr.p.scale, 1, c.window,
              c.sinks, 0, &d.layout, 0, &d.sq);
        else
          _mlir_ciface_tfcrt_attention_kv_f16(&d.q, &k, &v, &d.keep, &d.add,
                                              &d.out, pr.p.scale, 1, c.window,
                                              0, 0, &d.layout, 0);
      } else {
        auto k = desc<int8_t, tfcrt_memref4_i8>(pr.codes.data(), 0, kvSizes,
                                                pr.p.ks);
        auto v = desc<int8_t, tfcrt_memref4_i8>(pr.codes.data(), vOff, kvSizes,
                                                pr.p.vs);
        auto ks = desc<float, tfcrt_memref4_f32>(pr.scales.data(), 0, scSizes,
                                                 scStrides);
        auto vs = desc<float, tfcrt_memref4_f32>(
            pr.scales.data(), c.b * c.hkv * pr.maxLen, scSizes, scStrides);
        if (c.sinkQuery)
          _mlir_ciface_tfcrt_attention_kv_i8_sq(
              &d.q, &k, &ks, &v, &vs, &d.keep, &d.add, &d.out, pr.p.scale, 1,
              c.window, c.sinks, 0, &d.layout, 0, &d.sq);
        else
          _mlir_ciface_tfcrt_attention_kv_i8(&d.q, &k, &ks, &v, &vs, &d.keep,
                                             &d.add, &d.out, pr.p.scale, 1,
                                             c.window, 0, 0, &d.layout, 0);
        // A scale view of the wrong length: an error naming it, NaN out.
        auto bad = ks;
        bad.sizes[2] = c.t - 1;
        std::string msg;
        EXPECT_EQ(takeKernelError(msg), TFC_OK) << msg;
        std::vector<float> keepOut = pr.out;
        _mlir_ciface_tfcrt_attention_kv_i8(&d.q, &k, &bad, &v, &vs, &d.keep,
                                           &d.add, &d.out, pr.p.scale, 1,
                                           c.window, 0, 0, &d.layout, 0);
        EXPECT_EQ(takeKernelError(msg), TFC_ERR_INTERNAL);
        EXPECT_NE(msg.find("k_scale is [2, 2, 39, 1], expected [2, 2, 40, 1]"),
                  std::string::npos)
            << msg;
        EXPECT_TRUE(std::isnan(pr.out[0]));
        pr.out = keepOut;
      }
      std::string msg;
      EXPECT_EQ(takeKernelError(msg), TFC_OK) << msg;
      pr.check(ref, pr.out,
               std::string(kv == Kv::F16 ? "f16" : "i8") +
                   (c.sinkQuery ? " _sq entry" : " entry"));
    }
}

/// tfcrt_attention_parts_kv_f16 / _i8 on K/V (and scales) cut into parts,
/// each its own descriptor, against naive; and their errors.
TEST(AttentionKv, PartsEntries) {
  std::mt19937 rng(seed());
  for (Kv kv : {Kv::F16, Kv::I8})
    for (int64_t s : {1, 9, -1, -9}) {
      KvCase c;
      c.b = 2;
      c.hq = 6;
      c.hkv = 2;
      c.s = s < 0 ? -s : s;
      c.t = 70;
      c.d = 32;
      c.window = 16;
      c.sinkQuery = s < 0; // 3 sinks with their own query
      c.sinks = 3;
      KvProblem pr(c, kv, rng);
      std::vector<double> ref(pr.out.size());
      naive(pr.p, ref.data());
      std::vector<std::vector<char>> store;
      int64_t cut[3];
      partCuts(pr.p, cut);
      const Params sp = splitKv(pr.p, cut, store);
      QueryDescs d(pr);
      tfcrt_memref4_f16 kh[4], vh[4];
      tfcrt_memref4_i8 kc[4], vc[4];
      tfcrt_memref4_f32 ksc[4], vsc[4];
      for (int i = 0; i < 4; ++i) {
        const Params::KvPart &x = sp.parts[i];
        const int64_t sz[4] = {c.b, c.hkv, x.t, c.d};
        const int64_t scSz[4] = {c.b, c.hkv, x.t, 1};
        const int64_t kss[4] = {x.kss[0], x.kss[1], x.kss[2], 1};
        const int64_t vss[4] = {x.vss[0], x.vss[1], x.vss[2], 1};
        kh[i] = desc<uint16_t, tfcrt_memref4_f16>(
            static_cast<const uint16_t *>(x.kq), 0, sz, x.ks);
        vh[i] = desc<uint16_t, tfcrt_memref4_f16>(
            static_cast<const uint16_t *>(x.vq), 0, sz, x.vs);
        kc[i] = desc<int8_t, tfcrt_memref4_i8>(
            static_cast<const int8_t *>(x.kq), 0, sz, x.ks);
        vc[i] = desc<int8_t, tfcrt_memref4_i8>(
            static_cast<const int8_t *>(x.vq), 0, sz, x.vs);
        ksc[i] = desc<float, tfcrt_memref4_f32>(x.kScale, 0, scSz, kss);
        vsc[i] = desc<float, tfcrt_memref4_f32>(x.vScale, 0, scSz, vss);
      }
      auto call = [&] {
        if (kv == Kv::F16)
          _mlir_ciface_tfcrt_attention_parts_kv_f16(
              &d.q, &kh[0], &kh[1], &kh[2], &kh[3], &vh[0], &vh[1], &vh[2],
              &vh[3], &d.keep, &d.add, &d.out, pr.p.scale, 1, c.window, c.sinks,
              0, &d.layout, 0, &d.sq);
        else
          _mlir_ciface_tfcrt_attention_parts_kv_i8(
              &d.q, &kc[0], &kc[1], &kc[2], &kc[3], &ksc[0], &ksc[1], &ksc[2],
              &ksc[3], &vc[0], &vc[1], &vc[2], &vc[3], &vsc[0], &vsc[1],
              &vsc[2], &vsc[3], &d.keep, &d.add, &d.out, pr.p.scale, 1,
              c.window, c.sinks, 0, &d.layout, 0, &d.sq);
      };
      call();
      std::string msg;
      EXPECT_EQ(takeKernelError(msg), TFC_OK) << msg;
      pr.check(ref, pr.out,
               std::string(kv == Kv::F16 ? "f16" : "i8") + " parts entry" +
                   (c.sinkQuery ? " with a sink query" : ""));
      if (s != -9)
        continue;
      // Errors: NaN out and a message naming the part.
      auto expectError = [&](const char *what) {
        std::fill(pr.out.begin(), pr.out.end(), 0.0f);
        call();
        EXPECT_EQ(takeKernelError(msg), TFC_ERR_INTERNAL);
        EXPECT_NE(msg.find(what), std::string::npos) << msg;
        EXPECT_TRUE(std::isnan(pr.out[0]));
      };
      // Sink keys past part 0 (a sink query reads them from part 0).
      kh[0].sizes[2] = kc[0].sizes[2] = vh[0].sizes[2] = vc[0].sizes[2] = 2;
      ksc[0].sizes[2] = vsc[0].sizes[2] = 2;
      kh[1].offset = kc[1].offset = -sp.parts[1].ks[2];
      vh[1].offset = vc[1].offset = -sp.parts[1].vs[2];
      expectError("the 3 sink keys of a sink query must all be in part 0 (2 "
                  "keys)");
      kh[0].sizes[2] = kc[0].sizes[2] = vh[0].sizes[2] = vc[0].sizes[2] = 3;
      ksc[0].sizes[2] = vsc[0].sizes[2] = 3;
      kh[1].offset = kc[1].offset = vh[1].offset = vc[1].offset = 0;
      // A part with another head count.
      kh[2].sizes[1] = kc[2].sizes[1] = 1;
      expectError("part 2 (k [2, 1, ");
      kh[2].sizes[1] = kc[2].sizes[1] = 2;
      if (kv == Kv::I8) {
        ksc[3].sizes[2] -= 1;
        expectError("k_scale part 3 is [2, 2, ");
      }
    }
}

} // namespace
