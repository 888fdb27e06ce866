//===- WeightsInfo.h - weights bytes and precision per op class -*- C++ -*-===//
//
// tfc-run's report of what a .tfcw file holds (issue 8: "reports the
// weights bytes and the precision per op class"): every distinct tensor of
// the file (entries sharing an offset counted once), a packed kernel blob
// by the op class and format its header records (tfc_pack_header.op_class,
// format, group, flags), any other tensor as `unpacked` with its dtype
// (embedding tables, norm weights, biases, tensors of the reference path).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOOLS_TFC_RUN_WEIGHTSINFO_H
#define TFC_TOOLS_TFC_RUN_WEIGHTSINFO_H

#include <cstdint>
#include <string>
#include <vector>

namespace tfcrun {

struct WeightsClassRow {
  std::string opClass;   // qkv, out_proj, mlp, lm_head, linear, unpacked...
  std::string precision; // "w4 g128 asym", "int8 x int8 dynamic", "f32"...
  int64_t tensors = 0;
  uint64_t bytes = 0;
};

/// Rows per (op class, precision), largest first; false with `error` when
/// the file cannot be read.
bool weightsByClass(const std::string &path,
                    std::vector<WeightsClassRow> &rows, std::string &error);

/// The precision string of a packed blob's header (for the report above).
std::string packedPrecision(uint32_t format, int64_t group, uint32_t flags);

} // namespace tfcrun

#endif // TFC_TOOLS_TFC_RUN_WEIGHTSINFO_H
