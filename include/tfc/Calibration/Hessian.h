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

/// Lower Cholesky factor of `a` [k, k] in place (upper part zeroed).
bool choleskyLower(std::vector<double> &a, int64_t k);

} // namespace tfc::calib

#endif
