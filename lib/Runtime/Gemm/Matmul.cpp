//===- Matmul.cpp - the matmul entry points compiled code calls -----------===//

#include "../Internal.h"
#include "Gemm.h"
#include "tfc/Runtime/tfc_kernels.h"

namespace {

/// A problem from MLIR strided descriptors (A [b, m, k], B [b, k, n],
/// C [b, m, n]); a batch dim of size 1 gets stride 0 so it broadcasts.
bool toProblem(const tfcrt_memref3_f32 *a, const tfcrt_memref3_f32 *b,
               const tfcrt_memref3_f32 *c, tfcrt::gemm::Problem &p) {
  if (!a || !b || !c)
    return false;
  p.batch = c->sizes[0];
  p.m = c->sizes[1];
  p.n = c->sizes[2];
  p.k = a->sizes[2];
  if (a->sizes[1] != p.m || b->sizes[1] != p.k || b->sizes[2] != p.n)
    return false;
  if ((a->sizes[0] != p.batch && a->sizes[0] != 1) ||
      (b->sizes[0] != p.batch && b->sizes[0] != 1))
    return false;
  p.a = a->aligned + a->offset;
  p.sab = a->sizes[0] == 1 ? 0 : a->strides[0];
  p.sam = a->strides[1];
  p.sak = a->strides[2];
  p.b = b->aligned + b->offset;
  p.sbb = b->sizes[0] == 1 ? 0 : b->strides[0];
  p.sbk = b->strides[1];
  p.sbn = b->strides[2];
  p.c = c->aligned + c->offset;
  p.scb = c->strides[0];
  p.scm = c->strides[1];
  p.scn = c->strides[2];
  return true;
}

} // namespace

// Shapes were verified by the compiler; a mismatch here is a compiler bug
// that we refuse to turn into an out-of-bounds access: C is left untouched.
TFCRT_EXPORT void _mlir_ciface_tfcrt_matmul_f32(tfcrt_memref3_f32 *a,
                                                tfcrt_memref3_f32 *b,
                                                tfcrt_memref3_f32 *c) {
  tfcrt::gemm::Problem p;
  if (toProblem(a, b, c, p))
    tfcrt::gemm::run(p);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_matmul_bias_f32(tfcrt_memref3_f32 *a,
                                                     tfcrt_memref3_f32 *b,
                                                     tfcrt_memref1_f32 *bias,
                                                     tfcrt_memref3_f32 *c) {
  tfcrt::gemm::Problem p;
  if (!toProblem(a, b, c, p) || !bias || bias->sizes[0] != p.n)
    return;
  p.bias = bias->aligned + bias->offset;
  p.sbias = bias->strides[0];
  tfcrt::gemm::run(p);
}
