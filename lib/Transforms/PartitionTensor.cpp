//===- PartitionTensor.cpp - tfc-partition=tensor:N ---------------------===//
#include "Partition.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::tfc;

LogicalResult partition::partitionTensor(func::FuncOp main, int64_t parts) {
  return main.emitError("tfc-partition: tensor partitioning is not implemented yet");
}
