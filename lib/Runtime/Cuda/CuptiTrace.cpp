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
//
//===----------------------------------------------------------------------===//

#include <cupti.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

FILE *out = nullptr;
std::mutex outMutex;
size_t dropped = 0;

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
  CUpti_Activity *rec = nullptr;
  while (out && cuptiActivityGetNextRecord(buffer, valid, &rec) ==
                    CUPTI_SUCCESS) {
    if (rec->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL &&
        rec->kind != CUPTI_ACTIVITY_KIND_KERNEL)
      continue;
    const auto *k = reinterpret_cast<const CUpti_ActivityKernel10 *>(rec);
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
  const char *path = std::getenv("TFC_CUPTI_OUT");
  if (!path || !*path)
    return;
  out = std::fopen(path, "w");
  if (!out) {
    std::fprintf(stderr, "tfc-cupti-trace: cannot write %s\n", path);
    return;
  }
  std::fprintf(out, "start,end,correlation,graph,node,stream,gx,gy,gz,bx,"
                    "by,bz,regs,name\n");
  if (!check(cuptiActivityRegisterCallbacks(bufferRequested,
                                            bufferCompleted),
             "cuptiActivityRegisterCallbacks") ||
      !check(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL),
             "cuptiActivityEnable")) {
    std::fclose(out);
    out = nullptr;
  }
}

__attribute__((destructor)) void finish() {
  if (!out)
    return;
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  std::lock_guard<std::mutex> lock(outMutex);
  std::fclose(out);
  out = nullptr;
  if (dropped)
    std::fprintf(stderr, "tfc-cupti-trace: %zu records dropped\n", dropped);
}

} // namespace
