//===- CalibKeys.h - names calibration statistics are keyed by --*- C++ -*-===//
//
// tfc-insert-observers (which measures) and tfc-quantize / the pruning
// passes (which read the measurements) must agree on which op a statistic
// belongs to. Both run at the same point of the frontend pipeline on the same
// IR and name the ops alike: the first NameLoc in the op's location (the
// ONNX node name the importer recorded), "#2", "#3", ... appended to later
// ops with a name already taken, and "<op>#<n>" for ops without a name.
// A gated MLP's down projection reads another tensor: "<key>#down".
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TRANSFORMS_CALIBKEYS_H
#define TFC_LIB_TRANSFORMS_CALIBKEYS_H

#include "mlir/IR/BuiltinOps.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"

#include <string>
#include <utility>
#include <vector>

namespace mlir::tfc::calib {

/// The first name the importer put in `loc` (the ONNX node name), or "".
std::string nameOf(Location loc);

/// Every tfc.linear and tfc.gated_mlp of `module` in walk order, with its
/// key.
std::vector<std::pair<Operation *, std::string>> keyedOps(ModuleOp module);

/// A gated MLP written as its linears: down(act(gate(x)) * up(x)).
struct GatedMlpParts {
  LinearOp gate, up, down;
  Value hidden; // act(gate(x)) * up(x), the down projection's input
};
/// Builds the parts before `op` and replaces its uses (`op` stays, unused;
/// the caller erases it). The parts keep op's location.
GatedMlpParts splitGatedMlp(GatedMlpOp op);

/// The key of a gated MLP's down projection.
inline std::string downKey(const std::string &key) { return key + "#down"; }

} // namespace mlir::tfc::calib

#endif
