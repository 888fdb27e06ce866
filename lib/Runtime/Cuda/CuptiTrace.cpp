//===- CuptiTrace.cpp - every kernel's device time, graphs included -------===//
//
// libtfc-cupti-trace.so, an LD_PRELOAD library for GPU machines: with
// TFC_CUPTI_OUT=FILE it asks CUPTI's activity API for a record of every
// kernel the process runs (start and end on the GPU's clock, grid, block,
// registers, the graph and node it belongs to, the launch's correlation id)
// and writes them to FILE as CSV, one line a kernel. It works on any CUDA
// process (tfc-run, PyTorch), and it sees the kernels inside a replayed
// CUDA graph, which CUDA events around a replay and TFC_CUDA_KTIME (eager
// runs, each launch synchronized) cannot: scripts/cupti_summary.py turns
// the file into per-node times and the gaps between them.
//
//   LD_PRELOAD=libtfc-cupti-trace.so TFC_CUPTI_OUT=k.csv tfc-run ...
//   python3 scripts/cupti_summary.py k.csv
//
// CUPTI adds a little time to each kernel it records; compare a traced
// run's totals with an untraced one's before trusting small differences.
// LD_PRELOAD reaches every child process too (timeout, python's workers,
// ptxas): a process opens the file only when its first records arrive, the
// first one takes FILE itself (created exclusively) and any other FILE.<pid>,
// so no process truncates another's records.
//
//===----------------------------------------------------------------------===//

#include <cupti.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

// The kernel record of the CUPTI these headers come with: CUDA 13's is
// version 10, older toolkits' version 9 (the fields read here are in both).
#if defined(CUPTI_API_VERSION) && CUPTI_API_VERSION >= 130000
using KernelRecord = CUpti_ActivityKernel10;
#else
using KernelRecord = CUpti_ActivityKernel9;
#endif

namespace {

bool enabled = false;  // CUPTI records kernels for this process
FILE *out = nullptr;   // opened at the first records
std::mutex outMutex;
size_t dropped = 0;

/// FILE if this process is the first to create it, else FILE.<pid>; the
/// CSV header first. (TFC_CUPTI_OUT is read here, not kept in a global
/// std::string: start() can run before this file's static constructors,
/// which then emptied the string, and every trace went to ./.<pid>.)
FILE *openOut() {
  const char *e = std::getenv("TFC_CUPTI_OUT");
  const std::string path = e ? e : "";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  std::string p = path;
  if (fd < 0) {
    p = path + "." + std::to_string(::getpid());
    fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  if (fd < 0) {
    std::fprintf(stderr, "tfc-cupti-trace: cannot write %s\n", p.c_str());
    return nullptr;
  }
  FILE *f = ::fdopen(fd, "w");
  if (f)
    std::fprintf(f, "start,end,correlation,graph,node,stream,gx,gy,gz,bx,"
                    "by,bz,regs,name\n");
  return f;
}

void CUPTIAPI bufferRequested(uint8_t **buffer, size_t *size,
                              size_t *maxRecords) {
  constexpr size_t kBytes = 8u << 20;
  *buffer = static_cast<uint8_t *>(std::aligned_alloc(8, kBytes));
  *size = *buffer ? kBytes : 0;
  *maxRecords = 0;
}

void CUPTIAPI bufferCompleted(CUcontext ctx, uint32_t streamId,
                              uint8_t *buffer, size_t /*size*/, size_t valid) {
  std::lock_guard<std::mutex> lock(outMutex);
  if (!out && valid > 0)
    out = openOut();
  CUpti_Activity *rec = nullptr;
  while (out && cuptiActivityGetNextRecord(buffer, valid, &rec) ==
                    CUPTI_SUCCESS) {
    if (rec->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL &&
        rec->kind != CUPTI_ACTIVITY_KIND_KERNEL)
      continue;
    const auto *k = reinterpret_cast<const KernelRecord *>(rec);
    std::fprintf(out, "%llu,%llu,%u,%u,%llu,%u,%d,%d,%d,%d,%d,%d,%u,%s\n",
                 (unsigned long long)k->start, (unsigned long long)k->end,
                 k->correlationId, k->graphId,
                 (unsigned long long)k->graphNodeId, k->streamId, k->gridX,
                 k->gridY, k->gridZ, k->blockX, k->blockY, k->blockZ,
                 (unsigned)k->registersPerThread, k->name ? k->name : "?");
  }
  size_t n = 0;
  if (cuptiActivityGetNumDroppedRecords(ctx, streamId, &n) == CUPTI_SUCCESS)
    dropped += n;
  std::free(buffer);
}

bool check(CUptiResult r, const char *what) {
  if (r == CUPTI_SUCCESS)
    return true;
  const char *s = "?";
  cuptiGetResultString(r, &s);
  std::fprintf(stderr, "tfc-cupti-trace: %s failed: %s\n", what, s);
  return false;
}

__attribute__((constructor)) void start() {
  const char *p = std::getenv("TFC_CUPTI_OUT");
  if (!p || !*p)
    return;
  enabled = check(cuptiActivityRegisterCallbacks(bufferRequested,
                                                 bufferCompleted),
                  "cuptiActivityRegisterCallbacks") &&
            check(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL),
                  "cuptiActivityEnable");
}

__attribute__((destructor)) void finish() {
  if (!enabled)
    return;
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  std::lock_guard<std::mutex> lock(outMutex);
  if (out)
    std::fclose(out);
  out = nullptr;
  if (dropped)
    std::fprintf(stderr, "tfc-cupti-trace: %zu records dropped\n", dropped);
}

} // namespace
