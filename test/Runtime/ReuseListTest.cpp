//===- ReuseListTest.cpp - freed device blocks kept for their size --------===//
//
// lib/Runtime/Cuda/ReuseList.h (plain host code): a freed session cache goes
// to the next session of the same size, most recent first, within the
// bounds; what falls out is handed back for release.
//
//===----------------------------------------------------------------------===//

#include "Cuda/ReuseList.h"

#include <gtest/gtest.h>

using tfcrt::cuda::ReuseList;

TEST(ReuseList, SameSizeMostRecentFirst) {
  ReuseList<int> l(4, 1000);
  EXPECT_TRUE(l.give(1, 100).empty());
  EXPECT_TRUE(l.give(2, 200).empty());
  EXPECT_TRUE(l.give(3, 100).empty());
  int h = 0;
  EXPECT_FALSE(l.take(150, h)); // exact sizes only
  ASSERT_TRUE(l.take(100, h));
  EXPECT_EQ(h, 3); // the most recently freed block of that size
  ASSERT_TRUE(l.take(100, h));
  EXPECT_EQ(h, 1);
  EXPECT_FALSE(l.take(100, h));
  EXPECT_EQ(l.size(), 1u);
  EXPECT_EQ(l.bytes(), 200u);
}

TEST(ReuseList, BoundsReleaseTheOldest) {
  ReuseList<int> l(2, 1000);
  EXPECT_TRUE(l.give(1, 100).empty());
  EXPECT_TRUE(l.give(2, 100).empty());
  std::vector<int> r = l.give(3, 100); // a third block: the oldest goes
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], 1);
  r = l.give(4, 900); // 1,100 bytes, 3 blocks: the oldest goes (1,000 fit)
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], 2);
  EXPECT_EQ(l.bytes(), 1000u);
  r = l.give(6, 50); // over both bounds: the oldest until both hold
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], 3);
  EXPECT_EQ(l.bytes(), 950u);
  r = l.give(5, 2000); // alone too large: released at once
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], 5);
  EXPECT_EQ(l.size(), 2u);
  r = l.drain();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], 4);
  EXPECT_EQ(r[1], 6);
  EXPECT_EQ(l.size(), 0u);
  EXPECT_EQ(l.bytes(), 0u);
}

TEST(ReuseList, OffKeepsNothing) {
  ReuseList<int> l(0, 1000); // TFC_CUDA_CACHE_REUSE=0
  std::vector<int> r = l.give(7, 10);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], 7);
  int h = 0;
  EXPECT_FALSE(l.take(10, h));
}
