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
// The _rope entries (tfc-cpu-kernels{gpu-rope}) also take a KV-cache step's
// rotary and cache writes (tfc_kernels.h): on the device the decode kernel
// or a small kernel before the attention's (AttentionLaunch.cpp); on the
// host, rot(q) into a dense copy and the new rows into the cache, then the
// CPU kernel on that copy.
//
//===----------------------------------------------------------------------===//

#include "AttentionLaunch.h"
#include "Cuda.h"
#include "GpuGemm.h"
#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <cmath>
#include <vector>

using namespace tfcrt;

namespace {

/// The _rope entries' descriptors beyond the attention's.
struct RopeDescs {
  tfcrt_memref4_f32 *kNew, *vNew, *cos, *sin;
  tfcrt_memref0_i64 *past;
};

/// Checks a rope call's descriptors against its attention's (p, from
/// paramsFromEntry) and fills r: "" or why not. Reads no element (device
/// pointers are fine).
std::string ropeParams(const attn::Params &p, const RopeDescs &x,
                       cuda::AttnRope &r) {
  if (p.d % 2 != 0)
    return format("head dim %lld is odd (the rotary pairs column c with "
                  "c + d/2)",
                  (long long)p.d);
  // name's descriptor against `want`; a dim with bcast[i] may have size 1
  // (its stride then 0).
  auto view = [](const char *name, const tfcrt_memref4_f32 *m,
                 const int64_t *want, const bool *bcast, const float *&ptr,
                 int64_t *st) -> std::string {
    if (!m)
      return format("null %s descriptor", name);
    bool ok = true, empty = false;
    for (int i = 0; i < 4; ++i) {
      ok &= m->sizes[i] == want[i] || (bcast[i] && m->sizes[i] == 1);
      empty |= m->sizes[i] == 0;
    }
    if (!ok)
      return format("%s is [%lld, %lld, %lld, %lld], expected [%s%lld, "
                    "%s%lld, %lld, %lld]",
                    name, (long long)m->sizes[0], (long long)m->sizes[1],
                    (long long)m->sizes[2], (long long)m->sizes[3],
                    bcast[0] ? "1 or " : "", (long long)want[0],
                    bcast[1] ? "1 or " : "", (long long)want[1],
                    (long long)want[2], (long long)want[3]);
    if (!m->aligned && !empty)
      return format("%s has no data", name);
    ptr = m->aligned ? m->aligned + m->offset : nullptr;
    for (int i = 0; i < 4; ++i)
      st[i] = m->sizes[i] == 1 ? 0 : m->strides[i];
    return "";
  };
  const int64_t kw[4] = {p.b, p.hkv, p.s, p.d}, vw[4] = {p.b, p.hkv, p.s, p.dv},
                cw[4] = {p.b, p.hq, p.s, p.d};
  const bool exact[4] = {false, false, false, false};
  const bool table[4] = {true, true, false, false};
  std::string e = view("k_new", x.kNew, kw, exact, r.kNew, r.kNewS);
  if (e.empty())
    e = view("v_new", x.vNew, vw, exact, r.vNew, r.vNewS);
  if (e.empty())
    e = view("cos", x.cos, cw, table, r.cos, r.cosS);
  if (e.empty())
    e = view("sin", x.sin, cw, table, r.sin, r.sinS);
  if (!e.empty())
    return e;
  // One table serves q and the new keys: per head only where their heads
  // are the same.
  for (const tfcrt_memref4_f32 *t : {x.cos, x.sin})
    if (t->sizes[1] != 1 && p.hq != p.hkv)
      return format("cos / sin have %lld heads: with %lld query and %lld kv "
                    "heads only 1 serves both",
                    (long long)t->sizes[1], (long long)p.hq, (long long)p.hkv);
  if (!x.past || !x.past->aligned)
    return "null past descriptor";
  r.past = x.past->aligned + x.past->offset;
  return "";
}

/// The rotary's x cos + h sin with each product rounded on its own, as the
/// kernels compute it (AttentionDevice.cuh, ropeElem): the cache rows the
/// emulation writes are the GPU's. (A compiler that contracts across
/// statements on an ISA with FMA, GCC on AArch64, may differ in the last
/// bit: within tfcrt-gpu-attention-test's tolerance for the cache.)
float ropeElem(float x, float h, float c, float s) {
  const float a = x * c, b = h * s;
  return a + b;
}

/// After a kernelError: out all NaN, as tfcrt_attention_f32 leaves it.
void fillNaN(tfcrt_memref4_f32 *out) {
  const int64_t *n = out->sizes, *st = out->strides;
  if (!out->aligned || n[0] <= 0 || n[1] <= 0 || n[2] <= 0 || n[3] <= 0)
    return;
  float *o = out->aligned + out->offset;
  for (int64_t a = 0; a < n[0]; ++a)
    for (int64_t b = 0; b < n[1]; ++b)
      for (int64_t c = 0; c < n[2]; ++c)
        for (int64_t d = 0; d < n[3]; ++d)
          o[a * st[0] + b * st[1] + c * st[2] + d * st[3]] = NAN;
}

/// The CPU attention (the emulation's reference) into an f32 out; a rope
/// call first rotates q into a dense copy and writes the new cache rows.
void hostAttention(tfcrt_memref4_f32 *q, tfcrt_memref4_f32 *k,
                   tfcrt_memref4_f32 *v, tfcrt_memref4_i8 *keep,
                   tfcrt_memref4_f32 *add, tfcrt_memref4_f32 *out, float scale,
                   int64_t causal, int64_t window, int64_t sinks, int64_t block,
                   tfcrt_memref2_i8 *layout, int64_t layoutBlock,
                   const RopeDescs *rope) {
  if (!rope) {
    _mlir_ciface_tfcrt_attention_f32(q, k, v, keep, add, out, scale, causal,
                                     window, sinks, block, layout, layoutBlock);
    return;
  }
  attn::Params p;
  cuda::AttnRope r;
  std::string err =
      attn::paramsFromEntry(q, k, v, keep, add, out, scale, causal, window,
                            sinks, block, layout, layoutBlock, p);
  if (err.empty())
    err = ropeParams(p, *rope, r);
  if (!err.empty()) {
    if (out)
      fillNaN(out);
    kernelError(TFC_ERR_INTERNAL, "tfcrt_gpu_attention_rope: " + err);
    return;
  }
  const int64_t half = p.d / 2, past = *r.past;
  // Column c of row i of a query or new key (`row` its first element, cs
  // its column stride), rotated with the cos / sin row (bi, head, i).
  auto rot = [&](const float *row, int64_t cs, int64_t bi, int64_t head,
                 int64_t i, int64_t c) {
    const bool lo = c < half;
    const float x = row[c * cs], y = row[(lo ? c + half : c - half) * cs];
    return ropeElem(x, lo ? -y : y,
                    r.cos[bi * r.cosS[0] + head * r.cosS[1] + i * r.cosS[2] +
                          c * r.cosS[3]],
                    r.sin[bi * r.sinS[0] + head * r.sinS[1] + i * r.sinS[2] +
                          c * r.sinS[3]]);
  };
  // rot(q): [b, hq, s, d] dense.
  std::vector<float> qr(static_cast<size_t>(p.b * p.hq * p.s * p.d));
  size_t e = 0;
  for (int64_t bi = 0; bi < p.b; ++bi)
    for (int64_t h = 0; h < p.hq; ++h)
      for (int64_t i = 0; i < p.s; ++i)
        for (int64_t c = 0; c < p.d; ++c)
          qr[e++] = rot(p.q + bi * p.qs[0] + h * p.qs[1] + i * p.qs[2], p.qs[3],
                        bi, h, i, c);
  // The new rows (k and v are the cache: this call's to write).
  float *kc = const_cast<float *>(p.k), *vc = const_cast<float *>(p.v);
  for (int64_t bi = 0; bi < p.b; ++bi)
    for (int64_t g = 0; g < p.hkv; ++g)
      for (int64_t i = 0; i < p.s; ++i) {
        const int64_t j = past + i;
        if (j < 0 || j >= p.t)
          continue;
        const float *kn =
            r.kNew + bi * r.kNewS[0] + g * r.kNewS[1] + i * r.kNewS[2];
        const float *vn =
            r.vNew + bi * r.vNewS[0] + g * r.vNewS[1] + i * r.vNewS[2];
        float *kr = kc + bi * p.ks[0] + g * p.ks[1] + j * p.ks[2];
        float *vr = vc + bi * p.vs[0] + g * p.vs[1] + j * p.vs[2];
        for (int64_t c = 0; c < p.d; ++c)
          kr[c * p.ks[3]] = rot(kn, r.kNewS[3], bi, g, i, c);
        for (int64_t c = 0; c < p.dv; ++c)
          vr[c * p.vs[3]] = vn[c * r.vNewS[3]];
      }
  tfcrt_memref4_f32 qd{};
  qd.allocated = qd.aligned = qr.data();
  const int64_t sizes[4] = {p.b, p.hq, p.s, p.d};
  for (int i = 0; i < 4; ++i)
    qd.sizes[i] = sizes[i];
  qd.strides[3] = 1;
  for (int i = 2; i >= 0; --i)
    qd.strides[i] = qd.strides[i + 1] * sizes[i + 1];
  _mlir_ciface_tfcrt_attention_f32(&qd, k, v, keep, add, out, scale, causal,
                                   window, sinks, block, layout, layoutBlock);
}

/// halfOut: out describes (sizes, strides) a buffer of f16 / bf16 elements
/// at halfOut instead (entryHalfOut's device path; never on the host).
/// rope: a _rope entry's call.
void entry(cuda::AttnMode mode, tfcrt_memref4_f32 *q, tfcrt_memref4_f32 *k,
           tfcrt_memref4_f32 *v, tfcrt_memref4_i8 *keep, tfcrt_memref4_f32 *add,
           tfcrt_memref4_f32 *out, float scale, int64_t causal, int64_t window,
           int64_t sinks, int64_t block, tfcrt_memref2_i8 *layout,
           int64_t layoutBlock, uint16_t *halfOut = nullptr,
           const RopeDescs *rope = nullptr) {
  if (!cuda::deviceAllocsActive()) {
    hostAttention(q, k, v, keep, add, out, scale, causal, window, sinks, block,
                  layout, layoutBlock, rope);
    return;
  }
  attn::Params p;
  std::string err =
      attn::paramsFromEntry(q, k, v, keep, add, out, scale, causal, window,
                            sinks, block, layout, layoutBlock, p);
  cuda::AttnRope r;
  if (rope && err.empty())
    err = ropeParams(p, *rope, r);
  if (halfOut) {
    p.out = reinterpret_cast<float *>(halfOut);
    p.outType = mode == cuda::AttnMode::BF16 ? attn::Params::OutType::BF16
                                             : attn::Params::OutType::F16;
  }
  if (rope)
    cuda::runAttentionRope(p, r, mode, err);
  else
    cuda::runAttention(p, mode, err);
}

/// The same into a half `out` (f16 or bf16, any strides).
void entryHalfOut(cuda::AttnMode mode, tfcrt_memref4_f32 *q,
                  tfcrt_memref4_f32 *k, tfcrt_memref4_f32 *v,
                  tfcrt_memref4_i8 *keep, tfcrt_memref4_f32 *add,
                  tfcrt_memref4_f16 *out, float scale, int64_t causal,
                  int64_t window, int64_t sinks, int64_t block,
                  tfcrt_memref2_i8 *layout, int64_t layoutBlock,
                  const RopeDescs *rope = nullptr) {
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
    hostAttention(q, k, v, keep, add, &f, scale, causal, window, sinks, block,
                  layout, layoutBlock, rope);
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
        layout, layoutBlock, out->aligned + out->offset, rope);
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

#define TFC_GPU_ATTENTION_ROPE_ENTRY(NAME, MODE)                               \
  TFCRT_EXPORT void _mlir_ciface_tfcrt_gpu_attention_##NAME##_rope(            \
      TFCRT_ATTENTION_ROPE_PARAMS_OUT(tfcrt_memref4_f32)) {                    \
    const RopeDescs rope{k_new, v_new, cos, sin, past};                        \
    entry(MODE, q, k, v, mask_keep, mask_add, out, scale, causal, window,      \
          sinks, block, layout, layout_block, nullptr, &rope);                 \
  }
TFC_GPU_ATTENTION_ROPE_ENTRY(f32, cuda::AttnMode::F32)
TFC_GPU_ATTENTION_ROPE_ENTRY(f16mma, cuda::AttnMode::F16)
TFC_GPU_ATTENTION_ROPE_ENTRY(bf16mma, cuda::AttnMode::BF16)

#define TFC_GPU_ATTENTION_ROPE_HOUT_ENTRY(NAME, MODE)                          \
  TFCRT_EXPORT void _mlir_ciface_tfcrt_gpu_attention_##NAME##_rope_hout(       \
      TFCRT_ATTENTION_ROPE_PARAMS_OUT(tfcrt_memref4_f16)) {                    \
    const RopeDescs rope{k_new, v_new, cos, sin, past};                        \
    entryHalfOut(MODE, q, k, v, mask_keep, mask_add, out, scale, causal,       \
                 window, sinks, block, layout, layout_block, &rope);           \
  }
TFC_GPU_ATTENTION_ROPE_HOUT_ENTRY(f16mma, cuda::AttnMode::F16)
TFC_GPU_ATTENTION_ROPE_HOUT_ENTRY(bf16mma, cuda::AttnMode::BF16)
