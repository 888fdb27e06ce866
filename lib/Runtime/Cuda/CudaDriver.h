//===- CudaDriver.h - CUDA driver entry points, loaded at run time -*- C++
//-*-===//
//
// Only CudaDriver.cpp and MgpuWrappers.cpp include this (TFC_ENABLE_CUDA=ON).
// libtfcrt does not link libcuda: the driver is dlopen'ed at first use and
// each entry point is resolved with cuGetProcAddress for the CUDA version of
// the headers we were built with, so the function types below (cuda.h's) are
// the versions we get.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_CUDADRIVER_H
#define TFC_LIB_RUNTIME_CUDA_CUDADRIVER_H

#include <cuda.h>
#include <string>

namespace tfcrt::cuda {

#define TFC_CUDA_DRIVER_FUNCTIONS(X)                                           \
  X(cuInit)                                                                    \
  X(cuDriverGetVersion)                                                        \
  X(cuGetErrorName)                                                            \
  X(cuGetErrorString)                                                          \
  X(cuDeviceGet)                                                               \
  X(cuDeviceGetCount)                                                          \
  X(cuDeviceGetName)                                                           \
  X(cuDeviceGetAttribute)                                                      \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuCtxSetCurrent)                                                           \
  X(cuModuleLoadDataEx)                                                        \
  X(cuModuleUnload)                                                            \
  X(cuModuleGetFunction)                                                       \
  X(cuLaunchKernel)                                                            \
  X(cuLaunchKernelEx)                                                          \
  X(cuFuncSetAttribute)                                                        \
  X(cuStreamCreate)                                                            \
  X(cuStreamDestroy)                                                           \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamQuery)                                                             \
  X(cuCtxSynchronize)                                                          \
  X(cuStreamWaitEvent)                                                         \
  X(cuEventCreate)                                                             \
  X(cuEventDestroy)                                                            \
  X(cuEventRecord)                                                             \
  X(cuEventSynchronize)                                                        \
  X(cuMemAlloc)                                                                \
  X(cuMemAllocManaged)                                                         \
  X(cuMemFree)                                                                 \
  X(cuMemcpyAsync)                                                             \
  X(cuMemsetD32Async)                                                          \
  X(cuMemsetD16Async)                                                          \
  X(cuMemHostRegister)                                                         \
  X(cuMemHostUnregister)                                                       \
  X(cuMemAllocHost)                                                            \
  X(cuMemFreeHost)                                                             \
  X(cuMemcpyHtoD)                                                              \
  X(cuMemcpyHtoDAsync)                                                         \
  X(cuMemcpyDtoHAsync)                                                         \
  X(cuMemcpyDtoDAsync)                                                         \
  X(cuMemsetD8Async)                                                           \
  X(cuStreamBeginCapture)                                                      \
  X(cuStreamEndCapture)                                                        \
  X(cuStreamIsCapturing)                                                       \
  X(cuGraphInstantiateWithFlags)                                               \
  X(cuGraphLaunch)                                                             \
  X(cuGraphExecDestroy)                                                        \
  X(cuGraphDestroy)                                                            \
  X(cuGraphGetNodes)                                                           \
  X(cuEventElapsedTime)

struct Driver {
#define TFC_CUDA_DECLARE(fn) decltype(&::fn) fn = nullptr;
  TFC_CUDA_DRIVER_FUNCTIONS(TFC_CUDA_DECLARE)
#undef TFC_CUDA_DECLARE
  CUdevice device = 0;
  CUcontext context = nullptr;
};

/// The loaded driver with a usable context, or nullptr (after recording why
/// as this thread's CUDA error). Also makes the context current on the
/// calling thread.
const Driver *driver();

/// The name of `r` (CUDA_ERROR_...), or "?" when the driver has none.
const char *resultName(const Driver *d, CUresult r);

/// Records `what` failed with `result` as this thread's CUDA error (the
/// first one since clearError wins). Returns false iff result != success.
bool check(CUresult result, const char *what, const std::string &detail = "");
/// Records a message that is not a CUresult.
void recordError(const std::string &msg);
/// Records a failed module load (process-wide as well as on this thread).
void recordModuleLoadError(const std::string &msg);

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_CUDADRIVER_H
