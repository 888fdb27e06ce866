//===- Gptq.h - GPTQ weight quantization ------------------------*- C++ -*-===//
//
// GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for
// Generative Pre-trained Transformers", 2022), as its reference code does it:
// W [k, n] (x W) is quantized one input row (k index) at a time; each row's
// rounding error, divided by the diagonal of U (H^-1 = U^T U, H = sum x^T x
// damped by `damp` * mean(diag), lib/Calibration/Hessian.h), is fed back
// into the rows not yet quantized (err * U[i, i+1..]), within blocks of
// `block` rows and lazily for the rest; a group's scale / zero point is
// computed from the (already updated) weights when its first row is
// reached, on the same grid as round-to-nearest (QuantMath.h), so the
// result is a QuantizedWeight the same ops and kernels take (a block that
// is neither a multiple nor a divisor of the group is lowered to their
// gcd, so that a group's rows all hold the earlier rows' error). act-order
// visits rows by decreasing H[i][i] with group parameters computed up front
// from the original weights ("static groups": the groups stay contiguous
// along k, which the packed formats need). Inputs never seen (H[i][i] = 0)
// get zero weights. A group's grid is its min / max or, with `clip`, the
// best of the shrunk grids (QuantMath.h; HMse weighs each feature by its
// Hessian diagonal).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TRANSFORMS_GPTQ_H
#define TFC_LIB_TRANSFORMS_GPTQ_H

#include "QuantMath.h"

#include <optional>
#include <string>

namespace mlir::tfc::quant {

struct GptqOptions {
  double damp = 0.01;
  int64_t block = 128;
  bool actOrder = false;
  Clip clip = Clip::MinMax; // each group's grid (QuantMath.h chooseGrid)
};

/// `w` [k, n] row-major (or [n, k] when `transposed`), `hessian` [k, k].
/// nullopt with `error` when the damped Hessian cannot be factored.
std::optional<QuantizedWeight> gptq(const float *w, int64_t k, int64_t n,
                                    bool transposed, const double *hessian,
                                    int64_t bits, int64_t group,
                                    bool symmetric, Grid grid,
                                    const GptqOptions &options,
                                    std::string &error);

} // namespace mlir::tfc::quant

#endif
