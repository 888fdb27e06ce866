//===- Prune.h - shared pieces of --tfc-prune --------------------*- C++ -*-===//
//
// --tfc-prune (docs/DESIGN.md "Pruning"): Prune.cpp holds the pass, the
// unstructured / N:M / mask methods and the export records;
// PruneCalib.cpp the calibration-aware scores (Wanda, SparseGPT) and their
// statistics; PruneMask.cpp reads mask files; PruneStructured.cpp removes
// whole attention heads and MLP channels.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TRANSFORMS_PRUNE_H
#define TFC_LIB_TRANSFORMS_PRUNE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tfc::calib {
class StatsFile;
}

namespace mlir::tfc::prune {

/// One weight operand: element (kk, nn) of the logical [k, n] matrix lives
/// at kk * n + nn, or nn * k + kk when transposed.
struct Weight {
  Operation *op;
  unsigned operand;
  bool transposed;
  int64_t k, n;
  std::vector<float> data;
  std::string what; // for messages: "'<node>' w_gate"

  Value value() const { return op->getOperand(operand); }
  size_t index(int64_t kk, int64_t nn) const {
    return transposed ? nn * k + kk : kk * n + nn;
  }
};

/// How unstructured / N:M pruning ranks weights.
enum class Score { Magnitude, Wanda, SparseGpt };

/// The calibration statistics of wanda / sparsegpt (a tfc-calibrate stats
/// file, keyed by lib/Transforms/CalibKeys.h: a gated MLP's w_gate / w_up
/// read "<key>", its w_down "<key>#down").
class CalibInputs {
public:
  CalibInputs();
  ~CalibInputs();
  /// Loads `path` for `method`; an error on `module` naming the file when
  /// it is missing, malformed or (hessians) has no Hessians.
  LogicalResult load(ModuleOp module, StringRef path, StringRef method,
                     bool hessians);
  /// The [k] squared input norms (sum over calibration rows of x_j^2) /
  /// the [k, k] Hessian sum x^T x of `w`'s input; nullptr after an error
  /// on the op naming its key.
  const double *sqNorms(const Weight &w);
  const double *hessian(const Weight &w);

private:
  const void *record(const Weight &w, StringRef need);
  std::string path, method;
  std::unique_ptr<::tfc::calib::StatsFile> file;
  llvm::DenseMap<Operation *, std::string> keys;
};

/// Wanda's scores |W[kk][nn]| * sqrt(sqNorms[kk]), in `w`'s layout.
std::vector<float> wandaScores(const Weight &w, const double *sqNorms);
/// Zeros the floor(sparsity * k) lowest-scored weights of every output
/// (column nn; ties: lower kk first): Wanda's comparison group.
void zeroLowestPerOutput(Weight &w, const std::vector<float> &score,
                         double sparsity);
/// Keeps the `nKeep` highest-scored of every `m` consecutive inputs, per
/// output (ties: the lower kk is pruned first). k % m == 0.
void zeroNm(Weight &w, const std::vector<float> &score, int64_t nKeep,
            int64_t m);
/// SparseGPT on `w` (unstructured `sparsity` or nKeep:m) with its Hessian:
/// the kept weights are reconstructed too. An error on the op on failure.
LogicalResult sparseGptWeight(Weight &w, const double *hessian, double sparsity,
                              int64_t nKeep, int64_t m, int64_t block,
                              double damp);

/// A static f32 constant's elements (a copy), nullopt when `v` is not one;
/// `elided` is set for a resource without data (printed IR).
std::optional<std::vector<float>> readF32(Value v, bool *elided = nullptr);

/// A new f32 constant of `type` holding `data`, at the start of `at`'s
/// function: dense elements when `like` (the constant it replaces) is, a
/// resource blob (key `hint`<n>) otherwise.
Value makeF32Constant(OpBuilder &b, Operation *at, RankedTensorType type,
                      const std::vector<float> &data, StringRef hint,
                      Value like);

/// The export records: per original weight constant, which elements stay
/// (1) and which were removed (0), in the constant's layout.
class Recorder {
public:
  /// Marks `keep` (one byte per element of `orig`'s constant) for `orig`;
  /// a constant recorded twice keeps the intersection.
  void record(Value orig, const std::vector<uint8_t> &keep);
  /// Writes STEM.prune.json and STEM.masks.npz.
  bool write(const std::string &stem, std::string &error) const;
  bool empty() const { return entries.empty(); }

private:
  struct Entry {
    std::string onnxName;
    std::vector<int64_t> shape;
    std::vector<float> head; // first values, to find an unnamed initializer
    std::vector<uint8_t> keep;
  };
  std::map<Operation *, Entry> entries;
  std::vector<Operation *> order;
};

/// A parsed mask file: name -> (shape, keep bytes).
struct MaskEntry {
  std::vector<int64_t> shape;
  std::vector<uint8_t> keep;
  bool used = false;
};

/// Reads a .npz or .safetensors mask file; false with `error` naming the
/// file and tensor.
bool readMaskFile(const std::string &path,
                  std::map<std::string, MaskEntry> &out, std::string &error);

/// Options of the structured methods.
struct StructuredOptions {
  bool heads = false;  // heads:K (else ffn:F)
  int64_t headsToRemove = 0;
  double fraction = 0; // ffn:F
  int norm = 2;        // Ln norm of the scores
  bool withinGroups = false;
  /// Activation-weighted scores (score=wanda with stats): each channel /
  /// head by what it adds to the block's output over the calibration data,
  /// ||h_j||_2 * ||W_down[j, :]||_n (o_proj's rows for heads), instead of
  /// the norm of its weights alone. Null: weights only.
  CalibInputs *calib = nullptr;
};

/// Removes heads / channels of the selected ops (`selected(op)`: a linear or
/// gated_mlp in the pass's scope) and shrinks every shape on the way.
LogicalResult pruneStructured(ModuleOp module, const StructuredOptions &o,
                              const std::function<bool(Operation *)> &selected,
                              Recorder *recorder);

} // namespace mlir::tfc::prune

#endif
