//===- QuantMath.h - round-to-nearest weight quantization -------*- C++ -*-===//
//
// The grids --tfc-quantize puts weights on (the baseline GPTQ is compared
// with). Weights are W [k, n] (x W); groups run along k, one scale per
// (group, output column). Two symmetric grids:
//   - int8 x int8 kernels (activations row/tensor/static): codes in
//     [-127, 127], scale = max|w| / 127 (what VNNI / maddubs take exactly);
//   - weight-only (GPTQ's convention): scale = 2 max|w| / (2^bits - 1),
//     codes in [-2^(bits-1), 2^(bits-1) - 1] (all 16 levels of int4).
// Asymmetric: the range [min(w, 0), max(w, 0)] on unsigned codes
// [0, 2^bits - 1], zero = round(-min / scale).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TRANSFORMS_QUANTMATH_H
#define TFC_LIB_TRANSFORMS_QUANTMATH_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::tfc::quant {

struct QuantizedWeight {
  int64_t k = 0, n = 0, groups = 1; // scales [groups, n]
  std::vector<int8_t> codes;        // [k, n]
  std::vector<float> scales;        // [groups, n]
  std::vector<int8_t> zeros;        // [groups, n], empty when symmetric
  bool unsignedCodes = false;
};

enum class Grid { Int8Kernel, WeightOnly };

/// The grid of one group: code = clamp(round(v / fscale) + zero, lo, hi),
/// value = (code - zero) * fscale.
struct GroupGrid {
  double scale = 1, zero = 0, lo = 0, hi = 0;
  float fscale = 1;
  double code(double v) const;
  double value(double code) const { return (code - zero) * fscale; }
};
/// The grid for a group whose values span [mn, mx] (mn <= 0 <= mx after
/// widening to include 0) with max |v| = amax.
GroupGrid gridFor(double mn, double mx, double amax, int64_t bits,
                  bool symmetric, Grid grid);

/// How a group's grid is chosen: from its min / max (the default), or by a
/// search over grids shrunk to p x [min, max] (p = 1, 0.99, .., 0.21, as
/// GPTQ's reference `Quantizer(mse=True)`) for the least rounding error:
/// sum |q(v) - v|^2.4 (`Mse`, the reference's norm), or sum d_i (q(v_i) -
/// v_i)^2 with d_i the Hessian diagonal of the value's input feature
/// (`HMse`: the error the layer's output sees, to first order; needs
/// calibration Hessians).
enum class Clip { MinMax, Mse, HMse };
/// "minmax" / "mse" / "hmse" and back (nullopt for any other name).
std::optional<Clip> clipFromName(const std::string &name);
const char *clipName(Clip clip);

/// The grid of the m values v[0], v[stride], .. (feature weights d[i], or
/// null) under `clip`.
GroupGrid chooseGrid(const double *v, int64_t m, int64_t stride,
                     const double *d, int64_t bits, bool symmetric, Grid grid,
                     Clip clip);

/// Round-to-nearest (half to even) of W; `w` is [k, n] row-major, or [n, k]
/// when `transposed`. group 0 = one group of k. Each group's grid by `clip`
/// (HMse weighs feature i by diag[i], the Hessian's diagonal: required).
QuantizedWeight roundToNearest(const float *w, int64_t k, int64_t n,
                               bool transposed, int64_t bits, int64_t group,
                               bool symmetric, Grid grid,
                               Clip clip = Clip::MinMax,
                               const double *diag = nullptr);

/// The dequantized weight [k, n] (for error reports and tests).
std::vector<float> dequantize(const QuantizedWeight &q, int64_t group);

} // namespace mlir::tfc::quant

#endif
