//===- EmbeddingTest.cpp - tfcrt_embedding_f32 ----------------------------===//
//
// Against a plain loop with the reference lowering's id rule (negative ids
// count from the end, then clamp to [0, vocab - 1]): strided ids, table and
// output, calls large enough to split over the threads, and shapes that
// disagree (NaN output, the message names the shapes).
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace tfcrt;

namespace {

int64_t clampId(int64_t k, int64_t vocab) {
  if (k < 0)
    k += vocab;
  return k < 0 ? 0 : k >= vocab ? vocab - 1 : k;
}

struct Case {
  int64_t b, s, vocab, d;
  int64_t idStride = 1;   // ids element stride along s (>= 1)
  int64_t tablePad = 0;   // extra floats per table row
  int64_t outColStride = 1;
};

void check(const Case &c, std::mt19937 &rng) {
  SCOPED_TRACE("b " + std::to_string(c.b) + " s " + std::to_string(c.s) +
               " vocab " + std::to_string(c.vocab) + " d " +
               std::to_string(c.d));
  std::uniform_int_distribution<int64_t> pick(-2 * c.vocab, 2 * c.vocab);
  std::vector<int64_t> ids(static_cast<size_t>(c.b * c.s * c.idStride));
  for (int64_t &v : ids)
    v = pick(rng);
  const int64_t ld = c.d + c.tablePad;
  std::vector<float> table(static_cast<size_t>(c.vocab * ld));
  std::uniform_real_distribution<float> val(-1, 1);
  for (float &v : table)
    v = val(rng);
  std::vector<float> out(static_cast<size_t>(c.b * c.s * c.d * c.outColStride),
                         -7.0f);
  tfcrt_memref2_i64 idd = {ids.data(), ids.data(), 0, {c.b, c.s},
                           {c.s * c.idStride, c.idStride}};
  tfcrt_memref2_f32 td = {table.data(), table.data(), 0, {c.vocab, c.d},
                          {ld, 1}};
  tfcrt_memref3_f32 od = {out.data(),
                          out.data(),
                          0,
                          {c.b, c.s, c.d},
                          {c.s * c.d * c.outColStride, c.d * c.outColStride,
                           c.outColStride}};
  _mlir_ciface_tfcrt_embedding_f32(&idd, &td, &od);
  std::string msg;
  ASSERT_EQ(takeKernelError(msg), TFC_OK) << msg;
  int bad = 0;
  for (int64_t b = 0; b < c.b; ++b)
    for (int64_t s = 0; s < c.s; ++s) {
      const int64_t k = clampId(ids[(b * c.s + s) * c.idStride], c.vocab);
      for (int64_t j = 0; j < c.d; ++j) {
        const float got = out[((b * c.s + s) * c.d + j) * c.outColStride];
        if (got != table[k * ld + j] && bad++ < 5)
          ADD_FAILURE() << "out[" << b << "][" << s << "][" << j << "] = " << got
                        << ", table[" << k << "][" << j << "] = "
                        << table[k * ld + j];
      }
    }
  EXPECT_EQ(bad, 0);
}

class EmbeddingThreads : public ::testing::TestWithParam<int> {
protected:
  void SetUp() override { tfc_set_num_threads(GetParam()); }
  void TearDown() override { tfc_set_num_threads(0); }
};

TEST_P(EmbeddingThreads, MatchesTheReferenceRule) {
  std::mt19937 rng(1234 + GetParam());
  const Case cases[] = {
      {1, 1, 1, 1},          {1, 7, 50, 16},       {2, 3, 5, 3, 3, 1, 2},
      {32, 128, 300, 384},   {4, 33, 1000, 64, 2, 5, 1},
      {1, 513, 20, 129, 1, 0, 3}};
  for (const Case &c : cases)
    check(c, rng);
}

INSTANTIATE_TEST_SUITE_P(Threads, EmbeddingThreads, ::testing::Values(1, 2));

TEST(EmbeddingEntry, MismatchFailsTheRun) {
  std::vector<int64_t> ids = {0, 1, 2, 3};
  std::vector<float> table(5 * 4, 1.0f), out(2 * 2 * 3, 0.0f);
  tfcrt_memref2_i64 idd = {ids.data(), ids.data(), 0, {2, 2}, {2, 1}};
  tfcrt_memref2_f32 td = {table.data(), table.data(), 0, {5, 4}, {4, 1}};
  tfcrt_memref3_f32 od = {out.data(), out.data(), 0, {2, 2, 3}, {6, 3, 1}};
  _mlir_ciface_tfcrt_embedding_f32(&idd, &td, &od);
  std::string msg;
  EXPECT_EQ(takeKernelError(msg), TFC_ERR_INTERNAL);
  EXPECT_NE(msg.find("ids [2, 2] and table [5, 4] do not give the output "
                     "[2, 2, 3]"),
            std::string::npos)
      << msg;
  for (float v : out)
    EXPECT_TRUE(std::isnan(v));
}

TEST(EmbeddingEntry, EmptyTableFailsEmptyIdsDoNot) {
  std::vector<int64_t> ids = {0};
  std::vector<float> out(4, 0.0f);
  tfcrt_memref2_i64 idd = {ids.data(), ids.data(), 0, {1, 1}, {1, 1}};
  tfcrt_memref2_f32 td = {out.data(), out.data(), 0, {0, 4}, {4, 1}};
  tfcrt_memref3_f32 od = {out.data(), out.data(), 0, {1, 1, 4}, {4, 4, 1}};
  _mlir_ciface_tfcrt_embedding_f32(&idd, &td, &od);
  std::string msg;
  EXPECT_EQ(takeKernelError(msg), TFC_ERR_INTERNAL);
  EXPECT_NE(msg.find("has no rows to take"), std::string::npos) << msg;
  tfcrt_memref2_i64 none = {nullptr, nullptr, 0, {0, 5}, {5, 1}};
  tfcrt_memref2_f32 t2 = {out.data(), out.data(), 0, {1, 4}, {4, 1}};
  tfcrt_memref3_f32 o2 = {out.data(), out.data(), 0, {0, 5, 4}, {20, 4, 1}};
  _mlir_ciface_tfcrt_embedding_f32(&none, &t2, &o2);
  EXPECT_EQ(takeKernelError(msg), TFC_OK) << msg;
}

} // namespace
