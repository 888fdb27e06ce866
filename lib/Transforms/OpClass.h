//===- OpClass.h - which role a transformer op plays -------------*- C++ -*-===//
//
// The op classes of --tfc-quantize and --tfc-prune (docs/DESIGN.md
// "Quantization", "Pruning"): `lm_head` (a linear the entry returns),
// `qkv` (feeds an attention's q / k / v through reshapes, transposes,
// rotary, slices), `out_proj` (consumes an attention's result through
// reshapes and transposes), `mlp` (other linears, gated MLPs), `embedding`,
// `attention`. One classification for both passes.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TRANSFORMS_OPCLASS_H
#define TFC_LIB_TRANSFORMS_OPCLASS_H

#include "QuantRecipe.h"

#include "mlir/IR/Location.h"
#include "mlir/IR/Operation.h"

#include <string>

namespace mlir::tfc {

/// Ops a value flows through unchanged in meaning between a projection and
/// its attention (reshape / transpose / rotary / slices / casts).
bool isPassThroughOp(Operation *op);

/// The class of a tfc.linear / gated_mlp / embedding / attention op.
quant::OpClass classifyOp(Operation *op);

/// The first name the importer put in `loc` (the ONNX node name), or "".
std::string onnxNodeName(Location loc);

} // namespace mlir::tfc

#endif
