//===- Norm.h - row normalization kernels inside libtfcrt -------*- C++ -*-===//
//
// The kernels behind _mlir_ciface_tfcrt_layer_norm_f32 and
// _mlir_ciface_tfcrt_rms_norm_f32 (contract in include/tfc/Runtime/
// tfc_kernels.h): tfc.layer_norm / tfc.rms_norm over the last axis of x
// viewed as [rows, n]. Per row, as the reference lowering (TfcToLinalg.cpp
// lowerNorm) computes it:
//   layer_norm  mean = sum(x) / n, c = x - mean, var = sum(c^2) / n,
//               y = c * rsqrt(var + eps) * gamma (+ beta)
//   rms_norm    y = x * rsqrt(sum(x^2) / n + eps) * gamma
// A row is read while it sits in L1: once for the mean, once for the
// variance, once to write y (the reference lowering streams the whole
// tensor through memory three times).
//
// Each ISA level supplies one function for a range of rows whose x, y,
// gamma and beta are contiguous along n; run() splits the rows over the
// thread pool and takes the generic level for other strides.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_NORM_NORM_H
#define TFC_LIB_RUNTIME_NORM_NORM_H

#include <cstdint>

namespace tfcrt {
namespace norm {

/// One call: element pointers (offset applied) and element strides.
struct Params {
  int64_t rows = 0, n = 0;
  const float *x = nullptr; // [rows, n]
  int64_t xs[2] = {};
  const float *gamma = nullptr; // [n]
  int64_t gs = 0;
  const float *beta = nullptr; // [n]; null: none (always for rms)
  int64_t bs = 0;
  float *y = nullptr; // [rows, n]
  int64_t ys[2] = {};
  float eps = 0.0f;
  bool rms = false;

  /// Whether every row of x, y and gamma / beta are contiguous along n.
  bool unitStride() const {
    return (n <= 1 ||
            (xs[1] == 1 && ys[1] == 1 && gs == 1 && (!beta || bs == 1)));
  }
};

/// Normalizes rows [r0, r1). The ISA levels need unitStride().
using RowsFn = void (*)(const Params &p, int64_t r0, int64_t r1);

/// One ISA level's kernel.
struct Kernels {
  const char *name;
  RowsFn rows;
};

const Kernels &kernelsGeneric(); // any strides
const Kernels &kernelsAvx2();    // only valid if isa::supported(Avx2)
const Kernels &kernelsAvx512();  // only valid if isa::supported(Avx512)
/// The kernels of the running level (isa::features(), TFCRT_ISA cap).
const Kernels &kernelsBest();

/// Checks nothing; runs the whole call with `ks` (generic when the strides
/// are not unit), rows split over the thread pool unless the call is small.
void run(const Params &p, const Kernels &ks);

} // namespace norm
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_NORM_NORM_H
