//===- SparseLinearTest.cpp - sparse formats of tfcrt_linear --------------===//
//
// Every sparse format at every level the machine has, through the whole
// driver (linearAt), against (1) the same weights packed dense (F32) at the
// generic level and (2) the format's own generic kernel: odd shapes (k, n
// not multiples of 4 / 32), 1-70 rows (decode tiles, dense-via-densify and
// the skip path), random sparsity 0-99 % and exact 2:4, with bias,
// activations, residual and gated blobs. Also the packer's and validator's
// refusals and the sparsity analysis / cost model.
//
//===----------------------------------------------------------------------===//
#include "Isa.h"
#include "Linear/FormatSparse.h"
#include "Linear/LinearInternal.h"
#include "Linear/Pack.h"
#include "tfc/Runtime/tfc_kernels.h"

#include "Internal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace tfcrt;

namespace {

struct Blob {
  std::vector<int8_t> bytes;
  uint64_t size = 0;
  int8_t *p() {
    return reinterpret_cast<int8_t *>(
        (reinterpret_cast<uintptr_t>(bytes.data()) + 63) & ~uintptr_t(63));
  }
};

/// W [k, n] with `sparsity` zeros (random), or exactly 2:4 along k.
std::vector<float> makeWeight(int64_t k, int64_t n, double sparsity, bool nm24,
                              std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_real_distribution<double> p(0.0, 1.0);
  std::vector<float> w(k * n);
  for (float &v : w)
    v = u(rng);
  if (nm24) {
    for (int64_t c = 0; c < n; ++c)
      for (int64_t g = 0; g < k; g += 4) {
        // Keep 2 (or fewer, sometimes) random positions of the group.
        int keep[4] = {0, 1, 2, 3};
        std::shuffle(keep, keep + 4, rng);
        const int kept = p(rng) < 0.1 ? 1 : 2;
        for (int j = kept; j < 4; ++j)
          if (g + keep[j] < k)
            w[(g + keep[j]) * n + c] = 0.0f;
      }
  } else {
    for (float &v : w)
      if (p(rng) < sparsity)
        v = 0.0f;
  }
  return w;
}

bool pack(uint32_t format, const std::vector<float> &w, int64_t k, int64_t n,
          uint32_t flags, Blob &b) {
  std::string err;
  pack::Layout l;
  bool ok;
  if (format == TFC_PACK_F32) {
    ok = pack::layoutOf(format, k, n, 0, flags, l, err);
    b.bytes.assign(l.total + 64, 0);
    ok = ok && pack::packF32(w.data(), k, n, false, flags, b.p(), l.total, err);
  } else {
    const uint64_t nnz = pack::sparseNnz(format, w.data(), k, n, false);
    ok = pack::sparseLayoutOf(format, k, n, 0, flags, nnz, l, err);
    b.bytes.assign(l.total + 64, 0);
    ok = ok && pack::packSparse(format, w.data(), k, n, false, flags, b.p(),
                                l.total, err);
  }
  b.size = l.total;
  EXPECT_TRUE(ok) << err;
  return ok;
}

std::vector<float> run(isa::Level level, Blob &blob, int64_t k, int64_t nOut,
                       int64_t m, const std::vector<float> &x,
                       const std::vector<float> *bias,
                       const std::vector<float> *res, int64_t act) {
  std::vector<float> y(m * nOut, 0.0f);
  float *xp = const_cast<float *>(x.data());
  tfcrt_memref3_f32 xd = {xp, xp, 0, {1, m, k}, {m * k, k, 1}};
  tfcrt_memref3_f32 yd = {
      y.data(), y.data(), 0, {1, m, nOut}, {m * nOut, nOut, 1}};
  tfcrt_memref1_i8 wd = {blob.p(), blob.p(), 0, {(int64_t)blob.size}, {1}};
  tfcrt_memref1_f32 bd = {};
  tfcrt_memref3_f32 rd = {};
  if (bias)
    bd = {const_cast<float *>(bias->data()),
          const_cast<float *>(bias->data()),
          0,
          {nOut},
          {1}};
  if (res)
    rd = {const_cast<float *>(res->data()),
          const_cast<float *>(res->data()),
          0,
          {1, m, nOut},
          {m * nOut, nOut, 1}};
  linear::linearAt(level, &xd, &wd, &bd, &rd, &yd, act);
  std::string msg;
  if (takeKernelError(msg) != TFC_OK)
    ADD_FAILURE() << "level " << isa::name(level) << ": " << msg;
  return y;
}

double worstDiff(const std::vector<float> &a, const std::vector<float> &b,
                 double &scale) {
  double worst = 0;
  scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, double(std::fabs(b[i])));
    const double d = std::fabs(double(a[i]) - b[i]);
    if (!(d <= worst))
      worst = d;
  }
  return worst;
}

/// Runs `sparse` against `dense` at the generic level (the reference) and
/// against its own generic kernel, at every level the machine has, for each
/// row count in `ms`, with bias / activation / residual varied by m (gated:
/// SiLU, no bias); `what` prefixes the failure messages.
void checkLevels(Blob &dense, Blob &sparse, int64_t k, int64_t nOut, bool gated,
                 std::initializer_list<int64_t> ms, std::mt19937 &rng,
                 const std::string &what, const std::string &denseName) {
  std::uniform_real_distribution<float> u(-2.0f, 3.0f);
  for (int64_t m : ms) {
    std::vector<float> x(m * k), bias(nOut), res(m * nOut);
    for (float &v : x)
      v = u(rng);
    for (float &v : bias)
      v = u(rng);
    for (float &v : res)
      v = u(rng);
    const int64_t act = gated   ? TFCRT_ACT_SILU
                        : m % 2 ? TFCRT_ACT_GELU
                                : TFCRT_ACT_NONE;
    const std::vector<float> *b = gated ? nullptr : &bias;
    const std::vector<float> *r = m % 3 ? &res : nullptr;
    std::vector<float> ref =
        run(isa::Level::Generic, dense, k, nOut, m, x, b, r, act);
    std::vector<float> gen =
        run(isa::Level::Generic, sparse, k, nOut, m, x, b, r, act);
    for (isa::Level lv :
         {isa::Level::Generic, isa::Level::Avx2, isa::Level::Avx512}) {
      if (!isa::supported(lv))
        continue;
      std::vector<float> y = lv == isa::Level::Generic
                                 ? gen
                                 : run(lv, sparse, k, nOut, m, x, b, r, act);
      double scale;
      const double vsDense = worstDiff(y, ref, scale);
      const double vsGeneric = worstDiff(y, gen, scale);
      const double tol = 2e-5 * (scale + 1) * std::sqrt(double(k));
      EXPECT_LE(vsDense, tol) << what << " m " << m << " level "
                              << isa::name(lv) << " vs " << denseName;
      EXPECT_LE(vsGeneric, tol) << what << " m " << m << " level "
                                << isa::name(lv) << " vs its generic kernel";
    }
  }
}

struct Case {
  int64_t k, n;
  double sparsity;
  bool nm24;
  uint32_t flags;
};

TEST(SparseLinear, EveryLevelMatchesDenseAndGeneric) {
  std::mt19937 rng(77);
  std::vector<Case> cases = {{37, 45, 0.5, false, 0},
                             {64, 96, 0.7, false, 0},
                             {130, 33, 0.9, false, 0},
                             {97, 70, 0.99, false, 0},
                             {200, 64, 0.0, false, 0},
                             {576, 100, 0.8, false, 0},
                             {51, 66, 0.6, false, TFC_PACK_FLAG_GATED},
                             {38, 45, 0.5, true, 0},
                             {130, 97, 0.5, true, 0},
                             {64, 64, 0.5, true, TFC_PACK_FLAG_GATED},
                             {1, 5, 0.3, false, 0},
                             {3, 40, 0.5, true, 0}};
  for (const Case &c : cases) {
    const uint32_t format = c.nm24 ? TFC_PACK_SPARSE_24 : TFC_PACK_SPARSE_MASK;
    const bool gated = c.flags & TFC_PACK_FLAG_GATED;
    const int64_t nOut = gated ? c.n / 2 : c.n;
    std::vector<float> w = makeWeight(c.k, c.n, c.sparsity, c.nm24, rng);
    // A 2:4 weight also goes through MASK.
    for (uint32_t f : {format, uint32_t(TFC_PACK_SPARSE_MASK)}) {
      if (f == TFC_PACK_SPARSE_MASK && format != f && c.k > 100)
        continue;
      Blob dense, sparse;
      if (!pack(TFC_PACK_F32, w, c.k, c.n, c.flags, dense) ||
          !pack(f, w, c.k, c.n, c.flags, sparse))
        continue;
      std::ostringstream what;
      what << pack::formatName(f) << " k " << c.k << " n " << c.n
           << " sparsity " << c.sparsity;
      checkLevels(dense, sparse, c.k, nOut, gated, {1, 2, 3, 4, 5, 17, 33, 70},
                  rng, what.str(), "dense");
    }
  }
}

/// A symmetric W8 weight with `sparsity` zero codes: codes [k][n] in
/// -127..127, scales [ceil(k / gs)][n].
struct W8Weight {
  std::vector<int8_t> q;
  std::vector<float> scales;
};
W8Weight makeW8(int64_t k, int64_t n, int64_t group, double sparsity,
                std::mt19937 &rng) {
  std::uniform_int_distribution<int> code(-127, 127);
  std::uniform_real_distribution<float> sc(0.002f, 0.02f);
  std::uniform_real_distribution<double> p(0.0, 1.0);
  W8Weight w;
  w.q.resize(k * n);
  for (int8_t &v : w.q)
    v = p(rng) < sparsity ? 0 : static_cast<int8_t>(code(rng));
  const int64_t kp = (k + 31) / 32 * 32, gs = group ? group : kp;
  w.scales.resize(((kp + gs - 1) / gs) * n);
  for (float &v : w.scales)
    v = sc(rng);
  return w;
}

bool packW8(bool sparse, const W8Weight &w, int64_t k, int64_t n, int64_t group,
            uint32_t flags, Blob &b) {
  std::string err;
  pack::Layout l;
  bool ok;
  if (sparse) {
    ok = pack::sparseLayoutOf(TFC_PACK_SPARSE_MASK_W8, k, n, group, flags,
                              pack::sparseW8Nnz(w.q.data(), k, n), l, err);
    b.bytes.assign(l.total + 64, 0);
    ok = ok && pack::packSparseW8(w.q.data(), w.scales.data(), k, n, group,
                                  flags, b.p(), l.total, err);
  } else {
    ok = pack::layoutOf(TFC_PACK_W8, k, n, group, flags, l, err);
    b.bytes.assign(l.total + 64, 0);
    ok = ok &&
         pack::packWeightOnly(TFC_PACK_W8, w.q.data(), w.scales.data(), nullptr,
                              k, n, group, false, flags, b.p(), l.total, err);
  }
  b.size = l.total;
  EXPECT_TRUE(ok) << err;
  if (ok)
    EXPECT_TRUE(pack::validate(b.p(), b.size, err)) << err;
  return ok;
}

// MASK_W8 against the dense W8 blob of the same codes (generic level: the
// reference) and against its own generic kernel, every level, both
// activation modes, groups, odd shapes, few rows (the stream kernels) and
// many (densified W8 panels).
TEST(SparseLinear, MaskW8MatchesDenseW8) {
  std::mt19937 rng(91);
  struct W8Case {
    int64_t k, n, group;
    double sparsity;
    uint32_t flags;
  };
  std::vector<W8Case> cases = {
      {37, 45, 0, 0.5, 0},
      {64, 96, 32, 0.7, TFC_PACK_FLAG_ACT_F32},
      {130, 33, 64, 0.9, 0},
      {200, 70, 128, 0.6, TFC_PACK_FLAG_ACT_F32},
      {576, 100, 0, 0.7, 0},
      {97, 66, 32, 0.5, TFC_PACK_FLAG_GATED},
      {300, 64, 128, 0.99, TFC_PACK_FLAG_GATED | TFC_PACK_FLAG_ACT_F32},
      {5, 40, 0, 0.3, 0}};
  for (const W8Case &c : cases) {
    const bool gated = c.flags & TFC_PACK_FLAG_GATED;
    const int64_t nOut = gated ? c.n / 2 : c.n;
    W8Weight w = makeW8(c.k, c.n, c.group, c.sparsity, rng);
    Blob dense, sparse;
    if (!packW8(false, w, c.k, c.n, c.group, c.flags, dense) ||
        !packW8(true, w, c.k, c.n, c.group, c.flags, sparse))
      continue;
    std::ostringstream what;
    what << "sparse-mask-w8 k " << c.k << " n " << c.n << " group " << c.group
         << " flags " << c.flags;
    checkLevels(dense, sparse, c.k, nOut, gated, {1, 2, 3, 4, 5, 17, 70, 130},
                rng, what.str(), "dense w8");
  }
}

TEST(SparseLinear, MaskW8PackerAndCostModel) {
  std::mt19937 rng(12);
  W8Weight w = makeW8(64, 48, 32, 0.8, rng);
  std::string err;
  pack::Layout l;
  // Groups other than W8's and flags it does not take are refused.
  EXPECT_FALSE(
      pack::sparseLayoutOf(TFC_PACK_SPARSE_MASK_W8, 64, 48, 16, 0, 10, l, err));
  EXPECT_NE(err.find("group 16"), std::string::npos) << err;
  EXPECT_FALSE(pack::sparseLayoutOf(TFC_PACK_SPARSE_MASK_W8, 64, 48, 0,
                                    TFC_PACK_FLAG_ASYM, 10, l, err));
  EXPECT_NE(err.find("flags"), std::string::npos) << err;
  // A corrupt nnz is caught by the validator.
  Blob s;
  ASSERT_TRUE(packW8(true, w, 64, 48, 32, 0, s));
  reinterpret_cast<tfc_pack_header *>(s.p())->nnz += 100;
  EXPECT_FALSE(pack::validate(s.p(), s.size, err));
  // Cost model: 80 % zero codes go sparse, 30 % stay dense w8, Off is off.
  pack::SparsityStats st = pack::analyzeSparsityCodes(w.q.data(), 64, 48);
  EXPECT_NEAR(st.fraction(), 0.8, 0.05);
  pack::SparseChoice c = pack::chooseSparseW8Format(st, pack::SparseMode::Auto);
  EXPECT_EQ(c.format, uint32_t(TFC_PACK_SPARSE_MASK_W8)) << c.why;
  EXPECT_EQ(pack::chooseSparseW8Format(st, pack::SparseMode::Off).format,
            uint32_t(TFC_PACK_W8));
  W8Weight w30 = makeW8(64, 48, 0, 0.3, rng);
  st = pack::analyzeSparsityCodes(w30.q.data(), 64, 48);
  c = pack::chooseSparseW8Format(st, pack::SparseMode::Auto);
  EXPECT_EQ(c.format, uint32_t(TFC_PACK_W8)) << c.why;
  EXPECT_NE(c.why.find("break-even"), std::string::npos) << c.why;
  EXPECT_EQ(pack::chooseSparseW8Format(st, pack::SparseMode::Force).format,
            uint32_t(TFC_PACK_SPARSE_MASK_W8));
}

TEST(SparseLinear, PackerRefusesAndValidatorChecks) {
  std::mt19937 rng(3);
  // Not 2:4: three nonzeros in one group of column 5.
  std::vector<float> w = makeWeight(8, 40, 0, true, rng);
  w[0 * 40 + 5] = w[1 * 40 + 5] = w[2 * 40 + 5] = 1.0f;
  Blob b;
  b.bytes.assign(1 << 16, 0);
  std::string err;
  EXPECT_FALSE(pack::packSparse(TFC_PACK_SPARSE_24, w.data(), 8, 40, false, 0,
                                b.p(), 1 << 15, err));
  EXPECT_NE(err.find("column 5"), std::string::npos) << err;
  // A corrupt nnz makes the header inconsistent.
  std::vector<float> d = makeWeight(16, 32, 0.5, false, rng);
  Blob s;
  ASSERT_TRUE(pack(TFC_PACK_SPARSE_MASK, d, 16, 32, 0, s));
  EXPECT_TRUE(pack::validate(s.p(), s.size, err)) << err;
  reinterpret_cast<tfc_pack_header *>(s.p())->nnz += 100;
  EXPECT_FALSE(pack::validate(s.p(), s.size, err));
  EXPECT_NE(err.find("corrupt header"), std::string::npos) << err;
}

TEST(SparseLinear, AnalysisAndCostModel) {
  std::mt19937 rng(5);
  std::vector<float> w24 = makeWeight(64, 48, 0, true, rng);
  pack::SparsityStats s = pack::analyzeSparsity(w24.data(), 64, 48, false);
  EXPECT_TRUE(s.is24);
  EXPECT_TRUE(s.is48);
  EXPECT_GE(s.fraction(), 0.5);
  EXPECT_EQ(pack::chooseSparseFormat(s, pack::SparseMode::Auto).format,
            uint32_t(TFC_PACK_SPARSE_24));
  // Transposed: the same matrix read as [n, k].
  std::vector<float> t(64 * 48);
  for (int64_t kk = 0; kk < 64; ++kk)
    for (int64_t c = 0; c < 48; ++c)
      t[c * 64 + kk] = w24[kk * 48 + c];
  EXPECT_TRUE(pack::analyzeSparsity(t.data(), 64, 48, true).is24);
  std::vector<float> w30 = makeWeight(64, 48, 0.3, false, rng);
  s = pack::analyzeSparsity(w30.data(), 64, 48, false);
  EXPECT_FALSE(s.is24);
  pack::SparseChoice c = pack::chooseSparseFormat(s, pack::SparseMode::Auto);
  EXPECT_EQ(c.format, uint32_t(TFC_PACK_F32)) << c.why;
  EXPECT_NE(c.why.find("break-even"), std::string::npos) << c.why;
  EXPECT_EQ(pack::chooseSparseFormat(s, pack::SparseMode::Force).format,
            uint32_t(TFC_PACK_SPARSE_MASK));
  std::vector<float> w80 = makeWeight(64, 48, 0.8, false, rng);
  s = pack::analyzeSparsity(w80.data(), 64, 48, false);
  EXPECT_EQ(pack::chooseSparseFormat(s, pack::SparseMode::Auto).format,
            uint32_t(TFC_PACK_SPARSE_MASK));
  EXPECT_EQ(pack::chooseSparseFormat(s, pack::SparseMode::Off).format,
            uint32_t(TFC_PACK_F32));
}

} // namespace
