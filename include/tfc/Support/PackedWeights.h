/*===- PackedWeights.h - weights pre-packed for the linear kernels -*- C -*-===*
 *
 * Shared by the compiler (which packs constant weights at compile time and
 * stores each packed matrix as one i8 blob in the .tfcw file) and libtfcrt
 * (whose `tfcrt_linear` kernel reads them). Plain C, header only.
 *
 * A blob starts with this 128-byte header; its sections (data, scales, zero
 * points, column sums, ...) follow at the 64-byte aligned byte offsets the
 * header gives, counted from the header's first byte. The logical matrix is
 * W [k, n] as in y = x W (k inputs, n outputs); a transposed ONNX weight
 * [n, k] is packed to the same layout. Every format stores columns in panels
 * so that a kernel streams one panel (all of k for a few columns) from
 * memory exactly once per row block; the panel widths were chosen so that
 * the AVX2 (Zen 3) and the AVX-512 (Zen 4) kernels read the same layout:
 * a model packed on one machine runs on the other. `version` changes with
 * any layout change; a runtime refuses blobs of another version or an
 * unknown format with a message naming both (docs/DESIGN.md, "CPU kernels").
 *===----------------------------------------------------------------------===*/
#ifndef TFC_SUPPORT_PACKEDWEIGHTS_H
#define TFC_SUPPORT_PACKEDWEIGHTS_H

#include <stdint.h>

#define TFC_PACK_MAGIC 0x4B504654u /* "TFPK" little-endian */
#define TFC_PACK_VERSION 1u
#define TFC_PACK_HEADER_SIZE 128u
#define TFC_PACK_ALIGN 64u

/* Formats. Layouts are described where each is implemented
 * (lib/Runtime/Linear/Format*.h); the summary here is the contract. */
enum tfc_pack_format {
  /* f32, panels of 32 columns: [ceil(n/32)][k][32], columns past n zero. */
  TFC_PACK_F32 = 1,
  /* bf16 weights (fp32 accumulate), panels of 32 columns with k in pairs:
   * [ceil(n/32)][ceil(k/2)][32][2] (the vdpbf16ps operand order); k and
   * columns past the end zero. */
  TFC_PACK_BF16 = 2,
  /* int8 x int8 -> int32 GEMM with activations quantized at run time (per
   * row, symmetric s8, scale max|x| / 127) or statically
   * (TFC_PACK_FLAG_ACT_STATIC: per-tensor act_scale in the header, act_zero
   * 0). Weights symmetric s8 per output
   * channel (group == 0) in VNNI order: [ceil(n/16)][ceil(k/4)][16][4];
   * sections: scales f32[n], column sums i32[n] (sum over k of W[:, j], for
   * the activation zero point). */
  TFC_PACK_S8 = 3,
  /* Weight-only int8, group-wise along k (group in {32, 64, 128} or 0 =
   * whole column): activations stay f32 or are quantized per block of the
   * group (llama.cpp Q8-style), kernel's choice. Sections: scales f32
   * [ceil(k/group)][n], optional zero points (TFC_PACK_FLAG_ASYM). */
  TFC_PACK_W8 = 4,
  /* Weight-only int4, group-wise along k, two values per byte (low nibble
   * first); unsigned 0..15 with a zero point (8 for symmetric). Sections as
   * for TFC_PACK_W8. */
  TFC_PACK_W4 = 5,
  /* Sparse formats (pruning) start at 16; exact layouts in
   * lib/Runtime/Linear/FormatSparse.h. Both use panels of 32 columns (the
   * F32 gated column order applies unchanged). */
  TFC_PACK_SPARSE_FIRST = 16,
  /* Unstructured: per panel and k row a u32 mask of the nonzero columns
   * (extra section, after the panels' value offsets) and the nonzero f32
   * values in order (data section; `nnz` of them). */
  TFC_PACK_SPARSE_MASK = 16,
  /* 2:4 along k: per column and group of 4 consecutive k at most 2
   * nonzeros, stored as 2 f32 values (data) and two 2-bit positions in a
   * nibble (extra). */
  TFC_PACK_SPARSE_24 = 17,
  /* Unstructured with int8 values: TFC_PACK_SPARSE_MASK's masks with the
   * stored values as symmetric s8 codes of a TFC_PACK_W8 weight (scales
   * f32 [ceil(n/32)][groups][32] as W8's; group 0, 32, 64 or 128; flags
   * GATED, ACT_F32 with W8's meaning). */
  TFC_PACK_SPARSE_MASK_W8 = 18
};

/* tfc_pack_header.flags */
#define TFC_PACK_FLAG_ASYM 1u       /* per-group zero points present */
#define TFC_PACK_FLAG_GATED 2u      /* columns are a gated MLP's gate and up
                                       projections interleaved by panel
                                       halves: panel p holds gate columns
                                       [p*P/2, (p+1)*P/2) then the up columns
                                       of the same range (P = the format's
                                       panel width); the kernel's output is
                                       act(gate) * up, n / 2 columns */
#define TFC_PACK_FLAG_ACT_F32 8u /* TFC_PACK_W8 / W4: keep activations in
                                    f32 (tfc.qlinear activation `none`);
                                    without it they are quantized per block
                                    of 32 to s8 (activation `block32`) */
#define TFC_PACK_FLAG_ACT_STATIC 4u /* TFC_PACK_S8: activations use
                                       act_scale / act_zero (calibrated)
                                       instead of per-row run-time ones */

typedef struct tfc_pack_header {
  uint32_t magic;   /* TFC_PACK_MAGIC */
  uint32_t version; /* TFC_PACK_VERSION */
  uint32_t format;  /* enum tfc_pack_format */
  uint32_t flags;   /* TFC_PACK_FLAG_* */
  int64_t k;        /* inputs (rows of W) */
  int64_t n;        /* outputs (columns of W; gated: 2 x hidden) */
  int64_t group;    /* quantization group along k; 0 = per output channel */
  float act_scale;  /* TFC_PACK_FLAG_ACT_STATIC */
  int32_t act_zero;
  uint64_t data_offset;   /* bytes from the header start; 64-byte aligned */
  uint64_t scales_offset; /* 0 when the format has none */
  uint64_t zeros_offset;
  uint64_t extra_offset; /* format-specific (TFC_PACK_S8: column sums) */
  uint64_t total_bytes;  /* header + every section, a multiple of 64 */
  uint32_t panel;        /* panel width in columns (32 or 16) */
  uint32_t reserved0;
  uint64_t nnz; /* sparse formats: stored values (sizes depend on it) */
  /* The op class the compiler packed the weight for (--tfc-quantize's
   * classes: qkv, out_proj, mlp, lm_head, ...; else the op's kind, linear
   * or gated_mlp), NUL-padded; all zero when unknown. Informational only
   * (tfc-run's per-class precision report): kernels ignore it, so it was
   * added without a layout version change. */
  char op_class[16];
  uint8_t reserved[128 - 120];
} tfc_pack_header;

#ifdef __cplusplus
static_assert(sizeof(tfc_pack_header) == TFC_PACK_HEADER_SIZE,
              "tfc_pack_header must be 128 bytes");
#else
_Static_assert(sizeof(tfc_pack_header) == TFC_PACK_HEADER_SIZE,
               "tfc_pack_header must be 128 bytes");
#endif

#endif /* TFC_SUPPORT_PACKEDWEIGHTS_H */
