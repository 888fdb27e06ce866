/*===- fake_model.c - a hand-written "compiled model" for runtime tests ----===*
 *
 * Follows the entry ABI of tfc_runtime.h exactly, as tfc-generated code does:
 *
 *   in  x   f32 [batch, 4]
 *   in  ids i64 [batch, 4]
 *   out y   f32 [batch, 4]  = x * scale + ids        (buffer from the runtime's
 *                                                     allocator: owned)
 *   out xw  f32 [batch, 4]  = x @ W                   (through the runtime's
 *                                                     matmul kernel)
 *   out ids_out i64 [batch, 4] = ids                  (returns the input's own
 *                                                     descriptor: must be
 *copied)
 *
 * Weights (.tfcw data section, written by MakeFakeModelData): `scale` f32 at
 * offset 0, `W` f32 [4, 4] at offset 64. Their size and hash come from the
 * generated fake_model_weights.h.
 *===----------------------------------------------------------------------===*/

#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include "fake_model_weights.h"

#include <stdint.h>

typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} MemRef1;

typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} MemRef2;

typedef struct {
  MemRef2 y;
  MemRef2 xw;
  MemRef2 ids_out;
} Results;

enum { kOpScaleAdd = 0, kOpMatmul = 1 };

static void fakeEntry(Results *results, MemRef1 *weights, MemRef2 *x,
                      MemRef2 *ids) {
  const int64_t batch = x->sizes[0];
  const char *w = (const char *)weights->aligned + weights->offset;
  const float scale = *(const float *)w;
  const float *x0 = (const float *)x->aligned + x->offset;
  const int64_t *ids0 = (const int64_t *)ids->aligned + ids->offset;

  tfcrt_prof_enter(kOpScaleAdd);
  float *y = (float *)_mlir_memref_to_llvm_alloc((uint64_t)(batch * 4 * 4));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < 4; ++j)
      y[b * 4 + j] = x0[b * x->strides[0] + j * x->strides[1]] * scale +
                     (float)ids0[b * ids->strides[0] + j * ids->strides[1]];
  tfcrt_prof_exit(kOpScaleAdd);

  tfcrt_prof_enter(kOpMatmul);
  float *xw =
      (float *)_mlir_memref_to_llvm_aligned_alloc(64, (uint64_t)(batch * 16));
  tfcrt_memref3_f32 a = {(float *)x->allocated,
                         (float *)x->aligned,
                         x->offset,
                         {1, batch, 4},
                         {batch * 4, x->strides[0], x->strides[1]}};
  tfcrt_memref3_f32 bm = {
      (float *)weights->allocated, (float *)(w + 64), 0, {1, 4, 4}, {16, 4, 1}};
  tfcrt_memref3_f32 c = {xw, xw, 0, {1, batch, 4}, {batch * 4, 4, 1}};
  _mlir_ciface_tfcrt_matmul_f32(&a, &bm, &c);
  tfcrt_prof_exit(kOpMatmul);

  MemRef2 yDesc = {y, y, 0, {batch, 4}, {4, 1}};
  MemRef2 xwDesc = {xw, xw, 0, {batch, 4}, {4, 1}};
  results->y = yDesc;
  results->xw = xwDesc;
  results->ids_out = *ids;
}

const tfc_model_desc tfc_fake_desc = {
    TFC_ABI_VERSION,
    2,
    3,
    0,
    "fake",
    "in x f32 2 batch 4\n"
    "in ids i64 2 batch 4\n"
    "out y f32 2 batch 4\n"
    "out xw f32 2 batch 4\n"
    "out ids_out i64 2 batch 4\n",
    (void *)&fakeEntry,
    FAKE_WEIGHTS_SIZE,
    FAKE_WEIGHTS_HASH,
    /* Sites: op class, tfc ops, ONNX nodes (tab-separated); the second
     * line is an op class alone, as models compiled before sites had. */
    "scale_add\ttfc.binary.mul tfc.binary.add\tMul_0\tAdd_1\nmatmul\n",
};

/* The alias a shared library exports; not when linked into the unit test,
 * which also dlopens the .so (one definition per process). */
#ifndef FAKE_MODEL_LINKED_IN
extern const tfc_model_desc tfc_model_desc_v1
    __attribute__((alias("tfc_fake_desc"), visibility("default")));
#endif
