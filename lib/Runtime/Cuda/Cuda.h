//===- Cuda.h - the runtime's CUDA-driver layer (internal) ------*- C++ -*-===//
//
// What the rest of libtfcrt needs from the GPU side. Two implementations:
// the CUDA files (TFC_ENABLE_CUDA=ON: the CUDA driver, loaded with dlopen at
// first use, so that a CUDA-enabled runtime still runs CPU models on a
// machine without a driver) and NoCuda.cpp (every GPU model is refused).
// MgpuWrappers.cpp / NoCuda.cpp also define the mgpu* functions that code
// from MLIR's gpu-to-llvm lowering calls.
//
// Execution model (docs/DESIGN.md, "The GPU target"): a GPU model owns
// device memory only. At load: the weights are uploaded once, a stream
// (non-blocking), a memory pool and a cuBLASLt workspace are created. A run
// takes the model (one run at a time per model), stages its inputs into the
// pool, calls the compiled code with every allocation served from the pool
// (bump allocation, reset per run, so the same shapes give the same
// addresses) and every launch / copy / GEMM enqueued on the model's stream,
// queues the outputs' downloads, and synchronizes once. The second run of an
// input shape is captured as a CUDA graph; later runs of that shape replay
// it (the host code still runs, with GPU work suppressed, to produce the
// output descriptors). TFC_CUDA_GRAPHS=0 turns graphs off.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_CUDA_H
#define TFC_LIB_RUNTIME_CUDA_CUDA_H

#include "Internal.h"

#include <cstdint>
#include <functional>
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

/// The GPU side of one loaded model (stream, pool, weights, graphs).
struct DeviceModel;

/// Uploads `bytes` of weights and creates the model's stream, pool and
/// workspace. TFC_ERR_OUT_OF_MEMORY / TFC_ERR_INTERNAL with `error` set.
tfc_status loadDeviceModel(const void *weights, uint64_t bytes,
                           DeviceModel **out, std::string &error);
void freeDeviceModel(DeviceModel *model);
/// The model's kernels begin with griddepcontrol.wait (TFC_MODEL_FLAG_CUDA_PDL):
/// its decode steps launch kernels with programmatic dependent launch
/// (TFC_CUDA_PDL=0: no run, =1: every run).
void setModelPdl(DeviceModel *model, bool on);
/// The device copy of the weights (nullptr for a model without weights).
void *deviceWeights(DeviceModel *model);

//===-- one run of a GPU model on the calling thread ----------------------===//
// beginRun .. endRun bracket a run; between them the functions below act on
// that run. beginRun waits for the model's previous run (of any thread).

/// Starts a run: clears this thread's CUDA error and resets the pool.
/// stepRun: a session's decode step, at most 8 new tokens a row (its
/// launches may use programmatic dependent launch, setModelPdl).
void beginRun(DeviceModel *model, bool stepRun = false);
/// A device copy of `bytes` host bytes at `src` (from the pool; the upload
/// is enqueued). nullptr when out of memory.
void *stageInput(const void *src, uint64_t bytes);
/// A rank-0 input (a KV-cache step's `past`): copied into the run's pinned
/// staging, which host code and kernels both read (unified addressing), so
/// the compiled host code may use its value (docs/DESIGN.md "Scalar
/// inputs"). nullptr when out of memory.
void *stageScalar(const void *src, uint64_t bytes);
/// Calls the compiled code (`entry`) with allocations served from the pool;
/// `shapeKey` names the input shapes (one CUDA graph per key).
void runCompiled(const std::string &shapeKey, const std::function<void()> &entry);
/// Enqueues the download of `bytes` device bytes at `src`; returns the host
/// (pinned) address that holds them once finishRun succeeded, or nullptr.
void *download(const void *src, uint64_t bytes);
/// Enqueues the download of `bytes` device bytes at `src` into `dst`
/// (allocPinned memory the caller owns, at least `bytes`); they are there
/// once finishRun succeeded. False on error.
bool downloadInto(void *dst, const void *src, uint64_t bytes);
/// Synchronizes the stream once; false if the run had a CUDA error.
bool finishRun();
/// Ends the run (releases the model for the next one).
void endRun();

/// True while compiled code of a GPU run executes on this thread: buffers
/// then come from the model's pool (device memory).
bool deviceAllocsActive();
/// A block of the current run's pool (freed when the next run starts);
/// nullptr on failure, with the reason recorded as this thread's error.
void *deviceAlloc(uint64_t bytes, uint64_t alignment);

/// tfcrt_gpu_upload during a run: copies the constant at host address `src`
/// (uploaded once per model) into the device buffer `dst`.
void uploadConstant(void *dst, const void *src, uint64_t bytes);

/// Device memory outside every run's pool (a session's KV cache), zeroed;
/// nullptr with the reason recorded as this thread's error. The stream of
/// no model is involved: these calls synchronize. freeDevice keeps the
/// block for the next allocDevice of the same size (ReuseList.h: the next
/// session gets the same address, so its graphs replay; a few blocks, 4 GiB
/// at most; TFC_CUDA_CACHE_REUSE=0 frees at once).
void *allocDevice(uint64_t bytes);
void freeDevice(void *p, uint64_t bytes);
/// A synchronous device-to-device copy (a session's fork); false on error.
bool copyDevice(void *dst, const void *src, uint64_t bytes);
/// Pinned host memory outside every model's staging (a session's logits,
/// downloaded there without a copy); nullptr on failure (not recorded).
void *allocPinned(uint64_t bytes);
void freePinned(void *p);

/// The first CUDA error recorded on this thread since clearError (by mgpu*
/// calls of the compiled code or by the run functions above). After an
/// error the launcher skips further work on this thread until cleared.
bool hasError();
std::string error();
void clearError();

/// Kernel modules that failed to load (the compiled model's constructors
/// call mgpuModuleLoad when the library is loaded), and the first reason.
uint64_t moduleLoadFailures();
std::string firstModuleLoadError();

/// Counters of the calling thread's last run, for tests and --bench:
/// kernel launches, GEMMs and copies enqueued (0 when replayed), how the
/// run executed: 'e' eager, 'c' captured, 'r' replayed, and its device time.
struct RunStats {
  uint64_t launches = 0, gemms = 0, copies = 0;
  char mode = 'e';
  /// Device time (CUDA events on the model's stream) from the inputs being
  /// staged to the end of the compiled code's work, and to the end of the
  /// outputs' downloads; -1 when not measured (an error).
  double deviceMs = -1, deviceWithOutputsMs = -1;
  /// Host time from the run's start (before its inputs are staged) to the
  /// end of the compiled code's host part (everything enqueued).
  double hostMs = -1;
};
RunStats lastRunStats();

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_CUDA_H
