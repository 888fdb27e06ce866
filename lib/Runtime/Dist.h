//===- Dist.h - multi-rank jobs inside libtfcrt ------------------*- C++ -*-===//
//
// The state of the job (rank, size, the loaded MPI backend, the timeout) and
// the sticky communication error. Dist.cpp implements the tfc_dist_* API and
// the communication kernels of tfc_kernels.h; DistRun.cpp runs partitioned
// and data-parallel models; Cuda/Nccl*.cpp moves device buffers.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_DIST_H
#define TFC_LIB_RUNTIME_DIST_H

#include "Internal.h"

#include <cstdint>
#include <string>

namespace tfcrt::dist {

int rank();
int size();
/// Local rank on this host (OMPI_COMM_WORLD_LOCAL_RANK, ...), 0 if unknown.
int localRank();
/// True when the environment says mpirun started us but tfc_dist_init has
/// not run (or failed).
bool launchedButNotInitialized();
double timeoutSeconds();
/// CLOCK_MONOTONIC seconds.
double now();
/// now() + timeoutSeconds().
double deadline();

/// The first communication failure of this process (sticky: the ranks are
/// out of step after one, so every later collective is a no-op and every
/// later run fails with it).
bool failed();
std::string error();
/// Records "rank R: <what>: <msg>" unless a failure is already recorded.
void fail(const char *what, const std::string &msg);
/// Records a timeout of `what` in the standard words.
void failTimeout(const char *what);
/// TFC_ERR_COMM with error() as the message.
tfc_status commStatus();

/// Host-memory operations over the backend (size 1: local copies). Each
/// returns false after recording the failure; no-ops once failed().
bool allReduce(const float *in, float *out, int64_t n, const char *what);
bool allGatherCounts(int64_t count, int64_t *counts, const char *what);
bool allGatherV(const float *in, const int64_t *counts, float *out,
                const char *what);
bool send(const void *buf, int64_t bytes, int peer, int tag,
          const char *what);
bool recv(void *buf, int64_t bytes, int peer, int tag, const char *what);
bool broadcast(void *buf, int64_t bytes, int root, const char *what);

} // namespace tfcrt::dist

namespace tfcrt::nccl {
/// True iff the calling thread runs a GPU model and NCCL is usable: the
/// communication kernels' buffers are then device memory and go
/// through NCCL. Without NCCL they would go through MPI, which cannot read
/// device memory: multi-rank GPU runs need NCCL.
bool active();
/// Sets NCCL up (a collective over every rank: they agree whether all have
/// NCCL, then share the unique id) if it is not yet. Called by every rank
/// before it runs its part of a GPU model, because the first communication
/// call is not the same on every rank (a pipeline stage waits in a recv
/// while its predecessor sends), so setting up there could deadlock.
void prepare();
/// As dist:: (counts / bytes of device buffers); false after recording the
/// failure with dist::fail.
bool allReduce(const float *in, float *out, int64_t n, const char *what);
bool allGatherV(const float *in, const int64_t *counts, float *out,
                const char *what);
bool send(const void *buf, int64_t bytes, int peer, const char *what);
bool recv(void *buf, int64_t bytes, int peer, const char *what);
} // namespace tfcrt::nccl

#endif // TFC_LIB_RUNTIME_DIST_H
