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
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

namespace {

// Freed blocks are kept for reuse: a model allocates the same buffers on
// every run, so after the first run no buffer reaches the system allocator --
// handing large blocks back to the OS made each run pay page faults for fresh
// memory (10% of a MiniLM batch-32 run), and the several hundred small
// buffers of a decode step each cost a malloc/free pair. Requests are rounded
// up to size classes (multiples of 64 bytes up to 1 KiB, then 8 classes per
// power of two: at most 12.5% slack) and a request takes the smallest cached
// block of its class or up to twice it, and a block below 1 MiB is allocated
// half as large again as asked, so the buffers that grow with the decode
// position (masks, scores, an imported model's present K/V) keep reusing the
// same blocks and re-allocate only every ~50% of growth. Bounded by kCacheMaxBytes; cached blocks are not live.
constexpr uint64_t kCacheMaxBytes = 2ull << 30;

uint64_t sizeClass(uint64_t bytes) {
  if (bytes <= 1024)
    return (bytes + 63) & ~uint64_t(63);
  uint64_t p = uint64_t(1) << (63 - __builtin_clzll(bytes));
  uint64_t step = p / 8;
  return (bytes + step - 1) / step * step;
}

struct Block {
  uint64_t size;     // requested (what the accounting counts)
  uint64_t capacity; // allocated
};

struct AllocState {
  std::mutex mutex;
  std::unordered_map<void *, Block> live; // base -> block
  std::multimap<uint64_t, void *> cache;  // capacity -> free block
  uint64_t cachedBytes = 0;
  std::unordered_map<void *, void *> owned;  // output data -> base
  uint64_t current = 0;
  uint64_t peak = 0;
  uint64_t numAllocs = 0;
  uint64_t systemAllocs = 0; // of numAllocs, those posix_memalign served
  std::atomic<uint64_t> failures{0};
};

// Never destroyed: compiled code or a static destructor in the application
// may still free buffers while the process exits.
AllocState &state() {
  static AllocState *s = new AllocState();
  return *s;
}

/// The tracer's memory counter (tfc_trace_start); called with s.mutex held
/// so the samples are in the order of the changes.
void traceLive(const AllocState &s) {
  if (tfcrt::trace::active.load(std::memory_order_relaxed))
    tfcrt::trace::memory(s.current);
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
  uint64_t bytes = sizeClass(size ? size : 1);
  void *p = nullptr;
  if (alignment == 64) {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.cache.lower_bound(bytes);
    if (it != s.cache.end() && it->first <= 2 * bytes) {
      p = it->second;
      uint64_t capacity = it->first;
      s.cache.erase(it);
      s.cachedBytes -= capacity;
      s.live.emplace(p, Block{size, capacity});
      s.current += size;
      if (s.current > s.peak)
        s.peak = s.current;
      traceLive(s);
      ++s.numAllocs;
      return p;
    }
  }
  // A miss below 1 MiB is most often a buffer that grows with the decode
  // position: give it room to grow by half before the next miss.
  if (bytes < (uint64_t(1) << 20))
    bytes = sizeClass(bytes + bytes / 2);
  if (posix_memalign(&p, alignment, bytes) != 0 || !p) {
    s.failures.fetch_add(1);
    return nullptr;
  }
  try {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.live.emplace(p, Block{size, bytes});
    s.current += size;
    if (s.current > s.peak)
      s.peak = s.current;
    traceLive(s);
    ++s.numAllocs;
    ++s.systemAllocs;
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
    Block b = it->second;
    s.current -= b.size;
    traceLive(s);
    s.live.erase(it);
    // Every block is at least 64-byte aligned (over-aligned ones serve
    // 64-byte requests later).
    if (s.cachedBytes + b.capacity <= kCacheMaxBytes) {
      try {
        s.cache.emplace(b.capacity, ptr);
        s.cachedBytes += b.capacity;
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

namespace tfcrt {
void memoryStats(tfc_memory_stats *stats) {
  AllocState &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  stats->current_bytes = s.current;
  stats->peak_bytes = s.peak;
  stats->num_allocs = s.numAllocs;
  stats->system_allocs = s.systemAllocs;
}
} // namespace tfcrt

// The plain symbol keeps the first released layout (binaries built against
// older headers): the V1 prefix only.
TFCRT_EXPORT void(tfc_memory_stats_get)(tfc_memory_stats *stats) {
  if (!stats)
    return;
  tfc_memory_stats full{};
  tfcrt::memoryStats(&full);
  std::memcpy(stats, &full, TFC_MEMORY_STATS_V1_SIZE);
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
