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
//
//===----------------------------------------------------------------------===//

#include "AttentionLaunch.h"
#include "Cuda.h"
#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

using namespace tfcrt;

namespace {

void entry(cuda::AttnMode mode, tfcrt_memref4_f32 *q, tfcrt_memref4_f32 *k,
           tfcrt_memref4_f32 *v, tfcrt_memref4_i8 *keep,
           tfcrt_memref4_f32 *add, tfcrt_memref4_f32 *out, float scale,
           int64_t causal, int64_t window, int64_t sinks, int64_t block,
           tfcrt_memref2_i8 *layout, int64_t layoutBlock) {
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
  cuda::runAttention(p, mode, err);
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
