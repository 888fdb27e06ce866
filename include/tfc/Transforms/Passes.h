//===- Passes.h - tfc passes ------------------------------------*- C++ -*-===//
#ifndef TFC_TRANSFORMS_PASSES_H
#define TFC_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"

namespace mlir::tfc {
#define GEN_PASS_DECL
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"

/// Registers the tfc pipelines (tfc-raise-all, tfc-cpu-lowering, ...).
void registerTfcPipelines();
} // namespace mlir::tfc

#endif
