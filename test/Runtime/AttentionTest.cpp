//===- AttentionTest.cpp - every attention path against the naive oracle -===//
//
// Each ISA level's kernels (called directly, both the prefill and the decode
// block, with and without the key-chunk split) and the C entry are compared
// with attn::naive, the contract in double precision with the whole score
// matrix materialized. Fresh random data per run (the seed is printed), odd
// shapes, views inside larger buffers, output padding that must stay
// untouched.
//
// Tolerance: every output is a convex combination of v rows, so its scale
// is vmax = max |v|; we require |out - ref| <= 1e-5 * vmax (float's 6e-8
// unit roundoff times the ~sqrt(t) growth of the float sums over up to 4096
// keys and the per-tile rescaling, with margin). A row that sees no key must
// be exactly 0. A wrong index, a missed or doubly counted tile, or a wrong
// mask bit moves outputs by O(vmax / visible keys), far above the bound.
//
//===----------------------------------------------------------------------===//

#include "Attention/Attention.h"
#include "AttentionParts.h"
#include "Cuda/GpuAttention.h"
#include "Internal.h"
#include "Isa.h"
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
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

constexpr float kSentinel = 12345.0f;
constexpr double kRelTol = 1e-5;

unsigned testSeed() {
  static const unsigned seed = std::random_device{}();
  return seed;
}

enum class MaskKind { None, Pad, BatchRows, Rows, Full, SameRows, SameButOne };

/// One problem. Mask shapes: Pad [b,1,1,t], BatchRows [b,1,s,t], Rows
/// [1,1,s,t], Full [b,hq,s,t]; SameRows [b,hq,s,t] whose rows are equal
/// within each batch item (an exporter's materialized padding mask: the
/// runtime broadcasts one row), SameButOne the same with one element of the
/// last row changed (must not be taken for equal rows).
struct Case {
  int64_t b = 1, hq = 1, hkv = 1, s = 1, t = 1, d = 16, dv = 0; // dv 0: = d
  bool causal = false;
  int64_t window = 0, sinks = 0, block = 0;
  int64_t layoutBlock = 0; // > 0: a random block layout
  MaskKind keep = MaskKind::None, add = MaskKind::None;
  bool fullyPadded = false;  // Pad: the last batch item keeps no key
  bool strided = false;      // views inside larger buffers, BSHD q / out
  bool kTransposed = false;  // k stored [b, hkv, d, t] (d stride != 1)
  bool qoTransposed = false; // q, out stored [b, h, d, s] (ditto)
  float scaleMul = 1.0f;     // sharper softmax
  bool sinkQuery = false;    // a sink query [b, s, hq, d + 1] (BSHD)

  std::string str() const {
    char buf[400];
    std::snprintf(
        buf, sizeof(buf),
        "b %lld hq %lld hkv %lld s %lld t %lld d %lld dv %lld causal "
        "%d window %lld sinks %lld block %lld layout %lld keep %d add "
        "%d padded %d strided %d kT %d qoT %d scale x%g sq %d seed %u",
        (long long)b, (long long)hq, (long long)hkv, (long long)s, (long long)t,
        (long long)d, (long long)(dv ? dv : d), causal, (long long)window,
        (long long)sinks, (long long)block, (long long)layoutBlock, (int)keep,
        (int)add, fullyPadded, strided, kTransposed, qoTransposed, scaleMul,
        sinkQuery, testSeed());
    return buf;
  }
};

void maskShape(MaskKind kind, const Case &c, int64_t *shape) {
  const int64_t all[7][4] = {{0, 0, 0, 0},
                             {c.b, 1, 1, c.t},
                             {c.b, 1, c.s, c.t},
                             {1, 1, c.s, c.t},
                             {c.b, c.hq, c.s, c.t},
                             {c.b, c.hq, c.s, c.t},
                             {c.b, c.hq, c.s, c.t}};
  for (int i = 0; i < 4; ++i)
    shape[i] = all[static_cast<int>(kind)][i];
}

/// The buffers of a case and its Params (views into them).
struct Problem {
  Case c;
  int64_t dv = 0;
  std::vector<float> q, kv, vOwn, out, add, sq;
  std::vector<uint8_t> keep, layout;
  int64_t keepShape[4] = {}, addShape[4] = {};
  Params p;
  int64_t outOffset = 0;
  float vmax = 0;

  Problem(const Case &cs, std::mt19937 &rng) : c(cs) {
    dv = c.dv ? c.dv : c.d;
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    p.b = c.b;
    p.hq = c.hq;
    p.hkv = c.hkv;
    p.s = c.s;
    p.t = c.t;
    p.d = c.d;
    p.dv = dv;
    // q: contiguous [b, hq, s, d], [b, s, hq, d + 3] (BSHD, padded) or
    // [b, hq, d, s].
    if (c.qoTransposed) {
      q.resize(c.b * c.hq * c.s * c.d);
      p.q = q.data();
      p.qs[0] = c.hq * c.s * c.d;
      p.qs[1] = c.s * c.d;
      p.qs[2] = 1;
      p.qs[3] = c.s;
    } else if (c.strided) {
      const int64_t ld = c.d + 3;
      q.resize(7 + c.b * c.s * c.hq * ld);
      p.q = q.data() + 7;
      p.qs[0] = c.s * c.hq * ld;
      p.qs[1] = ld;
      p.qs[2] = c.hq * ld;
      p.qs[3] = 1;
    } else {
      q.resize(c.b * c.hq * c.s * c.d);
      p.q = q.data();
      p.qs[0] = c.hq * c.s * c.d;
      p.qs[1] = c.s * c.d;
      p.qs[2] = c.d;
      p.qs[3] = 1;
    }
    for (float &x : q)
      x = u(rng);
    if (c.sinkQuery) {
      const int64_t ld = c.d + 1;
      sq.resize(c.b * c.s * c.hq * ld);
      for (float &x : sq)
        x = u(rng);
      p.qSink = sq.data();
      p.qSinkS[0] = c.s * c.hq * ld;
      p.qSinkS[1] = ld;
      p.qSinkS[2] = c.hq * ld;
      p.qSinkS[3] = 1;
    }
    // k / v: contiguous, or rows [0, t) of a cache [2, b, hkv, maxLen, d]
    // (the session's layout; v in its own buffer when dv != d).
    const int64_t maxLen = c.strided ? c.t + 13 : c.t;
    const bool shared = c.strided && dv == c.d && !c.kTransposed;
    const int64_t kItems = c.b * c.hkv * maxLen * c.d;
    kv.resize((shared ? 2 : 1) * kItems + 5);
    p.k = kv.data() + (shared ? 0 : 5);
    if (c.kTransposed) { // [b, hkv, d, maxLen]
      p.ks[0] = c.hkv * c.d * maxLen;
      p.ks[1] = c.d * maxLen;
      p.ks[2] = 1;
      p.ks[3] = maxLen;
    } else {
      p.ks[0] = c.hkv * maxLen * c.d;
      p.ks[1] = maxLen * c.d;
      p.ks[2] = c.d;
      p.ks[3] = 1;
    }
    for (float &x : kv)
      x = u(rng);
    const int64_t vLen = c.strided ? c.t + 13 : c.t;
    if (shared) {
      p.v = kv.data() + kItems;
    } else {
      vOwn.resize(c.b * c.hkv * vLen * dv + 3);
      for (float &x : vOwn)
        x = u(rng);
      p.v = vOwn.data() + 3;
    }
    p.vs[0] = c.hkv * vLen * dv;
    p.vs[1] = vLen * dv;
    p.vs[2] = dv;
    p.vs[3] = 1;
    for (int64_t i = 0; i < c.b * c.hkv * vLen * dv; ++i)
      vmax = std::max(vmax, std::fabs(p.v[i]));
    // out: contiguous, [b, s, hq, dv + 2] with an offset, or [b, hq, dv, s].
    if (c.qoTransposed) {
      out.assign(c.b * c.hq * c.s * dv, kSentinel);
      p.os[0] = c.hq * c.s * dv;
      p.os[1] = c.s * dv;
      p.os[2] = 1;
      p.os[3] = c.s;
    } else if (c.strided) {
      const int64_t ld = dv + 2;
      outOffset = 3;
      out.assign(outOffset + c.b * c.s * c.hq * ld, kSentinel);
      p.os[0] = c.s * c.hq * ld;
      p.os[1] = ld;
      p.os[2] = c.hq * ld;
      p.os[3] = 1;
    } else {
      out.assign(c.b * c.hq * c.s * dv, kSentinel);
      p.os[0] = c.hq * c.s * dv;
      p.os[1] = c.s * dv;
      p.os[2] = dv;
      p.os[3] = 1;
    }
    p.out = out.data() + outOffset;
    p.scale = c.scaleMul / std::sqrt(static_cast<float>(c.d));
    p.causal = c.causal;
    p.window = c.window;
    p.sinks = c.sinks;
    p.block = c.block;

    auto strides = [](const int64_t *shape, int64_t *st) {
      int64_t run = 1;
      for (int i = 3; i >= 0; --i) {
        st[i] = shape[i] == 1 ? 0 : run;
        run *= shape[i];
      }
      return run;
    };
    if (c.keep != MaskKind::None) {
      maskShape(c.keep, c, keepShape);
      keep.resize(strides(keepShape, p.keepS));
      std::bernoulli_distribution on(0.8);
      for (auto &x : keep)
        x = on(rng);
      if (c.keep == MaskKind::Pad) // padding at the end, more per item
        for (int64_t bi = 0; bi < c.b; ++bi)
          for (int64_t j = 0; j < c.t; ++j)
            keep[bi * c.t + j] =
                (c.fullyPadded && bi == c.b - 1) ? 0 : j < c.t - 3 * bi;
      p.keep = keep.data();
    }
    if (c.add != MaskKind::None) {
      maskShape(c.add, c, addShape);
      add.resize(strides(addShape, p.addS));
      std::uniform_real_distribution<float> a(-2.f, 2.f);
      std::bernoulli_distribution blocked(0.1);
      for (float &x : add)
        x = blocked(rng) ? -INFINITY : a(rng);
      if (c.add == MaskKind::SameRows || c.add == MaskKind::SameButOne) {
        const int64_t rows = c.hq * c.s;
        for (int64_t bi = 0; bi < c.b; ++bi)
          for (int64_t r = 1; r < rows; ++r)
            std::copy_n(add.begin() + bi * rows * c.t, c.t,
                        add.begin() + (bi * rows + r) * c.t);
        if (c.add == MaskKind::SameButOne)
          add.back() = add.back() == 0.5f ? 0.25f : 0.5f;
      }
      p.add = add.data();
    }
    if (c.layoutBlock > 0) {
      const int64_t n = (c.t + c.layoutBlock - 1) / c.layoutBlock;
      p.layoutRows = n + 1; // larger than needed, as allowed
      p.layoutCols = n + 2;
      layout.resize(p.layoutRows * p.layoutCols);
      std::bernoulli_distribution on(0.35);
      for (int64_t r = 0; r < p.layoutRows; ++r)
        for (int64_t col = 0; col < p.layoutCols; ++col)
          layout[r * p.layoutCols + col] = r == col || col == 0 || on(rng);
      p.layout = layout.data();
      p.layoutS[0] = p.layoutCols;
      p.layoutS[1] = 1;
      p.layoutBlock = c.layoutBlock;
    }
  }

  /// Compares out with the naive result; checks the padding of out.
  void check(const std::vector<double> &ref, const std::string &what) {
    SCOPED_TRACE(what + ": " + c.str());
    int bad = 0;
    double worst = 0;
    const double tol = kRelTol * vmax;
    for (int64_t b = 0; b < c.b; ++b)
      for (int64_t h = 0; h < c.hq; ++h)
        for (int64_t i = 0; i < c.s; ++i)
          for (int64_t x = 0; x < dv; ++x) {
            const double r = ref[((b * c.hq + h) * c.s + i) * dv + x];
            const float o =
                p.out[b * p.os[0] + h * p.os[1] + i * p.os[2] + x * p.os[3]];
            const double err = std::fabs(o - r);
            worst = std::max(worst, std::isnan(err) ? 1e30 : err);
            const bool ok = r == 0.0 && o == 0.0f ? true
                            : r == 0.0            ? false
                                                  : err <= tol;
            // A row that sees nothing must be exactly 0 (r is exactly 0
            // only then: random data).
            if (!ok && bad++ < 5)
              ADD_FAILURE() << "out[" << b << "][" << h << "][" << i << "]["
                            << x << "] = " << o << ", reference " << r
                            << " (tolerance " << tol << ")";
          }
    EXPECT_EQ(bad, 0) << "worst error " << worst << " vs tolerance " << tol;
    // Nothing outside the view was written.
    std::vector<char> inside(out.size(), 0);
    for (int64_t b = 0; b < c.b; ++b)
      for (int64_t h = 0; h < c.hq; ++h)
        for (int64_t i = 0; i < c.s; ++i)
          for (int64_t x = 0; x < dv; ++x)
            inside[outOffset + b * p.os[0] + h * p.os[1] + i * p.os[2] +
                   x * p.os[3]] = 1;
    int outside = 0;
    for (size_t i = 0; i < out.size(); ++i)
      if (!inside[i] && out[i] != kSentinel)
        ++outside;
    EXPECT_EQ(outside, 0) << "elements written outside out's view";
  }
  void resetOut() { std::fill(out.begin(), out.end(), kSentinel); }
};

const Kernels &kernelsFor(isa::Level level) {
  return isa::byLevel(level, kernelsGeneric(), kernelsAvx2(), kernelsAvx512());
}

class AttentionTest : public ::testing::TestWithParam<isa::Level> {
protected:
  void SetUp() override {
    if (!isa::supported(GetParam()))
      GTEST_SKIP() << isa::name(GetParam()) << " not supported on this CPU";
    tfc_set_num_threads(3);
  }
  void TearDown() override { tfc_set_num_threads(0); }
  const Kernels &ks() const { return kernelsFor(GetParam()); }

  /// Runs every path of the level on `c` and compares each with naive.
  void checkCase(const Case &c) {
    Problem pr(c, rng);
    std::vector<double> ref(c.b * c.hq * c.s * pr.dv);
    naive(pr.p, ref.data());
    const bool decodeOk = pr.p.ks[3] == 1 && pr.p.vs[3] == 1;
    for (Params::Path path :
         {Params::Path::Auto, Params::Path::Prefill, Params::Path::Decode}) {
      if (path == Params::Path::Decode && !decodeOk)
        continue;
      for (int64_t chunks : {int64_t(0), int64_t(3)}) {
        pr.resetOut();
        Params p = pr.p;
        p.path = path;
        p.forceChunks = chunks;
        run(p, ks());
        const std::string what = std::string(ks().name) + " path " +
                                 std::to_string(static_cast<int>(path)) +
                                 " chunks " + std::to_string(chunks);
        pr.check(ref, what);
        // The same call on K/V in parts (a ring cache read in place).
        pr.resetOut();
        int64_t cut[3];
        partCuts(p, cut);
        std::vector<std::vector<char>> store;
        run(splitKv(p, cut, store), ks());
        pr.check(ref, what + " in parts cut at " + std::to_string(cut[0]) +
                          "," + std::to_string(cut[1]) + "," +
                          std::to_string(cut[2]));
      }
    }
  }
  /// checkCase, then the same with the sinks scored by a sink query of
  /// their own (tfc --sink-positions=cache: the level kernels take the
  /// window, the sink keys run as one more chunk).
  void checkCaseAndSinkQuery(Case c) {
    checkCase(c);
    c.sinkQuery = true;
    checkCase(c);
  }

  std::mt19937 rng{testSeed()};
};

TEST_P(AttentionTest, HeadsAndGroups) {
  for (int64_t group : {1, 3, 8})
    for (bool causal : {false, true}) {
      Case c;
      c.b = 2;
      c.hkv = 2;
      c.hq = 2 * group;
      c.s = c.t = 37;
      c.d = 32;
      c.causal = causal;
      checkCase(c);
    }
}

TEST_P(AttentionTest, ManyHeadsPerKvHead) {
  // A group wider than any block (MQA with 40 heads): head sub-groups.
  Case c;
  c.hq = 40;
  c.hkv = 1;
  c.s = 3;
  c.t = 70;
  c.d = 16;
  c.causal = true;
  c.keep = MaskKind::Full;
  checkCase(c);
  c.s = 1;
  checkCase(c);
}

TEST_P(AttentionTest, HeadDims) {
  for (int64_t d : {16, 32, 64, 80, 128}) {
    Case c;
    c.hq = 3;
    c.hkv = 1;
    c.s = c.t = 33;
    c.d = d;
    c.causal = true;
    checkCase(c);
    c.dv = d == 80 ? 48 : d / 2 + 8; // dv != d
    c.causal = false;
    checkCase(c);
  }
}

TEST_P(AttentionTest, OddLengths) {
  for (int64_t s : {1, 7, 33, 129, 257}) {
    Case c;
    c.hq = 2;
    c.hkv = 1;
    c.s = c.t = s;
    c.d = 16;
    c.causal = s % 2 == 1;
    checkCase(c);
  }
  // Queries at the end of the keys (position offset t - s), and s > t.
  for (auto st :
       {std::pair<int64_t, int64_t>{7, 129}, {33, 257}, {64, 65}, {5, 3}}) {
    Case c;
    c.hq = 4;
    c.hkv = 2;
    c.s = st.first;
    c.t = st.second;
    c.d = 32;
    c.causal = true;
    checkCase(c);
    c.causal = false;
    c.window = 40;
    checkCase(c);
  }
}

TEST_P(AttentionTest, SparsePatterns) {
  Case c;
  c.hq = 6;
  c.hkv = 2;
  c.s = c.t = 257;
  c.d = 32;
  c.causal = true;
  c.window = 70; // window alone, then with sinks
  checkCase(c);
  c.sinks = 4;
  checkCaseAndSinkQuery(c);
  c.window = 64; // tile-aligned window and a sink tile
  c.sinks = 64;
  checkCaseAndSinkQuery(c);
  c.causal = false; // non-causal window sees future keys
  c.window = 30;
  c.sinks = 3;
  checkCaseAndSinkQuery(c);
  Case blk = c;
  blk.window = blk.sinks = 0;
  blk.block = 48; // block-local
  checkCase(blk);
  blk.causal = true;
  blk.block = 64;
  checkCase(blk);
  Case lay = blk;
  lay.block = 0;
  lay.layoutBlock = 32; // BigBird-style random layout
  checkCase(lay);
  lay.causal = false;
  lay.layoutBlock = 48;
  lay.s = 100; // positions t - s.. split by layout rows
  checkCase(lay);
  lay.window = 100; // several conditions at once
  lay.block = 80;
  lay.keep = MaskKind::BatchRows;
  checkCase(lay);
}

TEST_P(AttentionTest, Masks) {
  Case c;
  c.b = 3;
  c.hq = 4;
  c.hkv = 2;
  c.s = c.t = 45;
  c.d = 16;
  c.keep = MaskKind::Pad;
  c.fullyPadded = true; // a batch item whose rows see nothing
  checkCase(c);
  c.causal = true;
  checkCase(c);
  for (MaskKind k : {MaskKind::BatchRows, MaskKind::Rows, MaskKind::Full}) {
    Case m = c;
    m.keep = k;
    checkCase(m);
    m.keep = MaskKind::None;
    m.add = k; // additive, with some -inf
    checkCase(m);
    m.keep = MaskKind::Pad; // both at once
    checkCase(m);
  }
  for (MaskKind k : {MaskKind::SameRows, MaskKind::SameButOne}) {
    Case m = c;
    m.keep = MaskKind::None;
    m.causal = false;
    m.add = k;
    checkCase(m);
    m.s = m.t = 130; // more than one row block and key tile
    checkCase(m);
  }
  Case a = c;
  a.keep = MaskKind::None;
  a.add = MaskKind::Pad;
  a.causal = false;
  a.s = 1; // decode with a float padding mask
  a.t = 300;
  checkCase(a);
}

TEST_P(AttentionTest, Decode) {
  for (int64_t t : {1, 7, 4096}) {
    for (int64_t group : {1, 3, 8}) {
      Case c;
      c.b = 2;
      c.hkv = 2;
      c.hq = 2 * group;
      c.s = 1;
      c.t = t;
      c.d = 64;
      c.causal = true;
      c.strided = true; // k / v rows [0, t) of a longer cache
      checkCase(c);
    }
  }
  Case c; // few queries, a padded cache, sink + local window
  c.hq = 3;
  c.hkv = 1;
  c.s = 4;
  c.t = 1000;
  c.d = 80;
  c.causal = true;
  c.window = 256;
  c.sinks = 4;
  c.keep = MaskKind::Pad;
  c.strided = true;
  checkCaseAndSinkQuery(c);
}

/// Sink queries beyond SparsePatterns' and Decode's cases (which run with
/// one too): masks on the sink chunk, one row over a long cache.
TEST_P(AttentionTest, SinkQuery) {
  Case c;
  c.hq = 6;
  c.hkv = 2;
  c.s = c.t = 257;
  c.d = 32;
  c.window = 30; // future keys in the window, masks on the sink chunk
  c.sinks = 3;
  c.keep = MaskKind::Full;
  c.add = MaskKind::BatchRows;
  c.sinkQuery = true;
  checkCase(c);
  Case d; // one decode row over a long cache
  d.b = 2;
  d.hq = 6;
  d.hkv = 2;
  d.s = 1;
  d.t = 4096;
  d.d = 64;
  d.causal = true;
  d.window = 256;
  d.sinks = 4;
  d.strided = true;
  d.sinkQuery = true;
  checkCase(d);
}

TEST_P(AttentionTest, StridedViews) {
  Case c;
  c.b = 2;
  c.hq = 6;
  c.hkv = 3;
  c.s = 19;
  c.t = 70;
  c.d = 32;
  c.causal = true;
  c.strided = true;
  checkCase(c);
  c.dv = 24;
  checkCase(c);
  c.kTransposed = true; // no unit stride along d: prefill blocks only
  checkCase(c);
  c.s = 1;
  checkCase(c);
  c.kTransposed = false;
  c.strided = false;
  c.qoTransposed = true; // q and out with a non-unit stride along d
  c.s = 21;
  checkCase(c);
  c.s = 2;
  checkCase(c);
}

TEST_P(AttentionTest, SharpSoftmax) {
  // Large logits: the running max changes often, rescaling matters.
  Case c;
  c.hq = 2;
  c.hkv = 2;
  c.s = c.t = 200;
  c.d = 64;
  c.scaleMul = 12.0f;
  checkCase(c);
  c.causal = true;
  c.s = 2;
  checkCase(c);
}

/// Skipping Empty tiles and not checking Full ones changes no bit.
TEST_P(AttentionTest, SkippedTilesBitIdentical) {
  std::vector<Case> cases;
  Case c;
  c.hq = 4;
  c.hkv = 2;
  c.s = c.t = 300;
  c.d = 32;
  c.causal = true;
  cases.push_back(c);
  c.window = 64;
  c.sinks = 4;
  cases.push_back(c);
  Case blk = c;
  blk.window = blk.sinks = 0;
  blk.block = 64;
  blk.keep = MaskKind::Pad;
  blk.b = 2;
  cases.push_back(blk);
  Case lay = c;
  lay.window = lay.sinks = 0;
  lay.causal = false;
  lay.layoutBlock = 64;
  lay.add = MaskKind::Rows;
  cases.push_back(lay);
  Case dec = c;
  dec.s = 1;
  dec.t = 2000;
  dec.window = 256;
  cases.push_back(dec);
  for (const Case &cs : cases) {
    Problem pr(cs, rng);
    for (Params::Path path : {Params::Path::Prefill, Params::Path::Decode})
      for (int64_t chunks : {int64_t(0), int64_t(2)}) {
        Params p = pr.p;
        p.path = path;
        p.forceChunks = chunks;
        pr.resetOut();
        run(p, ks());
        const std::vector<float> skipped = pr.out;
        p.skipTiles = false;
        pr.resetOut();
        run(p, ks());
        EXPECT_EQ(0, std::memcmp(skipped.data(), pr.out.data(),
                                 skipped.size() * sizeof(float)))
            << cs.str() << " path " << static_cast<int>(path) << " chunks "
            << chunks;
      }
  }
}

/// A causal mask given as mask_add (an exporter's finite fill above the
/// diagonal, as SmolLM2's graphs build it) is recognized and its tiles past
/// the diagonal skipped, with the same bits as computing them; a mask that
/// shows one visible key past the diagonal, or hides a diagonal, is not.
TEST_P(AttentionTest, CausalAddMaskSkipsTiles) {
  const float fill = -std::numeric_limits<float>::max();
  std::uniform_real_distribution<float> a(-2.f, 2.f);
  for (int64_t s : {int64_t(300), int64_t(200)}) {
    Case c;
    c.b = 2;
    c.hq = 4;
    c.hkv = 2;
    c.s = s;
    c.t = 300;
    c.d = 32;
    c.add = MaskKind::BatchRows;
    Problem pr(c, rng);
    // The fill past each row's position, visible(i, j) up to it.
    auto setMask = [&](auto visible) {
      for (int64_t bi = 0; bi < c.b; ++bi)
        for (int64_t i = 0; i < c.s; ++i)
          for (int64_t j = 0; j < c.t; ++j)
            pr.add[(bi * c.s + i) * c.t + j] =
                j > pr.p.pos(i) ? fill : visible(i, j);
    };
    // Against naive, and bit for bit against every tile computed with the
    // mask added (skipTiles = false also turns the recognition off).
    auto check = [&](Params::Path path, const std::string &what) {
      std::vector<double> ref(c.b * c.hq * c.s * pr.dv);
      naive(pr.p, ref.data());
      Params p = pr.p;
      p.path = path;
      pr.resetOut();
      run(p, ks());
      pr.check(ref, std::string(ks().name) + " " + what);
      const std::vector<float> skipped = pr.out;
      p.skipTiles = false;
      pr.resetOut();
      run(p, ks());
      EXPECT_EQ(0, std::memcmp(skipped.data(), pr.out.data(),
                               skipped.size() * sizeof(float)))
          << c.str() << " " << what << " path " << static_cast<int>(path);
    };
    // Keys j % 7 == 3 are masked below the diagonal too (padding), but
    // never a row's own position.
    setMask([&](int64_t i, int64_t j) {
      return j == pr.p.pos(i) ? 0.5f : j % 7 == 3 ? fill : a(rng);
    });
    EXPECT_EQ(addCausal(pr.p), CausalAdd::WithValues) << c.str();
    for (Params::Path path : {Params::Path::Prefill, Params::Path::Auto})
      check(path, "causal mask_add");
    // Not causal: one key past the diagonal visible.
    float &past = pr.add[(1 * c.s + 5) * c.t + pr.p.pos(5) + 2];
    past = 0.0f;
    EXPECT_EQ(addCausal(pr.p), CausalAdd::No) << c.str();
    past = fill;
    EXPECT_EQ(addCausal(pr.p), CausalAdd::WithValues) << c.str();
    Params causal = pr.p;
    causal.causal = true; // already causal: nothing to detect
    EXPECT_EQ(addCausal(causal), CausalAdd::No);
    // Zeros where visible (the exporters' plain causal mask): the mask is
    // dropped; same bits as adding it everywhere.
    setMask([](int64_t i, int64_t) { return i % 2 ? -0.0f : 0.0f; });
    EXPECT_EQ(addCausal(pr.p), CausalAdd::Only) << c.str();
    check(Params::Path::Auto, "causal-only mask_add");
    // Not causal: a hidden diagonal.
    pr.add[(0 * c.s + 9) * c.t + pr.p.pos(9)] = fill;
    EXPECT_EQ(addCausal(pr.p), CausalAdd::No) << c.str();
  }
}

/// Empty tiles are not even loaded: NaN in keys no query can see leaves
/// the output as it was.
TEST_P(AttentionTest, EmptyTilesNotRead) {
  Case c;
  c.hq = 3;
  c.hkv = 1;
  c.s = 2;
  c.t = 3000;
  c.d = 64;
  c.causal = true;
  c.window = 256;
  c.sinks = 4;
  Problem pr(c, rng);
  for (Params::Path path : {Params::Path::Prefill, Params::Path::Decode}) {
    Params p = pr.p;
    p.path = path;
    pr.resetOut();
    run(p, ks());
    const std::vector<float> clean = pr.out;
    // Keys [128, 2560): whole 64-key tiles, none visible.
    std::vector<float> k(pr.kv), v(pr.vOwn);
    for (int64_t j = 128; j < 2560; ++j) {
      for (int64_t x = 0; x < c.d; ++x)
        const_cast<float *>(p.k)[j * p.ks[2] + x * p.ks[3]] = NAN;
      for (int64_t x = 0; x < c.d; ++x)
        const_cast<float *>(p.v)[j * p.vs[2] + x * p.vs[3]] = NAN;
    }
    pr.resetOut();
    run(p, ks());
    EXPECT_EQ(0, std::memcmp(clean.data(), pr.out.data(),
                             clean.size() * sizeof(float)))
        << "path " << static_cast<int>(path);
    std::copy(k.begin(), k.end(), pr.kv.begin());
    std::copy(v.begin(), v.end(), pr.vOwn.begin());
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, AttentionTest,
                         ::testing::Values(isa::Level::Generic,
                                           isa::Level::Avx2,
                                           isa::Level::Avx512),
                         [](const ::testing::TestParamInfo<isa::Level> &info) {
                           return std::string(isa::name(info.param));
                         });

/// The exp every level's softmax uses (the ISA versions are the same
/// polynomial in vector registers): a few ulp, exact at the special points.
TEST(AttentionExp, Polynomial) {
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
    const double ref = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(expPoly(x) - ref) / ref);
  }
  EXPECT_LT(worst, 3e-7); // ~2.5 ulp
  EXPECT_EQ(expPoly(0.0f), 1.0f);
  EXPECT_EQ(expPoly(-INFINITY), 0.0f);
  EXPECT_EQ(expPoly(-88.0f), 0.0f); // below FLT_MIN: no denormal weights
  EXPECT_TRUE(std::isnan(expPoly(NAN)));
}

//===-- the C entry -------------------------------------------------------===//

tfcrt_memref4_f32 desc4(const float *base, const float *at,
                        const int64_t *sizes, const int64_t *strides) {
  tfcrt_memref4_f32 r;
  r.allocated = r.aligned = const_cast<float *>(base);
  r.offset = at - base;
  for (int i = 0; i < 4; ++i) {
    r.sizes[i] = sizes[i];
    r.strides[i] = strides[i];
  }
  return r;
}

/// Descriptors of a Problem, as compiled code would pass them.
struct Descriptors {
  tfcrt_memref4_f32 q, k, v, out, add, sq;
  tfcrt_memref4_i8 keep;
  tfcrt_memref2_i8 layout;
  explicit Descriptors(Problem &pr) {
    const Params &p = pr.p;
    const int64_t qsz[4] = {p.b, p.hq, p.s, p.d},
                  ksz[4] = {p.b, p.hkv, p.t, p.d},
                  vsz[4] = {p.b, p.hkv, p.t, p.dv},
                  osz[4] = {p.b, p.hq, p.s, p.dv};
    q = desc4(pr.q.data(), p.q, qsz, p.qs);
    k = desc4(pr.kv.data(), p.k, ksz, p.ks);
    v = desc4(pr.vOwn.empty() ? pr.kv.data() : pr.vOwn.data(), p.v, vsz, p.vs);
    out = desc4(pr.out.data(), p.out, osz, p.os);
    std::memset(&sq, 0, sizeof(sq));
    if (p.qSink)
      sq = desc4(pr.sq.data(), p.qSink, qsz, p.qSinkS);
    std::memset(&keep, 0, sizeof(keep));
    std::memset(&add, 0, sizeof(add));
    std::memset(&layout, 0, sizeof(layout));
    if (p.keep) {
      keep.allocated = keep.aligned =
          reinterpret_cast<int8_t *>(pr.keep.data());
      for (int i = 0; i < 4; ++i) {
        keep.sizes[i] = pr.keepShape[i];
        // A size-1 dim's stride is arbitrary in MLIR: the kernel must not
        // use it.
        keep.strides[i] = pr.keepShape[i] == 1 ? 777 : p.keepS[i];
      }
    }
    if (p.add) {
      add = desc4(pr.add.data(), p.add, pr.addShape, p.addS);
      for (int i = 0; i < 4; ++i)
        if (pr.addShape[i] == 1)
          add.strides[i] = 999;
    }
    if (p.layout) {
      layout.allocated = layout.aligned =
          reinterpret_cast<int8_t *>(pr.layout.data());
      layout.sizes[0] = p.layoutRows;
      layout.sizes[1] = p.layoutCols;
      layout.strides[0] = p.layoutS[0];
      layout.strides[1] = p.layoutS[1];
    }
  }
  void call(const Params &p) {
    if (p.qSink)
      _mlir_ciface_tfcrt_attention_sq_f32(&q, &k, &v, &keep, &add, &out,
                                          p.scale, p.causal, p.window, p.sinks,
                                          p.block, &layout, p.layoutBlock, &sq);
    else
      _mlir_ciface_tfcrt_attention_f32(&q, &k, &v, &keep, &add, &out, p.scale,
                                       p.causal, p.window, p.sinks, p.block,
                                       &layout, p.layoutBlock);
  }
};

TEST(AttentionEntry, MatchesNaive) {
  std::mt19937 rng(testSeed());
  std::vector<Case> cases;
  Case c;
  c.b = 2;
  c.hq = 6;
  c.hkv = 2;
  c.s = c.t = 50;
  c.d = 32;
  c.causal = true;
  c.keep = MaskKind::Pad;
  c.strided = true;
  cases.push_back(c);
  c.keep = MaskKind::None;
  c.add = MaskKind::BatchRows;
  c.window = 20;
  c.sinks = 2;
  cases.push_back(c);
  c.add = MaskKind::None;
  c.window = c.sinks = 0;
  c.layoutBlock = 16;
  cases.push_back(c);
  c.layoutBlock = 0;
  c.block = 16;
  c.s = 1;
  cases.push_back(c);
  c.block = 0; // tfcrt_attention_sq_f32
  c.s = 50;
  c.window = 20;
  c.sinks = 2;
  c.sinkQuery = true;
  cases.push_back(c);
  for (const Case &cs : cases) {
    Problem pr(cs, rng);
    std::vector<double> ref(cs.b * cs.hq * cs.s * pr.dv);
    naive(pr.p, ref.data());
    Descriptors(pr).call(pr.p);
    std::string msg;
    EXPECT_EQ(takeKernelError(msg), TFC_OK) << msg;
    pr.check(ref, "C entry");
  }
}

/// tfcrt_attention_parts_f32: K/V in four parts, each its own descriptor
/// (sink_q absent: all sizes 0), against naive.
TEST(AttentionEntry, PartsMatchNaive) {
  std::mt19937 rng(testSeed());
  Case c;
  c.b = 2;
  c.hq = 6;
  c.hkv = 2;
  c.t = 300;
  c.d = 32;
  c.causal = true;
  c.window = 64;
  c.sinks = 4;
  c.keep = MaskKind::Pad;
  for (int64_t s : {1, 7, -1, -7}) {
    c.s = s < 0 ? -s : s;
    c.sinkQuery = s < 0;
    Problem pr(c, rng);
    std::vector<double> ref(c.b * c.hq * c.s * pr.dv);
    naive(pr.p, ref.data());
    Descriptors d(pr);
    std::vector<std::vector<char>> store;
    int64_t cut[3];
    partCuts(pr.p, cut);
    const Params sp = splitKv(pr.p, cut, store);
    tfcrt_memref4_f32 k[4], v[4];
    for (int i = 0; i < 4; ++i) {
      const Params::KvPart &x = sp.parts[i];
      const int64_t ksz[4] = {c.b, c.hkv, x.t, c.d},
                    vsz[4] = {c.b, c.hkv, x.t, pr.dv};
      k[i] = desc4(x.k, x.k, ksz, x.ks);
      v[i] = desc4(x.v, x.v, vsz, x.vs);
    }
    pr.resetOut();
    _mlir_ciface_tfcrt_attention_parts_f32(
        &d.q, &k[0], &k[1], &k[2], &k[3], &v[0], &v[1], &v[2], &v[3], &d.keep,
        &d.add, &d.out, pr.p.scale, pr.p.causal, pr.p.window, pr.p.sinks,
        pr.p.block, &d.layout, pr.p.layoutBlock, &d.sq);
    std::string msg;
    EXPECT_EQ(takeKernelError(msg), TFC_OK) << msg;
    pr.check(ref, "parts entry");
  }
}

/// Inconsistent descriptors: a kernel error naming the problem, NaN output.
TEST(AttentionEntry, Errors) {
  std::mt19937 rng(testSeed());
  Case c;
  c.b = 2;
  c.hq = 4;
  c.hkv = 2;
  c.s = 5;
  c.t = 9;
  c.d = 16;
  c.keep = MaskKind::BatchRows;
  c.layoutBlock = 4;
  struct Bad {
    const char *what;
    const char *message;
    void (*mutate)(Descriptors &, Params &);
  };
  const Bad bads[] = {
      {"hq % hkv", "hq 4 is not a multiple of hkv 3",
       [](Descriptors &d, Params &) {
         d.k.sizes[1] = 3;
         d.v.sizes[1] = 3;
       }},
      {"head dim", "k head dim 15 differs from q's 16",
       [](Descriptors &d, Params &) { d.k.sizes[3] = 15; }},
      {"v length", "v [b, hkv, t] differs from k's",
       [](Descriptors &d, Params &) { d.v.sizes[2] = 8; }},
      {"batch", "batch sizes differ",
       [](Descriptors &d, Params &) { d.k.sizes[0] = 1; }},
      {"out shape", "out is not [b, hq, s, dv]",
       [](Descriptors &d, Params &) { d.out.sizes[3] = 3; }},
      {"mask", "mask_keep dim 2 (s) has size 2, expected 1 or 5",
       [](Descriptors &d, Params &) { d.keep.sizes[2] = 2; }},
      {"add mask", "mask_add dim 3 (t) has size 4, expected 1 or 9",
       [](Descriptors &d, Params &) {
         d.add = d.q;
         d.add.sizes[0] = 1;
         d.add.sizes[1] = 1;
         d.add.sizes[2] = 5;
         d.add.sizes[3] = 4;
       }},
      {"layout size", "layout [2, 4] is smaller than [3, 3]",
       [](Descriptors &d, Params &) {
         d.layout.sizes[0] = 2;
         d.layout.sizes[1] = 4;
       }},
      {"layout block", "layout given with layout_block 0",
       [](Descriptors &, Params &p) { p.layoutBlock = 0; }},
      {"window", "negative window -1",
       [](Descriptors &, Params &p) { p.window = -1; }},
  };
  for (const Bad &bad : bads) {
    SCOPED_TRACE(bad.what);
    Problem pr(c, rng);
    Descriptors d(pr);
    Params p = pr.p;
    bad.mutate(d, p);
    d.call(p);
    std::string msg;
    EXPECT_EQ(takeKernelError(msg), TFC_ERR_INTERNAL);
    EXPECT_NE(msg.find("tfcrt_attention_f32: "), std::string::npos) << msg;
    EXPECT_NE(msg.find(bad.message), std::string::npos) << msg;
    int64_t nans = 0, cells = 1;
    for (int i = 0; i < 4; ++i)
      cells *= d.out.sizes[i];
    for (int64_t b = 0; b < d.out.sizes[0]; ++b)
      for (int64_t h = 0; h < d.out.sizes[1]; ++h)
        for (int64_t i = 0; i < d.out.sizes[2]; ++i)
          for (int64_t x = 0; x < d.out.sizes[3]; ++x)
            nans += std::isnan(
                pr.p.out[b * d.out.strides[0] + h * d.out.strides[1] +
                         i * d.out.strides[2] + x * d.out.strides[3]]);
    EXPECT_EQ(nans, cells);
  }
}

/// The sink query's own checks: a kernel error naming it, NaN output.
TEST(AttentionEntry, SinkQueryErrors) {
  std::mt19937 rng(testSeed());
  Case c;
  c.hq = 2;
  c.s = c.t = 80;
  c.causal = true;
  c.window = 8;
  c.sinks = 65;
  c.sinkQuery = true;
  for (int what = 0; what < 3; ++what) {
    Case cs = c;
    if (what > 0)
      cs.sinks = 4;
    if (what == 2)
      cs.window = 0;
    Problem pr(cs, rng);
    Descriptors d(pr);
    if (what == 1)
      d.sq.sizes[2] = 79;
    d.call(pr.p);
    std::string msg;
    EXPECT_EQ(takeKernelError(msg), TFC_ERR_INTERNAL);
    const char *want = what == 1 ? "sink_q dim 2 is 79, q's 80"
                                 : "a sink query needs a window and at most "
                                   "64 sinks";
    EXPECT_NE(msg.find(std::string("tfcrt_attention_sq_f32: ") + want),
              std::string::npos)
        << msg;
    EXPECT_TRUE(std::isnan(pr.p.out[0])) << msg;
  }
}

/// Empty dims are no work and no error; t = 0 gives zeros.
TEST(AttentionEntry, EmptyShapes) {
  std::mt19937 rng(testSeed());
  Case c;
  c.hq = 2;
  c.hkv = 1;
  c.s = 3;
  c.t = 4;
  c.d = 8;
  Problem pr(c, rng);
  Descriptors d(pr);
  d.k.sizes[2] = d.v.sizes[2] = 0; // t = 0: rows see nothing
  d.call(pr.p);
  std::string msg;
  EXPECT_EQ(takeKernelError(msg), TFC_OK) << msg;
  for (int64_t i = 0; i < 2 * 3 * 8; ++i)
    EXPECT_EQ(pr.out[i], 0.0f);
  Descriptors e(pr);
  e.q.sizes[2] = e.out.sizes[2] = 0; // s = 0: nothing to write
  pr.resetOut();
  e.call(pr.p);
  EXPECT_EQ(takeKernelError(msg), TFC_OK) << msg;
  EXPECT_EQ(pr.out[0], kSentinel);
}

} // namespace

// The GPU tensor-core kernels' split of a row block's key tiles over a
// cluster (lib/Runtime/Cuda/GpuAttention.h, mmaSplitCount): host logic,
// checked here on any build.
TEST(GpuAttentionSplit, Choice) {
  using tfcrt::cuda::mmaSplitCount;
  // SmolLM2's 512-token prefill on 132 SMs: 8 row blocks x 9 heads, the
  // last row block 8 key tiles: 4 splits of 2 with a knob of 4, 2 with the
  // default 2 (TFC_ATTN_MMA_SPLIT; 2 measured faster on an H100).
  EXPECT_EQ(mmaSplitCount(72, 8, 132, 4, 2), 4);
  EXPECT_EQ(mmaSplitCount(72, 8, 132, 8, 2), 4); // 8 would leave 1 tile
  EXPECT_EQ(mmaSplitCount(72, 8, 132, 8, 1), 8);
  EXPECT_EQ(mmaSplitCount(72, 8, 132, 2, 2), 2);
  // A knob that is not a power of 2 rounds down; above kMmaSplitMax caps.
  EXPECT_EQ(mmaSplitCount(72, 8, 132, 5, 1), 4);
  EXPECT_EQ(mmaSplitCount(1, 1000, 132, 64, 1), tfcrt::cuda::kMmaSplitMax);
  // Off: 1 or 0.
  EXPECT_EQ(mmaSplitCount(72, 8, 132, 1, 2), 1);
  EXPECT_EQ(mmaSplitCount(72, 8, 132, 0, 2), 1);
  // MiniLM 32 x 128: 2 x 12 x 32 = 768 blocks fill the GPU.
  EXPECT_EQ(mmaSplitCount(768, 2, 132, 4, 2), 1);
  // MiniLM 1 x 128: 24 blocks but 2 tiles, too few to share at 2 a split.
  EXPECT_EQ(mmaSplitCount(24, 2, 132, 4, 2), 1);
  EXPECT_EQ(mmaSplitCount(24, 2, 132, 4, 1), 2);
  // 300 keys (5 tiles): 2 splits; exactly one block short of the SMs.
  EXPECT_EQ(mmaSplitCount(10, 5, 132, 4, 2), 2);
  EXPECT_EQ(mmaSplitCount(131, 8, 132, 4, 2), 4);
  EXPECT_EQ(mmaSplitCount(132, 8, 132, 4, 2), 1);
}

TEST(GpuAttentionSplit, OnlyTensorCoreCallsSplitOrReorder) {
  // Splits and the heavy-first grid apply where the tensor-core kernels
  // run: not f32 (the tile kernels' grid is x = row block, y = head), not
  // head dims above 128 (the SIMT kernel).
  using tfcrt::cuda::mmaTakes;
  EXPECT_TRUE(mmaTakes(false, 64));
  EXPECT_TRUE(mmaTakes(false, 128));
  EXPECT_FALSE(mmaTakes(true, 64));
  EXPECT_FALSE(mmaTakes(true, 32));
  EXPECT_FALSE(mmaTakes(false, 129));
  EXPECT_FALSE(mmaTakes(false, 256));
}
