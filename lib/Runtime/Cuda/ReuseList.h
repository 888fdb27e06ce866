//===- ReuseList.h - freed device blocks kept for the next of their size -*- C++ -*-===//
//
// A session's KV cache is one device allocation, and the CUDA graphs of its
// steps and prefill chunks are keyed by the cache's address (Model.cpp: the
// graph bakes device input pointers in). An application that frees a
// session and creates the next one of the same shape (a server taking one
// request after another; tfc-run --decode --bench) got a fresh cuMemAlloc
// address each time, so its prefill never replayed a graph. DeviceRun.cpp
// keeps freed caches in a ReuseList and hands the most recently freed block
// of the requested size to the next session: same address, same graph keys.
//
// Plain host code (no CUDA): Handle is the device pointer type; tested by
// tfcrt-tests (ReuseList.*).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_REUSELIST_H
#define TFC_LIB_RUNTIME_CUDA_REUSELIST_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tfcrt::cuda {

template <typename Handle> class ReuseList {
public:
  /// At most `maxBlocks` blocks and `maxBytes` bytes kept.
  ReuseList(size_t maxBlocks, uint64_t maxBytes)
      : maxBlocks(maxBlocks), maxBytes(maxBytes) {}

  /// The most recently given block of exactly `bytes`, removed from the
  /// list; false when there is none.
  bool take(uint64_t bytes, Handle &out) {
    for (size_t i = blocks.size(); i-- > 0;)
      if (blocks[i].bytes == bytes) {
        out = blocks[i].h;
        kept -= bytes;
        blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(i));
        return true;
      }
    return false;
  }

  /// Keeps `h` (`bytes` long). Returns what to release now: the oldest
  /// blocks beyond the bounds, or `h` itself when it alone exceeds them.
  std::vector<Handle> give(Handle h, uint64_t bytes) {
    std::vector<Handle> release;
    if (maxBlocks == 0 || bytes > maxBytes) {
      release.push_back(h);
      return release;
    }
    blocks.push_back({h, bytes});
    kept += bytes;
    while (blocks.size() > maxBlocks || kept > maxBytes) {
      release.push_back(blocks.front().h);
      kept -= blocks.front().bytes;
      blocks.erase(blocks.begin());
    }
    return release;
  }

  /// Everything kept, for release (the list is emptied).
  std::vector<Handle> drain() {
    std::vector<Handle> all;
    for (const Block &b : blocks)
      all.push_back(b.h);
    blocks.clear();
    kept = 0;
    return all;
  }

  size_t size() const { return blocks.size(); }
  uint64_t bytes() const { return kept; }

private:
  struct Block {
    Handle h;
    uint64_t bytes;
  };
  std::vector<Block> blocks; // oldest first
  size_t maxBlocks;
  uint64_t maxBytes;
  uint64_t kept = 0;
};

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_REUSELIST_H
