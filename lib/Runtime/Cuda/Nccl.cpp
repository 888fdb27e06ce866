//===- Nccl.cpp - device buffers of the communication kernels over NCCL ---===//
//
// During a GPU model's run the communication kernels (Dist.cpp) receive
// device pointers; with more than one rank they go through NCCL.
// libnccl.so.2 is dlopen'ed at the first such call (TFC_NCCL_LIBRARY, else
// the loader's path; PyTorch's nvidia-nccl wheel puts it in
// site-packages/nvidia/nccl/lib), so the runtime loads without NCCL. The
// ranks agree first: NCCL is used only if every rank loaded it, otherwise
// all of them fall back to MPI, which cannot read device buffers (an error).
// The communicator is created once (ncclUniqueId broadcast over MPI) on our
// own stream. Each operation synchronizes the context first (the compiled
// code's kernels run on per-launch streams), enqueues, then polls
// cuStreamQuery and ncclCommGetAsyncError against the job's deadline; on a
// timeout the communicator is aborted (ncclCommAbort) and the failure is
// recorded like any other (tfc_dist_abort ends the job). NVLink multicast
// (NVLS) stays off unless NCCL_NVLS_ENABLE is already set.
//
// The few NCCL types and functions used are declared here (nccl.h's values,
// stable across NCCL 2.x), so building needs no NCCL headers.
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"
#include "CudaDriver.h"
#include "DeviceRun.h"
#include "Dist.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <mutex>
#include <vector>

namespace tfcrt::nccl {
namespace {

typedef struct {
  char internal[128];
} ncclUniqueId;
typedef struct ncclComm *ncclComm_t;
typedef int ncclResult_t; // ncclSuccess = 0, ncclInProgress = 7
constexpr int kNcclInt8 = 0, kNcclFloat32 = 7, kNcclSum = 0;

struct Api {
  ncclResult_t (*GetUniqueId)(ncclUniqueId *);
  ncclResult_t (*CommInitRank)(ncclComm_t *, int, ncclUniqueId, int);
  ncclResult_t (*CommAbort)(ncclComm_t);
  ncclResult_t (*CommGetAsyncError)(ncclComm_t, ncclResult_t *);
  const char *(*GetErrorString)(ncclResult_t);
  ncclResult_t (*AllReduce)(const void *, void *, size_t, int, int, ncclComm_t,
                            CUstream);
  ncclResult_t (*Broadcast)(const void *, void *, size_t, int, int, ncclComm_t,
                            CUstream);
  ncclResult_t (*Send)(const void *, size_t, int, int, ncclComm_t, CUstream);
  ncclResult_t (*Recv)(void *, size_t, int, int, ncclComm_t, CUstream);
  ncclResult_t (*GroupStart)();
  ncclResult_t (*GroupEnd)();
};

struct State {
  std::once_flag once;
  bool ok = false;
  Api api{};
  ncclComm_t comm = nullptr;
  CUstream stream = nullptr;
  const cuda::Driver *driver = nullptr;
};
State &state() {
  static State *s = new State();
  return *s;
}

bool loadApi(Api &a) {
  const char *path = std::getenv("TFC_NCCL_LIBRARY");
  void *lib =
      dlopen(path && *path ? path : "libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return false;
  bool ok = true;
  auto get = [&](auto &fn, const char *name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
        dlsym(lib, name));
    ok = ok && fn;
  };
  get(a.GetUniqueId, "ncclGetUniqueId");
  get(a.CommInitRank, "ncclCommInitRank");
  get(a.CommAbort, "ncclCommAbort");
  get(a.CommGetAsyncError, "ncclCommGetAsyncError");
  get(a.GetErrorString, "ncclGetErrorString");
  get(a.AllReduce, "ncclAllReduce");
  get(a.Broadcast, "ncclBroadcast");
  get(a.Send, "ncclSend");
  get(a.Recv, "ncclRecv");
  get(a.GroupStart, "ncclGroupStart");
  get(a.GroupEnd, "ncclGroupEnd");
  return ok;
}

/// Loads NCCL, agrees with the other ranks, creates the communicator.
void setUp(State &s) {
  setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0);
  s.driver = cuda::driver();
  bool mine = s.driver && loadApi(s.api) &&
              s.driver->cuStreamCreate(&s.stream, CU_STREAM_NON_BLOCKING) ==
                  CUDA_SUCCESS;
  float missing = mine ? 0.0f : 1.0f, total = 0;
  if (!dist::allReduce(&missing, &total, 1, "NCCL set-up") || total != 0)
    return; // some rank has no NCCL: every rank uses MPI
  ncclUniqueId id{};
  if (dist::rank() == 0 && s.api.GetUniqueId(&id) != 0)
    std::memset(&id, 0, sizeof(id)); // the others then fail to connect
  if (!dist::broadcast(&id, sizeof(id), 0, "NCCL set-up"))
    return;
  ncclResult_t r = s.api.CommInitRank(&s.comm, dist::size(), id, dist::rank());
  if (r != 0) {
    dist::fail("NCCL set-up",
               std::string("ncclCommInitRank: ") + s.api.GetErrorString(r));
    return;
  }
  s.ok = true;
}

const char *ncclText(ncclResult_t r) {
  return state().api.GetErrorString ? state().api.GetErrorString(r) : "?";
}

/// Context synchronized before an operation: the compiled code's kernels
/// and managed-memory writes are done.
bool before(const char *what) {
  cuda::forgetLaunchWrites(); // NCCL's kernels: writes unknown
  State &s = state();
  if (dist::failed())
    return false;
  // This thread's context (the launcher makes it current per thread).
  const cuda::Driver *d = cuda::driver();
  if (!d) {
    dist::fail(what, "no CUDA context for the NCCL call");
    return false;
  }
  // The run's launches are asynchronous on the model's stream: wait for
  // them (multi-rank runs use no CUDA graphs, DeviceRun.cpp).
  if (CUstream rs = cuda::runStream())
    if (d->cuStreamSynchronize(rs) != CUDA_SUCCESS) {
      dist::fail(what, "cuStreamSynchronize failed before the NCCL call");
      return false;
    }
  CUresult r = d->cuCtxSynchronize();
  if (r == CUDA_ERROR_CONTEXT_IS_DESTROYED) {
    // Seen on H100 with CUDA 13 / NCCL 2.28 once NCCL's CUDA runtime has
    // initialized: cuCtxSynchronize on our (working) primary context reports
    // it destroyed while launches on it keep working. Nothing needs it: the
    // compiled code's launches are synchronous (one stream each, synchronized
    // before it is destroyed), so the inputs are complete here.
    if (std::getenv("TFC_DEBUG_NCCL"))
      std::fprintf(stderr, "tfc: nccl: cuCtxSynchronize: %d (ignored)\n",
                   (int)r);
    r = CUDA_SUCCESS;
  }
  if (r != CUDA_SUCCESS) {
    dist::fail(what, std::string("cuCtxSynchronize failed before the NCCL "
                                 "call: ") +
                         resultName(d, r));
    return false;
  }
  return true;
}

/// Waits for the enqueued NCCL work against the deadline.
bool after(ncclResult_t enqueued, const char *what) {
  State &s = state();
  if (enqueued != 0 && enqueued != 7) {
    dist::fail(what, std::string("NCCL: ") + ncclText(enqueued));
    return false;
  }
  double deadline = dist::deadline();
  for (long polls = 0;; ++polls) {
    CUresult q = s.driver->cuStreamQuery(s.stream);
    if (q == CUDA_SUCCESS)
      return true;
    if (q != CUDA_ERROR_NOT_READY) {
      dist::fail(what, "cuStreamQuery failed on the NCCL stream");
      return false;
    }
    ncclResult_t async = 0;
    if (s.api.CommGetAsyncError(s.comm, &async) == 0 && async != 0 &&
        async != 7) {
      s.api.CommAbort(s.comm);
      dist::fail(what, std::string("NCCL: ") + ncclText(async));
      return false;
    }
    if (dist::now() > deadline) {
      s.api.CommAbort(s.comm); // unblocks the stream; the job must end
      dist::failTimeout(what);
      return false;
    }
    if (polls > 200) {
      timespec ts{0, 20000};
      nanosleep(&ts, nullptr);
    }
  }
}

} // namespace

bool active() {
  if (!cuda::deviceAllocsActive() || dist::size() < 2)
    return false;
  State &s = state();
  std::call_once(s.once, [&] { setUp(s); });
  return s.ok;
}

void prepare() {
  if (dist::size() < 2)
    return;
  State &s = state();
  std::call_once(s.once, [&] { setUp(s); });
}

bool allReduce(const float *in, float *out, int64_t n, const char *what) {
  State &s = state();
  if (!before(what))
    return false;
  return after(s.api.AllReduce(in, out, static_cast<size_t>(n), kNcclFloat32,
                               kNcclSum, s.comm, s.stream),
               what);
}

bool allGatherV(const float *in, const int64_t *counts, float *out,
                const char *what) {
  // ncclAllGather needs equal counts: one broadcast per rank, grouped.
  State &s = state();
  if (!before(what))
    return false;
  ncclResult_t r = s.api.GroupStart();
  int64_t at = 0;
  for (int root = 0; root < dist::size() && r == 0; ++root) {
    r = s.api.Broadcast(root == dist::rank() ? in : out + at, out + at,
                        static_cast<size_t>(counts[root]), kNcclFloat32, root,
                        s.comm, s.stream);
    at += counts[root];
  }
  ncclResult_t end = s.api.GroupEnd();
  return after(r != 0 ? r : end, what);
}

bool send(const void *buf, int64_t bytes, int peer, const char *what) {
  State &s = state();
  if (!before(what))
    return false;
  return after(s.api.Send(buf, static_cast<size_t>(bytes), kNcclInt8, peer,
                          s.comm, s.stream),
               what);
}

bool recv(void *buf, int64_t bytes, int peer, const char *what) {
  State &s = state();
  if (!before(what))
    return false;
  return after(s.api.Recv(buf, static_cast<size_t>(bytes), kNcclInt8, peer,
                          s.comm, s.stream),
               what);
}

} // namespace tfcrt::nccl
