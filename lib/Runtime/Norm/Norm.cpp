//===- Norm.cpp - tfcrt_layer_norm_f32 / rms_norm_f32: checks, threads ----===//
//
// The C entries check the descriptors against each other (a mismatch is a
// compiler bug: kernelError + NaN output, never an out-of-bounds read) and
// run the level chosen once from isa::features(). Rows are independent:
// they are cut into one contiguous range per thread by tfcrt_parallel_work,
// which keeps small calls (decode's single row) on the caller.
//
//===----------------------------------------------------------------------===//

#include "Norm.h"

#include "../Internal.h"
#include "../Isa.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <cmath>
#include <limits>
#include <string>

namespace tfcrt {
namespace norm {

void run(const Params &p, const Kernels &ks) {
  if (p.rows <= 0 || p.n <= 0)
    return;
  struct Ctx {
    const Params *p;
    RowsFn fn;
  } ctx{&p, p.unitStride() ? ks.rows : kernelsGeneric().rows};
  // Work ~ 3 passes over each row; one row never leaves the caller.
  tfcrt_parallel_work(
      p.rows, 3 * p.rows * p.n,
      [](void *c, int64_t r0, int64_t r1) {
        auto *x = static_cast<Ctx *>(c);
        x->fn(*x->p, r0, r1);
      },
      &ctx);
}

const Kernels &kernelsBest() {
  static const Kernels &best =
      isa::byLevel(kernelsGeneric(), kernelsAvx2(), kernelsAvx512());
  return best;
}

} // namespace norm
} // namespace tfcrt

//===-- the C entries -----------------------------------------------------===//

namespace {

using tfcrt::format;
using tfcrt::norm::Params;

void fillNaN(tfcrt_memref2_f32 *y) {
  if (!y || !y->aligned || y->sizes[0] <= 0 || y->sizes[1] <= 0)
    return;
  for (int64_t r = 0; r < y->sizes[0]; ++r)
    for (int64_t j = 0; j < y->sizes[1]; ++j)
      y->aligned[y->offset + r * y->strides[0] + j * y->strides[1]] =
          std::numeric_limits<float>::quiet_NaN();
}

/// Fills the checked Params; returns an error message or "".
std::string buildParams(tfcrt_memref2_f32 *x, tfcrt_memref1_f32 *gamma,
                        tfcrt_memref1_f32 *beta, tfcrt_memref2_f32 *y,
                        float eps, bool rms, Params &p) {
  if (!x || !gamma || !y)
    return "null x, gamma or y descriptor";
  p.rows = x->sizes[0];
  p.n = x->sizes[1];
  auto shape = [&] {
    return format(" (x [%lld, %lld], gamma [%lld], beta [%lld], y [%lld, "
                  "%lld])",
                  (long long)p.rows, (long long)p.n, (long long)gamma->sizes[0],
                  (long long)(beta ? beta->sizes[0] : 0),
                  (long long)y->sizes[0], (long long)y->sizes[1]);
  };
  if (p.rows < 0 || p.n < 0)
    return "negative size" + shape();
  if (y->sizes[0] != p.rows || y->sizes[1] != p.n)
    return "y differs from x in shape" + shape();
  if (gamma->sizes[0] != p.n)
    return "gamma is not [n]" + shape();
  const bool hasBeta = beta && beta->sizes[0] != 0;
  if (hasBeta && beta->sizes[0] != p.n)
    return "beta is neither [n] nor empty" + shape();
  if (p.rows == 0 || p.n == 0)
    return "";
  if (!x->aligned || !gamma->aligned || !y->aligned ||
      (hasBeta && !beta->aligned))
    return "a non-empty operand has no data" + shape();
  p.x = x->aligned + x->offset;
  p.xs[0] = x->strides[0];
  p.xs[1] = x->strides[1];
  p.gamma = gamma->aligned + gamma->offset;
  p.gs = gamma->strides[0];
  if (hasBeta) {
    p.beta = beta->aligned + beta->offset;
    p.bs = beta->strides[0];
  }
  p.y = y->aligned + y->offset;
  p.ys[0] = y->strides[0];
  p.ys[1] = y->strides[1];
  p.eps = eps;
  p.rms = rms;
  return "";
}

void entry(const char *name, tfcrt_memref2_f32 *x, tfcrt_memref1_f32 *gamma,
           tfcrt_memref1_f32 *beta, tfcrt_memref2_f32 *y, float eps, bool rms) {
  Params p;
  const std::string err = buildParams(x, gamma, beta, y, eps, rms, p);
  if (!err.empty()) {
    fillNaN(y);
    tfcrt::kernelError(TFC_ERR_INTERNAL, std::string(name) + ": " + err);
    return;
  }
  tfcrt::norm::run(p, tfcrt::norm::kernelsBest());
}

} // namespace

TFCRT_EXPORT void _mlir_ciface_tfcrt_layer_norm_f32(tfcrt_memref2_f32 *x,
                                                    tfcrt_memref1_f32 *gamma,
                                                    tfcrt_memref1_f32 *beta,
                                                    tfcrt_memref2_f32 *y,
                                                    float eps) {
  entry("tfcrt_layer_norm_f32", x, gamma, beta, y, eps, false);
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_rms_norm_f32(tfcrt_memref2_f32 *x,
                                                  tfcrt_memref1_f32 *gamma,
                                                  tfcrt_memref2_f32 *y,
                                                  float eps) {
  entry("tfcrt_rms_norm_f32", x, gamma, nullptr, y, eps, true);
}
