//===- GpuMapping.h - loop-to-GPU mapping helpers shared by passes -*- C++ -*-===//
#ifndef TFC_LIB_CONVERSION_GPUMAPPING_H
#define TFC_LIB_CONVERSION_GPUMAPPING_H

#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::tfc {

/// Maps a two-dim scf.parallel `grid` (blocks, threads) to gpu block x and
/// thread x (the attribute convert-parallel-loops-to-gpu reads).
LogicalResult mapBlocksThreads(scf::ParallelOp grid);

} // namespace mlir::tfc

#endif // TFC_LIB_CONVERSION_GPUMAPPING_H
