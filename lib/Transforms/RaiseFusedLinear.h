//===- RaiseFusedLinear.h - split fused projections -------------*- C++ -*-===//
#ifndef TFC_LIB_TRANSFORMS_RAISEFUSEDLINEAR_H
#define TFC_LIB_TRANSFORMS_RAISEFUSEDLINEAR_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::tfc::raise {
/// tfc.linear whose every use is a last-dim slice -> one tfc.linear per slice
/// (RaiseFusedLinear.cpp; part of --tfc-raise-linear).
void populateSplitFusedLinearPatterns(RewritePatternSet &patterns);
} // namespace mlir::tfc::raise

#endif
