//===- Internal.h - shared declarations inside libtfcrt ---------*- C++ -*-===//
//
// Not installed; only the runtime's own sources and its unit tests include it.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_INTERNAL_H
#define TFC_LIB_RUNTIME_INTERNAL_H

#include "tfc/Runtime/tfc_runtime.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

struct tfcrt_memref3_f32; // tfc/Runtime/tfc_kernels.h

// Everything is built with -fvisibility=hidden; the C API is exported.
#define TFCRT_EXPORT extern "C" __attribute__((visibility("default")))

namespace tfcrt {

//===-- errors (Error.cpp) ------------------------------------------------===//
/// Records `msg` as this thread's last error and returns `status`.
tfc_status setError(tfc_status status, const std::string &msg);
void clearError();
/// A kernel called by compiled code met input it cannot compute (a packed
/// weight blob of another layout version, shapes that disagree with it):
/// records the first such message of the current run (any thread; later
/// ones are dropped). The kernel then fills its output with NaN and
/// returns; runEntry turns the record into the run's status and message.
void kernelError(tfc_status status, const std::string &msg);
/// Takes and clears the recorded kernel error; TFC_OK if there is none.
tfc_status takeKernelError(std::string &msg);
/// Fills a kernel's [b, m, n] output with NaN after a kernelError (nothing
/// for a null descriptor or a negative size).
void fillNaN(const tfcrt_memref3_f32 *y);
/// printf-style formatting into a std::string.
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

//===-- allocator (Allocator.cpp) -----------------------------------------===//
/// The whole current tfc_memory_stats (the exported getters copy from it).
void memoryStats(tfc_memory_stats *stats);
/// 64-byte aligned, tracked allocation (what compiled code gets). Returns
/// nullptr and counts a failure when memory is exhausted.
void *trackedAlloc(uint64_t size, uint64_t alignment = 64);
/// Frees a pointer from trackedAlloc; ignores pointers it did not hand out.
void trackedFree(void *ptr);
/// True iff `ptr` is the start of a live allocation from trackedAlloc.
bool isTrackedAllocation(const void *ptr);
/// Number of allocation failures since the process started.
uint64_t allocFailures();
/// Hands the tracked allocation `base` to the application as the data of an
/// output tensor starting at `data`; tfc_tensor_free(data) frees `base`.
void registerOwnedOutput(void *data, void *base);
/// Undoes registerOwnedOutput and frees the allocation; false if unknown.
bool releaseOwnedOutput(void *data);

//===-- thread pool (ThreadPool.cpp) --------------------------------------===//
/// Runs fn(ctx, task) for every task in [0, numTasks) on the pool; tasks are
/// handed out dynamically. Runs serially when nested or when the pool is busy
/// with another caller. Returns when all tasks are done.
void parallelRun(int64_t numTasks, void (*fn)(void *ctx, int64_t task),
                 void *ctx);
template <typename F> void parallelRun(int64_t numTasks, F &&f) {
  using Fn = std::remove_reference_t<F>;
  parallelRun(
      numTasks,
      [](void *ctx, int64_t task) { (*static_cast<Fn *>(ctx))(task); },
      const_cast<void *>(static_cast<const void *>(&f)));
}
int numThreads();

//===-- profiler (Profiler.cpp) -------------------------------------------===//
/// Sets the model whose op classes tfcrt_prof_enter/exit on this thread
/// account to (nullptr: none). Returns the previous one.
tfc_model *setCurrentProfiledModel(tfc_model *model);
/// One run of `model`'s compiled code on this thread: the profiler charges
/// the hooks to it, and the tracer records the run as a slice.
struct ProfiledRunScope {
  explicit ProfiledRunScope(tfc_model *model);
  ~ProfiledRunScope();
  ProfiledRunScope(const ProfiledRunScope &) = delete;
  ProfiledRunScope &operator=(const ProfiledRunScope &) = delete;
  tfc_model *model;
  tfc_model *previous;
  int64_t startNs; // -1 when not tracing
};

//===-- tracer (Trace.cpp) ------------------------------------------------===//
namespace trace {
/// Nonzero while tfc_trace_start is in effect; read with relaxed order on
/// every hot path, so keep it the only cost when tracing is off.
extern std::atomic<bool> active;
int64_t nowNs();
/// A kernel call of site `site` of the model with serial `model`.
void kernel(uint64_t model, int32_t site, int64_t startNs, int64_t endNs);
/// One task of a thread-pool region opened by site `site` (-1: none).
void chunk(uint64_t model, int32_t site, int64_t task, int64_t startNs,
           int64_t endNs);
/// One run of the model's entry (main or KV-cache step).
void run(const tfc_model *model, int64_t startNs, int64_t endNs);
/// The allocator's live bytes after an allocation or free.
void memory(uint64_t liveBytes);
/// This thread is pool worker `index` (named so in the trace).
void setWorkerIndex(int index);
} // namespace trace

/// The innermost profiled site open on this thread and its model's serial
/// (site -1 when none): a pool region records who opened it.
void currentSite(uint64_t &model, int32_t &site);

} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_INTERNAL_H
