//===- CudaModel.cpp - loading and running a GPU model --------------------===//

#include "CudaModel.h"
#include "Cuda.h"
#include "Model.h"

#include <algorithm>
#include <cstring>

namespace tfcrt {

tfc_status gpuLoadModel(tfc_model *m) {
  std::string error;
  if (cuda::ensureDevice(error) != TFC_OK)
    return setError(TFC_ERR_UNSUPPORTED, error);
  if (cuda::moduleLoadFailures() != 0)
    return setError(TFC_ERR_INTERNAL,
                    format("%llu GPU kernel module(s) failed to load; first: "
                           "%s",
                           (unsigned long long)cuda::moduleLoadFailures(),
                           cuda::firstModuleLoadError().c_str()));
  uint64_t bytes = m->weights.dataSize();
  if (bytes == 0)
    return TFC_OK;
  cuda::clearError();
  m->gpuWeights = cuda::managedAlloc(bytes);
  if (!m->gpuWeights) {
    tfc_status s =
        setError(TFC_ERR_OUT_OF_MEMORY,
                 format("cannot allocate %llu bytes of managed memory for the "
                        "weights: %s",
                        (unsigned long long)bytes, cuda::error().c_str()));
    cuda::clearError();
    return s;
  }
  std::memcpy(m->gpuWeights, m->weights.data(), bytes);
  return TFC_OK;
}

void gpuFreeModel(tfc_model *m) {
  if (m->gpuWeights)
    cuda::managedFree(m->gpuWeights);
  m->gpuWeights = nullptr;
}

GpuRun::GpuRun(bool active) : isActive(active) {
  if (!isActive)
    return;
  cuda::clearError();
  previous = cuda::managedAllocsActive();
  cuda::setManagedAllocs(true);
}

GpuRun::~GpuRun() {
  if (!isActive)
    return;
  for (void *p : staged)
    trackedFree(p);
  cuda::setManagedAllocs(previous);
}

void *GpuRun::stage(const void *src, size_t bytes) {
  void *p = trackedAlloc(bytes); // managed: the run is active
  if (!p)
    return nullptr;
  staged.push_back(p);
  if (bytes)
    std::memcpy(p, src, bytes);
  return p;
}

bool GpuRun::isStaged(const void *p) const {
  return std::find(staged.begin(), staged.end(), p) != staged.end();
}

tfc_status GpuRun::finish(std::string &error) const {
  if (!isActive || !cuda::hasError())
    return TFC_OK;
  error = cuda::error();
  return TFC_ERR_INTERNAL;
}

} // namespace tfcrt
