//===- GpuTestUtil.h - what the GPU kernel tests share ----------*- C++ -*-===//
//
// tfcrt-gpu-attention-test and tfcrt-gpu-gemv-test: the driver, checked
// calls, device buffers and the start (a device and a stream, or exit 77
// without one).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TEST_RUNTIME_GPUTESTUTIL_H
#define TFC_TEST_RUNTIME_GPUTESTUTIL_H

#include "Cuda/Cuda.h"
#include "Cuda/CudaDriver.h"

#include <cstdio>
#include <string>

namespace tfcrt::gputest {

/// The driver, set by openDevice.
inline const cuda::Driver *D = nullptr;

/// False (printed with `what`) unless r is CUDA_SUCCESS.
inline bool ok(CUresult r, const char *what) {
  if (r == CUDA_SUCCESS)
    return true;
  std::fprintf(stderr, "%s failed: %s\n", what, cuda::resultName(D, r));
  return false;
}

/// n bytes of device memory (p stays 0 when the allocation fails, printed).
struct DevBuf {
  CUdeviceptr p = 0;
  size_t bytes = 0;
  explicit DevBuf(size_t n) : bytes(n) {
    if (n && !ok(D->cuMemAlloc(&p, n), "cuMemAlloc"))
      p = 0;
  }
  ~DevBuf() {
    if (p)
      D->cuMemFree(p);
  }
  DevBuf(const DevBuf &) = delete;
  DevBuf &operator=(const DevBuf &) = delete;
  /// Uploads `bytes` bytes from h.
  void put(const void *h) {
    if (bytes)
      ok(D->cuMemcpyHtoD(p, h, bytes), "cuMemcpyHtoD");
  }
};

/// Sets D and creates `stream`: 0, or the exit code (77: no GPU, skipped,
/// printed; 1: a failure).
inline int openDevice(CUstream &stream) {
  std::string why;
  if (cuda::ensureDevice(why) != TFC_OK) {
    std::printf("SKIP: %s\n", why.c_str());
    return 77;
  }
  D = cuda::driver();
  if (!D) {
    std::printf("SKIP: no driver (%s)\n", cuda::error().c_str());
    return 77;
  }
  std::printf("device: %s\n", cuda::deviceName().c_str());
  return ok(D->cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
            "cuStreamCreate")
             ? 0
             : 1;
}

} // namespace tfcrt::gputest

#endif // TFC_TEST_RUNTIME_GPUTESTUTIL_H
