//===- MemrefCopyTest.cpp - memrefCopy against an element-by-element copy -===//
//
// memrefCopy (lib/Runtime/MemrefCopy.cpp) merges contiguous dims, copies
// unit-stride runs with memcpy and splits large copies over the pool; each
// case here copies random data between random views (size-1 dims, merged
// and unmerged dims, transposed and offset views, a large ring-cache read)
// and compares every element of the destination, including the ones
// outside the view, which must stay untouched.
//
//===----------------------------------------------------------------------===//

#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

extern "C" void memrefCopy(int64_t elemSize, void *src, void *dst);

namespace {

struct View {
  std::vector<int64_t> sizes, strides;
  int64_t offset = 0;
  int64_t span() const {
    int64_t s = offset + 1;
    for (size_t i = 0; i < sizes.size(); ++i)
      s += (sizes[i] - 1) * strides[i];
    return s;
  }
};

/// An unranked descriptor {rank, ranked*} over `base` (the ranked one:
/// allocated, aligned, offset, sizes, strides).
struct Desc {
  std::vector<int64_t> words;
  struct {
    int64_t rank;
    void *ranked;
  } u;
  Desc(void *base, const View &v) {
    const int64_t r = static_cast<int64_t>(v.sizes.size());
    words.assign(3 + 2 * r, 0);
    std::memcpy(&words[0], &base, sizeof(void *));
    std::memcpy(&words[1], &base, sizeof(void *));
    words[2] = v.offset;
    for (int64_t i = 0; i < r; ++i) {
      words[3 + i] = v.sizes[i];
      words[3 + r + i] = v.strides[i];
    }
    u.rank = r;
    u.ranked = words.data();
  }
};

/// A view of `sizes` in a row-major buffer of `outer` (>= sizes per dim),
/// dims permuted by `perm` in memory, starting at `offset`.
View strided(const std::vector<int64_t> &sizes,
             const std::vector<int64_t> &outer, const std::vector<int> &perm,
             int64_t offset) {
  View v;
  v.sizes = sizes;
  v.strides.assign(sizes.size(), 0);
  v.offset = offset;
  int64_t run = 1;
  for (int i = static_cast<int>(perm.size()) - 1; i >= 0; --i) {
    v.strides[perm[i]] = run;
    run *= outer[perm[i]];
  }
  return v;
}

template <typename T>
void checkCopy(const View &s, const View &d, std::mt19937 &rng,
               const char *what) {
  SCOPED_TRACE(what);
  std::vector<T> src(s.span()), dst(d.span()), want;
  std::uniform_int_distribution<int> u(-1000, 1000);
  for (T &x : src)
    x = static_cast<T>(u(rng));
  for (T &x : dst)
    x = static_cast<T>(u(rng));
  want = dst;
  // The reference: every index of the view.
  const size_t r = s.sizes.size();
  std::vector<int64_t> idx(r, 0);
  int64_t count = 1;
  for (int64_t n : s.sizes)
    count *= n;
  for (int64_t e = 0; e < count; ++e) {
    int64_t rest = e, so = s.offset, dof = d.offset;
    for (int64_t k = static_cast<int64_t>(r) - 1; k >= 0; --k) {
      const int64_t i = rest % s.sizes[k];
      rest /= s.sizes[k];
      so += i * s.strides[k];
      dof += i * d.strides[k];
    }
    want[dof] = src[so];
  }
  Desc ds(src.data(), s), dd(dst.data(), d);
  memrefCopy(sizeof(T), &ds.u, &dd.u);
  int64_t bad = 0;
  for (size_t i = 0; i < dst.size(); ++i)
    if (dst[i] != want[i] && bad++ < 5)
      ADD_FAILURE() << "dst[" << i << "] = " << +dst[i] << ", expected "
                    << +want[i];
  EXPECT_EQ(bad, 0);
}

TEST(MemrefCopy, Views) {
  std::mt19937 rng(7);
  tfc_set_num_threads(3);
  // Contiguous both sides (one memcpy), size-1 dims among them.
  checkCopy<float>(strided({2, 1, 3, 5}, {2, 1, 3, 5}, {0, 1, 2, 3}, 0),
                   strided({2, 1, 3, 5}, {2, 1, 3, 5}, {0, 1, 2, 3}, 0), rng,
                   "contiguous");
  // Rows of a wider buffer into a packed one and back, offsets.
  checkCopy<float>(strided({4, 3, 7}, {4, 5, 9}, {0, 1, 2}, 11),
                   strided({4, 3, 7}, {4, 3, 7}, {0, 1, 2}, 0), rng,
                   "padded rows");
  checkCopy<int8_t>(strided({4, 3, 7}, {4, 3, 7}, {0, 1, 2}, 3),
                    strided({4, 3, 7}, {6, 3, 8}, {0, 1, 2}, 5), rng,
                    "into padded rows, i8");
  // Transposed source: no unit-stride run.
  checkCopy<float>(strided({5, 6}, {5, 6}, {1, 0}, 0),
                   strided({5, 6}, {5, 6}, {0, 1}, 2), rng, "transposed");
  checkCopy<double>(strided({3, 4, 2}, {3, 4, 2}, {2, 0, 1}, 1),
                    strided({3, 4, 2}, {3, 5, 2}, {0, 1, 2}, 0), rng,
                    "permuted, f64");
  // A ring cache read: [1, 1, b, hkv, len, d] out of [L, 2, b, hkv, 1024,
  // 64] at layer 3, kv 1, rows 200..1219 -> packed (over the pool).
  View ring = strided({1, 1, 2, 3, 1020, 64}, {8, 2, 2, 3, 1024, 64},
                      {0, 1, 2, 3, 4, 5}, 0);
  ring.offset = ((3 * 2 + 1) * 2 * 3 * 1024 + 2) * 64;
  checkCopy<float>(ring,
                   strided({1, 1, 2, 3, 1020, 64}, {1, 1, 2, 3, 1020, 64},
                           {0, 1, 2, 3, 4, 5}, 0),
                   rng, "ring rows");
  // Rank 0 and empty views.
  checkCopy<float>(View{{}, {}, 4}, View{{}, {}, 1}, rng, "rank 0");
  checkCopy<float>(strided({3, 0, 2}, {3, 1, 2}, {0, 1, 2}, 0),
                   strided({3, 0, 2}, {3, 1, 2}, {0, 1, 2}, 0), rng, "empty");
  tfc_set_num_threads(0);
}

} // namespace
