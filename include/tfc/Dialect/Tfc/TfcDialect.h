//===- TfcDialect.h - the tfc dialect ---------------------------*- C++ -*-===//
#ifndef TFC_DIALECT_TFC_TFCDIALECT_H
#define TFC_DIALECT_TFC_TFCDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "tfc/Dialect/Tfc/TfcDialect.h.inc"
#include "tfc/Dialect/Tfc/TfcEnums.h.inc"
#define GET_ATTRDEF_CLASSES
#include "tfc/Dialect/Tfc/TfcAttrs.h.inc"
#define GET_OP_CLASSES
#include "tfc/Dialect/Tfc/TfcOps.h.inc"

namespace mlir::tfc {
/// Broadcast shape of `shapes` under ONNX rules (right-aligned; static 1
/// broadcasts; two dynamic dims are assumed equal). Fails on a static
/// mismatch.
FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<ArrayRef<int64_t>> shapes);
} // namespace mlir::tfc

#endif
