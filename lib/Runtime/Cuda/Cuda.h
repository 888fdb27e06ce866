//===- Cuda.h - the runtime's CUDA-driver layer (internal) ------*- C++ -*-===//
//
// What the rest of libtfcrt needs from the GPU side. Two implementations:
// CudaDriver.cpp (TFC_ENABLE_CUDA=ON: the CUDA driver, loaded with dlopen at
// first use, so that a CUDA-enabled runtime still runs CPU models on a
// machine without a driver) and NoCuda.cpp (every GPU model is refused).
// MgpuWrappers.cpp / NoCuda.cpp also define the mgpu* functions that code
// from MLIR's gpu-to-llvm lowering calls.
//
// Memory model (docs/DESIGN.md, "GPU"): while a GPU model runs, every buffer
// the compiled code allocates, the staged inputs and the weights are CUDA
// managed memory, readable by host code and kernels alike. Only this layer
// and Allocator.cpp know that; moving to device memory + explicit copies
// changes these functions, not the compiled code's ABI.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_CUDA_H
#define TFC_LIB_RUNTIME_CUDA_CUDA_H

#include "Internal.h"

#include <cstdint>
#include <string>

namespace tfcrt::cuda {

/// True iff this runtime was built with the CUDA launcher.
bool available();

/// Loads the driver and makes device 0's primary context usable (once per
/// process; later calls return the first outcome). TFC_ERR_UNSUPPORTED with
/// a message when there is no driver or device.
tfc_status ensureDevice(std::string &error);

/// "NVIDIA H100 80GB HBM3 (sm_90)", or "" before ensureDevice succeeded.
std::string deviceName();

/// Managed (host- and device-accessible) memory; nullptr on failure, with
/// the reason recorded as this thread's CUDA error.
void *managedAlloc(uint64_t bytes);
void managedFree(void *ptr);

/// While set on a thread, trackedAlloc hands out managed memory (set by
/// tfc_model_run for a GPU model).
bool managedAllocsActive();
void setManagedAllocs(bool on);

/// The first CUDA error recorded on this thread since clearError (by mgpu*
/// calls of the compiled code or by managedAlloc). After an error the
/// launcher skips further work on this thread until cleared.
bool hasError();
std::string error();
void clearError();

/// Kernel modules that failed to load (the compiled model's constructors
/// call mgpuModuleLoad when the library is loaded), and the first reason.
uint64_t moduleLoadFailures();
std::string firstModuleLoadError();

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_CUDA_H
