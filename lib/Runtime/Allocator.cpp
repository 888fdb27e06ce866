//===- Allocator.cpp - tracked allocation for compiled code ---------------===//
//
// Compiled code allocates every buffer through MLIR's generic allocation
// functions, which we define here so that the runtime can (1) count current
// and peak bytes, and (2) recognise, after a run, which result buffers it may
// hand to the application instead of copying them.
//
//===----------------------------------------------------------------------===//

#include "Cuda/Cuda.h"
#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

namespace {

// Freed blocks of at least kCacheMinBytes are kept for reuse by size: a
// model allocates the same buffers on every run, and handing large blocks
// back to the OS made each run pay page faults for fresh memory (10% of a
// MiniLM batch-32 run). Bounded by kCacheMaxBytes; not counted as live.
constexpr uint64_t kCacheMinBytes = 64 * 1024;
constexpr uint64_t kCacheMaxBytes = 2ull << 30;

struct AllocState {
  std::mutex mutex;
  std::unordered_map<void *, uint64_t> live; // base -> bytes
  std::unordered_multimap<uint64_t, void *> cache; // bytes -> free block
  uint64_t cachedBytes = 0;
  std::unordered_map<void *, void *> owned;  // output data -> base
  uint64_t current = 0;
  uint64_t peak = 0;
  uint64_t numAllocs = 0;
  std::atomic<uint64_t> failures{0};
};

// Never destroyed: compiled code or a static destructor in the application
// may still free buffers while the process exits.
AllocState &state() {
  static AllocState *s = new AllocState();
  return *s;
}

bool isPowerOfTwo(uint64_t x) { return x && !(x & (x - 1)); }

} // namespace

namespace tfcrt {

void *trackedAlloc(uint64_t size, uint64_t alignment) {
  AllocState &s = state();
  if (alignment < 64)
    alignment = 64;
  if (!isPowerOfTwo(alignment) || size > (UINT64_MAX >> 2)) {
    s.failures.fetch_add(1);
    return nullptr;
  }
  // During a GPU model's run: device memory from the model's pool, freed
  // as a whole when the next run starts (Cuda/Cuda.h); untracked, so that
  // trackedFree ignores it and outputs are always downloaded.
  if (tfcrt::cuda::deviceAllocsActive()) {
    void *p = tfcrt::cuda::deviceAlloc(size, alignment);
    if (!p)
      s.failures.fetch_add(1);
    return p;
  }
  // A zero-byte buffer still gets a unique, freeable address.
  uint64_t bytes = size ? size : 1;
  void *p = nullptr;
  if (alignment == 64 && bytes >= kCacheMinBytes) {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.cache.find(bytes);
    if (it != s.cache.end()) {
      p = it->second;
      s.cache.erase(it);
      s.cachedBytes -= bytes;
      s.live.emplace(p, size);
      s.current += size;
      if (s.current > s.peak)
        s.peak = s.current;
      ++s.numAllocs;
      return p;
    }
  }
  if (posix_memalign(&p, alignment, bytes) != 0 || !p) {
    s.failures.fetch_add(1);
    return nullptr;
  }
  try {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.live.emplace(p, size);
    s.current += size;
    if (s.current > s.peak)
      s.peak = s.current;
    ++s.numAllocs;
  } catch (...) {
    // The map could not grow: hand out the buffer untracked rather than
    // NULL (which compiled code cannot survive), and report the failure.
    s.failures.fetch_add(1);
  }
  return p;
}

void trackedFree(void *ptr) {
  if (!ptr)
    return;
  AllocState &s = state();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.live.find(ptr);
    if (it == s.live.end())
      return; // not ours (or already freed): freeing it could corrupt the heap
    uint64_t size = it->second;
    s.current -= size;
    s.live.erase(it);
    // Only 64-byte aligned blocks are cached: all but explicitly
    // over-aligned allocations, whose alignment we do not record.
    uint64_t bytes = size ? size : 1;
    if (bytes >= kCacheMinBytes && s.cachedBytes + bytes <= kCacheMaxBytes &&
        (reinterpret_cast<uintptr_t>(ptr) % 64) == 0) {
      try {
        s.cache.emplace(bytes, ptr);
        s.cachedBytes += bytes;
        return;
      } catch (...) {
      }
    }
  }
  std::free(ptr);
}

bool isTrackedAllocation(const void *ptr) {
  AllocState &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.live.count(const_cast<void *>(ptr)) != 0;
}

uint64_t allocFailures() { return state().failures.load(); }

void registerOwnedOutput(void *data, void *base) {
  AllocState &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.owned[data] = base;
}

bool releaseOwnedOutput(void *data) {
  AllocState &s = state();
  void *base = nullptr;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.owned.find(data);
    if (it == s.owned.end())
      return false;
    base = it->second;
    s.owned.erase(it);
  }
  trackedFree(base);
  return true;
}

} // namespace tfcrt

TFCRT_EXPORT void *_mlir_memref_to_llvm_alloc(uint64_t size) {
  return tfcrt::trackedAlloc(size, 64);
}

TFCRT_EXPORT void *_mlir_memref_to_llvm_aligned_alloc(uint64_t alignment,
                                                      uint64_t size) {
  return tfcrt::trackedAlloc(size, alignment);
}

TFCRT_EXPORT void _mlir_memref_to_llvm_free(void *ptr) {
  tfcrt::trackedFree(ptr);
}

TFCRT_EXPORT void(tfc_memory_stats_get)(tfc_memory_stats *stats) {
  if (!stats)
    return;
  AllocState &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  stats->current_bytes = s.current;
  stats->peak_bytes = s.peak;
  stats->num_allocs = s.numAllocs;
}

TFCRT_EXPORT void tfc_memory_stats_reset_peak(void) {
  AllocState &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.peak = s.current;
}

TFCRT_EXPORT void tfc_tensor_free(tfc_tensor *tensor) {
  if (!tensor)
    return;
  if (tensor->data)
    tfcrt::releaseOwnedOutput(tensor->data);
  tensor->data = nullptr;
}
