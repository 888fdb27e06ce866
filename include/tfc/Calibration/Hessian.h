//===- Hessian.h - the linear algebra GPTQ and SparseGPT share --*- C++ -*-===//
//
// Both methods (Frantar & Alistarh: GPTQ 2022, SparseGPT 2023) walk the
// input columns of a layer in order and spread each column's error over the
// columns not yet processed through the upper Cholesky factor of the
// inverse of the damped Hessian H = sum x^T x (calibration inputs x).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_CALIBRATION_HESSIAN_H
#define TFC_CALIBRATION_HESSIAN_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tfc::calib {

/// In place on `h` [k, k] (symmetric, row-major): features never seen
/// (H[i][i] == 0) get H[i][i] = 1 and are reported in `dead` (their weights
/// should be zeroed: they never contribute); then `damp` * mean(diag) is
/// added to the diagonal, and `h` is replaced by U, upper triangular with
/// H^-1 = U^T U (U[i][i..k) is row i; the strict lower part is zero).
/// False with a message if the damped matrix is not positive definite.
bool invertedCholeskyUpper(std::vector<double> &h, int64_t k, double damp,
                           std::vector<char> &dead, std::string &error);

/// invertedCholeskyUpper of a copy of `hessian` into `u`, retrying with
/// the damping times 10 (up to 3 times, as AutoGPTQ does) when the damped
/// matrix cannot be factored.
bool dampedInverseFactor(const std::vector<double> &hessian, int64_t k,
                         double damp, std::vector<double> &u,
                         std::vector<char> &dead, std::string &error);

/// The blocked column sweep GPTQ and SparseGPT share (the reference code's
/// lazy batch updates). `w` [k, n] row-major: row i holds input feature i
/// (a column of the papers' [out, in] W). Rows are visited in order, in
/// blocks of `block`: `startBlock(i1, i2)` is called when a block starts
/// (rows i1..i2 then hold every update of the earlier blocks); `compress(i,
/// row, out)` writes the compressed values of row i (n values, from `row`,
/// which holds the updates so far) to `out`. The error (row - out) /
/// u[i][i] is fed into rows i+1..i2 at once and into rows i2..k once per
/// block (err * u[i][r]); row i is then replaced by `out`. `u`: from
/// invertedCholeskyUpper.
using SweepBlockFn = std::function<void(int64_t i1, int64_t i2)>;
using SweepRowFn =
    std::function<void(int64_t i, const double *row, double *out)>;
void obsSweep(std::vector<double> &w, int64_t k, int64_t n,
              const std::vector<double> &u, int64_t block,
              const SweepBlockFn &startBlock, const SweepRowFn &compress);

/// Lower Cholesky factor of `a` [k, k] in place (upper part zeroed).
bool choleskyLower(std::vector<double> &a, int64_t k);

} // namespace tfc::calib

#endif
