//===- Partition.h - shared pieces of tfc-partition -------------*- C++ -*-===//
//
// tfc-partition (TfcPasses.td has the contract) replaces the entry
// tfc_<name>_main with one entry per rank, tfc_<name>_p<k>_main, marked
// `tfc.entry` and `tfc.part = k`; the module records the strategy in
// `tfc.partition = {kind = "pipeline"|"tensor", parts = N}`.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TRANSFORMS_PARTITION_H
#define TFC_LIB_TRANSFORMS_PARTITION_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace mlir::tfc::partition {

/// The name of part k's entry: tfc_<name>_main -> tfc_<name>_p<k>_main (so
/// that tfc-kv-cache names its step tfc_<name>_p<k>_step).
std::string partEntryName(func::FuncOp main, int64_t part);

/// A copy of `main` inserted before it, named by partEntryName and marked
/// tfc.entry + tfc.part = part (argument/result attributes kept).
func::FuncOp clonePart(func::FuncOp main, int64_t part);

/// Sets tfc.partition = {kind, parts} on the module.
void markModule(ModuleOp module, StringRef kind, int64_t parts);

/// lib/Transforms/PartitionPipeline.cpp: `main` -> `parts` stage entries
/// connected by tfc.send / tfc.recv; erases `main`.
LogicalResult partitionPipeline(func::FuncOp main, int64_t parts);

/// lib/Transforms/PartitionTensor.cpp: `main` -> `parts` shard entries
/// with tfc.all_reduce / tfc.all_gather; erases `main`.
LogicalResult partitionTensor(func::FuncOp main, int64_t parts);

} // namespace mlir::tfc::partition

#endif
