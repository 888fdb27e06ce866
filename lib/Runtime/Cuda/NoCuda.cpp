//===- NoCuda.cpp - the CUDA layer of a runtime built without CUDA --------===//
//
// TFC_ENABLE_CUDA=OFF: every GPU model is refused at load with
// TFC_ERR_UNSUPPORTED. The mgpu* functions still exist, so that a model
// library compiled with --target=cuda loads (its constructors call
// mgpuModuleLoad) and is then refused with a clear message instead of an
// "undefined symbol" from dlopen; they do nothing.
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"
#include "AttentionLaunch.h"
#include "GpuGemm.h"

namespace tfcrt::cuda {

bool available() { return false; }

tfc_status ensureDevice(std::string &error) {
  error = "this model runs on a CUDA GPU, but this libtfcrt was built "
          "without CUDA (configure with -DTFC_ENABLE_CUDA=ON)";
  return TFC_ERR_UNSUPPORTED;
}

std::string deviceName() { return std::string(); }
tfc_status loadDeviceModel(const void *, uint64_t, DeviceModel **out,
                           std::string &error) {
  *out = nullptr;
  return ensureDevice(error);
}
void freeDeviceModel(DeviceModel *) {}
void setModelPdl(DeviceModel *, bool) {}
void *deviceWeights(DeviceModel *) { return nullptr; }
void beginRun(DeviceModel *, bool) {}
void *stageInput(const void *, uint64_t) { return nullptr; }
void *stageScalar(const void *, uint64_t) { return nullptr; }
void *allocDevice(uint64_t) { return nullptr; }
void freeDevice(void *, uint64_t) {}
bool copyDevice(void *, const void *, uint64_t) { return false; }
void runCompiled(const std::string &, const std::function<void()> &entry) {
  entry();
}
void *download(const void *, uint64_t) { return nullptr; }
bool downloadInto(void *, const void *, uint64_t) { return false; }
void *allocPinned(uint64_t) { return nullptr; }
void freePinned(void *) {}
bool finishRun() { return true; }
void endRun() {}
bool deviceAllocsActive() { return false; }
void *deviceAlloc(uint64_t, uint64_t) { return nullptr; }
void uploadConstant(void *, const void *, uint64_t) {}
void gemm(GemmType, const Memref3 *, const Memref3 *, const Memref3 *) {}
void gemm(GemmType, const Memref3 *, const Memref3 *, const Memref3 *,
          GemmType, const Epilogue &) {}
void linearEx(GemmType, const Memref3 *, const Memref3 *, const Memref3 *,
              GemmType, const Epilogue &, const Memref3 *) {}
void runAttention(const attn::Params &, AttnMode, const std::string &) {}
void runAttentionRope(const attn::Params &, const AttnRope &, AttnMode,
                      const std::string &) {}
bool launchAttention(const attn::Params &, AttnMode, void *, std::string &error,
                     int64_t *, int64_t *) {
  error = "this libtfcrt was built without CUDA";
  return false;
}
RunStats lastRunStats() { return RunStats(); }
bool hasError() { return false; }
std::string error() { return std::string(); }
void clearError() {}
uint64_t moduleLoadFailures() { return 0; }
std::string firstModuleLoadError() { return std::string(); }

} // namespace tfcrt::cuda

TFCRT_EXPORT void *mgpuModuleLoad(void *, uint64_t) { return nullptr; }
TFCRT_EXPORT void *mgpuModuleLoadJIT(void *, int32_t) { return nullptr; }
TFCRT_EXPORT void mgpuModuleUnload(void *) {}
TFCRT_EXPORT void *mgpuModuleGetFunction(void *, const char *) {
  return nullptr;
}
TFCRT_EXPORT void mgpuLaunchKernel(void *, intptr_t, intptr_t, intptr_t,
                                   intptr_t, intptr_t, intptr_t, int32_t,
                                   void *, void **, void **, uint64_t) {}
TFCRT_EXPORT void *mgpuStreamCreate() { return nullptr; }
TFCRT_EXPORT void mgpuStreamDestroy(void *) {}
TFCRT_EXPORT void mgpuStreamSynchronize(void *) {}
TFCRT_EXPORT void mgpuStreamWaitEvent(void *, void *) {}
TFCRT_EXPORT void *mgpuEventCreate() { return nullptr; }
TFCRT_EXPORT void mgpuEventDestroy(void *) {}
TFCRT_EXPORT void mgpuEventSynchronize(void *) {}
TFCRT_EXPORT void mgpuEventRecord(void *, void *) {}
TFCRT_EXPORT void *mgpuMemAlloc(uint64_t, void *, bool) { return nullptr; }
TFCRT_EXPORT void mgpuMemFree(void *, void *) {}
TFCRT_EXPORT void mgpuMemcpy(void *, void *, uint64_t, void *) {}
TFCRT_EXPORT void mgpuMemset32(void *, uint32_t, uint64_t, void *) {}
TFCRT_EXPORT void mgpuMemset16(void *, uint16_t, uint64_t, void *) {}
TFCRT_EXPORT void mgpuMemHostRegister(void *, uint64_t) {}
TFCRT_EXPORT void mgpuMemHostUnregister(void *) {}
TFCRT_EXPORT void mgpuMemHostRegisterMemRef(int64_t, void *, int64_t) {}
TFCRT_EXPORT void mgpuMemHostUnregisterMemRef(int64_t, void *, int64_t) {}
TFCRT_EXPORT void mgpuSetDefaultDevice(int32_t) {}

// No GPU models run here, so the communication kernels never see device
// buffers: NCCL is never active.
#include "Dist.h"
namespace tfcrt::nccl {
bool active() { return false; }
void prepare() {}
bool allReduce(const float *, float *, int64_t, const char *) { return false; }
bool allGatherV(const float *, const int64_t *, float *, const char *) {
  return false;
}
bool send(const void *, int64_t, int, const char *) { return false; }
bool recv(void *, int64_t, int, const char *) { return false; }
} // namespace tfcrt::nccl
