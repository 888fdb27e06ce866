//===- VersionedStructsTest.cpp - old and new struct layouts --------------===//
//
// tfc_runtime.h, "Versioned structs". A binary built against an older
// header calls the plain exported symbol with the struct as it knew it; the
// runtime must fill exactly that much. The older layouts are spelled out
// here as such a header declared them. Sessions come from the hand-written
// KV-cache model FakeStepModel.c.
//
//===----------------------------------------------------------------------===//

#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

extern "C" const tfc_model_desc tfc_fakestep_desc;
extern "C" const tfc_model_desc tfc_fake_desc;

namespace {

/// tfc_session_info before `ring` was added (the first released layout).
struct SessionInfoV1 {
  int64_t batch, max_len, position, layers, kv_heads, head_dim, window;
  uint64_t cache_bytes, cache_allocations, steps;
};
static_assert(sizeof(SessionInfoV1) == TFC_SESSION_INFO_V1_SIZE, "");

/// What an old binary's call compiles to: the plain symbol, its own struct.
using OldGetInfo = tfc_status (*)(const tfc_session *, SessionInfoV1 *);
const OldGetInfo oldGetInfo =
    reinterpret_cast<OldGetInfo>(&(tfc_session_get_info));

class SessionInfoTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(tfc_model_load(&tfc_fakestep_desc, nullptr, &model), TFC_OK)
        << tfc_last_error();
    ASSERT_EQ(tfc_session_create(model, 2, 0, &session), TFC_OK)
        << tfc_last_error();
    int64_t tokens[2 * 3] = {5, 7, 9, 1, 2, 3};
    tfc_tensor logits;
    ASSERT_EQ(tfc_session_prefill(session, tokens, 3, nullptr, &logits), TFC_OK)
        << tfc_last_error();
    // logits[b, i, v] = v + running sum of the ids (FakeStepModel.c).
    const float *l = static_cast<const float *>(logits.data);
    EXPECT_EQ(l[(0 * 3 + 2) * 4 + 1], 5 + 7 + 9 + 1);
    EXPECT_EQ(l[(1 * 3 + 1) * 4 + 3], 1 + 2 + 3);
    int64_t next[2] = {4, 6};
    ASSERT_EQ(tfc_session_decode(session, next, &logits), TFC_OK);
    l = static_cast<const float *>(logits.data);
    EXPECT_EQ(l[0], 21 + 4);
    EXPECT_EQ(l[4], 6 + 6);
  }
  void TearDown() override {
    tfc_session_free(session);
    tfc_model_free(model);
  }
  void expectV1Fields(const SessionInfoV1 &i) {
    EXPECT_EQ(i.batch, 2);
    EXPECT_EQ(i.max_len, 64);
    EXPECT_EQ(i.position, 4);
    EXPECT_EQ(i.layers, 1);
    EXPECT_EQ(i.kv_heads, 1);
    EXPECT_EQ(i.head_dim, 2);
    EXPECT_EQ(i.window, 0);
    EXPECT_EQ(i.cache_bytes, uint64_t(1 * 2 * 2 * 1 * 64 * 2 * 4));
    EXPECT_EQ(i.cache_allocations, 1u);
    EXPECT_EQ(i.steps, 2u);
  }
  tfc_model *model = nullptr;
  tfc_session *session = nullptr;
};

// An old binary: the plain symbol with a V1 struct followed by a canary.
TEST_F(SessionInfoTest, OldBinaryGetsV1AndNothingPastIt) {
  struct {
    SessionInfoV1 info;
    unsigned char canary[64];
  } old;
  std::memset(&old, 0x5A, sizeof(old));
  ASSERT_EQ(oldGetInfo(session, &old.info), TFC_OK);
  expectV1Fields(old.info);
  for (unsigned char c : old.canary)
    ASSERT_EQ(c, 0x5A) << "written past the old struct's end";
  // On the heap at its exact size too (AddressSanitizer reports any
  // overflow in the sanitized build).
  std::unique_ptr<SessionInfoV1> heap(new SessionInfoV1);
  ASSERT_EQ(oldGetInfo(session, heap.get()), TFC_OK);
  expectV1Fields(*heap);
  // The sized call with the old size does the same.
  ASSERT_EQ(tfc_session_get_info_sized(
                session, reinterpret_cast<tfc_session_info *>(heap.get()),
                sizeof(SessionInfoV1)),
            TFC_OK);
  expectV1Fields(*heap);
}

// Code built against this header (the macro) gets every field, `ring` too.
TEST_F(SessionInfoTest, CurrentHeaderGetsEveryField) {
  tfc_session_info info;
  std::memset(&info, 0x5A, sizeof(info));
  ASSERT_EQ(tfc_session_get_info(session, &info), TFC_OK);
  expectV1Fields(*reinterpret_cast<SessionInfoV1 *>(&info));
  EXPECT_EQ(info.ring, 0);
  EXPECT_EQ(info.whole_cache_decode, 0); // a CPU model
  EXPECT_EQ(info.position, 4);
}

// A binary built against a newer header (a larger struct) on this runtime:
// the fields this runtime does not know read zero.
TEST_F(SessionInfoTest, NewerHeaderGetsZeroTail) {
  struct {
    tfc_session_info info;
    int64_t future[4];
  } newer;
  std::memset(&newer, 0x5A, sizeof(newer));
  ASSERT_EQ(tfc_session_get_info_sized(session, &newer.info, sizeof(newer)),
            TFC_OK);
  EXPECT_EQ(newer.info.steps, 2u);
  for (int64_t f : newer.future)
    EXPECT_EQ(f, 0);
}

TEST_F(SessionInfoTest, TooSmallIsAnError) {
  tfc_session_info info;
  EXPECT_EQ(tfc_session_get_info_sized(session, &info, 40),
            TFC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tfc_last_error()).find("below the first layout"),
            std::string::npos);
  EXPECT_EQ(tfc_session_get_info_sized(nullptr, &info, sizeof(info)),
            TFC_ERR_INVALID_ARGUMENT);
}

TEST(VersionedStructs, MemoryStatsAndProfileEntries) {
  struct {
    tfc_memory_stats s;
    uint64_t future[2];
  } m;
  std::memset(&m, 0x5A, sizeof(m));
  tfc_memory_stats_get_sized(&m.s, sizeof(m));
  EXPECT_EQ(m.future[0], 0u);
  EXPECT_EQ(m.future[1], 0u);
  EXPECT_GE(m.s.peak_bytes, m.s.current_bytes);
  struct {
    tfc_memory_stats s;
    unsigned char canary[16];
  } old;
  std::memset(&old, 0x5A, sizeof(old));
  (tfc_memory_stats_get)(&old.s); // an old binary
  for (unsigned char c : old.canary)
    EXPECT_EQ(c, 0x5A);
  // Too small: nothing written.
  tfc_memory_stats small;
  std::memset(&small, 0x5A, sizeof(small));
  tfc_memory_stats_get_sized(&small, 8);
  EXPECT_EQ(small.current_bytes, 0x5A5A5A5A5A5A5A5AULL);

  // Profile entries: a model without op classes has none; the stride is
  // the caller's entry size.
  tfc_model *model = nullptr;
  ASSERT_EQ(tfc_model_load(&tfc_fakestep_desc, nullptr, &model), TFC_OK);
  EXPECT_EQ(tfc_profile_get(model, nullptr, 0), 0u);
  struct Wide {
    tfc_profile_entry e;
    double future;
  } wide[2];
  EXPECT_EQ(tfc_profile_get_sized(model, &wide[0].e, 2, sizeof(Wide)), 0u);
  tfc_model_free(model);

  // fake_model.c has two op classes.
  ASSERT_EQ(
      tfc_model_load(&tfc_fake_desc,
                     (std::string(FAKE_MODEL_DIR) + "/fake_model.tfcw").c_str(),
                     &model),
      TFC_OK);
  tfc_profile_enable(1);
  tfc_profile_reset();
  float x[4] = {1, 2, 3, 4};
  int64_t ids[4] = {1, 2, 3, 4};
  tfc_tensor in[2] = {{TFC_DTYPE_F32, 2, {1, 4}, x},
                      {TFC_DTYPE_I64, 2, {1, 4}, ids}};
  tfc_tensor out[3];
  ASSERT_EQ(tfc_model_run(model, in, 2, out, 3), TFC_OK);
  for (tfc_tensor &t : out)
    tfc_tensor_free(&t);
  tfc_profile_enable(0);
  std::memset(wide, 0x5A, sizeof(wide));
  ASSERT_EQ(tfc_profile_get_sized(model, &wide[0].e, 2, sizeof(Wide)), 2u);
  for (const Wide &w : wide) {
    EXPECT_EQ(w.e.calls, 1u);
    EXPECT_EQ(w.future, 0.0);
  }
  EXPECT_STREQ(wide[0].e.op_class, "scale_add");
  EXPECT_STREQ(wide[1].e.op_class, "matmul");
  EXPECT_EQ(tfc_profile_get_sized(model, &wide[0].e, 2, 8), 0u);
  tfc_model_free(model);
}

} // namespace
