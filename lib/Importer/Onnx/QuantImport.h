//===- QuantImport.h - shared by the quantized-op importers ----*- C++ -*-===//
//
// Constant data access and code-type lookup for QuantOps.cpp,
// QuantContribOps.cpp and QuantRaise.cpp (docs/DESIGN.md "Import of
// quantized models").
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_IMPORTER_ONNX_QUANTIMPORT_H
#define TFC_LIB_IMPORTER_ONNX_QUANTIMPORT_H

#include "GraphImporter.h"

#include <vector>

namespace mlir::tfc::onnx_import {

/// The row-major bytes of a constant tensor (splats expanded).
struct ConstData {
  RankedTensorType type;
  std::vector<char> bytes;
  int64_t size() const { return type.getNumElements(); }
  template <typename T> T at(int64_t i) const {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    return v;
  }
};
std::optional<ConstData> constData(Value v);

/// How the codes in `v` read: the importer's record for `v` or for the
/// single i8 operand it was computed from (Gather, Reshape, ... of codes);
/// signed 8-bit when nothing says otherwise.
QCodeType codeTypeOf(GraphImporter &g, Value v);

/// `v` with its static shape changed to `shape` (same element count): a new
/// constant when `v` is one, else a tfc.reshape.
Value reshapeTo(GraphImporter &g, Value v, ArrayRef<int64_t> shape);

/// A code as an integer, read with the given signedness.
inline int64_t codeValue(int8_t raw, bool isUnsigned) {
  return isUnsigned ? int64_t(uint8_t(raw)) : int64_t(raw);
}

/// com.microsoft MatMulNBits, DynamicQuantizeMatMul (QuantContribOps.cpp).
void registerQuantContribOps(HandlerMap &m);

} // namespace mlir::tfc::onnx_import

#endif
