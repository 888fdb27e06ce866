//===- GpuAttention.cpp - tfcrt_gpu_attention_*: fused attention entries ---===//
//
// Built in every configuration. On --target=cuda, tfc-cpu-kernels{gpu=...}
// turns tfc.attention into a call of
//   tfcrt_gpu_attention_f32      f32 products (CUDA cores)
//   tfcrt_gpu_attention_f16mma   q, k, v and the probabilities in f16 on the
//   tfcrt_gpu_attention_bf16mma  tensor cores (bf16), f32 accumulation
// with the arguments of tfcrt_attention_f32 (same descriptors, strided
// views, masks, structure). During a GPU run the call enqueues one fused
// kernel (AttentionLaunch.cpp); otherwise (--cuda-emulate-on-host) it runs
// the CPU kernel, the emulation's reference.
// The _hout entries (tfc-gpu-attention-half-out) write an f16 / bf16 out:
// the kernel rounds each element as it stores it; the host version rounds
// the CPU kernel's f32 result the same way (to nearest even).
//
//===----------------------------------------------------------------------===//

#include "AttentionLaunch.h"
#include "Cuda.h"
#include "GpuGemm.h"
#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <vector>

using namespace tfcrt;

namespace {

/// halfOut: out describes (sizes, strides) a buffer of f16 / bf16 elements
/// at halfOut instead (entryHalfOut's device path; never on the host).
void entry(cuda::AttnMode mode, tfcrt_memref4_f32 *q, tfcrt_memref4_f32 *k,
           tfcrt_memref4_f32 *v, tfcrt_memref4_i8 *keep,
           tfcrt_memref4_f32 *add, tfcrt_memref4_f32 *out, float scale,
           int64_t causal, int64_t window, int64_t sinks, int64_t block,
           tfcrt_memref2_i8 *layout, int64_t layoutBlock,
           uint16_t *halfOut = nullptr) {
  if (!cuda::deviceAllocsActive()) {
    _mlir_ciface_tfcrt_attention_f32(q, k, v, keep, add, out, scale, causal,
                                     window, sinks, block, layout,
                                     layoutBlock);
    return;
  }
  attn::Params p;
  const std::string err =
      attn::paramsFromEntry(q, k, v, keep, add, out, scale, causal, window,
                            sinks, block, layout, layoutBlock, p);
  if (halfOut) {
    p.out = reinterpret_cast<float *>(halfOut);
    p.outType = mode == cuda::AttnMode::BF16 ? attn::Params::OutType::BF16
                                             : attn::Params::OutType::F16;
  }
  cuda::runAttention(p, mode, err);
}

/// The same into a half `out` (f16 or bf16, any strides).
void entryHalfOut(cuda::AttnMode mode, tfcrt_memref4_f32 *q,
                  tfcrt_memref4_f32 *k, tfcrt_memref4_f32 *v,
                  tfcrt_memref4_i8 *keep, tfcrt_memref4_f32 *add,
                  tfcrt_memref4_f16 *out, float scale, int64_t causal,
                  int64_t window, int64_t sinks, int64_t block,
                  tfcrt_memref2_i8 *layout, int64_t layoutBlock) {
  const cuda::GemmType ht = mode == cuda::AttnMode::BF16
                                ? cuda::GemmType::BF16
                                : cuda::GemmType::F16;
  if (!cuda::deviceAllocsActive()) {
    // The CPU kernel into a dense f32 copy, then rounded into out.
    const int64_t *n = out->sizes;
    std::vector<float> tmp(static_cast<size_t>(n[0] * n[1] * n[2] * n[3]));
    tfcrt_memref4_f32 f{};
    f.allocated = f.aligned = tmp.data();
    for (int i = 0; i < 4; ++i)
      f.sizes[i] = n[i];
    f.strides[3] = 1;
    for (int i = 2; i >= 0; --i)
      f.strides[i] = f.strides[i + 1] * n[i + 1];
    _mlir_ciface_tfcrt_attention_f32(q, k, v, keep, add, &f, scale, causal,
                                     window, sinks, block, layout,
                                     layoutBlock);
    const int64_t *os = out->strides;
    uint16_t *base = out->aligned + out->offset;
    size_t e = 0;
    for (int64_t a = 0; a < n[0]; ++a)
      for (int64_t b = 0; b < n[1]; ++b)
        for (int64_t c = 0; c < n[2]; ++c)
          for (int64_t d = 0; d < n[3]; ++d)
            cuda::storeElem(ht, base + a * os[0] + b * os[1] + c * os[2] +
                                    d * os[3],
                            tmp[e++]);
    return;
  }
  // The f32 descriptor's checks and strides are the half one's: only the
  // element type differs, which the kernel is told; the data pointer goes
  // apart, offset in half elements (the alias's arithmetic counts floats).
  tfcrt_memref4_f32 alias{};
  alias.allocated = reinterpret_cast<float *>(out->allocated);
  alias.aligned = reinterpret_cast<float *>(out->aligned);
  for (int i = 0; i < 4; ++i) {
    alias.sizes[i] = out->sizes[i];
    alias.strides[i] = out->strides[i];
  }
  entry(mode, q, k, v, keep, add, &alias, scale, causal, window, sinks, block,
        layout, layoutBlock, out->aligned + out->offset);
}

} // namespace

#define TFC_GPU_ATTENTION_ENTRY(NAME, MODE)                                    \
  TFCRT_EXPORT void _mlir_ciface_tfcrt_gpu_attention_##NAME(                   \
      TFCRT_ATTENTION_PARAMS) {                                                \
    entry(MODE, q, k, v, mask_keep, mask_add, out, scale, causal, window,      \
          sinks, block, layout, layout_block);                                 \
  }
TFC_GPU_ATTENTION_ENTRY(f32, cuda::AttnMode::F32)
TFC_GPU_ATTENTION_ENTRY(f16mma, cuda::AttnMode::F16)
TFC_GPU_ATTENTION_ENTRY(bf16mma, cuda::AttnMode::BF16)

#define TFC_GPU_ATTENTION_HOUT_ENTRY(NAME, MODE)                               \
  TFCRT_EXPORT void _mlir_ciface_tfcrt_gpu_attention_##NAME##_hout(            \
      TFCRT_ATTENTION_HOUT_PARAMS) {                                           \
    entryHalfOut(MODE, q, k, v, mask_keep, mask_add, out, scale, causal,       \
                 window, sinks, block, layout, layout_block);                  \
  }
TFC_GPU_ATTENTION_HOUT_ENTRY(f16mma, cuda::AttnMode::F16)
TFC_GPU_ATTENTION_HOUT_ENTRY(bf16mma, cuda::AttnMode::BF16)
