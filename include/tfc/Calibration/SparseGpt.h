//===- SparseGpt.h - SparseGPT weight reconstruction ------------*- C++ -*-===//
//
// SparseGPT (Frantar & Alistarh, "SparseGPT: Massive Language Models Can Be
// Accurately Pruned in One-Shot", 2023), as its reference code does it, on
// the sweep GPTQ uses (Hessian.h: obsSweep): W [k, n] (x W) is walked one
// input row (k index, a column of the paper's W) at a time in blocks of
// `block` rows; H = sum x^T x damped by `damp` * mean(diag), H^-1 = U^T U.
// The mask is chosen adaptively from the weights as updated so far:
//   - unstructured: when a block starts, the floor(sparsity * rows * n)
//     lowest w^2 / U[i][i]^2 of the whole block (all n outputs; ties: lower
//     row-major index first) are pruned (the reference takes a threshold
//     and prunes <= it, one or a few more);
//   - N:M (keep N of every M consecutive inputs, per output): when row i
//     with i % M == 0 is reached, per output the M - N lowest w^2 /
//     U[r][r]^2 of rows i..i+M (ties: lower row first).
// A pruned weight's error (w / U[i][i]) is fed into the later rows (the OBS
// update); kept weights stay as updated. Inputs never seen (H[i][i] = 0)
// get zero weights.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_CALIBRATION_SPARSEGPT_H
#define TFC_CALIBRATION_SPARSEGPT_H

#include <cstdint>
#include <string>
#include <vector>

namespace tfc::calib {

struct SparseGptOptions {
  double sparsity = 0.5;    // unstructured (when m == 0)
  int64_t nKeep = 0, m = 0; // N:M when m > 0
  int64_t block = 128;      // a multiple of m
  double damp = 0.01;
};

/// In place on `w` [k, n] row-major; `hessian` [k, k]. False with `error`
/// when the damped Hessian cannot be factored or the options are bad.
bool sparseGpt(std::vector<double> &w, int64_t k, int64_t n,
               const double *hessian, const SparseGptOptions &o,
               std::string &error);

} // namespace tfc::calib

#endif
