//===- MgpuWrappers.cpp - the mgpu* ABI of MLIR's gpu-to-llvm lowering ----===//
//
// Code compiled by tfc --target=cuda calls these (signatures as MLIR 22's
// GPUToLLVM conversion declares them, e.g. `ptr @mgpuModuleLoad(ptr, i64)`,
// `void @mgpuLaunchKernel(ptr, i64 x6, i32, ptr, ptr, ptr, i64)`):
//   - each kernel module is loaded by a global constructor of the model
//     library (mgpuModuleLoad / mgpuModuleLoadJIT) and unloaded by its
//     destructor;
//   - each gpu.launch_func becomes GetFunction, StreamCreate, LaunchKernel,
//     StreamSynchronize, StreamDestroy. During a run (DeviceRun.cpp) the
//     stream is the model's: StreamCreate returns it, Synchronize and Destroy
//     of it do nothing (the run synchronizes once at its end), launches are
//     asynchronous, and while a graph is replayed nothing is enqueued.
// Nothing here aborts: a failure is recorded as the calling thread's CUDA
// error (Cuda.h), later work on that thread is skipped, and tfc_model_run
// turns the error into TFC_ERR_INTERNAL with its message.
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"
#include "CudaDriver.h"
#include "DeviceRun.h"

#include <mutex>
#include <unordered_map>

using namespace tfcrt;
using namespace tfcrt::cuda;

namespace {

/// The driver when this thread may do GPU work (no earlier error), else null.
const Driver *ready() { return hasError() ? nullptr : driver(); }

/// Kernel names, for messages (CUfunction -> name).
struct Names {
  std::mutex mutex;
  std::unordered_map<CUfunction, std::string> byFunction;
};
Names &names() {
  static Names *n = new Names();
  return *n;
}
std::string nameOf(CUfunction f) {
  Names &n = names();
  std::lock_guard<std::mutex> lock(n.mutex);
  auto it = n.byFunction.find(f);
  return it == n.byFunction.end() ? std::string("?") : it->second;
}
thread_local CUfunction lastLaunched = nullptr;

CUmodule loadModule(const void *data, const char *how, int optLevel) {
  const Driver *d = driver(); // a constructor: no earlier error to honour
  if (!d) {
    std::string why = error();
    if (why.rfind("CUDA: ", 0) == 0)
      why = why.substr(6);
    recordModuleLoadError(why);
    return nullptr;
  }
  // The JIT (PTX) and the loader (cubin) report problems in this log.
  char log[4096] = {};
  CUjit_option opts[3] = {CU_JIT_ERROR_LOG_BUFFER,
                          CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                          CU_JIT_OPTIMIZATION_LEVEL};
  void *values[3] = {log, reinterpret_cast<void *>(sizeof(log) - 1),
                     reinterpret_cast<void *>(
                         static_cast<intptr_t>(optLevel < 0   ? 0
                                               : optLevel > 4 ? 4
                                                              : optLevel))};
  CUmodule module = nullptr;
  CUresult r =
      d->cuModuleLoadDataEx(&module, data, optLevel >= 0 ? 3 : 2, opts, values);
  if (r != CUDA_SUCCESS) {
    recordModuleLoadError(format("%s of a kernel module failed: %s%s%s", how,
                                 resultName(d, r), log[0] ? ": " : "", log));
    return nullptr;
  }
  return module;
}

} // namespace

TFCRT_EXPORT void *mgpuModuleLoad(void *data, uint64_t /*size*/) {
  return loadModule(data, "cuModuleLoadDataEx", -1);
}

TFCRT_EXPORT void *mgpuModuleLoadJIT(void *data, int32_t optLevel) {
  return loadModule(data, "JIT compilation (cuModuleLoadDataEx)", optLevel);
}

TFCRT_EXPORT void mgpuModuleUnload(void *module) {
  if (!module)
    return;
  if (const Driver *d = driver())
    check(d->cuModuleUnload(static_cast<CUmodule>(module)), "cuModuleUnload");
}

TFCRT_EXPORT void *mgpuModuleGetFunction(void *module, const char *name) {
  // A replayed graph launches nothing: any non-null handle will do.
  if (replaying())
    return module;
  const Driver *d = ready();
  if (!d)
    return nullptr;
  if (!module) {
    recordError(format("kernel '%s': its module was not loaded (%s)", name,
                       firstModuleLoadError().c_str()));
    return nullptr;
  }
  CUfunction f = nullptr;
  if (!check(d->cuModuleGetFunction(&f, static_cast<CUmodule>(module), name),
             "cuModuleGetFunction", format("('%s')", name)))
    return nullptr;
  Names &n = names();
  std::lock_guard<std::mutex> lock(n.mutex);
  n.byFunction.emplace(f, name);
  return f;
}

TFCRT_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                   intptr_t gridY, intptr_t gridZ,
                                   intptr_t blockX, intptr_t blockY,
                                   intptr_t blockZ, int32_t smem, void *stream,
                                   void **params, void **extra,
                                   uint64_t /*paramsCount*/) {
  if (replaying())
    return;
  const Driver *d = ready();
  if (!d || !function)
    return;
  // An empty iteration space (a dynamic dim of 0) launches nothing.
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0 || blockX <= 0 || blockY <= 0 ||
      blockZ <= 0)
    return;
  auto f = static_cast<CUfunction>(function);
  lastLaunched = f;
  // Within a run of a --cuda-pdl model, with programmatic dependent launch
  // (its kernels wait with griddepcontrol first).
  check(launchKernel(d, f, gridX, gridY, gridZ, blockX, blockY, blockZ, smem,
                     static_cast<CUstream>(stream), params, extra,
                     runStream() != nullptr && pdlLaunches()),
        "cuLaunchKernel",
        format("('%s', grid %ld x %ld x %ld, block %ld x %ld x %ld)",
               nameOf(f).c_str(), (long)gridX, (long)gridY, (long)gridZ,
               (long)blockX, (long)blockY, (long)blockZ));
  if (CUstream rs = runStream()) {
    count(Work::Launch, gridX * gridY * gridZ, blockX * blockY * blockZ);
    if (syncEachLaunch() && !capturing())
      check(d->cuStreamSynchronize(rs), "cuStreamSynchronize",
            format("(after kernel '%s')", nameOf(f).c_str()));
  }
}

TFCRT_EXPORT void *mgpuStreamCreate() {
  if (CUstream rs = runStream())
    return rs; // the model's stream
  const Driver *d = ready();
  if (!d)
    return nullptr;
  CUstream s = nullptr;
  if (!check(d->cuStreamCreate(&s, CU_STREAM_NON_BLOCKING), "cuStreamCreate"))
    return nullptr;
  return s;
}

TFCRT_EXPORT void mgpuStreamDestroy(void *stream) {
  // Destroyed even after an error: the stream is ours to release.
  if (!stream || stream == runStream())
    return;
  if (const Driver *d = driver())
    check(d->cuStreamDestroy(static_cast<CUstream>(stream)), "cuStreamDestroy");
}

TFCRT_EXPORT void mgpuStreamSynchronize(void *stream) {
  if (stream && stream == runStream())
    return; // the run synchronizes once, at its end
  const Driver *d = ready();
  if (!d || !stream)
    return;
  // A kernel's execution errors (bad address, trap) surface here.
  check(d->cuStreamSynchronize(static_cast<CUstream>(stream)),
        "cuStreamSynchronize",
        lastLaunched
            ? format("(after kernel '%s')", nameOf(lastLaunched).c_str())
            : std::string());
}

TFCRT_EXPORT void mgpuStreamWaitEvent(void *stream, void *event) {
  const Driver *d = ready();
  if (!d || !stream || !event)
    return;
  check(d->cuStreamWaitEvent(static_cast<CUstream>(stream),
                             static_cast<CUevent>(event), 0),
        "cuStreamWaitEvent");
}

TFCRT_EXPORT void *mgpuEventCreate() {
  const Driver *d = ready();
  if (!d)
    return nullptr;
  CUevent e = nullptr;
  if (!check(d->cuEventCreate(&e, CU_EVENT_DISABLE_TIMING), "cuEventCreate"))
    return nullptr;
  return e;
}

TFCRT_EXPORT void mgpuEventDestroy(void *event) {
  if (!event)
    return;
  if (const Driver *d = driver())
    check(d->cuEventDestroy(static_cast<CUevent>(event)), "cuEventDestroy");
}

TFCRT_EXPORT void mgpuEventSynchronize(void *event) {
  const Driver *d = ready();
  if (!d || !event)
    return;
  check(d->cuEventSynchronize(static_cast<CUevent>(event)),
        "cuEventSynchronize");
}

TFCRT_EXPORT void mgpuEventRecord(void *event, void *stream) {
  const Driver *d = ready();
  if (!d || !event || !stream)
    return;
  check(d->cuEventRecord(static_cast<CUevent>(event),
                         static_cast<CUstream>(stream)),
        "cuEventRecord");
}

// gpu.alloc / gpu.dealloc (not emitted by tfc's pipeline today, which
// allocates through _mlir_memref_to_llvm_alloc; provided for completeness).
TFCRT_EXPORT void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/,
                                bool isHostShared) {
  const Driver *d = ready();
  if (!d)
    return nullptr;
  CUdeviceptr p = 0;
  CUresult r = isHostShared ? d->cuMemAllocManaged(&p, bytes ? bytes : 1,
                                                   CU_MEM_ATTACH_GLOBAL)
                            : d->cuMemAlloc(&p, bytes ? bytes : 1);
  if (!check(r, isHostShared ? "cuMemAllocManaged" : "cuMemAlloc",
             format("(%llu bytes)", (unsigned long long)bytes)))
    return nullptr;
  return reinterpret_cast<void *>(p);
}

TFCRT_EXPORT void mgpuMemFree(void *ptr, void * /*stream*/) {
  if (!ptr)
    return;
  if (const Driver *d = driver())
    check(d->cuMemFree(reinterpret_cast<CUdeviceptr>(ptr)), "cuMemFree");
}

TFCRT_EXPORT void mgpuMemcpy(void *dst, void *src, uint64_t bytes,
                             void *stream) {
  if (replaying())
    return;
  const Driver *d = ready();
  if (!d || bytes == 0)
    return;
  forgetLaunchWrites();
  check(d->cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                         reinterpret_cast<CUdeviceptr>(src), bytes,
                         static_cast<CUstream>(stream)),
        "cuMemcpyAsync");
}

TFCRT_EXPORT void mgpuMemset32(void *dst, uint32_t value, uint64_t count,
                               void *stream) {
  if (replaying())
    return;
  const Driver *d = ready();
  if (!d || count == 0)
    return;
  forgetLaunchWrites();
  check(d->cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                            static_cast<CUstream>(stream)),
        "cuMemsetD32Async");
}

TFCRT_EXPORT void mgpuMemset16(void *dst, uint16_t value, uint64_t count,
                               void *stream) {
  if (replaying())
    return;
  const Driver *d = ready();
  if (!d || count == 0)
    return;
  forgetLaunchWrites();
  check(d->cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                            static_cast<CUstream>(stream)),
        "cuMemsetD16Async");
}

namespace {
/// Extent in bytes of a ranked memref descriptor { alloc, aligned, offset,
/// sizes[rank], strides[rank] } and its first byte.
void *memrefSpan(int64_t rank, const void *desc, int64_t elemBytes,
                 uint64_t &bytes) {
  const int64_t *w = static_cast<const int64_t *>(desc);
  char *aligned = reinterpret_cast<char *>(w[1]);
  int64_t last = 0; // index of the last element
  bool empty = false;
  for (int64_t k = 0; k < rank; ++k) {
    int64_t size = w[3 + k], stride = w[3 + rank + k];
    if (size <= 0)
      empty = true;
    else
      last += (size - 1) * stride;
  }
  bytes = empty ? 0 : static_cast<uint64_t>((last + 1) * elemBytes);
  return aligned + w[2] * elemBytes;
}
} // namespace

TFCRT_EXPORT void mgpuMemHostRegister(void *ptr, uint64_t bytes) {
  const Driver *d = ready();
  if (!d || !ptr || bytes == 0)
    return;
  check(d->cuMemHostRegister(ptr, bytes, 0), "cuMemHostRegister");
}

TFCRT_EXPORT void mgpuMemHostUnregister(void *ptr) {
  if (!ptr)
    return;
  if (const Driver *d = driver())
    check(d->cuMemHostUnregister(ptr), "cuMemHostUnregister");
}

TFCRT_EXPORT void mgpuMemHostRegisterMemRef(int64_t rank, void *desc,
                                            int64_t elemBytes) {
  uint64_t bytes = 0;
  void *p = memrefSpan(rank, desc, elemBytes, bytes);
  mgpuMemHostRegister(p, bytes);
}

TFCRT_EXPORT void mgpuMemHostUnregisterMemRef(int64_t rank, void *desc,
                                              int64_t elemBytes) {
  uint64_t bytes = 0;
  void *p = memrefSpan(rank, desc, elemBytes, bytes);
  if (bytes)
    mgpuMemHostUnregister(p);
}

TFCRT_EXPORT void mgpuSetDefaultDevice(int32_t device) {
  if (device != 0)
    recordError(
        format("mgpuSetDefaultDevice(%d): only device 0 is supported", device));
}
