//===- ResultCacheTest.cpp - tfc_cache_* on the fake compiled model -------===//
//
// Hit, miss, what the key distinguishes, LFU eviction under the byte bound,
// the LRU tie-break, aging (LFU-DA), results too large, forced hash
// collisions, and concurrent use (also built with ThreadSanitizer:
// tfcrt-tsan-tests). Inputs are random from fixed seeds.
//
//===----------------------------------------------------------------------===//

#include "ResultCache.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern "C" const tfc_model_desc tfc_fake_desc;

namespace {

const std::string kDir = FAKE_MODEL_DIR;

/// One set of inputs for the fake model (x f32 [batch, 4], ids i64
/// [batch, 4]) and what tfc_model_run returns for them.
struct Case {
  int64_t batch = 0;
  std::vector<float> x;
  std::vector<int64_t> ids;
  tfc_tensor in[2] = {};
  std::vector<std::vector<unsigned char>> expected; // bytes of each output

  void make(uint32_t seed) {
    std::mt19937 rng(seed);
    batch = 1 + rng() % 5;
    x.resize(batch * 4);
    ids.resize(batch * 4);
    for (auto &v : x)
      v = std::uniform_real_distribution<float>(-2.f, 2.f)(rng);
    for (auto &v : ids)
      v = static_cast<int64_t>(rng() % 1000) - 500;
    bind();
  }
  void bind() {
    in[0] = tfc_tensor{TFC_DTYPE_F32, 2, {batch, 4}, x.data()};
    in[1] = tfc_tensor{TFC_DTYPE_I64, 2, {batch, 4}, ids.data()};
  }
};

size_t bytesOf(const tfc_tensor &t) {
  size_t n = tfc_dtype_size(t.dtype);
  for (int32_t d = 0; d < t.rank; ++d)
    n *= static_cast<size_t>(t.shape[d]);
  return n;
}

class CacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(tfc_model_load(&tfc_fake_desc,
                             (kDir + "/fake_model.tfcw").c_str(), &model),
              TFC_OK)
        << tfc_last_error();
  }
  void TearDown() override {
    tfc_cache_free(cache);
    tfc_model_free(model);
  }

  void makeCase(Case &c, uint32_t seed) {
    c.make(seed);
    tfc_tensor out[3];
    ASSERT_EQ(tfc_model_run(model, c.in, 2, out, 3), TFC_OK)
        << tfc_last_error();
    c.expected.clear();
    for (tfc_tensor &t : out) {
      const unsigned char *p = static_cast<const unsigned char *>(t.data);
      c.expected.emplace_back(p, p + bytesOf(t));
      tfc_tensor_free(&t);
    }
  }

  /// Runs through the cache and checks the outputs against the plain run.
  void runAndCheck(const Case &c) {
    tfc_tensor out[3];
    ASSERT_EQ(tfc_model_run_cached(model, cache, c.in, 2, out, 3), TFC_OK)
        << tfc_last_error();
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(bytesOf(out[i]), c.expected[i].size());
      EXPECT_EQ(
          std::memcmp(out[i].data, c.expected[i].data(), c.expected[i].size()),
          0)
          << "output " << i;
      EXPECT_EQ(out[i].shape[0], c.batch);
      tfc_tensor_free(&out[i]);
    }
  }

  bool present(const Case &c) {
    tfc_tensor out[3];
    int hit = -1;
    EXPECT_EQ(tfc_cache_lookup(cache, model, c.in, 2, out, 3, &hit), TFC_OK);
    for (tfc_tensor &t : out)
      tfc_tensor_free(&t);
    return hit == 1;
  }

  /// Inserts made-up outputs of `bytes` floats each for the case's inputs.
  void insertSynthetic(const Case &c, int64_t floats = 4) {
    std::vector<float> data(static_cast<size_t>(floats), 1.5f);
    tfc_tensor out[3];
    for (tfc_tensor &t : out)
      t = tfc_tensor{TFC_DTYPE_F32, 1, {floats}, data.data()};
    ASSERT_EQ(tfc_cache_insert(cache, model, c.in, 2, out, 3), TFC_OK)
        << tfc_last_error();
  }

  tfc_cache_stats stats() {
    tfc_cache_stats s;
    EXPECT_EQ(tfc_cache_get_stats(cache, &s), TFC_OK);
    return s;
  }

  /// Bytes one synthetic entry of `c` is charged (measured, not assumed).
  uint64_t chargeOf(const Case &c) {
    tfc_cache *probe = nullptr;
    EXPECT_EQ(tfc_cache_create(1 << 20, &probe), TFC_OK);
    std::swap(probe, cache);
    insertSynthetic(c);
    uint64_t bytes = stats().bytes;
    std::swap(probe, cache);
    tfc_cache_free(probe);
    return bytes;
  }

  tfc_model *model = nullptr;
  tfc_cache *cache = nullptr;
};

// The reference vectors of SipHash-2-4-128 (key 00..0f, message 00..len-1).
TEST(SipHash128, ReferenceVectors) {
  struct {
    size_t len;
    unsigned char out[16];
  } vectors[] = {
      {0,
       {0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6, 0x6d, 0xf6, 0x72, 0x14,
        0xc7, 0x55, 0x02, 0x93}},
      {1,
       {0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44, 0x34, 0x76, 0x59, 0x11,
        0x9b, 0x22, 0xfc, 0x45}},
      {2,
       {0x81, 0x77, 0x22, 0x8d, 0xa4, 0xa4, 0x5d, 0xc7, 0xfc, 0xa3, 0x8b, 0xde,
        0xf6, 0x0a, 0xff, 0xe4}},
      {3,
       {0x9c, 0x70, 0xb6, 0x0c, 0x52, 0x67, 0xa9, 0x4e, 0x5f, 0x33, 0xb6, 0xb0,
        0x29, 0x85, 0xed, 0x51}},
      {15,
       {0x54, 0x93, 0xe9, 0x99, 0x33, 0xb0, 0xa8, 0x11, 0x7e, 0x08, 0xec, 0x0f,
        0x97, 0xcf, 0xc3, 0xd9}},
  };
  unsigned char msg[16];
  for (int i = 0; i < 16; ++i)
    msg[i] = static_cast<unsigned char>(i);
  const uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
  for (const auto &v : vectors) {
    tfcrt::Hash128 h = tfcrt::sipHash128(msg, v.len, k0, k1);
    unsigned char got[16];
    for (int i = 0; i < 8; ++i) {
      got[i] = static_cast<unsigned char>(h.lo >> (8 * i));
      got[8 + i] = static_cast<unsigned char>(h.hi >> (8 * i));
    }
    EXPECT_EQ(std::memcmp(got, v.out, 16), 0) << "length " << v.len;
  }
}

TEST_F(CacheTest, HitReturnsTheStoredResultMissRunsTheModel) {
  ASSERT_EQ(tfc_cache_create(1 << 20, &cache), TFC_OK);
  Case a, b;
  makeCase(a, 1);
  makeCase(b, 2);
  tfc_memory_stats m0;
  tfc_memory_stats_get(&m0);
  runAndCheck(a); // miss: runs and stores
  tfc_cache_stats s = stats();
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.hits, 0u);
  EXPECT_EQ(s.insertions, 1u);
  EXPECT_EQ(s.entries, 1u);
  runAndCheck(a); // hit
  runAndCheck(a);
  runAndCheck(b); // miss
  s = stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.entries, 2u);
  EXPECT_LE(s.bytes, s.capacity_bytes);
  // Cached outputs are runtime-owned buffers: all freed again.
  tfc_memory_stats m1;
  tfc_memory_stats_get(&m1);
  EXPECT_EQ(m1.current_bytes, m0.current_bytes);

  // One changed input byte, another shape, another dtype: all misses.
  Case c = a;
  c.bind();
  reinterpret_cast<unsigned char *>(c.x.data())[5] ^= 1;
  EXPECT_FALSE(present(c));
  c = a;
  c.bind();
  c.in[0].shape[0] = c.in[1].shape[0] = 1; // a prefix of a's bytes
  if (a.batch > 1)
    EXPECT_FALSE(present(c));
  c = a;
  c.bind();
  c.in[0].dtype = TFC_DTYPE_I32; // the same bytes as another dtype
  EXPECT_FALSE(present(c));
  EXPECT_TRUE(present(a));

  // Another model with the same signature but another name or weights.
  tfc_model_desc other = tfc_fake_desc;
  other.name = "fake_renamed";
  tfc_model *renamed = nullptr;
  ASSERT_EQ(
      tfc_model_load(&other, (kDir + "/fake_model.tfcw").c_str(), &renamed),
      TFC_OK);
  tfc_tensor out[3];
  int hit = -1;
  ASSERT_EQ(tfc_cache_lookup(cache, renamed, a.in, 2, out, 3, &hit), TFC_OK);
  EXPECT_EQ(hit, 0);
  tfc_model_free(renamed);

  tfc_cache_clear(cache);
  s = stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes, 0u);
  EXPECT_EQ(s.hits, 3u); // counters survive clear: 2 runs + 1 lookup of a
  EXPECT_FALSE(present(a));
}

TEST_F(CacheTest, BadArguments) {
  EXPECT_EQ(tfc_cache_create(0, &cache), TFC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tfc_cache_create(10, nullptr), TFC_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(tfc_cache_create(1 << 20, &cache), TFC_OK);
  Case a;
  makeCase(a, 3);
  tfc_tensor out[3];
  int hit;
  EXPECT_EQ(tfc_cache_lookup(cache, model, a.in, 1, out, 3, &hit),
            TFC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tfc_last_error()).find("has 2 inputs, got 1"),
            std::string::npos)
      << tfc_last_error();
  EXPECT_EQ(tfc_cache_lookup(cache, model, a.in, 2, out, 2, &hit),
            TFC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tfc_cache_lookup(cache, model, a.in, 2, out, 3, nullptr),
            TFC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tfc_cache_lookup(nullptr, model, a.in, 2, out, 3, &hit),
            TFC_ERR_INVALID_ARGUMENT);
  Case bad = a;
  bad.bind();
  bad.in[0].shape[1] = -4;
  EXPECT_EQ(tfc_cache_lookup(cache, model, bad.in, 2, out, 3, &hit),
            TFC_ERR_INVALID_ARGUMENT);
  bad.bind();
  bad.in[1].data = nullptr;
  EXPECT_EQ(tfc_model_run_cached(model, cache, bad.in, 2, out, 3),
            TFC_ERR_INVALID_ARGUMENT);
  // A model error on a miss is the model's error; nothing is stored.
  bad.bind();
  bad.in[0].dtype = TFC_DTYPE_F64;
  bad.x.resize(bad.x.size() * 2);
  bad.in[0].data = bad.x.data();
  EXPECT_EQ(tfc_model_run_cached(model, cache, bad.in, 2, out, 3),
            TFC_ERR_DTYPE);
  EXPECT_EQ(stats().entries, 0u);
  tfc_cache_stats s;
  EXPECT_EQ(tfc_cache_get_stats(nullptr, &s), TFC_ERR_INVALID_ARGUMENT);
  // NULL cache: a plain run.
  EXPECT_EQ(tfc_model_run_cached(model, nullptr, a.in, 2, out, 3), TFC_OK);
  for (tfc_tensor &t : out)
    tfc_tensor_free(&t);
}

// Entries of equal size; capacity for three. The least frequently used
// goes, and the byte bound always holds.
TEST_F(CacheTest, LfuEvictionUnderTheByteBound) {
  std::vector<Case> k(4);
  for (int i = 0; i < 4; ++i) {
    k[i].make(100 + i);
    k[i].batch = 2; // equal key sizes
    k[i].x.resize(8);
    k[i].ids.resize(8);
    k[i].bind();
  }
  uint64_t charge = chargeOf(k[0]);
  ASSERT_GT(charge, 0u);
  ASSERT_EQ(tfc_cache_create(3 * charge + charge / 2, &cache), TFC_OK);
  for (int i = 0; i < 3; ++i)
    insertSynthetic(k[i]);
  EXPECT_EQ(stats().entries, 3u);
  EXPECT_TRUE(present(k[0])); // k0: 3 uses, k1: 2, k2: 1
  EXPECT_TRUE(present(k[0]));
  EXPECT_TRUE(present(k[1]));
  insertSynthetic(k[3]); // evicts k2, the least frequently used
  tfc_cache_stats s = stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.entries, 3u);
  EXPECT_LE(s.bytes, s.capacity_bytes);
  EXPECT_EQ(s.bytes, 3 * charge);
  EXPECT_FALSE(present(k[2]));
  EXPECT_TRUE(present(k[0]));
  EXPECT_TRUE(present(k[1]));
  EXPECT_TRUE(present(k[3]));
}

// Equal use counts: the least recently used goes first.
TEST_F(CacheTest, LruTieBreak) {
  std::vector<Case> k(4);
  for (int i = 0; i < 4; ++i) {
    k[i].make(200 + i);
    k[i].batch = 3;
    k[i].x.resize(12);
    k[i].ids.resize(12);
    k[i].bind();
  }
  uint64_t charge = chargeOf(k[0]);
  ASSERT_EQ(tfc_cache_create(3 * charge, &cache), TFC_OK);
  for (int i = 0; i < 3; ++i)
    insertSynthetic(k[i]);
  // Every entry used twice; k2 least recently.
  EXPECT_TRUE(present(k[2]));
  EXPECT_TRUE(present(k[0]));
  EXPECT_TRUE(present(k[1]));
  insertSynthetic(k[3]);
  EXPECT_EQ(stats().evictions, 1u);
  EXPECT_FALSE(present(k[2]));
  EXPECT_TRUE(present(k[0]));
  EXPECT_TRUE(present(k[1]));
  EXPECT_TRUE(present(k[3]));
}

// A key that was hot but is no longer used leaves once the stream of new
// keys has aged the cache past its count; plain LFU would keep it forever.
TEST_F(CacheTest, AgingLetsOldHotKeysLeave) {
  auto key = [](uint32_t seed) {
    Case c;
    c.make(seed);
    c.batch = 1;
    c.x.resize(4);
    c.ids.resize(4);
    c.ids[0] = seed; // distinct keys
    c.bind();
    return c;
  };
  Case hot = key(7), cold = key(8);
  uint64_t charge = chargeOf(hot);
  ASSERT_EQ(tfc_cache_create(4 * charge, &cache), TFC_OK);
  insertSynthetic(hot);
  insertSynthetic(cold);
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(present(hot));
  // Some traffic later the hot key is still there, the cold one is not:
  // the count protects it (a miss does not touch the cache)...
  for (uint32_t i = 0; i < 20; ++i)
    insertSynthetic(key(1000 + i));
  EXPECT_FALSE(present(cold));
  EXPECT_TRUE(present(hot));
  // ...but not forever: with plain LFU it would never leave.
  for (uint32_t i = 0; i < 400; ++i)
    insertSynthetic(key(2000 + i));
  EXPECT_FALSE(present(hot)) << "the once-hot key never left";
  tfc_cache_stats s = stats();
  EXPECT_EQ(s.entries, 4u);
  EXPECT_EQ(s.evictions, 2u + 420u - 4u);
  EXPECT_LE(s.bytes, s.capacity_bytes);
}

TEST_F(CacheTest, ResultLargerThanTheCacheIsNotStored) {
  Case a;
  makeCase(a, 5);
  ASSERT_EQ(tfc_cache_create(64, &cache), TFC_OK);
  runAndCheck(a);
  runAndCheck(a);
  tfc_cache_stats s = stats();
  EXPECT_EQ(s.rejected, 2u);
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.hits, 0u);
  EXPECT_EQ(s.misses, 2u);
}

// Every key hashes alike (hash truncated to 0 bits): each lookup must still
// return its own key's result.
TEST_F(CacheTest, ForcedCollisionsNeverMixResults) {
  ASSERT_EQ(tfc_cache_create(1 << 20, &cache), TFC_OK);
  tfcrt::setCacheHashBitsForTesting(cache, 0);
  std::vector<Case> cases(12);
  for (int i = 0; i < 12; ++i)
    makeCase(cases[i], 300 + i);
  for (const Case &c : cases)
    runAndCheck(c);
  for (int round = 0; round < 2; ++round)
    for (const Case &c : cases)
      runAndCheck(c);
  tfc_cache_stats s = stats();
  EXPECT_EQ(s.entries, 12u);
  EXPECT_EQ(s.hits, 24u);
  EXPECT_GE(s.collisions, 11u + 24u);
  // Evicting from one crowded bucket keeps the others intact.
  tfc_cache_free(cache);
  cache = nullptr;
  uint64_t charge = 0;
  {
    tfc_cache *probe;
    ASSERT_EQ(tfc_cache_create(1 << 20, &probe), TFC_OK);
    std::swap(probe, cache);
    runAndCheck(cases[0]);
    charge = stats().bytes;
    std::swap(probe, cache);
    tfc_cache_free(probe);
  }
  ASSERT_EQ(tfc_cache_create(6 * charge, &cache), TFC_OK);
  tfcrt::setCacheHashBitsForTesting(cache, 1);
  for (int round = 0; round < 3; ++round)
    for (const Case &c : cases)
      runAndCheck(c);
  EXPECT_LE(stats().bytes, stats().capacity_bytes);
  EXPECT_GT(stats().evictions, 0u);
}

TEST_F(CacheTest, StatsAreVersioned) {
  ASSERT_EQ(tfc_cache_create(1 << 20, &cache), TFC_OK);
  Case a;
  makeCase(a, 9);
  runAndCheck(a);
  runAndCheck(a);
  // A newer caller's larger struct: the unknown tail is zeroed.
  struct {
    tfc_cache_stats s;
    uint64_t future[3];
  } big;
  std::memset(&big, 0xAB, sizeof(big));
  ASSERT_EQ(tfc_cache_get_stats_sized(cache, &big.s, sizeof(big)), TFC_OK);
  EXPECT_EQ(big.s.hits, 1u);
  EXPECT_EQ(big.s.misses, 1u);
  for (uint64_t f : big.future)
    EXPECT_EQ(f, 0u);
  tfc_cache_stats s;
  EXPECT_EQ(tfc_cache_get_stats_sized(cache, &s, 16), TFC_ERR_INVALID_ARGUMENT);
}

// Several threads share one cache over a small key set that does not fit:
// hits, misses, insertions and evictions race; every result must be its
// key's, and the counters must add up.
TEST_F(CacheTest, ConcurrentUse) {
  const int kKeys = 16, kThreads = 4, kOps = 300;
  std::vector<Case> cases(kKeys);
  for (int i = 0; i < kKeys; ++i)
    makeCase(cases[i], 400 + i);
  uint64_t charge = 0;
  {
    ASSERT_EQ(tfc_cache_create(1 << 20, &cache), TFC_OK);
    runAndCheck(cases[4]);
    charge = stats().bytes;
    tfc_cache_free(cache);
  }
  ASSERT_EQ(tfc_cache_create(8 * charge, &cache), TFC_OK);
  std::atomic<int> wrong{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(500 + t);
      for (int op = 0; op < kOps; ++op) {
        // Skewed: low keys are hot.
        int k = static_cast<int>(rng() % kKeys);
        if (rng() % 2)
          k = k % 4;
        const Case &c = cases[k];
        tfc_tensor out[3];
        if (tfc_model_run_cached(model, cache, c.in, 2, out, 3) != TFC_OK) {
          ++failed;
          continue;
        }
        for (int i = 0; i < 3; ++i) {
          if (bytesOf(out[i]) != c.expected[i].size() ||
              std::memcmp(out[i].data, c.expected[i].data(),
                          c.expected[i].size()) != 0)
            ++wrong;
          tfc_tensor_free(&out[i]);
        }
        if (op % 97 == 0) {
          tfc_cache_stats s;
          tfc_cache_get_stats(cache, &s);
        }
      }
    });
  }
  for (std::thread &th : threads)
    th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  tfc_cache_stats s = stats();
  EXPECT_EQ(s.hits + s.misses, uint64_t(kThreads * kOps));
  EXPECT_GT(s.hits, 0u);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_LE(s.bytes, s.capacity_bytes);
  EXPECT_EQ(s.insertions - s.evictions, s.entries);
}

} // namespace
