//===- PartitionPipeline.cpp - tfc-partition=pipeline:N ---------------------===//
#include "Partition.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::tfc;

LogicalResult partition::partitionPipeline(func::FuncOp main, int64_t parts) {
  return main.emitError("tfc-partition: pipeline partitioning is not implemented yet");
}
