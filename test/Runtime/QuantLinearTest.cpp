//===- QuantLinearTest.cpp - bf16 / s8 / w8 / w4 linear kernels -----------===//
//
// Every level the CPU has (the hardware's, not the TFCRT_ISA cap: each
// level's FormatImpl is called directly) against a scalar double reference
// built from the same integer codes, scales and quantized activations, so
// the only error left is fp32 rounding (bounds at each check). Fresh random
// data each run (the seed is printed on failure), odd shapes, every group
// size, symmetric and asymmetric, transposed packing, static S8; the
// integer sums must be identical on every level; the activation
// quantization of prepare() is compared with a scalar version written here.
//
//===----------------------------------------------------------------------===//

#include "Linear/FormatQuant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdarg>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace tfcrt;
using namespace tfcrt::linear;
using namespace tfcrt::linear::quant;

namespace {

unsigned testSeed() {
  static const unsigned seed = std::random_device{}();
  return seed;
}

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof(buf), f, ap);
  va_end(ap);
  return buf;
}

//===-- levels ------------------------------------------------------------===//

struct Level {
  std::string name;
  const FormatImpl *impl;
  bool u8Act = false;   // S8 rows stored as u8 = s8 + 128 (VNNI)
  bool bf16Act = false; // activations rounded to bf16
};

bool cpuVnni() {
#if defined(__x86_64__)
  return isa::supported(isa::Level::Avx512) &&
         __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}
bool cpuBf16() {
#if defined(__x86_64__)
  return isa::supported(isa::Level::Avx512) &&
         __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

void add(std::vector<Level> &v, const char *name, const FormatImpl *impl,
         bool u8Act = false, bool bf16Act = false) {
  if (impl)
    v.push_back({name, impl, u8Act, bf16Act});
}

std::vector<Level> s8Levels() {
  std::vector<Level> v;
  add(v, "generic", s8Generic());
  if (isa::supported(isa::Level::Avx2))
    add(v, "avx2", s8Avx2());
  if (cpuVnni())
    add(v, "avx512-vnni", s8Avx512Vnni(), true);
  return v;
}

std::vector<Level> wLevels(uint32_t format, WStrategy s) {
  std::vector<Level> v;
  add(v, "generic", wGeneric(format, s));
  if (isa::supported(isa::Level::Avx2))
    add(v, "avx2", wAvx2(format, s));
  if (s == WStrategy::F32Act ? isa::supported(isa::Level::Avx512) : cpuVnni())
    add(v, "avx512", wAvx512(format, s));
  return v;
}

std::vector<Level> bf16Levels() {
  std::vector<Level> v;
  add(v, "generic", bf16Generic());
  if (isa::supported(isa::Level::Avx2))
    add(v, "avx2", bf16Avx2());
  if (cpuBf16())
    add(v, "avx512-bf16", bf16Avx512Bf16(), false, true);
  return v;
}

//===-- running a format --------------------------------------------------===//

struct Bytes {
  std::vector<unsigned char> v;
  unsigned char *p = nullptr;
  /// `misalign` bytes past a 64-byte boundary.
  explicit Bytes(size_t n, size_t misalign = 0, unsigned char fill = 0)
      : v(n + 128, fill) {
    p = alignScratch(v.data()) + misalign;
  }
  const tfc_pack_header &header() const {
    return *reinterpret_cast<const tfc_pack_header *>(p);
  }
};

/// x [m, k] f32 at row stride sm, column stride sk.
struct Input {
  int64_t m, k, sm, sk;
  std::vector<float> data;
  float at(int64_t i, int64_t kk) const { return data[i * sm + kk * sk]; }
  Rows rows() const {
    Rows r;
    r.x = data.data();
    r.m = m;
    r.k = k;
    r.sm = sm;
    r.sk = sk;
    return r;
  }
};

float nonZero(std::mt19937 &rng, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> d(lo, hi);
  float v;
  do
    v = d(rng);
  while (std::fabs(v) < 1e-3f);
  return v;
}

/// Random rows; some get an outlier (as LLM activations have), and every
/// other input is read with a column stride of 2.
Input randomInput(int64_t m, int64_t k, std::mt19937 &rng) {
  Input in{m, k, 0, (m + k) % 2 ? 2 : 1, {}};
  in.sm = k * in.sk + 3;
  in.data.resize(m * in.sm + 1);
  for (float &v : in.data)
    v = nonZero(rng);
  std::uniform_int_distribution<int64_t> col(0, k - 1);
  for (int64_t i = 0; i < m; i += 3)
    in.data[i * in.sm + col(rng) * in.sk] *= 20.0f;
  return in;
}

/// Prepares (in two row ranges) and computes in four tasks (row and panel
/// ranges split), as the driver may; the output is [m][panels * P] with
/// garbage-filled padding columns beyond, NaN where nothing was written.
/// `scratchCopy` receives the prepared scratch.
std::vector<float>
runFormat(const FormatImpl &f, const tfc_pack_header &h, const Input &in,
          int64_t &ldo, std::vector<unsigned char> *scratchCopy = nullptr) {
  const Rows x = in.rows();
  const int64_t np = ceilDiv(h.n, h.panel);
  ldo = np * h.panel + 3;
  std::vector<float> out(in.m * ldo, std::nanf(""));
  const size_t sbytes = f.scratchBytes ? f.scratchBytes(h, in.m) : 0;
  Bytes scratch(sbytes, 8, 0xCD);
  if (f.prepare) {
    f.prepare(h, x, 0, in.m / 2, scratch.p);
    f.prepare(h, x, in.m / 2, in.m, scratch.p);
  }
  if (scratchCopy) // as the kernels see it: from the aligned start
    scratchCopy->assign(alignScratch(scratch.p),
                        alignScratch(scratch.p) + sbytes - 64);
  const int64_t rs[3] = {0, in.m / 3, in.m}, ps[3] = {0, np / 2, np};
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      if (rs[a] == rs[a + 1] || ps[b] == ps[b + 1])
        continue;
      f.compute(h, x, scratch.p, rs[a], rs[a + 1], ps[b], ps[b + 1],
                out.data() + rs[a] * ldo + ps[b] * h.panel, ldo);
    }
  return out;
}

/// Compares out with ref [m][n] within bound [m][n]; padded columns must
/// be 0 and everything else untouched.
void expectNear(const std::vector<float> &out, int64_t ldo,
                const std::vector<double> &ref, const std::vector<double> &bnd,
                int64_t m, int64_t n, int64_t panel) {
  const int64_t np = ceilDiv(n, panel);
  int bad = 0;
  for (int64_t i = 0; i < m && bad < 5; ++i) {
    for (int64_t j = 0; j < np * panel && bad < 5; ++j) {
      const float v = out[i * ldo + j];
      if (j >= n) {
        if (v != 0.0f) {
          ADD_FAILURE() << "padded column " << j << " row " << i << " is " << v;
          ++bad;
        }
        continue;
      }
      const double e = ref[i * n + j], d = std::fabs(v - e);
      if (!(d <= bnd[i * n + j])) {
        ADD_FAILURE() << "row " << i << " col " << j << ": " << v << " vs " << e
                      << " (|diff| " << d << " > bound " << bnd[i * n + j]
                      << ")";
        ++bad;
      }
    }
    for (int64_t j = np * panel; j < ldo; ++j)
      if (!std::isnan(out[i * ldo + j])) {
        ADD_FAILURE() << "wrote past the panels at row " << i;
        ++bad;
      }
  }
}

//===-- scalar activation quantization (written apart from the kernels) ---===//

struct Quantized {
  std::vector<int> q; // [k] (padded with 0 by the caller)
  double scale = 0;
  float scalef = 0;
};

Quantized quantizeScalar(const std::vector<float> &x, bool isStatic,
                         float staticScale) {
  Quantized r;
  float amax = 0;
  for (float v : x)
    amax = std::max(amax, std::fabs(v));
  const float inv =
      isStatic ? 1.0f / staticScale : (amax > 0 ? 127.0f / amax : 0.0f);
  r.scalef = isStatic ? staticScale : amax / 127.0f;
  r.scale = r.scalef;
  for (float v : x)
    r.q.push_back(
        static_cast<int>(std::clamp(std::nearbyint(v * inv), -127.0f, 127.0f)));
  return r;
}

std::vector<float> rowOf(const Input &in, int64_t i, int64_t k0, int64_t k1) {
  std::vector<float> r;
  for (int64_t kk = k0; kk < std::min(k1, in.k); ++kk)
    r.push_back(in.at(i, kk));
  return r;
}

} // namespace

//===-- shapes
//--------------------------------------------------------------===//

const int64_t kMs[] = {1, 2, 3, 5, 8, 13, 16, 17, 64, 129};
const int64_t kKs[] = {1, 3, 31, 32, 33, 64, 100, 384, 576, 1536};
const int64_t kNs[] = {1, 15, 16, 17, 31, 32, 33, 100, 576};

/// Every (k, n) of the lists with m cycling through its list, m cut so that
/// m * k * n stays under `budget` multiply-adds.
template <typename F> void forEachShape(int64_t budget, F &&fn) {
  int idx = 0;
  for (int64_t k : kKs)
    for (int64_t n : kNs) {
      int64_t m = kMs[idx % 10];
      if (m * k * n > budget)
        m = std::max<int64_t>(1, budget / (k * n));
      fn(m, k, n, idx++);
    }
}

constexpr double kEps = FLT_EPSILON;

//===-- BF16
//----------------------------------------------------------------===//

Bytes packBf16Random(int64_t k, int64_t n, bool transposed, std::mt19937 &rng,
                     std::vector<float> &w) {
  w.resize(k * n);
  for (float &v : w)
    v = nonZero(rng);
  pack::Layout l;
  std::string err;
  EXPECT_TRUE(pack::quantLayoutOf(TFC_PACK_BF16, k, n, 0, 0, l, err)) << err;
  Bytes blob(l.total);
  std::vector<float> wt(k * n);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j)
      wt[j * k + kk] = w[kk * n + j];
  EXPECT_TRUE(pack::packBf16(transposed ? wt.data() : w.data(), k, n,
                             transposed, 0, blob.p, l.total, err))
      << err;
  return blob;
}

TEST(QuantBf16, MatchesReference) {
  std::mt19937 rng(testSeed());
  for (const Level &lv : bf16Levels())
    forEachShape(1000000, [&](int64_t m, int64_t k, int64_t n, int idx) {
      SCOPED_TRACE(fmt("bf16 %s m %lld k %lld n %lld seed %u", lv.name.c_str(),
                       (long long)m, (long long)k, (long long)n, testSeed()));
      std::vector<float> w;
      Bytes blob = packBf16Random(k, n, idx % 2, rng, w);
      const Input in = randomInput(m, k, rng);
      int64_t ldo;
      const std::vector<float> out =
          runFormat(*lv.impl, blob.header(), in, ldo);
      std::vector<double> ref(m * n), bnd(m * n);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0, a = 0;
          for (int64_t kk = 0; kk < k; ++kk) {
            float xv = in.at(i, kk);
            if (lv.bf16Act)
              xv = fromBf16(toBf16(xv));
            const double p = double(xv) * fromBf16(toBf16(w[kk * n + j]));
            s += p;
            a += std::fabs(p);
          }
          ref[i * n + j] = s;
          // Recursive summation in f32 (vdpbf16ps: two roundings a pair).
          bnd[i * n + j] = 2.0 * (k + 2) * kEps * a + 1e-30;
        }
      expectNear(out, ldo, ref, bnd, m, n, 32);
    });
}

//===-- S8
//------------------------------------------------------------------===//

struct S8Case {
  std::vector<int8_t> q; // [k, n]
  std::vector<float> scales;
  Bytes blob{0};
};

S8Case packS8Random(int64_t k, int64_t n, bool transposed, uint32_t flags,
                    float actScale, std::mt19937 &rng,
                    bool unitScales = false) {
  S8Case c;
  std::uniform_int_distribution<int> code(-127, 127);
  c.q.resize(k * n);
  for (int8_t &v : c.q)
    v = static_cast<int8_t>(code(rng));
  c.scales.resize(n);
  for (float &s : c.scales)
    s = unitScales ? 1.0f : nonZero(rng) * 0.01f;
  std::vector<int8_t> qt(k * n);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j)
      qt[j * k + kk] = c.q[kk * n + j];
  pack::Layout l;
  std::string err;
  EXPECT_TRUE(pack::quantLayoutOf(TFC_PACK_S8, k, n, 0, flags, l, err)) << err;
  c.blob = Bytes(l.total);
  EXPECT_TRUE(pack::packS8(transposed ? qt.data() : c.q.data(), c.scales.data(),
                           k, n, transposed, flags, actScale, 0, c.blob.p,
                           l.total, err))
      << err;
  return c;
}

void s8Reference(const S8Case &c, const Input &in, int64_t n, bool isStatic,
                 float actScale, std::vector<double> &ref,
                 std::vector<double> &bnd) {
  const int64_t m = in.m, k = in.k;
  ref.assign(m * n, 0);
  bnd.assign(m * n, 0);
  for (int64_t i = 0; i < m; ++i) {
    const Quantized qx = quantizeScalar(rowOf(in, i, 0, k), isStatic, actScale);
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = 0;
      for (int64_t kk = 0; kk < k; ++kk)
        acc += int64_t(qx.q[kk]) * c.q[kk * n + j];
      ref[i * n + j] = double(acc) * qx.scale * c.scales[j];
      bnd[i * n + j] = 4 * kEps * std::fabs(ref[i * n + j]) + 1e-30;
    }
  }
}

TEST(QuantS8, MatchesReference) {
  std::mt19937 rng(testSeed());
  for (const Level &lv : s8Levels())
    forEachShape(3000000, [&](int64_t m, int64_t k, int64_t n, int idx) {
      const bool isStatic = idx % 5 == 4;
      SCOPED_TRACE(fmt("s8 %s m %lld k %lld n %lld static %d seed %u",
                       lv.name.c_str(), (long long)m, (long long)k,
                       (long long)n, isStatic, testSeed()));
      const Input in = randomInput(m, k, rng);
      // Static: 0.8 of the largest |x| / 127, so some values clip.
      float amax = 0;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t kk = 0; kk < k; ++kk)
          amax = std::max(amax, std::fabs(in.at(i, kk)));
      const float actScale = 0.8f * amax / 127.0f;
      const S8Case c =
          packS8Random(k, n, idx % 2, isStatic ? TFC_PACK_FLAG_ACT_STATIC : 0,
                       actScale, rng);
      int64_t ldo;
      const std::vector<float> out =
          runFormat(*lv.impl, c.blob.header(), in, ldo);
      std::vector<double> ref, bnd;
      s8Reference(c, in, n, isStatic, actScale, ref, bnd);
      expectNear(out, ldo, ref, bnd, m, n, 16);
    });
}

/// Integral activations whose every row reaches 127 (scale 1) and unit
/// weight scales: the output is the int32 sum itself, on every level.
TEST(QuantS8, IntegerSumsIdenticalOnEveryLevel) {
  std::mt19937 rng(testSeed());
  std::uniform_int_distribution<int> code(-127, 127);
  for (int64_t k : {1, 5, 64, 333, 1536})
    for (int64_t m : {1, 7, 24}) {
      const int64_t n = 48 + k % 7;
      SCOPED_TRACE(
          fmt("m %lld k %lld seed %u", (long long)m, (long long)k, testSeed()));
      Input in{m, k, k, 1, std::vector<float>(m * k)};
      for (float &v : in.data)
        v = static_cast<float>(code(rng));
      for (int64_t i = 0; i < m; ++i)
        in.data[i * k + (i * 7) % k] = i % 2 ? 127.0f : -127.0f;
      const S8Case c = packS8Random(k, n, false, 0, 0, rng, true);
      std::vector<float> first;
      for (const Level &lv : s8Levels()) {
        int64_t ldo;
        std::vector<float> out = runFormat(*lv.impl, c.blob.header(), in, ldo);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            int64_t acc = 0;
            for (int64_t kk = 0; kk < k; ++kk)
              acc += int64_t(in.data[i * k + kk]) * c.q[kk * n + j];
            ASSERT_EQ(out[i * ldo + j], static_cast<float>(acc))
                << lv.name << " row " << i << " col " << j;
          }
        if (first.empty())
          first = out;
        else
          EXPECT_EQ(0, std::memcmp(first.data(), out.data(),
                                   first.size() * sizeof(float)))
              << lv.name;
      }
    }
}

/// prepare() against the scalar quantization written in this file: same
/// codes (bit for bit), same scales, zero padding.
TEST(QuantS8, ActivationQuantizationMatchesScalar) {
  std::mt19937 rng(testSeed());
  for (const Level &lv : s8Levels())
    for (int64_t k : {1, 3, 17, 64, 100, 1536})
      for (bool isStatic : {false, true}) {
        const int64_t m = 5;
        SCOPED_TRACE(fmt("%s k %lld static %d seed %u", lv.name.c_str(),
                         (long long)k, isStatic, testSeed()));
        Input in = randomInput(m, k, rng);
        // Row 2: scale 1 and halves, so rounding to even is visible.
        for (int64_t kk = 0; kk < k; ++kk)
          in.data[2 * in.sm + kk * in.sk] = float(kk % 11) - 5.5f;
        in.data[2 * in.sm] = 127.0f;
        const float actScale = 0.01f;
        const S8Case c =
            packS8Random(k, 8, false, isStatic ? TFC_PACK_FLAG_ACT_STATIC : 0,
                         actScale, rng);
        int64_t ldo;
        std::vector<unsigned char> sc;
        runFormat(*lv.impl, c.blob.header(), in, ldo, &sc);
        const S8Scratch sl(k, m);
        for (int64_t i = 0; i < m; ++i) {
          const Quantized qx =
              quantizeScalar(rowOf(in, i, 0, k), isStatic, actScale);
          float scale;
          std::memcpy(&scale, sc.data() + sl.scalesOffset + 4 * i, 4);
          EXPECT_EQ(scale, qx.scalef) << "row " << i;
          for (int64_t kk = 0; kk < ceilDiv(k, 4) * 4; ++kk) {
            int v = static_cast<int8_t>(sc[i * sl.rowBytes + kk] ^
                                        (lv.u8Act ? 0x80 : 0));
            EXPECT_EQ(v, kk < k ? qx.q[kk] : 0) << "row " << i << " k " << kk;
          }
        }
      }
}

TEST(QuantS8, NanRowGivesNanOutputs) {
  std::mt19937 rng(testSeed());
  for (const Level &lv : s8Levels()) {
    Input in = randomInput(3, 70, rng);
    in.data[1 * in.sm + 5 * in.sk] = std::nanf("");
    const S8Case c = packS8Random(70, 20, false, 0, 0, rng);
    int64_t ldo;
    const std::vector<float> out =
        runFormat(*lv.impl, c.blob.header(), in, ldo);
    for (int64_t j = 0; j < 20; ++j) {
      EXPECT_TRUE(std::isnan(out[ldo + j])) << lv.name << " col " << j;
      EXPECT_FALSE(std::isnan(out[j])) << lv.name << " col " << j;
    }
  }
}

//===-- W8 / W4
//-------------------------------------------------------------===//

struct WCase {
  uint32_t format;
  int64_t k, n, group, groups; // groups of the caller's [ceil(k/g), n]
  bool asym;
  std::vector<int8_t> q;            // [k, n] the caller's codes
  std::vector<float> scales, zeros; // [groups, n]
  Bytes blob{0};
  int u(int64_t kk, int64_t j) const {
    return q[kk * n + j] + (format == TFC_PACK_W8 ? 128 : 0);
  }
  double zu(int64_t g, int64_t j) const {
    if (!asym)
      return format == TFC_PACK_W4 ? 8 : 128;
    return zeros[g * n + j] + (format == TFC_PACK_W8 ? 128 : 0);
  }
  int64_t gs() const { return group ? group : k; }
};

WCase packWRandom(uint32_t format, int64_t k, int64_t n, int64_t group,
                  bool asym, bool transposed, std::mt19937 &rng,
                  bool unitScales = false) {
  WCase c{format, k, n, group, ceilDiv(k, group ? group : k), asym, {}, {}, {}};
  const bool w4 = format == TFC_PACK_W4;
  std::uniform_int_distribution<int> code(w4 ? 0 : -128, w4 ? 15 : 127);
  std::uniform_int_distribution<int> zero(w4 ? 0 : -20, w4 ? 15 : 20);
  c.q.resize(k * n);
  for (int8_t &v : c.q)
    v = static_cast<int8_t>(code(rng));
  c.scales.resize(c.groups * n);
  for (float &v : c.scales)
    v = unitScales ? 1.0f : nonZero(rng) * 0.01f;
  if (asym) {
    c.zeros.resize(c.groups * n);
    for (size_t i = 0; i < c.zeros.size(); ++i)
      c.zeros[i] = float(zero(rng)) + (i % 7 == 3 && !unitScales ? 0.25f : 0);
    if (w4)
      for (float &z : c.zeros)
        z = std::min(z, 15.0f);
  }
  std::vector<int8_t> qt(k * n);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j)
      qt[j * k + kk] = c.q[kk * n + j];
  const uint32_t flags = asym ? TFC_PACK_FLAG_ASYM : 0;
  pack::Layout l;
  std::string err;
  EXPECT_TRUE(pack::quantLayoutOf(format, k, n, group, flags, l, err)) << err;
  c.blob = Bytes(l.total);
  EXPECT_TRUE(pack::packWeightOnly(format, transposed ? qt.data() : c.q.data(),
                                   c.scales.data(),
                                   asym ? c.zeros.data() : nullptr, k, n, group,
                                   transposed, flags, c.blob.p, l.total, err))
      << err;
  return c;
}

/// Int8Act: the same s8 blocks of 32 as prepare (scalar), exact block sums.
void wReferenceInt8(const WCase &c, const Input &in, std::vector<double> &ref,
                    std::vector<double> &bnd) {
  const int64_t m = in.m, k = c.k, n = c.n, gs = c.gs();
  const int64_t nb = ceilDiv(k, kActBlock), bpg = ceilDiv(gs, kActBlock);
  ref.assign(m * n, 0);
  bnd.assign(m * n, 0);
  for (int64_t i = 0; i < m; ++i) {
    std::vector<Quantized> qb;
    for (int64_t b = 0; b < nb; ++b)
      qb.push_back(quantizeScalar(
          rowOf(in, i, b * kActBlock, (b + 1) * kActBlock), false, 0));
    for (int64_t j = 0; j < n; ++j) {
      double y = 0, a = 0;
      for (int64_t b = 0; b < nb; ++b) {
        const int64_t g = b * kActBlock / gs;
        int64_t acc = 0, qsum = 0;
        for (size_t t = 0; t < qb[b].q.size(); ++t) {
          acc += int64_t(qb[b].q[t]) * c.u(b * kActBlock + t, j);
          qsum += qb[b].q[t];
        }
        const double s = c.scales[g * n + j], sx = qb[b].scale;
        y += s * sx * (double(acc) - c.zu(g, j) * double(qsum));
        a += std::fabs(s * sx) *
             (std::fabs(double(acc)) + std::fabs(c.zu(g, j) * double(qsum)));
      }
      ref[i * n + j] = y;
      bnd[i * n + j] = 2.0 * (bpg + c.groups + 4) * kEps * a + 1e-30;
    }
  }
}

void wReferenceF32(const WCase &c, const Input &in, std::vector<double> &ref,
                   std::vector<double> &bnd) {
  const int64_t m = in.m, k = c.k, n = c.n, gs = c.gs();
  const double mid = c.format == TFC_PACK_W4 ? 8 : 128;
  ref.assign(m * n, 0);
  bnd.assign(m * n, 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double y = 0, a = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        const int64_t g = kk / gs;
        const double x = in.at(i, kk), s = c.scales[g * n + j];
        y += s * x * (c.u(kk, j) - c.zu(g, j));
        // The kernels sum codes centred on `mid` (u - mid, then z - mid
        // times the group's sum of x): their partial sums are bounded by
        // these magnitudes, not by u and z alone (u = 0 is |0 - mid|).
        a += std::fabs(s * x) * (c.u(kk, j) + std::fabs(c.zu(g, j)) +
                                 std::fabs(c.u(kk, j) - mid) +
                                 std::fabs(c.zu(g, j) - mid));
      }
      ref[i * n + j] = y;
      bnd[i * n + j] =
          2.0 * (std::min(gs, k) + c.groups + 8) * kEps * a + 1e-30;
    }
}

struct WParam {
  uint32_t format;
  WStrategy strategy;
};

class QuantW : public ::testing::TestWithParam<WParam> {};

std::string wName(const ::testing::TestParamInfo<WParam> &p) {
  return std::string(p.param.format == TFC_PACK_W4 ? "W4" : "W8") +
         (p.param.strategy == WStrategy::Int8Act ? "Int8Act" : "F32Act");
}

TEST_P(QuantW, MatchesReference) {
  const WParam P = GetParam();
  std::mt19937 rng(testSeed());
  const int64_t groups[] = {0, 32, 64, 128};
  for (const Level &lv : wLevels(P.format, P.strategy))
    forEachShape(1000000, [&](int64_t m, int64_t k, int64_t n, int idx) {
      const int64_t group = groups[idx % 4];
      const bool asym = (idx / 4) % 2, transposed = (idx / 8) % 2;
      SCOPED_TRACE(fmt("%s m %lld k %lld n %lld group %lld asym %d seed %u",
                       lv.name.c_str(), (long long)m, (long long)k,
                       (long long)n, (long long)group, asym, testSeed()));
      const WCase c = packWRandom(P.format, k, n, group, asym, transposed, rng);
      const Input in = randomInput(m, k, rng);
      int64_t ldo;
      const std::vector<float> out =
          runFormat(*lv.impl, c.blob.header(), in, ldo);
      std::vector<double> ref, bnd;
      if (P.strategy == WStrategy::Int8Act)
        wReferenceInt8(c, in, ref, bnd);
      else
        wReferenceF32(c, in, ref, bnd);
      expectNear(out, ldo, ref, bnd, m, n, 32);
    });
}

/// Every group size with both zero-point kinds on shapes with partial
/// last groups and m over several register tiles.
TEST_P(QuantW, EveryGroupSymAndAsym) {
  const WParam P = GetParam();
  std::mt19937 rng(testSeed());
  for (const Level &lv : wLevels(P.format, P.strategy))
    for (int64_t group : {0, 32, 64, 128})
      for (bool asym : {false, true})
        for (int64_t k : {100, 416}) {
          const int64_t m = 9, n = 70;
          SCOPED_TRACE(fmt("%s k %lld group %lld asym %d seed %u",
                           lv.name.c_str(), (long long)k, (long long)group,
                           asym, testSeed()));
          const WCase c = packWRandom(P.format, k, n, group, asym, false, rng);
          const Input in = randomInput(m, k, rng);
          int64_t ldo;
          const std::vector<float> out =
              runFormat(*lv.impl, c.blob.header(), in, ldo);
          std::vector<double> ref, bnd;
          if (P.strategy == WStrategy::Int8Act)
            wReferenceInt8(c, in, ref, bnd);
          else
            wReferenceF32(c, in, ref, bnd);
          expectNear(out, ldo, ref, bnd, m, n, 32);
        }
}

INSTANTIATE_TEST_SUITE_P(
    Formats, QuantW,
    ::testing::Values(WParam{TFC_PACK_W8, WStrategy::Int8Act},
                      WParam{TFC_PACK_W8, WStrategy::F32Act},
                      WParam{TFC_PACK_W4, WStrategy::Int8Act},
                      WParam{TFC_PACK_W4, WStrategy::F32Act}),
    wName);

/// Blocks that each reach 127 (scale 1), unit weight scales, symmetric:
/// every level's output is the exact integer sum.
TEST(QuantWInt8Act, IntegerSumsIdenticalOnEveryLevel) {
  std::mt19937 rng(testSeed());
  std::uniform_int_distribution<int> code(-127, 127);
  for (uint32_t format : {TFC_PACK_W8, TFC_PACK_W4})
    for (int64_t k : {7, 64, 100, 576})
      for (int64_t m : {1, 6, 11}) {
        const int64_t n = 40, group = k == 100 ? 64 : 0;
        SCOPED_TRACE(fmt("format %u m %lld k %lld seed %u", format,
                         (long long)m, (long long)k, testSeed()));
        Input in{m, k, k, 1, std::vector<float>(m * k)};
        for (float &v : in.data)
          v = static_cast<float>(code(rng));
        for (int64_t i = 0; i < m; ++i)
          for (int64_t b = 0; b * kActBlock < k; ++b)
            in.data[i * k + b * kActBlock] = 127.0f;
        const WCase c =
            packWRandom(format, k, n, group, false, false, rng, true);
        std::vector<float> first;
        for (const Level &lv : wLevels(format, WStrategy::Int8Act)) {
          int64_t ldo;
          std::vector<float> out =
              runFormat(*lv.impl, c.blob.header(), in, ldo);
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              int64_t acc = 0;
              for (int64_t kk = 0; kk < k; ++kk)
                acc += int64_t(in.data[i * k + kk]) *
                       (c.u(kk, j) - int64_t(c.zu(0, j)));
              ASSERT_EQ(out[i * ldo + j], static_cast<float>(acc))
                  << lv.name << " row " << i << " col " << j;
            }
          if (first.empty())
            first = out;
          else
            EXPECT_EQ(0, std::memcmp(first.data(), out.data(),
                                     first.size() * sizeof(float)))
                << lv.name;
        }
      }
}

/// The Int8Act prepare against the scalar block quantization: codes, block
/// scales and group terms A[g] bit for bit.
TEST(QuantWInt8Act, ActivationQuantizationMatchesScalar) {
  std::mt19937 rng(testSeed());
  for (const Level &lv : wLevels(TFC_PACK_W4, WStrategy::Int8Act))
    for (int64_t k : {1, 31, 33, 100, 576})
      for (int64_t group : {0, 32, 64, 128}) {
        const int64_t m = 4;
        SCOPED_TRACE(fmt("%s k %lld group %lld seed %u", lv.name.c_str(),
                         (long long)k, (long long)group, testSeed()));
        const WCase c =
            packWRandom(TFC_PACK_W4, k, 8, group, false, false, rng);
        const Input in = randomInput(m, k, rng);
        int64_t ldo;
        std::vector<unsigned char> sc;
        runFormat(*lv.impl, c.blob.header(), in, ldo, &sc);
        const WGeom geo(c.blob.header());
        const WQScratch sl(c.blob.header(), m);
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t b = 0; b < geo.blocks; ++b) {
            const Quantized qx = quantizeScalar(
                rowOf(in, i, b * kActBlock, (b + 1) * kActBlock), false, 0);
            float sx;
            std::memcpy(&sx, sc.data() + sl.sxOffset + 4 * (i * sl.nbA + b), 4);
            EXPECT_EQ(sx, qx.scalef) << "row " << i << " block " << b;
            int sum = 0;
            for (int t = 0; t < kActBlock; ++t) {
              const int v =
                  static_cast<int8_t>(sc[i * sl.kpA + b * kActBlock + t]);
              const int want = size_t(t) < qx.q.size() ? qx.q[t] : 0;
              EXPECT_EQ(v, want) << "row " << i << " k " << b * kActBlock + t;
              sum += want;
            }
            // The block's code sum, exact, for the zero-point term.
            float got;
            std::memcpy(&got, sc.data() + sl.aOffset + 4 * (i * sl.nbA + b), 4);
            EXPECT_EQ(got, float(sum)) << "row " << i << " block " << b;
          }
        }
      }
}

TEST(QuantWInt8Act, NanBlockGivesNanOutputs) {
  std::mt19937 rng(testSeed());
  for (uint32_t format : {TFC_PACK_W8, TFC_PACK_W4})
    for (const Level &lv : wLevels(format, WStrategy::Int8Act)) {
      Input in = randomInput(2, 100, rng);
      in.data[1 * in.sm + 40 * in.sk] = std::nanf("");
      const WCase c = packWRandom(format, 100, 20, 32, true, false, rng);
      int64_t ldo;
      const std::vector<float> out =
          runFormat(*lv.impl, c.blob.header(), in, ldo);
      for (int64_t j = 0; j < 20; ++j) {
        EXPECT_TRUE(std::isnan(out[ldo + j])) << lv.name << " col " << j;
        EXPECT_FALSE(std::isnan(out[j])) << lv.name << " col " << j;
      }
    }
}

//===-- packers and layouts
//-------------------------------------------------===//

TEST(QuantPack, TransposedInputPacksTheSameBlob) {
  std::mt19937 rng(testSeed());
  for (int64_t k : {1, 33, 100})
    for (int64_t n : {1, 17, 70}) {
      std::vector<float> w;
      Bytes a = packBf16Random(k, n, false, rng, w);
      pack::Layout l;
      std::string err;
      ASSERT_TRUE(pack::quantLayoutOf(TFC_PACK_BF16, k, n, 0, 0, l, err));
      std::vector<float> wt(k * n);
      for (int64_t kk = 0; kk < k; ++kk)
        for (int64_t j = 0; j < n; ++j)
          wt[j * k + kk] = w[kk * n + j];
      Bytes b(l.total);
      ASSERT_TRUE(pack::packBf16(wt.data(), k, n, true, 0, b.p, l.total, err));
      EXPECT_EQ(0, std::memcmp(a.p, b.p, l.total)) << "bf16 " << k << "x" << n;

      for (uint32_t format : {TFC_PACK_W8, TFC_PACK_W4})
        for (bool asym : {false, true}) {
          std::mt19937 r1(testSeed() + k * 131 + n), r2 = r1;
          const WCase c1 = packWRandom(format, k, n, 32, asym, false, r1);
          const WCase c2 = packWRandom(format, k, n, 32, asym, true, r2);
          ASSERT_EQ(c1.q, c2.q);
          EXPECT_EQ(0, std::memcmp(c1.blob.p, c2.blob.p,
                                   c1.blob.header().total_bytes))
              << "format " << format << " " << k << "x" << n;
        }
      std::mt19937 r1(testSeed() + k + n), r2 = r1;
      const S8Case s1 = packS8Random(k, n, false, 0, 0, r1);
      const S8Case s2 = packS8Random(k, n, true, 0, 0, r2);
      EXPECT_EQ(0,
                std::memcmp(s1.blob.p, s2.blob.p, s1.blob.header().total_bytes))
          << "s8 " << k << "x" << n;
    }
}

TEST(QuantPack, LayoutsAndHeaders) {
  struct Case {
    uint32_t format;
    int64_t k, n, group;
    uint32_t flags;
    uint64_t data, scales, zeros, extra;
    uint32_t panel;
  };
  // Sizes per FormatQuant.h, worked out by hand.
  const Case cases[] = {
      {TFC_PACK_BF16, 3, 33, 0, 0, 2 * 2 * 32 * 2 * 2, 0, 0, 0, 32},
      {TFC_PACK_S8, 5, 17, 0, 0, 2 * 2 * 64, 2 * 16 * 4, 0, 2 * 16 * 4, 16},
      {TFC_PACK_W8, 100, 33, 64, TFC_PACK_FLAG_ASYM, 2 * 128 * 32,
       2 * 2 * 32 * 4, 2 * 2 * 32 * 4, 0, 32},
      {TFC_PACK_W4, 576, 49152, 32, 0, 1536 * 576 * 16, 1536 * 18 * 32 * 4, 0,
       0, 32},
      {TFC_PACK_W4, 33, 1, 0, 0, 1 * 64 * 16, 1 * 1 * 32 * 4, 0, 0, 32},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(fmt("format %u k %lld n %lld", c.format, (long long)c.k,
                     (long long)c.n));
    pack::Layout l;
    std::string err;
    ASSERT_TRUE(
        pack::quantLayoutOf(c.format, c.k, c.n, c.group, c.flags, l, err))
        << err;
    EXPECT_EQ(l.panel, c.panel);
    EXPECT_EQ(l.data, TFC_PACK_HEADER_SIZE);
    uint64_t at = align64(l.data + c.data);
    for (auto [off, size] :
         {std::pair{l.scales, c.scales}, std::pair{l.zeros, c.zeros},
          std::pair{l.extra, c.extra}}) {
      if (!size) {
        EXPECT_EQ(off, 0u);
        continue;
      }
      EXPECT_EQ(off, at);
      at = align64(at + size);
    }
    EXPECT_EQ(l.total, at);
    Bytes blob(l.total);
    ASSERT_TRUE(pack::writeQuantHeader(c.format, c.k, c.n, c.group, c.flags, 0,
                                       0, blob.p, l.total, err));
    const tfc_pack_header &h = blob.header();
    EXPECT_EQ(h.magic, TFC_PACK_MAGIC);
    EXPECT_EQ(h.version, TFC_PACK_VERSION);
    EXPECT_EQ(h.format, c.format);
    EXPECT_EQ(h.total_bytes, l.total);
    EXPECT_EQ(h.scales_offset, l.scales);
    EXPECT_EQ(h.panel, c.panel);
  }
}

TEST(QuantPack, Errors) {
  pack::Layout l;
  std::string err;
  auto layoutFails = [&](uint32_t f, int64_t k, int64_t n, int64_t g,
                         uint32_t flags, const char *want) {
    err.clear();
    EXPECT_FALSE(pack::quantLayoutOf(f, k, n, g, flags, l, err));
    EXPECT_NE(err.find(want), std::string::npos) << err;
  };
  layoutFails(TFC_PACK_W4, 64, 64, 48, 0, "group 48 must be 0");
  layoutFails(TFC_PACK_S8, 64, 64, 32, 0, "has no groups");
  layoutFails(TFC_PACK_BF16, 0, 64, 0, 0, "k = 0");
  layoutFails(TFC_PACK_W8, 64, 63, 0, TFC_PACK_FLAG_GATED, "even n");
  layoutFails(TFC_PACK_S8, 64, 64, 0, TFC_PACK_FLAG_ASYM, "flags 0x1");
  layoutFails(TFC_PACK_F32, 64, 64, 0, 0, "not one of the quantized");
  layoutFails(TFC_PACK_S8, (1 << 17) + 1, 64, 0, 0,
              "int32 sums could overflow");
  ASSERT_TRUE(
      pack::quantLayoutOf(TFC_PACK_W4, 64, 64, 0, TFC_PACK_FLAG_GATED, l, err));

  std::vector<unsigned char> buf(1 << 16);
  std::vector<int8_t> q(8 * 4, 3);
  std::vector<float> s(8 * 4, 0.5f), z(8 * 4, 7.0f);
  auto expectErr = [&](bool ok, const char *want) {
    EXPECT_FALSE(ok);
    EXPECT_NE(err.find(want), std::string::npos) << err;
    err.clear();
  };
  q[2 * 4 + 1] = 16;
  expectErr(pack::packWeightOnly(TFC_PACK_W4, q.data(), s.data(), nullptr, 8, 4,
                                 0, false, 0, buf.data(), buf.size(), err),
            "code 16 at k = 2, column 1 is outside 0..15");
  q[2 * 4 + 1] = 3;
  expectErr(pack::packWeightOnly(TFC_PACK_W4, q.data(), s.data(), z.data(), 8,
                                 4, 0, false, 0, buf.data(), buf.size(), err),
            "without TFC_PACK_FLAG_ASYM");
  expectErr(pack::packWeightOnly(TFC_PACK_W4, q.data(), s.data(), nullptr, 8, 4,
                                 0, false, TFC_PACK_FLAG_ASYM, buf.data(),
                                 buf.size(), err),
            "ASYM without zero points");
  z[1] = 16.0f;
  expectErr(pack::packWeightOnly(TFC_PACK_W4, q.data(), s.data(), z.data(), 8,
                                 4, 0, false, TFC_PACK_FLAG_ASYM, buf.data(),
                                 buf.size(), err),
            "zero point of group 0, column 1 is 16");
  s[1] = std::nanf("");
  expectErr(pack::packWeightOnly(TFC_PACK_W8, q.data(), s.data(), nullptr, 8, 4,
                                 0, false, 0, buf.data(), buf.size(), err),
            "scale of group 0, column 1");
  s[1] = 0.5f;
  expectErr(pack::packWeightOnly(TFC_PACK_W8, q.data(), s.data(), nullptr, 8, 4,
                                 0, false, 0, buf.data(), 100, err),
            "the buffer has 100");
  expectErr(pack::packWeightOnly(TFC_PACK_S8, q.data(), s.data(), nullptr, 8, 4,
                                 0, false, 0, buf.data(), buf.size(), err),
            "is not TFC_PACK_W8 or TFC_PACK_W4");
  q[7] = -128;
  expectErr(pack::packS8(q.data(), s.data(), 8, 4, false, 0, 0, 0, buf.data(),
                         buf.size(), err),
            "code -128 at k = 1, column 3");
  q[7] = 1;
  expectErr(pack::packS8(q.data(), s.data(), 8, 4, false,
                         TFC_PACK_FLAG_ACT_STATIC, 0.1f, 3, buf.data(),
                         buf.size(), err),
            "zero point 3");
  expectErr(pack::packS8(q.data(), s.data(), 8, 4, false,
                         TFC_PACK_FLAG_ACT_STATIC, 0.0f, 0, buf.data(),
                         buf.size(), err),
            "must be finite and > 0");
  EXPECT_TRUE(pack::packS8(q.data(), s.data(), 8, 4, false,
                           TFC_PACK_FLAG_ACT_STATIC, 0.1f, 0, buf.data(),
                           buf.size(), err))
      << err;
  const auto *h = reinterpret_cast<const tfc_pack_header *>(buf.data());
  EXPECT_EQ(h->act_scale, 0.1f);
  EXPECT_EQ(h->flags, TFC_PACK_FLAG_ACT_STATIC);
  std::vector<float> w(8 * 4, 1.0f);
  expectErr(pack::packBf16(w.data(), 8, 4, false, TFC_PACK_FLAG_ASYM,
                           buf.data(), buf.size(), err),
            "flags 0x1 not allowed");
}

TEST(QuantDispatch, LevelsAndExtensions) {
  using isa::Level;
  for (uint32_t f : {TFC_PACK_BF16, TFC_PACK_S8, TFC_PACK_W8, TFC_PACK_W4})
    EXPECT_NE(quantFormatImplFor(f, Level::Generic, false, false), nullptr)
        << "format " << f;
  EXPECT_EQ(quantFormatImplFor(TFC_PACK_F32, Level::Generic, true, true),
            nullptr);
  EXPECT_EQ(quantFormatImplFor(TFC_PACK_SPARSE_FIRST, Level::Avx2, true, true),
            nullptr);
#if defined(__x86_64__)
  // Without the extension the AVX-512 level has nothing (the driver then
  // takes the AVX2 kernel); with it, the extension's kernel.
  EXPECT_EQ(quantFormatImplFor(TFC_PACK_S8, Level::Avx512, false, true),
            nullptr);
  EXPECT_EQ(quantFormatImplFor(TFC_PACK_S8, Level::Avx512, true, false),
            s8Avx512Vnni());
  EXPECT_EQ(quantFormatImplFor(TFC_PACK_BF16, Level::Avx512, true, false),
            nullptr);
  EXPECT_EQ(quantFormatImplFor(TFC_PACK_BF16, Level::Avx512, false, true),
            bf16Avx512Bf16());
  EXPECT_EQ(quantFormatImplFor(TFC_PACK_S8, Level::Avx2, false, false),
            s8Avx2());
  for (uint32_t f : {TFC_PACK_W8, TFC_PACK_W4}) {
    EXPECT_EQ(quantFormatImplFor(f, Level::Avx512, true, false),
              wAvx512(f, WStrategy::Int8Act));
    EXPECT_EQ(quantFormatImplFor(f, Level::Avx2, false, false),
              wAvx2(f, WStrategy::Int8Act));
    EXPECT_EQ(quantFormatImplFor(f | kFormatKeyActF32, Level::Avx512, true,
                                 false),
              wAvx512(f, WStrategy::F32Act));
    EXPECT_EQ(quantFormatImplFor(f | kFormatKeyActF32, Level::Avx2, false,
                                 false),
              wAvx2(f, WStrategy::F32Act));
    EXPECT_EQ(quantFormatImplFor(TFC_PACK_S8 | kFormatKeyActF32, Level::Avx2,
                                 false, false),
              nullptr);
    EXPECT_EQ(quantFormatImplFor(f, Level::Avx512, false, false), nullptr);
  }
#endif
  // What the driver sees follows this machine's features.
  const isa::Features &ft = isa::features();
  EXPECT_EQ(quantFormatImpl(TFC_PACK_S8, ft.level),
            quantFormatImplFor(TFC_PACK_S8, ft.level, ft.vnni, ft.bf16));
}

/// The largest products the kernels' int16 steps see (S8 and W8's sign
/// trick pairs of 127 x 127 and 128 x 127, W4's int16 block sums of 16 x
/// 15 x 127): exact on every level.
TEST(QuantExtremes, NoSaturation) {
  const int64_t k = 96, n = 40, m = 3;
  for (float sign : {1.0f, -1.0f}) {
    // Every activation +-127 (row scale 1, block scales 1).
    Input in{m, k, k, 1, std::vector<float>(m * k, 127.0f * sign)};
    for (int64_t kk = 0; kk < k; kk += 2)
      in.data[2 * k + kk] = -in.data[2 * k + kk]; // row 2 alternates
    for (int8_t code : {int8_t(127), int8_t(-127)}) {
      std::vector<int8_t> q(k * n, code);
      std::vector<float> s(n, 1.0f);
      pack::Layout l;
      std::string err;
      ASSERT_TRUE(pack::quantLayoutOf(TFC_PACK_S8, k, n, 0, 0, l, err));
      Bytes blob(l.total);
      ASSERT_TRUE(pack::packS8(q.data(), s.data(), k, n, false, 0, 0, 0, blob.p,
                               l.total, err));
      for (const Level &lv : s8Levels()) {
        int64_t ldo;
        const std::vector<float> out =
            runFormat(*lv.impl, blob.header(), in, ldo);
        for (int64_t i = 0; i < m; ++i) {
          int64_t want = 0;
          for (int64_t kk = 0; kk < k; ++kk)
            want += int64_t(in.data[i * k + kk]) * code;
          EXPECT_EQ(out[i * ldo + 5], float(want))
              << "s8 " << lv.name << " code " << int(code) << " row " << i;
        }
      }
    }
    for (uint32_t format : {TFC_PACK_W8, TFC_PACK_W4})
      for (int code : {0, 15, -128, 127}) {
        const bool w4 = format == TFC_PACK_W4;
        if (w4 != (code == 0 || code == 15))
          continue;
        std::vector<int8_t> q(k * n, static_cast<int8_t>(code));
        std::vector<float> s(n, 1.0f), z(n, 0.0f);
        pack::Layout l;
        std::string err;
        ASSERT_TRUE(
            pack::quantLayoutOf(format, k, n, 0, TFC_PACK_FLAG_ASYM, l, err));
        Bytes blob(l.total);
        ASSERT_TRUE(pack::packWeightOnly(format, q.data(), s.data(), z.data(),
                                         k, n, 0, false, TFC_PACK_FLAG_ASYM,
                                         blob.p, l.total, err));
        for (const Level &lv : wLevels(format, WStrategy::Int8Act)) {
          int64_t ldo;
          const std::vector<float> out =
              runFormat(*lv.impl, blob.header(), in, ldo);
          for (int64_t i = 0; i < m; ++i) {
            int64_t want = 0;
            for (int64_t kk = 0; kk < k; ++kk)
              want += int64_t(in.data[i * k + kk]) * code;
            EXPECT_EQ(out[i * ldo + 5], float(want))
                << (format == TFC_PACK_W4 ? "w4 " : "w8 ") << lv.name
                << " code " << code << " row " << i;
          }
        }
      }
  }
}
