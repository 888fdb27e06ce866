//===- OnnxImporter.h - ONNX model -> tfc dialect ---------------*- C++ -*-===//
#ifndef TFC_IMPORTER_ONNXIMPORTER_H
#define TFC_IMPORTER_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include <string>
#include <vector>

namespace mlir::tfc {

struct OnnxImportOptions {
  /// Name of the entry function: tfc_<modelName>_main.
  std::string modelName = "model";
  /// Constants of at least this many bytes become dense_resource blobs.
  int64_t resourceThresholdBytes = 1024;
};

/// Imports the ONNX model at `path` (external data is resolved relative to
/// its folder). On failure returns null and sets `error` to a message naming
/// the file, node, op type and reason.
OwningOpRef<ModuleOp> importOnnxModel(MLIRContext *context,
                                      const std::string &path,
                                      const OnnxImportOptions &options,
                                      std::string &error);

/// The op types the importer has a handler for, sorted (ops of other domains
/// as "<domain>.<op type>"). A handler may still refuse some attributes or
/// element types with a diagnostic.
std::vector<std::string> onnxImporterOpTypes();

/// Dialects the importer creates ops from.
void registerImporterDialects(DialectRegistry &registry);

} // namespace mlir::tfc

#endif
