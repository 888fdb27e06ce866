//===- Stats.h - activation statistics for calibration ----------*- C++ -*-===//
//
// The calibration library (docs/DESIGN.md "Calibration"): what tfc-calibrate
// accumulates per observed tensor while the fp32 model runs, and the stats
// file that --tfc-quantize (static activation scales, GPTQ) and the pruning
// passes (Wanda's ||X_j||_2, SparseGPT's Hessians) read back.
//
// A tensor is seen as rows of k features (all leading dims flattened: every
// token of every sequence is a row), k = the feature dim of the linear
// layers that read it. Per tensor:
//   - min / max / rows;
//   - a histogram of 2048 bins over [-R, R], R set by the first batch and
//     doubled (adjacent bins merged, exactly) whenever a value falls
//     outside, so the order of batches changes nothing but the resolution;
//   - from it, symmetric int8 clipping thresholds: max|x|, the 99.9 /
//     99.99 / 99.999 percentiles of |x|, and the threshold minimizing the
//     expected squared error of int8 rounding plus clipping ("mse");
//   - sum_rows x_j^2 per feature j (Wanda's squared input norms);
//   - optionally the Hessian H = sum_rows x^T x (k x k, double) for GPTQ /
//     SparseGPT (the proxy Hessian of the layer-wise squared error is 2H).
//
// Stats file (version 1): a JSON document (scalars, the clipping thresholds,
// names) and a binary sidecar `<file>.bin` with the arrays:
//   JSON: {"format": "tfc-calib-stats", "version": 1, "model": "...",
//          "samples": N, "sidecar": "stats.json.bin",
//          "tensors": [{"name": "...", "ops": ["<op key>", ...], "k": 64,
//                       "rows": 1234, "min": -3.1, "max": 4.2,
//                       "clip": {"minmax": 4.2, "p99.9": ..., "p99.99": ...,
//                                "p99.999": ..., "mse": ...},
//                       "channel_sq_norms": {"offset": 64, "shape": [64]},
//                       "hessian": {"offset": 576, "shape": [64, 64]}},
//                      ...]}
//   sidecar: bytes 0..7 "TFCCALB1", u32 version (1), u32 0, u64 file size,
//            then little-endian f64 arrays at the JSON's byte offsets
//            (64-byte aligned), row-major.
// `ops` are the keys (lib/Transforms/CalibKeys.h: ONNX node names) of the
// ops reading the tensor. A file without Hessians has no "hessian" keys.
// Every parse error names the file, the tensor and the key.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_CALIBRATION_STATS_H
#define TFC_CALIBRATION_STATS_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class MemoryBuffer;
}

namespace tfc::calib {

constexpr int kStatsVersion = 1;
constexpr int64_t kHistogramBins = 2048;

/// The clipping thresholds a stats file records, in this order.
const std::vector<std::string> &clipMethods();

/// out[k * k] = x^T x for x [rows, k] row-major (float accumulation is
/// fine: the caller adds it into double). The default is a plain loop;
/// tfc-calibrate passes the runtime's multi-threaded GEMM.
using GramFn = void (*)(const float *x, int64_t rows, int64_t k, float *out);
void gramReference(const float *x, int64_t rows, int64_t k, float *out);

/// Accumulates one observed tensor.
class TensorStats {
public:
  TensorStats(std::string name, std::vector<std::string> ops, int64_t k,
              bool hessian);

  /// Adds `rows` rows of k features (row-major).
  void add(const float *x, int64_t rows, GramFn gram = gramReference);

  /// The symmetric clipping threshold named `method` (clipMethods()).
  double clip(const std::string &method) const;
  /// |x| below which a fraction `p` (0..1) of the values lie.
  double absPercentile(double p) const;
  /// The threshold T minimizing sum over values of the int8 (levels
  /// -127..127, scale T / 127) rounding + clipping squared error.
  double mseClip() const;

  std::string name;
  std::vector<std::string> ops;
  int64_t k;
  int64_t rows = 0;
  double min = 0, max = 0;
  double range = 0;                // histogram covers [-range, range]
  std::vector<uint64_t> histogram; // kHistogramBins
  std::vector<double> channelSq;   // [k]
  std::vector<double> hessian;     // [k, k], empty unless asked

private:
  void grow(double absMax);
  std::vector<float> gramScratch;
};

/// Writes `path` (JSON) and `path`.bin (sidecar). False with a message.
bool writeStats(const std::string &path, const std::string &model,
                int64_t samples, const std::vector<TensorStats> &tensors,
                std::string &error);

/// One tensor of a loaded stats file.
struct TensorRecord {
  std::string name;
  std::vector<std::string> ops;
  int64_t k = 0, rows = 0;
  double min = 0, max = 0;
  std::map<std::string, double> clip;
  int64_t normsOffset = -1;   // byte offset in the sidecar, -1 = none
  int64_t hessianOffset = -1; // byte offset in the sidecar, -1 = none
};

/// A stats file as read back: the records and the mapped sidecar.
class StatsFile {
public:
  StatsFile();
  ~StatsFile();
  StatsFile(StatsFile &&);
  StatsFile &operator=(StatsFile &&);

  /// Parses and checks everything (format, version, keys, shapes, sidecar
  /// header and bounds). False with a message naming the file and key.
  bool load(const std::string &path, std::string &error);

  const std::vector<TensorRecord> &tensors() const { return records; }
  /// The tensor an op (by key) reads, or nullptr.
  const TensorRecord *forOp(const std::string &key) const;
  bool hasHessians() const;
  /// Pointers into the mapped sidecar ([k] and [k, k] f64), or nullptr when
  /// the tensor has none.
  const double *channelSqNorms(const TensorRecord &t) const;
  const double *hessian(const TensorRecord &t) const;

  std::string path, model;
  int64_t samples = 0;

private:
  std::vector<TensorRecord> records;
  std::map<std::string, size_t> byOp;
  std::unique_ptr<llvm::MemoryBuffer> sidecar;
};

} // namespace tfc::calib

#endif
