//===- CudaModel.h - loading and running a GPU model (internal) -*- C++ -*-===//
//
// What Model.cpp does differently for a model with TFC_MODEL_FLAG_CUDA.
// Built in every configuration: without CUDA, gpuLoadModel refuses the model.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_CUDAMODEL_H
#define TFC_LIB_RUNTIME_CUDA_CUDAMODEL_H

#include "Internal.h"

#include <string>
#include <vector>

namespace tfcrt {

/// Checks the device and the model's kernel modules, and copies the weights
/// into managed memory (model->gpuWeights). TFC_ERR_UNSUPPORTED without a
/// CUDA runtime or device, TFC_ERR_INTERNAL when a kernel module failed to
/// load; the message is set.
tfc_status gpuLoadModel(tfc_model *model);
void gpuFreeModel(tfc_model *model);

/// One run of a GPU model on the calling thread (inactive for a CPU model):
/// compiled code's allocations are managed memory while it lives, inputs
/// are staged into managed buffers, and CUDA errors of the run are collected.
class GpuRun {
public:
  explicit GpuRun(bool active);
  ~GpuRun();
  GpuRun(const GpuRun &) = delete;
  GpuRun &operator=(const GpuRun &) = delete;

  bool active() const { return isActive; }
  /// A managed copy of `bytes` bytes at `src` (freed with the run), or
  /// nullptr when out of memory.
  void *stage(const void *src, size_t bytes);
  /// True iff `p` is a buffer from stage (an output aliasing it is copied).
  bool isStaged(const void *p) const;
  /// TFC_OK, or TFC_ERR_INTERNAL with the run's first CUDA error in `error`.
  tfc_status finish(std::string &error) const;

private:
  bool isActive;
  bool previous = false;
  std::vector<void *> staged;
};

} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_CUDA_CUDAMODEL_H
