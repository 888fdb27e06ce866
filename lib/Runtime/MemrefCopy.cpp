//===- MemrefCopy.cpp - memref.copy for non-contiguous layouts ------------===//
//
// finalize-memref-to-llvm lowers a memref.copy whose layouts are not both
// contiguous to a call of `memrefCopy(elemSize, src, dst)` on unranked
// descriptors ({rank, pointer to the ranked descriptor}). MLIR ships this in
// its runner utilities; compiled models must not need those, so libtfcrt
// provides it.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {
struct UnrankedDesc {
  int64_t rank;
  void *descriptor;
};
/// The ranked descriptor: allocated, aligned, offset, sizes[rank],
/// strides[rank].
struct RankedView {
  char *aligned;
  int64_t offset;
  const int64_t *sizes;
  const int64_t *strides;
};
RankedView view(const UnrankedDesc *u) {
  auto *p = static_cast<char *>(u->descriptor);
  RankedView v;
  std::memcpy(&v.aligned, p + sizeof(void *), sizeof(void *));
  std::memcpy(&v.offset, p + 2 * sizeof(void *), sizeof(int64_t));
  v.sizes = reinterpret_cast<const int64_t *>(p + 2 * sizeof(void *) + 8);
  v.strides = v.sizes + u->rank;
  return v;
}
} // namespace

namespace {
/// One dimension of a copy after merging: sizes and both strides.
struct Dim {
  int64_t size, ss, ds;
};

/// Copies outer indices [lo, hi) of `dims` (all but the last `inner`, which
/// run as one memcpy of `run` bytes, or element by element).
void copyRange(const std::vector<Dim> &dims, int64_t elemSize, const char *s,
               char *d, int64_t run, int64_t lo, int64_t hi) {
  const int64_t outer = static_cast<int64_t>(dims.size());
  for (int64_t flat = lo; flat < hi; ++flat) {
    int64_t so = 0, dof = 0, rest = flat;
    for (int64_t k = outer - 1; k >= 0; --k) {
      const int64_t i = rest % dims[k].size;
      rest /= dims[k].size;
      so += i * dims[k].ss;
      dof += i * dims[k].ds;
    }
    std::memcpy(d + dof * elemSize, s + so * elemSize, run);
  }
}
} // namespace

extern "C" __attribute__((visibility("default"))) void
memrefCopy(int64_t elemSize, UnrankedDesc *src, UnrankedDesc *dst) {
  int64_t rank = src->rank;
  RankedView s = view(src), d = view(dst);
  if (rank == 0) {
    std::memcpy(d.aligned + d.offset * elemSize,
                s.aligned + s.offset * elemSize, elemSize);
    return;
  }
  for (int64_t i = 0; i < rank; ++i)
    if (s.sizes[i] == 0)
      return;
  // Dims of size 1 dropped; a dim merged into the next inner one when both
  // layouts step over it contiguously; the innermost run (unit stride in
  // both) copied by one memcpy. A session's ring cache reads K / V slices
  // [b, hkv, len, d] out of [L, 2, b, hkv, max_len, d] this way: rows of
  // len x d floats (element by element before: half of a SmolLM2 ring
  // decode step).
  std::vector<Dim> dims;
  for (int64_t k = 0; k < rank; ++k) {
    if (s.sizes[k] == 1)
      continue;
    Dim x{s.sizes[k], s.strides[k], d.strides[k]};
    if (!dims.empty()) {
      Dim &prev = dims.back();
      if (prev.ss == x.size * x.ss && prev.ds == x.size * x.ds) {
        prev = {prev.size * x.size, x.ss, x.ds};
        continue;
      }
    }
    dims.push_back(x);
  }
  const char *sb = s.aligned + s.offset * elemSize;
  char *db = d.aligned + d.offset * elemSize;
  int64_t run = elemSize;
  if (!dims.empty() && dims.back().ss == 1 && dims.back().ds == 1) {
    run = dims.back().size * elemSize;
    dims.pop_back();
  }
  int64_t count = 1;
  for (const Dim &x : dims)
    count *= x.size;
  // Large copies over the pool (at least 256 KB a task).
  constexpr int64_t kTaskBytes = 256 << 10;
  const int64_t total = count * run;
  const int64_t tasks =
      std::min<int64_t>(count, std::max<int64_t>(1, total / kTaskBytes));
  if (tasks <= 1) {
    copyRange(dims, elemSize, sb, db, run, 0, count);
    return;
  }
  tfcrt::parallelRun(tasks, [&](int64_t t) {
    copyRange(dims, elemSize, sb, db, run, count * t / tasks,
              count * (t + 1) / tasks);
  });
}
