//===- CudaModel.h - loading and running a GPU model (internal) -*- C++ -*-===//
//
// What Model.cpp does differently for a model with TFC_MODEL_FLAG_CUDA.
// Built in every configuration: without CUDA, gpuLoadModel refuses the model.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_CUDAMODEL_H
#define TFC_LIB_RUNTIME_CUDA_CUDAMODEL_H

#include "Internal.h"

#include <functional>
#include <string>

namespace tfcrt {

/// Checks the device and the model's kernel modules, uploads the weights and
/// creates the model's stream and pool (model->gpu). TFC_ERR_UNSUPPORTED
/// without a CUDA runtime or device, TFC_ERR_INTERNAL when a kernel module
/// failed to load; the message is set.
tfc_status gpuLoadModel(tfc_model *model);
void gpuFreeModel(tfc_model *model);

/// One run of a GPU model on the calling thread (inactive for a CPU model):
/// inputs are staged into device memory, the compiled code runs with device
/// allocations on the model's stream (as a CUDA graph from the second run of
/// a shape on), outputs are downloaded, and the run synchronizes once
/// (Cuda/Cuda.h). Holds the model for the run's duration.
class GpuRun {
public:
  /// stepRun: a session's decode step (Cuda.h, beginRun).
  explicit GpuRun(tfc_model *model, bool stepRun = false);
  ~GpuRun();
  GpuRun(const GpuRun &) = delete;
  GpuRun &operator=(const GpuRun &) = delete;

  bool active() const { return isActive; }
  /// The device copy of the weights.
  void *weights() const;
  /// A device copy of `bytes` bytes at `src`, or nullptr when out of memory.
  void *stage(const void *src, size_t bytes);
  /// A rank-0 input in pinned memory that host code and kernels both read.
  void *stageScalar(const void *src, size_t bytes);
  /// Runs the compiled code; `shapeKey` identifies the input shapes.
  void call(const std::string &shapeKey, const std::function<void()> &entry);
  /// Enqueues the download of `bytes` device bytes at `src`: the returned
  /// host address holds them after finish(). nullptr on failure.
  void *download(const void *src, size_t bytes);
  /// The same into the caller's pinned buffer `dst`; false on error.
  bool downloadInto(void *dst, const void *src, size_t bytes);
  /// Synchronizes; TFC_OK, or TFC_ERR_INTERNAL with the run's first CUDA
  /// error in `error`.
  tfc_status finish(std::string &error);

private:
  tfc_model *model;
  bool isActive;
};

} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_CUDA_CUDAMODEL_H
