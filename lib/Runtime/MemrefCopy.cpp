//===- MemrefCopy.cpp - memref.copy for non-contiguous layouts ------------===//
//
// finalize-memref-to-llvm lowers a memref.copy whose layouts are not both
// contiguous to a call of `memrefCopy(elemSize, src, dst)` on unranked
// descriptors ({rank, pointer to the ranked descriptor}). MLIR ships this in
// its runner utilities; compiled models must not need those, so libtfcrt
// provides it.
//
//===----------------------------------------------------------------------===//
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
  std::vector<int64_t> idx(rank, 0);
  int64_t so = s.offset, dof = d.offset;
  while (true) {
    std::memcpy(d.aligned + dof * elemSize, s.aligned + so * elemSize,
                elemSize);
    int64_t k = rank - 1;
    for (; k >= 0; --k) {
      so += s.strides[k];
      dof += d.strides[k];
      if (++idx[k] < s.sizes[k])
        break;
      so -= s.strides[k] * s.sizes[k];
      dof -= d.strides[k] * s.sizes[k];
      idx[k] = 0;
    }
    if (k < 0)
      return;
  }
}
