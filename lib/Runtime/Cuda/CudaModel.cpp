//===- CudaModel.cpp - loading and running a GPU model --------------------===//

#include "CudaModel.h"
#include "Cuda.h"
#include "Model.h"

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
  tfc_status s = cuda::loadDeviceModel(m->weights.data(), m->weights.dataSize(),
                                       &m->gpu, error);
  if (s != TFC_OK)
    return setError(s, "loading the model onto the GPU: " + error);
  cuda::setModelPdl(m->gpu, (m->desc->flags & TFC_MODEL_FLAG_CUDA_PDL) != 0);
  return TFC_OK;
}

void gpuFreeModel(tfc_model *m) {
  cuda::freeDeviceModel(m->gpu);
  m->gpu = nullptr;
}

GpuRun::GpuRun(tfc_model *m, bool stepRun)
    : model(m), isActive(m && (m->desc->flags & TFC_MODEL_FLAG_CUDA) &&
                         m->gpu) {
  if (isActive)
    cuda::beginRun(model->gpu, stepRun);
}

GpuRun::~GpuRun() {
  if (isActive)
    cuda::endRun();
}

void *GpuRun::weights() const { return cuda::deviceWeights(model->gpu); }

void *GpuRun::stage(const void *src, size_t bytes) {
  return cuda::stageInput(src, bytes);
}

void *GpuRun::stageScalar(const void *src, size_t bytes) {
  return cuda::stageScalar(src, bytes);
}

void GpuRun::call(const std::string &shapeKey,
                  const std::function<void()> &entry) {
  if (isActive)
    cuda::runCompiled(shapeKey, entry);
  else
    entry();
}

void *GpuRun::download(const void *src, size_t bytes) {
  return cuda::download(src, bytes);
}

bool GpuRun::downloadInto(void *dst, const void *src, size_t bytes) {
  return cuda::downloadInto(dst, src, bytes);
}

tfc_status GpuRun::finish(std::string &error) {
  if (!isActive || cuda::finishRun())
    return TFC_OK;
  error = cuda::error();
  return TFC_ERR_INTERNAL;
}

} // namespace tfcrt
