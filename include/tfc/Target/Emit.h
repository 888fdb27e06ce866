//===- Emit.h - object, header and model descriptor emission ----*- C++ -*-===//
#ifndef TFC_TARGET_EMIT_H
#define TFC_TARGET_EMIT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include <string>

namespace mlir::tfc {

/// The entry function (marked `tfc.entry`) or null.
func::FuncOp findEntry(ModuleOp module);
/// The cached step entry added by tfc-kv-cache (`tfc.step_entry`) or null.
func::FuncOp findStepEntry(ModuleOp module);

/// The runtime signature text of the entry (see tfc_model_desc.signature),
/// from the `tfc.name` / `tfc.dims` attributes the importer set.
FailureOr<std::string> collectSignature(func::FuncOp entry);

struct ModelDescInfo {
  std::string name;       // sanitized model name
  std::string signature;  // collectSignature()
  std::string entrySymbol;
  uint64_t weightsSize = 0, weightsHash = 0;
  std::string opClasses;
  bool exportGenericAlias = false; // also define tfc_model_desc_v1
  uint32_t flags = 0;              // tfc_model_desc.flags (TFC_MODEL_FLAG_*)
  // KV cache (TFC_MODEL_FLAG_KV_CACHE): step entry, its signature, defaults.
  std::string stepEntrySymbol;     // "" = none
  std::string stepSignature;
  uint64_t kvMaxLen = 0, kvWindow = 0;
};

/// Adds the `tfc_<name>_desc` global to a module in the LLVM dialect.
LogicalResult addModelDesc(ModuleOp llvmModule, const ModelDescInfo &info);

struct ObjectOptions {
  std::string cpu = "host";   // "host", or an LLVM CPU name (x86-64, znver4)
  std::string features;       // extra features, e.g. "+avx512f"
  int optLevel = 3;
};

/// Translates an LLVM-dialect module to LLVM IR, optimizes it and writes an
/// object file; `llvmIrOut` (if set) receives the optimized IR text instead
/// of an object being written.
LogicalResult emitObject(ModuleOp llvmModule, const ObjectOptions &opts,
                         const std::string &objPath, std::string *llvmIrOut,
                         std::string &error);

/// Writes the C header declaring the model's descriptor and documenting its
/// inputs and outputs.
LogicalResult writeHeader(const ModelDescInfo &info, const std::string &path,
                          std::string &error);

} // namespace mlir::tfc

#endif
