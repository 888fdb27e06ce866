//===- Dist.cpp - tfc_dist_* and the communication kernels ----------------===//
//
// Without mpirun in the environment the job is one rank and nothing is
// loaded. Under mpirun, tfc_dist_init dlopens libtfcrt_mpi.so (DistMpi.cpp,
// the interface in DistBackend.h) so that single-process users never need
// MPI. The kernels of tfc_kernels.h ("Communication") check their memrefs,
// then move host buffers through the backend, or device buffers through
// NCCL during a GPU model's run (Cuda/Nccl.cpp).
//
//===----------------------------------------------------------------------===//

#include "Dist.h"
#include "DistBackend.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <limits>
#include <map>
#include <mutex>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace tfcrt;

namespace {

struct State {
  std::mutex mutex;
  const tfcrt_dist_backend *backend = nullptr;
  int rank = 0, size = 1;
  bool initialized = false;
  double timeout = -1; // < 0: not set by tfc_dist_set_timeout
  std::atomic<bool> failed{false};
  std::string error;
  // Headers received by recv_dims, waiting for recv_f32: (peer, tag) ->
  // {rank, sizes...}.
  std::map<std::pair<int64_t, int64_t>, std::vector<int64_t>> pendingHeaders;
};
State &state() {
  static State *s = new State(); // never destroyed: used until exit
  return *s;
}

const char *envAny(std::initializer_list<const char *> names) {
  for (const char *n : names)
    if (const char *v = std::getenv(n))
      if (*v)
        return v;
  return nullptr;
}

bool launchedByMpirun() {
  return envAny({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) != nullptr;
}

/// libtfcrt_mpi.so: TFC_MPI_LIBRARY, next to this library, the build tree,
/// then the loader's search path.
void *loadBackendLibrary(std::string &why) {
  std::vector<std::string> tries;
  if (const char *e = std::getenv("TFC_MPI_LIBRARY"))
    tries.push_back(e);
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&tfc_dist_init), &info) &&
      info.dli_fname) {
    std::string self = info.dli_fname;
    size_t slash = self.rfind('/');
    if (slash != std::string::npos)
      tries.push_back(self.substr(0, slash + 1) + "libtfcrt_mpi.so");
  }
#ifdef TFCRT_MPI_BUILD_PATH
  tries.push_back(TFCRT_MPI_BUILD_PATH);
#endif
  tries.push_back("libtfcrt_mpi.so");
  for (const std::string &path : tries) {
    // RTLD_GLOBAL: OpenMPI's own plugins need libmpi's symbols.
    if (void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL))
      return lib;
    const char *e = dlerror();
    why += "\n  " + path + ": " + (e ? e : "?");
  }
  return nullptr;
}

constexpr size_t kErrLen = 512;

/// Runs a backend call: false after recording its failure.
template <typename F> bool call(const char *what, F &&f) {
  State &s = state();
  if (s.failed)
    return false;
  char err[kErrLen] = {};
  int rc = f(dist::deadline(), err, sizeof(err));
  if (rc == 0)
    return true;
  if (rc == TFCRT_DIST_TIMEOUT)
    dist::failTimeout(what);
  else
    dist::fail(what, err);
  return false;
}

} // namespace

//===-- internal API ------------------------------------------------------===//

int dist::rank() { return state().rank; }
int dist::size() { return state().size; }

int dist::localRank() {
  const char *v = envAny({"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                          "PMI_LOCAL_RANK", "SLURM_LOCALID"});
  return v ? std::atoi(v) : 0;
}

bool dist::launchedButNotInitialized() {
  return launchedByMpirun() && !state().initialized;
}

double dist::timeoutSeconds() {
  State &s = state();
  if (s.timeout > 0)
    return s.timeout;
  if (const char *e = std::getenv("TFC_DIST_TIMEOUT")) {
    double v = std::atof(e);
    if (v > 0)
      return v;
  }
  return 60.0;
}

double dist::now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) +
         1e-9 * static_cast<double>(ts.tv_nsec);
}

double dist::deadline() { return now() + timeoutSeconds(); }

bool dist::failed() { return state().failed; }

std::string dist::error() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.error;
}

void dist::fail(const char *what, const std::string &msg) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.failed)
    return;
  s.error = format("rank %d: %s: %s", s.rank, what, msg.c_str());
  s.failed = true;
}

void dist::failTimeout(const char *what) {
  fail(what, format("no answer from the other ranks within %g s (a rank "
                    "died or hangs; TFC_DIST_TIMEOUT sets the limit)",
                    timeoutSeconds()));
}

tfc_status dist::commStatus() { return setError(TFC_ERR_COMM, error()); }

bool dist::allReduce(const float *in, float *out, int64_t n, const char *what) {
  State &s = state();
  if (s.failed)
    return false;
  if (s.size == 1) {
    if (in != out && n > 0)
      std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
    return true;
  }
  return call(what, [&](double d, char *e, size_t l) {
    return s.backend->all_reduce_f32(in, out, n, d, e, l);
  });
}

bool dist::allGatherCounts(int64_t count, int64_t *counts, const char *what) {
  State &s = state();
  if (s.failed)
    return false;
  if (s.size == 1) {
    counts[0] = count;
    return true;
  }
  return call(what, [&](double d, char *e, size_t l) {
    return s.backend->all_gather_i64(count, counts, d, e, l);
  });
}

bool dist::allGatherV(const float *in, const int64_t *counts, float *out,
                      const char *what) {
  State &s = state();
  if (s.failed)
    return false;
  if (s.size == 1) {
    if (in != out && counts[0] > 0)
      std::memmove(out, in, static_cast<size_t>(counts[0]) * sizeof(float));
    return true;
  }
  return call(what, [&](double d, char *e, size_t l) {
    return s.backend->all_gather_v_f32(in, counts, out, d, e, l);
  });
}

/// False (after recording why) unless `peer` is another rank of the job
/// and no earlier call failed.
static bool usablePeer(int peer, const char *what) {
  State &s = state();
  if (s.failed)
    return false;
  if (peer < 0 || peer >= s.size || peer == s.rank) {
    dist::fail(what, format("peer %d is not another rank of this %d-rank job",
                            peer, s.size));
    return false;
  }
  return true;
}

bool dist::send(const void *buf, int64_t bytes, int peer, int tag,
                const char *what) {
  State &s = state();
  if (!usablePeer(peer, what))
    return false;
  return call(what, [&](double d, char *e, size_t l) {
    return s.backend->send(buf, bytes, peer, tag, d, e, l);
  });
}

bool dist::recv(void *buf, int64_t bytes, int peer, int tag, const char *what) {
  State &s = state();
  if (!usablePeer(peer, what))
    return false;
  return call(what, [&](double d, char *e, size_t l) {
    return s.backend->recv(buf, bytes, peer, tag, d, e, l);
  });
}

bool dist::broadcast(void *buf, int64_t bytes, int root, const char *what) {
  State &s = state();
  if (s.failed)
    return false;
  if (s.size == 1)
    return true;
  return call(what, [&](double d, char *e, size_t l) {
    return s.backend->broadcast(buf, bytes, root, d, e, l);
  });
}

//===-- C API -------------------------------------------------------------===//

TFCRT_EXPORT tfc_status tfc_dist_init(void) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.initialized || !launchedByMpirun()) {
    clearError();
    return TFC_OK; // no mpirun: one rank
  }
  std::string why;
  void *lib = loadBackendLibrary(why);
  if (!lib)
    return setError(TFC_ERR_UNSUPPORTED,
                    "tfc_dist_init: this process was started by mpirun but "
                    "the MPI backend libtfcrt_mpi.so cannot be loaded (set "
                    "TFC_MPI_LIBRARY; libtfcrt must be built where CMake "
                    "finds MPI):" +
                        why);
  auto get = reinterpret_cast<tfcrt_dist_backend_fn>(
      dlsym(lib, "tfcrt_dist_backend_v1"));
  const tfcrt_dist_backend *b = get ? get() : nullptr;
  if (!b || b->version != TFCRT_DIST_BACKEND_VERSION)
    return setError(TFC_ERR_UNSUPPORTED,
                    "tfc_dist_init: libtfcrt_mpi.so does not match this "
                    "libtfcrt (no tfcrt_dist_backend_v1 of version 1)");
  char err[kErrLen] = {};
  int rank = 0, size = 1;
  if (b->init(&rank, &size, err, sizeof(err)) != 0)
    return setError(TFC_ERR_COMM, std::string("tfc_dist_init: ") + err);
  s.backend = b;
  s.rank = rank;
  s.size = size;
  s.initialized = true;
  clearError();
  return TFC_OK;
}

TFCRT_EXPORT int tfc_dist_rank(void) { return state().rank; }
TFCRT_EXPORT int tfc_dist_size(void) { return state().size; }

TFCRT_EXPORT tfc_status tfc_dist_finalize(void) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.initialized)
    return TFC_OK;
  s.initialized = false;
  int rc = s.backend->finalize();
  s.rank = 0;
  s.size = 1;
  if (rc != 0)
    return setError(TFC_ERR_COMM, "tfc_dist_finalize: MPI_Finalize failed");
  return TFC_OK;
}

TFCRT_EXPORT void tfc_dist_abort(int code) {
  State &s = state();
  if (s.initialized && s.backend)
    s.backend->abort_job(code);
  std::exit(code); // one rank, or MPI_Abort returned
}

TFCRT_EXPORT void tfc_dist_set_timeout(double seconds) {
  state().timeout = seconds > 0 ? seconds : -1;
}

//===-- communication kernels ---------------------------------------------===//

namespace {

/// A contiguous f32 buffer described by an unranked memref.
struct View {
  float *data = nullptr;
  int64_t rank = 0;
  int64_t sizes[TFC_MAX_RANK] = {};
  int64_t count = 0;
};

bool viewOf(const tfcrt_unranked_memref *m, const char *what, View &v) {
  if (!m || !m->descriptor || m->rank < 0 || m->rank > TFC_MAX_RANK) {
    dist::fail(what, "bad memref (null, or rank above 8)");
    return false;
  }
  const int64_t *d = static_cast<const int64_t *>(m->descriptor);
  float *aligned;
  std::memcpy(&aligned, &d[1], sizeof(aligned));
  v.rank = m->rank;
  v.data = aligned + d[2];
  v.count = 1;
  int64_t expect = 1;
  bool contiguous = true;
  for (int64_t i = v.rank - 1; i >= 0; --i) {
    v.sizes[i] = d[3 + i];
    if (v.sizes[i] != 1 && d[3 + v.rank + i] != expect)
      contiguous = false;
    expect *= v.sizes[i];
    v.count *= v.sizes[i];
  }
  if (!contiguous) {
    dist::fail(what, "the buffer is not contiguous");
    return false;
  }
  return true;
}

void fillNaN(const View &v) {
  for (int64_t i = 0; i < v.count; ++i)
    v.data[i] = std::numeric_limits<float>::quiet_NaN();
}

/// MPI tags of a user tag: header and data messages.
int headerTag(int64_t tag) { return static_cast<int>((tag & 0x3fff) * 2); }
int dataTag(int64_t tag) { return headerTag(tag) + 1; }
constexpr int kHeaderWords = 1 + TFC_MAX_RANK;

/// Fault injection for tests (test/e2e/run_partitioned.py --kill):
/// TFC_DIST_FAULT=kill:R:N kills rank R (SIGKILL) at its N-th communication
/// call from compiled code; hang:R:N makes it stop answering instead. Read
/// once; a malformed value is ignored.
void injectFault() {
  static int mode = -1, faultRank = -1;
  static long target = 0, calls = 0;
  if (mode < 0) {
    mode = 0;
    if (const char *e = std::getenv("TFC_DIST_FAULT")) {
      char kind[8] = {};
      if (std::sscanf(e, "%7[a-z]:%d:%ld", kind, &faultRank, &target) == 3)
        mode = std::strcmp(kind, "kill") == 0   ? 1
               : std::strcmp(kind, "hang") == 0 ? 2
                                                : 0;
    }
  }
  if (!mode || state().rank != faultRank || ++calls != target)
    return;
  std::fprintf(stderr, "tfc: rank %d: TFC_DIST_FAULT: %s now\n", faultRank,
               mode == 1 ? "killed" : "hanging");
  std::fflush(stderr);
  if (mode == 1)
    std::raise(SIGKILL);
  for (;;)
    pause();
}

} // namespace

TFCRT_EXPORT void
_mlir_ciface_tfcrt_all_reduce_f32(tfcrt_unranked_memref *in,
                                  tfcrt_unranked_memref *out) {
  injectFault();
  const char *what = "all_reduce";
  View i, o;
  if (!viewOf(out, what, o))
    return;
  bool ok = viewOf(in, what, i);
  if (ok && i.count != o.count) {
    dist::fail(what, format("input has %lld elements, output %lld",
                            (long long)i.count, (long long)o.count));
    ok = false;
  }
  if (ok)
    ok = nccl::active() ? nccl::allReduce(i.data, o.data, i.count, what)
                        : dist::allReduce(i.data, o.data, i.count, what);
  if (!ok)
    fillNaN(o);
}

TFCRT_EXPORT void
_mlir_ciface_tfcrt_all_gather_f32(tfcrt_unranked_memref *in,
                                  tfcrt_unranked_memref *out) {
  injectFault();
  const char *what = "all_gather";
  View i, o;
  if (!viewOf(out, what, o))
    return;
  bool ok = viewOf(in, what, i);
  std::vector<int64_t> counts(static_cast<size_t>(dist::size()), 0);
  if (ok)
    ok = dist::allGatherCounts(i.count, counts.data(), what);
  if (ok) {
    int64_t total = 0;
    for (int64_t c : counts)
      total += c;
    if (total != o.count) {
      dist::fail(what, format("the ranks contribute %lld elements but the "
                              "output holds %lld",
                              (long long)total, (long long)o.count));
      ok = false;
    }
  }
  if (ok)
    ok = nccl::active() ? nccl::allGatherV(i.data, counts.data(), o.data, what)
                        : dist::allGatherV(i.data, counts.data(), o.data, what);
  if (!ok)
    fillNaN(o);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_send_f32(tfcrt_unranked_memref *in,
                                              int64_t peer, int64_t tag) {
  injectFault();
  const char *what = "send";
  View i;
  if (dist::failed() || !viewOf(in, what, i))
    return;
  int64_t header[kHeaderWords] = {i.rank};
  for (int64_t d = 0; d < i.rank; ++d)
    header[1 + d] = i.sizes[d];
  int p = static_cast<int>(peer);
  if (!dist::send(header, sizeof(header), p, headerTag(tag), what))
    return;
  int64_t bytes = i.count * static_cast<int64_t>(sizeof(float));
  if (nccl::active())
    nccl::send(i.data, bytes, p, what);
  else
    dist::send(i.data, bytes, p, dataTag(tag), what);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_recv_dims(tfcrt_memref1_i64 *dims,
                                               int64_t peer, int64_t tag) {
  injectFault();
  const char *what = "recv";
  if (!dims)
    return dist::fail(what, "dims memref is null");
  int64_t n = dims->sizes[0], stride = dims->strides[0];
  int64_t *out = dims->aligned + dims->offset;
  auto fillZero = [&] { // dims of 0: the caller allocates nothing
    for (int64_t d = 0; d < n; ++d)
      out[d * stride] = 0;
  };
  std::vector<int64_t> header(kHeaderWords, 0);
  if (!dist::recv(header.data(), kHeaderWords * sizeof(int64_t),
                  static_cast<int>(peer), headerTag(tag), what))
    return fillZero();
  if (header[0] != n) {
    dist::fail(what,
               format("rank %lld sent a rank-%lld tensor, the receiver "
                      "expects rank %lld",
                      (long long)peer, (long long)header[0], (long long)n));
    return fillZero();
  }
  for (int64_t d = 0; d < n; ++d)
    out[d * stride] = header[1 + d];
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.pendingHeaders[{peer, tag}] = std::move(header);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_recv_f32(tfcrt_unranked_memref *out,
                                              int64_t peer, int64_t tag) {
  injectFault();
  const char *what = "recv";
  View o;
  if (!viewOf(out, what, o))
    return;
  std::vector<int64_t> header;
  {
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.pendingHeaders.find({peer, tag});
    if (it != s.pendingHeaders.end()) {
      header = std::move(it->second);
      s.pendingHeaders.erase(it);
    }
  }
  if (dist::failed())
    return fillNaN(o);
  if (header.empty()) { // recv_dims was not called: take the header now
    header.assign(kHeaderWords, 0);
    if (!dist::recv(header.data(), kHeaderWords * sizeof(int64_t),
                    static_cast<int>(peer), headerTag(tag), what))
      return fillNaN(o);
  }
  int64_t count = 1;
  for (int64_t d = 0; d < header[0]; ++d)
    count *= header[1 + d];
  if (count != o.count) {
    dist::fail(what,
               format("rank %lld sent %lld elements, the buffer holds "
                      "%lld",
                      (long long)peer, (long long)count, (long long)o.count));
    return fillNaN(o);
  }
  int64_t bytes = count * static_cast<int64_t>(sizeof(float));
  bool ok = nccl::active()
                ? nccl::recv(o.data, bytes, static_cast<int>(peer), what)
                : dist::recv(o.data, bytes, static_cast<int>(peer),
                             dataTag(tag), what);
  if (!ok)
    fillNaN(o);
}
