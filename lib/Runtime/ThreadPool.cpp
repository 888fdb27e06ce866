//===- ThreadPool.cpp - the runtime's worker threads ----------------------===//
//
// One process-wide pool of (threads - 1) workers; the calling thread joins in
// as the last worker. A parallel region is a Job: task indices are handed out
// through an atomic counter, and the region ends when every task is done --
// the caller never waits for a worker that has not started (a descheduled
// worker on a busy machine would otherwise stall every region by a time
// slice). A worker that wakes late holds a reference to the job it saw and
// finds no task left in it. Workers spin briefly before sleeping on a
// condition variable, because model code issues many short regions back to
// back (a BERT layer is a dozen GEMMs of a millisecond or less) and a futex
// wake-up costs tens of microseconds.
//
// Nested regions and regions started while another thread owns the pool run
// serially on the caller: that is always correct and never deadlocks.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TFCRT_CPU_RELAX() _mm_pause()
#else
#define TFCRT_CPU_RELAX() std::this_thread::yield()
#endif

namespace {

thread_local bool inParallelRegion = false;

int defaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

constexpr std::chrono::microseconds kSpinTime{200};

/// One parallel region. Immutable but for its counters.
struct Job {
  void (*fn)(void *, int64_t) = nullptr;
  void *ctx = nullptr;
  int64_t tasks = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::mutex doneMutex;
  std::condition_variable doneCv;
  // Set when a trace is recording: each task is a slice on its thread's
  // track, attributed to the profiled site that opened the region.
  bool traced = false;
  uint64_t model = 0;
  int32_t site = -1;

  /// Runs tasks until none is left.
  void drain() {
    for (;;) {
      int64_t t = next.fetch_add(1, std::memory_order_relaxed);
      if (t >= tasks)
        return;
      if (traced) {
        int64_t start = tfcrt::trace::nowNs();
        fn(ctx, t);
        tfcrt::trace::chunk(model, site, t, start, tfcrt::trace::nowNs());
      } else {
        fn(ctx, t);
      }
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == tasks) {
        std::lock_guard<std::mutex> lock(doneMutex);
        doneCv.notify_all();
      }
    }
  }

  /// Waits until every task has finished: spin, then sleep.
  void wait() {
    auto spinUntil = std::chrono::steady_clock::now() + kSpinTime;
    while (done.load(std::memory_order_acquire) != tasks) {
      if (std::chrono::steady_clock::now() > spinUntil) {
        std::unique_lock<std::mutex> lock(doneMutex);
        doneCv.wait(lock, [&] {
          return done.load(std::memory_order_acquire) == tasks;
        });
        return;
      }
      for (int i = 0; i < 16; ++i)
        TFCRT_CPU_RELAX();
    }
  }
};

class ThreadPool {
public:
  explicit ThreadPool(int threads) { start(threads); }
  ~ThreadPool() { stop(); }

  int size() const { return numThreads.load(std::memory_order_relaxed); }

  void resize(int threads) {
    std::lock_guard<std::mutex> region(regionMutex);
    stop();
    start(threads);
  }

  void run(int64_t numTasks, void (*fn)(void *, int64_t), void *ctx) {
    if (numTasks <= 0)
      return;
    std::unique_lock<std::mutex> region(regionMutex, std::defer_lock);
    std::shared_ptr<Job> job;
    if (numTasks > 1 && !inParallelRegion && !workers.empty() &&
        region.try_lock()) {
      try {
        job = std::make_shared<Job>();
      } catch (...) {
        // no memory for the region: run it serially below
      }
    }
    if (!job) {
      runSerial(numTasks, fn, ctx);
      return;
    }
    job->fn = fn;
    job->ctx = ctx;
    job->tasks = numTasks;
    if (tfcrt::trace::active.load(std::memory_order_relaxed)) {
      job->traced = true;
      tfcrt::currentSite(job->model, job->site);
    }
    {
      std::lock_guard<std::mutex> lock(wakeMutex);
      std::atomic_store_explicit(&current, job, std::memory_order_release);
      generation.fetch_add(1, std::memory_order_release);
    }
    wakeCv.notify_all();

    inParallelRegion = true;
    job->drain();
    inParallelRegion = false;
    job->wait();
  }

private:
  void runSerial(int64_t numTasks, void (*fn)(void *, int64_t), void *ctx) {
    bool wasIn = inParallelRegion;
    inParallelRegion = true;
    for (int64_t t = 0; t < numTasks; ++t)
      fn(ctx, t);
    inParallelRegion = wasIn;
  }

  /// `seen`: the generation when the worker was created; a region started
  /// before the thread got to run must not be missed.
  void workerLoop(uint64_t seen, int index) {
    inParallelRegion = true;
    tfcrt::trace::setWorkerIndex(index);
    for (;;) {
      // Spin, then sleep, until a new region starts.
      auto spinUntil = std::chrono::steady_clock::now() + kSpinTime;
      uint64_t gen;
      while ((gen = generation.load(std::memory_order_acquire)) == seen &&
             !stopping.load(std::memory_order_relaxed)) {
        if (std::chrono::steady_clock::now() > spinUntil) {
          std::unique_lock<std::mutex> lock(wakeMutex);
          wakeCv.wait(lock, [&] {
            return generation.load(std::memory_order_acquire) != seen ||
                   stopping.load(std::memory_order_relaxed);
          });
          spinUntil = std::chrono::steady_clock::now() + kSpinTime;
        }
        for (int i = 0; i < 16; ++i)
          TFCRT_CPU_RELAX();
      }
      if (stopping.load(std::memory_order_relaxed))
        return;
      seen = gen;
      // The newest job (possibly newer than `gen`); stale ones are empty.
      std::shared_ptr<Job> job =
          std::atomic_load_explicit(&current, std::memory_order_acquire);
      if (job)
        job->drain();
    }
  }

  void start(int threads) {
    int want = threads > 0 ? threads : defaultThreads();
    stopping.store(false);
    const uint64_t gen = generation.load();
    for (int i = 0; i + 1 < want; ++i) {
      try {
        workers.emplace_back([this, gen, i] { workerLoop(gen, i + 1); });
      } catch (...) {
        break; // fewer threads than asked for is still correct
      }
    }
    numThreads.store(static_cast<int>(workers.size()) + 1);
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(wakeMutex);
      stopping.store(true);
    }
    wakeCv.notify_all();
    for (std::thread &t : workers)
      t.join();
    workers.clear();
    std::atomic_store(&current, std::shared_ptr<Job>());
  }

  std::atomic<int> numThreads{1};
  std::vector<std::thread> workers;
  std::mutex regionMutex; // held by the thread that owns the current region
  std::shared_ptr<Job> current; // accessed with std::atomic_load/store
  std::atomic<uint64_t> generation{0};
  std::atomic<bool> stopping{false};
  std::mutex wakeMutex;
  std::condition_variable wakeCv;
};

// The pool object is created once and never destroyed or moved (resizing
// happens in place), so a region may run while the size is being changed by
// another thread without dangling. Leaked on purpose: joining workers from a
// static destructor at exit is a classic deadlock.
std::mutex poolMutex;
std::atomic<ThreadPool *> globalPool{nullptr};
std::atomic<int> requestedThreads{0};

ThreadPool &pool() {
  ThreadPool *p = globalPool.load(std::memory_order_acquire);
  if (p)
    return *p;
  std::lock_guard<std::mutex> lock(poolMutex);
  p = globalPool.load(std::memory_order_relaxed);
  if (!p) {
    p = new ThreadPool(requestedThreads.load());
    globalPool.store(p, std::memory_order_release);
  }
  return *p;
}

} // namespace

namespace tfcrt {

void parallelRun(int64_t numTasks, void (*fn)(void *ctx, int64_t task),
                 void *ctx) {
  pool().run(numTasks, fn, ctx);
}

int numThreads() { return pool().size(); }

} // namespace tfcrt

TFCRT_EXPORT void tfc_set_num_threads(int threads) {
  requestedThreads.store(threads > 0 ? threads : 0);
  std::lock_guard<std::mutex> lock(poolMutex);
  ThreadPool *p = globalPool.load(std::memory_order_acquire);
  if (!p)
    return; // created lazily with the requested size
  int want = threads > 0 ? threads : defaultThreads();
  if (want != p->size())
    p->resize(want);
}

TFCRT_EXPORT int tfc_get_num_threads(void) { return tfcrt::numThreads(); }

namespace {
struct ForCtx {
  int64_t n;
  int64_t parts;
  void (*fn)(void *, int64_t, int64_t);
  void *ctx;
};
} // namespace

TFCRT_EXPORT void
tfcrt_parallel_for(int64_t n, void (*fn)(void *ctx, int64_t begin, int64_t end),
                   void *ctx) {
  if (n <= 0 || !fn)
    return;
  // Contiguous, balanced ranges, one per thread: compiled loop bodies keep
  // their locality.
  ForCtx c{n, std::min<int64_t>(n, tfcrt::numThreads()), fn, ctx};
  tfcrt::parallelRun(
      c.parts,
      [](void *p, int64_t t) {
        auto *c = static_cast<ForCtx *>(p);
        int64_t begin = c->n * t / c->parts;
        int64_t end = c->n * (t + 1) / c->parts;
        if (begin < end)
          c->fn(c->ctx, begin, end);
      },
      &c);
}

namespace {
/// Below this many scalar iterations a loop nest runs on the caller: a
/// wake-up of the pool costs a few microseconds even while its workers
/// spin, about what 16K simple iterations take (decode's [1, 1, 576] loops
/// stay serial).
constexpr int64_t kMinParallelWork = 16384;
} // namespace

TFCRT_EXPORT void tfcrt_parallel_work(int64_t n, int64_t work,
                                      void (*fn)(void *ctx, int64_t begin,
                                                 int64_t end),
                                      void *ctx) {
  if (n <= 0 || !fn)
    return;
  if (n == 1 || work < kMinParallelWork || tfcrt::numThreads() <= 1) {
    fn(ctx, 0, n);
    return;
  }
  tfcrt_parallel_for(n, fn, ctx);
}
