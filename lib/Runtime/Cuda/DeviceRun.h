//===- DeviceRun.h - the current GPU run, for the CUDA files ----*- C++ -*-===//
//
// Only the TFC_ENABLE_CUDA=ON files include this: what the mgpu* wrappers and
// the GEMMs need from the run in progress on the calling thread (Cuda.h's
// beginRun .. endRun).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_DEVICERUN_H
#define TFC_LIB_RUNTIME_CUDA_DEVICERUN_H

#include <cuda.h>
#include <cstdint>

namespace tfcrt::cuda {

/// The model's stream while a run is in progress on this thread, else null.
CUstream runStream();
/// True while the host code of a run executes only to rebuild the output
/// descriptors of a replayed CUDA graph: no GPU work may be enqueued.
bool replaying();
/// True while the run's stream is being captured into a CUDA graph.
bool capturing();
/// TFC_CUDA_SYNC=1: synchronize after every launch of an eager run (to name
/// the kernel that faulted).
bool syncEachLaunch();
/// An environment switch read once by the caller (keep it in a static):
/// unset, `dflt`; a default-on switch is off only when set to "0", a
/// default-off one on only when set to "1".
bool envSwitch(const char *name, bool dflt);
/// A three-way environment choice read once by the caller: 0 when set to
/// "0", 1 when set to "1", `other` otherwise (unset or anything else).
int envChoice(const char *name, int other);
/// An integer environment knob read once by the caller: std::atoi of the
/// value when set and not empty (the caller clamps it), `dflt` otherwise.
int envInt(const char *name, int dflt);
/// True when the run's model asked for programmatic dependent launch
/// (TFC_MODEL_FLAG_CUDA_PDL: its kernels begin with griddepcontrol.wait) and
/// the run is a decode step (TFC_CUDA_PDL=1: any run; =0: none).
bool pdlLaunches();
struct Driver;
/// The device's multiprocessors (at least 1; 1 when the query fails).
int multiprocessors(const Driver *d);
/// cuLaunchKernel, or cuLaunchKernelEx with `pdl` (programmatic stream
/// serialization allowed: the kernel must wait with griddepcontrol before
/// it reads what earlier work in the stream wrote) and / or `clusterX`
/// (thread block clusters of clusterX x 1 x 1 blocks; gx a multiple of it).
CUresult launchKernel(const Driver *d, CUfunction f, unsigned gx, unsigned gy,
                      unsigned gz, unsigned bx, unsigned by, unsigned bz,
                      unsigned smem, CUstream stream, void **params,
                      void **extra, bool pdl, unsigned clusterX = 0);
/// The bytes [p, p + bytes) that the kernel just launched (on this thread's
/// run) may write: launchKernel forgets the previous launch's record, the
/// launchers of our own kernels (GEMV, attention) note it after launching.
void noteLaunchWrites(const void *p, uint64_t bytes);
/// After noteLaunchWrites: the launch also writes [p, p + bytes) (a few
/// spans are kept; more make the record unknown).
void noteLaunchAlsoWrites(const void *p, uint64_t bytes);
/// False when the last kernel launched on this thread is known not to write
/// [p, p + bytes) (noteLaunchWrites), true otherwise. A kernel launched with
/// PDL may read such bytes before its griddepcontrol.wait when they were
/// written by earlier work: every kernel of ours waits before it lets the
/// next one start, so when a kernel starts, all work before the kernel just
/// before it has finished (and non-kernel work, which takes no part in the
/// programmatic launch, finished before the next kernel started).
bool lastLaunchMayWrite(const void *p, uint64_t bytes);
/// Work enqueued other than through launchKernel (cuBLASLt, copies): what
/// the stream's last work writes is unknown again.
void forgetLaunchWrites();
/// The bytes a strided view of `rank` dimensions spans from its first
/// element (0 when it has no elements).
uint64_t spanBytes(const int64_t *sizes, const int64_t *strides, int rank,
                   uint64_t elemBytes);
enum class Work { Launch, Gemm, Copy };
/// After one of the runtime's own launches on the run's stream: counts it
/// (count) and, under TFC_CUDA_SYNC=1, synchronizes outside a capture,
/// naming the kernel by `what` should it have failed.
void countLaunch(int64_t grid, int64_t block, const char *what);
/// Counts enqueued work for TFC_CUDA_STATS; with TFC_CUDA_KTIME=1 (eager
/// runs) also synchronizes and times it (grid / block: a launch's blocks and
/// threads per block), printed at the end of the run.
void count(Work w, int64_t grid = 0, int64_t block = 0);
/// The model's cuBLASLt workspace (allocated at load).
CUdeviceptr gemmWorkspace(uint64_t &bytes);
/// The model's scratch for the decode attention's split keys (allocated at
/// load, its counters zeroed; AttentionLaunch.h's AttnScratch).
CUdeviceptr attnScratch(uint64_t &bytes);
/// A device copy of a constant in host memory (uploaded at its first use,
/// kept with the model), or 0 with the error recorded.
CUdeviceptr deviceConstant(const void *host, uint64_t bytes);

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_DEVICERUN_H
