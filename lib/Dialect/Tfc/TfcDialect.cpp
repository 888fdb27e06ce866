//===- TfcDialect.cpp - tfc dialect registration --------------------------===//
#include "tfc/Dialect/Tfc/TfcDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::tfc;

#include "tfc/Dialect/Tfc/TfcDialect.cpp.inc"
#include "tfc/Dialect/Tfc/TfcEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "tfc/Dialect/Tfc/TfcAttrs.cpp.inc"

void TfcDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "tfc/Dialect/Tfc/TfcAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "tfc/Dialect/Tfc/TfcOps.cpp.inc"
      >();
}
