//===- GpuRowReductions.h - shared by the row-reduction passes --*- C++ -*-===//
//
// What GpuRowReductions.cpp (one block per row reduction) and GpuRowChains.cpp
// (runs of row ops fused into one kernel) share: the shape of a row
// reduction, element loads at loop indices, and the chain fusion entry.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_CONVERSION_GPUROWREDUCTIONS_H
#define TFC_LIB_CONVERSION_GPUROWREDUCTIONS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::tfc::rowops {

/// What a generic must look like to be mapped: the combiner (the op that
/// the yield returns, with the output's block argument as one operand and
/// that argument used nowhere else), its all_reduce kind and neutral value.
struct RowReduction {
  Operation *combine = nullptr;
  gpu::AllReduceOperation kind;
  TypedAttr neutral;
};

/// The row reduction `op` is, if it is one that can be mapped.
std::optional<RowReduction> matchRowReduction(linalg::GenericOp op);

/// Loads operand `opnd` of `op` at the loop indices `ivs` (a scalar
/// operand is returned as is).
Value loadAt(OpBuilder &b, Location loc, linalg::GenericOp op, OpOperand *opnd,
             ValueRange ivs);

/// The indices `map` gives at loop indices `ivs`.
SmallVector<Value> indicesAt(OpBuilder &b, Location loc, AffineMap map,
                             ValueRange ivs);

/// The threads of the block that takes a row: `size`, or `fewSize` where
/// the grid has at most `fewRows` rows (fewRows 0: always `size`). Few rows
/// (a decode step's 1 to 32, a short prefill's hundreds) leave most SMs idle
/// with a warp a row; thousands (MiniLM's 4,096) fill them and want small
/// blocks (docs/PERFORMANCE.md). Decided at compile time where the row count
/// is static, else at run time by a select on it (the kernels' loops and
/// block reductions take the block size as a value).
struct RowBlock {
  int64_t size = 32, fewRows = 0, fewSize = 0;
  Value threads(OpBuilder &b, Location loc, Value rows,
                int64_t staticRows) const;
};

/// Fuses the runs of row ops among `f`'s top-level ops (GpuRowChains.cpp);
/// returns how many chains became kernels. vector > 1: a thread takes
/// groups of that many consecutive row elements, contiguous accesses as
/// vector loads / stores, where a run-time test finds them aligned.
/// registers > 0: chains whose row loops all have a static length of at
/// most `registers` elements a thread (blocks of block.size threads, or a
/// warp) keep the row's recomputed values in registers (straight-line
/// emission, each version computed once a thread and element).
unsigned fuseRowChains(func::FuncOp f, const RowBlock &block, int64_t warpRows,
                       bool rematerialize, int64_t unroll, int64_t vector = 1,
                       int64_t registers = 0);

} // namespace mlir::tfc::rowops

#endif // TFC_LIB_CONVERSION_GPUROWREDUCTIONS_H
