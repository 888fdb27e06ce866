//===- OnnxFuzz.cpp - fuzz target: ONNX bytes -> import -> verify ---------===//
//
// The bytes are an ONNX file (written to the scratch folder, since the
// importer takes a path and resolves external data beside it). An import
// must either fail with a message or give a module that verifies; a module
// that does not verify is a bug the fuzzer reports.
//
//===----------------------------------------------------------------------===//
#include "FuzzTarget.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "tfc/Importer/OnnxImporter.h"

#include <memory>

using namespace mlir;

namespace {
/// One context for many inputs (creating one costs milliseconds); replaced
/// now and then so uniqued attributes and blobs do not pile up.
MLIRContext &context() {
  static std::unique_ptr<MLIRContext> ctx;
  static int uses = 0;
  if (!ctx || ++uses % 500 == 0) {
    DialectRegistry registry;
    tfc::registerImporterDialects(registry);
    ctx = std::make_unique<MLIRContext>(registry);
    ctx->loadAllAvailableDialects();
    // Diagnostics go to the message, not to stderr.
    ctx->getDiagEngine().registerHandler(
        [](Diagnostic &) { return success(); });
  }
  return *ctx;
}
} // namespace

bool tfcFuzzOne(const uint8_t *data, size_t size, std::string &error) {
  std::string path = tfcFuzzWriteFile(data, size, "model.onnx");
  if (path.empty()) {
    error = "cannot write the scratch file";
    return false;
  }
  tfc::OnnxImportOptions options;
  OwningOpRef<ModuleOp> module =
      tfc::importOnnxModel(&context(), path, options, error);
  if (!module) {
    if (error.empty())
      tfcFuzzBug("the import failed without a message");
    return false;
  }
  if (failed(verify(*module)))
    tfcFuzzBug("the imported module does not verify");
  return true;
}
