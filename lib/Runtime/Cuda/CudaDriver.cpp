//===- CudaDriver.cpp - driver loading, device, errors --------------------===//

#include "CudaDriver.h"
#include "Cuda.h"
#include "Dist.h"

#include <atomic>
#include <dlfcn.h>
#include <mutex>

namespace tfcrt::cuda {
namespace {

struct ThreadState {
  bool failed = false;
  std::string error;
  bool contextCurrent = false;
};
thread_local ThreadState tls;

struct LoadState {
  std::once_flag once;
  Driver driver;
  bool ok = false;
  std::string error; // why loading failed
  std::string name;
};
LoadState &loadState() {
  static LoadState *s = new LoadState(); // never destroyed (see Allocator)
  return *s;
}

struct ModuleErrors {
  std::mutex mutex;
  std::atomic<uint64_t> count{0};
  std::string first;
};
ModuleErrors &moduleErrors() {
  static ModuleErrors *s = new ModuleErrors();
  return *s;
}

std::string resultText(const Driver &d, CUresult r) {
  const char *name = nullptr, *text = nullptr;
  if (d.cuGetErrorName)
    d.cuGetErrorName(r, &name);
  if (d.cuGetErrorString)
    d.cuGetErrorString(r, &text);
  return format("%s (%s)", name ? name : format("CUresult %d", (int)r).c_str(),
                text ? text : "no description");
}

void load(LoadState &s) {
  Driver &d = s.driver;
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    s.error = format("cannot load the CUDA driver (libcuda.so.1): %s",
                     why ? why : "unknown reason");
    return;
  }
  using GetProc = CUresult (*)(const char *, void **, int, cuuint64_t,
                               CUdriverProcAddressQueryResult *);
  auto getProc = reinterpret_cast<GetProc>(dlsym(lib, "cuGetProcAddress_v2"));
  if (!getProc) {
    s.error = "the CUDA driver is too old: it has no cuGetProcAddress_v2 "
              "(CUDA 12 or newer is needed)";
    return;
  }
  bool missing = false;
  auto resolve = [&](const char *name, void **slot) {
    CUdriverProcAddressQueryResult found;
    CUresult r =
        getProc(name, slot, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT, &found);
    if (r != CUDA_SUCCESS || found != CU_GET_PROC_ADDRESS_SUCCESS || !*slot) {
      *slot = nullptr;
      if (!missing)
        s.error = format("the CUDA driver lacks %s (for CUDA %d)", name,
                         CUDA_VERSION);
      missing = true;
    }
  };
#define TFC_CUDA_RESOLVE(fn) resolve(#fn, reinterpret_cast<void **>(&d.fn));
  TFC_CUDA_DRIVER_FUNCTIONS(TFC_CUDA_RESOLVE)
#undef TFC_CUDA_RESOLVE
  if (missing)
    return;
  auto fail = [&](CUresult r, const char *what) {
    s.error = format("%s failed: %s", what, resultText(d, r).c_str());
  };
  CUresult r = d.cuInit(0);
  if (r != CUDA_SUCCESS)
    return fail(r, "cuInit");
  int count = 0;
  if ((r = d.cuDeviceGetCount(&count)) != CUDA_SUCCESS)
    return fail(r, "cuDeviceGetCount");
  if (count == 0) {
    s.error = "no CUDA device";
    return;
  }
  // One GPU per rank of a multi-rank job on this host (tfc_dist_init).
  if ((r = d.cuDeviceGet(&d.device, dist::localRank() % count)) !=
      CUDA_SUCCESS)
    return fail(r, "cuDeviceGet");
  if ((r = d.cuDevicePrimaryCtxRetain(&d.context, d.device)) != CUDA_SUCCESS)
    return fail(r, "cuDevicePrimaryCtxRetain");
  char name[256] = {};
  int major = 0, minor = 0;
  if ((r = d.cuDeviceGetName(name, sizeof(name) - 1, d.device)) != CUDA_SUCCESS)
    return fail(r, "cuDeviceGetName");
  if ((r = d.cuDeviceGetAttribute(&major,
                                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                                  d.device)) != CUDA_SUCCESS ||
      (r = d.cuDeviceGetAttribute(&minor,
                                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                                  d.device)) != CUDA_SUCCESS)
    return fail(r, "cuDeviceGetAttribute(COMPUTE_CAPABILITY)");
  s.name = format("%s (sm_%d%d)", name, major, minor);
  s.ok = true;
}

} // namespace

const Driver *driver() {
  LoadState &s = loadState();
  std::call_once(s.once, [&] { load(s); });
  if (!s.ok) {
    recordError(s.error);
    return nullptr;
  }
  if (!tls.contextCurrent) {
    if (!check(s.driver.cuCtxSetCurrent(s.driver.context), "cuCtxSetCurrent"))
      return nullptr;
    tls.contextCurrent = true;
  }
  return &s.driver;
}

bool check(CUresult result, const char *what, const std::string &detail) {
  if (result == CUDA_SUCCESS)
    return true;
  recordError(format("%s%s%s failed: %s", what, detail.empty() ? "" : " ",
                     detail.c_str(),
                     resultText(loadState().driver, result).c_str()));
  return false;
}

void recordError(const std::string &msg) {
  if (tls.failed)
    return;
  tls.failed = true;
  tls.error = "CUDA: " + msg;
}

void recordModuleLoadError(const std::string &msg) {
  recordError(msg);
  ModuleErrors &m = moduleErrors();
  std::lock_guard<std::mutex> lock(m.mutex);
  if (m.count.fetch_add(1) == 0)
    m.first = "CUDA: " + msg;
}

bool available() { return true; }

tfc_status ensureDevice(std::string &error) {
  LoadState &s = loadState();
  std::call_once(s.once, [&] { load(s); });
  if (!s.ok) {
    error = "this model runs on a CUDA GPU, but " + s.error;
    return TFC_ERR_UNSUPPORTED;
  }
  return TFC_OK;
}

std::string deviceName() {
  LoadState &s = loadState();
  return s.ok ? s.name : std::string();
}

bool hasError() { return tls.failed; }
std::string error() { return tls.error; }
void clearError() {
  tls.failed = false;
  tls.error.clear();
}

uint64_t moduleLoadFailures() { return moduleErrors().count.load(); }
std::string firstModuleLoadError() {
  ModuleErrors &m = moduleErrors();
  std::lock_guard<std::mutex> lock(m.mutex);
  return m.first;
}

const char *resultName(const Driver *d, CUresult r) {
  const char *name = nullptr;
  if (d && d->cuGetErrorName)
    d->cuGetErrorName(r, &name);
  return name ? name : "?";
}

} // namespace tfcrt::cuda
