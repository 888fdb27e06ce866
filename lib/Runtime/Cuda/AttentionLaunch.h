//===- AttentionLaunch.h - the fused GPU attention, host side ---*- C++ -*-===//
//
// GpuAttention.cpp (every build) routes tfcrt_gpu_attention_* here during a
// GPU run; AttentionLaunch.cpp (TFC_ENABLE_CUDA=ON) loads the embedded
// kernels and launches them, NoCuda.cpp has a stub. Tests launch directly
// with launchAttention on a stream of their own.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_CUDA_ATTENTIONLAUNCH_H
#define TFC_LIB_RUNTIME_CUDA_ATTENTIONLAUNCH_H

#include "Attention/Attention.h"

#include <cstdint>
#include <string>

namespace tfcrt::cuda {

/// How the products are computed: f32 (CUDA cores), or q / k / v and the
/// probabilities rounded to f16 / bf16 for the tensor cores (f32
/// accumulation and softmax).
enum class AttnMode { F32, F16, BF16 };

/// During a GPU run: enqueues the call on the run's stream (nothing while a
/// graph is replayed or after an error); `paramError` non-empty records it
/// instead (the descriptors did not check).
void runAttention(const attn::Params &p, AttnMode mode,
                  const std::string &paramError);

/// Device memory the decode kernel may use to split a call's keys over
/// blocks: kDecCounters zeroed counters (GpuAttention.h), then partials.
/// Left at zero (no scratch), calls of few rows run unsplit.
struct AttnScratch {
  uint64_t base = 0; // a CUdeviceptr
  uint64_t bytes = 0;
};

/// Launches the call on `stream` (a CUstream; device pointers in p). False
/// with `error` set when the kernels cannot load or the shapes are out of
/// their range (head dims > 256). grid / block: what was launched.
/// pdl: with programmatic dependent launch (the kernel waits for the
/// previous one first).
bool launchAttention(const attn::Params &p, AttnMode mode, void *stream,
                     std::string &error, int64_t *grid = nullptr,
                     int64_t *block = nullptr,
                     const AttnScratch &scratch = AttnScratch(),
                     bool pdl = false);

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_ATTENTIONLAUNCH_H
