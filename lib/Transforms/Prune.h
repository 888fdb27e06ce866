//===- Prune.h - shared pieces of --tfc-prune --------------------*- C++ -*-===//
//
// --tfc-prune (docs/DESIGN.md "Pruning"): Prune.cpp holds the pass, the
// unstructured / N:M / mask methods and the export records;
// PruneStructured.cpp removes whole attention heads and MLP channels.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TRANSFORMS_PRUNE_H
#define TFC_LIB_TRANSFORMS_PRUNE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlir::tfc::prune {

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

/// Options of the structured methods.
struct StructuredOptions {
  bool heads = false;  // heads:K (else ffn:F)
  int64_t headsToRemove = 0;
  double fraction = 0; // ffn:F
  int norm = 2;        // Ln norm of the scores
  bool withinGroups = false;
};

/// Removes heads / channels of the selected ops (`selected(op)`: a linear or
/// gated_mlp in the pass's scope) and shrinks every shape on the way.
LogicalResult pruneStructured(ModuleOp module, const StructuredOptions &o,
                              const std::function<bool(Operation *)> &selected,
                              Recorder *recorder);

} // namespace mlir::tfc::prune

#endif
