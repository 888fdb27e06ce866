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

/// A rope call's inputs beyond the attention's (tfcrt_gpu_attention_*_rope;
/// GpuAttnArgs::rope has the semantics): element pointers (offsets
/// applied) and strides, 0 on cos / sin's broadcast dims; past readable
/// where the kernels run.
struct AttnRope {
  const float *kNew = nullptr, *vNew = nullptr; // [b, hkv, s, d / dv]
  const float *cos = nullptr, *sin = nullptr;   // [cb, ch, s, d]
  int64_t kNewS[4] = {}, vNewS[4] = {}, cosS[4] = {}, sinS[4] = {};
  const int64_t *past = nullptr;
  /// Tests: the split path (below) even where the call could run fused, as
  /// TFC_ATTN_ROPE=0 makes every run.
  bool split = false;
};

/// Whether the lane-group decode kernel takes a rope call whole (one
/// launch); otherwise tfc_attn_rope_write writes the rotated query into a
/// dense copy and the cache rows, and the call's kernel reads that copy.
/// Decided on the host from the shapes, the pointers' alignment and the
/// environment, so that a replayed graph's host code decides the same.
bool ropeFused(const attn::Params &p, const AttnRope &r);

/// runAttention for a rope call: p.q the query before its rotary, p.k /
/// p.v the cache views. The split path's copy of the query comes from the
/// run's pool (also while a graph replays: the allocation trace must stay
/// the captured one).
void runAttentionRope(const attn::Params &p, const AttnRope &r, AttnMode mode,
                      const std::string &paramError);

/// launchAttention for a rope call: one launch where ropeFused, else
/// tfc_attn_rope_write into qRot (device memory for b hq s d floats; unused
/// where ropeFused) and the call's kernel on it. `launched`, when given, is
/// called after each launch with its grid, block and what it was (the
/// signature of DeviceRun.h's countLaunch).
bool launchAttentionRope(
    const attn::Params &p, const AttnRope &r, AttnMode mode, void *stream,
    std::string &error, float *qRot, const AttnScratch &scratch = AttnScratch(),
    bool pdl = false,
    void (*launched)(int64_t grid, int64_t block, const char *what) = nullptr);

} // namespace tfcrt::cuda

#endif // TFC_LIB_RUNTIME_CUDA_ATTENTIONLAUNCH_H
