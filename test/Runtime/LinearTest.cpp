//===- LinearTest.cpp - tfcrt_linear and the packing library --------------===//
//
// Every ISA level the CPU has, twice: the format's compute() called
// directly (raw tiles, sub-ranges of rows and panels, the zero padding past
// n), and the whole driver (linearAt(level, ...): epilogue, threads, batch
// handling) against a double-precision reference. The C entry point caps
// its level once per process (TFCRT_ISA), so the LinearEntry tests run it
// again under TFCRT_ISA=avx2 and =generic from ctest (CMakeLists.txt).
//
// Tolerance, per output, relative to mag = sum_k |x_ik w_kj| (+ |bias_j|):
//   |y - ref| <= 1.2 * 2 (k + 2) eps mag              (dot product + bias;
//                                                      1.2 bounds |act'|)
//               + 4e-6 |act(ref)| + 2 eps (|ref| + |res|)  (activation
//                                                      approximation, adds)
// and for gated blobs the product rule over the gate and up dot products.
// Dropping or repeating one k term (|x_ik w_kj| ~ mag / k) exceeds it.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#include "Isa.h"
#include "Linear/LinearInternal.h"
#include "Linear/Pack.h"
#include "Linear/FormatQuant.h"
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace tfcrt;
using tfcrt::isa::Level;

namespace {

unsigned testSeed() {
  static const unsigned seed = std::random_device{}();
  return seed;
}

float nonZero(std::mt19937 &rng) {
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  float v;
  do
    v = d(rng);
  while (std::fabs(v) < 1e-3f);
  return v;
}

std::vector<Level> levels() {
  std::vector<Level> out;
  for (Level l : {Level::Generic, Level::Avx2, Level::Avx512})
    if (isa::supported(l))
      out.push_back(l);
  return out;
}

double actRef(double v, int act) {
  switch (act) {
  case TFCRT_ACT_GELU:
    return 0.5 * v * std::erfc(-v / std::sqrt(2.0));
  case TFCRT_ACT_GELU_TANH: {
    const double u = std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v);
    return v / (1.0 + std::exp(-2.0 * u));
  }
  case TFCRT_ACT_SILU:
    return v / (1.0 + std::exp(-v));
  case TFCRT_ACT_RELU:
    return v < 0 ? 0.0 : v;
  default:
    return v;
  }
}

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};

/// A packed F32 weight and its logical matrix.
struct Weights {
  int64_t k = 0, n = 0; // packed columns (gated: 2 x hidden)
  bool gated = false;
  std::vector<float> w; // logical [k, n]; gated: concat(gate, up)
  std::vector<float> m; // packed column order [k, n] (== w unless gated)
  std::unique_ptr<void, FreeDeleter> blob;
  uint64_t bytes = 0;
  const tfc_pack_header &header() const {
    return *static_cast<const tfc_pack_header *>(blob.get());
  }
};

Weights makeWeights(int64_t k, int64_t nOut, bool gated, bool transposed,
                    std::mt19937 &rng) {
  Weights r;
  r.k = k;
  r.n = gated ? 2 * nOut : nOut;
  r.gated = gated;
  r.w.resize(static_cast<size_t>(k * r.n));
  for (float &v : r.w)
    v = nonZero(rng);
  r.m = r.w;
  if (gated) {
    const std::vector<int64_t> order = pack::gatedColumnOrder(nOut, 32);
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t c = 0; c < r.n; ++c)
        r.m[kk * r.n + c] = r.w[kk * r.n + order[c]];
  }
  std::vector<float> stored = r.m;
  if (transposed)
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t c = 0; c < r.n; ++c)
        stored[c * k + kk] = r.m[kk * r.n + c];
  const uint32_t flags = gated ? TFC_PACK_FLAG_GATED : 0;
  pack::Layout l;
  std::string err;
  EXPECT_TRUE(pack::layoutOf(TFC_PACK_F32, k, r.n, 0, flags, l, err)) << err;
  void *p = nullptr;
  EXPECT_EQ(posix_memalign(&p, 64, l.total), 0);
  r.blob.reset(p);
  r.bytes = l.total;
  EXPECT_TRUE(
      pack::packF32(stored.data(), k, r.n, transposed, flags, p, l.total, err))
      << err;
  return r;
}

/// A 3-D f32 tensor with chosen strides inside a buffer of garbage.
struct Tensor {
  std::vector<float> buf;
  tfcrt_memref3_f32 d = {};
  Tensor() = default;
  /// sizes [b, m, n]; row stride n * colStride + rowPad, batch stride
  /// rows * that + batchPad; offset 3 (unaligned on purpose).
  Tensor(int64_t b, int64_t m, int64_t n, int64_t colStride, int64_t rowPad,
         int64_t batchPad, bool colMajor = false) {
    const int64_t off = 3;
    int64_t sm, sn;
    if (colMajor) { // columns contiguous: x stored transposed
      sm = 1;
      sn = m + rowPad;
    } else {
      sn = colStride;
      sm = n * colStride + rowPad;
    }
    const int64_t sb = (colMajor ? n * sn : m * sm) + batchPad;
    buf.assign(static_cast<size_t>(off + b * sb + 1), 777.0f);
    d = {buf.data(), buf.data(), off, {b, m, n}, {sb, sm, sn}};
  }
  float &at(int64_t b, int64_t i, int64_t j) {
    return d.aligned[d.offset + b * d.strides[0] + i * d.strides[1] +
                     j * d.strides[2]];
  }
  void fill(std::mt19937 &rng) {
    for (int64_t b = 0; b < d.sizes[0]; ++b)
      for (int64_t i = 0; i < d.sizes[1]; ++i)
        for (int64_t j = 0; j < d.sizes[2]; ++j)
          at(b, i, j) = nonZero(rng);
  }
};

/// One call's operands and options.
struct Case {
  int64_t m = 1, k = 1, nOut = 1;
  bool transposed = false, gated = false, bias = false, residual = false;
  int act = TFCRT_ACT_NONE;
  int64_t xBatch = 1, yBatch = 1, resBatch = 0; // resBatch 0: = yBatch
  int64_t xColStride = 1, xRowPad = 0, xBatchPad = 0;
  bool xColMajor = false;
  int64_t yColStride = 1, yRowPad = 0, yBatchPad = 0;
  std::string describe() const {
    char buf[400];
    std::snprintf(buf, sizeof(buf),
                  "m %lld k %lld n_out %lld trans %d gated %d bias %d res %d "
                  "act %d xBatch %lld yBatch %lld resBatch %lld x(colStride "
                  "%lld rowPad %lld colMajor %d) y(colStride %lld rowPad "
                  "%lld) seed %u",
                  (long long)m, (long long)k, (long long)nOut, transposed,
                  gated, bias, residual, act, (long long)xBatch,
                  (long long)yBatch, (long long)resBatch, (long long)xColStride,
                  (long long)xRowPad, xColMajor, (long long)yColStride,
                  (long long)yRowPad, testSeed());
    return buf;
  }
};

/// Runs `c` through linearAt at every level and checks each result.
void checkCase(const Case &c, std::mt19937 &rng) {
  SCOPED_TRACE(c.describe());
  Weights w = makeWeights(c.k, c.nOut, c.gated, c.transposed, rng);
  Tensor x(c.xBatch, c.m, c.k, c.xColStride, c.xRowPad, c.xBatchPad,
           c.xColMajor);
  x.fill(rng);
  std::vector<float> bias(static_cast<size_t>(c.nOut) + 2);
  for (float &v : bias)
    v = nonZero(rng);
  const int64_t resBatch = c.resBatch ? c.resBatch : c.yBatch;
  Tensor res(resBatch, c.m, c.nOut, c.yColStride, c.yRowPad + 1, 5);
  res.fill(rng);

  tfcrt_memref1_i8 wd = {static_cast<int8_t *>(w.blob.get()),
                         static_cast<int8_t *>(w.blob.get()),
                         0,
                         {static_cast<int64_t>(w.bytes)},
                         {1}};
  tfcrt_memref1_f32 bd = {
      bias.data(), bias.data(), 1, {c.bias ? c.nOut : 0}, {1}};
  tfcrt_memref3_f32 none = {};
  const tfcrt_memref3_f32 *rd = c.residual ? &res.d : &none;

  // Reference in double: acc over the logical columns.
  const int64_t n = w.n;
  std::vector<double> ref(c.yBatch * c.m * c.nOut), tol(ref.size());
  for (int64_t b = 0; b < c.yBatch; ++b) {
    const int64_t xb = c.xBatch == 1 ? 0 : b;
    for (int64_t i = 0; i < c.m; ++i) {
      std::vector<double> acc(n), mag(n);
      for (int64_t kk = 0; kk < c.k; ++kk) {
        const double a = x.at(xb, i, kk);
        for (int64_t j = 0; j < n; ++j) {
          acc[j] += a * w.w[kk * n + j];
          mag[j] += std::fabs(a * w.w[kk * n + j]);
        }
      }
      const double dotTol = 2.0 * (c.k + 2) * FLT_EPSILON;
      for (int64_t j = 0; j < c.nOut; ++j) {
        const double r = c.residual ? res.at(resBatch == 1 ? 0 : b, i, j) : 0;
        double v, t;
        if (c.gated) {
          const double g = acc[j], u = acc[c.nOut + j];
          const double ag = actRef(g, c.act);
          v = ag * u;
          t = 1.2 * dotTol * mag[j] * std::fabs(u) +
              std::fabs(ag) * dotTol * mag[c.nOut + j] + 4e-6 * std::fabs(v);
        } else {
          const double bj = c.bias ? bias[1 + j] : 0.0;
          v = actRef(acc[j] + bj, c.act);
          t = 1.2 * dotTol * (mag[j] + std::fabs(bj)) + 4e-6 * std::fabs(v);
        }
        const size_t at = (b * c.m + i) * c.nOut + j;
        ref[at] = v + r;
        tol[at] = t + 2 * FLT_EPSILON * (std::fabs(v) + std::fabs(r)) + 1e-30;
      }
    }
  }

  for (Level level : levels()) {
    SCOPED_TRACE(std::string("level ") + isa::name(level));
    Tensor y(c.yBatch, c.m, c.nOut, c.yColStride, c.yRowPad, c.yBatchPad);
    const std::vector<float> before = y.buf;
    linear::linearAt(level, &x.d, &wd, &bd, rd, &y.d, c.act);
    std::string msg;
    ASSERT_EQ(takeKernelError(msg), TFC_OK) << msg;
    int reported = 0;
    for (int64_t b = 0; b < c.yBatch; ++b)
      for (int64_t i = 0; i < c.m; ++i)
        for (int64_t j = 0; j < c.nOut; ++j) {
          const size_t at = (b * c.m + i) * c.nOut + j;
          const double got = y.at(b, i, j);
          if (!(std::fabs(got - ref[at]) <= tol[at]) && reported++ < 5)
            ADD_FAILURE() << "y[" << b << "][" << i << "][" << j
                          << "] = " << got << ", reference " << ref[at]
                          << " (tolerance " << tol[at] << ")";
        }
    // Nothing outside y was written.
    std::vector<char> inside(y.buf.size(), 0);
    for (int64_t b = 0; b < c.yBatch; ++b)
      for (int64_t i = 0; i < c.m; ++i)
        for (int64_t j = 0; j < c.nOut; ++j)
          inside[&y.at(b, i, j) - y.buf.data()] = 1;
    for (size_t q = 0; q < y.buf.size(); ++q)
      if (!inside[q] && y.buf[q] != before[q] && reported++ < 5)
        ADD_FAILURE() << "wrote outside y at buffer index " << q;
    // The epilogue applied per tile by the format (computeInto, where it
    // has one) and as the driver's pass over a tile buffer: the same bits.
    Tensor y2(c.yBatch, c.m, c.nOut, c.yColStride, c.yRowPad, c.yBatchPad);
    linear::setFusedEpilogue(false);
    linear::linearAt(level, &x.d, &wd, &bd, rd, &y2.d, c.act);
    linear::setFusedEpilogue(true);
    for (size_t q = 0; q < y.buf.size(); ++q)
      if (std::memcmp(&y.buf[q], &y2.buf[q], sizeof(float)) != 0 &&
          reported++ < 5)
        ADD_FAILURE() << "per-tile and pass epilogues differ at buffer index "
                      << q << ": " << y.buf[q] << " vs " << y2.buf[q];
    EXPECT_EQ(reported, 0);
  }
}

class LinearThreads : public ::testing::TestWithParam<int> {
protected:
  void SetUp() override { tfc_set_num_threads(GetParam()); }
  void TearDown() override { tfc_set_num_threads(0); }
  std::mt19937 rng{testSeed() + static_cast<unsigned>(GetParam())};
};

//===-- the format's compute(), directly ----------------------------------===//

TEST(LinearF32Compute, EveryLevelOddShapes) {
  std::mt19937 rng(testSeed());
  const int64_t ms[] = {1, 2, 3, 5, 13, 14, 15, 16, 17, 31, 64, 100, 129};
  const int64_t ks[] = {1, 3, 17, 64, 100, 384, 385};
  const int64_t ns[] = {1, 5, 16, 31, 32, 33, 100, 384, 1000};
  int64_t caseNo = 0;
  for (int64_t k : ks)
    for (int64_t n : ns) {
      const bool transposed = (caseNo++ % 2) != 0;
      Weights w = makeWeights(k, n, false, transposed, rng);
      const int64_t panels = (n + 31) / 32;
      for (int64_t m : ms) {
        SCOPED_TRACE("m " + std::to_string(m) + " k " + std::to_string(k) +
                     " n " + std::to_string(n) + " transposed " +
                     std::to_string(transposed) + " seed " +
                     std::to_string(testSeed()));
        // x [m, k] with a padded row stride.
        const int64_t ldx = k + 3;
        std::vector<float> x(m * ldx);
        for (float &v : x)
          v = nonZero(rng);
        linear::Rows rows;
        rows.x = x.data();
        rows.m = m;
        rows.k = k;
        rows.sm = ldx;
        rows.sk = 1;
        // Sub-ranges: everything, and an inner block of rows and panels.
        const int64_t i0 = m > 2 ? 1 : 0, i1 = m > 2 ? m - 1 : m;
        const int64_t p0 = panels > 2 ? 1 : 0, p1 = panels;
        std::vector<double> ref(m * panels * 32), mag(ref.size());
        for (int64_t i = 0; i < m; ++i)
          for (int64_t kk = 0; kk < k; ++kk)
            for (int64_t j = 0; j < n; ++j) {
              const double v =
                  static_cast<double>(x[i * ldx + kk]) * w.m[kk * n + j];
              ref[i * panels * 32 + j] += v;
              mag[i * panels * 32 + j] += std::fabs(v);
            }
        for (Level level : levels()) {
          const linear::FormatImpl *impl =
              linear::formatImpl(TFC_PACK_F32, level);
          ASSERT_NE(impl, nullptr) << isa::name(level);
          for (int sub = 0; sub < 2; ++sub) {
            const int64_t a0 = sub ? i0 : 0, a1 = sub ? i1 : m;
            const int64_t q0 = sub ? p0 : 0, q1 = sub ? p1 : panels;
            const int64_t ldo = (q1 - q0) * 32 + 5;
            std::vector<float> out((a1 - a0) * ldo, 1234.f);
            impl->compute(w.header(), rows, nullptr, a0, a1, q0, q1, out.data(),
                          ldo);
            int reported = 0;
            for (int64_t i = a0; i < a1; ++i)
              for (int64_t c = q0 * 32; c < q1 * 32; ++c) {
                const double want = ref[i * panels * 32 + c];
                const double got = out[(i - a0) * ldo + (c - q0 * 32)];
                const double tol =
                    2.0 * (k + 2) * FLT_EPSILON * mag[i * panels * 32 + c];
                // Columns past n are the packed zeros: exactly 0.
                if (!(std::fabs(got - want) <= tol) && reported++ < 3)
                  ADD_FAILURE() << impl->name << " sub " << sub << " out[" << i
                                << "][" << c << "] = " << got << ", want "
                                << want << " (tol " << tol << ")";
              }
            // Only the tile's columns were written (the 5 pad floats kept).
            for (int64_t i = 0; i < a1 - a0; ++i)
              for (int64_t c = (q1 - q0) * 32; c < ldo; ++c)
                if (out[i * ldo + c] != 1234.f && reported++ < 3)
                  ADD_FAILURE() << impl->name << " wrote past its tile";
            EXPECT_EQ(reported, 0) << impl->name;
          }
        }
      }
    }
}

//===-- the driver --------------------------------------------------------===//

TEST_P(LinearThreads, OddShapesAllOptions) {
  // Every m / k / n of the sweep; the options rotate with the case number
  // so that each meets many shapes.
  const int64_t ms[] = {1, 2, 3, 5, 13, 14, 15, 16, 17, 31, 64, 100, 129};
  const int64_t ks[] = {1, 3, 17, 64, 100, 384, 385};
  const int64_t ns[] = {1, 5, 16, 31, 32, 33, 100, 384, 1000};
  int64_t no = 0;
  for (int64_t m : ms)
    for (int64_t k : ks)
      for (int64_t n : ns) {
        // Large cases only at k, n that still keep the reference quick.
        if (m * k * n > 13000000)
          continue;
        Case c;
        c.m = m;
        c.k = k;
        c.nOut = n;
        c.transposed = no % 2;
        c.act = static_cast<int>(no % 5);
        c.gated = (no / 5) % 3 == 0;
        c.bias = !c.gated && (no / 2) % 2;
        c.residual = (no / 3) % 2;
        ++no;
        checkCase(c, rng);
        if (HasFailure())
          return;
      }
}

TEST_P(LinearThreads, ActivationsGatedBiasResidual) {
  for (int act = TFCRT_ACT_NONE; act <= TFCRT_ACT_RELU; ++act)
    for (int bits = 0; bits < 6; ++bits) {
      Case c;
      c.m = 37;
      c.k = 70;
      c.nOut = 90; // gated: 180 packed columns, last panel partial
      c.act = act;
      c.gated = bits >= 4;
      c.bias = !c.gated && (bits & 1);
      c.residual = bits & 2;
      c.transposed = bits & 1;
      checkCase(c, rng);
      c.m = 3; // the few-rows path
      checkCase(c, rng);
    }
}

TEST_P(LinearThreads, PerPanelEpilogueKBlocks) {
  // The f32 kernels' blocked order over k in 1, 2 and 3 blocks of <= 384
  // (partial sums carried across the blocks), rows across the micro-tile
  // and row-block edges, gated and plain, with bias, residual and
  // activations: every level against the reference, and where a format
  // applies the epilogue per tile, against the driver's pass (checkCase).
  for (int64_t k : {int64_t(384), int64_t(576), int64_t(769)})
    for (int64_t m : {int64_t(19), int64_t(53), int64_t(97)})
      for (int variant = 0; variant < 3; ++variant) {
        Case c;
        c.m = m;
        c.k = k;
        c.nOut = variant == 2 ? 72 : 100; // gated: 144 packed columns
        c.gated = variant == 2;
        c.bias = variant == 0;
        c.residual = variant != 0;
        c.act = variant == 1 ? TFCRT_ACT_GELU : TFCRT_ACT_SILU;
        c.transposed = variant == 1;
        checkCase(c, rng);
        if (HasFailure())
          return;
      }
}

TEST_P(LinearThreads, StridedOperands) {
  for (int bits = 0; bits < 8; ++bits) {
    Case c;
    c.k = 45;
    c.nOut = 70;
    c.bias = true;
    c.residual = true;
    c.act = TFCRT_ACT_SILU;
    c.xRowPad = (bits & 1) ? 9 : 0;    // row stride > k
    c.xColStride = (bits & 2) ? 3 : 1; // column stride > 1
    c.xColMajor = (bits & 4) != 0;     // x stored transposed
    c.yColStride = (bits & 1) ? 2 : 1; // strided y (and residual below)
    c.yRowPad = (bits & 2) ? 7 : 0;
    c.gated = bits == 5;
    c.bias = !c.gated;
    for (int64_t m : {int64_t(2), int64_t(40), int64_t(150)}) {
      c.m = m;
      checkCase(c, rng);
    }
  }
}

TEST_P(LinearThreads, Batches) {
  Case c;
  c.k = 33;
  c.nOut = 65;
  c.bias = true;
  c.residual = true;
  c.act = TFCRT_ACT_GELU;
  for (int64_t m : {int64_t(1), int64_t(5), int64_t(130)}) {
    c.m = m;
    // x batch 1 broadcast over y batch 3 (each with its own residual).
    c.xBatch = 1;
    c.yBatch = 3;
    c.xBatchPad = 0;
    checkCase(c, rng);
    // Contiguous batch (folded into rows) and padded batch (items).
    c.xBatch = 3;
    checkCase(c, rng);
    c.xBatchPad = 11;
    checkCase(c, rng);
    // Residual batch 1 broadcast, y batch padded.
    c.resBatch = 1;
    c.yBatchPad = 4;
    checkCase(c, rng);
    c.resBatch = 0;
    c.yBatchPad = 0;
  }
  // Zero rows / zero batch: nothing to do, no error.
  c.m = 0;
  checkCase(c, rng);
}

TEST_P(LinearThreads, RowsRewrittenBetweenCallsAreRepacked) {
  // The f32 kernels pack x's rows once per thread and call (Rows::call) and
  // reuse them for the other panel slices of that call. A model reuses its
  // buffers: the same x pointer with new contents in the next call must
  // give exactly what a fresh buffer gives, at every level. 53 rows x 1000
  // columns: several panel slices per thread (the prefill shape).
  const int64_t m = 53, k = 100, n = 1000;
  Weights w = makeWeights(k, n, false, false, rng);
  tfcrt_memref1_i8 wd = {static_cast<int8_t *>(w.blob.get()),
                         static_cast<int8_t *>(w.blob.get()),
                         0,
                         {static_cast<int64_t>(w.bytes)},
                         {1}};
  tfcrt_memref1_f32 nob = {};
  tfcrt_memref3_f32 none = {};
  for (Level level : levels()) {
    SCOPED_TRACE(std::string("level ") + isa::name(level));
    Tensor x(1, m, k, 1, 0, 0), fresh(1, m, k, 1, 0, 0);
    Tensor y1(1, m, n, 1, 0, 0), y2(1, m, n, 1, 0, 0);
    x.fill(rng);
    linear::linearAt(level, &x.d, &wd, &nob, &none, &y1.d, TFCRT_ACT_NONE);
    x.fill(rng); // same buffer, new rows
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < k; ++j)
        fresh.at(0, i, j) = x.at(0, i, j);
    linear::linearAt(level, &x.d, &wd, &nob, &none, &y1.d, TFCRT_ACT_NONE);
    linear::linearAt(level, &fresh.d, &wd, &nob, &none, &y2.d,
                     TFCRT_ACT_NONE);
    std::string msg;
    ASSERT_EQ(takeKernelError(msg), TFC_OK) << msg;
    // Both against the product of the new rows in double.
    int64_t wrong1 = 0, wrong2 = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0, mag = 0;
        for (int64_t kk = 0; kk < k; ++kk) {
          acc += double(x.at(0, i, kk)) * w.w[kk * n + j];
          mag += std::fabs(double(x.at(0, i, kk)) * w.w[kk * n + j]);
        }
        const double tol = 2.0 * (k + 2) * FLT_EPSILON * mag + 1e-30;
        wrong1 += !(std::fabs(y1.at(0, i, j) - acc) <= tol);
        wrong2 += !(std::fabs(y2.at(0, i, j) - acc) <= tol);
      }
    EXPECT_EQ(wrong1, 0) << "the rewritten buffer: stale packed rows";
    EXPECT_EQ(wrong2, 0) << "a fresh buffer after it: stale packed rows";
  }
}

TEST_P(LinearThreads, DecodeShapesSplitOverThreads) {
  // Enough work to be split; panels divided among threads.
  Case c;
  c.k = 576;
  c.nOut = 3000;
  c.act = TFCRT_ACT_NONE;
  c.residual = true;
  for (int64_t m : {int64_t(1), int64_t(4), int64_t(16)}) {
    c.m = m;
    checkCase(c, rng);
  }
  c.gated = true;
  c.act = TFCRT_ACT_SILU;
  c.nOut = 1536;
  c.m = 1;
  checkCase(c, rng);
}

INSTANTIATE_TEST_SUITE_P(Threads, LinearThreads, ::testing::Values(1, 3),
                         [](const ::testing::TestParamInfo<int> &info) {
                           return "threads" + std::to_string(info.param);
                         });

//===-- activations -------------------------------------------------------===//

TEST(LinearEpilogue, ActivationAccuracy) {
  // x over [-30, 30] (dense near 0) through every level's epilogue, against
  // double. Bound: 2e-6 relative (the vector erfc/exp approximations are
  // ~1e-6) plus the conditioning term below, plus 1e-35 absolute for
  // results below the float normal range; GELU also 1e-7 |x| absolute.
  std::vector<float> xs;
  for (float v = -30.f; v <= 30.f; v += 0.0137f)
    xs.push_back(v);
  for (float v = -3.f; v <= 3.f; v += 1.1e-4f)
    xs.push_back(v);
  xs.push_back(0.f);
  xs.push_back(-0.f);
  xs.push_back(1e-20f);
  xs.push_back(-1e-20f);
  const int64_t count = static_cast<int64_t>(xs.size());
  for (Level level : levels()) {
    const linear::EpilogueKernels &epi = linear::epilogueFor(level);
    for (int act = TFCRT_ACT_NONE; act <= TFCRT_ACT_RELU; ++act) {
      std::vector<float> y(xs.size()), ones(xs.size(), 1.0f);
      double worst = 0, worst8 = 0, worst3 = 0;
      for (int gated = 0; gated < 2; ++gated) {
        if (gated)
          epi.gated(xs.data(), ones.data(), nullptr, y.data(), count, act);
        else
          epi.dense(xs.data(), nullptr, nullptr, y.data(), count, act);
        int reported = 0;
        for (size_t i = 0; i < xs.size(); ++i) {
          const double want = actRef(xs[i], act);
          const double err = std::fabs(y[i] - want);
          if (std::fabs(want) > 1e-30)
            worst = std::max(worst, err / std::fabs(want));
          // Rounding of an exp argument a costs |a| eps relatively (the
          // function's conditioning, libm's float erfc / exp included):
          // a = x^2 / 2 (GELU), 2u (GELU tanh), x (SiLU).
          const double x = xs[i];
          const double cond =
              act == TFCRT_ACT_GELU ? x * x
              : act == TFCRT_ACT_GELU_TANH
                  ? 2 * std::fabs(1.6 * (x + 0.044715 * x * x * x))
                  : std::fabs(x);
          const double bound = 2e-6 + 2 * cond * FLT_EPSILON;
          // GELU's Phi may be off by 1e-7 absolute (the AVX-512 table form,
          // as ONNX Runtime's and PyTorch's erf): 1e-7 |x| on the result.
          const double absBound =
              act == TFCRT_ACT_GELU ? 1e-7 * std::fabs(x) : 0.0;
          if (std::fabs(x) <= 8 && std::fabs(want) > 1e-30)
            worst8 = std::max(worst8, err / std::fabs(want));
          if (std::fabs(x) <= 3 && std::fabs(want) > 1e-30)
            worst3 = std::max(worst3, err / std::fabs(want));
          if (!(err <= bound * std::fabs(want) + absBound + 1e-35) &&
              reported++ < 3)
            ADD_FAILURE() << epi.name << " act " << act << " gated " << gated
                          << " x = " << xs[i] << ": " << y[i] << ", want "
                          << want;
        }
      }
      std::printf("[ epilogue ] %-8s act %d: max relative error %.2e "
                  "(|x| <= 8: %.2e, |x| <= 3: %.2e)\n",
                  epi.name, act, worst, worst8, worst3);
    }
  }
}

TEST(LinearEpilogue, NanPropagates) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (Level level : levels()) {
    const linear::EpilogueKernels &epi = linear::epilogueFor(level);
    for (int act = TFCRT_ACT_NONE; act <= TFCRT_ACT_RELU; ++act) {
      std::vector<float> x(19, 0.5f), y(19);
      x[17] = nan;
      epi.dense(x.data(), nullptr, nullptr, y.data(), 19, act);
      EXPECT_TRUE(std::isnan(y[17])) << epi.name << " act " << act;
      EXPECT_FALSE(std::isnan(y[16])) << epi.name << " act " << act;
    }
  }
}

//===-- errors ------------------------------------------------------------===//

/// A valid call (x [1, 4, 40], W [40, 24]) whose parts the error tests
/// break one at a time.
struct ErrorCall {
  std::mt19937 rng{testSeed()};
  Weights w = makeWeights(40, 24, false, false, rng);
  std::vector<float> xBuf = std::vector<float>(4 * 40, 0.5f);
  std::vector<float> yBuf = std::vector<float>(4 * 24, 1.0f);
  std::vector<float> biasBuf = std::vector<float>(24, 0.25f);
  tfcrt_memref3_f32 x = {xBuf.data(), xBuf.data(), 0, {1, 4, 40}, {160, 40, 1}};
  tfcrt_memref3_f32 y = {yBuf.data(), yBuf.data(), 0, {1, 4, 24}, {96, 24, 1}};
  tfcrt_memref1_f32 bias = {biasBuf.data(), biasBuf.data(), 0, {24}, {1}};
  tfcrt_memref3_f32 res = {};
  tfcrt_memref1_i8 wd = {static_cast<int8_t *>(w.blob.get()),
                         static_cast<int8_t *>(w.blob.get()),
                         0,
                         {static_cast<int64_t>(w.bytes)},
                         {1}};
  tfc_pack_header &header() {
    return *static_cast<tfc_pack_header *>(w.blob.get());
  }
  /// Runs the entry point; returns the recorded status, `msg` its text, and
  /// checks that y is all NaN on an error and finite otherwise.
  tfc_status run(std::string &msg, int64_t act = TFCRT_ACT_GELU) {
    std::fill(yBuf.begin(), yBuf.end(), 1.0f);
    _mlir_ciface_tfcrt_linear(&x, &wd, &bias, &res, &y, act);
    tfc_status s = takeKernelError(msg);
    for (int64_t i = 0; i < y.sizes[1]; ++i)
      for (int64_t j = 0; j < y.sizes[2]; ++j)
        EXPECT_EQ(std::isnan(y.aligned[i * y.strides[1] + j]), s != TFC_OK)
            << msg;
    return s;
  }
};

TEST(LinearEntry, ErrorsFillNanAndNameTheBlob) {
  std::string msg;
  {
    ErrorCall c;
    EXPECT_EQ(c.run(msg), TFC_OK) << msg;
  }
  {
    ErrorCall c;
    c.header().magic = 0x12345678;
    EXPECT_EQ(c.run(msg), TFC_ERR_UNSUPPORTED);
    EXPECT_NE(msg.find("magic 0x12345678"), std::string::npos) << msg;
  }
  {
    ErrorCall c;
    c.header().version = TFC_PACK_VERSION + 1;
    EXPECT_EQ(c.run(msg), TFC_ERR_UNSUPPORTED);
    EXPECT_NE(
        msg.find("layout version " + std::to_string(TFC_PACK_VERSION + 1)),
        std::string::npos)
        << msg;
    EXPECT_NE(msg.find("reads version " + std::to_string(TFC_PACK_VERSION)),
              std::string::npos)
        << msg;
  }
  {
    ErrorCall c;
    c.header().format = 9;
    EXPECT_EQ(c.run(msg), TFC_ERR_UNSUPPORTED);
    EXPECT_NE(msg.find("unknown format 9"), std::string::npos) << msg;
  }
  {
    ErrorCall c;
    c.header().data_offset += 64; // corrupt header
    EXPECT_EQ(c.run(msg), TFC_ERR_UNSUPPORTED);
    EXPECT_NE(msg.find("data_offset"), std::string::npos) << msg;
  }
  {
    ErrorCall c;
    c.wd.sizes[0] -= 64; // view shorter than the blob
    EXPECT_EQ(c.run(msg), TFC_ERR_UNSUPPORTED);
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  }
  {
    ErrorCall c;
    c.x.sizes[2] = 39;
    EXPECT_EQ(c.run(msg), TFC_ERR_INTERNAL);
    EXPECT_NE(msg.find("f32 blob (layout version 1, k 40, n 24)"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("k = 39, expected 40"), std::string::npos) << msg;
  }
  {
    ErrorCall c;
    c.y.sizes[2] = 23;
    EXPECT_EQ(c.run(msg), TFC_ERR_INTERNAL);
    EXPECT_NE(msg.find("23 columns, expected 24"), std::string::npos) << msg;
  }
  {
    ErrorCall c;
    c.x.sizes[1] = 3;
    EXPECT_EQ(c.run(msg), TFC_ERR_INTERNAL);
    EXPECT_NE(msg.find("disagree"), std::string::npos) << msg;
  }
  {
    ErrorCall c;
    c.bias.sizes[0] = 12;
    EXPECT_EQ(c.run(msg), TFC_ERR_INTERNAL);
    EXPECT_NE(msg.find("bias has 12 entries, expected 24"), std::string::npos)
        << msg;
  }
  {
    ErrorCall c;
    c.res = c.y;
    c.res.sizes[1] = 2;
    EXPECT_EQ(c.run(msg), TFC_ERR_INTERNAL);
    EXPECT_NE(msg.find("residual [1, 2, 24]"), std::string::npos) << msg;
  }
  {
    ErrorCall c;
    EXPECT_EQ(c.run(msg, 9), TFC_ERR_INTERNAL);
    EXPECT_NE(msg.find("unknown activation 9"), std::string::npos) << msg;
  }
  {
    // A gated blob takes no bias; y has n / 2 columns.
    ErrorCall c;
    c.w = makeWeights(40, 12, true, false, c.rng);
    c.wd.aligned = c.wd.allocated = static_cast<int8_t *>(c.w.blob.get());
    c.wd.sizes[0] = static_cast<int64_t>(c.w.bytes);
    c.yBuf.resize(4 * 12); // shrinks in place
    c.y.sizes[2] = 12;
    c.y.strides[0] = 48;
    c.y.strides[1] = 12;
    EXPECT_EQ(c.run(msg), TFC_ERR_INTERNAL);
    EXPECT_NE(msg.find("gated blob takes no bias"), std::string::npos) << msg;
    c.bias.sizes[0] = 0;
    EXPECT_EQ(c.run(msg), TFC_OK) << msg;
  }
  {
    // Misaligned view: same bytes one byte further.
    ErrorCall c;
    std::vector<int8_t> copy(c.w.bytes + 64);
    int8_t *at = reinterpret_cast<int8_t *>(
        (reinterpret_cast<uintptr_t>(copy.data()) + 63) / 64 * 64 + 1);
    std::memcpy(at, c.w.blob.get(), c.w.bytes);
    c.wd.aligned = c.wd.allocated = at;
    EXPECT_EQ(c.run(msg), TFC_ERR_INTERNAL);
    EXPECT_NE(msg.find("not 64-byte aligned"), std::string::npos) << msg;
  }
}

TEST(LinearEntry, MatchesTheDriverAtTheCappedLevel) {
  // Under TFCRT_ISA=avx2 / generic (ctest runs this binary again with it)
  // the entry point must compute at that level.
  const char *env = std::getenv("TFCRT_ISA");
  if (env && *env && isa::supported(isa::hardwareLevel()))
    for (Level l : {Level::Generic, Level::Avx2, Level::Avx512})
      if (std::strcmp(env, isa::name(l)) == 0 &&
          static_cast<int>(l) <= static_cast<int>(isa::hardwareLevel()))
        EXPECT_EQ(isa::features().level, l);
  std::mt19937 rng(testSeed());
  for (int64_t m : {int64_t(1), int64_t(3), int64_t(50)}) {
    Weights w = makeWeights(130, 77, false, true, rng);
    Tensor x(2, m, 130, 1, 2, 0);
    x.fill(rng);
    Tensor y1(2, m, 77, 1, 0, 0), y2(2, m, 77, 1, 0, 0), res(2, m, 77, 1, 0, 0);
    res.fill(rng);
    std::vector<float> bias(77, 0.5f);
    tfcrt_memref1_i8 wd = {static_cast<int8_t *>(w.blob.get()),
                           static_cast<int8_t *>(w.blob.get()),
                           0,
                           {static_cast<int64_t>(w.bytes)},
                           {1}};
    tfcrt_memref1_f32 bd = {bias.data(), bias.data(), 0, {77}, {1}};
    _mlir_ciface_tfcrt_linear(&x.d, &wd, &bd, &res.d, &y1.d,
                              TFCRT_ACT_GELU_TANH);
    linear::linearAt(isa::features().level, &x.d, &wd, &bd, &res.d, &y2.d,
                     TFCRT_ACT_GELU_TANH);
    std::string msg;
    EXPECT_EQ(takeKernelError(msg), TFC_OK) << msg;
    EXPECT_EQ(y1.buf, y2.buf); // same level, same code: bit-identical
    // And it is right (the driver tests check every level in depth).
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < m; ++i) {
        double acc = 0.5;
        for (int64_t kk = 0; kk < 130; ++kk)
          acc += static_cast<double>(x.at(b, i, kk)) * w.w[kk * 77 + 5];
        EXPECT_NEAR(y1.at(b, i, 5), actRef(acc, 2) + res.at(b, i, 5), 1e-4);
      }
  }
}

//===-- the packing library -----------------------------------------------===//

TEST(LinearPack, LayoutSizes) {
  auto up = [](uint64_t v) { return (v + 63) / 64 * 64; };
  auto cdiv = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  std::string err;
  pack::Layout l;
  for (int64_t k : {int64_t(1), int64_t(7), int64_t(64), int64_t(385)})
    for (int64_t n : {int64_t(2), int64_t(17), int64_t(32), int64_t(100)}) {
      SCOPED_TRACE("k " + std::to_string(k) + " n " + std::to_string(n));
      ASSERT_TRUE(pack::layoutOf(TFC_PACK_F32, k, n, 0, 0, l, err)) << err;
      EXPECT_EQ(l.panel, 32u);
      EXPECT_EQ(l.data, 128u);
      EXPECT_EQ(l.scales, 0u);
      EXPECT_EQ(l.total, up(128 + cdiv(n, 32) * k * 32 * 4));

      // The quantized formats' layouts are FormatQuant.h's (tested in
      // QuantLinearTest); layoutOf must give exactly those.
      for (uint32_t f : {uint32_t(TFC_PACK_BF16), uint32_t(TFC_PACK_S8),
                         uint32_t(TFC_PACK_W8), uint32_t(TFC_PACK_W4)})
        for (int64_t g : {int64_t(0), int64_t(32), int64_t(128)}) {
          if (g && (f == TFC_PACK_BF16 || f == TFC_PACK_S8))
            continue;
          uint32_t flags = f == TFC_PACK_W8 ? TFC_PACK_FLAG_ASYM : 0u;
          pack::Layout q;
          ASSERT_TRUE(pack::layoutOf(f, k, n, g, flags, l, err)) << err;
          ASSERT_TRUE(pack::quantLayoutOf(f, k, n, g, flags, q, err)) << err;
          EXPECT_EQ(l.total, q.total);
          EXPECT_EQ(l.data, q.data);
          EXPECT_EQ(l.scales, q.scales);
          EXPECT_EQ(l.zeros, q.zeros);
          EXPECT_EQ(l.extra, q.extra);
          EXPECT_EQ(l.panel, q.panel);
          EXPECT_GT(l.total, uint64_t(128));
        }
      (void)cdiv;
      (void)up;
    }
}

TEST(LinearPack, LayoutRefusals) {
  pack::Layout l;
  std::string err;
  auto refuses = [&](uint32_t f, int64_t k, int64_t n, int64_t g,
                     uint32_t flags, const char *what) {
    err.clear();
    EXPECT_FALSE(pack::layoutOf(f, k, n, g, flags, l, err)) << what;
    EXPECT_NE(err.find(what), std::string::npos) << err;
  };
  refuses(TFC_PACK_F32, 8, 7, 0, TFC_PACK_FLAG_GATED, "even n");
  refuses(TFC_PACK_W4, 8, 7, 0, TFC_PACK_FLAG_GATED, "even n");
  refuses(TFC_PACK_W8, 64, 8, 48, 0, "group 48");
  refuses(TFC_PACK_W8, 64, 8, -32, 0, "group -32");
  refuses(TFC_PACK_F32, 64, 8, 32, 0, "no groups");
  refuses(TFC_PACK_S8, 64, 8, 64, 0, "no groups");
  refuses(TFC_PACK_F32, 64, 8, 0, TFC_PACK_FLAG_ASYM, "flags 0x1");
  refuses(TFC_PACK_W8, 64, 8, 0, TFC_PACK_FLAG_ACT_STATIC, "flags 0x4");
  refuses(TFC_PACK_F32, 64, 8, 0, 64, "flags 0x40");
  refuses(7, 64, 8, 0, 0, "unknown packed format 7");
  refuses(TFC_PACK_SPARSE_FIRST + 3, 64, 8, 0, 0, "unknown sparse format 19");
  refuses(TFC_PACK_F32, 0, 8, 0, 0, "positive");
  refuses(TFC_PACK_F32, 8, -1, 0, 0, "positive");
  refuses(TFC_PACK_F32, int64_t(1) << 40, int64_t(1) << 30, 0, 0, "2^50");
  EXPECT_STREQ(pack::formatName(TFC_PACK_W4), "w4");
  EXPECT_STREQ(pack::formatName(40), "sparse");
}

TEST(LinearPack, ValidateTruncatedAndCorrupt) {
  std::mt19937 rng(testSeed());
  Weights w = makeWeights(50, 40, false, false, rng);
  std::string err;
  EXPECT_TRUE(pack::validate(w.blob.get(), w.bytes, err)) << err;
  EXPECT_FALSE(pack::validate(nullptr, w.bytes, err));
  EXPECT_FALSE(pack::validate(w.blob.get(), 127, err));
  EXPECT_NE(err.find("shorter than its 128-byte header"), std::string::npos)
      << err;
  EXPECT_FALSE(pack::validate(w.blob.get(), w.bytes - 1, err));
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  tfc_pack_header &h = *static_cast<tfc_pack_header *>(w.blob.get());
  const tfc_pack_header good = h;
  auto corrupt = [&](auto &&change, const char *what) {
    h = good;
    change();
    err.clear();
    EXPECT_FALSE(pack::validate(w.blob.get(), w.bytes, err)) << what;
    EXPECT_NE(err.find(what), std::string::npos) << err;
  };
  corrupt([&] { h.magic ^= 1; }, "magic");
  corrupt([&] { h.version = 0; }, "layout version 0");
  corrupt([&] { h.format = 99; }, "unknown format 99");
  corrupt([&] { h.panel = 16; }, "panel is 16");
  corrupt([&] { h.total_bytes += 64; }, "total_bytes");
  corrupt([&] { h.scales_offset = 64; }, "scales_offset");
  corrupt([&] { h.k = 51; }, "total_bytes"); // k no longer fits the size
  corrupt([&] { h.n = 0; }, "positive");
  corrupt(
      [&] {
        h.flags = TFC_PACK_FLAG_GATED;
        h.n = 39;
      },
      "even n");
  corrupt([&] { h.group = 32; }, "no groups");
  h = good;
  EXPECT_TRUE(pack::validate(w.blob.get(), w.bytes, err)) << err;
}

TEST(LinearPack, HeaderPaddingAndTranspose) {
  std::mt19937 rng(testSeed());
  const int64_t k = 5, n = 37;
  std::vector<float> w(k * n), wt(k * n);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j)
      wt[j * k + kk] = w[kk * n + j] = nonZero(rng);
  pack::Layout l;
  std::string err;
  ASSERT_TRUE(pack::layoutOf(TFC_PACK_F32, k, n, 0, 0, l, err));
  std::vector<unsigned char> a(l.total, 0xAB), b(l.total, 0xCD);
  ASSERT_TRUE(pack::packF32(w.data(), k, n, false, 0, a.data(), l.total, err));
  ASSERT_TRUE(pack::packF32(wt.data(), k, n, true, 0, b.data(), l.total, err));
  EXPECT_EQ(a, b); // padding is zeroed, transposed input packs the same
  // Panel 1, row 3, column 4 of the panel = W[3][36]; column 5 is padding.
  float v, pad;
  std::memcpy(&v, a.data() + l.data + ((1 * k + 3) * 32 + 4) * 4, 4);
  std::memcpy(&pad, a.data() + l.data + ((1 * k + 3) * 32 + 5) * 4, 4);
  EXPECT_EQ(v, w[3 * n + 36]);
  EXPECT_EQ(pad, 0.0f);
  EXPECT_FALSE(
      pack::packF32(w.data(), k, n, false, 0, a.data(), l.total - 1, err));
  EXPECT_NE(err.find("needs"), std::string::npos) << err;
}

TEST(LinearPack, GatedColumnOrder) {
  for (uint32_t P : {16u, 32u})
    for (int64_t h :
         {int64_t(1), int64_t(8), int64_t(16), int64_t(40), int64_t(45)}) {
      const std::vector<int64_t> order = pack::gatedColumnOrder(h, P);
      ASSERT_EQ(static_cast<int64_t>(order.size()), 2 * h);
      std::vector<int> seen(2 * h, 0);
      for (int64_t c = 0; c < 2 * h; ++c) {
        ASSERT_GE(order[c], 0);
        ASSERT_LT(order[c], 2 * h);
        ++seen[order[c]];
        // Gate column j and up column j share a panel, P/2 (or w/2) apart.
        const int64_t q = c / P, r = c % P;
        const int64_t width = std::min<int64_t>(P, 2 * h - q * P);
        if (r < width / 2) {
          EXPECT_EQ(order[c], q * P / 2 + r);
          EXPECT_EQ(order[c + width / 2], h + q * P / 2 + r);
        }
      }
      for (int s : seen)
        EXPECT_EQ(s, 1);
    }
}

} // namespace
