//===- PruneCalib.cpp - --tfc-prune: Wanda and SparseGPT -----------------===//
//
// docs/DESIGN.md "Pruning". The calibration-aware methods read a stats file
// of tfc-calibrate (include/tfc/Calibration/Stats.h) made on the fp32
// model, the way --tfc-quantize's int8-static / GPTQ do:
//   wanda      score |W_ij| * ||X_j||_2 (||X_j||^2 = the channel's sum of
//              squares over every calibration token), compared within each
//              output (Sun et al. 2023: per output row of the paper's W)
//   sparsegpt  SparseGPT's OBS reconstruction from the Hessian sum x^T x
//              (lib/Calibration/SparseGpt.cpp)
// Both also serve as N:M scores (nm:N:M with score=wanda|sparsegpt).
//
//===----------------------------------------------------------------------===//
#include "CalibKeys.h"
#include "Prune.h"

#include "tfc/Calibration/SparseGpt.h"
#include "tfc/Calibration/Stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::prune;

CalibInputs::CalibInputs() = default;
CalibInputs::~CalibInputs() = default;

LogicalResult CalibInputs::load(ModuleOp module, StringRef p, StringRef m,
                                bool hessians) {
  path = p.str();
  method = m.str();
  if (path.empty())
    return module.emitError("tfc-prune: ")
           << method << " needs calibration statistics: run tfc-calibrate"
           << (hessians ? " --hessians" : "")
           << " on the fp32 model and pass --calib-stats FILE (stats=FILE)";
  file = std::make_unique<::tfc::calib::StatsFile>();
  std::string error;
  if (!file->load(path, error))
    return module.emitError("tfc-prune: ") << error;
  if (hessians && !file->hasHessians())
    return module.emitError("tfc-prune: stats '")
           << path << "' have no Hessians, which " << method
           << " needs: run tfc-calibrate with --hessians";
  for (auto &[op, key] : calib::keyedOps(module))
    keys[op] = key;
  return success();
}

const void *CalibInputs::record(const Weight &w, StringRef need) {
  std::string key = keys.lookup(w.op);
  if (isa<GatedMlpOp>(w.op) && w.operand == 3)
    key = calib::downKey(key);
  const ::tfc::calib::TensorRecord *r = file->forOp(key);
  if (!r) {
    w.op->emitError("tfc-prune: stats '")
        << path << "' have no statistics for op '" << key << "' (the " << w.what
        << ", needed for " << method << "): calibrate the same model";
    return nullptr;
  }
  if (r->k != w.k) {
    w.op->emitError("tfc-prune: stats '")
        << path << "': op '" << key << "' reads k = " << w.k
        << " features but its tensor '" << r->name << "' has k = " << r->k;
    return nullptr;
  }
  const double *d =
      need == "hessian" ? file->hessian(*r) : file->channelSqNorms(*r);
  if (!d)
    w.op->emitError("tfc-prune: stats '")
        << path << "' have no " << (need == "hessian" ? "Hessian" : need)
        << " for op '" << key << "' (the " << w.what << ", needed for "
        << method << ")"
        << (need == "hessian" ? ": run tfc-calibrate with --hessians" : "");
  return d;
}

const double *CalibInputs::sqNorms(const Weight &w) {
  return static_cast<const double *>(record(w, "channel_sq_norms"));
}

const double *CalibInputs::hessian(const Weight &w) {
  return static_cast<const double *>(record(w, "hessian"));
}

std::vector<float> prune::wandaScores(const Weight &w, const double *sq) {
  std::vector<float> s(w.data.size());
  for (int64_t kk = 0; kk < w.k; ++kk) {
    double norm = std::sqrt(std::max(0.0, sq[kk]));
    for (int64_t nn = 0; nn < w.n; ++nn) {
      size_t i = w.index(kk, nn);
      s[i] = static_cast<float>(std::fabs(w.data[i]) * norm);
    }
  }
  return s;
}

void prune::zeroLowestPerOutput(Weight &w, const std::vector<float> &score,
                                double sparsity) {
  int64_t count = static_cast<int64_t>(std::floor(sparsity * w.k));
  if (count <= 0)
    return;
  std::vector<int64_t> idx(w.k);
  for (int64_t nn = 0; nn < w.n; ++nn) {
    std::iota(idx.begin(), idx.end(), 0);
    auto less = [&](int64_t a, int64_t b) {
      float sa = score[w.index(a, nn)], sb = score[w.index(b, nn)];
      return sa < sb || (sa == sb && a < b);
    };
    std::nth_element(idx.begin(), idx.begin() + (count - 1), idx.end(), less);
    for (int64_t t = 0; t < count; ++t)
      w.data[w.index(idx[t], nn)] = 0.0f;
  }
}

void prune::zeroNm(Weight &w, const std::vector<float> &score, int64_t nKeep,
                   int64_t m) {
  std::vector<std::pair<float, int64_t>> grp(m);
  for (int64_t nn = 0; nn < w.n; ++nn)
    for (int64_t g = 0; g < w.k; g += m) {
      for (int64_t j = 0; j < m; ++j)
        grp[j] = {score[w.index(g + j, nn)], j};
      std::sort(grp.begin(), grp.end());
      for (int64_t j = 0; j < m - nKeep; ++j)
        w.data[w.index(g + grp[j].second, nn)] = 0.0f;
    }
}

LogicalResult prune::sparseGptWeight(Weight &w, const double *hessian,
                                     double sparsity, int64_t nKeep, int64_t m,
                                     int64_t block, double damp) {
  std::vector<double> wr(static_cast<size_t>(w.k * w.n));
  for (int64_t kk = 0; kk < w.k; ++kk)
    for (int64_t nn = 0; nn < w.n; ++nn)
      wr[kk * w.n + nn] = w.data[w.index(kk, nn)];
  ::tfc::calib::SparseGptOptions o;
  o.sparsity = sparsity;
  o.nKeep = nKeep;
  o.m = m;
  o.block = block;
  o.damp = damp;
  std::string error;
  if (!::tfc::calib::sparseGpt(wr, w.k, w.n, hessian, o, error))
    return w.op->emitError("tfc-prune: sparsegpt on the ")
           << w.what << ": " << error;
  for (int64_t kk = 0; kk < w.k; ++kk)
    for (int64_t nn = 0; nn < w.n; ++nn)
      w.data[w.index(kk, nn)] = static_cast<float>(wr[kk * w.n + nn]);
  return success();
}
